"""podman called as the runner calls it: an image read (a listing, an inspection, an existence check) that races
another podman's removal (two checkouts building in one storage) is read again and says so; a build, a run or a
removal never is; any other failure is raised at once, in podman's words and with what to do after that call, as the
error the commands' boundary prints in one line with its own exit code."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from riskbatch.operations.aws_access import EXIT_PODMAN_FAILED
from riskbatch.operations.stack_lookup import OperatorError
from riskbatch_platform.local import podman as podman_module
from riskbatch_platform.local.podman import READ_ATTEMPTS, PodmanError, image_exists, inspect_image, podman

RACE = 'Error: retrieving label for image "3f1c": you may need to remove the image to resolve the error'
# what make demo's last listing printed when another podman removed an image between the listing's enumeration and its read
IMAGE_GONE = 'Error: reading image "213bc07": image not known'
# the storage's other errors for an image removed or partly removed meanwhile (c/storage's errors; newer podman's listing
# skips these itself: "make image listing more resilient", https://github.com/podman-container-tools/podman/pull/18980)
LAYER_GONE = "Error: layer not known"
SIZE_GONE = 'Error: retrieving size of image "9a2e": you may need to remove the image to resolve the error: size is not known'
NOT_AN_IMAGE = "Error: identifier is not an image"
LISTING = "abc sha256:1\n"


def _scripted(monkeypatch: pytest.MonkeyPatch, outcomes: list[tuple[int, str]], stdout: str = LISTING) -> list[list[str]]:
    calls: list[list[str]] = []

    def run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        code, stderr = outcomes[min(len(calls), len(outcomes)) - 1]
        return subprocess.CompletedProcess(command, code, stdout=stdout if code == 0 else "", stderr=stderr)

    monkeypatch.setattr(podman_module.subprocess, "run", run)
    monkeypatch.setattr(podman_module.time, "sleep", lambda seconds: None)
    return calls


def test_an_image_listing_that_lost_a_race_with_a_removal_is_listed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _scripted(monkeypatch, [(125, RACE), (0, "")])
    assert podman("images", "--no-trunc", "--format", "{{.Id}} {{.Digest}}").stdout == LISTING
    assert len(calls) == 2


@pytest.mark.parametrize("message", [IMAGE_GONE, LAYER_GONE, SIZE_GONE, NOT_AN_IMAGE])
@pytest.mark.parametrize("args", [("images", "--no-trunc"), ("image", "ls"), ("image", "inspect", "localhost/ecr-var:1")])
def test_an_image_read_that_found_an_image_removed_meanwhile_is_read_again_and_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    calls = _scripted(monkeypatch, [(125, message), (0, "")])
    assert podman(*args).stdout == LISTING
    assert len(calls) == 2
    logged = capsys.readouterr().err
    assert message.rpartition(": ")[2] in logged and f"attempt 2 of {READ_ATTEMPTS}" in logged


def test_a_read_that_keeps_finding_an_image_gone_fails_in_podmans_words_after_the_attempts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = _scripted(monkeypatch, [(125, IMAGE_GONE)])
    with pytest.raises(PodmanError, match=r'podman images --no-trunc \.\.\. exited 125: Error: reading image "213bc07": image not known'):
        podman("images", "--no-trunc")
    assert len(calls) == READ_ATTEMPTS
    assert capsys.readouterr().err.count("reading again") == READ_ATTEMPTS - 1


def test_a_listing_that_keeps_racing_fails_in_podmans_words_after_three_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _scripted(monkeypatch, [(125, RACE)])
    with pytest.raises(PodmanError, match=r"exited 125: .*retrieving label for image"):
        podman("images")
    assert len(calls) == 3


@pytest.mark.parametrize("args", [("build", "-t", "img", "."), ("run", "--rm", "img"), ("rmi", "img"), ("image", "rm", "img"), ("push", "img", "dir:x")])
def test_a_call_that_writes_is_never_repeated_whatever_it_said(monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]) -> None:
    calls = _scripted(monkeypatch, [(125, IMAGE_GONE), (0, "")])
    with pytest.raises(PodmanError, match="image not known"):
        podman(*args)
    assert len(calls) == 1


@pytest.mark.parametrize("args", [("images",), ("run", "--rm", "img")])
def test_any_other_failure_is_raised_at_once(monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]) -> None:
    stderr = "Error: short-name resolution enforced" if args[0] == "images" else RACE  # a race text outside a listing is not retried
    calls = _scripted(monkeypatch, [(125, stderr)])
    with pytest.raises(PodmanError):
        podman(*args)
    assert len(calls) == 1


def test_the_image_look_ups_go_through_the_same_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _scripted(monkeypatch, [(125, LAYER_GONE), (0, "")], stdout=json.dumps([{"Id": "213bc07", "Size": 42}]))
    assert inspect_image("localhost/ecr-var:1")["Id"] == "213bc07"
    assert [command[-3:] for command in calls] == [["image", "inspect", "localhost/ecr-var:1"]] * 2


# podman-image-exists(1), https://docs.podman.io/en/v5.1.2/markdown/podman-image-exists.1.html: exit 0 when the image
# is found, 1 otherwise, 125 when there was an issue accessing the local storage
def test_an_existence_check_that_raced_a_removal_is_asked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _scripted(monkeypatch, [(125, IMAGE_GONE), (0, "")])
    assert image_exists("localhost/ecr-var:1") is True
    assert len(calls) == 2


def test_an_absent_image_is_absent_at_the_first_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _scripted(monkeypatch, [(1, "")])
    assert image_exists("localhost/ecr-var:1") is False
    assert len(calls) == 1


def test_a_storage_that_cannot_be_read_is_not_taken_for_an_absent_image(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _scripted(monkeypatch, [(125, IMAGE_GONE)])
    with pytest.raises(PodmanError, match=r"podman image exists localhost/ecr-var:1 \.\.\. exited 125: .*image not known"):
        image_exists("localhost/ecr-var:1")
    assert len(calls) == READ_ATTEMPTS


@pytest.mark.parametrize(
    ("args", "advice"),
    [
        (("login", "--username", "AWS", "--password-stdin", "123456789012.dkr.ecr.us-east-1.amazonaws.com"), podman_module.LOGIN_ADVICE),
        (("push", "--quiet", "localhost/ecr-var:1", "docker://123456789012.dkr.ecr.us-east-1.amazonaws.com/ecr-var-dev:1"), podman_module.REGISTRY_PUSH_ADVICE),
        (("push", "--quiet", "--format", "oci", "localhost/ecr-var:1", "dir:/tmp/riskbatch-push-x"), podman_module.OTHER_ADVICE),  # a folder, not a registry
        (("image", "inspect", "localhost/ecr-var:1"), podman_module.STORAGE_ADVICE),
        (("build", "-t", "img", "."), podman_module.OTHER_ADVICE),
    ],
    ids=["login", "push-to-registry", "push-to-folder", "image-read", "build"],
)
def test_a_failure_is_an_operator_error_that_says_what_to_do_after_that_call(monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], advice: str) -> None:
    _scripted(monkeypatch, [(125, "Error: short-name resolution enforced")])
    with pytest.raises(PodmanError) as raised:
        podman(*args)
    assert str(raised.value).endswith(f"Error: short-name resolution enforced: {advice}")
    assert isinstance(raised.value, OperatorError) and raised.value.exit_code == EXIT_PODMAN_FAILED  # the error boundary's one line and code


def test_an_inspection_of_an_image_that_is_not_built_fails_at_once_and_says_to_build_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """podman 4.3's own words for an image the caller named that the storage does not hold (reading again cannot find it)."""
    calls = _scripted(monkeypatch, [(125, "Error: inspecting object: localhost/ecr-var:9: image not known")])
    with pytest.raises(PodmanError, match=r"image not known: no image of that name is built here: build it"):
        inspect_image("localhost/ecr-var:9")
    assert len(calls) == 1 and "reading again" not in capsys.readouterr().err

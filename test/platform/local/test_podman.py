"""podman called as the runner calls it: a listing of the images that races another podman's removal
(two checkouts building in one storage) is listed again; any other failure is raised at once, in podman's words."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from riskbatch_platform.local import podman as podman_module
from riskbatch_platform.local.podman import PodmanError, podman

RACE = 'Error: retrieving label for image "3f1c": you may need to remove the image to resolve the error'


def _scripted(monkeypatch: pytest.MonkeyPatch, outcomes: list[tuple[int, str]]) -> list[list[str]]:
    calls: list[list[str]] = []

    def run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        code, stderr = outcomes[min(len(calls), len(outcomes)) - 1]
        return subprocess.CompletedProcess(command, code, stdout="abc sha256:1\n" if code == 0 else "", stderr=stderr)

    monkeypatch.setattr(podman_module.subprocess, "run", run)
    monkeypatch.setattr(podman_module.time, "sleep", lambda seconds: None)
    return calls


def test_an_image_listing_that_lost_a_race_with_a_removal_is_listed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _scripted(monkeypatch, [(125, RACE), (0, "")])
    assert podman("images", "--no-trunc", "--format", "{{.Id}} {{.Digest}}").stdout == "abc sha256:1\n"
    assert len(calls) == 2


def test_a_listing_that_keeps_racing_fails_in_podmans_words_after_three_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _scripted(monkeypatch, [(125, RACE)])
    with pytest.raises(PodmanError, match=r"exited 125: .*retrieving label for image"):
        podman("images")
    assert len(calls) == 3


@pytest.mark.parametrize("args", [("images",), ("run", "--rm", "img")])
def test_any_other_failure_is_raised_at_once(monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]) -> None:
    stderr = "Error: short-name resolution enforced" if args[0] == "images" else RACE  # a race text outside a listing is not retried
    calls = _scripted(monkeypatch, [(125, stderr)])
    with pytest.raises(PodmanError):
        podman(*args)
    assert len(calls) == 1

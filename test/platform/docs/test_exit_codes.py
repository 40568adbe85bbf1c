"""The runbook's exit-code tables ("Exit codes of every command") against what the commands return: each command
class's own codes, run in-process with its AWS calls stubbed (moto) or its tools made absent, and found in the
table that documents them."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine

from riskbatch_platform import REPO_ROOT

RUNBOOK = (REPO_ROOT / "docs" / "runbook.md").read_text(encoding="utf-8")
EXIT_ONE = "| command | exit 1 without a traceback means |"
EVERY_COMMAND = "| code | meaning | what to do |"
SIGNED_AT = dt.datetime(2026, 12, 2, 14, 0, tzinfo=dt.UTC)  # the morning after the night of 2026-12-01, in New York


def _rows(header: str, after: str = "### Exit codes of every command") -> dict[str, str]:
    """The runbook table under header (the first one after the heading after): its first cell -> its second."""
    lines = RUNBOOK[RUNBOOK.index(after) :].splitlines()
    start = lines.index(header)
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        rows[cells[0]] = cells[1]
    return rows


def _names(cell: str, command: str) -> bool:
    return re.search(rf"`{re.escape(command)}[` ]", cell) is not None


def _riskbatch(*argv: str) -> Callable[[pytest.MonkeyPatch, Path], int]:
    def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> int:
        from riskbatch.cli import main

        return main(list(argv))

    return run


def _exclude_twice(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> int:
    """A day whose sign-off is stored already: the backtest lists the day, the store keeps the first record."""
    from riskbatch.cli import main

    tested = [{"business_date": "2026-12-02", "backtest": {"var_date": "2026-12-01"}}]
    monkeypatch.setattr("riskbatch.validation.history.load_records", lambda *args: tested)
    monkeypatch.setattr("riskbatch.validation.exclusions.record_exclusion", lambda *args: False)
    with time_machine.travel(SIGNED_AT, tick=False):  # a sign-off's date may not be after today: the clock pinned after it
        return main(["exclude-day", "--bucket", "risk-out", "--date", "2026-12-01", "--by", "J. Risk", "--reason", "vendor outage"])


def _accept_twice(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> int:
    """A currency's curve accepted already: the night refused it for its steps, the store keeps the first record."""
    from riskbatch.cli import main

    source = {"refused": {"CNH": ["CNH 1D on 2026-12-01: 0.09, 7.0 points from 0.02"]}, "acceptable": {"CNH": [[0.0027, 0.09], [10.0, 0.022]]}}
    run = {"run_id": "2026-12-01-0123456789ab", "business_date": "2026-12-01", "rates_source": source}
    monkeypatch.setattr("riskbatch.inputs.rate_acceptances.latest_run_record", lambda *args: run)
    monkeypatch.setattr("riskbatch.inputs.rate_acceptances.record_acceptance", lambda *args: False)
    with time_machine.travel(SIGNED_AT, tick=False):
        argv = ["accept-rates", "--bucket", "risk-out", "--date", "2026-12-01", "--currency", "CNH"]
        return main([*argv, "--by", "J. Risk", "--reason", "an overnight squeeze"])


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """moto's account, a bucket with no history in it, and a scratch folder without a heartbeat."""
    import boto3
    from moto import mock_aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="risk-out")
        yield


@pytest.mark.parametrize(
    ("command", "run", "environment"),
    [
        ("riskbatch backtest", _riskbatch("backtest", "--bucket", "risk-out"), {}),
        ("riskbatch exclude-day", _exclude_twice, {}),
        ("riskbatch accept-rates", _accept_twice, {}),
        ("riskbatch health", _riskbatch("health"), {}),
        ("riskbatch smoke", _riskbatch("smoke"), {"RISKBATCH_JOB": "no-such-job"}),
    ],
    ids=["backtest-no-history", "exclude-day-signed-off-already", "accept-rates-accepted-already", "health-no-heartbeat", "smoke-unknown-job"],
)
def test_a_commands_own_exit_1_is_in_the_runbooks_table(
    aws: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, run: Any, environment: dict[str, str]
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert run(monkeypatch, tmp_path) == 1
    assert "Traceback" not in capsys.readouterr().err  # the command's own result, not an internal error
    assert any(_names(cell, command) for cell in _rows(EXIT_ONE)), f"{command} exits 1 by design: the runbook's table must say when"
    others = re.search(r"The other commands \((.*?)\) exit 1 only on an internal error", RUNBOOK)
    assert others is not None and f"`{command.removeprefix('riskbatch ')}`" not in others.group(1)


def _demo_without_containers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> int:
    from riskbatch_platform.local import demo

    @contextlib.contextmanager
    def emulator(**_: Any) -> Iterator[object]:
        yield object()

    monkeypatch.setattr(demo, "running_emulator", emulator)
    monkeypatch.setattr(demo, "missing_tools", lambda: ["podman"])
    return demo.main(["--out", str(tmp_path)])


def _images_without_podman(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> int:
    from riskbatch_platform.images import build_images

    monkeypatch.setattr(build_images, "missing_tools", lambda: ["podman"])
    return build_images.main([])


def _clock_without_faketime(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> int:
    from riskbatch_platform.testing import clock

    monkeypatch.setattr(clock.shutil, "which", lambda name: None)
    return clock.main([])


def _taskcat_not_installed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> int:
    from riskbatch_platform.testing import taskcat

    monkeypatch.setattr(taskcat, "TASKCAT", tmp_path / "no-taskcat")
    return taskcat.main([])


@pytest.mark.parametrize(
    ("command", "run"),
    [
        ("riskbatch-demo", _demo_without_containers),
        ("riskbatch-images", _images_without_podman),
        ("riskbatch-clock-check", _clock_without_faketime),
        ("riskbatch-taskcat", _taskcat_not_installed),
    ],
    ids=["demo", "images", "clock-check", "taskcat"],
)
def test_a_tool_that_is_not_installed_is_exit_2_as_the_runbook_says(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, run: Any
) -> None:
    assert run(monkeypatch, tmp_path) == 2
    said = capsys.readouterr().err
    assert "Traceback" not in said and "install" in said  # the tool, and how to install it
    assert _names(_rows(EVERY_COMMAND)["2"], command), f"{command} exits 2 when a tool is missing: the runbook's code 2 must say so"


class _Ecr:
    """ECR's token, as riskbatch-push-images asks for it before it logs podman in."""

    def get_authorization_token(self) -> dict[str, Any]:
        return {"authorizationData": [{"authorizationToken": "QVdTOnRva2Vu", "proxyEndpoint": "https://123456789012.dkr.ecr.us-east-1.amazonaws.com"}]}


class _EcrTarget:
    def client(self, service: str) -> Any:
        return _Ecr()


def test_a_scan_that_cannot_be_judged_is_push_images_own_3_as_the_runbook_says(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """riskbatch-push-images renumbers the boundary's 3 to 9: its own 3 is a scan still unjudged after --scan-wait."""
    from riskbatch_platform.deployment.image_gate import ScanNotFinished
    from riskbatch_platform.images import push_images

    def unjudged(*args: Any, **kwargs: Any) -> None:
        raise ScanNotFinished("BASIC scan of ecr-risk-calculation-dev:1.0.0 still IN_PROGRESS after 0 s")

    uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ecr-risk-calculation-dev"
    monkeypatch.setattr(push_images, "command_target", lambda *args: _EcrTarget())
    monkeypatch.setattr(push_images, "stack_outputs", lambda *args: {"RiskCalculationRepositoryUri": uri})
    monkeypatch.setattr(push_images, "image_exists", lambda reference: True)
    monkeypatch.setattr(push_images, "podman", lambda *args, **kwargs: None)
    monkeypatch.setattr(push_images, "scan_verdict", unjudged)
    assert push_images.main(["--stack-name", "riskbatch-dev", "--tag", "1.0.0", "--scan-wait", "0"]) == 3
    assert "still IN_PROGRESS" in capsys.readouterr().err
    renumbered = RUNBOOK[RUNBOOK.index("`riskbatch-deploy` and `riskbatch-push-images` had codes 3 to 5") :].split("\n\n")[0]
    assert "its own 3 is a scan that cannot be judged" in " ".join(renumbered.split())


# podman failing as itself: podman-run(1), Exit Status, "125 The error is with Podman itself"; the commands' calls fail with it too
# (a login refused, a push refused, an image storage podman cannot read: podman-image-exists(1), 125).
STORAGE_BROKEN = 'Error: invalid internal status, try resetting the pause process with "podman system migrate": could not find any running process'
LOGIN_REFUSED = 'Error: authenticating creds for "123456789012.dkr.ecr.us-east-1.amazonaws.com": pinging container registry: no such host'
# "Preventing image tags from being overwritten in Amazon ECR" (https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html):
# a push of a tag already in an immutable repository is refused (ImageTagAlreadyExistsException)
TAG_TAKEN = "Error: writing manifest: tag invalid: The image tag '1.0.0' already exists in the 'ecr-risk-calculation-dev' repository and cannot be overwritten"


def _failing_podman(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, call: str, message: str) -> None:
    """A podman first on PATH whose `call` (e.g. "image exists") fails with exit 125 and message; every other call succeeds."""
    import os
    import shlex

    from riskbatch.operations.aws_access import EXIT_PODMAN_FAILED

    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    script = folder / "podman"
    script.write_text(
        f'#!/bin/sh\ncase " $* " in\n  *{shlex.quote(f" {call} ")}*) echo {shlex.quote(message)} >&2; exit {EXIT_PODMAN_FAILED};;\nesac\nexit 0\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")


def _push_images(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> int:
    """riskbatch-push-images with AWS stubbed (the stack's one repository, ECR's token) and podman itself called."""
    from riskbatch_platform.images import push_images

    uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ecr-risk-calculation-dev"
    monkeypatch.setattr(push_images, "command_target", lambda *args: _EcrTarget())
    monkeypatch.setattr(push_images, "stack_outputs", lambda *args: {"RiskCalculationRepositoryUri": uri})
    return push_images.main(["--stack-name", "riskbatch-dev", "--tag", "1.0.0"])


def _without_hadolint(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    monkeypatch.setattr("riskbatch_platform.images.build.hadolint", lambda paths: subprocess.CompletedProcess([], 0, stdout="", stderr=""))


def _images(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> int:
    """riskbatch-images: the build's first podman call is whether the base image is there already."""
    from riskbatch_platform.images import build_images

    _without_hadolint(monkeypatch)
    monkeypatch.setattr(build_images, "missing_tools", lambda: [])
    return build_images.main([])


def _local_deploy_up_to_the_images(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The local deployment's phase 1 stubbed (no emulator): what follows is the images' build, podman's calls as they are."""
    import types

    from riskbatch_platform.local import night

    @contextlib.contextmanager
    def emulator(**_: Any) -> Iterator[object]:
        yield types.SimpleNamespace(target=types.SimpleNamespace(client=lambda service: None))

    _without_hadolint(monkeypatch)
    stand_ins = types.SimpleNamespace(input_bucket="risk-in", template_bucket="risk-templates", stack_parameters=lambda suffix: {})
    monkeypatch.setattr(night, "create_stand_ins", lambda *args: stand_ins)
    monkeypatch.setattr(night, "enable_eventbridge", lambda *args: True)
    monkeypatch.setattr(night, "deploy_in_phases", lambda *args, **kwargs: {})
    return emulator


def _demo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> int:
    from riskbatch_platform.local import demo

    monkeypatch.setattr(demo, "running_emulator", _local_deploy_up_to_the_images(monkeypatch))
    monkeypatch.setattr(demo, "missing_tools", lambda: [])
    return demo.main(["--out", str(tmp_path)])


def _bench_containers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> int:
    from riskbatch_platform.local import podman
    from riskbatch_platform.local.emulator import loopback
    from riskbatch_platform.measurement import bench

    monkeypatch.setattr(loopback, "running_emulator", _local_deploy_up_to_the_images(monkeypatch))
    monkeypatch.setattr(podman, "missing_tools", lambda: [])
    monkeypatch.setattr(bench, "REPO_ROOT", tmp_path)  # its out/ folder
    return bench.main(["--containers-only", "--quick"])


@pytest.mark.parametrize(
    ("command", "run", "call", "message"),
    [
        ("riskbatch-push-images", _push_images, "image exists", STORAGE_BROKEN),
        ("riskbatch-push-images", _push_images, "login", LOGIN_REFUSED),
        ("riskbatch-push-images", _push_images, "push", TAG_TAKEN),
        ("riskbatch-images", _images, "image exists", STORAGE_BROKEN),
        ("riskbatch-demo", _demo, "image exists", STORAGE_BROKEN),
        ("riskbatch-bench", _bench_containers, "image exists", STORAGE_BROKEN),
    ],
    ids=["push-images-storage", "push-images-login", "push-images-push", "images", "demo", "bench-containers"],
)
def test_a_podman_failure_is_one_line_and_the_runbooks_code_never_a_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, run: Any, call: str, message: str
) -> None:
    from riskbatch.operations.aws_access import EXIT_PODMAN_FAILED

    _failing_podman(monkeypatch, tmp_path, call, message)
    assert run(monkeypatch, tmp_path) == EXIT_PODMAN_FAILED
    said = capsys.readouterr().err
    assert "Traceback" not in said
    errors = [line for line in said.splitlines() if line.startswith(f"{command}: ")]
    assert len(errors) == 1 and errors == said.splitlines()[-1:], said  # one line, the last
    assert f"podman {call}" in errors[0] and message in errors[0]  # the call and podman's own words
    assert errors[0].endswith("then run the command again")  # and what to do
    assert _names(_rows(EVERY_COMMAND)[str(EXIT_PODMAN_FAILED)], command), f"{command} runs podman: the runbook's code {EXIT_PODMAN_FAILED} must name it"

"""The health check sees a stuck or absent job, and a live one always beats in time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from riskbatch.jobs import queue_worker as worker_module
from riskbatch.jobs.queue_worker import QueueWorker, WorkerOptions
from riskbatch.runtime.heartbeat import BEAT_SECONDS, MAX_AGE_SECONDS, beat, beating, healthy, heartbeat_path
from test.template_model import load_template


def test_no_heartbeat_is_unhealthy(tmp_path: Path) -> None:
    assert not healthy(str(tmp_path))


@pytest.mark.clock  # a heartbeat's age is the clock against the file's modification time
def test_a_fresh_heartbeat_is_healthy_and_a_stale_one_is_not(tmp_path: Path) -> None:
    beat(str(tmp_path))
    assert healthy(str(tmp_path))
    stale = time.time() - MAX_AGE_SECONDS - 1
    os.utime(heartbeat_path(str(tmp_path)), (stale, stale))
    assert not healthy(str(tmp_path))


def test_the_age_limit_leaves_slack_over_the_beat() -> None:
    """A beat late by a slow call must not fail the check: several beats fit in the limit."""
    assert MAX_AGE_SECONDS >= 3 * BEAT_SECONDS


def test_jobs_beat_at_least_as_often_as_the_health_check_runs() -> None:
    template = load_template()
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::ECS::TaskDefinition":
            for container in resource["Properties"]["ContainerDefinitions"]:
                check = container["HealthCheck"]
                assert check["Command"][-1] == "health"
                assert check["Interval"] >= BEAT_SECONDS
                # Unhealthy only after the limit and the check's retries: a stuck job is replaced.
                assert MAX_AGE_SECONDS + check["Interval"] * check["Retries"] < 600


HEAVY_MODULES = ("numpy", "scipy", "pyarrow", "boto3", "botocore", "matplotlib")


def test_the_health_command_reads_the_heartbeat_without_importing_the_model(tmp_path: Path) -> None:
    """The probe runs every 30 s in every task: importing numpy and scipy made it cost 0.6-2 s of the task's CPU."""
    beat(str(tmp_path))
    commands = {
        tuple(container["HealthCheck"]["Command"])
        for resource in load_template()["Resources"].values()
        if resource["Type"] == "AWS::ECS::TaskDefinition"
        for container in resource["Properties"]["ContainerDefinitions"]
    }
    assert commands
    for command in commands:
        assert command[:2] == ("CMD", "riskbatch"), command  # the console script is riskbatch.cli:main, as python -m riskbatch runs it
        probe = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "riskbatch", *command[2:]],
            env={**os.environ, "TMPDIR": str(tmp_path)}, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert probe.returncode == 0, probe.stderr[-2000:]
        imported = {line.split("|")[-1].strip() for line in probe.stderr.splitlines() if line.startswith("import time:")}
        heavy = sorted(name for name in imported if name.split(".")[0] in HEAVY_MODULES)
        assert not heavy, f"{' '.join(command)} imports {heavy[:5]}"


def test_a_one_shot_job_beats_while_it_runs(tmp_path: Path) -> None:
    with beating(str(tmp_path), every=0.02):
        first = heartbeat_path(str(tmp_path)).stat().st_mtime_ns
        time.sleep(0.2)
        assert heartbeat_path(str(tmp_path)).stat().st_mtime_ns > first


class _Queue:
    def __init__(self) -> None:
        self.messages = [{"ReceiptHandle": "r1", "Body": json.dumps({"unit": 1}), "Attributes": {"ApproximateReceiveCount": "1"}}]
        self.deleted: list[str] = []

    def receive_message(self, **_: Any) -> dict[str, Any]:
        return {"Messages": [self.messages.pop()]} if self.messages else {}

    def change_message_visibility(self, **_: Any) -> None:
        pass

    def delete_message(self, ReceiptHandle: str, **_: Any) -> None:
        self.deleted.append(ReceiptHandle)


def test_a_worker_beats_while_a_long_unit_is_in_hand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The visibility is extended every 300 s; the heartbeat may not wait that long."""
    beats: list[float] = []
    lock = threading.Lock()

    def record(scratch: str) -> None:
        with lock:
            beats.append(time.monotonic())

    monkeypatch.setattr(worker_module, "beat", record)
    monkeypatch.setattr(worker_module, "BEAT_SECONDS", 0.05)
    queue = _Queue()
    started: list[float] = []

    def handler(body: dict[str, Any], should_abort: Any) -> None:
        started.append(time.monotonic())
        time.sleep(0.5)

    options = WorkerOptions(visibility_seconds=900, wait_seconds=0, idle_exit_seconds=0, max_messages=1)
    QueueWorker(queue, "queue-url", handler, str(tmp_path), options).run()
    assert queue.deleted == ["r1"]
    during = [t for t in beats if started[0] < t < started[0] + 0.5]
    assert len(during) >= 5, f"{len(during)} beats during a 0.5 s unit at one beat per 0.05 s"

"""A one-shot job that hangs ends itself at its deadline, with an exit code the failure filter counts.

ECS acts on container health only for a service's tasks: "If a task is run manually, and not as part
of a service, the task will continue its lifecycle regardless of its health status"
(ECS API reference, HealthCheck: https://docs.amazonaws.cn/AmazonECS/latest/APIReference/API_HealthCheck.html).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from riskbatch.runtime.watchdog import DEADLINE_VARIABLE, EXIT_DEADLINE
from riskbatch_platform.analysis.metric_filter import matches
from test.stalled_endpoint import stalled_endpoint
from test.template_model import load_template


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """An endpoint that accepts connections and never answers (a stalled network path, as a hung task meets it)."""
    with stalled_endpoint() as url:
        yield url


def _failure_filters() -> dict[str, str]:
    return {
        resource["Properties"]["MetricTransformations"][0]["MetricName"]: resource["Properties"]["FilterPattern"]
        for resource in load_template()["Resources"].values()
        if resource["Type"] == "AWS::Logs::MetricFilter"
    }


def _stopped_event(exit_code: int) -> str:
    """The ECS Task State Change of a stopped one-shot task, as the task events log receives it."""
    detail = {"lastStatus": "STOPPED", "stopCode": "EssentialContainerExited", "containers": [{"name": "data-ingestion", "exitCode": exit_code}]}
    return json.dumps({"detail-type": "ECS Task State Change", "source": "aws.ecs", "detail": detail})


def test_a_hung_ingestion_ends_itself_at_its_deadline_and_counts_as_failed(silent_endpoint: str, tmp_path: Path) -> None:
    environment = {
        **os.environ,
        "AWS_ENDPOINT_URL": silent_endpoint,  # every call stalls: botocore's own timeouts and retries would take minutes
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "OUTPUT_BUCKET": "out",
        "RISK_WORK_QUEUE_URL": f"{silent_endpoint}/123456789012/work",
        "TMPDIR": str(tmp_path),
        DEADLINE_VARIABLE: "3",
    }
    started = time.monotonic()
    job = subprocess.run(
        [sys.executable, "-m", "riskbatch", "ingest", "--bucket", "in", "--key", "incoming/2026-11-25/positions.csv"],
        env=environment, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    took = time.monotonic() - started
    assert job.returncode == EXIT_DEADLINE, job.stderr[-2000:]
    assert 3 <= took < 30
    (line,) = [json.loads(line) for line in job.stderr.splitlines() if '"event": "deadline_exceeded"' in line]
    assert line["deadline_seconds"] == 3 and line["exit_code"] == EXIT_DEADLINE
    filters = _failure_filters()
    assert matches(filters["TasksFailed"], _stopped_event(job.returncode)) and matches(filters["TasksStopped"], _stopped_event(job.returncode))
    assert not matches(filters["TasksFailed"], _stopped_event(0))


def test_a_job_that_finishes_in_time_is_not_touched_by_its_deadline(tmp_path: Path) -> None:
    code = "from riskbatch.runtime.watchdog import deadline\nimport time\nwith deadline('ingest', 1.0):\n    time.sleep(0.1)\ntime.sleep(1.5)\nprint('done')"
    job = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (job.returncode, job.stdout.strip()) == (0, "done")

"""A one-shot job that hangs ends itself at its deadline, with an exit code the failure filter counts.

ECS acts on container health only for a service's tasks: "If a task is run manually, and not as part
of a service, the task will continue its lifecycle regardless of its health status"
(ECS API reference, HealthCheck: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html).
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


# Each one-shot job as its task definition runs it, with what its environment gives it; a business date for the
# deadline check, so that it reads the bucket whatever day the suite runs on.
PEAK = json.dumps([{"name": "risk", "tasks": 2, "vcpu": 2, "base": 0, "on_demand_weight": 1, "spot_weight": 0}])
ONE_SHOT_JOBS = {
    "ingest": (["ingest", "--bucket", "in", "--key", "incoming/2026-11-25/positions.csv"], {}),
    "watch": (["watch", "--date", "2026-11-24"], {"INPUT_BUCKET": "in", "INPUT_PREFIX": "incoming/", "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:1:t"}),
    "preflight": (["preflight", "--nightly"], {"PEAK_WORKLOADS": PEAK, "TASK_SUBNETS": "subnet-a,subnet-b,subnet-c", "JOB_REPOSITORIES": "ecr-a"}),
}


@pytest.mark.process
@pytest.mark.parametrize("job", sorted(ONE_SHOT_JOBS))
def test_a_hung_one_shot_job_ends_itself_at_its_deadline_and_counts_as_failed(job: str, silent_endpoint: str, tmp_path: Path) -> None:
    arguments, own = ONE_SHOT_JOBS[job]
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
        **own,
    }
    started = time.monotonic()
    ended = subprocess.run([sys.executable, "-m", "riskbatch", *arguments], env=environment, capture_output=True, text=True, timeout=120)
    took = time.monotonic() - started
    assert ended.returncode == EXIT_DEADLINE, ended.stderr[-2000:]
    assert 3 <= took < 30
    (line,) = [json.loads(line) for line in ended.stderr.splitlines() if '"event": "deadline_exceeded"' in line]
    assert line["deadline_seconds"] == 3 and line["exit_code"] == EXIT_DEADLINE
    filters = _failure_filters()
    assert matches(filters["TasksFailed"], _stopped_event(ended.returncode)) and matches(filters["TasksStopped"], _stopped_event(ended.returncode))
    assert not matches(filters["TasksFailed"], _stopped_event(0))


def test_a_job_that_finishes_in_time_is_not_touched_by_its_deadline(tmp_path: Path) -> None:
    code = "from riskbatch.runtime.watchdog import deadline\nimport time\nwith deadline('ingest', 1.0):\n    time.sleep(0.1)\ntime.sleep(1.5)\nprint('done')"
    job = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (job.returncode, job.stdout.strip()) == (0, "done")

"""A risk worker is a process that ECS stops with SIGTERM: it hands the unit in hand back to the queue and
exits 0 within the task's StopTimeout, whatever it was doing.

ECS stops a task by sending SIGTERM, waits the container's stopTimeout, then sends SIGKILL ("When StopTask
is called on a task, the equivalent of docker stop is issued to the containers running in the task. This
results in a SIGTERM value and a default 30-second timeout, after which the SIGKILL value is sent":
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopTask.html). A message whose visibility is
set to 0 is received again at once (ChangeMessageVisibility:
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html).

The worker runs as the image runs it (`python -m riskbatch worker risk`), against moto's server on loopback.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from riskbatch.inputs.sample import SampleSpec, write_sample
from riskbatch.jobs.ingestion import ingest
from test.jobs.stack_layout import Night, lay_out_night
from test.template_model import load_template

pytestmark = pytest.mark.process

DATE = "2026-11-25"
ABORT_AFTER = 0.0  # give the unit back at once on SIGTERM: the test does not depend on how long a unit takes


def _stop_timeout() -> int:
    """The risk-calculation container's StopTimeout, as the template gives it."""
    definition = load_template()["Resources"]["RiskCalculationTaskDefinition"]["Properties"]
    (container,) = definition["ContainerDefinitions"]
    return int(container["StopTimeout"])


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    url = f"http://127.0.0.1:{port}"
    for name, value in {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    try:
        yield url
    finally:
        moto.stop()


def _environment(night: Night, scratch: Path) -> dict[str, str]:
    settings = night.settings
    return {
        **os.environ,
        "OUTPUT_BUCKET": settings.output_bucket,
        "INPUT_BUCKET": settings.input_bucket,
        "INPUT_PREFIX": settings.input_prefix,
        "RISK_WORK_QUEUE_URL": settings.risk_work_queue_url,
        "REPORT_QUEUE_URL": settings.report_queue_url,
        "EVENT_BUS_NAME": settings.event_bus_name,
        "ALERT_TOPIC_ARN": settings.alert_topic_arn,
        "TMPDIR": str(scratch),
        "ECS_AGENT_URI": "",  # no agent: scale-in protection is skipped, as on a laptop
    }


def _lines(stream, seen: list[dict], started: threading.Event) -> None:
    for line in stream:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        seen.append(event)
        if event.get("event") == "unit_started":
            started.set()


def test_sigterm_hands_the_unit_back_and_exits_0_within_the_stop_timeout(server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISK_SCENARIOS", "400000")  # a unit long enough to be in hand when the signal comes
    night = lay_out_night(tmp_path)
    files = tmp_path / "files"
    write_sample(files, SampleSpec(positions=200, factors=20, days=260, portfolios=2, business_date=dt.date.fromisoformat(DATE)))
    keys = night.upload(files / DATE, DATE)
    outcome = ingest(night.settings.input_bucket, keys[0], night.settings, night.s3, night.sqs, night.sns)
    assert outcome.status == "queued" and outcome.units == 1

    seen: list[dict] = []
    started = threading.Event()
    worker = subprocess.Popen(
        [sys.executable, "-m", "riskbatch", "worker", "risk", "--wait", "1", "--abort-after", str(ABORT_AFTER), "--visibility", "600"],
        env=_environment(night, tmp_path), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    reader = threading.Thread(target=_lines, args=(worker.stderr, seen, started), daemon=True)
    reader.start()
    try:
        assert started.wait(120), f"the worker never started its unit: {seen[-5:]}"
        signalled = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=_stop_timeout())
        took = time.monotonic() - signalled
    finally:
        if worker.poll() is None:
            worker.kill()
    reader.join(5)
    assert code == 0, seen[-5:]
    assert took < _stop_timeout()  # ECS would have sent SIGKILL after StopTimeout
    sqs = boto3.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=night.settings.risk_work_queue_url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    events = [event.get("event") for event in seen]
    assert "message_interrupted" in events and "unit_computed" not in events, events
    assert attributes["ApproximateNumberOfMessages"] == "1"  # handed back: visible again at once, not after the 600 s lease
    results = boto3.client("s3").list_objects_v2(Bucket=night.settings.output_bucket, Prefix=f"runs/{outcome.run_id}/results/")
    assert results.get("KeyCount", 0) == 0  # nothing half written

"""Fault cases of the night, through the deployed stack and the local ECS runner; against a live stack, by opt-in, a stopped task.

The local runner's faults (marker local_runner_fault) run in local mode. A live run injects one fault
only when asked (RISKBATCH_INJECT_FAULTS=1, marker live_fault), and never into a production stack: it
stops a risk-calculation worker it started itself, with StopTask, as AWS FIS's aws:ecs:stop-task does
(https://docs.aws.amazon.com/fis/latest/userguide/fis-list-actions.html). ECS sends the container SIGTERM
and, after its stop timeout, SIGKILL ("StopTask": https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopTask.html):
exit code 0 says the worker handled SIGTERM (a Python process killed by the signal exits 143 or -15).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import time
from pathlib import Path

import pytest

from riskbatch.inputs.sample import SampleSpec, write_sample
from riskbatch_platform.deployment.stack import current_parameters, physical_ids
from riskbatch_platform.local.night import queue_depth, read_mailbox, run_services, upload_night
from test.integration.conftest import DeployedStack, start_task

pytestmark = pytest.mark.nights(2)


def _night(tmp_path: Path, date: str, positions: int = 600) -> Path:
    positions_path, _ = write_sample(tmp_path, SampleSpec(positions=positions, factors=40, days=260, portfolios=4, business_date=dt.date.fromisoformat(date)))
    return positions_path.parent


def _deliver(stack: DeployedStack, keys: list[str]) -> list[int]:
    codes = []
    for key in keys:
        codes += [code for _, code in stack.ecs.deliver_object_created(stack.local.stand_ins.input_bucket, key)]
    return codes


def _keys(stack: DeployedStack, prefix: str) -> list[str]:
    s3 = stack.target.client("s3")
    return [item["Key"] for item in s3.list_objects_v2(Bucket=stack.local.stand_ins.output_bucket, Prefix=prefix).get("Contents", [])]


def _runs(stack: DeployedStack, date: str) -> set[str]:
    return {key.split("/")[1] for key in _keys(stack, f"runs/{date}-")}


def _manifest(stack: DeployedStack, run: str) -> dict:
    body = stack.target.client("s3").get_object(Bucket=stack.local.stand_ins.output_bucket, Key=f"runs/{run}/manifest.json")["Body"].read()
    return json.loads(body)


def _depth(stack: DeployedStack, queue: str) -> int:
    return queue_depth(stack.target.client("sqs"), queue)


def _drain(stack: DeployedStack) -> None:
    run_services(stack.ecs, "RiskCalculationService", 2, idle_exit=3, say=lambda line: None)
    run_services(stack.ecs, "ReportGenerationService", 1, idle_exit=3, say=lambda line: None)


def _log_events(paths: list[str], event: str) -> list[dict]:
    found = []
    for path in paths:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.startswith("{") and f'"event": "{event}"' in line:
                found.append(json.loads(line))
    return found


@pytest.mark.local_runner_fault
def test_the_same_file_delivered_twice_yields_one_run(stack: DeployedStack, tmp_path: Path) -> None:
    date = "2026-12-01"
    _, market = upload_night(stack.local, _night(tmp_path, date), date)
    assert _deliver(stack, [market, market]) == [0, 0]
    (run,) = _runs(stack, date)
    assert _depth(stack, stack.outputs["RiskWorkQueueUrl"]) == len(_manifest(stack, run)["units"])  # queued once
    _drain(stack)
    assert len(_keys(stack, f"reports/{date}/")) == 2


@pytest.mark.local_runner_fault
def test_a_corrupt_file_is_quarantined_while_a_good_night_completes(stack: DeployedStack, tmp_path: Path) -> None:
    good, bad = "2026-12-02", "2026-12-03"
    good_keys = upload_night(stack.local, _night(tmp_path / "good", good), good)
    folder = _night(tmp_path / "bad", bad)
    # a file-level problem (a bad price of one factor would only exclude the positions on it)
    (folder / "market.csv").write_text((folder / "market.csv").read_text().replace("date,factor,price", "day,factor,price", 1))
    bad_keys = upload_night(stack.local, folder, bad)
    read_mailbox(stack.local)
    codes = _deliver(stack, [good_keys[1], bad_keys[1]])
    assert codes == [0, 2]
    _drain(stack)
    assert len(_keys(stack, f"reports/{good}/")) == 2
    assert _keys(stack, f"reports/{bad}/") == [] and _runs(stack, bad) == set()
    (report,) = _keys(stack, f"quarantine/{bad}/")
    assert "market.csv" in report
    notes = read_mailbox(stack.local)
    assert any(note["subject"] and "rejected input" in note["subject"] for note in notes)
    assert any(note["subject"] and good in note["subject"] for note in notes)


@pytest.mark.local_runner_fault
def test_a_poisoned_unit_ends_in_the_dead_letter_queue_the_alarm_watches(stack: DeployedStack) -> None:
    sqs = stack.target.client("sqs")
    dlq = stack.outputs["RiskWorkDeadLetterQueueUrl"]
    before = _depth(stack, dlq)
    poisoned = {
        "run_id": "2026-12-04-poisoned",
        "bucket": stack.local.stand_ins.output_bucket,
        "manifest_key": "runs/2026-12-04-poisoned/manifest.json",
        "unit": 0,
        "unit_key": "missing",
    }
    try:
        sqs.send_message(QueueUrl=stack.outputs["RiskWorkQueueUrl"], MessageBody=json.dumps(poisoned))
        for _ in range(4):
            run_services(stack.ecs, "RiskCalculationService", 1, idle_exit=2, say=lambda line: None)
        assert _depth(stack, dlq) == before + 1
        # The deployed alarm reads ApproximateNumberOfMessagesVisible of this queue and notifies the topic;
        # the queue now holds more than its threshold (the emulator computes no alarm state itself).
        alarm_name = physical_ids(stack.target.client("cloudformation"), stack.stack_name)["RiskWorkDeadLetterAlarm"][1]
        (alarm,) = stack.target.client("cloudwatch").describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": dlq.rsplit("/", 1)[-1]}]
        assert stack.outputs["AlertTopicArn"] in alarm["AlarmActions"]
        visible = int(sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])
        assert visible > alarm["Threshold"]
        body = json.loads(sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"][-1]["Body"])
        assert body["run_id"] == poisoned["run_id"]
    finally:  # the dead letter goes, whatever failed: the pre-night check would report it
        sqs.purge_queue(QueueUrl=dlq)


@pytest.mark.local_runner_fault
def test_sigterm_in_the_middle_of_a_unit_loses_nothing_and_writes_each_result_once(
    stack: DeployedStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    date = "2026-12-05"
    # units that take seconds, so one is in hand at SIGTERM (RunTask overrides of the tasks' environment)
    monkeypatch.setitem(stack.ecs.environment_overrides, "RISK_SCENARIOS", "150000")
    monkeypatch.setitem(stack.ecs.environment_overrides, "RISK_UNIT_POSITIONS", "250")
    keys = upload_night(stack.local, _night(tmp_path, date, positions=500), date)
    assert _deliver(stack, [keys[1]]) == [0]
    (run,) = _runs(stack, date)
    spec = stack.ecs.service_spec("RiskCalculationService")
    command = [*spec.command, "--wait", "1", "--idle-exit", "30", "--abort-after", "0"]
    worker = stack.ecs.start(spec, {"containerOverrides": [{"name": spec.container, "command": command}]}, name="sigterm-victim")
    log = Path(stack.ecs.tasks_run[-1]["log"])
    deadline = time.monotonic() + 60
    while '"event": "unit_started"' not in log.read_text(encoding="utf-8") and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(worker.pid, signal.SIGTERM)
    assert worker.wait(timeout=60) == 0
    released = _log_events([str(log)], "message_requeued")
    assert released, "the worker finished the unit before the signal: nothing was in flight"
    assert _depth(stack, stack.outputs["RiskWorkQueueUrl"]) == len(_manifest(stack, run)["units"])  # the released unit is back
    _drain(stack)
    manifest = _manifest(stack, run)
    assert len(_keys(stack, f"runs/{run}/results/")) == len(manifest["units"])
    logs = sorted({task["log"] for task in stack.ecs.tasks_run})
    written = [event for event in _log_events(logs, "unit_computed") if event.get("run_id") == run and event.get("written")]
    assert sorted(event["unit"] for event in written) == list(range(len(manifest["units"])))  # each unit written exactly once
    assert len(_keys(stack, f"reports/{date}/")) == 2


@pytest.mark.live_fault
def test_a_worker_stopped_with_stop_task_handles_sigterm_and_exits_0(stack: DeployedStack) -> None:
    parameters = current_parameters(stack.target.client("cloudformation"), stack.stack_name)
    assert parameters.get("EnvironmentSuffix") != "prod", "fault injection stops a task: never against a production stack"
    ecs = stack.target.client("ecs")
    cluster = stack.outputs["ClusterArn"]
    definition = physical_ids(stack.target.client("cloudformation"), stack.stack_name)["RiskCalculationTaskDefinition"][1]
    container = ecs.describe_task_definition(taskDefinition=definition)["taskDefinition"]["containerDefinitions"][0]
    command = [*container.get("command", []), "--wait", "1", "--idle-exit", "600", "--abort-after", "0"]  # a worker that waits for work
    task = start_task(stack, definition, command)
    arn = task["taskArn"]
    ecs.get_waiter("tasks_running").wait(cluster=cluster, tasks=[arn], WaiterConfig={"Delay": 3, "MaxAttempts": 100})
    time.sleep(15)  # the worker is polling the queue, its handler installed
    ecs.stop_task(cluster=cluster, task=arn, reason="riskbatch integration: fault injection (StopTask)")
    ecs.get_waiter("tasks_stopped").wait(cluster=cluster, tasks=[arn], WaiterConfig={"Delay": 3, "MaxAttempts": 100})
    deadline = time.monotonic() + container.get("stopTimeout", 30) + 30
    while True:  # the exit code arrives with the container's stop
        (stopped,) = ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"]
        codes = [item.get("exitCode") for item in stopped["containers"]]
        if None not in codes or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert codes == [0], f"{stopped.get('stoppedReason')}: exit codes {codes}"

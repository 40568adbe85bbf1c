"""riskbatch status: a business date's night read from the stack with the operator's credentials
alone, read-only, with clear errors for a missing region, credentials or stack.

ECS keeps stopped tasks listed for about an hour ("stopped tasks appear in the returned results for at
least one hour": https://awscli.amazonaws.com/v2/documentation/api/2.0.33/reference/ecs/list-tasks.html),
so the night's failed tasks come from the task events log group as well; DescribeTasks gives each
stopped task's stopCode, stoppedReason and containers' exitCode and reason
(https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTasks.html).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import boto3
import pytest
import time_machine
from botocore.stub import Stubber
from moto import mock_aws

from riskbatch.aws.layout import manifest_key, notified_key, report_keys, result_key, status_key
from riskbatch.cli import main
from riskbatch.inputs.business_days import NEW_YORK, is_business_day, next_business_day, previous_business_day, report_due_at
from riskbatch.operations.stack_lookup import EXIT_NO_AWS, EXIT_NO_STACK, EXIT_REFUSED, OUTPUTS, PARAMETERS, OperatorError, aws_errors
from riskbatch.operations.status import READ_CALLS, as_json, as_text, failed_tasks_listed, night_in_view, read_status
from test.jobs.stack_layout import PARAMETERS as STACK_PARAMETERS
from test.jobs.stack_layout import REGION, Night, lay_out_night, stack_properties

# The night in view, its due time and the task events log's 14-day window all follow the clock.
pytestmark = pytest.mark.clock

STACK = "riskbatch-test"
READ_VERBS = ("Describe", "List", "Get", "Head", "Filter")  # Filter: CloudWatch Logs' FilterLogEvents reads a log group's events


def _put(s3: Any, bucket: str, key: str, document: Any = None, body: bytes | None = None) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=body if body is not None else json.dumps(document).encode())


@pytest.fixture
def account(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """The stack's queues, buckets, cluster and task events log group (as the template names them), and a
    stack whose outputs and parameters point at them, as DescribeStacks answers for the deployed one."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        night = lay_out_night(tmp_path)
        properties = stack_properties()
        sqs, logs, ecs = night.sqs, boto3.client("logs"), boto3.client("ecs")
        cluster = ecs.create_cluster(clusterName=properties["RiskBatchCluster"]["ClusterName"])["cluster"]
        log_group = properties["TaskEventsLogGroup"]["LogGroupName"]
        logs.create_log_group(logGroupName=log_group)
        report_dlq = sqs.get_queue_url(QueueName=properties["ReportDeadLetterQueue"]["QueueName"])["QueueUrl"]
        definition = "arn:aws:ecs:us-east-1:123456789012:task-definition/task-data-ingestion-test:1"
        outputs = stack_outputs(night, cluster, report_dlq, log_group, definition, "rule-data-ingestion-trigger-test")
        parameters = {
            "InputBucketName": STACK_PARAMETERS["InputBucketName"],
            "InputKeyPrefix": "incoming/",
            "OutputBucketName": STACK_PARAMETERS["OutputBucketName"],
        }
        _stack(boto3.client("cloudformation"), STACK, outputs, parameters)
        yield night, logs, outputs


def stack_outputs(night: Night, cluster: dict[str, str], report_dlq: str, log_group: str, task_definition: str, rule: str) -> dict[str, str]:
    """The outputs of the stack the operator's commands read (riskbatch.operations.stack_lookup.OUTPUTS), for the night's resources."""
    return {
        "EnvironmentSuffix": "test",
        "ClusterName": cluster["clusterName"],
        "ClusterArn": cluster["clusterArn"],
        "RiskWorkQueueUrl": night.work_queue,
        "RiskWorkDeadLetterQueueUrl": night.work_dlq,
        "ReportQueueUrl": night.report_queue,
        "ReportDeadLetterQueueUrl": report_dlq,
        "TaskEventsLogGroupName": log_group,
        "DataIngestionTaskDefinitionArn": task_definition,
        "DataIngestionTriggerRuleName": rule,
    }


def _stack(cfn: Any, name: str, outputs: dict[str, str], parameters: dict[str, str]) -> None:
    template = {
        "Parameters": {key: {"Type": "String"} for key in parameters},
        "Resources": {"Handle": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(template), Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()])


def _recording_session() -> tuple[Any, list[str]]:
    """A session that records the name of every operation its clients call (botocore's before-call event)."""
    session, calls = boto3.Session(region_name=REGION), []
    session.events.register("before-call", lambda model, **_: calls.append(model.name))
    return session, calls


def _due_tomorrow() -> dt.date:
    """A business date whose report is not due yet: today's in New York (or the next)."""
    today = dt.datetime.now(NEW_YORK).date()
    return today if is_business_day(today) else next_business_day(today)


def _lay_out_run(night, date: str, run: str, units: int, done: int, created_at: str, marks: tuple[str, ...] = ()) -> None:
    bucket = night.settings.output_bucket
    _put(night.s3, bucket, manifest_key(run), {"run_id": run, "business_date": date, "created_at": created_at, "units": [{"index": i} for i in range(units)]})
    for unit in range(done):
        _put(night.s3, bucket, result_key(run, unit), body=b"x")
    for mark in marks:
        _put(night.s3, bucket, status_key(run, mark), {})


def _publish(night, date: str, run: str) -> None:
    bucket = night.settings.output_bucket
    pdf, figures = report_keys(date, run)
    _put(night.s3, bucket, pdf, body=b"%PDF")
    _put(night.s3, bucket, figures, {})
    _put(night.s3, bucket, notified_key(date, run), {})


def test_a_published_night_is_read_with_reads_alone(account) -> None:
    night, _, _ = account
    date = _due_tomorrow().isoformat()
    run = f"{date}-aaaaaaaaaaaa"
    for name in ("positions.csv", "market.csv"):
        _put(night.s3, night.settings.input_bucket, f"incoming/{date}/{name}", body=b"a,b\n")
    _lay_out_run(night, date, run, units=3, done=3, created_at=f"{date}T23:00:00Z", marks=("queued", "completed", "announced"))
    _publish(night, date, run)
    _put(night.s3, night.settings.output_bucket, f"history/{date}.json", {"business_date": date, "run_id": run})
    session, calls = _recording_session()
    status = read_status(session.client, STACK, dt.date.fromisoformat(date))
    assert calls and set(calls) <= READ_CALLS, sorted(set(calls) - READ_CALLS)
    assert all(name.startswith(READ_VERBS) for name in READ_CALLS)
    assert status.stage == "the report is published" and status.run == run
    assert [item["name"] for item in status.inputs] == ["market.csv", "positions.csv"]
    assert status.units == {"total": 3, "done": 3, "waiting": 0, "in_flight": 0}
    assert status.report["key"] == report_keys(date, run)[0] and status.report["on_time"] and status.report["notified_at"]
    assert status.deadline == f"{next_business_day(dt.date.fromisoformat(date))} 09:30"
    assert status.history["run_id"] == run and status.runs[0]["in_force"]
    text = as_text(status)
    assert f"run:       {run}, ingested " in text and "3 of 3 units, announced, in force" in text
    assert f"report:    reports/{date}/{run}.pdf, published " in text and "before the deadline" in text
    assert json.loads(as_json(status))["report"]["minutes_before_deadline"] > 0


def test_a_night_in_progress_shows_units_queues_and_dead_letters(account) -> None:
    night, _, _ = account
    date = _due_tomorrow().isoformat()
    run = f"{date}-bbbbbbbbbbbb"
    _put(night.s3, night.settings.input_bucket, f"incoming/{date}/positions.csv", body=b"x")
    _put(night.s3, night.settings.input_bucket, f"incoming/{date}/market.csv", body=b"x")
    _lay_out_run(night, date, run, units=5, done=2, created_at=f"{date}T23:00:00Z", marks=("queued",))
    for unit in range(3):
        night.sqs.send_message(QueueUrl=night.work_queue, MessageBody=json.dumps({"unit": unit}))
    night.sqs.receive_message(QueueUrl=night.work_queue, MaxNumberOfMessages=1, VisibilityTimeout=600)  # one in a worker's hands
    night.sqs.send_message(QueueUrl=night.work_dlq, MessageBody="{}")
    status = read_status(boto3.Session(region_name=REGION).client, STACK, dt.date.fromisoformat(date))
    assert status.stage == "risk calculation: 2 of 5 units done"
    assert status.units == {"total": 5, "done": 2, "waiting": 2, "in_flight": 1}
    assert status.queues["risk_work_dead_letter"] == {"waiting": 1, "in_flight": 0} and status.report is None
    text = as_text(status)
    assert "units:     2 of 5 done; the work queue holds 2 waiting, 1 in flight (all runs)" in text
    assert "dead letters: 1 unit(s) in the work queue's, 0 in the report queue's (queue-wide)" in text
    assert f"report:    not published; due {status.deadline} New York" in text


def test_a_report_after_the_deadline_is_late(account) -> None:
    night, _, _ = account
    date, run = "2026-11-24", "2026-11-24-cccccccccccc"
    _lay_out_run(night, date, run, units=1, done=1, created_at=f"{date}T23:00:00Z", marks=("announced",))
    with time_machine.travel(dt.datetime(2026, 11, 25, 15, 0, tzinfo=NEW_YORK), tick=False):
        _publish(night, date, run)  # S3 stamps LastModified with its clock: 15:00 New York, after the 09:30 deadline
    status = read_status(boto3.Session(region_name=REGION).client, STACK, dt.date.fromisoformat(date))
    assert status.report["on_time"] is False and status.report["minutes_before_deadline"] < 0
    assert "LATE, " in as_text(status) and "after the deadline 2026-11-25 09:30" in as_text(status)


def test_a_corporate_actions_file_landed_after_the_run_read_its_inputs_is_named_with_the_rerun_to_make(account) -> None:
    # before: status listed the file among the inputs, and nothing said the night ran without it
    night, _, _ = account
    date, run = "2026-11-24", "2026-11-24-dddddddddddd"
    _lay_out_run(night, date, run, units=1, done=1, created_at=f"{date}T23:00:00Z", marks=("announced",))  # it read no corporate_actions.csv
    # S3 stamps LastModified with its clock ("Creation date of the object":
    # https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/s3/aws.sdk.kotlin.services.s3.model/-object/-builder/last-modified.html)
    with time_machine.travel(dt.datetime(2026, 11, 24, 23, 40, tzinfo=dt.UTC), tick=False):
        _put(night.s3, night.settings.input_bucket, f"incoming/{date}/corporate_actions.csv", body=b"factor,effective_date,ratio,source\n")
    status = read_status(boto3.Session(region_name=REGION).client, STACK, dt.date.fromisoformat(date))
    (late,) = status.late_inputs
    assert late.startswith(f"corporate_actions.csv landed 2026-11-24 23:40:00 UTC, after the night read its inputs (run {run}")
    assert f"  LATE:      {late}" in as_text(status) and f'`riskbatch rerun --stack-name {STACK} --date {date} --reason "..."`' in late


def test_a_restated_date_shows_both_runs_and_the_one_in_force(account) -> None:
    night, _, _ = account
    date, first, second = "2026-11-24", "2026-11-24-111111111111", "2026-11-24-222222222222"
    _lay_out_run(night, date, first, units=1, done=1, created_at="2026-11-25T01:00:00Z", marks=("announced",))
    _lay_out_run(night, date, second, units=1, done=1, created_at="2026-11-25T11:00:00Z", marks=("announced",))
    _publish(night, date, second)  # the restated one first: in force by the history, whatever the order written
    _publish(night, date, first)
    restatement = {"supersedes": first, "at": "2026-11-25T12:00:00Z", "reason": "PF03 quantity corrected"}
    _put(night.s3, night.settings.output_bucket, f"history/{date}.json", {"business_date": date, "run_id": second, "restatement": restatement})
    status = read_status(boto3.Session(region_name=REGION).client, STACK, dt.date.fromisoformat(date))
    assert [(run["run_id"], run["in_force"]) for run in status.runs] == [(first, False), (second, True)]
    assert status.report["run_id"] == second
    assert f"holds run {second}; restated, supersedes run {first} (PF03 quantity corrected)" in as_text(status)
    assert f"{first}, ingested 2026-11-24 20:00, 1 of 1 units, announced, superseded" in as_text(status)


def test_two_runs_ingested_in_the_same_second_name_one_latest_run(account) -> None:
    # before: the run list ordered them by (created_at, run id) while the progress took the first listed of the latest
    # second, so the run shown as the night's was not the one listed last
    night, _, _ = account
    date, first, second = "2026-11-24", "2026-11-24-111111111111", "2026-11-24-222222222222"
    _lay_out_run(night, date, first, units=1, done=1, created_at="2026-11-25T01:00:00Z", marks=("announced",))
    _lay_out_run(night, date, second, units=2, done=0, created_at="2026-11-25T01:00:00Z")
    status = read_status(boto3.Session(region_name=REGION).client, STACK, dt.date.fromisoformat(date))
    assert [run["run_id"] for run in status.runs] == [first, second]
    assert status.run == second and status.units["total"] == 2 and status.units["done"] == 0


def _stopped_event(task: str, family: str, stopped: dt.datetime, exit_code: int | None, stop_code: str, reason: str) -> dict[str, Any]:
    """The "ECS Task State Change" event EventBridge writes to the task events log group."""
    container: dict[str, Any] = {"name": family.removeprefix("task-").removesuffix("-test")}
    if exit_code is not None:
        container["exitCode"] = exit_code
    detail = {
        "taskArn": f"arn:aws:ecs:us-east-1:123456789012:task/cluster-riskbatch-test/{task}",
        "taskDefinitionArn": f"arn:aws:ecs:us-east-1:123456789012:task-definition/{family}:1",
        "lastStatus": "STOPPED",
        "stopCode": stop_code,
        "stoppedReason": reason,
        "stoppedAt": stopped.astimezone(dt.UTC).isoformat(),
        "containers": [container],
    }
    return {
        "timestamp": int(stopped.timestamp() * 1000),
        "message": json.dumps({"detail-type": "ECS Task State Change", "source": "aws.ecs", "detail": detail}),
    }


def test_the_nights_failed_tasks_come_from_the_task_events_log_with_their_reasons(account) -> None:
    _, logs, outputs = account
    date = dt.date(2026, 11, 24)
    due = report_due_at(date)
    # CloudWatch Logs refuses events "more than 2 hours in the future" or "more than 14 days in the past"
    # of its clock (PutLogEvents: https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html):
    # the whole test runs on the morning the night's report is due, whatever day the suite runs on.
    with time_machine.travel(due + dt.timedelta(hours=1), tick=False):
        events = [
            _stopped_event(
                "ingest1", "task-data-ingestion-test", due - dt.timedelta(hours=6), 2, "EssentialContainerExited", "Essential container in task exited"
            ),
            _stopped_event(
                "ingest2", "task-data-ingestion-test", due - dt.timedelta(hours=5), 0, "EssentialContainerExited", "Essential container in task exited"
            ),
            _stopped_event(
                "risk1", "task-risk-calculation-test", due - dt.timedelta(hours=4), None, "TaskFailedToStart", "CannotPullContainerError: pull denied"
            ),
            _stopped_event(
                "before", "task-data-ingestion-test", report_due_at(previous_business_day(date)) - dt.timedelta(hours=1), 1, "EssentialContainerExited", "x"
            ),
        ]
        logs.create_log_stream(logGroupName=outputs["TaskEventsLogGroupName"], logStreamName="events")
        logs.put_log_events(
            logGroupName=outputs["TaskEventsLogGroupName"], logStreamName="events", logEvents=sorted(events, key=lambda event: event["timestamp"])
        )
        status = read_status(boto3.Session(region_name=REGION).client, STACK, date, now=due + dt.timedelta(hours=1))
        assert [(task["task"].rsplit("/", 1)[-1], task["stop_code"]) for task in status.failed_tasks] == [
            ("ingest1", "EssentialContainerExited"),
            ("risk1", "TaskFailedToStart"),
        ]
        assert status.failed_tasks[0]["containers"] == [{"name": "data-ingestion", "exit_code": 2, "reason": None}]
        text = as_text(status)
        assert f"failed tasks ({report_due_at(previous_business_day(date)):%Y-%m-%d %H:%M} to {due:%Y-%m-%d %H:%M} New York): 2" in text
        assert "task-risk-calculation-test  risk1: TaskFailedToStart: CannotPullContainerError: pull denied" in text


def test_the_recent_failed_tasks_come_from_ecs_describe_tasks() -> None:
    ecs = boto3.client("ecs", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    start, end = dt.datetime(2026, 11, 25, 14, 30, tzinfo=dt.UTC), dt.datetime(2026, 11, 26, 14, 30, tzinfo=dt.UTC)
    arn = "arn:aws:ecs:us-east-1:123456789012:task/cluster-riskbatch-test/{}".format
    definition = "arn:aws:ecs:us-east-1:123456789012:task-definition/task-risk-calculation-test:3"

    def task(name: str, stopped: dt.datetime, stop_code: str, reason: str, exit_code: int | None, container_reason: str | None = None) -> dict[str, Any]:
        container = {
            "name": "risk-calculation",
            **({"exitCode": exit_code} if exit_code is not None else {}),
            **({"reason": container_reason} if container_reason else {}),
        }
        return {"taskArn": arn(name), "taskDefinitionArn": definition, "lastStatus": "STOPPED", "stopCode": stop_code, "stoppedReason": reason,
                "stoppedAt": stopped, "containers": [container]}  # fmt: skip

    tasks = [
        task(
            "oom",
            end - dt.timedelta(hours=1),
            "EssentialContainerExited",
            "Essential container in task exited",
            137,
            "OutOfMemoryError: Container killed due to memory usage",
        ),
        task("fine", end - dt.timedelta(hours=1), "EssentialContainerExited", "Essential container in task exited", 0),
        task("spot", end - dt.timedelta(hours=2), "SpotInterruption", "Your Spot Task was interrupted.", 0),
        task("old", start - dt.timedelta(hours=1), "EssentialContainerExited", "Essential container in task exited", 1),
    ]
    with Stubber(ecs) as stub:
        stub.add_response("list_tasks", {"taskArns": [item["taskArn"] for item in tasks]}, {"cluster": "cluster-riskbatch-test", "desiredStatus": "STOPPED"})
        stub.add_response("describe_tasks", {"tasks": tasks}, {"cluster": "cluster-riskbatch-test", "tasks": [item["taskArn"] for item in tasks]})
        (failed,) = failed_tasks_listed(ecs, "cluster-riskbatch-test", start, end)
    assert failed["task"] == arn("oom") and failed["family"] == "task-risk-calculation-test" and failed["source"] == "ECS"
    assert failed["containers"] == [{"name": "risk-calculation", "exit_code": 137, "reason": "OutOfMemoryError: Container killed due to memory usage"}]


@pytest.mark.parametrize(
    ("now", "files_for", "expected"),
    [
        (dt.datetime(2026, 12, 8, 8, 0, tzinfo=NEW_YORK), None, dt.date(2026, 12, 7)),  # Tuesday morning: Monday's night
        (dt.datetime(2026, 12, 8, 20, 0, tzinfo=NEW_YORK), None, dt.date(2026, 12, 7)),  # Tuesday evening, nothing landed yet
        (dt.datetime(2026, 12, 8, 20, 0, tzinfo=NEW_YORK), "2026-12-08", dt.date(2026, 12, 8)),  # Tuesday's files are landing
        (dt.datetime(2026, 11, 26, 10, 0, tzinfo=NEW_YORK), None, dt.date(2026, 11, 25)),  # Thanksgiving: Wednesday's
        (dt.datetime(2026, 11, 30, 3, 0, tzinfo=NEW_YORK), None, dt.date(2026, 11, 27)),  # Monday night-time: Friday's
    ],
)
def test_the_default_date_is_the_night_in_progress_or_last_finished(account, now: dt.datetime, files_for: str | None, expected: dt.date) -> None:
    night, _, _ = account
    if files_for:
        _put(night.s3, night.settings.input_bucket, f"incoming/{files_for}/positions.csv", body=b"x")
    from riskbatch.operations.stack_lookup import StackResources

    resources = StackResources.of(boto3.client("cloudformation"), STACK)
    assert night_in_view(night.s3, resources, now) == expected


def test_the_command_prints_json_for_machines(account, capsys: pytest.CaptureFixture[str]) -> None:
    from riskbatch.operations.status import EXIT_REPORT_MISSING

    with time_machine.travel(dt.datetime(2026, 11, 25, 10, 0, tzinfo=NEW_YORK), tick=False):  # after the 09:30 deadline: the report is missing
        assert main(["status", "--stack-name", STACK, "--date", "2026-11-24", "--json", "--region", REGION]) == EXIT_REPORT_MISSING
    shown = json.loads(capsys.readouterr().out)
    assert shown["business_date"] == "2026-11-24" and shown["stage"] == "no input file has arrived" and shown["report"] is None


def test_no_region_no_credentials_no_stack_are_clear_errors_with_exit_codes(account, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    assert main(["status", "--stack-name", "riskbatch-missing", "--region", REGION]) == EXIT_NO_STACK
    announced, error = capsys.readouterr().err.splitlines()  # the account and region first, then the one line
    assert announced == f"riskbatch status: account 123456789012 (arn:aws:sts::123456789012:user/moto), region {REGION}"
    assert error.startswith("riskbatch status: error: no stack: Stack with id riskbatch-missing does not exist")
    _stack(boto3.client("cloudformation"), "not-ours", {"Something": "else"}, {"InputBucketName": "b"})
    assert main(["status", "--stack-name", "not-ours", "--region", REGION]) == EXIT_NO_STACK
    assert "is not a risk batch stack of this version: it lacks EnvironmentSuffix" in capsys.readouterr().err
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    assert main(["status", "--stack-name", STACK]) == EXIT_NO_AWS
    assert capsys.readouterr().err.startswith("riskbatch status: error: no AWS region: pass --region")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert main(["status", "--stack-name", STACK, "--region", REGION]) == EXIT_NO_AWS
    assert capsys.readouterr().err.startswith("riskbatch status: error: no AWS credentials")


def test_a_refused_read_names_the_operation() -> None:
    cfn = boto3.client("cloudformation", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(cfn) as stub:
        stub.add_client_error(
            "describe_stacks", "AccessDenied", "User: arn:aws:iam::123456789012:user/ops is not authorized to perform: cloudformation:DescribeStacks"
        )
        with pytest.raises(OperatorError) as raised, aws_errors():
            cfn.describe_stacks(StackName=STACK)
    assert raised.value.exit_code == EXIT_REFUSED and str(raised.value).startswith("AWS refused DescribeStacks: AccessDenied: User: ")


def test_the_outputs_read_are_outputs_of_the_template() -> None:
    from test.template_model import load_template

    template = load_template()
    assert set(OUTPUTS.values()) <= set(template["Outputs"]) and set(PARAMETERS.values()) <= set(template["Parameters"])

"""riskbatch status on the operator's morning: the tasks running now, per job, and an exit code a
scheduler or a script acts on when the report is missing or late (docs/runbook.md, the table of
`riskbatch status` and `riskbatch rerun`).

The running tasks come from ECS ListTasks (desiredStatus RUNNING) and DescribeTasks
(https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html,
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTasks.html); the Stubber checks
each request and response against botocore's model of the ECS API.
"""

from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest
import time_machine
from botocore.stub import Stubber

from riskbatch.cli import main
from riskbatch.inputs.business_days import NEW_YORK
from riskbatch.operations.running_tasks import running_lines, running_tasks
from riskbatch.operations.status import EXIT_REPORT_LATE, EXIT_REPORT_MISSING, EXIT_REPORT_NO_FIGURE, as_text, read_status
from riskbatch.validation.history import history_key
from test.jobs.operations import test_status
from test.jobs.operations.test_status import STACK, _lay_out_run, _publish, _put
from test.jobs.stack_layout import REGION

pytestmark = pytest.mark.clock
account = test_status.account  # the stack's buckets, queues, cluster and log group in moto, as test_status lays them out

CLUSTER = "cluster-riskbatch-test"
ARN = "arn:aws:ecs:us-east-1:123456789012:{}".format


def _task(task_id: str, family: str, status: str, started: dt.datetime | None, started_by: str | None = None) -> dict:
    task = {"taskArn": ARN(f"task/{CLUSTER}/{task_id}"), "taskDefinitionArn": ARN(f"task-definition/{family}:4"), "lastStatus": status}
    task |= {"startedAt": started} if started else {"createdAt": dt.datetime(2026, 11, 25, 6, 0, tzinfo=dt.UTC)}
    return task | ({"startedBy": started_by} if started_by else {"group": f"service:svc-{family.removeprefix('task-')}"})


def test_the_running_tasks_are_listed_per_job_oldest_first() -> None:
    ecs = boto3.client("ecs", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    tasks = [
        _task("risk2", "task-risk-calculation-test", "RUNNING", dt.datetime(2026, 11, 25, 7, 10, tzinfo=dt.UTC)),
        _task("risk1", "task-risk-calculation-test", "RUNNING", dt.datetime(2026, 11, 25, 6, 40, tzinfo=dt.UTC)),
        _task("ingest", "task-data-ingestion-test", "PROVISIONING", None, "events-rule/rule-data-ingestion-trigger-test"),
    ]
    with Stubber(ecs) as stub:
        stub.add_response("list_tasks", {"taskArns": [t["taskArn"] for t in tasks]}, {"cluster": CLUSTER, "desiredStatus": "RUNNING"})
        stub.add_response("describe_tasks", {"tasks": tasks}, {"cluster": CLUSTER, "tasks": [t["taskArn"] for t in tasks]})
        running = running_tasks(ecs, CLUSTER, "test")
    assert list(running) == ["data-ingestion", "risk-calculation"]
    assert [t["task"] for t in running["risk-calculation"]] == ["risk1", "risk2"]
    assert running["risk-calculation"][0]["started_at"] == "2026-11-25 01:40"  # New York
    assert running["data-ingestion"][0] == {"task": "ingest", "status": "PROVISIONING", "started_at": "2026-11-25 01:00",
                                            "started_by": "events-rule/rule-data-ingestion-trigger-test"}  # fmt: skip
    assert running_lines(running)[1] == "  running now: risk-calculation: 2 task(s): risk1 RUNNING since 2026-11-25 01:40, risk2 RUNNING since 2026-11-25 02:10"
    assert running_lines({}) == ["  running now: no task"]


def test_status_reads_the_running_tasks_from_the_stacks_cluster(account) -> None:
    """The cluster the stack names (moto's ECS: no task runs in it)."""
    with time_machine.travel(dt.datetime(2026, 11, 25, 3, 0, tzinfo=NEW_YORK), tick=False):
        status = read_status(boto3.Session(region_name=REGION).client, STACK, dt.date(2026, 11, 24))
    assert status.running == {} and "  running now: no task" in as_text(status)


@pytest.mark.parametrize(
    ("now", "published", "code", "says"),
    [
        (dt.datetime(2026, 11, 25, 3, 0), None, 0, "report:    not published; due 2026-11-25 09:30"),
        (dt.datetime(2026, 11, 25, 9, 45), None, EXIT_REPORT_MISSING, "report:    MISSING, the deadline has passed: not published"),
        (dt.datetime(2026, 11, 25, 11, 0), dt.datetime(2026, 11, 25, 10, 0), EXIT_REPORT_LATE, "LATE, 30 min after the deadline 2026-11-25 09:30"),
        (dt.datetime(2026, 11, 25, 11, 0), dt.datetime(2026, 11, 25, 6, 0), 0, "3 h 30 min before the deadline 2026-11-25 09:30"),
    ],
    ids=["not-due-yet", "missing", "late", "on-time"],
)
def test_the_exit_code_says_whether_the_report_is_in_on_time(
    account, capsys: pytest.CaptureFixture[str], now: dt.datetime, published: dt.datetime | None, code: int, says: str
) -> None:
    night, _, _ = account
    date, run = "2026-11-24", "2026-11-24-dddddddddddd"
    _lay_out_run(night, date, run, units=1, done=1, created_at=f"{date}T23:00:00Z", marks=("announced",))
    if published:
        with time_machine.travel(published.replace(tzinfo=NEW_YORK), tick=False):  # S3 stamps LastModified with its clock
            _publish(night, date, run)
    with time_machine.travel(now.replace(tzinfo=NEW_YORK), tick=False):
        assert main(["status", "--stack-name", STACK, "--date", date, "--region", REGION]) == code
    assert says in capsys.readouterr().out


def test_no_report_is_due_for_a_day_the_exchange_is_closed(account) -> None:
    with time_machine.travel(dt.datetime(2026, 11, 30, 11, 0, tzinfo=NEW_YORK), tick=False):
        assert main(["status", "--stack-name", STACK, "--date", "2026-11-26", "--region", REGION]) == 0  # Thanksgiving: no night


def test_a_report_not_due_yet_exits_0_and_json_still_says_so(account, capsys: pytest.CaptureFixture[str]) -> None:
    """A night in progress is a normal evening: `riskbatch status || page` must not page; the state stays in --json."""
    night, _, _ = account
    date, run = "2026-11-24", "2026-11-24-dddddddddddd"
    _lay_out_run(night, date, run, units=1, done=0, created_at=f"{date}T23:00:00Z", marks=())
    with time_machine.travel(dt.datetime(2026, 11, 24, 20, 0, tzinfo=NEW_YORK), tick=False):
        assert main(["status", "--stack-name", STACK, "--date", date, "--region", REGION, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["report_state"] == "not due yet"


def test_a_restated_date_is_judged_on_its_first_report_and_shown_restated(account, capsys: pytest.CaptureFixture[str]) -> None:
    """The first report went out on time; the restatement written after the deadline is not lateness."""
    night, _, _ = account
    date, first, second = "2026-11-24", "2026-11-24-111111111111", "2026-11-24-222222222222"
    _lay_out_run(night, date, first, units=1, done=1, created_at=f"{date}T23:00:00Z", marks=("announced",))
    _lay_out_run(night, date, second, units=1, done=1, created_at="2026-11-25T18:00:00Z", marks=("announced",))
    with time_machine.travel(dt.datetime(2026, 11, 25, 6, 0, tzinfo=NEW_YORK), tick=False):  # S3 stamps LastModified with its clock
        _publish(night, date, first)
    with time_machine.travel(dt.datetime(2026, 11, 25, 14, 0, tzinfo=NEW_YORK), tick=False):
        _publish(night, date, second)
    supersession = {"supersedes": first, "at": "2026-11-25T19:00:00Z", "reason": "PF03 quantity corrected",
                    "superseded_record": f"history/superseded/{date}/{first}.json"}  # fmt: skip
    record = {"business_date": date, "run_id": second, "restatement": supersession, "supersessions": [supersession]}
    _put(night.s3, night.settings.output_bucket, f"history/{date}.json", record)
    with time_machine.travel(dt.datetime(2026, 11, 25, 15, 0, tzinfo=NEW_YORK), tick=False):
        assert main(["status", "--stack-name", STACK, "--date", date, "--region", REGION]) == 0
        out = capsys.readouterr().out
        assert f"published 2026-11-25 14:00 New York, RESTATED; first published 2026-11-25 06:00 ({first}), 3 h 30 min before the deadline" in out
        assert main(["status", "--stack-name", STACK, "--date", date, "--region", REGION, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["report_state"] == "restated" and shown["report"]["run_id"] == second and shown["first_publication"]["run_id"] == first


def test_a_report_of_no_figure_published_in_time_is_not_on_time_and_exits_its_own_code(account, capsys: pytest.CaptureFixture[str]) -> None:
    """Every position refused: the report is in before 09:30 but the firm has no VaR, so `riskbatch status || page` pages."""
    night, _, _ = account
    date, run = "2026-11-24", "2026-11-24-dddddddddddd"
    _lay_out_run(night, date, run, units=1, done=1, created_at=f"{date}T23:00:00Z", marks=("announced",))
    with time_machine.travel(dt.datetime(2026, 11, 25, 6, 0, tzinfo=NEW_YORK), tick=False):  # S3 stamps LastModified with its clock
        _publish(night, date, run)
    _put(night.s3, night.settings.output_bucket, history_key(date), {"business_date": date, "run_id": run, "var": None, "no_figure": True})
    with time_machine.travel(dt.datetime(2026, 11, 25, 11, 0, tzinfo=NEW_YORK), tick=False):
        assert main(["status", "--stack-name", STACK, "--date", date, "--region", REGION]) == EXIT_REPORT_NO_FIGURE
        text = capsys.readouterr().out
        assert main(["status", "--stack-name", STACK, "--date", date, "--region", REGION, "--json"]) == EXIT_REPORT_NO_FIGURE
    assert json.loads(capsys.readouterr().out)["report_state"] == "no figure"
    assert "published with NO FIGURE" in text and f"holds run {run}, NO FIGURE (every position refused)" in text

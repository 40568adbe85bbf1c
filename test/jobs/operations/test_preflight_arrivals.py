"""The pre-night check pages when the night's files landed and no ingestion started.

Whether EventBridge counts a RunTask that ECS answered with `failures` as a failed invocation is not
documented: it retries "retriable errors" only ("How EventBridge retries delivering events":
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html), RunTask reports an
unplaced task inside a successful answer (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html),
and AWS advises Step Functions between EventBridge and RunTask to retry it
(https://repost.aws/knowledge-center/ecs-fargate-runtask-capacity). So the check reads what ingestion leaves
in the output bucket. Against moto in-process; the files' LastModified is set by travelling to their landing
time, and the check is given its `now`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import time_machine
from moto import mock_aws

from riskbatch.inputs.business_days import NEW_YORK
from riskbatch.operations.preflight.arrivals import ARRIVAL_GRACE, landed_files_started_a_run, night_in_view
from riskbatch.operations.preflight.checks import NIGHTLY, alert, run_checks
from riskbatch.operations.preflight.findings import FAIL, PASS, WARN, account_from_environment

REGION = "us-east-1"
# The pre-night check of Tuesday 2026-12-08, 00:30 New York: Monday's files are the night in view.
CHECKED_AT = dt.datetime(2026, 12, 8, 0, 30, tzinfo=NEW_YORK)
ENVIRONMENT = {"PEAK_WORKLOADS": "[]", "TASK_SUBNETS": "", "INPUT_BUCKET": "risk-in", "INPUT_PREFIX": "incoming/", "OUTPUT_BUCKET": "risk-out"}


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket="risk-in")
        client.create_bucket(Bucket="risk-out")
        yield client


def _land(s3: Any, names: list[str], at: dt.datetime) -> None:
    date = night_in_view(CHECKED_AT).isoformat()
    with time_machine.travel(at, tick=False):
        for name in names:
            s3.put_object(Bucket="risk-in", Key=f"incoming/{date}/{name}", Body=b"x")


def _check(s3: Any, now: dt.datetime = CHECKED_AT) -> Any:
    account = account_from_environment(ENVIRONMENT)
    account.now = now
    (finding,) = landed_files_started_a_run(lambda service: boto3.client(service, region_name=REGION), account)
    return finding


def test_the_night_in_view_is_the_business_day_before_the_check() -> None:
    assert night_in_view(CHECKED_AT) == dt.date(2026, 12, 7)
    assert night_in_view(dt.datetime(2026, 12, 7, 0, 30, tzinfo=NEW_YORK)) == dt.date(2026, 12, 4)  # a Monday looks back to Friday


@pytest.mark.parametrize(
    ("files", "ago", "written", "expected"),
    [
        (["positions.csv", "market.csv"], dt.timedelta(hours=4), None, FAIL),
        (["positions.csv", "market.csv"], dt.timedelta(hours=4), "runs/{date}-0123456789ab/manifest.json", PASS),
        (["positions.csv", "market.csv"], dt.timedelta(hours=4), "quarantine/{date}/positions.csv.0123456789ab.errors.json", PASS),
        (["positions.csv", "market.csv"], ARRIVAL_GRACE / 2, None, PASS),
        (["positions.csv"], dt.timedelta(hours=4), None, WARN),
        ([], dt.timedelta(hours=4), None, PASS),
    ],
    ids=["no-run", "run-started", "quarantined", "just-landed", "one-file", "nothing-yet"],
)
def test_landed_files_without_a_run_fail_the_check(s3: Any, files: list[str], ago: dt.timedelta, written: str | None, expected: str) -> None:
    _land(s3, files, CHECKED_AT - ago)
    if written:
        s3.put_object(Bucket="risk-out", Key=written.format(date=night_in_view(CHECKED_AT).isoformat()), Body=b"{}")
    finding = _check(s3)
    assert finding.status == expected
    if expected == FAIL:
        assert "no run and no quarantine record" in finding.found and "riskbatch rerun --stack-name <stack> --date 2026-12-07" in finding.fix


def test_the_pre_night_check_pages_the_lost_files_through_the_bounded_alert(s3: Any) -> None:
    """The scheduled task runs NIGHTLY and alerts the topic on a FAIL (riskbatch.aws.alerts.publish_alert)."""
    _land(s3, ["positions.csv", "market.csv"], CHECKED_AT - dt.timedelta(hours=3))
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    topic = sns.create_topic(Name="sns-risk-alerts-dev")["TopicArn"]
    queue = sqs.create_queue(QueueName="mailbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    account = account_from_environment({**ENVIRONMENT, "ALERT_TOPIC_ARN": topic})
    account.now = CHECKED_AT
    assert landed_files_started_a_run in NIGHTLY
    findings = run_checks(lambda service: boto3.client(service, region_name=REGION), account, (landed_files_started_a_run,))
    alert(sns, topic, "dev", findings)
    (message,) = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    body = json.loads(message["Body"])
    assert body["Subject"] == "Pre-night check dev: 1 check(s) failed" and "landed files started a run" in body["Message"]


def test_the_check_names_the_files_as_the_readers_do() -> None:
    from riskbatch.inputs.files import FILE_NAME
    from riskbatch.operations.preflight import arrivals

    assert arrivals.FILE_NAME.pattern == FILE_NAME.pattern

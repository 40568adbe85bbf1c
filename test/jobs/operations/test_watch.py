"""The deadline check's reading of a night: which business date is due, and where the night stopped."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from zoneinfo import ZoneInfo

import boto3
import pytest
import time_machine
from moto import mock_aws

from riskbatch.aws.storage import get_read
from riskbatch.operations.watch import business_date_due, check_deadline

# Whether a report is due, late or not yet expected follows the clock.
pytestmark = pytest.mark.clock

UTC = dt.UTC


@pytest.mark.parametrize(
    ("now", "due"),
    [
        (dt.datetime(2026, 11, 24, 13, 30, tzinfo=UTC), dt.date(2026, 11, 23)),  # Tuesday 08:30 New York: Monday's report
        (dt.datetime(2026, 11, 30, 13, 30, tzinfo=UTC), dt.date(2026, 11, 27)),  # Monday: Friday's
        (dt.datetime(2026, 7, 7, 12, 30, tzinfo=UTC), dt.date(2026, 7, 6)),  # summer time: 08:30 New York is 12:30 UTC
        (dt.datetime(2026, 11, 24, 3, 0, tzinfo=UTC), dt.date(2026, 11, 20)),  # 22:00 Monday in New York: still Monday's date
    ],
)
def test_the_report_due_is_the_previous_weekdays(now: dt.datetime, due: dt.date) -> None:
    assert business_date_due(now) == due


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        s3, sqs, sns = boto3.client("s3"), boto3.client("sqs"), boto3.client("sns")
        for bucket in ("risk-in", "risk-out"):
            s3.create_bucket(Bucket=bucket)
        topic = sns.create_topic(Name="alerts")["TopicArn"]
        inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
        settings = {
            "OUTPUT_BUCKET": "risk-out",
            "INPUT_BUCKET": "risk-in",
            "INPUT_PREFIX": "incoming/",
            "RISK_WORK_QUEUE_URL": sqs.create_queue(QueueName="work")["QueueUrl"],
            "REPORT_QUEUE_URL": sqs.create_queue(QueueName="report")["QueueUrl"],
            "ALERT_TOPIC_ARN": topic,
            "RISKBATCH_ENVIRONMENT": "test",
        }
        yield s3, sqs, sns, settings, inbox


def _alerts(sqs, inbox: str) -> list[dict]:
    messages = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


DATE = dt.date(2026, 11, 25)


def test_each_stage_of_a_night_is_named(account) -> None:
    s3, sqs, sns, settings, inbox = account
    assert check_deadline(s3, sqs, sns, settings, DATE)[1].stage() == "no input file has arrived"
    s3.put_object(Bucket="risk-in", Key="incoming/2026-11-25/positions.csv", Body=b"x")
    s3.put_object(Bucket="risk-out", Key="quarantine/2026-11-25/positions.csv.abc.errors.json", Body=b"{}")
    assert check_deadline(s3, sqs, sns, settings, DATE)[1].stage() == "the files arrived but no run was made (a file was rejected)"
    manifest = {"run_id": "2026-11-25-r1", "created_at": "2026-11-26T01:00:00Z", "units": [{"index": 0}, {"index": 1}, {"index": 2}]}
    s3.put_object(Bucket="risk-out", Key="runs/2026-11-25-r1/manifest.json", Body=json.dumps(manifest).encode())
    s3.put_object(Bucket="risk-out", Key="runs/2026-11-25-r1/results/00000.npz", Body=b"x")
    code, progress = check_deadline(s3, sqs, sns, settings, DATE)
    assert code == 1 and progress.stage() == "risk calculation: 1 of 3 units done"
    for unit in (1, 2):
        s3.put_object(Bucket="risk-out", Key=f"runs/2026-11-25-r1/results/0000{unit}.npz", Body=b"x")
    assert check_deadline(s3, sqs, sns, settings, DATE)[1].stage() == "every unit is done but the run's completion was not announced"
    s3.put_object(Bucket="risk-out", Key="runs/2026-11-25-r1/status/announced.json", Body=b"{}")
    assert check_deadline(s3, sqs, sns, settings, DATE)[1].stage() == "the run is complete; the report has not been written"
    alerts = _alerts(sqs, inbox)
    assert len(alerts) == 5 and all(alert["Subject"] == "Risk batch test: no report for 2026-11-25 before 09:30 New York" for alert in alerts)
    assert any("units done: 1 of 3" in alert["Message"] for alert in alerts)


def test_the_check_is_quiet_when_the_report_is_published(account) -> None:
    s3, sqs, sns, settings, inbox = account
    s3.put_object(Bucket="risk-out", Key="reports/2026-11-25/2026-11-25-r1.pdf", Body=b"%PDF")
    code, progress = check_deadline(s3, sqs, sns, settings, DATE)
    assert code == 0 and progress.report == "reports/2026-11-25/2026-11-25-r1.pdf" and _alerts(sqs, inbox) == []
    # another date's report does not count
    assert check_deadline(s3, sqs, sns, settings, dt.date(2026, 11, 27))[0] == 1


def test_a_report_of_no_figure_pages_as_a_missing_one(account) -> None:
    """Every position refused: the report is in, but the firm has no VaR for the date, so somebody is paged."""
    s3, sqs, sns, settings, inbox = account
    s3.put_object(Bucket="risk-out", Key="reports/2026-11-25/2026-11-25-r1.pdf", Body=b"%PDF")
    # read from the run's manifest: the check's role may read runs/*/manifest.json, not history/ (TapStack.json's
    # DeadlineCheckTaskRole; "Actions, resources, and condition keys for Amazon S3", s3:prefix,
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html)
    manifest = {"run_id": "2026-11-25-r1", "business_date": "2026-11-25", "created_at": "2026-11-25T05:00:00Z", "positions": 0, "units": [{"index": 0}]}
    s3.put_object(Bucket="risk-out", Key="runs/2026-11-25-r1/manifest.json", Body=json.dumps(manifest).encode())
    code, progress = check_deadline(s3, sqs, sns, settings, DATE)
    assert code == 1 and progress.stage().startswith("the report is published with NO FIGURE: run 2026-11-25-r1 refused every position")
    (alert,) = _alerts(sqs, inbox)
    assert alert["Subject"] == "Risk batch test: NO FIGURE for 2026-11-25 (every position refused)" and "has NO FIGURE" in alert["Message"]


# The NYSE's full-day closures, from the calendar the risk model uses (riskbatch.inputs.business_days:
# holidays.financial_holidays("NYSE"), https://pypi.org/project/holidays/0.19/).
CLOSED_WEEKDAYS = [dt.date(2026, 11, 26), dt.date(2026, 4, 3), dt.date(2026, 12, 25), dt.date(2026, 1, 19)]  # Thanksgiving, Good Friday, Christmas, MLK Day


def _new_york_morning(day: dt.date) -> dt.datetime:
    """The schedule's 08:30 in New York (its cron runs in America/New_York)."""
    return dt.datetime.combine(day, dt.time(8, 30), ZoneInfo("America/New_York"))


@pytest.mark.parametrize("closed", CLOSED_WEEKDAYS, ids=str)
def test_no_page_on_a_weekday_the_exchange_does_not_open(account, closed: dt.date) -> None:
    """The schedule fires Monday to Friday; the job decides by the exchange calendar. On a closed weekday no
    market opens, so no report is due that morning, even with nothing of the night before in the bucket.
    A Scheduler cron has minute, hour, day-of-month, month, day-of-week and year fields in a time zone, and
    no calendar of holidays (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html)."""
    s3, sqs, sns, settings, inbox = account
    code, progress = check_deadline(s3, sqs, sns, settings, None, now=_new_york_morning(closed))
    assert code == 0 and _alerts(sqs, inbox) == []
    assert progress.stage().startswith(f"the NYSE does not open on {closed}") and "is due at the next open" in progress.stage()


def test_the_morning_after_thanksgiving_wants_wednesdays_report_and_never_thursdays(account) -> None:
    s3, sqs, sns, settings, inbox = account
    s3.put_object(Bucket="risk-out", Key="reports/2026-11-25/2026-11-25-r1.pdf", Body=b"%PDF")  # no night, no report for Thanksgiving
    code, progress = check_deadline(s3, sqs, sns, settings, None, now=_new_york_morning(dt.date(2026, 11, 27)))
    assert (code, progress.business_date, progress.report) == (0, "2026-11-25", "reports/2026-11-25/2026-11-25-r1.pdf") and _alerts(sqs, inbox) == []


@pytest.mark.parametrize("day", [*CLOSED_WEEKDAYS, dt.date(2026, 11, 28)], ids=str)
def test_a_date_that_is_not_a_business_day_is_never_paged_for(account, day: dt.date) -> None:
    s3, sqs, sns, settings, inbox = account
    code, progress = check_deadline(s3, sqs, sns, settings, day, now=_new_york_morning(dt.date(2026, 12, 1)))
    assert code == 0 and _alerts(sqs, inbox) == [] and progress.stage() == f"{day} is not an NYSE business day: no night, no report is due"


@pytest.mark.parametrize(
    ("morning", "due"), [(dt.date(2026, 12, 1), "2026-11-30"), (dt.date(2026, 1, 20), "2026-01-16"), (dt.date(2026, 11, 30), "2026-11-27")]
)
def test_a_business_morning_without_the_report_still_pages(account, morning: dt.date, due: str) -> None:
    """Tuesday wants Monday's report; the day after MLK Day Friday's; Monday the Friday after Thanksgiving's."""
    s3, sqs, sns, settings, inbox = account
    code, progress = check_deadline(s3, sqs, sns, settings, None, now=_new_york_morning(morning))
    (alert,) = _alerts(sqs, inbox)
    assert code == 1 and progress.business_date == due and alert["Subject"] == f"Risk batch test: no report for {due} before 09:30 New York"


def _one_shot_cluster(ecs) -> tuple[str, dict[str, str]]:
    """A cluster with one running task of each one-shot family (and of the deadline check itself)."""
    cluster = ecs.create_cluster(clusterName="cluster-riskbatch-test")["cluster"]["clusterArn"]
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    network = {
        "awsvpcConfiguration": {
            "subnets": [ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]],
            "securityGroups": [ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)["GroupId"]],
        }
    }
    tasks = {}
    for family in ("task-data-ingestion-test", "task-pre-night-check-test", "task-deadline-check-test"):
        container = {"name": "job", "image": "job:1", "essential": True, "memory": 512}
        ecs.register_task_definition(
            family=family, requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256", memory="512", containerDefinitions=[container]
        )
        run = ecs.run_task(cluster=cluster, taskDefinition=family, launchType="FARGATE", networkConfiguration=network)
        tasks[family] = run["tasks"][0]["taskArn"]
    return cluster, tasks


@pytest.fixture
def ecs_with_tasks():
    from riskbatch_platform.local.emulator.ec2 import network_interfaces_have_a_private_dns_name
    from riskbatch_platform.local.emulator.ecs import ecs_tasks_carry_their_start_time
    from riskbatch_platform.local.emulator.patching import Patcher

    patcher = Patcher()
    network_interfaces_have_a_private_dns_name(patcher)  # moto's RunTask of an awsvpc task needs it
    ecs_tasks_carry_their_start_time(patcher)  # and its tasks carry no startedAt
    try:
        ecs = boto3.client("ecs")
        yield (ecs, *_one_shot_cluster(ecs))
    finally:
        patcher.undo()


def _running(ecs, cluster: str) -> set[str]:
    return set(ecs.list_tasks(cluster=cluster, desiredStatus="RUNNING")["taskArns"])


def test_the_check_stops_one_shot_tasks_that_outlived_their_deadline_and_says_so(account, ecs_with_tasks) -> None:
    """ECS acts on container health only for a service's tasks: "If a task is run manually, and not as part of a
    service, the task will continue its lifecycle regardless of its health status"
    (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html)."""
    s3, sqs, sns, settings, inbox = account
    ecs, cluster, tasks = ecs_with_tasks
    settings = {**settings, "CLUSTER": cluster, "ONE_SHOT_DEADLINES": "task-data-ingestion-test=1800,task-pre-night-check-test=900"}
    started = ecs.describe_tasks(cluster=cluster, tasks=[tasks["task-data-ingestion-test"]])["tasks"][0]["createdAt"]
    # 20 minutes in: the pre-night check is overdue, the ingestion is not; the deadline check never stops itself
    code, progress = check_deadline(s3, sqs, sns, settings, DATE, ecs=ecs, now=started + dt.timedelta(minutes=20))
    assert [task["task"] for task in progress.stopped_tasks] == [tasks["task-pre-night-check-test"]]
    assert _running(ecs, cluster) == {tasks["task-data-ingestion-test"], tasks["task-deadline-check-test"]}
    (stopped,) = ecs.describe_tasks(cluster=cluster, tasks=[tasks["task-pre-night-check-test"]])["tasks"]
    assert stopped["stoppedReason"].startswith("deadline check: task-pre-night-check-test ran 20 min, past its 15 min deadline")
    assert code == 1 and tasks["task-pre-night-check-test"] in _alerts(sqs, inbox)[0]["Message"]  # the alert names it
    check_deadline(s3, sqs, sns, settings, DATE, ecs=ecs, now=started + dt.timedelta(minutes=31))
    assert _running(ecs, cluster) == {tasks["task-deadline-check-test"]}


def test_without_a_cluster_or_families_nothing_is_stopped(account, ecs_with_tasks) -> None:
    s3, sqs, sns, settings, _ = account
    ecs, cluster, tasks = ecs_with_tasks
    later = dt.datetime.now(UTC) + dt.timedelta(days=1)
    assert check_deadline(s3, sqs, sns, {**settings, "ONE_SHOT_DEADLINES": "task-data-ingestion-test=1"}, DATE, ecs=ecs, now=later)[1].stopped_tasks == []
    assert check_deadline(s3, sqs, sns, {**settings, "CLUSTER": cluster}, DATE, ecs=ecs, now=later)[1].stopped_tasks == []
    assert _running(ecs, cluster) == set(tasks.values())


def test_a_failure_to_stop_tasks_does_not_silence_the_alert(account, ecs_with_tasks) -> None:
    s3, sqs, sns, settings, inbox = account
    ecs, _, _ = ecs_with_tasks
    settings = {**settings, "CLUSTER": "cluster-that-is-not-there", "ONE_SHOT_DEADLINES": "task-data-ingestion-test=1"}
    code, progress = check_deadline(s3, sqs, sns, settings, DATE, ecs=ecs)
    assert code == 1 and "could not list or stop the overdue tasks: ClusterNotFoundException" in progress.stopped_tasks[0]["reason"]
    assert "could not list or stop the overdue tasks" in _alerts(sqs, inbox)[0]["Message"]


@pytest.mark.process
@pytest.mark.parametrize("published", [True, False], ids=["report published", "report missing"])
@pytest.mark.parametrize("business_date", [DATE, dt.date(2026, 11, 26)], ids=["business day", "Thanksgiving"])
def test_overdue_tasks_are_stopped_whether_or_not_the_report_is_there_holidays_included(
    account, ecs_with_tasks, published: bool, business_date: dt.date
) -> None:
    """A hung one-shot task costs money and holds an address whatever the night's outcome: the check stops it
    before it asks whether a report is due, on a morning with nothing due too."""
    s3, sqs, sns, settings, _ = account
    ecs, cluster, tasks = ecs_with_tasks
    if published:
        s3.put_object(Bucket="risk-out", Key=f"reports/{business_date}/{business_date}-r1.pdf", Body=b"%PDF")
    settings = {**settings, "CLUSTER": cluster, "ONE_SHOT_DEADLINES": "task-data-ingestion-test=1800,task-pre-night-check-test=900"}
    started = ecs.describe_tasks(cluster=cluster, tasks=[tasks["task-data-ingestion-test"]])["tasks"][0]["createdAt"]
    _, progress = check_deadline(s3, sqs, sns, settings, business_date, ecs=ecs, now=started + dt.timedelta(minutes=31))
    assert sorted(task["task"] for task in progress.stopped_tasks) == sorted([tasks["task-data-ingestion-test"], tasks["task-pre-night-check-test"]])
    assert _running(ecs, cluster) == {tasks["task-deadline-check-test"]}


def _night_published(s3, corporate_actions_source: dict | None) -> None:
    """Monday 2026-11-25's files landed at 00:30, its run made at 01:00 (reading `corporate_actions_source`), its report at 03:00 UTC."""
    with time_machine.travel(dt.datetime(2026, 11, 26, 0, 30, tzinfo=UTC), tick=False):
        for name in ("positions.csv", "market.csv"):
            s3.put_object(Bucket="risk-in", Key=f"incoming/2026-11-25/{name}", Body=b"x")
    manifest = {"run_id": "2026-11-25-r1", "created_at": "2026-11-26T01:00:00Z", "units": [{"index": 0}], "corporate_actions_source": corporate_actions_source}
    s3.put_object(Bucket="risk-out", Key="runs/2026-11-25-r1/manifest.json", Body=json.dumps(manifest).encode())
    s3.put_object(Bucket="risk-out", Key="reports/2026-11-25/2026-11-25-r1.pdf", Body=b"%PDF")


def _land_corporate_actions(s3, at: dt.datetime, body: bytes = b"factor,effective_date,ratio,source\n") -> None:
    # ListObjectsV2 gives each object's LastModified, the time its last PUT created it: "Creation date of the object"
    # (Amazon S3 Object, lastModified: https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/s3/aws.sdk.kotlin.services.s3.model/-object/-builder/last-modified.html)
    with time_machine.travel(at, tick=False):
        s3.put_object(Bucket="risk-in", Key="incoming/2026-11-25/corporate_actions.csv", Body=body)


def test_a_corporate_actions_file_landed_after_the_night_read_its_inputs_is_named_and_alerted(account) -> None:
    # before: the night ran without it and nothing said so; its arrival alone starts no run
    s3, sqs, sns, settings, inbox = account
    _night_published(s3, None)
    _land_corporate_actions(s3, dt.datetime(2026, 11, 26, 2, 0, tzinfo=UTC))
    code, progress = check_deadline(s3, sqs, sns, settings, DATE)
    (late,) = progress.late_inputs
    assert late.startswith("corporate_actions.csv landed 2026-11-26 02:00:00 UTC, after the night read its inputs")
    assert "(run 2026-11-25-r1, made 2026-11-26T01:00:00Z)" in late
    assert late.endswith('not applied; rerun with `riskbatch rerun --stack-name <stack> --date 2026-11-25 --reason "..."`')
    (alert,) = _alerts(sqs, inbox)
    assert code == 0 and alert["Subject"] == "Risk batch test: 2026-11-25 published without a file that landed late" and late in alert["Message"]


def test_a_corporate_actions_file_the_night_read_is_not_late_and_one_replaced_after_it_is(account) -> None:
    s3, sqs, sns, settings, inbox = account
    _land_corporate_actions(s3, dt.datetime(2026, 11, 26, 0, 20, tzinfo=UTC))
    _night_published(s3, {"uri": "s3://risk-in/incoming/2026-11-25/corporate_actions.csv", "sha256": "ab"})
    code, progress = check_deadline(s3, sqs, sns, settings, DATE)
    assert (code, progress.late_inputs, _alerts(sqs, inbox)) == (0, [], [])
    _land_corporate_actions(s3, dt.datetime(2026, 11, 26, 1, 30, tzinfo=UTC))  # a corrected file, after the run was made
    s3.delete_object(Bucket="risk-out", Key="reports/2026-11-25/2026-11-25-r1.pdf")  # and no report yet: the page names it
    code, progress = check_deadline(s3, sqs, sns, settings, DATE)
    (alert,) = _alerts(sqs, inbox)
    assert code == 1 and progress.late_inputs[0].startswith("corporate_actions.csv landed 2026-11-26 01:30:00 UTC")
    assert f"- landed late: {progress.late_inputs[0]}" in alert["Message"]


ORIGINAL = b"factor,effective_date,ratio,source\nEQ_1,2026-11-25,2,exchange notice\n"


def _read_by_ingestion(s3) -> dict:
    """The corporate_actions_source ingestion records of the file it reads: its checksum, version and the ETag GetObject served."""
    data, version, etag = get_read(s3, "risk-in", "incoming/2026-11-25/corporate_actions.csv")
    return {"uri": "s3://risk-in/incoming/2026-11-25/corporate_actions.csv", "sha256": hashlib.sha256(data).hexdigest(), "version_id": version, "etag": etag}


# ListObjectsV2 lists each object's ETag, "a hash of the object", which "reflects changes only to the contents of an object"
# (Object, Amazon S3 API Reference: https://docs.aws.amazon.com/AmazonS3/latest/API/API_Object.html); GetObject serves the same
# ETag of the object it returns (Common Response Headers: https://docs.aws.amazon.com/AmazonS3/latest/API/RESTCommonResponseHeaders.html).
def test_a_corrected_corporate_actions_file_landed_between_the_read_and_the_manifest_is_late(account) -> None:
    # before: the run was made (01:00) after the corrected file landed (00:50), so it counted as read, though the night read the old bytes at 00:40
    s3, sqs, sns, settings, inbox = account
    _land_corporate_actions(s3, dt.datetime(2026, 11, 26, 0, 20, tzinfo=UTC), ORIGINAL)
    read = _read_by_ingestion(s3)
    _land_corporate_actions(s3, dt.datetime(2026, 11, 26, 0, 50, tzinfo=UTC), ORIGINAL.replace(b",2,", b",3,"))
    _night_published(s3, read)
    code, progress = check_deadline(s3, sqs, sns, settings, DATE)
    (late,) = progress.late_inputs
    assert late.startswith("corporate_actions.csv landed 2026-11-26 00:50:00 UTC, after the night read its inputs (run 2026-11-25-r1")
    assert f"the night read the file it replaced (sha256 {read['sha256'][:12]}): not applied; rerun with" in late
    (alert,) = _alerts(sqs, inbox)
    assert code == 0 and late in alert["Message"]


def test_the_corporate_actions_file_the_night_read_landed_again_unchanged_is_not_late(account) -> None:
    # before: the same bytes landed again after the run was made counted as a corrected file
    s3, sqs, sns, settings, inbox = account
    _land_corporate_actions(s3, dt.datetime(2026, 11, 26, 0, 20, tzinfo=UTC), ORIGINAL)
    _night_published(s3, _read_by_ingestion(s3))
    _land_corporate_actions(s3, dt.datetime(2026, 11, 26, 1, 30, tzinfo=UTC), ORIGINAL)  # the vendor sends it again, unchanged
    code, progress = check_deadline(s3, sqs, sns, settings, DATE)
    assert (code, progress.late_inputs, _alerts(sqs, inbox)) == (0, [], [])

"""The operator's commands against the deployed stack, called as an IAM user that holds only the
actions the runbook lists for them (the emulator enforces IAM): `riskbatch rerun` backfills a date
from the files in S3, twice, and one report is published; `riskbatch status` reads the night with
reads alone, and names a failed task with its stop reason from the task events log group.

ECS RunTask reports a task it could not place in `failures`
(https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html); ECS lists stopped tasks for
about an hour (https://awscli.amazonaws.com/v2/documentation/api/2.0.33/reference/ecs/list-tasks.html), so
the night's failures come from the "ECS Task State Change" events the stack's rule writes to its log group.

Against a live stack the three run by opt-in (RISKBATCH_EXERCISE_STACK=1, never against a production
stack), with the suite's own credentials: they write their own business dates (2026-12-14, 2026-12-15)
into the stack's buckets, publish their reports to its topic's subscribers, and start an ingestion that fails.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from riskbatch.aws.layout import report_keys
from riskbatch.aws.storage import list_keys
from riskbatch.cli import main
from riskbatch.inputs.business_days import NEW_YORK, next_business_day, previous_business_day, report_due_at
from riskbatch.inputs.sample import SampleSpec, write_sample
from riskbatch.operations.rerun import RERUN_ACTIONS, STARTED_BY
from riskbatch.operations.stack_lookup import session as operator_session
from riskbatch.operations.status import READ_CALLS, STATUS_ACTIONS, as_text, failed_tasks_logged, read_status
from riskbatch_platform.deployment.stack import physical_ids
from riskbatch_platform.local.containers import task_state_change
from riskbatch_platform.local.night import land_files, read_mailbox, run_services, upload_night
from test.integration.conftest import DeployedStack, alert_inbox, deployed_parameters, run_task, start_task

BACKFILL_DATE = "2026-12-14"  # no other test of the suite runs this date


def _operator(stack: DeployedStack, name: str, actions: tuple[str, ...]) -> dict[str, str]:
    """An IAM user allowed the given actions and nothing else: the operator's laptop credentials."""
    iam = stack.target.client("iam")
    iam.create_user(UserName=name)
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}
    iam.put_user_policy(UserName=name, PolicyName="operator", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def _laptop(monkeypatch: pytest.MonkeyPatch, stack: DeployedStack, keys: dict[str, str]) -> None:
    """The operator's environment: their keys, a region, the endpoint (the emulator); no task environment."""
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "OUTPUT_BUCKET", "INPUT_BUCKET", "RISK_WORK_QUEUE_URL", "ALERT_TOPIC_ARN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {**keys, "AWS_REGION": stack.target.region, "AWS_ENDPOINT_URL": stack.target.endpoint_url or ""}.items():
        monkeypatch.setenv(name, value)


def _run_started_tasks(stack: DeployedStack) -> list[int]:
    """What ECS does with the tasks the rerun started: each runs its overridden command under the task's role."""
    ecs = stack.target.client("ecs")
    arns = ecs.list_tasks(cluster=stack.ecs.cluster_arn, startedBy=STARTED_BY, desiredStatus="RUNNING")["taskArns"]
    codes = []
    for task in ecs.describe_tasks(cluster=stack.ecs.cluster_arn, tasks=arns)["tasks"] if arns else []:
        spec = stack.ecs.task_spec(task["taskDefinitionArn"])
        handle = stack.ecs.start(spec, task["overrides"], name=f"{spec.family}-rerun-{len(stack.ecs.tasks_run)}", task_arn=task["taskArn"])
        codes.append(handle.wait(timeout=600))
        ecs.stop_task(cluster=stack.ecs.cluster_arn, task=task["taskArn"], reason="Essential container in task exited")
    return codes


def _finish(stack: DeployedStack) -> None:
    run_services(stack.ecs, "RiskCalculationService", 2, idle_exit=3, say=lambda line: None)
    run_services(stack.ecs, "ReportGenerationService", 1, idle_exit=3, say=lambda line: None)


@pytest.mark.live_exercise
def test_a_backfill_rerun_twice_publishes_one_report_and_status_reads_it(stack: DeployedStack, tmp_path: Path, monkeypatch, capsys) -> None:
    positions, _ = write_sample(tmp_path, SampleSpec(positions=300, factors=40, days=260, portfolios=3, business_date=dt.date.fromisoformat(BACKFILL_DATE)))
    if not stack.is_local:
        _backfill_a_live_stack_twice(stack, positions.parent)
        return
    upload_night(stack.local, positions.parent, BACKFILL_DATE)  # landed, but no event reached the rule: the night never ran
    read_mailbox(stack.local)  # what earlier tests left
    _laptop(monkeypatch, stack, _operator(stack, "ops-rerun", RERUN_ACTIONS + STATUS_ACTIONS))
    for _ in range(2):
        assert main(["rerun", "--stack-name", stack.stack_name, "--date", BACKFILL_DATE]) == 0
        assert _run_started_tasks(stack) == [0]
        _finish(stack)
    output = stack.local.stand_ins.output_bucket
    s3 = stack.target.client("s3")
    pdfs = [key for key in list_keys(s3, output, f"reports/{BACKFILL_DATE}/") if key.endswith(".pdf")]
    assert len(pdfs) == 1, pdfs
    run = pdfs[0].rsplit("/", 1)[-1].removesuffix(".pdf")
    published = [note for note in read_mailbox(stack.local) if str(note["subject"]).startswith(f"Risk report {BACKFILL_DATE}")]
    assert len(published) == 1 and run in published[0]["message"]
    logs = [Path(task["log"]).read_text(encoding="utf-8") for task in stack.ecs.tasks_run if "-rerun-" in task["name"]][-2:]
    assert '"status": "queued"' in logs[0] and '"status": "duplicate"' in logs[1]

    session, calls = operator_session(None, None), []  # as the command makes it: the region from AWS_REGION
    session.events.register("before-call", lambda model, **_: calls.append(model.name))
    status = read_status(session.client, stack.stack_name, dt.date.fromisoformat(BACKFILL_DATE))
    assert calls and set(calls) <= READ_CALLS, sorted(set(calls) - READ_CALLS)
    assert status.stage == "the report is published" and status.run == run and status.report["key"] == report_keys(BACKFILL_DATE, run)[0]
    assert [entry["run_id"] for entry in status.runs] == [run] and status.runs[0]["in_force"] and status.history["run_id"] == run
    assert status.units["done"] == status.units["total"] > 0
    print(as_text(status))  # shown with -s: the runbook's sample


def _land(stack: DeployedStack, folder: Path, date: str) -> None:
    """The date's files where they arrive in the live stack's input bucket (the reference files first, as upload_night)."""
    parameters = deployed_parameters(stack)
    bucket, prefix, s3 = parameters["InputBucketName"], parameters.get("InputKeyPrefix") or "incoming/", stack.target.client("s3")
    for name in ("limits.csv", "stress_market.csv"):
        if (folder / name).exists():
            land_files(s3, bucket, folder, date, (name,), prefix=prefix)
    land_files(s3, bucket, folder, date, prefix=prefix)


def _work_the_queues(stack: DeployedStack) -> None:
    """One risk worker, then one report worker, started with RunTask, each until its queue has been idle 5 s: what the
    services do in an account (their own tasks may take the work as well; each unit and report is written once)."""
    ids, ecs = physical_ids(stack.target.client("cloudformation"), stack.stack_name), stack.target.client("ecs")
    for logical_id in ("RiskCalculationTaskDefinition", "ReportGenerationTaskDefinition"):
        definition = ids[logical_id][1]
        command = ecs.describe_task_definition(taskDefinition=definition)["taskDefinition"]["containerDefinitions"][0]["command"]
        run_task(stack, definition, [*command, "--wait", "1", "--idle-exit", "5"], timeout_seconds=1200)


def _rerun_and_work_the_queues(stack: DeployedStack, date: str) -> None:
    assert main(["rerun", "--stack-name", stack.stack_name, "--date", date, "--wait", "900"]) == 0
    _work_the_queues(stack)


def _backfill_a_live_stack_twice(stack: DeployedStack, folder: Path) -> None:
    """Against a live stack, with the suite's own credentials (an IAM user of its own would change the account):
    the files land (in an account EventBridge starts the ingestion at once), riskbatch rerun twice, each time the
    queues worked off; one report, one notification, and status reads it. The date's files and outputs stay."""
    output, s3 = deployed_parameters(stack)["OutputBucketName"], stack.target.client("s3")
    with alert_inbox(stack) as inbox:
        _land(stack, folder, BACKFILL_DATE)
        for _ in range(2):
            _rerun_and_work_the_queues(stack, BACKFILL_DATE)
        published = inbox.wait_for(f"Risk report {BACKFILL_DATE}", seconds=120)
        published += inbox.wait_for(f"Risk report {BACKFILL_DATE}", seconds=5)  # a second one, had it been sent
    pdfs = [key for key in list_keys(s3, output, f"reports/{BACKFILL_DATE}/") if key.endswith(".pdf")]
    assert len(pdfs) == 1, pdfs
    run = pdfs[0].rsplit("/", 1)[-1].removesuffix(".pdf")
    assert len(published) == 1 and run in published[0]["message"], published
    session, calls = stack.target.session(), []
    session.events.register("before-call", lambda model, **_: calls.append(model.name))
    status = read_status(
        lambda service: session.client(service, endpoint_url=stack.target.endpoint_url), stack.stack_name, dt.date.fromisoformat(BACKFILL_DATE)
    )
    assert calls and set(calls) <= READ_CALLS, sorted(set(calls) - READ_CALLS)
    assert status.stage == "the report is published" and status.run == run and status.report["key"] == report_keys(BACKFILL_DATE, run)[0]
    assert [entry["run_id"] for entry in status.runs] == [run] and status.history["run_id"] == run
    assert status.units["done"] == status.units["total"] > 0


def _night_of(now: dt.datetime) -> dt.date:
    """The business date whose night holds `now`: from its previous business day's deadline to its own."""
    date = previous_business_day(now.astimezone(NEW_YORK).date())
    while report_due_at(date) <= now:
        date = next_business_day(date)
    return date


@pytest.mark.live_exercise
def test_status_names_a_failed_task_of_the_night_from_the_task_events_log(stack: DeployedStack, monkeypatch) -> None:
    """The ingestion's rejected file (exit code 2) as ECS reports the stopped task: its state change event, on
    the default bus, which the stack's rule writes to the task events log group. Against a live stack the task
    is real: the stack's ingestion started with no file to read (its arguments refused, exit code 2)."""
    if not stack.is_local:
        _a_failed_task_of_the_live_stack_is_in_the_task_events_log(stack)
        return
    now = dt.datetime.now(dt.UTC)
    date = _night_of(now)
    definition = stack.ecs.physical("DataIngestionTaskDefinition")
    task = f"arn:aws:ecs:{stack.target.region}:{stack.ecs.account}:task/local/operatortest{int(time.time())}"  # a local task: none in the emulator to stop
    event: dict[str, Any] = task_state_change(
        task_arn=task, cluster_arn=stack.ecs.cluster_arn, task_definition_arn=definition, container="data-ingestion", group="family:task-data-ingestion",
        exit_code=2, stop_code="EssentialContainerExited", stopped_reason="Essential container in task exited", container_reason=None,
        image="data-ingestion:1.0.0", image_digest="sha256:" + "0" * 64, started=time.time() - 60, stopped=time.time(),
    )  # fmt: skip
    stack.ecs.send_task_stopped(event)
    _laptop(monkeypatch, stack, _operator(stack, "ops-status", STATUS_ACTIONS))
    session, calls = operator_session(None, None), []  # as the command makes it: the region from AWS_REGION
    session.events.register("before-call", lambda model, **_: calls.append(model.name))
    status = read_status(session.client, stack.stack_name, date)
    assert set(calls) <= READ_CALLS and "FilterLogEvents" in calls
    (failed,) = [entry for entry in status.failed_tasks if entry["task"] == task]
    assert failed["stopped_reason"] == "Essential container in task exited" and failed["containers"][0]["exit_code"] == 2
    assert failed["source"] == "task events log" and failed["family"] == definition.rsplit("/", 1)[-1].rsplit(":", 1)[0]


def _a_failed_task_of_the_live_stack_is_in_the_task_events_log(stack: DeployedStack) -> None:
    """ECS sends the stopped task's "ECS Task State Change" event to the default bus ("Amazon ECS events":
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_cwe_events.html); delivery to the log group takes seconds."""
    ecs, cluster = stack.target.client("ecs"), stack.outputs["ClusterArn"]
    ids = physical_ids(stack.target.client("cloudformation"), stack.stack_name)
    definition = ids["DataIngestionTaskDefinition"][1]
    family = ecs.describe_task_definition(taskDefinition=definition)["taskDefinition"]["family"]
    task = start_task(stack, definition, ["ingest"])["taskArn"]  # what the rule's input transformer adds is missing: exit code 2
    ecs.get_waiter("tasks_stopped").wait(cluster=cluster, tasks=[task], WaiterConfig={"Delay": 3, "MaxAttempts": 200})
    now = dt.datetime.now(dt.UTC)
    logs, group = stack.target.client("logs"), ids["TaskEventsLogGroup"][1]
    deadline, logged = time.monotonic() + 120, []
    while not logged and time.monotonic() < deadline:
        logged = [entry for entry in failed_tasks_logged(logs, group, now - dt.timedelta(minutes=30), now + dt.timedelta(minutes=5)) if entry["task"] == task]
        time.sleep(0 if logged else 3)
    (failed,) = logged
    assert failed["stopped_reason"] == "Essential container in task exited" and failed["containers"][0]["exit_code"] == 2 and failed["family"] == family

    calls: list[str] = []  # status, with reads alone, names it for the night that holds it
    session = stack.target.session()
    session.events.register("before-call", lambda model, **_: calls.append(model.name))
    status = read_status(lambda service: session.client(service, endpoint_url=stack.target.endpoint_url), stack.stack_name, _night_of(now))
    assert set(calls) <= READ_CALLS and "FilterLogEvents" in calls, sorted(set(calls) - READ_CALLS)
    (named,) = [entry for entry in status.failed_tasks if entry["task"] == task]
    assert named["containers"][0]["exit_code"] == 2 and named["family"] == family


RESTATED_DATE = "2026-12-15"  # no other test of the suite runs this date


@pytest.mark.live_exercise
def test_corrected_files_restate_the_night_and_status_says_which_run_is_in_force(stack: DeployedStack, tmp_path: Path, monkeypatch) -> None:
    """The corrected positions file lands under the same name, after its restatement.txt, and EventBridge starts
    the ingestion as for any arrival: a new run, a second report, the history record superseded. Against a live
    stack the arrivals are followed by riskbatch rerun (the ingestion EventBridge started finds its run made) and
    the queues worked off by RunTask; the notice is read from a queue subscribed to the topic."""
    from test.jobs.jobs.test_pipeline import _page_texts

    positions, _ = write_sample(tmp_path, SampleSpec(positions=300, factors=40, days=260, portfolios=3, business_date=dt.date.fromisoformat(RESTATED_DATE)))
    parameters = deployed_parameters(stack)
    bucket, output, prefix = parameters["InputBucketName"], parameters["OutputBucketName"], parameters.get("InputKeyPrefix") or "incoming/"
    s3 = stack.target.client("s3")
    with ExitStack() as cleanup:
        inbox = None if stack.is_local else cleanup.enter_context(alert_inbox(stack))
        if stack.is_local:
            for key in upload_night(stack.local, positions.parent, RESTATED_DATE):
                stack.ecs.deliver_object_created(bucket, key)
            _finish(stack)
        else:
            _land(stack, positions.parent, RESTATED_DATE)
            _rerun_and_work_the_queues(stack, RESTATED_DATE)
        lines = positions.read_text().splitlines()
        row = next(index for index, line in enumerate(lines) if ",equity," in line)
        cells = lines[row].split(",")
        cells[4] = f"{float(cells[4]) * 3:.2f}"
        lines[row] = ",".join(cells)
        s3.put_object(Bucket=bucket, Key=f"{prefix}{RESTATED_DATE}/restatement.txt", Body=b"PF03 equity quantity corrected by the desk")
        s3.put_object(Bucket=bucket, Key=f"{prefix}{RESTATED_DATE}/positions.csv", Body=("\n".join(lines) + "\n").encode())
        if stack.is_local:
            read_mailbox(stack.local)
            assert [code for _, code in stack.ecs.deliver_object_created(bucket, f"{prefix}{RESTATED_DATE}/positions.csv")] == [0]
            _finish(stack)
            notices = read_mailbox(stack.local)
        else:
            _rerun_and_work_the_queues(stack, RESTATED_DATE)
            notices = inbox.wait_for("RESTATED Risk report", seconds=120)
    (notice,) = [note for note in notices if str(note["subject"]).startswith("RESTATED Risk report")]

    if stack.is_local:
        _laptop(monkeypatch, stack, _operator(stack, "ops-restated", STATUS_ACTIONS))
        status = read_status(operator_session(None, None).client, stack.stack_name, dt.date.fromisoformat(RESTATED_DATE))
    else:  # the suite's own credentials: an IAM user of its own would change the account
        session = stack.target.session()
        status = read_status(
            lambda service: session.client(service, endpoint_url=stack.target.endpoint_url), stack.stack_name, dt.date.fromisoformat(RESTATED_DATE)
        )
    first, second = (entry["run_id"] for entry in status.runs)
    assert [entry["in_force"] for entry in status.runs] == [False, True] and status.report["run_id"] == second
    assert status.history["restatement"]["supersedes"] == first and status.history["restatement"]["reason"] == "PF03 equity quantity corrected by the desk"
    assert f"Restated, supersedes run {first}" in json.loads(notice["message"])["restatement"]
    page_one = _page_texts(s3.get_object(Bucket=output, Key=report_keys(RESTATED_DATE, second)[0])["Body"].read())[0]
    assert f"Restated, supersedes run {first}" in page_one and "corrected by the desk" in page_one  # page one is never shrunk
    print(as_text(status))  # shown with -s
    print(page_one[:600])

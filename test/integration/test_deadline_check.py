"""The deadline check, run as EventBridge Scheduler runs it: quiet when the night's report is
published, an alert with how far the night got when it is withheld.

The schedule's RunTask goes through its own role (ecs:RunTask on this cluster, PassRole of its
two roles), and the task reads with its own least-privilege role: every call is judged by the
emulator. EventBridge Scheduler, templated ECS target:
https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-templated.html

Against a live stack the check is the stack's own scheduled task, started now for a chosen date (its
environment's WATCH_BUSINESS_DATE): quiet for the last night the stack published, an alert (exit code 1)
for a business day before its first night, when nothing arrived. Its alert goes to the topic's
subscribers, with that date in its subject. By opt-in (RISKBATCH_INJECT_FAULTS=1, never against a
production stack) the check stops a hung ingestion task the test starts.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from riskbatch.inputs.business_days import previous_business_day
from riskbatch.inputs.sample import SampleSpec, write_sample
from riskbatch.validation.history import stored_dates
from riskbatch_platform.deployment.stack import current_parameters, physical_ids
from riskbatch_platform.local.night import read_mailbox, run_services, upload_night
from test.integration.conftest import DeployedStack, run_scheduled_task, start_task

# A container that never ends by itself and has no watchdog of its own: what the deadline check is the second line for.
pytestmark = pytest.mark.nights(2)
HUNG_ENTRY_POINT = ["python", "-c", "import time; time.sleep(3600)"]
# What RegisterTaskDefinition takes back of what DescribeTaskDefinition returns (the rest is ECS's own).
REGISTERED_FIELDS = (
    "family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions", "volumes", "placementConstraints",
    "requiresCompatibilities", "cpu", "memory", "pidMode", "ipcMode", "ephemeralStorage", "runtimePlatform",
)  # fmt: skip


def _night(tmp_path: Path, date: str) -> Path:
    positions, _ = write_sample(tmp_path, SampleSpec(positions=300, factors=40, days=260, portfolios=3, business_date=dt.date.fromisoformat(date)))
    return positions.parent


def _finish(stack: DeployedStack) -> None:
    run_services(stack.ecs, "RiskCalculationService", 2, idle_exit=3, say=lambda line: None)
    run_services(stack.ecs, "ReportGenerationService", 1, idle_exit=3, say=lambda line: None)


def _check(stack: DeployedStack, date: str) -> tuple[int, list[dict]]:
    read_mailbox(stack.local)  # what earlier tests left
    stack.ecs.environment_overrides["WATCH_BUSINESS_DATE"] = date
    try:
        _, code = stack.ecs.run_schedule("DeadlineCheckSchedule", name=f"deadline-check-{date}")
    finally:
        del stack.ecs.environment_overrides["WATCH_BUSINESS_DATE"]
    return code, [note for note in read_mailbox(stack.local) if "no report for" in str(note["subject"])]


def _published_nights(stack: DeployedStack) -> list[str]:
    """The business dates of the stack's nights with a record in force (history/), oldest first."""
    output = current_parameters(stack.target.client("cloudformation"), stack.stack_name)["OutputBucketName"]
    dates = stored_dates(stack.target.client("s3"), output)
    assert dates, "the stack has published no night yet: run the live suite after its first night"
    return dates


def test_the_deadline_check_is_quiet_when_the_report_is_published(stack: DeployedStack, tmp_path: Path) -> None:
    if not stack.is_local:
        assert run_scheduled_task(stack, "DeadlineCheckSchedule", {"WATCH_BUSINESS_DATE": _published_nights(stack)[-1]}) == 0
        return
    date = "2026-12-07"
    for key in upload_night(stack.local, _night(tmp_path, date), date):
        stack.ecs.deliver_object_created(stack.local.stand_ins.input_bucket, key)
    _finish(stack)
    code, alerts = _check(stack, date)
    assert code == 0 and alerts == [], Path(stack.ecs.tasks_run[-1]["log"]).read_text(encoding="utf-8")[-2000:]


def test_the_deadline_check_alerts_with_the_nights_progress_when_the_report_is_withheld(stack: DeployedStack, tmp_path: Path) -> None:
    if not stack.is_local:  # the night's progress is in the alert's mail; its exit code says it alerted
        before_the_first = previous_business_day(dt.date.fromisoformat(_published_nights(stack)[0])).isoformat()
        assert run_scheduled_task(stack, "DeadlineCheckSchedule", {"WATCH_BUSINESS_DATE": before_the_first}) == 1
        return
    date = "2026-12-08"
    for key in upload_night(stack.local, _night(tmp_path, date), date):
        stack.ecs.deliver_object_created(stack.local.stand_ins.input_bucket, key)
    # ingested, but no risk worker ran: the report is withheld
    try:
        code, (alert,) = _check(stack, date)
    finally:  # finish the night, so that the next tests find the queues empty
        _finish(stack)
    assert code == 1
    assert alert["subject"] == f"Risk batch itest: no report for {date} before 09:30 New York"
    assert "The night stopped at: risk calculation: 0 of 1 units done." in alert["message"]
    assert "- input files: limits.csv, market.csv, positions.csv" in alert["message"]
    assert re.search(r"risk_work_queue: [1-9][0-9]* waiting", alert["message"]), alert["message"]
    # nothing arrived at all for another date
    code, (nothing,) = _check(stack, "2026-12-09")
    assert code == 1 and "The night stopped at: no input file has arrived." in nothing["message"]


def _hung_revision(ecs: Any, definition_arn: str) -> str:
    """The stack's ingestion task definition registered again, its container's entry point a sleep: a new
    revision of the same family. A RunTask override cannot do this: ContainerOverride carries a command,
    not an entry point (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerOverride.html),
    and the image's ENTRYPOINT is riskbatch."""
    described = ecs.describe_task_definition(taskDefinition=definition_arn)["taskDefinition"]
    registration = {key: described[key] for key in REGISTERED_FIELDS if described.get(key)}
    registration["containerDefinitions"] = [{**described["containerDefinitions"][0], "entryPoint": HUNG_ENTRY_POINT, "command": []}]
    return ecs.register_task_definition(**registration)["taskDefinition"]["taskDefinitionArn"]


def _a_hung_ingestion_of_the_live_stack_is_stopped(stack: DeployedStack) -> None:
    """An ingestion task of the stack's own family that will not end (a sleep for its entry point, started with
    RunTask beside the stack's tasks) is stopped by the stack's deadline check, run as its schedule runs it, its
    deadline for that family overridden to 0 s (a RunTask environment override): StopTask with the check's reason,
    which DescribeTasks then shows ("reason": https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopTask.html).
    Opt-in (it stops every ingestion task of the stack then running): outside the overnight window, never in production."""
    ecs, cluster = stack.target.client("ecs"), stack.outputs["ClusterArn"]
    definition = physical_ids(stack.target.client("cloudformation"), stack.stack_name)["DataIngestionTaskDefinition"][1]
    family = ecs.describe_task_definition(taskDefinition=definition)["taskDefinition"]["family"]
    revision = _hung_revision(ecs, definition)
    hung = None
    try:
        hung = start_task(stack, revision, None)["taskArn"]
        ecs.get_waiter("tasks_running").wait(cluster=cluster, tasks=[hung], WaiterConfig={"Delay": 3, "MaxAttempts": 100})
        environment = {"WATCH_BUSINESS_DATE": _published_nights(stack)[-1], "ONE_SHOT_DEADLINES": f"{family}=0"}
        code = run_scheduled_task(stack, "DeadlineCheckSchedule", environment)
        ecs.get_waiter("tasks_stopped").wait(cluster=cluster, tasks=[hung], WaiterConfig={"Delay": 3, "MaxAttempts": 100})
        (stopped,) = ecs.describe_tasks(cluster=cluster, tasks=[hung])["tasks"]
        assert stopped["lastStatus"] == "STOPPED" and stopped["stoppedReason"].startswith(f"deadline check: {family} ran "), stopped.get("stoppedReason")
        assert code == 0  # the night's report is there: the check stopped the task and stayed quiet
    finally:  # whatever failed: the task goes, the revision with it
        if hung and ecs.describe_tasks(cluster=cluster, tasks=[hung])["tasks"][0]["lastStatus"] != "STOPPED":
            ecs.stop_task(cluster=cluster, task=hung, reason="riskbatch integration: the hung task's test ended")
        ecs.deregister_task_definition(taskDefinition=revision)


@pytest.mark.live_stops_a_task
def test_the_deadline_check_stops_a_one_shot_task_past_its_deadline_with_its_own_role(stack: DeployedStack) -> None:
    """ECS acts on container health only for a service's tasks ("If a task is run manually, and not as part of a
    service, the task will continue its lifecycle regardless of its health status":
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html). An ingestion task left running
    (RunTask with no process behind it: a task whose own watchdog cannot act) is stopped by the check, through its
    role's ListTasks (on *, under ecs:cluster) and StopTask (on the cluster's tasks), as the emulator judges them.
    Against a live stack the task is a process that never ends (opt-in: RISKBATCH_INJECT_FAULTS=1)."""
    if not stack.is_local:
        _a_hung_ingestion_of_the_live_stack_is_stopped(stack)
        return
    ecs = stack.target.client("ecs")
    definition = stack.ecs.physical("DataIngestionTaskDefinition")
    family = ecs.describe_task_definition(taskDefinition=definition)["taskDefinition"]["family"]
    target = stack.template["Resources"]["DeadlineCheckSchedule"]["Properties"]["Target"]["EcsParameters"]
    network = stack.ecs._awsvpc(target["NetworkConfiguration"]["AwsvpcConfiguration"])
    hung = ecs.run_task(cluster=stack.ecs.cluster_arn, taskDefinition=definition, launchType="FARGATE", networkConfiguration=network)["tasks"][0]["taskArn"]
    stack.ecs.environment_overrides["ONE_SHOT_DEADLINES"] = f"{family}=0"  # past its deadline at once
    try:
        code, (alert,) = _check(stack, "2026-12-10")
    finally:
        del stack.ecs.environment_overrides["ONE_SHOT_DEADLINES"]
    (stopped,) = ecs.describe_tasks(cluster=stack.ecs.cluster_arn, tasks=[hung])["tasks"]
    assert stopped["desiredStatus"] == "STOPPED" and stopped["stoppedReason"].startswith(f"deadline check: {family} ran ")
    assert code == 1 and f"- stopped {hung}: deadline check: {family}" in alert["message"]
    log = Path(stack.ecs.tasks_run[-1]["log"]).read_text(encoding="utf-8")
    assert '"event": "overdue_task_stopped"' in log

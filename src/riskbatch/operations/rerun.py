"""riskbatch rerun: run a business date again (or for the first time: a backfill) from the files already in S3.

It starts the data-ingestion task exactly as the stack's trigger rule does (the rule target's task
definition, network configuration and capacity provider strategy, read with ListTargetsByRule),
with the command the rule's input transformer gives it, for the date's positions file:
`ingest --bucket <input bucket> --key <prefix><date>/positions.<ext>` (the task finds the market
file beside it), and `--reason` when one is given. ECS runs it under the ingestion task's own role.

Idempotent by the design's run id: the same files, model and data-quality policy make the same run
id; the ingestion finds the run queued and queues nothing, the risk workers write each unit's
result once, and the report, its history record and its notification are written once per run
(S3 conditional writes). So a rerun of a date whose files did not change publishes nothing twice;
a rerun of a date that never ran (events off, a task that never started) runs it; corrected files
make a new run, which restates the date (riskbatch.validation.restatement). After a code fix the same
files would make the same run and publish nothing: `--force --reason` makes a new run of them (a token
in its identity), which restates the date with that reason, kept in its manifest. ECS RunTask answers a task it
could not place with `failures`, not an error
(https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from riskbatch.inputs.business_days import is_business_day
from riskbatch.operations.stack_lookup import EXIT_REFUSED, OperatorError, StackResources, aws_errors

EXIT_NO_FILES = 6  # the date's positions or market file is not in the input bucket
EXIT_STILL_RUNNING = 7  # with --wait: the task had not stopped in time
EXIT_INGESTION_FAILED = 1  # with --wait: the ingestion exited non-zero (2: a file rejected, see quarantine/<date>/)
STARTED_BY = "riskbatch-rerun"
ROLES = ("positions", "market")
# The IAM actions `riskbatch rerun` needs (iam:PassRole of the ingestion task definition's task and execution roles; docs/runbook.md).
RERUN_ACTIONS = (
    "cloudformation:DescribeStacks",
    "s3:ListBucket",
    "events:ListTargetsByRule",
    "ecs:DescribeTaskDefinition",
    "ecs:RunTask",
    "iam:PassRole",
    "ecs:DescribeTasks",
)


@dataclass(frozen=True)
class Started:
    task_arn: str
    command: list[str]
    exit_code: int | None = None  # with wait: the ingestion container's
    stopped_reason: str | None = None


def night_files(s3: Any, resources: StackResources, business_date: str) -> dict[str, str]:
    """The date's nightly files in the input bucket, by role (OperatorError when one is missing)."""
    from riskbatch.inputs.files import FILE_NAME

    prefix = f"{resources.input_prefix}{business_date}/"
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=resources.input_bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            match = FILE_NAME.match(item["Key"].removeprefix(prefix))
            if match:
                found[match.group(1)] = item["Key"]
    missing = [role for role in ROLES if role not in found]
    if missing:
        raise OperatorError(f"no {' and no '.join(missing)} file under s3://{resources.input_bucket}/{prefix}: nothing to run", EXIT_NO_FILES)
    return found


def _camel(key: str) -> str:
    return key[:1].lower() + key[1:]


def ingestion_launch(events: Any, resources: StackResources) -> dict[str, Any]:
    """RunTask's arguments as the trigger rule's ECS target gives them (EventBridge's Subnets,
    SecurityGroups, AssignPublicIp are ECS's subnets, securityGroups, assignPublicIp)."""
    targets = events.list_targets_by_rule(Rule=resources.ingestion_rule)["Targets"]
    target = next((item for item in targets if "EcsParameters" in item), None)
    if target is None:
        raise OperatorError(f"the rule {resources.ingestion_rule} has no ECS target: the stack is not deployed as the template says", EXIT_REFUSED)
    parameters = target["EcsParameters"]
    launch: dict[str, Any] = {"cluster": target["Arn"], "taskDefinition": parameters["TaskDefinitionArn"], "count": 1, "startedBy": STARTED_BY}
    network = parameters.get("NetworkConfiguration", {})
    awsvpc = network.get("awsvpcConfiguration") or network.get("AwsvpcConfiguration")
    if awsvpc:
        launch["networkConfiguration"] = {"awsvpcConfiguration": {_camel(key): value for key, value in awsvpc.items()}}
    if parameters.get("CapacityProviderStrategy"):
        launch["capacityProviderStrategy"] = [{_camel(key): value for key, value in item.items()} for item in parameters["CapacityProviderStrategy"]]
    elif parameters.get("LaunchType"):
        launch["launchType"] = parameters["LaunchType"]
    if parameters.get("PlatformVersion"):
        launch["platformVersion"] = parameters["PlatformVersion"]
    return launch


def rerun(
    client: Callable[[str], Any],
    stack_name: str,
    business_date: dt.date,
    reason: str | None = None,
    wait_seconds: float | None = None,
    say: Callable[[str], None] = print,
    force: bool = False,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> Started:
    """Start the date's ingestion task (and, with wait_seconds, wait for it to stop). With force, the
    ingestion gets a token (the time of the request) that enters the run id: the same files make a new
    run, which restates the date with the reason; the same token twice (a task retried) is one run."""
    if not is_business_day(business_date):
        raise ValueError(f"{business_date} is not a business day: there is no night to run")
    with aws_errors():
        resources = StackResources.of(client("cloudformation"), stack_name)
        files = night_files(client("s3"), resources, business_date.isoformat())
        launch = ingestion_launch(client("events"), resources)
        ecs = client("ecs")
        container = ecs.describe_task_definition(taskDefinition=launch["taskDefinition"])["taskDefinition"]["containerDefinitions"][0]["name"]
        command = ["ingest", "--bucket", resources.input_bucket, "--key", files["positions"], *(["--reason", reason] if reason else [])]
        command += ["--force", now().strftime("%Y%m%dT%H%M%SZ")] if force else []
        response = ecs.run_task(**launch, overrides={"containerOverrides": [{"name": container, "command": command}]})
        if response.get("failures") or not response.get("tasks"):
            raise OperatorError(f"ECS could not start the ingestion task: {response.get('failures')}", EXIT_REFUSED)
        task = response["tasks"][0]["taskArn"]
        say(f"started {task}: {' '.join(command)}")
        if wait_seconds is None:
            return Started(task, command)
        return _wait(ecs, launch["cluster"], task, command, wait_seconds, say)


def _wait(ecs: Any, cluster: str, task: str, command: list[str], seconds: float, say: Callable[[str], None]) -> Started:
    deadline = time.monotonic() + seconds
    while True:
        (described,) = ecs.describe_tasks(cluster=cluster, tasks=[task])["tasks"]
        if described.get("lastStatus") == "STOPPED":
            codes = [item.get("exitCode") for item in described.get("containers", [])]
            code = codes[0] if codes else None
            say(f"stopped: {described.get('stoppedReason')}; exit code {code}")
            return Started(task, command, code, described.get("stoppedReason"))
        if time.monotonic() > deadline:
            raise OperatorError(f"the ingestion task {task} is still {described.get('lastStatus')} after {seconds:.0f} s", EXIT_STILL_RUNNING)
        say(f"waiting: {described.get('lastStatus')}")
        time.sleep(min(10.0, max(0.0, deadline - time.monotonic())))

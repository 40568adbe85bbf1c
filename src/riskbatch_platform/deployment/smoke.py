"""After an update that changes a task definition: one smoke task of each, and the update undone when one fails.

Outside the overnight window the services run no task, so a deployment's circuit breaker judges nothing
and a broken image would first fail at midnight. The deploy therefore starts one task of every task
definition the update changed (or of every one, when the services are switched on for the first time),
with the command `riskbatch smoke`: the image's entry point, its job's imports, a heartbeat in the
scratch volume and the health check's own test of it (`riskbatch health`). Each runs as the night runs
it: Fargate through the capacity provider strategy, in the three task subnets with the stack's security
group, no public IP. The tasks-stopped waiter bounds the wait; a task still running then is stopped
and failed. A task passes when its essential container exits 0 (DescribeTasks: each container's
exitCode, the task's stopCode and stoppedReason: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTasks.html).

When one fails, the stack is updated back to the template and parameter values it had before the update.
The update has finished by then (UPDATE_COMPLETE), so CancelUpdateStack no longer applies: "After an
update has finished, you can't cancel it. You can, however, update a stack again with any previous
settings" (CloudFormation user guide, "Cancel a stack update":
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn--stack-update-cancel.html), and
ContinueUpdateRollback is for a stack in UPDATE_ROLLBACK_FAILED only
(https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ContinueUpdateRollback.html). The
previous template is GetTemplate's Original stage; the previous values are DescribeStacks' (the template
declares no NoEcho parameter, whose value DescribeStacks would mask).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import WaiterError

from riskbatch_platform.deployment.stack import DeployError, current_parameters, physical_ids, stack_status

SMOKE_COMMAND = ["smoke"]  # after the images' ENTRYPOINT ["riskbatch"]
STARTED_BY = "riskbatch-deploy-smoke"
WAIT_DELAY_SECONDS = 6
WAIT_ATTEMPTS = 100  # 600 s: a smoke task starts, imports and exits in well under a minute once its image is pulled
SUBNET_PARAMETERS = ("PrivateSubnet1Id", "PrivateSubnet2Id", "PrivateSubnet3Id")


class SmokeFailed(DeployError):
    """A smoke task failed; the update was undone."""


@dataclass(frozen=True)
class SmokeResult:
    task_definition: str  # the logical id
    passed: bool
    detail: str

    def line(self) -> str:
        return f"smoke {self.task_definition}: {'passed' if self.passed else 'FAILED'}: {self.detail}"


@dataclass(frozen=True)
class RollbackPoint:
    """The stack as it was before an update: its template and parameter values (None for a stack that did not exist)."""

    template: dict[str, Any] | None
    parameters: dict[str, str]

    @classmethod
    def read(cls, cfn: Any, stack_name: str) -> RollbackPoint:
        if stack_status(cfn, stack_name) is None:
            return cls(None, {})
        body = cfn.get_template(StackName=stack_name, TemplateStage="Original")["TemplateBody"]
        return cls(json.loads(body) if isinstance(body, str) else dict(body), current_parameters(cfn, stack_name))


def task_definitions(cfn: Any, stack_name: str) -> dict[str, str]:
    """logical id -> task definition ARN (family and revision) of the stack's task definitions."""
    if stack_status(cfn, stack_name) is None:
        return {}
    return {logical: physical for logical, (kind, physical) in physical_ids(cfn, stack_name).items() if kind == "AWS::ECS::TaskDefinition"}


def changed_definitions(before: dict[str, str], after: dict[str, str]) -> dict[str, str]:
    """The task definitions that are new or have a new revision."""
    return {logical: arn for logical, arn in sorted(after.items()) if before.get(logical) != arn}


def essential_container(template: dict[str, Any], logical_id: str) -> str:
    containers = template["Resources"][logical_id]["Properties"]["ContainerDefinitions"]
    return str(next((c for c in containers if c.get("Essential", True)), containers[0])["Name"])


def _judge(logical_id: str, container: str, task: dict[str, Any] | None, waited: float) -> SmokeResult:
    if task is None:
        return SmokeResult(logical_id, False, "ECS no longer knows the task")
    if task.get("lastStatus") != "STOPPED":
        return SmokeResult(logical_id, False, f"still {task.get('lastStatus')} after {waited:.0f} s (stopped)")
    found = next((c for c in task.get("containers", []) if c.get("name") == container), {})
    code = found.get("exitCode")
    why = "; ".join(part for part in (task.get("stopCode"), task.get("stoppedReason"), found.get("reason")) if part)
    if code == 0:
        return SmokeResult(logical_id, True, f"exit code 0 ({why})" if why else "exit code 0")
    return SmokeResult(logical_id, False, f"exit code {code if code is not None else 'none: the container never ran'} ({why or 'no reason given'})")


def run_smoke_tasks(
    ecs: Any, cluster: str, containers: dict[str, str], definitions: dict[str, str], network: dict[str, Any], delay: float = WAIT_DELAY_SECONDS
) -> list[SmokeResult]:
    """One smoke task of each task definition (logical id -> ARN), all started before the wait."""
    results: list[SmokeResult] = []
    started: dict[str, tuple[str, str]] = {}  # task ARN -> (logical id, container)
    for logical, arn in definitions.items():
        answer = ecs.run_task(
            cluster=cluster,
            taskDefinition=arn,
            count=1,
            startedBy=STARTED_BY,
            capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1, "base": 0}],
            platformVersion="LATEST",
            networkConfiguration={"awsvpcConfiguration": network},
            overrides={"containerOverrides": [{"name": containers[logical], "command": SMOKE_COMMAND}]},
        )
        if answer.get("failures") or not answer.get("tasks"):  # e.g. no Fargate capacity: RunTask answers 200 with failures
            reasons = "; ".join(f"{f.get('reason', '?')}{': ' + f['detail'] if f.get('detail') else ''}" for f in answer.get("failures", []))
            results.append(SmokeResult(logical, False, f"RunTask started nothing: {reasons or 'no task and no failure'}"))
            continue
        started[answer["tasks"][0]["taskArn"]] = (logical, containers[logical])
    if not started:
        return results
    waited = delay * WAIT_ATTEMPTS
    with contextlib.suppress(WaiterError):  # a task still running is judged below, and stopped
        ecs.get_waiter("tasks_stopped").wait(cluster=cluster, tasks=list(started), WaiterConfig={"Delay": delay, "MaxAttempts": WAIT_ATTEMPTS})
    described = {task["taskArn"]: task for task in ecs.describe_tasks(cluster=cluster, tasks=list(started)).get("tasks", [])}
    for arn, (logical, container) in started.items():
        task = described.get(arn)
        if task is not None and task.get("lastStatus") != "STOPPED":
            ecs.stop_task(cluster=cluster, task=arn, reason=f"{STARTED_BY}: did not finish within {waited:.0f} s")
        results.append(_judge(logical, container, task, waited))
    return results


def smoke_or_roll_back(
    target: Any,
    stack_name: str,
    template: dict[str, Any],
    parameters: dict[str, str],
    before: dict[str, str],
    point: RollbackPoint,
    roll_back: Callable[[dict[str, Any], dict[str, str]], Any],
    log: Callable[[str], None],
    delay: float = WAIT_DELAY_SECONDS,
) -> list[SmokeResult]:
    """Smoke-test the task definitions the update changed; when one fails, undo the update
    (roll_back(template, parameters): the deploy of the rollback point) and raise SmokeFailed."""
    cfn = target.client("cloudformation")
    changed = changed_definitions(before, task_definitions(cfn, stack_name))
    if not changed:
        log("smoke: no task definition changed")
        return []
    resources = physical_ids(cfn, stack_name)
    cluster = next(physical for kind, physical in resources.values() if kind == "AWS::ECS::Cluster")
    groups = sorted(physical for kind, physical in resources.values() if kind == "AWS::EC2::SecurityGroup")
    network = {"subnets": [parameters[name] for name in SUBNET_PARAMETERS], "securityGroups": groups, "assignPublicIp": "DISABLED"}
    containers = {logical: essential_container(template, logical) for logical in changed}
    log(f"smoke: one task of each changed task definition ({', '.join(changed)}), command {' '.join(SMOKE_COMMAND)}")
    results = run_smoke_tasks(target.client("ecs"), cluster, containers, changed, network, delay)
    for result in results:
        log(result.line())
    failures = [result for result in results if not result.passed]
    if not failures:
        return results
    names = ", ".join(result.task_definition for result in failures)
    if point.template is None:
        raise SmokeFailed(f"the smoke task of {names} failed and the stack had no earlier state to return to: fix the image, then deploy again")
    log(f"smoke: {len(failures)} failed ({names}); updating {stack_name} back to its template and parameters before this update")
    try:
        roll_back(point.template, point.parameters)
    except DeployError as error:  # the smoke failure is the cause: it must not be lost behind the rollback's
        reasons = "; ".join(f"smoke task {result.task_definition} failed ({result.detail})" for result in failures)
        raise SmokeFailed(f"{reasons}; the rollback failed too: {error}") from error
    undone = f"{stack_name} was updated back to its previous template and parameters"
    raise SmokeFailed(f"the smoke task of {names} failed; {undone}: fix the image, then deploy again")

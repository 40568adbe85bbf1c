"""After an update that changes a task definition, the deploy starts one smoke task of it and undoes the update
when the task fails.

The stack is the emulator's (moto in-process with its fixes: a change set updates the stack's parameters,
and an updated task definition is a new revision); ECS answers through botocore's Stubber, which checks each
request against the ECS model: moto's RunTask records a task that never stops. Documents relied on:
- DescribeTasks gives each container's exitCode and the task's stopCode and stoppedReason
  (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTasks.html); RunTask answers a task it
  could not place with `failures` (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html);
- a finished update cannot be cancelled, only updated again with the previous settings ("Cancel a stack
  update": https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn--stack-update-cancel.html).
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from riskbatch_platform.aws import Target
from riskbatch_platform.deployment.smoke import (
    SMOKE_COMMAND,
    STARTED_BY,
    RollbackPoint,
    SmokeFailed,
    run_smoke_tasks,
    smoke_or_roll_back,
    task_definitions,
)
from riskbatch_platform.deployment.stack import current_parameters, deploy

REGION = "us-east-1"
SUBNETS = {"PrivateSubnet1Id": "subnet-a", "PrivateSubnet2Id": "subnet-b", "PrivateSubnet3Id": "subnet-c"}
TEMPLATE = {
    "Parameters": {"ImageTag": {"Type": "String", "Description": "tag"}, **{name: {"Type": "String", "Description": "subnet"} for name in SUBNETS}},
    "Resources": {
        "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "cluster-smoke"}},
        "TaskSecurityGroup": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "tasks"}},
        "JobTaskDefinition": {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                "Family": "task-job",
                "ContainerDefinitions": [{"Name": "job", "Image": {"Fn::Sub": "repo/job:${ImageTag}"}, "Essential": True, "Memory": 512}],
            },
        },
    },
}


# the release: a new image tag and a larger task (moto re-registers a task definition only when the template's text changes)
RELEASE = {**TEMPLATE, "Resources": {**TEMPLATE["Resources"], "JobTaskDefinition": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
    **TEMPLATE["Resources"]["JobTaskDefinition"]["Properties"],
    "ContainerDefinitions": [{**TEMPLATE["Resources"]["JobTaskDefinition"]["Properties"]["ContainerDefinitions"][0], "Memory": 1024}],
}}}}  # fmt: skip


class _StubbedEcs:
    """The moto target, but ECS through a Stubber."""

    def __init__(self, target: Target, ecs: Any) -> None:
        self.target, self.ecs = target, ecs

    def client(self, service: str) -> Any:
        return self.ecs if service == "ecs" else self.target.client(service)


def _ecs_answering(task_definition: str, exit_code: int | None, failures: list | None = None) -> tuple[Any, Stubber]:
    ecs = boto3.client("ecs", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(ecs)
    request = {
        "cluster": ANY,
        "taskDefinition": task_definition,
        "count": 1,
        "startedBy": STARTED_BY,
        "capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}],
        "platformVersion": "LATEST",
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": list(SUBNETS.values()), "securityGroups": ANY, "assignPublicIp": "DISABLED"}},
        "overrides": {"containerOverrides": [{"name": "job", "command": SMOKE_COMMAND}]},
    }
    task_arn = "arn:aws:ecs:us-east-1:123456789012:task/cluster-smoke/0123"
    if failures:
        stubber.add_response("run_task", {"tasks": [], "failures": failures}, request)
        return ecs, stubber
    stubber.add_response("run_task", {"tasks": [{"taskArn": task_arn}]}, request)
    container = {"name": "job", **({"exitCode": exit_code} if exit_code is not None else {}), "reason": "CannotPullContainerError" if exit_code is None else ""}
    stopped = {"taskArn": task_arn, "lastStatus": "STOPPED", "stopCode": "EssentialContainerExited", "stoppedReason": "exited", "containers": [container]}
    described = {"tasks": [stopped], "failures": []}
    stubber.add_response("describe_tasks", described, {"cluster": ANY, "tasks": [task_arn]})  # the tasks-stopped waiter
    stubber.add_response("describe_tasks", described, {"cluster": ANY, "tasks": [task_arn]})
    return ecs, stubber


@pytest.fixture(autouse=True)
def emulator_fixes() -> Any:
    from riskbatch_platform.local.emulator.patching import apply_fixes

    fixes = apply_fixes()
    yield
    fixes.undo()


def _stack(tag: str) -> Target:
    target = Target(region=REGION)
    deploy(target, "smoke", TEMPLATE, {"ImageTag": tag, **SUBNETS}, log=lambda line: None, delay=0)
    return target


@pytest.mark.parametrize(("exit_code", "rolled_back"), [(0, False), (1, True), (None, True)], ids=["passes", "exits-1", "never-ran"])
def test_a_failing_smoke_task_undoes_the_update_and_a_passing_one_keeps_it(exit_code: int | None, rolled_back: bool) -> None:
    with mock_aws():
        target = _stack("1.0.0")
        cfn = target.client("cloudformation")
        before, point = task_definitions(cfn, "smoke"), RollbackPoint.read(cfn, "smoke")
        deploy(target, "smoke", RELEASE, {"ImageTag": "2.0.0", **SUBNETS}, log=lambda line: None, delay=0)
        changed = task_definitions(cfn, "smoke")["JobTaskDefinition"]
        assert changed != before["JobTaskDefinition"]  # a new revision: the update changed the task definition
        ecs, stubber = _ecs_answering(changed, exit_code)
        lines: list[str] = []

        def roll_back(template: dict, values: dict[str, str]) -> None:
            deploy(target, "smoke", template, values, log=lines.append, delay=0)

        with stubber:
            if rolled_back:
                with pytest.raises(SmokeFailed, match="JobTaskDefinition failed; smoke was updated back"):
                    smoke_or_roll_back(_StubbedEcs(target, ecs), "smoke", RELEASE, {"ImageTag": "2.0.0", **SUBNETS}, before, point, roll_back, lines.append, 0)
            else:
                smoke_or_roll_back(_StubbedEcs(target, ecs), "smoke", RELEASE, {"ImageTag": "2.0.0", **SUBNETS}, before, point, roll_back, lines.append, 0)
            stubber.assert_no_pending_responses()
        assert current_parameters(cfn, "smoke")["ImageTag"] == ("1.0.0" if rolled_back else "2.0.0")
        running = boto3.client("ecs", region_name=REGION).describe_task_definition(taskDefinition=task_definitions(cfn, "smoke")["JobTaskDefinition"])
        assert running["taskDefinition"]["containerDefinitions"][0]["memory"] == (512 if rolled_back else 1024)
        assert any(line.startswith(f"smoke JobTaskDefinition: {'FAILED' if rolled_back else 'passed'}") for line in lines)


def test_no_smoke_task_when_no_task_definition_changed() -> None:
    with mock_aws():
        target = _stack("1.0.0")
        cfn = target.client("cloudformation")
        before, point = task_definitions(cfn, "smoke"), RollbackPoint.read(cfn, "smoke")
        ecs = boto3.client("ecs", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
        with Stubber(ecs) as stubber:  # no response queued: any ECS call fails the test
            results = smoke_or_roll_back(_StubbedEcs(target, ecs), "smoke", TEMPLATE, SUBNETS, before, point, lambda *a: pytest.fail("no rollback"), print, 0)
            stubber.assert_no_pending_responses()
        assert results == []


def test_a_task_runtask_could_not_place_fails_the_smoke_with_ecs_reason() -> None:
    """No Fargate capacity: RunTask answers 200 with a failure and no task (nothing to wait for)."""
    arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/task-job:2"
    ecs, stubber = _ecs_answering(arn, None, failures=[{"arn": arn, "reason": "Capacity is unavailable at this time"}])
    with stubber:
        network = {"subnets": list(SUBNETS.values()), "securityGroups": ["sg-1"], "assignPublicIp": "DISABLED"}
        (result,) = run_smoke_tasks(ecs, "cluster-smoke", {"JobTaskDefinition": "job"}, {"JobTaskDefinition": arn}, network, delay=0)
    assert not result.passed and "Capacity is unavailable" in result.detail


def test_the_rollback_point_is_the_stacks_template_and_values_before_the_update() -> None:
    with mock_aws():
        point = RollbackPoint.read(_stack("1.0.0").client("cloudformation"), "smoke")
        assert point.template == TEMPLATE and point.parameters == {"ImageTag": "1.0.0", **SUBNETS}
        assert RollbackPoint.read(boto3.client("cloudformation", region_name=REGION), "no-such-stack") == RollbackPoint(None, {})


def test_a_failed_smoke_is_the_deploys_failure_exit_code(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """riskbatch-deploy: exit 1 (CloudFormation or AWS failed, the smoke included), one line, no traceback."""
    from riskbatch_platform.deployment import deploy as deploy_script
    from test.platform.deployment.test_deploy import _small_template

    def failing(*args: object, **kwargs: object) -> dict:
        raise SmokeFailed("the smoke task of RiskCalculationTaskDefinition failed; riskbatch-dev was updated back to its previous template and parameters")

    monkeypatch.setattr(deploy_script, "deploy_in_phases", failing)
    monkeypatch.setattr(deploy_script, "preflight_passes", lambda *args: True)
    with mock_aws():
        arguments = ["--stack-name", "small", "--region", REGION, "--template", str(_small_template()), "--parameter", "EnvironmentSuffix=dev"]
        code = deploy_script.main([*arguments, "--parameter", "VpcId=v", "--outputs", "/dev/null"])
    printed = capsys.readouterr().err
    assert code == 1 and "deployment failed: the smoke task of RiskCalculationTaskDefinition failed" in printed and "Traceback" not in printed


@pytest.mark.parametrize(("services_on", "smoke", "judged_against"), [(True, True, {"JobTaskDefinition": "arn:1"}), (False, True, {}), (True, False, None)])
def test_phase_three_smokes_what_changed_since_the_services_last_ran(
    monkeypatch: pytest.MonkeyPatch, services_on: bool, smoke: bool, judged_against: dict | None
) -> None:
    """With the services already on, the smoke compares with the task definitions they ran; switching them on
    smokes every task definition (compared with none); the local night asks for no smoke."""
    from types import SimpleNamespace

    from riskbatch_platform.deployment import phases

    judged: list[dict] = []
    monkeypatch.setattr(phases, "stack_status", lambda cfn, name: "UPDATE_COMPLETE")
    monkeypatch.setattr(phases, "current_parameters", lambda cfn, name: {"DeployServices": "true" if services_on else "false"})
    monkeypatch.setattr(phases, "stack_outputs", lambda cfn, name: {})
    monkeypatch.setattr(phases, "task_definitions", lambda cfn, name: {"JobTaskDefinition": "arn:1"})
    monkeypatch.setattr(phases.RollbackPoint, "read", classmethod(lambda cls, cfn, name: RollbackPoint(TEMPLATE, {})))
    monkeypatch.setattr(phases, "deploy", lambda *args, **kwargs: SimpleNamespace(outputs={}))
    monkeypatch.setattr(phases, "check_images", lambda *args: None)
    monkeypatch.setattr(phases, "restore_scheduled_minimums", lambda *args: [])
    monkeypatch.setattr(phases, "smoke_or_roll_back", lambda target, name, template, values, before, *rest: judged.append(before))
    template = {**TEMPLATE, "Parameters": {**TEMPLATE["Parameters"], "DeployServices": {"Type": "String", "Default": "false"}}}
    phases.deploy_in_phases(_StubbedEcs(Target(region=REGION), None), "smoke", template, {"ImageTag": "2.0.0", **SUBNETS}, None, smoke=smoke)
    assert judged == ([] if judged_against is None else [judged_against])


def test_a_failed_rollback_still_says_which_smoke_task_failed_and_why() -> None:
    """The smoke failure is the cause; a rollback that fails as well must not hide it."""
    from riskbatch_platform.deployment.stack import DeployError

    with mock_aws():
        target = _stack("1.0.0")
        cfn = target.client("cloudformation")
        before, point = task_definitions(cfn, "smoke"), RollbackPoint.read(cfn, "smoke")
        deploy(target, "smoke", RELEASE, {"ImageTag": "2.0.0", **SUBNETS}, log=lambda line: None, delay=0)
        ecs, stubber = _ecs_answering(task_definitions(cfn, "smoke")["JobTaskDefinition"], 1)

        def roll_back(template: dict, values: dict[str, str]) -> None:
            raise DeployError("smoke ended UPDATE_ROLLBACK_FAILED")

        with stubber, pytest.raises(SmokeFailed) as raised:
            smoke_or_roll_back(_StubbedEcs(target, ecs), "smoke", RELEASE, {"ImageTag": "2.0.0", **SUBNETS}, before, point, roll_back, lambda line: None, 0)
    message = str(raised.value)
    assert message.startswith("smoke task JobTaskDefinition failed (exit code 1 (EssentialContainerExited; exited))")
    assert message.endswith("; the rollback failed too: smoke ended UPDATE_ROLLBACK_FAILED")


def test_a_smoke_rollback_restores_the_scheduled_minimums_of_the_rolled_back_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rollback is another update: inside the overnight window it re-applies MinCapacity, as phase 3's update does."""
    from types import SimpleNamespace

    from riskbatch_platform.deployment import phases

    restored: list[tuple[dict, dict]] = []
    monkeypatch.setattr(phases, "stack_status", lambda cfn, name: "UPDATE_COMPLETE")
    monkeypatch.setattr(phases, "current_parameters", lambda cfn, name: {"DeployServices": "true"})
    monkeypatch.setattr(phases, "stack_outputs", lambda cfn, name: {})
    monkeypatch.setattr(phases, "task_definitions", lambda cfn, name: {"JobTaskDefinition": "arn:1"})
    monkeypatch.setattr(phases, "deploy", lambda *args, **kwargs: SimpleNamespace(outputs={}))
    monkeypatch.setattr(phases, "check_images", lambda *args: None)
    monkeypatch.setattr(phases, "restore_scheduled_minimums", lambda target, template, values: restored.append((template, values)) or [])
    monkeypatch.setattr(phases.RollbackPoint, "read", classmethod(lambda cls, cfn, name: RollbackPoint(TEMPLATE, {})))
    old_values = {"ImageTag": "1.0.0", "DeployServices": "true", **SUBNETS}

    def smoke_fails(target: Any, name: str, template: dict, values: dict, before: dict, point: Any, roll_back: Any, *rest: Any) -> None:
        roll_back(TEMPLATE, old_values)
        raise SmokeFailed("the smoke task of JobTaskDefinition failed")

    monkeypatch.setattr(phases, "smoke_or_roll_back", smoke_fails)
    release = {**RELEASE, "Parameters": {**RELEASE["Parameters"], "DeployServices": {"Type": "String", "Default": "false"}}}
    with pytest.raises(SmokeFailed):
        phases.deploy_in_phases(_StubbedEcs(Target(region=REGION), None), "smoke", release, {"ImageTag": "2.0.0", **SUBNETS}, None)
    assert len(restored) == 2  # after phase 3's update, then after the rollback's
    assert restored[1] == (TEMPLATE, old_values)


def test_no_smoke_tasks_option_deploys_without_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """riskbatch-deploy --no-smoke-tasks (an environment that cannot run tasks, such as the local emulator)."""
    from riskbatch_platform.deployment import deploy as deploy_script
    from test.platform.deployment.test_deploy import _small_template

    asked: list[bool] = []
    monkeypatch.setattr(deploy_script, "deploy_in_phases", lambda *args, smoke=True, **kwargs: asked.append(smoke) or {})
    monkeypatch.setattr(deploy_script, "preflight_passes", lambda *args: True)
    monkeypatch.setattr(deploy_script, "task_events_policy_covers", lambda *args: True)
    arguments = ["--stack-name", "small", "--region", REGION, "--template", str(_small_template()), "--parameter", "EnvironmentSuffix=dev"]
    arguments += ["--parameter", "VpcId=v", "--outputs", "/dev/null"]
    with mock_aws():
        assert deploy_script.main(arguments) == 0
        assert deploy_script.main([*arguments, "--no-smoke-tasks"]) == 0
    assert asked == [True, False]

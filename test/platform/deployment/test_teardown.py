"""Teardown quiesces a running stack before deleting it, and reads every page of every listing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from riskbatch_platform.aws import Target
from riskbatch_platform.deployment import teardown
from riskbatch_platform.deployment.teardown import delete_stack, leftovers, pages, quiesce
from riskbatch_platform.local import emulator
from riskbatch_platform.local.emulator import patching

patching.import_module_of_each_service()  # every fix registered, emulator.<service> there to name one

REGION = "us-east-1"
TEMPLATE = {
    "Resources": {
        "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "cluster-x-sfx"}},
        "Task": {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                "Family": "task-x-sfx",
                "Cpu": "256",
                "Memory": "512",
                "NetworkMode": "awsvpc",
                "RequiresCompatibilities": ["FARGATE"],
                "ContainerDefinitions": [{"Name": "job", "Image": "image", "Memory": 512, "Cpu": 256}],
            },
        },
        "Service": {
            "Type": "AWS::ECS::Service",
            "Properties": {"ServiceName": "svc-x-sfx", "Cluster": {"Ref": "Cluster"}, "TaskDefinition": {"Ref": "Task"}, "DesiredCount": 1},
        },
        "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "bus-x-sfx"}},
        "Trigger": {"Type": "AWS::Events::Rule", "Properties": {"Name": "rule-trigger-sfx", "State": "ENABLED", "EventPattern": {"source": ["a"]}}},
        "Check": {
            "Type": "AWS::Scheduler::Schedule",
            "Properties": {
                "Name": "schedule-check-sfx",
                "ScheduleExpression": "cron(30 0 * * ? *)",
                "ScheduleExpressionTimezone": "America/New_York",
                "FlexibleTimeWindow": {"Mode": "OFF"},
                "State": "ENABLED",
                "Target": {
                    "Arn": {"Fn::GetAtt": ["Cluster", "Arn"]},
                    "RoleArn": "arn:aws:iam::123456789012:role/role-check-sched-sfx-us-east-1",
                    "EcsParameters": {
                        "TaskDefinitionArn": {"Ref": "Task"},
                        "CapacityProviderStrategy": [{"CapacityProvider": "FARGATE", "Base": 0, "Weight": 1}],
                        "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-1"], "AssignPublicIp": "DISABLED"}},
                    },
                },
            },
        },
        "Completed": {
            "Type": "AWS::Events::Rule",
            "DependsOn": "Bus",
            "Properties": {"Name": "rule-completed-sfx", "State": "ENABLED", "EventBusName": "bus-x-sfx", "EventPattern": {"source": ["b"]}},
        },
    }
}


@pytest.fixture
def running_stack() -> Iterator[Target]:
    """A deployed stack with a standalone task running on its cluster (as a rule starts ingestion)."""
    patcher = patching.Patcher()
    fixes = (
        emulator.ec2.network_interfaces_have_a_private_dns_name,
        emulator.events.events_rule_ref_on_a_custom_bus,
        emulator.ecs.ecs_cluster_deleted_with_its_stack,
        emulator.scheduler.scheduler_schedules_from_cloudformation,
    )
    for each in fixes:
        each(patcher)
    with mock_aws():
        boto3.client("cloudformation", region_name=REGION).create_stack(StackName="s", TemplateBody=json.dumps(TEMPLATE))
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        group = ec2.create_security_group(GroupName="g", Description="g", VpcId=vpc)["GroupId"]
        network = {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}}
        boto3.client("ecs", region_name=REGION).run_task(
            cluster="cluster-x-sfx", taskDefinition="task-x-sfx", launchType="FARGATE", networkConfiguration=network
        )
        yield Target(region=REGION)
    patcher.undo()


def test_quiesce_disables_the_rules_scales_services_to_zero_and_stops_every_task(running_stack: Target) -> None:
    ecs, events = running_stack.client("ecs"), running_stack.client("events")
    assert ecs.list_tasks(cluster="cluster-x-sfx", desiredStatus="RUNNING")["taskArns"]
    quiesce(running_stack, "s", log=lambda line: None)
    assert events.describe_rule(Name="rule-trigger-sfx")["State"] == "DISABLED"
    assert events.describe_rule(Name="rule-completed-sfx", EventBusName="bus-x-sfx")["State"] == "DISABLED"
    (service,) = ecs.describe_services(cluster="cluster-x-sfx", services=["svc-x-sfx"])["services"]
    assert service["desiredCount"] == 0
    assert ecs.list_tasks(cluster="cluster-x-sfx", desiredStatus="RUNNING")["taskArns"] == []


def test_quiesce_disables_the_schedules_and_keeps_their_definition(running_stack: Target) -> None:
    """A check task a schedule starts mid-teardown would block the cluster's deletion. UpdateSchedule
    replaces the whole definition, so every field read by GetSchedule goes back unchanged."""
    scheduler = running_stack.client("scheduler")
    before = scheduler.get_schedule(Name="schedule-check-sfx")
    assert before["State"] == "ENABLED"
    quiesce(running_stack, "s", log=lambda line: None)
    after = scheduler.get_schedule(Name="schedule-check-sfx")
    assert after["State"] == "DISABLED"
    unchanged = ("ScheduleExpression", "ScheduleExpressionTimezone", "FlexibleTimeWindow", "Target")
    assert {field: after[field] for field in unchanged} == {field: before[field] for field in unchanged}


def test_the_stack_deletes_and_nothing_is_left(running_stack: Target) -> None:
    assert leftovers(running_stack, "sfx")["ECS clusters"]
    delete_stack(running_stack, "s", log=lambda line: None)
    assert {kind: names for kind, names in leftovers(running_stack, "sfx").items() if names} == {}


def test_leftovers_are_found_on_every_page() -> None:
    with mock_aws():
        sqs, events = boto3.client("sqs", region_name=REGION), boto3.client("events", region_name=REGION)
        for index in range(23):
            sqs.create_queue(QueueName=f"sqs-q{index}-sfx")
            events.put_rule(Name=f"rule-r{index}-sfx", EventPattern=json.dumps({"source": ["x"]}))
        sqs.create_queue(QueueName="sqs-other-prod")
        found = leftovers(Target(region=REGION), "sfx", page_size=5)
    assert len(found["SQS queues"]) == 23 and len(found["EventBridge rules"]) == 23


def test_pages_follows_the_token_to_the_end() -> None:
    answers = {None: {"Items": [1, 2], "NextToken": "a"}, "a": {"Items": [3], "NextToken": "b"}, "b": {"Items": [4]}}
    calls: list[Any] = []

    def call(**arguments: Any) -> dict[str, Any]:
        calls.append(arguments.get("NextToken"))
        return answers[arguments.get("NextToken")]

    assert [item for page in pages(call) for item in page["Items"]] == [1, 2, 3, 4]
    assert calls == [None, "a", "b"]


@pytest.mark.parametrize("suffix", ["prod", "dev"])
def test_a_teardown_fails_on_any_log_group_left_in_every_environment(capsys: pytest.CaptureFixture[str], suffix: str) -> None:
    """Production keeps nothing either: the requirements forbid Retain (the audit copy is in the output bucket)."""
    with mock_aws():
        boto3.client("logs", region_name=REGION).create_log_group(logGroupName=f"log-risk-calculation-{suffix}")
        assert teardown.main(["--stack-name", "gone", "--suffix", suffix, "--region", REGION]) == 1
        assert f"left behind: log groups: log-risk-calculation-{suffix}" in capsys.readouterr().out


# The teardown that asks. A stack's parameters: https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html
# (Parameters in the answer); "a stack that does not exist": the ValidationError of the same call.
ASKED = {
    "Parameters": {"EnvironmentSuffix": {"Type": "String", "Description": "the environment"}},
    "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::Sub": "sqs-work-${EnvironmentSuffix}"}}}},
}


def _stack_with_suffix(suffix: str) -> Any:
    cfn = boto3.client("cloudformation", region_name=REGION)
    parameters = [{"ParameterKey": "EnvironmentSuffix", "ParameterValue": suffix}]
    cfn.create_stack(StackName=f"riskbatch-{suffix}", TemplateBody=json.dumps(ASKED), Parameters=parameters)
    return cfn


def _exists(cfn: Any, name: str) -> bool:
    from riskbatch_platform.deployment.stack import stack_status

    return stack_status(cfn, name) not in (None, "DELETE_COMPLETE")


class _Terminal:
    """A terminal's stdin that answers the prompt with `typed`."""

    def __init__(self, typed: str) -> None:
        self.typed = typed

    def isatty(self) -> bool:
        return True

    def readline(self) -> str:
        return self.typed + "\n"


def test_without_a_terminal_or_yes_the_teardown_refuses_in_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", None)
    with mock_aws():
        cfn = _stack_with_suffix("dev")
        assert teardown.main(["--stack-name", "riskbatch-dev", "--region", REGION]) == 2
        assert _exists(cfn, "riskbatch-dev")
    assert capsys.readouterr().err.splitlines()[-1] == (
        "riskbatch-teardown: error: nothing deleted: confirm by typing riskbatch-dev at a terminal, or pass --yes (automation)"
    )


@pytest.mark.parametrize(("typed", "deleted"), [("riskbatch-dev", True), ("riskbatch-prod", False), ("", False)])
def test_the_stacks_name_typed_back_deletes_it_and_nothing_else_does(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], typed: str, deleted: bool
) -> None:
    monkeypatch.setattr("sys.stdin", _Terminal(typed))
    with mock_aws():
        cfn = _stack_with_suffix("dev")
        code = teardown.main(["--stack-name", "riskbatch-dev", "--region", REGION])
        assert _exists(cfn, "riskbatch-dev") is not deleted
    printed = capsys.readouterr()
    assert code == (0 if deleted else 2)
    assert "delete riskbatch-dev (EnvironmentSuffix dev) and everything it holds? type its name to confirm: " in printed.err
    if deleted:  # the suffix came from the stack: no --suffix was given
        assert printed.out.strip() == "nothing carrying -dev is left"
    else:
        # (a terminal echoes the answer and its newline; this stand-in does not)
        assert printed.err.endswith(f"to confirm: riskbatch-teardown: error: nothing deleted: {typed!r} is not riskbatch-dev\n")


def test_the_suffix_is_the_stacks_and_a_different_suffix_given_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws():
        cfn = _stack_with_suffix("dev")
        assert teardown.main(["--stack-name", "riskbatch-dev", "--suffix", "wrong", "--yes", "--region", REGION]) == 2
        assert _exists(cfn, "riskbatch-dev")
    assert "riskbatch-dev carries EnvironmentSuffix dev, not wrong: nothing deleted" in capsys.readouterr().err


def test_a_production_stack_needs_production_as_well_as_yes(capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws():
        cfn = _stack_with_suffix("prod")
        assert teardown.main(["--stack-name", "riskbatch-prod", "--yes", "--region", REGION]) == 2
        assert _exists(cfn, "riskbatch-prod")
        assert "is a production stack (EnvironmentSuffix prod): nothing deleted; pass --production" in capsys.readouterr().err
        assert teardown.main(["--stack-name", "riskbatch-prod", "--yes", "--production", "--region", REGION]) == 0
        assert not _exists(cfn, "riskbatch-prod")


def test_no_such_stack_without_a_suffix_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws():
        assert teardown.main(["--stack-name", "riskbatch-gone", "--yes", "--region", REGION]) == 4
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"riskbatch-teardown: error: no stack riskbatch-gone in {REGION}: nothing to delete (--suffix S lists what carries -S)"
    )


def test_preflight_of_a_stack_that_does_not_exist_says_so_instead_of_checking_the_account(capsys: pytest.CaptureFixture[str]) -> None:
    from riskbatch_platform.deployment import preflight

    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        ec2.create_subnet(VpcId=ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"], CidrBlock="10.1.1.0/24")  # none is looked at
        assert preflight.main(["--stack-name", "riskbatch-missing", "--region", REGION]) == 4
    assert capsys.readouterr().err.splitlines()[-1].startswith("riskbatch-preflight: error: no stack riskbatch-missing in us-east-1: check --stack-name")

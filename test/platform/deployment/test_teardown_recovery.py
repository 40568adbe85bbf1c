"""Teardown refuses before stopping anything when the stack cannot be deleted, recovers a stack that is
half deleted, says how to undo what it switched off, and exits with the documented codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import botocore.client
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from moto import mock_aws

from riskbatch_platform.aws import Target
from riskbatch_platform.deployment import teardown
from riskbatch_platform.deployment.stack import physical_ids
from riskbatch_platform.deployment.teardown import NotDeletable, delete_stack, quiesce, refusal
from test.platform.deployment.test_teardown import ASKED, REGION, running_stack  # noqa: F401 (the fixture)

_REAL_CALL = botocore.client.BaseClient._make_api_call


def refuse(monkeypatch: pytest.MonkeyPatch, operation: str, code: str = "AccessDenied") -> None:
    """AWS refusing one operation (an IAM or SCP deny); every other call goes to the emulator."""

    def call(self: Any, name: str, params: dict[str, Any]) -> Any:
        if name == operation:
            raise ClientError({"Error": {"Code": code, "Message": f"not authorized to perform {name}"}}, name)
        return _REAL_CALL(self, name, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", call)


def _lines() -> tuple[list[str], Callable[[str], None]]:
    said: list[str] = []
    return said, said.append


# "If a user attempts to delete a stack with termination protection enabled, the deletion fails and the stack,
# including its status, remains unchanged." Protect CloudFormation stacks from being deleted:
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-protect-stacks.html
def test_a_protected_stack_is_refused_before_anything_is_stopped(running_stack: Target, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """The emulator has no UpdateTerminationProtection: the running stack's DescribeStacks answer says protection is on."""

    def call(self: Any, name: str, params: dict[str, Any]) -> Any:
        answer = _REAL_CALL(self, name, params)
        if name == "DescribeStacks":
            answer["Stacks"][0]["EnableTerminationProtection"] = True
        return answer

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", call)
    with pytest.raises(NotDeletable, match="termination protection on: nothing stopped or deleted"):
        delete_stack(running_stack, "s", log=lambda line: None)
    assert running_stack.client("events").describe_rule(Name="rule-trigger-sfx")["State"] == "ENABLED"
    assert running_stack.client("ecs").list_tasks(cluster="cluster-x-sfx", desiredStatus="RUNNING")["taskArns"]


def test_a_protected_stack_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws():
        cfn = boto3.client("cloudformation", region_name=REGION)
        parameters = [{"ParameterKey": "EnvironmentSuffix", "ParameterValue": "dev"}]
        cfn.create_stack(StackName="riskbatch-dev", TemplateBody=json.dumps(ASKED), Parameters=parameters, EnableTerminationProtection=True)
        assert teardown.main(["--stack-name", "riskbatch-dev", "--yes", "--region", REGION]) == 1
        assert cfn.describe_stacks(StackName="riskbatch-dev")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    assert capsys.readouterr().err.splitlines()[-1].startswith(
        "riskbatch-teardown: error: riskbatch-dev has termination protection on: nothing stopped or deleted; turn it off"
    )


@pytest.mark.parametrize("status", ["UPDATE_IN_PROGRESS", "CREATE_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS", "DELETE_IN_PROGRESS"])
def test_a_stack_mid_operation_is_refused(status: str) -> None:
    """DescribeStacks' StackStatus: CloudFormation refuses to delete a stack while another operation runs on it
    (API reference, DeleteStack: https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeleteStack.html)."""
    assert refusal({"StackName": "s", "StackStatus": status}) == (
        f"s is {status}: nothing stopped or deleted; wait until that operation ends (describe-stacks), then run the teardown again"
    )
    assert refusal({"StackName": "s", "StackStatus": "ROLLBACK_COMPLETE"}) is None
    assert refusal({"StackName": "s", "StackStatus": "DELETE_FAILED", "EnableTerminationProtection": False}) is None


def test_a_delete_refused_after_the_stop_steps_says_what_was_switched_off_and_how_to_undo_it(
    running_stack: Target,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    said, log = _lines()
    refuse(monkeypatch, "DeleteStack")
    with pytest.raises(ClientError):
        delete_stack(running_stack, "s", log)
    told = "\n".join(said)
    assert "the stack is still there, quiesced" in told
    assert "aws events enable-rule --name rule-trigger-sfx" in told
    assert "aws events enable-rule --name rule-completed-sfx --event-bus-name bus-x-sfx" in told
    assert "schedule schedule-check-sfx: aws scheduler get-schedule --name schedule-check-sfx" in told
    assert "aws ecs update-service --cluster cluster-x-sfx --service svc-x-sfx --desired-count" in told


def test_aws_refusing_the_delete_exits_5_as_documented(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws():
        cfn = boto3.client("cloudformation", region_name=REGION)
        cfn.create_stack(StackName="riskbatch-dev", TemplateBody=json.dumps(ASKED), Parameters=[{"ParameterKey": "EnvironmentSuffix", "ParameterValue": "dev"}])
        refuse(monkeypatch, "DeleteStack")
        assert teardown.main(["--stack-name", "riskbatch-dev", "--yes", "--region", REGION]) == 5
    assert capsys.readouterr().err.splitlines()[-1] == (
        "riskbatch-teardown: error: AWS refused DeleteStack: AccessDenied: not authorized to perform DeleteStack"
    )


def test_a_listing_refused_after_the_delete_is_a_warning_not_a_failed_teardown(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws():
        refuse(monkeypatch, "ListRoles")
        assert teardown.main(["--stack-name", "gone", "--suffix", "dev", "--region", REGION]) == 0
    printed = capsys.readouterr()
    assert "riskbatch-teardown: warning: IAM roles not checked for -dev: AWS refused ListRoles: AccessDenied" in printed.err
    assert printed.out.strip() == "nothing carrying -dev is left (except the 1 kind(s) not checked)"


class _Listing:
    """ListStackResources of a stack whose creation rolled back (ROLLBACK_COMPLETE): the resources CloudFormation
    deleted keep their physical IDs, with ResourceStatus DELETE_COMPLETE. The emulator cannot roll a creation back."""

    def __init__(self, summaries: list[dict[str, str]]) -> None:
        self.summaries = summaries

    def get_paginator(self, operation: str) -> Any:
        assert operation == "list_stack_resources"
        return self

    def paginate(self, StackName: str) -> list[dict[str, Any]]:
        return [{"StackResourceSummaries": self.summaries}]


# StackResourceSummary.ResourceStatus (ListStackResources):
# https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackResourceSummary.html
def test_resources_already_deleted_are_not_stopped_again() -> None:
    summaries = [
        {"LogicalResourceId": "Trigger", "ResourceType": "AWS::Events::Rule", "PhysicalResourceId": "rule-trigger-sfx", "ResourceStatus": "DELETE_COMPLETE"},
        {"LogicalResourceId": "Check", "ResourceType": "AWS::Scheduler::Schedule", "PhysicalResourceId": "sched-sfx", "ResourceStatus": "DELETE_SKIPPED"},
        {"LogicalResourceId": "Queue", "ResourceType": "AWS::SQS::Queue", "PhysicalResourceId": "https://q", "ResourceStatus": "DELETE_FAILED"},
        {"LogicalResourceId": "Service", "ResourceType": "AWS::ECS::Service", "PhysicalResourceId": "arn:s/c/svc", "ResourceStatus": "CREATE_COMPLETE"},
    ]
    assert physical_ids(_Listing(summaries), "s") == {"Queue": ("AWS::SQS::Queue", "https://q"), "Service": ("AWS::ECS::Service", "arn:s/c/svc")}


def test_a_second_teardown_treats_what_is_gone_as_stopped(running_stack: Target) -> None:  # noqa: F811
    """After DELETE_FAILED some resources are gone while the stack still lists them: the stop steps carry on."""
    events, ecs = running_stack.client("events"), running_stack.client("ecs")
    events.delete_rule(Name="rule-trigger-sfx")
    running_stack.client("scheduler").delete_schedule(Name="schedule-check-sfx")
    ecs.delete_service(cluster="cluster-x-sfx", service="svc-x-sfx", force=True)
    said, log = _lines()
    quiesce(running_stack, "s", log)
    assert {"rule rule-trigger-sfx: already gone", "schedule schedule-check-sfx: already gone", "rule rule-completed-sfx: disabled"} <= set(said)
    assert events.describe_rule(Name="rule-completed-sfx", EventBusName="bus-x-sfx")["State"] == "DISABLED"
    assert ecs.list_tasks(cluster="cluster-x-sfx", desiredStatus="RUNNING")["taskArns"] == []


# A change set of ChangeSetType CREATE leaves the stack REVIEW_IN_PROGRESS, with no resources and no parameters, until
# it is executed or the stack deleted (API reference, CreateChangeSet, ChangeSetType:
# https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html).
def test_a_stack_left_under_review_by_a_failed_first_deployment_is_deleted(capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws():
        cfn = boto3.client("cloudformation", region_name=REGION)
        template = json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}})
        cfn.create_change_set(StackName="riskbatch-new", ChangeSetName="first", TemplateBody=template, ChangeSetType="CREATE")
        under_review = cfn.describe_stacks(StackName="riskbatch-new")["Stacks"][0]
        assert under_review["StackStatus"] == "REVIEW_IN_PROGRESS" and refusal(under_review) is None
        assert teardown.main(["--stack-name", "riskbatch-new", "--region", REGION, "--yes"]) == 2  # no parameters: the suffix must be named
        assert "name its suffix with --suffix S" in capsys.readouterr().err
        assert teardown.main(["--stack-name", "riskbatch-new", "--suffix", "new", "--region", REGION]) == 2  # not confirmed (no terminal)
        assert teardown.main(["--stack-name", "riskbatch-new", "--suffix", "new", "--region", REGION, "--yes"]) == 0
        assert not [s for s in cfn.list_stacks()["StackSummaries"] if s["StackName"] == "riskbatch-new" and s["StackStatus"] != "DELETE_COMPLETE"]
    printed = capsys.readouterr()
    assert "riskbatch-new: deleted" in printed.err and "nothing carrying -new is left" in printed.out


def _failing_at(monkeypatch: pytest.MonkeyPatch, operation: str, error: BaseException) -> None:
    """A stub for what the emulator cannot do: one operation times out or is interrupted; every other call goes to the emulator."""

    def call(self: Any, name: str, params: dict[str, Any]) -> Any:
        if name == operation:
            raise error
        return _REAL_CALL(self, name, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", call)


@pytest.mark.parametrize(
    "error",
    [EndpointConnectionError(endpoint_url="https://ecs.us-east-1.amazonaws.com"), ReadTimeoutError(endpoint_url="https://ecs.us-east-1.amazonaws.com"),
     KeyboardInterrupt()],
    ids=["endpoint-connection", "read-timeout", "interrupted"],
)  # fmt: skip
def test_a_stop_step_cut_short_still_says_what_was_switched_off(running_stack: Target, monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:  # noqa: F811
    said, log = _lines()
    _failing_at(monkeypatch, "StopTask", error)  # the rules and schedules are disabled and the services at zero by then
    with pytest.raises(type(error)):
        delete_stack(running_stack, "s", log)
    told = "\n".join(said)
    assert "the stack is still there, quiesced" in told and "aws events enable-rule --name rule-trigger-sfx" in told
    assert "aws ecs update-service --cluster cluster-x-sfx --service svc-x-sfx --desired-count" in told


# The stack_delete_complete waiter polls DescribeStacks and fails on a DELETE_FAILED status ("CloudFormation.Waiter.StackDeleteComplete":
# https://boto3.amazonaws.com/v1/documentation/api/latest/reference/services/cloudformation/waiter/StackDeleteComplete.html; the
# acceptors are botocore's own, which this test runs). A stub for what the emulator cannot do: the first DescribeStacks after
# DeleteStack still shows the deletion that failed before; everything else goes to the emulator.
def test_a_delete_failed_stack_is_deleted_again_though_its_old_status_shows_at_first(running_stack: Target, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    deleted, stale_answers, slept = [False], [1], []

    def call(self: Any, name: str, params: dict[str, Any]) -> Any:
        if name == "DeleteStack":
            deleted[0] = True
        if name == "DescribeStacks" and deleted[0] and stale_answers[0]:
            stale_answers[0] -= 1
            return {"Stacks": [{"StackName": "s", "StackStatus": "DELETE_FAILED", "CreationTime": "2026-12-01T00:00:00Z"}]}
        answer = _REAL_CALL(self, name, params)
        if name == "DescribeStacks" and not deleted[0]:
            answer["Stacks"][0]["StackStatus"] = "DELETE_FAILED"  # a deletion that failed before this teardown
        return answer

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", call)
    said, log = _lines()
    delete_stack(running_stack, "s", log, sleep=slept.append)
    assert said[-1] == "s: deleted" and slept and not stale_answers[0]

"""The EventBridge fixes (src/riskbatch_platform/local/emulator/events.py): each defect or missing rule is there in moto as shipped, and gone with the fix.

The Ref of a rule on a custom bus and of a bus, ECS targets stored in the API's shape, and delivery to a queue
encrypted with a key whose policy must allow EventBridge. Runs moto in-process (mock_aws).
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from riskbatch_platform.local import emulator
from test.platform.local.emulator.support import ACCOUNT, REGION, _deploy, patched

RULE_ON_A_BUS = {
    "Resources": {
        "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "bus-x"}},
        "Rule": {"Type": "AWS::Events::Rule", "Properties": {"Name": "rule-x", "EventBusName": "bus-x", "EventPattern": {"source": ["x"]}}, "DependsOn": "Bus"},
    },
    "Outputs": {"RuleRef": {"Value": {"Ref": "Rule"}}},
}


def test_moto_returns_the_bare_name_for_the_ref_of_a_rule_on_a_custom_bus(aws: None) -> None:
    assert _deploy(RULE_ON_A_BUS)["RuleRef"] == "rule-x"


def test_the_ref_of_a_rule_on_a_custom_bus_is_bus_and_name_and_the_stack_still_deletes(aws: None) -> None:
    with patched(emulator.events.events_rule_ref_on_a_custom_bus):
        assert _deploy(RULE_ON_A_BUS)["RuleRef"] == "bus-x|rule-x"
        cfn = boto3.client("cloudformation", region_name=REGION)
        stack_id = cfn.describe_stacks(StackName="s")["Stacks"][0]["StackId"]
        cfn.delete_stack(StackName="s")
        assert cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
        assert [bus["Name"] for bus in boto3.client("events", region_name=REGION).list_event_buses()["EventBuses"]] == ["default"]


RULE_WITH_ECS_TARGET = {
    "Resources": {
        "Rule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Name": "rule-x",
                "EventPattern": {"source": ["x"]},
                "Targets": [
                    {
                        "Id": "task",
                        "Arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/c1",
                        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/trigger",
                        "EcsParameters": {
                            "TaskDefinitionArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/t:1",
                            "CapacityProviderStrategy": [{"CapacityProvider": "FARGATE", "Weight": 1, "Base": 0}],
                            "NetworkConfiguration": {"AwsVpcConfiguration": {"Subnets": ["subnet-1"], "AssignPublicIp": "DISABLED"}},
                        },
                    }
                ],
            },
        }
    }
}


def _ecs_target() -> dict[str, Any]:
    _deploy(RULE_WITH_ECS_TARGET)
    (target,) = boto3.client("events", region_name=REGION).list_targets_by_rule(Rule="rule-x")["Targets"]
    return target["EcsParameters"]


def test_moto_stores_ecs_targets_in_cloudformations_casing(aws: None) -> None:
    parameters = _ecs_target()
    assert "awsvpcConfiguration" not in parameters.get("NetworkConfiguration", {})


def test_ecs_targets_are_stored_in_the_api_shape(aws: None) -> None:
    with patched(emulator.events.events_ecs_targets_in_the_api_shape):
        parameters = _ecs_target()
    assert parameters["NetworkConfiguration"]["awsvpcConfiguration"]["Subnets"] == ["subnet-1"]
    assert parameters["CapacityProviderStrategy"] == [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}]


BUS_REF = {
    "Resources": {"Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "bus-x"}}},
    "Outputs": {"BusRef": {"Value": {"Fn::Sub": "${Bus}"}}},
}


def _bus_ref_and_id() -> tuple[str, str]:
    outputs = _deploy(BUS_REF)
    (resource,) = boto3.client("cloudformation", region_name=REGION).list_stack_resources(StackName="s")["StackResourceSummaries"]
    return outputs["BusRef"], resource.get("PhysicalResourceId", "")


def test_moto_refs_the_bus_as_an_object(aws: None) -> None:
    reference, physical = _bus_ref_and_id()
    assert reference != "bus-x" and physical != "bus-x"


def test_the_ref_of_a_bus_is_its_name(aws: None) -> None:
    with patched(emulator.events.events_bus_ref_is_its_name):
        assert _bus_ref_and_id() == ("bus-x", "bus-x")


# EventBridge's KMS request carries no aws:SourceAccount / aws:SourceArn / aws:SourceOrgID
# (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html): a key statement for
# events.amazonaws.com conditioned on them never applies, and the event never reaches the queue.
def _delivered_to_an_encrypted_queue(condition: dict[str, Any] | None) -> int:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
    }
    if condition:
        statement["Condition"] = condition
    root = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}
    policy = {"Version": "2012-10-17", "Statement": [root, statement]}
    key = boto3.client("kms", region_name=REGION).create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="sqs-report-x", Attributes={"KmsMasterKeyId": key})["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events", region_name=REGION)
    events.put_rule(Name="rule-run-completed-x", EventPattern=json.dumps({"source": ["riskbatch"]}))
    events.put_targets(Rule="rule-run-completed-x", Targets=[{"Id": "queue", "Arn": queue_arn}])
    events.put_events(Entries=[{"Source": "riskbatch", "DetailType": "RunCompleted", "Detail": "{}"}])
    return len(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []))


_SOURCE_ACCOUNT = {"StringEquals": {"aws:SourceAccount": ACCOUNT}}


def test_moto_delivers_to_an_encrypted_queue_whatever_the_key_policy(aws: None) -> None:
    assert _delivered_to_an_encrypted_queue(_SOURCE_ACCOUNT) == 1


def test_eventbridge_delivery_to_an_encrypted_queue_needs_the_key(aws: None) -> None:
    with patched(emulator.events.eventbridge_delivery_to_an_encrypted_queue_needs_the_key), pytest.warns(UserWarning, match="event dropped"):
        assert _delivered_to_an_encrypted_queue(_SOURCE_ACCOUNT) == 0


def test_eventbridge_delivers_to_an_encrypted_queue_its_key_policy_allows(aws: None) -> None:
    with patched(emulator.events.eventbridge_delivery_to_an_encrypted_queue_needs_the_key):
        assert _delivered_to_an_encrypted_queue(None) == 1

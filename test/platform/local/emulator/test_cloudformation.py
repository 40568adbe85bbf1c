"""The CloudFormation fixes (src/riskbatch_platform/local/emulator/cloudformation.py): each defect is there in moto as shipped, and gone with the fix.

Change sets (outputs, exports, tags, service role, each changed value, replacements), UsePreviousValue, switched-off
outputs, deleted stacks that stay deleted, each resource's events, AWS::NoValue in a list, a deletion policy
from AWS::LanguageExtensions, and a resource an update switches on. Runs moto in-process (mock_aws).
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from riskbatch_platform.local import emulator
from test.platform.local.emulator.support import ACCOUNT, REGION, _code, _deploy, patched

WITH_OUTPUT = {
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "sns-x"}}},
    "Outputs": {"TopicArn": {"Value": {"Ref": "Topic"}, "Export": {"Name": "export-x"}}},
}


def _deploy_by_change_set() -> dict[str, str]:
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_change_set(StackName="cs", TemplateBody=json.dumps(WITH_OUTPUT), ChangeSetName="c1", ChangeSetType="CREATE")
    cfn.execute_change_set(ChangeSetName="c1", StackName="cs")
    (stack,) = cfn.describe_stacks(StackName="cs")["Stacks"]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def test_change_sets_set_no_outputs_in_moto(aws: None) -> None:
    assert _deploy_by_change_set() == {}


def test_change_sets_set_outputs_and_exports(aws: None) -> None:
    with patched(emulator.cloudformation.change_sets_update_outputs_and_exports):
        assert _deploy_by_change_set()["TopicArn"].endswith(":sns-x")
        assert [export["Name"] for export in boto3.client("cloudformation", region_name=REGION).list_exports()["Exports"]] == ["export-x"]


def _tags_after_an_update_by_change_set() -> tuple[dict[str, str], str | None]:
    cfn = boto3.client("cloudformation", region_name=REGION)
    body = json.dumps(WITH_OUTPUT)
    cfn.create_change_set(StackName="cs", TemplateBody=body, ChangeSetName="c1", ChangeSetType="CREATE", Tags=[{"Key": "a", "Value": "1"}])
    cfn.execute_change_set(ChangeSetName="c1", StackName="cs")
    role = f"arn:aws:iam::{ACCOUNT}:role/role-cloudformation-x"
    tags = [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
    cfn.create_change_set(StackName="cs", TemplateBody=body, ChangeSetName="c2", ChangeSetType="UPDATE", Tags=tags, RoleARN=role)
    cfn.execute_change_set(ChangeSetName="c2", StackName="cs")
    (stack,) = cfn.describe_stacks(StackName="cs")["Stacks"]
    return {tag["Key"]: tag["Value"] for tag in stack.get("Tags", [])}, stack.get("RoleARN")


def test_moto_change_sets_keep_the_first_tags_and_role(aws: None) -> None:
    assert _tags_after_an_update_by_change_set() == ({"a": "1"}, None)


def test_change_sets_set_the_stacks_tags_and_service_role(aws: None) -> None:
    with patched(emulator.cloudformation.change_sets_update_outputs_and_exports):
        assert _tags_after_an_update_by_change_set() == ({"a": "1", "b": "2"}, f"arn:aws:iam::{ACCOUNT}:role/role-cloudformation-x")


TAGGED_QUEUE = {
    "Parameters": {"ImageTag": {"Type": "String", "Default": "1.0.0"}, "Suffix": {"Type": "String"}},
    "Resources": {
        "Queue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": {"Fn::Sub": "sqs-x-${Suffix}"}, "Tags": [{"Key": "image", "Value": {"Ref": "ImageTag"}}]},
        }
    },
}


def _parameter_only_change(suffix: str = "dev") -> list[dict[str, Any]]:
    """A stack, then a change set that changes ImageTag alone and keeps Suffix; its described changes."""
    return _parameter_only_change_in("p", suffix)


def _parameter_only_change_in(stack_name: str, suffix: str) -> list[dict[str, Any]]:
    cfn = boto3.client("cloudformation", region_name=REGION)
    body = json.dumps(TAGGED_QUEUE)
    first = [{"ParameterKey": "Suffix", "ParameterValue": "dev"}]
    cfn.create_change_set(StackName=stack_name, TemplateBody=body, ChangeSetName="c1", ChangeSetType="CREATE", Parameters=first)
    cfn.execute_change_set(ChangeSetName="c1", StackName=stack_name)
    parameters = [{"ParameterKey": "ImageTag", "ParameterValue": "1.0.1"}]
    parameters.append({"ParameterKey": "Suffix", "UsePreviousValue": True} if suffix == "dev" else {"ParameterKey": "Suffix", "ParameterValue": suffix})
    cfn.create_change_set(StackName=stack_name, TemplateBody=body, ChangeSetName="c2", ChangeSetType="UPDATE", Parameters=parameters)
    return cfn.describe_change_set(StackName=stack_name, ChangeSetName="c2", IncludePropertyValues=True)["Changes"]


KEPT_TASK_DEFINITION = {
    "Parameters": {"ImageTag": {"Type": "String", "Default": "1.0.0"}, "Cpu": {"Type": "Number", "Default": 256}, "Suffix": {"Type": "String"}},
    "Resources": {
        "Task": {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                "Family": {"Fn::Sub": "task-x-${Suffix}"},
                "Cpu": {"Ref": "Cpu"},
                "ContainerDefinitions": [{"Name": "x", "Image": {"Fn::Sub": "repo:${ImageTag}"}, "Memory": 512}],
            },
        }
    },
}


def _revision_after_an_update_that_keeps_everything() -> tuple[int, list[dict[str, Any]]]:
    cfn = boto3.client("cloudformation", region_name=REGION)
    body = json.dumps(KEPT_TASK_DEFINITION)
    first = [{"ParameterKey": "Suffix", "ParameterValue": "dev"}]
    cfn.create_change_set(StackName="k", TemplateBody=body, ChangeSetName="c1", ChangeSetType="CREATE", Parameters=first)
    cfn.execute_change_set(ChangeSetName="c1", StackName="k")
    kept = [{"ParameterKey": key, "UsePreviousValue": True} for key in ("ImageTag", "Cpu", "Suffix")]
    topic = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "sns-k"}}
    edited = {**KEPT_TASK_DEFINITION, "Resources": {**KEPT_TASK_DEFINITION["Resources"], "Topic": topic}}
    cfn.create_change_set(StackName="k", TemplateBody=json.dumps(edited), ChangeSetName="c2", ChangeSetType="UPDATE", Parameters=kept)
    cfn.execute_change_set(ChangeSetName="c2", StackName="k")
    revision = boto3.client("ecs", region_name=REGION).describe_task_definition(taskDefinition="task-x-dev")["taskDefinition"]["revision"]
    return revision, cfn.describe_stacks(StackName="k")["Stacks"][0]["Parameters"]


def test_moto_replaces_what_refers_to_a_parameter_kept_at_its_default(aws: None) -> None:
    with patched(emulator.cloudformation.change_sets_update_outputs_and_exports):
        revision, _ = _revision_after_an_update_that_keeps_everything()
        assert revision == 2


def test_use_previous_value_keeps_the_values_and_replaces_nothing(aws: None) -> None:
    with patched(emulator.cloudformation.change_sets_update_outputs_and_exports, emulator.cloudformation.parameters_kept_with_use_previous_value):
        revision, parameters = _revision_after_an_update_that_keeps_everything()
        assert revision == 1
        assert {item["ParameterKey"]: item["ParameterValue"] for item in parameters} == {"ImageTag": "1.0.0", "Cpu": "256", "Suffix": "dev"}


def test_moto_change_sets_miss_a_change_made_through_a_parameter(aws: None) -> None:
    with patched(emulator.cloudformation.change_sets_update_outputs_and_exports):
        assert _parameter_only_change() == []


def test_change_sets_list_each_changed_value_before_and_after(aws: None) -> None:
    with patched(emulator.cloudformation.change_sets_update_outputs_and_exports, emulator.cloudformation.change_sets_list_each_changed_value):
        (change,) = _parameter_only_change()
        resource = change["ResourceChange"]
        assert (resource["Action"], resource["LogicalResourceId"], resource["Replacement"]) == ("Modify", "Queue", "False")
        (detail,) = resource["Details"]
        assert detail["Target"] == {
            "Attribute": "Properties", "Name": "Tags", "Path": "/Properties/Tags/0/Value", "RequiresRecreation": "Never",
            "AttributeChangeType": "Modify", "BeforeValue": "1.0.0", "AfterValue": "1.0.1",
        }  # fmt: skip


def test_a_change_made_through_a_parameter_names_the_parameter(aws: None) -> None:
    """ResourceChangeDetail: ChangeSource ParameterReference, and CausingEntity the parameter's name (API reference,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChangeDetail.html)."""
    with patched(emulator.cloudformation.change_sets_update_outputs_and_exports, emulator.cloudformation.change_sets_list_each_changed_value):
        (change,) = _parameter_only_change()
        (detail,) = change["ResourceChange"]["Details"]
        assert (detail["ChangeSource"], detail["CausingEntity"], detail["Target"]["Name"]) == ("ParameterReference", "ImageTag", "Tags")
        (renamed,) = _parameter_only_change_in("q", suffix="prod")
        causes = {(d["Target"]["Name"], d.get("ChangeSource"), d.get("CausingEntity")) for d in renamed["ResourceChange"]["Details"]}
        assert causes == {("QueueName", "ParameterReference", "Suffix"), ("Tags", "ParameterReference", "ImageTag")}


def test_a_changed_create_only_property_is_a_replacement(aws: None) -> None:
    with patched(emulator.cloudformation.change_sets_update_outputs_and_exports, emulator.cloudformation.change_sets_list_each_changed_value):
        (change,) = _parameter_only_change(suffix="prod")
        resource = change["ResourceChange"]
        assert resource["Replacement"] == "True"
        renamed = [d["Target"] for d in resource["Details"] if d["Target"]["Name"] == "QueueName"]
        assert renamed == [
            {
                "Attribute": "Properties", "Name": "QueueName", "Path": "/Properties/QueueName", "RequiresRecreation": "Always",
                "AttributeChangeType": "Modify", "BeforeValue": "sqs-x-dev", "AfterValue": "sqs-x-prod",
            }
        ]  # fmt: skip


# a topic the parameter On switches on (off by default), beside one always there
SWITCHED = {
    "Parameters": {"On": {"Type": "String", "Default": "false"}},
    "Conditions": {"IsOn": {"Fn::Equals": [{"Ref": "On"}, "true"]}},
    "Resources": {
        "Always": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "sns-always"}},
        "Switched": {"Type": "AWS::SNS::Topic", "Condition": "IsOn", "Properties": {"TopicName": "sns-switched"}},
    },
}
# the same with an export of each topic, the switched one's output switched off with it
SWITCHED_OFF_EXPORT = {
    **SWITCHED,
    "Outputs": {
        "AlwaysArn": {"Value": {"Ref": "Always"}, "Export": {"Name": "export-always"}},
        "SwitchedName": {"Condition": "IsOn", "Value": {"Fn::GetAtt": ["Switched", "TopicName"]}, "Export": {"Name": "export-switched"}},
    },
}


def test_moto_evaluates_the_export_of_a_switched_off_output(aws: None) -> None:
    assert _code(lambda: _deploy(SWITCHED_OFF_EXPORT)) == "ValidationError"


def test_a_switched_off_output_exports_nothing(aws: None) -> None:
    with patched(emulator.cloudformation.switched_off_outputs_export_nothing):
        assert list(_deploy(SWITCHED_OFF_EXPORT)) == ["AlwaysArn"]
        assert [export["Name"] for export in boto3.client("cloudformation", region_name=REGION).list_exports()["Exports"]] == ["export-always"]


def _repository_after_describing_the_deleted_stack() -> list[str]:
    stack_id = boto3.client("cloudformation", region_name=REGION).create_stack(StackName="s", TemplateBody=json.dumps(WITH_REPOSITORY_OUTPUT))["StackId"]
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.delete_stack(StackName=stack_id)
    cfn.describe_stacks(StackName=stack_id)  # as a waiter or taskcat polls
    return [r["repositoryName"] for r in boto3.client("ecr", region_name=REGION).describe_repositories()["repositories"]]


WITH_REPOSITORY_OUTPUT = {
    "Resources": {"Repo": {"Type": "AWS::ECR::Repository", "Properties": {"RepositoryName": "ecr-x"}}},
    "Outputs": {"RepoUri": {"Value": {"Fn::GetAtt": ["Repo", "RepositoryUri"]}}},
}


def test_moto_recreates_the_resources_of_a_deleted_stack_when_it_is_described(aws: None) -> None:
    assert _repository_after_describing_the_deleted_stack() == ["ecr-x"]


def test_a_deleted_stack_stays_deleted_when_it_is_described(aws: None) -> None:
    with patched(emulator.cloudformation.deleted_stacks_stay_deleted):
        assert _repository_after_describing_the_deleted_stack() == []


EVENTS_STACK = {
    "Resources": {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "sqs-events-x"}},
        "Policy": {  # a type moto does not model: no resource, so no event
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {"Queues": [{"Ref": "Queue"}], "PolicyDocument": {"Statement": []}},
        },
    }
}


def _resource_events() -> list[tuple[str, str, str]]:
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_stack(StackName="stack-events", TemplateBody=json.dumps(EVENTS_STACK))
    events = reversed(cfn.describe_stack_events(StackName="stack-events")["StackEvents"])  # newest first
    return [(e["LogicalResourceId"], e["ResourceType"], e["ResourceStatus"]) for e in events if e["LogicalResourceId"] != "stack-events"]


def test_moto_writes_no_event_for_a_resource(aws: None) -> None:
    assert _resource_events() == []


def test_each_created_resource_has_its_events(aws: None) -> None:
    with patched(emulator.cloudformation.stack_events_name_each_resource):
        assert _resource_events() == [("Queue", "AWS::SQS::Queue", "CREATE_IN_PROGRESS"), ("Queue", "AWS::SQS::Queue", "CREATE_COMPLETE")]


def test_moto_leaves_a_null_where_no_value_stood_in_a_list(aws: None) -> None:
    from moto.cloudformation import parsing

    assert parsing.clean_json([1, {"Ref": "AWS::NoValue"}], {"AWS::NoValue": None}) == [1, None]


def test_no_value_in_a_list_removes_the_element(aws: None) -> None:
    from moto.cloudformation import parsing

    with patched(emulator.cloudformation.no_value_in_a_list_removes_the_element):
        assert parsing.clean_json([1, {"Ref": "AWS::NoValue"}, [2, {"Ref": "AWS::NoValue"}]], {"AWS::NoValue": None}) == [1, [2]]
        # only NoValue goes: another reference that resolves to nothing keeps its place
        assert parsing.clean_json([1, {"Ref": "Unset"}], {"Unset": None}) == [1, None]


KEPT_IN_PRODUCTION = {
    "Transform": "AWS::LanguageExtensions",
    "Parameters": {"EnvironmentSuffix": {"Type": "String"}},
    "Conditions": {"IsProduction": {"Fn::Equals": [{"Ref": "EnvironmentSuffix"}, "prod"]}},
    "Resources": {
        "Logs": {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": {"Fn::If": ["IsProduction", "Retain", "Delete"]},
            "UpdateReplacePolicy": {"Fn::If": ["IsProduction", "Retain", "Delete"]},
            "Properties": {"LogGroupName": {"Fn::Sub": "log-x-${EnvironmentSuffix}"}},
        }
    },
}


def _deployed_and_deleted(suffix: str) -> list[str]:
    """The log groups left after the stack with this suffix is created and deleted."""
    cfn = boto3.client("cloudformation", region_name=REGION)
    parameters = [{"ParameterKey": "EnvironmentSuffix", "ParameterValue": suffix}]
    cfn.create_stack(StackName=f"s-{suffix}", TemplateBody=json.dumps(KEPT_IN_PRODUCTION), Parameters=parameters, Capabilities=["CAPABILITY_AUTO_EXPAND"])
    assert [group["logGroupName"] for group in boto3.client("logs", region_name=REGION).describe_log_groups()["logGroups"]] == [f"log-x-{suffix}"]
    cfn.delete_stack(StackName=f"s-{suffix}")
    return [group["logGroupName"] for group in boto3.client("logs", region_name=REGION).describe_log_groups()["logGroups"]]


def test_moto_deletes_what_a_conditional_deletion_policy_retains(aws: None) -> None:
    assert _deployed_and_deleted("prod") == []


@pytest.mark.parametrize(("suffix", "left"), [("prod", ["log-x-prod"]), ("dev", [])])
def test_a_conditional_deletion_policy_keeps_the_production_log_group_only(aws: None, suffix: str, left: list[str]) -> None:
    with patched(emulator.cloudformation.deletion_policy_from_the_language_extensions):
        assert _deployed_and_deleted(suffix) == left


def _topics_after_switching_on() -> list[str]:
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_stack(StackName="sw", TemplateBody=json.dumps(SWITCHED))
    cfn.update_stack(StackName="sw", TemplateBody=json.dumps(SWITCHED), Parameters=[{"ParameterKey": "On", "ParameterValue": "true"}])
    return sorted(topic["TopicArn"].rsplit(":", 1)[-1] for topic in boto3.client("sns", region_name=REGION).list_topics()["Topics"])


def test_moto_does_not_create_a_resource_an_update_switches_on(aws: None) -> None:
    assert _topics_after_switching_on() == ["sns-always"]


def test_a_resource_an_update_switches_on_is_created_by_the_update(aws: None) -> None:
    with patched(emulator.cloudformation.resources_switched_on_by_an_update_are_created):
        assert _topics_after_switching_on() == ["sns-always", "sns-switched"]

"""Task network (no ingress, HTTPS out), optional endpoints, outputs for the scripts, and a stack that deletes cleanly."""

from __future__ import annotations

import pytest

from test.conftest import the_template
from test.template_model import Resource, Template, referenced_id

TEMPLATE = the_template()


def _task_security_groups(template: Template) -> set[str]:
    return {
        referenced_id(group)
        for groups in template.find("$..AwsvpcConfiguration.SecurityGroups") + template.find("$..AwsVpcConfiguration.SecurityGroups")
        for group in groups
    }


def security_group_rules(template: Template, group_id: str, direction: str) -> list[dict]:
    """Every rule of a group in one direction, however declared: inline, or as a standalone
    AWS::EC2::SecurityGroupIngress / SecurityGroupEgress resource that names the group."""
    inline = template.get(group_id).props.get(f"SecurityGroup{direction}", [])
    standalone = [rule.props for rule in template.of_type(f"AWS::EC2::SecurityGroup{direction}") if referenced_id(rule.props.get("GroupId")) == group_id]
    return [*inline, *standalone]


def test_task_security_group_has_no_ingress_and_https_egress_only(template: Template) -> None:
    groups = _task_security_groups(template)
    assert groups
    for logical_id in groups:
        assert security_group_rules(template, logical_id, "Ingress") == []
        egress = security_group_rules(template, logical_id, "Egress")
        assert egress, "without an egress rule a group allows all traffic out"
        for rule in egress:
            assert (str(rule["IpProtocol"]), rule.get("FromPort"), rule.get("ToPort")) == ("tcp", 443, 443), rule


def test_every_standalone_rule_names_a_group_of_this_template(template: Template) -> None:
    for kind in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"):
        for rule in template.of_type(kind):
            assert template.get(referenced_id(rule.props["GroupId"])).type == "AWS::EC2::SecurityGroup", rule


def test_no_interface_endpoint_in_the_environment_stack(template: Template) -> None:
    """Private-DNS interface endpoints are one per service per VPC: they live in lib/VpcEndpoints.json."""
    assert template.of_type("AWS::EC2::VPCEndpoint") == []


# output -> the resource (and attribute) it must expose for the scripts and integration tests
REQUIRED_OUTPUTS = {
    "ClusterName": ("RiskBatchCluster", None),
    "ClusterArn": ("RiskBatchCluster", "Arn"),
    "KmsKeyArn": ("RiskBatchKey", "Arn"),
    "AlertTopicArn": ("AlertTopic", None),
    "EventBusName": ("RiskBatchEventBus", None),
    "TaskSecurityGroupId": ("TaskSecurityGroup", None),
    "DataIngestionRepositoryUri": ("DataIngestionRepository", "RepositoryUri"),
    "RiskCalculationRepositoryUri": ("RiskCalculationRepository", "RepositoryUri"),
    "ReportGenerationRepositoryUri": ("ReportGenerationRepository", "RepositoryUri"),
    "DataIngestionTaskDefinitionArn": ("DataIngestionTaskDefinition", None),
    "RiskCalculationTaskDefinitionArn": ("RiskCalculationTaskDefinition", None),
    "ReportGenerationTaskDefinitionArn": ("ReportGenerationTaskDefinition", None),
    "RiskCalculationServiceName": ("RiskCalculationService", "Name"),
    "ReportGenerationServiceName": ("ReportGenerationService", "Name"),
    "RiskWorkQueueUrl": ("RiskWorkQueue", None),
    "RiskWorkDeadLetterQueueUrl": ("RiskWorkDeadLetterQueue", None),
    "ReportQueueUrl": ("ReportQueue", None),
    "ReportDeadLetterQueueUrl": ("ReportDeadLetterQueue", None),
    "EventDeliveryDeadLetterQueueUrl": ("EventDeliveryDeadLetterQueue", None),
    "DataIngestionLogGroupName": ("DataIngestionLogGroup", None),
    "RiskCalculationLogGroupName": ("RiskCalculationLogGroup", None),
    "ReportGenerationLogGroupName": ("ReportGenerationLogGroup", None),
    "TaskEventsLogGroupName": ("TaskEventsLogGroup", None),
    "DataIngestionTriggerRuleName": ("DataIngestionTriggerRule", None),
    "OperationsDashboardName": ("OperationsDashboard", None),
    # A rule on a custom bus: its name as the template gives it (Ref would be "busname|rulename").
    "RunCompletedRuleName": ("RunCompletedRule", "Name property"),
}


@pytest.mark.parametrize(("output", "expected"), sorted(REQUIRED_OUTPUTS.items()))
def test_output_exposes_the_resource(template: Template, output: str, expected: tuple[str, str | None]) -> None:
    assert output in template.doc["Outputs"], f"the scripts read the output {output}"
    value = template.doc["Outputs"][output]["Value"]
    logical_id, attribute = expected
    if attribute is None:
        assert value == {"Ref": logical_id}
    elif attribute == "Name property":
        assert value == template.get(logical_id).props["Name"]
    else:
        assert value == {"Fn::GetAtt": [logical_id, attribute]}


@pytest.mark.parametrize("output", sorted(the_template().doc["Outputs"]))
def test_output_is_described_and_exported_with_the_suffix(template: Template, output: str) -> None:
    body = template.doc["Outputs"][output]
    assert body.get("Description")
    name = body.get("Export", {}).get("Name")
    assert isinstance(name, dict) and str(name.get("Fn::Sub", "")).endswith("-${EnvironmentSuffix}"), f"{output} is exported as {name!r}"


@pytest.mark.parametrize("output", sorted(the_template().doc["Outputs"]))
def test_output_of_a_conditional_resource_shares_its_condition(template: Template, output: str) -> None:
    body = template.doc["Outputs"][output]
    for logical_id in template.referenced_resources(body["Value"]):
        condition = template.resources[logical_id].get("Condition")
        assert body.get("Condition") == condition


@pytest.mark.parametrize("resource", the_template().all_resources(), ids=repr)
def test_resource_is_deleted_with_the_stack(resource: Resource) -> None:
    """In every environment: the literal Delete or nothing, never Retain, RetainExceptOnCreate, Snapshot
    or a function that could yield one (CloudFormation user guide, DeletionPolicy and UpdateReplacePolicy:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-updatereplacepolicy.html;
    resolved per environment in test_audit_retention.py)."""
    for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
        assert resource.body.get(policy, "Delete") == "Delete", f"{policy} = {resource.body[policy]!r}"


def test_template_sections_are_in_the_house_order(template: Template) -> None:
    order = ["AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules", "Conditions", "Resources", "Outputs"]
    assert [key for key in template.doc if key in order] == [key for key in order if key in template.doc]

"""Parameters: grouped, described, constrained; the suffix keeps every derived name within AWS limits."""

from __future__ import annotations

import re

import pytest

from test.template_model import Template

REQUIRED_PARAMETERS = {
    "EnvironmentSuffix": "String",
    "VpcId": "AWS::EC2::VPC::Id",
    "PrivateSubnet1Id": "AWS::EC2::Subnet::Id",
    "PrivateSubnet2Id": "AWS::EC2::Subnet::Id",
    "PrivateSubnet3Id": "AWS::EC2::Subnet::Id",
    "InputBucketName": "String",
    "OutputBucketName": "String",
    "InputKeyPrefix": "String",
    "ImageTag": "String",
    "NotificationEmail": "String",
    "CreateVpcEndpoints": "String",
    "DeployServices": "String",
    "RiskCalculationMinTasks": "Number",
    "RiskCalculationMaxTasks": "Number",
    "ReportGenerationMinTasks": "Number",
    "ReportGenerationMaxTasks": "Number",
}


@pytest.mark.parametrize(("name", "expected_type"), sorted(REQUIRED_PARAMETERS.items()))
def test_required_parameter_is_declared_with_its_type(template: Template, name: str, expected_type: str) -> None:
    assert template.parameters()[name]["Type"] == expected_type


def test_every_parameter_has_a_description(template: Template) -> None:
    missing = [name for name, body in template.parameters().items() if not body.get("Description")]
    assert not missing


def test_every_parameter_sits_in_exactly_one_interface_group(template: Template) -> None:
    groups = template.doc["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    grouped = [name for group in groups for name in group["Parameters"]]
    assert sorted(grouped) == sorted(template.parameters())


def test_free_text_parameters_carry_a_constraint(template: Template) -> None:
    unconstrained = [name for name, body in template.parameters().items() if body["Type"] == "String" and not ({"AllowedPattern", "AllowedValues"} & set(body))]
    assert not unconstrained


def test_numbers_are_bounded(template: Template) -> None:
    unbounded = [name for name, body in template.parameters().items() if body["Type"] == "Number" and not {"MinValue", "MaxValue"} <= set(body)]
    assert not unbounded


def test_switches_only_take_true_or_false(template: Template) -> None:
    for name in ("CreateVpcEndpoints", "DeployServices"):
        assert sorted(template.parameters()[name]["AllowedValues"]) == ["false", "true"]


def test_suffix_admits_taskcats_20_letter_random_string(template: Template) -> None:
    body = template.parameters()["EnvironmentSuffix"]
    assert body["MaxLength"] >= 20 and re.fullmatch(body["AllowedPattern"], "abcdefghijklmnopqrst")


@pytest.mark.parametrize("suffix", ["dev", "pr-1234", "a", "abcdefghijklmnopqrst"])
def test_suffix_pattern_accepts(template: Template, suffix: str) -> None:
    body = template.parameters()["EnvironmentSuffix"]
    assert re.fullmatch(body["AllowedPattern"], suffix) and len(suffix) <= body["MaxLength"]


@pytest.mark.parametrize("suffix", ["Dev", "dev_1", "-dev", "dev-", "has space", "abcdefghijklmnopqrstu"])
def test_suffix_pattern_rejects(template: Template, suffix: str) -> None:
    body = template.parameters()["EnvironmentSuffix"]
    assert not (re.fullmatch(body["AllowedPattern"], suffix) and len(suffix) <= body["MaxLength"])


@pytest.mark.parametrize("email", ["", "risk-ops@example.com"])
def test_notification_email_accepts_empty_or_address(template: Template, email: str) -> None:
    assert re.fullmatch(template.parameters()["NotificationEmail"]["AllowedPattern"], email)


def test_notification_email_rejects_garbage(template: Template) -> None:
    assert not re.fullmatch(template.parameters()["NotificationEmail"]["AllowedPattern"], "not-an-address")


def test_subscription_only_when_an_email_is_given(template: Template) -> None:
    subscriptions = template.of_type("AWS::SNS::Subscription")
    assert subscriptions
    condition = template.doc["Conditions"]["HasNotificationEmail"]
    assert condition == {"Fn::Not": [{"Fn::Equals": [{"Ref": "NotificationEmail"}, ""]}]}
    for subscription in subscriptions:
        assert subscription.body.get("Condition") == "HasNotificationEmail"
        assert subscription.props["Endpoint"] == {"Ref": "NotificationEmail"}

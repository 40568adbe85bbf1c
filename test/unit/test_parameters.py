"""Parameters: grouped, described, constrained; the suffix keeps every derived name within AWS limits."""

from __future__ import annotations

import re

import pytest

from riskbatch_platform.analysis.resolve import evaluate_rules
from riskbatch_platform.deployment.parameter_checks import ORDERED_PARAMETERS, parameter_problems, zone_problems
from test.template_model import REPO_ROOT, REQUIRED_VALUES, Template, load_template

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
    "CreateTaskEventsLogPolicy": "String",
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
    numbers = {name: set(body) for name, body in template.parameters().items() if body["Type"] == "Number"}
    unbounded = [name for name, keys in numbers.items() if not ({"MinValue", "MaxValue"} <= keys or "AllowedValues" in keys)]
    assert not unbounded


def test_switches_only_take_true_or_false(template: Template) -> None:
    for name in ("CreateTaskEventsLogPolicy", "DeployServices"):
        assert sorted(template.parameters()[name].get("AllowedValues", [])) == ["false", "true"], f"{name} takes any value"


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


# --- Rules and orderings, evaluated for good and bad parameter sets --------------------------------
# Rule functions compare strings only (CloudFormation user guide, "Rule functions",
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-rules.html):
# the orderings between numbers are the deploy script's (riskbatch_platform/deployment/parameter_checks.py).
GOOD = REQUIRED_VALUES
SUBNET_VPC = {"subnet-a": "vpc-1", "subnet-b": "vpc-1", "subnet-c": "vpc-1", "subnet-x": "vpc-2", "subnet-a2": "vpc-1"}
SUBNET_ZONE = {"subnet-a": "us-east-1a", "subnet-b": "us-east-1b", "subnet-c": "us-east-1c", "subnet-x": "us-east-1d", "subnet-a2": "us-east-1a"}


def _lookup(kind: str, attribute: str, value: str) -> str:
    assert kind == "AWS::EC2::Subnet::Id" and attribute in ("VpcId", "AvailabilityZone")
    return (SUBNET_VPC if attribute == "VpcId" else SUBNET_ZONE)[value]


def test_good_parameters_pass_every_rule_and_ordering(template: Template) -> None:
    assert parameter_problems(template.doc, GOOD, _lookup) == []


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"PrivateSubnet3Id": "subnet-a"}, "ThreeDistinctPrivateSubnets"),
        ({"PrivateSubnet2Id": "subnet-c"}, "ThreeDistinctPrivateSubnets"),
        ({"PrivateSubnet2Id": "subnet-x"}, "PrivateSubnetsInTheVpc"),
        ({"OutputBucketName": "risk-input"}, "DistinctInputAndOutputBuckets"),
    ],
)
def test_a_bad_parameter_set_breaks_its_rule_with_a_clear_message(template: Template, change: dict, rule: str) -> None:
    failures = evaluate_rules(template.doc, {**GOOD, **change}, _lookup)
    assert [failure.split(":", 1)[0] for failure in failures] == [rule]
    assert all(len(failure.split(": ", 1)[1]) > 20 for failure in failures)


def test_every_rule_assertion_explains_itself(template: Template) -> None:
    rules = template.doc["Rules"]
    assert rules
    for rule in rules.values():
        for assertion in rule["Assertions"]:
            assert assertion["AssertDescription"].endswith(".")


@pytest.mark.parametrize(("lower", "upper"), ORDERED_PARAMETERS)
def test_a_minimum_above_its_maximum_is_refused(template: Template, lower: str, upper: str) -> None:
    bounds = {name: "3" for pair in ORDERED_PARAMETERS for name in pair}
    assert parameter_problems(template.doc, {**GOOD, **bounds}, _lookup) == []
    problems = parameter_problems(template.doc, {**GOOD, **bounds, lower: "4"}, _lookup)
    assert len(problems) == 1 and problems[0].startswith(f"{lower}=4 exceeds {upper}=3")


def test_rules_that_read_the_account_are_skipped_offline(template: Template) -> None:
    """Without a lookup, Fn::ValueOfAll cannot be evaluated; the other rules still are."""
    assert evaluate_rules(template.doc, {**GOOD, "PrivateSubnet2Id": "subnet-x"}) == []
    assert evaluate_rules(template.doc, {**GOOD, "PrivateSubnet2Id": "subnet-a"})


def test_the_vpc_endpoints_template_checks_its_subnets() -> None:
    endpoints = load_template(REPO_ROOT / "lib" / "VpcEndpoints.json")
    values = {key: GOOD[key] for key in ("VpcId", "PrivateSubnet1Id", "PrivateSubnet2Id", "PrivateSubnet3Id")} | {"ClientCidr": "10.0.0.0/16"}
    assert parameter_problems(endpoints, values, _lookup) == []
    assert parameter_problems(endpoints, {**values, "PrivateSubnet3Id": "subnet-x"}, _lookup) == [
        "PrivateSubnetsInTheVpc: All three private subnets must belong to VpcId."
    ]


# "For an interface VPC endpoint, you can specify only one subnet per Availability Zone" (EC2 API
# reference, error codes, DuplicateSubnetsInSameZone; CreateVpcEndpoint,
# https://docs.aws.amazon.com/zh_tw/AWSEC2/latest/APIReference/API_CreateVpcEndpoint.md). CloudFormation
# cannot compare the subnets' zones before it creates the endpoints: the deploy script does.
ENDPOINT_VALUES = {
    "VpcId": "vpc-1",
    "PrivateSubnet1Id": "subnet-a",
    "PrivateSubnet2Id": "subnet-b",
    "PrivateSubnet3Id": "subnet-c",
    "ClientCidr": "10.0.0.0/16",
}


def test_the_endpoints_subnets_must_lie_in_three_zones() -> None:
    endpoints = load_template(REPO_ROOT / "lib" / "VpcEndpoints.json")
    assert parameter_problems(endpoints, ENDPOINT_VALUES, _lookup) == []
    (problem,) = parameter_problems(endpoints, {**ENDPOINT_VALUES, "PrivateSubnet3Id": "subnet-a2"}, _lookup)
    assert problem.startswith("PrivateSubnet1Id=subnet-a and PrivateSubnet3Id=subnet-a2 are both in us-east-1a") and "DuplicateSubnetsInSameZone" in problem


def test_the_zone_check_is_skipped_offline_and_names_an_unknown_subnet() -> None:
    endpoints = load_template(REPO_ROOT / "lib" / "VpcEndpoints.json")
    assert zone_problems(endpoints, {**ENDPOINT_VALUES, "PrivateSubnet3Id": "subnet-a2"}, None) == []
    (problem,) = zone_problems(endpoints, {**ENDPOINT_VALUES, "PrivateSubnet2Id": "subnet-gone"}, _lookup)
    assert problem.startswith("PrivateSubnet2Id=subnet-gone: cannot read its Availability Zone")


def test_deploying_the_endpoints_stack_into_one_zone_is_refused_with_exit_5(capsys: pytest.CaptureFixture[str]) -> None:
    """Against the emulator (moto in-process): riskbatch-deploy looks the zones up and refuses before CloudFormation is called."""
    import boto3
    from moto import mock_aws

    from riskbatch_platform.deployment.deploy import EXIT_PARAMETERS_REFUSED, main

    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        zones = ["us-east-1a", "us-east-1b", "us-east-1a"]
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"] for i, zone in enumerate(zones)]
        arguments = ["--stack-name", "endpoints-x", "--template", str(REPO_ROOT / "lib" / "VpcEndpoints.json"), "--region", "us-east-1"]
        values = {"VpcId": vpc, "ClientCidr": "10.9.0.0/16", **{f"PrivateSubnet{i + 1}Id": subnet for i, subnet in enumerate(subnets)}}
        for key, value in values.items():
            arguments += ["--parameter", f"{key}={value}"]
        assert main(arguments) == EXIT_PARAMETERS_REFUSED
        assert boto3.client("cloudformation", region_name="us-east-1").list_stacks()["StackSummaries"] == []
    captured = capsys.readouterr()
    assert "are both in us-east-1a" in captured.out + captured.err


def test_the_environment_class_is_production_unless_the_stack_declares_otherwise(template: Template) -> None:
    # A stack created without the parameter, or updated without it and without UsePreviousValue, takes its Default
    # ("Parameters template section syntax", https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html):
    # that default is the production floor, and CloudFormation refuses any value AllowedValues does not list.
    body = template.parameters()["EnvironmentClass"]
    assert body["Default"] == "production" and sorted(body["AllowedValues"]) == ["non-production", "production"]

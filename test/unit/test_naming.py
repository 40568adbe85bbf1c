"""Every name is {resource-type}-{purpose}-{environmentSuffix}, fits its AWS limit, and IAM role names carry the region."""

from __future__ import annotations

import re

import pytest

from test.template_model import Resource, Template, substitute
from test.unit.conftest import the_template

# type -> (name property, resource-type word that starts the name, AWS length limit)
NAMED_TYPES = {
    "AWS::ECR::Repository": ("RepositoryName", "ecr", 256),
    "AWS::Logs::LogGroup": ("LogGroupName", "log", 512),
    "AWS::IAM::Role": ("RoleName", "role", 64),
    "AWS::ECS::TaskDefinition": ("Family", "task", 255),
    "AWS::ECS::Cluster": ("ClusterName", "cluster", 255),
    "AWS::ECS::Service": ("ServiceName", "svc", 255),
    "AWS::Events::Rule": ("Name", "rule", 64),
    "AWS::Events::EventBus": ("Name", "bus", 256),
    "AWS::SQS::Queue": ("QueueName", "sqs", 80),
    "AWS::SNS::Topic": ("TopicName", "sns", 256),
    "AWS::KMS::Alias": ("AliasName", "kms", 256),
    "AWS::EC2::SecurityGroup": ("GroupName", "sg", 255),
    "AWS::CloudWatch::Alarm": ("AlarmName", "alarm", 255),
    "AWS::ApplicationAutoScaling::ScalingPolicy": ("PolicyName", "scaling", 256),
    "AWS::Logs::MetricFilter": ("FilterName", "filter", 512),
    "AWS::Logs::ResourcePolicy": ("PolicyName", "logpolicy", 255),
}
# Name prefixes AWS imposes before our own name starts.
SERVICE_PREFIXES = ("alias/", "/aws/events/")
# The longest suffix the parameter admits (taskcat's random string is 20 lowercase letters).
LONGEST_SUFFIX = "a" * the_template().parameters()["EnvironmentSuffix"]["MaxLength"]
LONGEST_REGION = "ap-southeast-7"
PSEUDO = {"AWS::Region": LONGEST_REGION, "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}


def _named_resources() -> list[Resource]:
    template = the_template()
    return [resource for resource_type in NAMED_TYPES for resource in template.of_type(resource_type)]


def _name(resource: Resource, suffix: str = LONGEST_SUFFIX) -> str | None:
    prop = NAMED_TYPES[resource.type][0]
    return substitute(resource.props.get(prop), {"EnvironmentSuffix": suffix, **PSEUDO})


def _strip_service_prefix(name: str) -> str:
    for prefix in SERVICE_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


@pytest.mark.parametrize("resource", _named_resources(), ids=repr)
def test_resource_is_named_from_the_suffix(resource: Resource) -> None:
    prop = NAMED_TYPES[resource.type][0]
    value = resource.props.get(prop)
    assert isinstance(value, dict) and "${EnvironmentSuffix}" in value.get("Fn::Sub", ""), (
        f"{resource.logical_id}.{prop} must be built with Fn::Sub from ${{EnvironmentSuffix}}"
    )


@pytest.mark.parametrize("resource", _named_resources(), ids=repr)
def test_name_follows_type_purpose_suffix(resource: Resource) -> None:
    _, type_word, _ = NAMED_TYPES[resource.type]
    name = _strip_service_prefix(_name(resource, "sfx") or "")
    tail = "-sfx-" + LONGEST_REGION if resource.type == "AWS::IAM::Role" else "-sfx"
    assert re.fullmatch(rf"{type_word}-[a-z0-9]+(-[a-z0-9]+)*{re.escape(tail)}", name), name


@pytest.mark.parametrize("resource", _named_resources(), ids=repr)
def test_name_fits_the_aws_limit_with_the_longest_suffix_and_region(resource: Resource) -> None:
    limit = NAMED_TYPES[resource.type][2]
    name = _name(resource) or ""
    assert len(name) <= limit, f"{name} is {len(name)} characters, limit {limit}"


def test_role_names_carry_the_region(template: Template) -> None:
    roles = template.of_type("AWS::IAM::Role")
    assert roles
    for role in roles:
        assert role.props["RoleName"]["Fn::Sub"].endswith("-${EnvironmentSuffix}-${AWS::Region}"), role


def test_inline_policy_and_scheduled_action_names_carry_the_suffix(template: Template) -> None:
    names = template.find("$.Resources.*.Properties.Policies[*].PolicyName") + template.find("$.Resources.*.Properties.ScheduledActions[*].ScheduledActionName")
    assert names
    for name in names:
        assert "${EnvironmentSuffix}" in name["Fn::Sub"]


def test_name_tags_carry_the_suffix(template: Template) -> None:
    tags = template.find("$.Resources.*.Properties.Tags[?(@.Key == 'Name')].Value")
    assert tags
    for value in tags:
        assert value["Fn::Sub"].endswith("-${EnvironmentSuffix}")


def test_every_type_with_a_name_property_is_covered(template: Template) -> None:
    """A new named type must be added to NAMED_TYPES, or its name escapes these checks."""
    name_like = re.compile(r"^(\w*Name|Family)$")
    ignored = {"AWS::SNS::Subscription", "AWS::EC2::VPCEndpoint"}
    uncovered = {
        resource.type
        for resource in template.all_resources()
        if resource.type not in NAMED_TYPES and resource.type not in ignored and any(name_like.match(prop) for prop in resource.props)
    }
    assert not uncovered

"""Every name is {resource-type}-{purpose}-{environmentSuffix} and meets AWS's own constraints.

The constraints (length, allowed characters, reserved prefixes such as sg- for security groups)
come from the API reference of each create call, cited in riskbatch_platform/analysis/naming.py; every name
is computed with the longest suffix the parameter admits and the longest region name.
"""

from __future__ import annotations

import re

import pytest

from riskbatch_platform.analysis.naming import (
    CONSTRAINTS,
    LONGEST_REGION,
    TEXT_CONSTRAINTS,
    FreeText,
    NamedThing,
    _values_at,
    free_texts,
    longest_suffix,
    named_things,
)
from test.conftest import the_template
from test.template_model import REPO_ROOT, Template, load_template

ENDPOINTS = Template(load_template(REPO_ROOT / "lib" / "VpcEndpoints.json"))
TEMPLATES = {"TapStack": the_template(), "VpcEndpoints": ENDPOINTS}
NAMED = [thing for name, template in TEMPLATES.items() for thing in named_things(template.doc, name)]
# Types whose names are optional and left to AWS (a subscription has none; an endpoint's is a tag).
UNNAMED_TYPES = {"AWS::SNS::Subscription", "AWS::EC2::VPCEndpoint"}


def _id(thing: NamedThing) -> str:
    return f"{thing.template}:{thing.logical_id}.{thing.constraint.prop}"


@pytest.mark.parametrize("thing", NAMED, ids=_id)
def test_name_meets_the_aws_constraints_with_the_longest_suffix_and_region(thing: NamedThing) -> None:
    assert thing.problems == [], f"{thing.longest}: {'; '.join(thing.problems)} (see {thing.constraint.source})"


@pytest.mark.parametrize("thing", NAMED, ids=_id)
def test_name_is_built_from_the_suffix(thing: NamedThing) -> None:
    expression = thing.name_expression
    assert isinstance(expression, dict) and "${EnvironmentSuffix}" in expression.get("Fn::Sub", ""), (
        f"{_id(thing)} must be built with Fn::Sub from ${{EnvironmentSuffix}}"
    )


@pytest.mark.parametrize("thing", NAMED, ids=_id)
def test_name_follows_type_purpose_suffix(thing: NamedThing) -> None:
    suffix = longest_suffix(TEMPLATES[thing.template].doc)
    name = thing.longest.removeprefix("alias/").removeprefix("/aws/events/")
    # IAM roles and CloudWatch dashboards are global to the account: their names carry the region too
    tail = f"-{suffix}-{LONGEST_REGION}" if thing.constraint.prop in ("RoleName", "DashboardName") else f"-{suffix}"
    assert re.fullmatch(rf"{thing.constraint.type_word}-[a-z0-9]+(-[a-z0-9]+)*{re.escape(tail)}", name), name


@pytest.mark.parametrize(
    ("name", "resource_type", "problem"),
    [
        ("sg-riskbatch-tasks-dev", "AWS::EC2::SecurityGroup", "reserved prefix sg-"),
        ("role-" + "x" * 60, "AWS::IAM::Role", "characters, allowed 1-64"),
        ("rule-run-completed-dev|x", "AWS::Events::Rule", "characters outside"),
        ("alias/aws/riskbatch", "AWS::KMS::Alias", "reserved prefix alias/aws/"),
        ("sqs-" + "q" * 77, "AWS::SQS::Queue", "characters, allowed 1-80"),
    ],
)
def test_the_constraints_reject_names_aws_rejects(name: str, resource_type: str, problem: str) -> None:
    """The table can fail: names AWS refuses are caught (the first is the security-group name of the first version)."""
    thing = NamedThing("example", "Example", resource_type, CONSTRAINTS[resource_type], {"Fn::Sub": name}, name)
    assert any(problem in found for found in thing.problems), thing.problems


def test_role_names_carry_the_region(template: Template) -> None:
    roles = template.of_type("AWS::IAM::Role")
    assert roles
    for role in roles:
        assert role.props["RoleName"]["Fn::Sub"].endswith("-${EnvironmentSuffix}-${AWS::Region}"), role


def test_name_tags_carry_the_suffix() -> None:
    tags = [value for template in TEMPLATES.values() for value in template.find("$.Resources.*.Properties.Tags[?(@.Key == 'Name')].Value")]
    assert tags
    for value in tags:
        assert value["Fn::Sub"].endswith("-${EnvironmentSuffix}")


@pytest.mark.parametrize("template_name", sorted(TEMPLATES))
def test_every_type_with_a_name_property_is_covered(template_name: str) -> None:
    """A new named type must get its constraint in riskbatch_platform/analysis/naming.py, or its name escapes these checks."""
    name_like = re.compile(r"^(\w*Name|Family)$")
    uncovered = {
        resource.type
        for resource in TEMPLATES[template_name].all_resources()
        if resource.type not in CONSTRAINTS and resource.type not in UNNAMED_TYPES and any(name_like.match(prop) for prop in resource.props)
    }
    assert not uncovered


# --- free texts: descriptions and display names ---------------------------------------------------
# The constraints are in riskbatch_platform/analysis/naming.py (TEXT_CONSTRAINTS), each with its API reference.
# EC2 (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IpRange.html and botocore's EC2
# model): security-group and rule descriptions take only a-zA-Z0-9 ._-:/()#,@[]+=&;{}!$*, at most
# 255 characters; cfn-lint and moto accept an apostrophe, and EC2 rolls the stack back.
TEXTS = [text for name, template in TEMPLATES.items() for text in free_texts(template.doc, name)]


def _text_id(text: FreeText) -> str:
    return f"{text.template}:{text.logical_id}.{'.'.join(text.constraint.path)}"


@pytest.mark.parametrize("text", TEXTS, ids=_text_id)
def test_free_text_meets_the_aws_constraints(text: FreeText) -> None:
    assert text.problems == [], f"{text.text!r}: {'; '.join(text.problems)} (see {text.constraint.source})"


@pytest.mark.parametrize(("resource_type", "path"), [(kind, c.path) for kind, cs in TEXT_CONSTRAINTS.items() for c in cs])
def test_every_constrained_free_text_of_the_templates_is_checked(resource_type: str, path: tuple[str, ...]) -> None:
    """Found by type: each constrained text the templates write is among the checked ones."""
    written = [
        (name, logical_id)
        for name, template in TEMPLATES.items()
        for logical_id, body in template.doc["Resources"].items()
        if body["Type"] == resource_type and _values_at(body.get("Properties", {}), path)
    ]
    checked = {(text.template, text.logical_id) for text in TEXTS if text.resource_type == resource_type and text.constraint.path == path}
    assert set(written) <= checked


def test_every_security_group_text_is_checked() -> None:
    """The descriptions EC2 constrains are there to check, in both templates (so the test above cannot pass empty)."""
    ec2 = {(text.template, text.constraint.path[0]) for text in TEXTS if text.resource_type == "AWS::EC2::SecurityGroup"}
    assert {("TapStack", "GroupDescription"), ("TapStack", "SecurityGroupEgress"), ("VpcEndpoints", "SecurityGroupIngress")} <= ec2


def test_free_text_in_both_branches_of_a_condition_is_checked() -> None:
    rule = {"Type": "AWS::Events::Rule", "Properties": {"Description": {"Fn::If": ["C", "fine", {"Fn::Sub": "x" * 513}]}}}
    parameters = {"EnvironmentSuffix": {"Type": "String", "MaxLength": 5}}
    template = {"Parameters": parameters, "Conditions": {"C": {"Fn::Equals": ["a", "a"]}}, "Resources": {"R": rule}}
    texts = free_texts(template, "example")
    assert [bool(text.problems) for text in texts] == [False, True]


@pytest.mark.parametrize(
    ("text", "resource_type", "path", "problem"),
    [
        ("HTTPS from the private subnets' tasks", "AWS::EC2::SecurityGroup", ("SecurityGroupIngress", "*", "Description"), "characters outside"),
        ("Tasks \u2013 no inbound", "AWS::EC2::SecurityGroup", ("GroupDescription",), "characters outside"),
        ("x" * 256, "AWS::EC2::SecurityGroup", ("SecurityGroupEgress", "*", "Description"), "characters, allowed 0-255"),
        ("", "AWS::EC2::SecurityGroup", ("GroupDescription",), "characters, allowed 1-255"),
        ("role \u2192 queue", "AWS::IAM::Role", ("Description",), "characters outside"),
        ("r" * 513, "AWS::Events::Rule", ("Description",), "characters, allowed 0-512"),
        ("s" * 513, "AWS::Scheduler::Schedule", ("Description",), "characters, allowed 0-512"),
        ("a" * 1025, "AWS::CloudWatch::Alarm", ("AlarmDescription",), "characters, allowed 0-1024"),
        ("d" * 101, "AWS::SNS::Topic", ("DisplayName",), "characters, allowed 0-100"),
    ],
)
def test_the_text_constraints_reject_texts_aws_rejects(text: str, resource_type: str, path: tuple[str, ...], problem: str) -> None:
    """The table can fail: the first case is the endpoints stack's ingress rule description that rolled it back."""
    (constraint,) = [c for c in TEXT_CONSTRAINTS[resource_type] if c.path == path]
    found = FreeText("example", "Example", resource_type, constraint, text).problems
    assert any(problem in each for each in found), found

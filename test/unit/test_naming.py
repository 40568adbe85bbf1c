"""Every name is {resource-type}-{purpose}-{environmentSuffix} and meets AWS's own constraints.

The constraints (length, allowed characters, reserved prefixes such as sg- for security groups)
come from the API reference of each create call, cited in riskbatch_infra/naming.py; every name
is computed with the longest suffix the parameter admits and the longest region name.
"""

from __future__ import annotations

import re

import pytest

from riskbatch_infra.naming import CONSTRAINTS, LONGEST_REGION, NamedThing, longest_suffix, named_things
from test.template_model import REPO_ROOT, Template, load_template
from test.unit.conftest import the_template

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
    """A new named type must get its constraint in riskbatch_infra/naming.py, or its name escapes these checks."""
    name_like = re.compile(r"^(\w*Name|Family)$")
    uncovered = {
        resource.type
        for resource in TEMPLATES[template_name].all_resources()
        if resource.type not in CONSTRAINTS and resource.type not in UNNAMED_TYPES and any(name_like.match(prop) for prop in resource.props)
    }
    assert not uncovered

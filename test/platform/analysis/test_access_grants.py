"""make review: access granted other than by a policy statement (a managed policy attached, a permissions boundary
removed or changed, a policy attached to more roles, a repository or event bus policy, an egress rule to everyone),
on lib/TapStack.json, resources found by type and relation."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from riskbatch_platform.analysis.review import Finding, review_templates
from test.template_model import Template, referenced_id

ADMINISTRATOR = "arn:aws:iam::aws:policy/AdministratorAccess"
BOUNDARY = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/riskbatch-boundary"}
OTHER_ACCOUNT_ROOT = "arn:aws:iam::999999999999:root"


def _flagged(before: dict[str, Any], after: dict[str, Any], category: str = "iam") -> list[Finding]:
    return [f for f in review_templates(before, after).findings if f.category == category and f.needs_security_review]


def _edited(template: Template, edit: Callable[[dict[str, Any]], None], base: Callable[[dict[str, Any]], None] | None = None) -> tuple[dict, dict]:
    before = copy.deepcopy(template.doc)
    if base:
        base(before)
    after = copy.deepcopy(before)
    edit(after)
    return before, after


def _task_role(template: Template) -> str:
    """The role the risk calculation's tasks run as (its task definition's TaskRoleArn)."""
    (definition,) = [d for d in template.of_type("AWS::ECS::TaskDefinition") if "RiskCalculation" in d.logical_id]
    return referenced_id(definition.props["TaskRoleArn"])


def _task_security_group(template: Template) -> str:
    """The security group the risk calculation's service runs its tasks in."""
    (service,) = [s for s in template.of_type("AWS::ECS::Service") if "RiskCalculation" in s.logical_id]
    (group,) = service.props["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
    return referenced_id(group)


# A role's ManagedPolicyArns attaches those managed policies to it (CloudFormation User Guide, AWS::IAM::Role:
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-iam-role.html).
def test_a_managed_policy_attached_to_a_role_needs_a_security_reviewer(template: Template) -> None:
    role = _task_role(template)
    before, after = _edited(template, lambda doc: doc["Resources"][role]["Properties"].setdefault("ManagedPolicyArns", []).append(ADMINISTRATOR))
    (finding,) = _flagged(before, after)
    assert finding.subject == role and ADMINISTRATOR in finding.change, finding


# A permissions boundary sets "the maximum permissions that an identity-based policy can grant to an IAM entity"
# ("Permissions boundaries for IAM entities": https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html):
# taken away or changed, the role's own policies may grant more.
def test_a_permissions_boundary_removed_or_changed_needs_a_security_reviewer(template: Template) -> None:
    role = _task_role(template)

    def bounded(doc: dict) -> None:
        doc["Resources"][role]["Properties"]["PermissionsBoundary"] = BOUNDARY

    removed = _flagged(*_edited(template, lambda doc: doc["Resources"][role]["Properties"].pop("PermissionsBoundary"), bounded))
    changed = _flagged(*_edited(template, lambda doc: doc["Resources"][role]["Properties"].update(PermissionsBoundary=ADMINISTRATOR), bounded))
    assert [f.change.split(":")[0] for f in removed] == ["PermissionsBoundary removed"], removed
    assert [f.change.split(":")[0] for f in changed] == ["PermissionsBoundary changed"], changed


def test_a_policy_attached_to_more_roles_needs_a_security_reviewer(template: Template) -> None:
    role = _task_role(template)
    other = next(r.logical_id for r in template.of_type("AWS::IAM::Role") if r.logical_id != role)
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    policy = {"Type": "AWS::IAM::Policy", "Properties": {"PolicyName": "shared", "PolicyDocument": {"Statement": [statement]}, "Roles": [{"Ref": role}]}}

    def attach(doc: dict) -> None:
        doc["Resources"]["SharedReadPolicy"]["Properties"]["Roles"].append({"Ref": other})

    before, after = _edited(template, attach, lambda doc: doc["Resources"].update(SharedReadPolicy=policy))
    (finding,) = _flagged(before, after)
    assert finding.subject == "SharedReadPolicy" and other in finding.change, finding


@pytest.mark.parametrize(("resource_type", "key"), [("AWS::ECR::Repository", "RepositoryPolicyText"), ("AWS::Events::EventBus", "Policy")])
def test_a_repository_or_event_bus_policy_opened_to_another_account_needs_a_security_reviewer(template: Template, resource_type: str, key: str) -> None:
    logical_id = template.of_type(resource_type)[0].logical_id
    statement = {"Sid": "OtherAccount", "Effect": "Allow", "Principal": {"AWS": OTHER_ACCOUNT_ROOT}, "Action": "*", "Resource": "*"}
    before, after = _edited(template, lambda doc: doc["Resources"][logical_id]["Properties"].update({key: {"Statement": [statement]}}))
    subjects = {f.subject for f in _flagged(before, after)}
    assert subjects == {f"{logical_id} {key}:OtherAccount"}, subjects


@pytest.mark.parametrize("world", [{"CidrIp": "0.0.0.0/0"}, {"CidrIpv6": "::/0"}], ids=["IPv4", "IPv6"])
def test_a_standalone_egress_rule_to_everyone_needs_a_security_reviewer(template: Template, world: dict[str, str]) -> None:
    group = _task_security_group(template)
    rule = {"Type": "AWS::EC2::SecurityGroupEgress", "Properties": {"GroupId": {"Ref": group}, "IpProtocol": "-1", **world}}
    before, after = _edited(template, lambda doc: doc["Resources"].update(OpenEgress=rule))
    (finding,) = _flagged(before, after, "network")
    assert finding.subject == "OpenEgress" and "everyone" in finding.change, finding

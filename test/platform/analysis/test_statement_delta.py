"""make review: who a policy statement lets in. A trust policy's, a key policy's or a queue policy's principal,
effect and NotAction / NotResource changes, on lib/TapStack.json, statements found by type and relation."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from riskbatch_platform.analysis.review import Finding, review_templates
from test.template_model import Template, referenced_id

OTHER_ACCOUNT_ROOT = "arn:aws:iam::999999999999:root"


def _edited(template: Template, edit: Callable[[dict[str, Any]], None]) -> list[Finding]:
    after = copy.deepcopy(template.doc)
    edit(after)
    return [f for f in review_templates(template.doc, after).findings if f.category == "iam"]


def _flagged(findings: list[Finding]) -> list[str]:
    return [f"{f.subject}: {f.change}" for f in findings if f.needs_security_review]


def _task_role(template: Template) -> str:
    """The role the risk calculation's tasks run as (its task definition's TaskRoleArn)."""
    definitions = [d for d in template.of_type("AWS::ECS::TaskDefinition") if "RiskCalculation" in d.logical_id]
    (definition,) = definitions
    return referenced_id(definition.props["TaskRoleArn"])


def _queue_policy(template: Template) -> str:
    """The policy on the risk work queue (its Queues name the queue the risk workers read)."""
    (role,) = [r for r in template.of_type("AWS::SQS::Queue") if r.logical_id == "RiskWorkQueue"]
    (policy,) = [p for p in template.of_type("AWS::SQS::QueuePolicy") if role.logical_id in {referenced_id(q) for q in p.props["Queues"]}]
    return policy.logical_id


def _tls_denial(document: dict[str, Any], policy: str) -> dict[str, Any]:
    statements = document["Resources"][policy]["Properties"]["PolicyDocument"]["Statement"]
    (deny,) = [s for s in statements if s["Effect"] == "Deny" and "aws:SecureTransport" in str(s.get("Condition"))]
    return deny


def _key_administration(document: dict[str, Any]) -> dict[str, Any]:
    """The key policy statement that gives the stack's own account (its root) administration through IAM."""
    (key,) = [body for body in document["Resources"].values() if body["Type"] == "AWS::KMS::Key"]
    (root,) = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if "AWS::AccountId" in str(s.get("Principal"))]
    return root


# A principal outside the account lets that account in ("For cross-account access, you must specify the 12-digit
# identifier of the trusted account", and "*" lets everyone assume a role: IAM JSON policy elements: Principal,
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html).
def test_a_trust_policy_that_trusts_another_account_needs_a_security_reviewer(template: Template) -> None:
    role = _task_role(template)

    def edit(doc: dict) -> None:
        doc["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] = {"AWS": OTHER_ACCOUNT_ROOT}

    flagged = _flagged(_edited(template, edit))
    other = f"['AWS:{OTHER_ACCOUNT_ROOT}']"
    assert f"{role} AssumeRolePolicyDocument:0: principal added: {other}; outside the stack's account or everyone: {other}" in flagged


def test_a_key_policy_opened_to_everyone_needs_a_security_reviewer(template: Template) -> None:
    findings = _edited(template, lambda doc: _key_administration(doc).update(Principal={"AWS": "*"}))
    assert any("principal added: ['AWS:*']" in line for line in _flagged(findings)), findings


def test_a_principal_of_the_stacks_own_account_or_a_service_is_listed_without_a_warning(template: Template) -> None:
    role = _task_role(template)

    def edit(doc: dict) -> None:
        trust = doc["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
        own_account = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
        trust["Principal"] = {"Service": ["ecs-tasks.amazonaws.com", "events.amazonaws.com"], "AWS": own_account}

    findings = _edited(template, edit)
    assert [f.change.split(":")[0] for f in findings] == ["principal added"] and not _flagged(findings), findings


def test_a_resolved_principal_is_inside_only_when_it_names_the_stacks_account(template: Template) -> None:
    role = _task_role(template)
    before = {"Resources": {role: template.doc["Resources"][role]}}
    for account, outside in (("123456789012", False), ("999999999999", True)):
        after = copy.deepcopy(before)
        after["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] = {"AWS": f"arn:aws:iam::{account}:root"}
        findings = review_templates(before, after, account="123456789012").findings
        (finding,) = [f for f in findings if f.change.startswith("principal added")]
        assert finding.needs_security_review is outside, finding


# A Deny overrides an Allow ("To override an allow ... you set the Effect element to Deny": IAM JSON policy elements:
# Effect, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_effect.html): the queue's
# denial of requests without TLS turned Allow, or removed, lets those requests through.
def test_a_queue_policys_tls_denial_turned_allow_needs_a_security_reviewer(template: Template) -> None:
    policy = _queue_policy(template)
    flagged = _flagged(_edited(template, lambda doc: _tls_denial(doc, policy).update(Effect="Allow")))
    assert f"{policy} PolicyDocument:DenyAccessWithoutTls: Effect Deny -> Allow: what it denied is now allowed" in flagged


def test_a_queue_policys_tls_denial_removed_needs_a_security_reviewer(template: Template) -> None:
    policy = _queue_policy(template)

    def edit(doc: dict) -> None:
        statements = doc["Resources"][policy]["Properties"]["PolicyDocument"]["Statement"]
        statements.remove(_tls_denial(doc, policy))

    flagged = _flagged(_edited(template, edit))
    assert flagged == [f"{policy} PolicyDocument:DenyAccessWithoutTls: a Deny statement removed: what it denied is no longer denied"]


def test_an_allow_turned_deny_is_listed_without_a_warning(template: Template) -> None:
    role = _task_role(template)
    findings = _edited(template, lambda doc: doc["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0].update(Effect="Deny"))
    assert [f.change for f in findings] == ["Effect Allow -> Deny"] and not _flagged(findings)


# NotAction / NotResource match everything except what they list and "could result in granting users more permissions
# than you intended" (IAM JSON policy elements: NotAction, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html).
@pytest.mark.parametrize(("element", "replaces"), [("NotAction", "Action"), ("NotResource", "Resource")])
def test_notaction_or_notresource_swapped_in_needs_a_security_reviewer(template: Template, element: str, replaces: str) -> None:
    role = _task_role(template)

    def edit(doc: dict) -> None:
        statement = doc["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]
        statement[element] = statement.pop(replaces)

    flagged = _flagged(_edited(template, edit))
    assert any(f": {element} added: " in line and "(matches everything else)" in line for line in flagged), flagged


def test_a_changed_notaction_needs_a_security_reviewer(template: Template) -> None:
    role = _task_role(template)

    def swap(doc: dict) -> dict:
        statement = doc["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]
        statement["NotAction"] = statement.pop("Action")
        return doc

    before = swap(copy.deepcopy(template.doc))
    after = copy.deepcopy(before)
    after["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]["NotAction"] = ["iam:*"]
    flagged = [f.change for f in review_templates(before, after).findings if f.needs_security_review]
    assert flagged == ['NotAction changed: ["iam:*"] (matches everything else)']


# A Deny overrides any Allow (IAM JSON policy elements: Effect,
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_effect.html): removing the policy
# resource that holds a Deny, or an action from a Deny, lets in what it kept out.
def test_a_removed_queue_policy_takes_its_tls_denial_away_and_needs_a_security_reviewer(template: Template) -> None:
    policy = _queue_policy(template)
    flagged = _flagged(_edited(template, lambda doc: doc["Resources"].pop(policy)))
    assert any(line.startswith(f"{policy} PolicyDocument:") and "a Deny statement removed" in line for line in flagged), flagged


def test_an_action_taken_out_of_a_deny_needs_a_security_reviewer(template: Template) -> None:
    policy = _queue_policy(template)

    def edit(doc: dict) -> None:
        deny = _tls_denial(doc, policy)
        actions = deny["Action"] if isinstance(deny["Action"], list) else [deny["Action"]]
        deny["Action"] = actions[:-1] if len(actions) > 1 else ["sqs:GetQueueAttributes"]

    flagged = _flagged(_edited(template, edit))
    assert any(line.startswith(f"{policy} PolicyDocument:") and "a Deny narrowed" in line for line in flagged), flagged


# Fn::If gives one value when its condition is true and the other when it is false, the condition evaluated from the
# stack's parameters (CloudFormation User Guide, Condition functions, Fn::If:
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-conditions.html):
# a branch that lets everyone in may be the one chosen, whatever the other branch names.
@pytest.mark.parametrize("where", ["whole principal", "under AWS"])
def test_a_principal_whose_fn_if_branch_lets_everyone_in_needs_a_security_reviewer(template: Template, where: str) -> None:
    role = _task_role(template)
    own_account = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    chosen = {"Fn::If": ["SharedWithEveryone", {"AWS": "*"}, {"AWS": own_account}]}
    under_aws = {"AWS": {"Fn::If": ["SharedWithEveryone", "*", own_account]}}

    def edit(doc: dict) -> None:
        doc["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] = chosen if where == "whole principal" else under_aws

    flagged = _flagged(_edited(template, edit))
    assert any("principal added" in line and "outside the stack's account or everyone" in line for line in flagged), flagged


def test_a_principal_whose_fn_if_branches_both_name_the_stacks_account_is_listed_without_a_warning(template: Template) -> None:
    role = _task_role(template)
    own_root = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    own_role = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/operator"}

    def edit(doc: dict) -> None:
        doc["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] = {"Fn::If": ["C", {"AWS": own_root}, {"AWS": own_role}]}

    findings = _edited(template, edit)
    assert any(f.change.startswith("principal added") for f in findings) and not _flagged(findings), findings

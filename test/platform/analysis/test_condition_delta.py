"""make review: a statement's conditions compared by (operator, context key), on lib/TapStack.json, statements found
by their condition keys and effect. Keys under one operator are ANDed and a key's values ORed ("Conditions with multiple
context keys or values": https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html),
so one key dropped from an operator that stays, or a value widened to a wildcard, lets more requests through an Allow;
a condition added to or changed on a Deny makes it deny fewer requests."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from riskbatch_platform.analysis.review import Finding, review_templates
from test.template_model import Template


def _statements(node: Any) -> Iterator[dict[str, Any]]:
    """Every statement written directly in a policy's Statement list (not one chosen by Fn::If)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Statement" and isinstance(value, list):
                yield from (statement for statement in value if "Effect" in statement)
            else:
                yield from _statements(value)
    elif isinstance(node, list):
        for value in node:
            yield from _statements(value)


def _with_input_key(document: dict[str, Any]) -> None:
    """The statements a template chooses with Fn::If as chosen when the condition holds (an input bucket key given): kms:ViaService is in those."""
    for role in document["Resources"].values():
        for policy in role.get("Properties", {}).get("Policies", []):
            statements = policy["PolicyDocument"]["Statement"]
            statements[:] = [s["Fn::If"][1] if "Fn::If" in s else s for s in statements]


def _first(document: dict[str, Any], effect: str, operator: str, key: str) -> dict[str, Any]:
    """The first statement of that effect whose condition has that key under that operator (the template's own order)."""
    return next(s for s in _statements(document["Resources"]) if s["Effect"] == effect and key in s.get("Condition", {}).get(operator, {}))


def _iam(before: dict[str, Any], after: dict[str, Any]) -> list[Finding]:
    return [f for f in review_templates(before, after).findings if f.category == "iam"]


def _edited(template: Template, edit: Callable[[dict[str, Any]], None], base: Callable[[dict[str, Any]], None] | None = None) -> list[Finding]:
    before = copy.deepcopy(template.doc)
    if base:
        base(before)
    after = copy.deepcopy(before)
    edit(after)
    return _iam(before, after)


def test_one_key_dropped_from_an_operator_that_stays_needs_a_security_reviewer(template: Template) -> None:
    """kms:ViaService dropped from a StringEquals that still holds kms:CallerAccount: the key is usable other than through S3."""

    def with_caller_account(doc: dict) -> None:
        _with_input_key(doc)
        _first(doc, "Allow", "StringEquals", "kms:ViaService")["Condition"]["StringEquals"]["kms:CallerAccount"] = {"Ref": "AWS::AccountId"}

    def drop_via_service(doc: dict) -> None:
        del _first(doc, "Allow", "StringEquals", "kms:ViaService")["Condition"]["StringEquals"]["kms:ViaService"]

    findings = _edited(template, drop_via_service, with_caller_account)
    assert [(f.change, f.needs_security_review) for f in findings] == [("condition removed: ['StringEquals kms:ViaService']", True)], findings


def test_a_source_account_dropped_beside_a_source_arn_needs_a_security_reviewer(template: Template) -> None:
    def with_source_arn(doc: dict) -> None:
        trust = _first(doc, "Allow", "StringEquals", "aws:SourceAccount")
        trust["Condition"]["StringEquals"]["aws:SourceArn"] = {"Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:*"}

    def drop_source_account(doc: dict) -> None:
        del _first(doc, "Allow", "StringEquals", "aws:SourceArn")["Condition"]["StringEquals"]["aws:SourceAccount"]

    findings = _edited(template, drop_source_account, with_source_arn)
    assert [(f.change, f.needs_security_review) for f in findings] == [("condition removed: ['StringEquals aws:SourceAccount']", True)], findings


def test_a_condition_value_widened_to_a_wildcard_needs_a_security_reviewer(template: Template) -> None:
    findings = _edited(template, lambda doc: _first(doc, "Allow", "StringLike", "s3:prefix")["Condition"]["StringLike"].update({"s3:prefix": "*"}))
    assert [(f.change, f.needs_security_review) for f in findings] == [("condition widened: a wildcard value in ['StringLike s3:prefix']", True)], findings


def test_a_key_added_to_an_allow_narrows_it_and_is_listed_without_a_warning(template: Template) -> None:
    def add_caller_account(doc: dict) -> None:
        _first(doc, "Allow", "StringEquals", "kms:ViaService")["Condition"]["StringEquals"]["kms:CallerAccount"] = {"Ref": "AWS::AccountId"}

    findings = _edited(template, add_caller_account, _with_input_key)
    assert [(f.change, f.needs_security_review) for f in findings] == [("condition added or changed: ['StringEquals kms:CallerAccount']", False)], findings


def test_a_condition_added_to_or_changed_on_a_deny_needs_a_security_reviewer(template: Template) -> None:
    """The queue and topic policies' denial of requests without TLS, made to apply only to one account's requests or to another value."""

    def add_key(doc: dict) -> None:
        _first(doc, "Deny", "Bool", "aws:SecureTransport")["Condition"]["StringEquals"] = {"aws:PrincipalAccount": "999999999999"}

    def change_value(doc: dict) -> None:
        _first(doc, "Deny", "Bool", "aws:SecureTransport")["Condition"]["Bool"]["aws:SecureTransport"] = "true"

    added, changed = _edited(template, add_key), _edited(template, change_value)
    assert [(f.change, f.needs_security_review) for f in added] == [
        ("a Deny narrowed: condition added or changed: ['StringEquals aws:PrincipalAccount']: it denies fewer requests", True)
    ], added
    assert [(f.change, f.needs_security_review) for f in changed] == [
        ("a Deny narrowed: condition added or changed: ['Bool aws:SecureTransport']: it denies fewer requests", True)
    ], changed


# A key's values are ORed ("If a single condition operator includes multiple values for a context key, those values are
# evaluated using a logical OR"), a negated operator's NORed ("If a single negated matching condition operator includes
# multiple values for a context key, those values are evaluated using a logical NOR"): IAM User Guide, "Conditions with
# multiple context keys or values", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html
def test_a_value_added_to_an_allows_condition_key_without_a_wildcard_needs_a_security_reviewer(template: Template) -> None:
    """kms:ViaService s3.<region> gains sqs.<region>: the key is usable through SQS too, though no value has a *."""

    def add_value(doc: dict) -> None:
        condition = _first(doc, "Allow", "StringEquals", "kms:ViaService")["Condition"]["StringEquals"]
        condition["kms:ViaService"] = [condition["kms:ViaService"], {"Fn::Sub": "sqs.${AWS::Region}.amazonaws.com"}]

    findings = _edited(template, add_value, _with_input_key)
    expected = "condition widened: a value added to ['StringEquals kms:ViaService'] (a key's values are ORed: one more that passes)"
    assert [(f.change, f.needs_security_review) for f in findings] == [(expected, True)], findings


def _allow(condition: dict[str, Any]) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::risk-input/*", "Condition": condition}
    document = {"Version": "2012-10-17", "Statement": [statement]}
    return {"Resources": {"Reader": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": document}}}}


@pytest.mark.parametrize(
    ("operator", "before", "after", "widened"),
    [
        ("StringEquals", ["123456789012"], ["123456789012", "210987654321"], True),  # OR: one more account passes
        ("StringEquals", ["123456789012", "210987654321"], ["123456789012"], False),  # one fewer passes
        ("StringNotEquals", ["210987654321", "999999999999"], ["210987654321"], True),  # NOR: one fewer excluded
        ("StringNotEquals", ["210987654321"], ["210987654321", "999999999999"], False),  # one more excluded
        ("ForAnyValue:StringEquals", ["a"], ["a", "b"], True),
        ("StringNotEqualsIfExists", ["a", "b"], ["a"], True),
    ],
    ids=["or-value-added", "or-value-dropped", "nor-value-dropped", "nor-value-added", "for-any-value-added", "nor-if-exists-dropped"],
)
def test_an_allows_condition_values_widen_by_or_and_nor(operator: str, before: list[str], after: list[str], widened: bool) -> None:
    findings = _iam(_allow({operator: {"aws:ResourceAccount": before}}), _allow({operator: {"aws:ResourceAccount": after}}))
    assert len(findings) == 1 and findings[0].needs_security_review is widened, findings
    assert findings[0].change.startswith("condition widened" if widened else "condition added or changed"), findings

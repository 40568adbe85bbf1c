"""Every policy that names principals, in every form a principal can take, grants nothing to everyone.

A principal can be written "*", {"AWS": "*"}, {"AWS": ["*"]}, an ARN with a wildcard, or as
NotPrincipal: each form is read here, in every policy document of every resource type that holds
one (key, topic, queue, logs and trust policies), both templates. Deny statements may name everyone
(the TLS-only denials do). A service allowed into a resource policy must be held to this account
or to its source (aws:SourceArn, aws:SourceAccount, or the key's encryption context): the
confused-deputy guard of the IAM user guide ("The confused deputy problem"). CloudWatch Logs
resource policies take aws:SourceArn and aws:SourceAccount (PutResourcePolicy,
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutResourcePolicy.html).
"""

from __future__ import annotations

from typing import Any

import pytest

from test.conftest import the_template
from test.template_model import REPO_ROOT, Resource, Template, as_list, load_template, referenced_id, statements

# resource type -> the property holding its policy document (resource or trust policy)
POLICY_PROPERTIES = {
    "AWS::KMS::Key": "KeyPolicy",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::Logs::ResourcePolicy": "PolicyDocument",
    "AWS::IAM::Role": "AssumeRolePolicyDocument",
    "AWS::ECR::Repository": "RepositoryPolicyText",
    "AWS::Events::EventBus": "Policy",
    "AWS::S3::BucketPolicy": "PolicyDocument",
}
SOURCE_KEYS = {"aws:sourcearn", "aws:sourceaccount", "aws:sourceorgid", "kms:encryptioncontext:aws:logs:arn"}
TEMPLATES = {"TapStack": the_template(), "VpcEndpoints": Template(load_template(REPO_ROOT / "lib" / "VpcEndpoints.json"))}


def principal_values(principal: Any) -> list[Any]:
    """Every value a Principal element names, whatever its form."""
    if principal is None:
        return []
    if isinstance(principal, str):
        return [principal]
    if isinstance(principal, dict) and not ({"Ref", "Fn::Sub", "Fn::GetAtt", "Fn::Join", "Fn::If"} & set(principal)):
        return [value for values in principal.values() for value in as_list(values)]
    return [principal]


def is_everyone(value: Any) -> bool:
    text = value if isinstance(value, str) else value.get("Fn::Sub", "") if isinstance(value, dict) else ""
    return "*" in text


def _statements() -> list[tuple[str, Resource, dict[str, Any]]]:
    found = []
    for name, template in TEMPLATES.items():
        for resource in template.all_resources():
            document = resource.props.get(POLICY_PROPERTIES.get(resource.type, ""))
            if isinstance(document, dict):
                found += [(name, resource, statement) for statement in statements(document)]
    return found


STATEMENTS = _statements()
IDS = [f"{name}:{resource.logical_id}:{statement.get('Sid', index)}" for index, (name, resource, statement) in enumerate(STATEMENTS)]


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_policy_document_is_an_object_that_the_checks_can_read(template: str) -> None:
    """A document written as JSON text (a string, or a Fn::Sub of one) would pass every check unread."""
    for resource in TEMPLATES[template].all_resources():
        document = resource.props.get(POLICY_PROPERTIES.get(resource.type, ""))
        if document is not None:
            assert isinstance(document, dict) and "Statement" in document, f"{resource.logical_id}: write the policy as an object"


def test_every_type_holding_a_policy_document_is_read() -> None:
    policy_like = {"KeyPolicy", "PolicyDocument", "AssumeRolePolicyDocument", "Policy", "RepositoryPolicyText"}
    for template in TEMPLATES.values():
        for resource in template.all_resources():
            if resource.type != "AWS::IAM::Role" and policy_like & set(resource.props):
                assert resource.type in POLICY_PROPERTIES, f"{resource.logical_id}: add {resource.type} to POLICY_PROPERTIES"
    assert STATEMENTS


@pytest.mark.parametrize(("template", "resource", "statement"), STATEMENTS, ids=IDS)
def test_no_allow_names_everyone_in_any_form(template: str, resource: Resource, statement: dict[str, Any]) -> None:
    if statement["Effect"] != "Allow":
        return
    assert "NotPrincipal" not in statement, "Allow with NotPrincipal grants everyone else"
    assert not [value for value in principal_values(statement.get("Principal")) if is_everyone(value)], statement.get("Principal")


RESOURCE_POLICY_CASES = [(case, case_id) for case, case_id in zip(STATEMENTS, IDS, strict=True) if case[1].type != "AWS::IAM::Role"]


@pytest.mark.parametrize(
    ("template", "resource", "statement"), [case for case, _ in RESOURCE_POLICY_CASES], ids=[case_id for _, case_id in RESOURCE_POLICY_CASES]
)
def test_a_service_allowed_into_a_resource_policy_is_held_to_its_source(template: str, resource: Resource, statement: dict[str, Any]) -> None:
    principal = statement.get("Principal")
    if statement["Effect"] != "Allow" or not (isinstance(principal, dict) and "Service" in principal):
        return
    keys = {key.lower() for operator in statement.get("Condition", {}).values() for key in operator}
    if resource.type == "AWS::KMS::Key" and as_list(principal["Service"]) == ["events.amazonaws.com"]:
        # EventBridge's KMS request carries none of the source keys (unsupported in a key policy,
        # https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html): a condition on them would drop
        # every event. The guard is the queue's own policy, which holds EventBridge to the rule's ARN.
        assert not keys & SOURCE_KEYS, "a source condition EventBridge's request does not carry drops every event"
        return
    assert keys & SOURCE_KEYS, f"{resource.logical_id}: {principal['Service']} without aws:SourceArn / aws:SourceAccount"


@pytest.mark.parametrize(
    "principal",
    ["*", {"AWS": "*"}, {"AWS": ["*"]}, {"AWS": ["arn:aws:iam::123456789012:root", "*"]}, {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::*:root"}}],
    ids=["string", "AWS string", "AWS list", "AWS list with an account", "account wildcard"],
)
def test_every_form_of_everyone_is_recognised(principal: Any) -> None:
    """The check can fail: each way of writing "everyone" is caught (the list form passed the first version's gate)."""
    assert any(is_everyone(value) for value in principal_values(principal))


def test_a_named_principal_is_not_everyone() -> None:
    assert not any(
        is_everyone(value)
        for value in principal_values({"Service": "events.amazonaws.com", "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}})
    )


# What a TLS-only statement must deny, per resource type that takes a resource policy of ours.
# SQS: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-security-best-practices.html
# ("Enforce encryption of data in transit"); SNS: https://docs.aws.amazon.com/sns/latest/dg/sns-security-best-practices.html
# ("Enforce encryption of data in transit", sns:Publish). CloudWatch Logs resource policies are left out:
# they only take logs:CreateLogStream and logs:PutLogEvents for AWS services delivering logs (PutResourcePolicy,
# https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutResourcePolicy.html), and
# no customer request is authorised through them. The stack owns no bucket (both are the account's).
TLS_DENIED_ACTIONS = {
    ("AWS::SQS::Queue", "AWS::SQS::QueuePolicy", "Queues"): {"sqs:*"},
    ("AWS::SNS::Topic", "AWS::SNS::TopicPolicy", "Topics"): {"sns:Publish", "sns:*"},
}


def _denies_without_tls(statement: dict[str, Any], actions: set[str], target: str) -> bool:
    return (
        statement["Effect"] == "Deny"
        and statement.get("Principal") in ("*", {"AWS": "*"})
        and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        and bool(actions & set(as_list(statement["Action"])))
        and target in {referenced_id(resource) for resource in as_list(statement["Resource"])}
    )


def _policy_targets() -> list[tuple[str, str, str]]:
    return [
        (resource.logical_id, resource_type, policy_type)
        for resource_type, policy_type, _ in TLS_DENIED_ACTIONS
        for resource in the_template().of_type(resource_type)
    ]


@pytest.mark.parametrize(("target", "resource_type", "policy_type"), _policy_targets(), ids=[target for target, _, _ in _policy_targets()])
def test_every_queue_and_topic_has_a_policy_that_denies_requests_without_tls(target: str, resource_type: str, policy_type: str) -> None:
    ((_, _, list_property),) = [key for key in TLS_DENIED_ACTIONS if key[0] == resource_type]
    actions = TLS_DENIED_ACTIONS[(resource_type, policy_type, list_property)]
    policies = [p for p in the_template().of_type(policy_type) if target in {referenced_id(item) for item in p.props[list_property]}]
    assert len(policies) == 1, f"{target}: one {policy_type} (a second would replace the first), found {len(policies)}"
    assert any(_denies_without_tls(statement, actions, target) for statement in statements(policies[0].props["PolicyDocument"])), (
        f"{policies[0].logical_id} does not deny {sorted(actions)} on {target} without TLS"
    )

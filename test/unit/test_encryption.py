"""One customer-managed key: rotated, short deletion window, named alias, and a policy that lets
CloudWatch Logs (for this stack's log groups only), CloudWatch alarms and EventBridge use it."""

from __future__ import annotations

from typing import Any

import pytest

from riskbatch_platform.analysis.key_policy import CLOUDWATCH, EVENTS, request_context, service_may_use_key
from riskbatch_platform.analysis.resolve import Context, placeholder_values
from test.conftest import the_template
from test.template_model import SUBSTITUTION_VALUES, Resource, Template, as_list, referenced_id, statements, substitute

VALUES = SUBSTITUTION_VALUES
ACCOUNT = "123456789012"


def _key(template: Template) -> Resource:
    keys = template.of_type("AWS::KMS::Key")
    assert keys, "the stack needs a customer-managed key"
    return keys[0]


def _key_statements_for(key: Resource, principal: str) -> list[dict]:
    found = []
    for statement in statements(key.props["KeyPolicy"]):
        services = as_list(statement.get("Principal", {}).get("Service", []))
        resolved = [substitute(service, VALUES) if isinstance(service, dict) else service for service in services]
        if principal in resolved and statement["Effect"] == "Allow":
            found.append(statement)
    return found


@pytest.mark.parametrize("key", the_template().of_type("AWS::KMS::Key"), ids=repr)
def test_key_rotates_and_can_be_deleted_within_seven_days(key: Resource) -> None:
    """Seven days outside production, 30 in production (test_audit_retention.py)."""
    assert key.props["EnableKeyRotation"] is True
    assert key.props["PendingWindowInDays"] == {"Fn::If": ["IsProduction", 30, 7]}


@pytest.mark.parametrize("key", the_template().of_type("AWS::KMS::Key"), ids=repr)
def test_key_has_an_alias_following_the_naming_rule(template: Template, key: Resource) -> None:
    aliases = [alias for alias in template.of_type("AWS::KMS::Alias") if referenced_id(alias.props["TargetKeyId"]) == key.logical_id]
    assert aliases
    for alias in aliases:
        assert alias.props["AliasName"] == {"Fn::Sub": "alias/kms-riskbatch-${EnvironmentSuffix}"}


def test_logs_may_use_the_key_only_for_this_stacks_log_groups(template: Template) -> None:
    key = _key(template)
    granted = _key_statements_for(key, "logs.us-east-1.amazonaws.com")
    assert granted, "CloudWatch Logs (logs.<region>.amazonaws.com) must be allowed to use the key"
    expected = set()
    for log_group in template.of_type("AWS::Logs::LogGroup"):
        name = substitute(log_group.props["LogGroupName"], VALUES)
        expected.add(f"arn:aws:logs:us-east-1:123456789012:log-group:{name}")
    for statement in granted:
        condition = statement["Condition"]
        # kms:EncryptionContext:<key> is a String condition key (AWS KMS developer guide, "AWS KMS condition
        # keys", https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html): StringEquals fits it.
        (operator,) = [name for name in ("StringEquals", "ArnEquals", "ArnLike") if name in condition]
        arns = {substitute(arn, VALUES) for arn in as_list(condition[operator]["kms:EncryptionContext:aws:logs:arn"])}
        assert arns == expected, "the encryption-context condition must list exactly this stack's log groups"
        assert {"kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*"} <= set(as_list(statement["Action"]))


@pytest.mark.parametrize("principal", ["cloudwatch.amazonaws.com", "events.amazonaws.com"])
def test_alarms_and_eventbridge_may_use_the_key(template: Template, principal: str) -> None:
    granted = _key_statements_for(_key(template), principal)
    assert granted, f"{principal} must be able to encrypt to the topic and queues"
    for statement in granted:
        actions = set(as_list(statement["Action"]))
        assert "kms:Decrypt" in actions and ({"kms:GenerateDataKey", "kms:GenerateDataKey*"} & actions)


def test_alarms_may_use_the_key_within_this_account(template: Template) -> None:
    for statement in _key_statements_for(_key(template), "cloudwatch.amazonaws.com"):
        assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}


# "Adding the aws:SourceAccount, aws:SourceArn, and aws:SourceOrgID to a AWS KMS policy is not
# supported for EventBridge-to-encrypted topics" (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html,
# "Enable compatibility between event sources from AWS services and encrypted topics"); the SQS
# documents are silent for queues, so the key holds no such condition for EventBridge at all. The
# same page tells to add aws:SourceAccount and aws:SourceArn for the other event sources, CloudWatch
# among them. riskbatch_platform/analysis/key_policy.py says which keys each service's request carries.
def _deployed_key_policy(template: Template) -> dict[str, Any]:
    context = Context(template.doc, placeholder_values(template.doc), region="us-east-1", account=ACCOUNT)
    return context.evaluate(_key(template).props["KeyPolicy"])


@pytest.mark.parametrize(
    ("service", "source_arn"),
    [
        (EVENTS, f"arn:aws:events:us-east-1:{ACCOUNT}:rule/bus-riskbatch-dev/rule-run-completed-dev"),
        (CLOUDWATCH, f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:alarm-x-dev"),
    ],
)
@pytest.mark.parametrize("action", ["kms:GenerateDataKey", "kms:Decrypt"])
def test_the_key_policy_admits_each_service_with_the_condition_keys_its_request_carries(template: Template, service: str, source_arn: str, action: str) -> None:
    policy = _deployed_key_policy(template)
    assert service_may_use_key(policy, service, action, request_context(service, ACCOUNT, source_arn))


def test_the_key_policy_holds_cloudwatch_to_this_account(template: Template) -> None:
    policy = _deployed_key_policy(template)
    elsewhere = request_context(CLOUDWATCH, "210987654321", "arn:aws:cloudwatch:us-east-1:210987654321:alarm:theirs")
    assert not service_may_use_key(policy, CLOUDWATCH, "kms:GenerateDataKey", elsewhere)


def test_no_key_statement_grants_a_wildcard_principal(template: Template) -> None:
    for statement in statements(_key(template).props["KeyPolicy"]):
        assert statement.get("Principal") != "*" and statement.get("Principal", {}).get("AWS") != "*"


@pytest.mark.parametrize("log_group", the_template().of_type("AWS::Logs::LogGroup"), ids=repr)
def test_log_group_is_encrypted_with_the_key_and_kept_30_days(template: Template, log_group: Resource) -> None:
    """Kept LogRetentionInDays, at least 30 (test_audit_retention.py)."""
    assert referenced_id(log_group.props.get("KmsKeyId")) == _key(template).logical_id
    assert log_group.props["RetentionInDays"] == {"Ref": "LogRetentionInDays"}


@pytest.mark.parametrize("queue", the_template().of_type("AWS::SQS::Queue"), ids=repr)
def test_queue_is_encrypted_with_the_key(template: Template, queue: Resource) -> None:
    assert referenced_id(queue.props.get("KmsMasterKeyId")) == _key(template).logical_id


@pytest.mark.parametrize("topic", the_template().of_type("AWS::SNS::Topic"), ids=repr)
def test_topic_is_encrypted_with_the_key(template: Template, topic: Resource) -> None:
    assert referenced_id(topic.props.get("KmsMasterKeyId")) == _key(template).logical_id


@pytest.mark.parametrize("repository", the_template().of_type("AWS::ECR::Repository"), ids=repr)
def test_repository_is_encrypted_with_the_key(template: Template, repository: Resource) -> None:
    encryption = repository.props["EncryptionConfiguration"]
    assert encryption["EncryptionType"] == "KMS"
    assert referenced_id(encryption["KmsKey"]) == _key(template).logical_id


# The AWS services the key policy may name: CloudWatch Logs in the stack's region, CloudWatch alarms
# (to the encrypted topic) and EventBridge (to the encrypted queues).
KEY_SERVICES = {"logs.us-east-1.amazonaws.com", "cloudwatch.amazonaws.com", "events.amazonaws.com"}
ACCOUNT_ROOT = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}


def test_key_policy_names_only_this_account_its_roles_and_named_services(template: Template) -> None:
    """A principal of another account in the key policy lets that account decrypt the night's data
    (KMS key policies, https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html)."""
    roles = {role.logical_id for role in template.of_type("AWS::IAM::Role")}
    for statement in statements(_key(template).props["KeyPolicy"]):
        if statement["Effect"] != "Allow":
            continue
        assert "NotPrincipal" not in statement
        principal = statement["Principal"]
        assert isinstance(principal, dict) and set(principal) <= {"AWS", "Service"}, principal
        for aws in as_list(principal.get("AWS", [])):
            # a role of the stack by its Fn::GetAtt only: a Fn::Sub could wrap one in another account's ARN
            named_role = isinstance(aws, dict) and set(aws) == {"Fn::GetAtt"} and referenced_id(aws) in roles
            assert aws == ACCOUNT_ROOT or named_role, f"{statement.get('Sid')}: {aws} is not this account or a role of the stack"
        for service in as_list(principal.get("Service", [])):
            resolved = substitute(service, VALUES) if isinstance(service, dict) else service
            assert resolved in KEY_SERVICES, f"{statement.get('Sid')}: {service} is not a service the stack needs"


# An input bucket under a customer key (SSE-KMS): GetObject also needs kms:Decrypt on that key. The
# ingestion role may decrypt with that key only, and only in requests S3 makes for it: kms:ViaService
# "limits use of a KMS key to requests from specified AWS services", s3.<region>.amazonaws.com for S3
# (AWS KMS condition keys, https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html).
INPUT_KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _deployed_role_statements(template: Template, **parameters: str) -> dict[str, list[dict[str, Any]]]:
    context = Context(template.doc, placeholder_values(template.doc, parameters), region="eu-west-1", account=ACCOUNT)
    return {
        role.logical_id: [s for policy in context.evaluate(role.props.get("Policies", [])) for s in policy["PolicyDocument"]["Statement"]]
        for role in template.of_type("AWS::IAM::Role")
    }


def test_the_input_bucket_key_is_an_optional_parameter(template: Template) -> None:
    parameter = template.parameters()["InputBucketKmsKeyArn"]
    assert parameter["Default"] == "" and parameter["Description"]
    assert template.doc["Conditions"]["HasInputBucketKmsKey"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "InputBucketKmsKeyArn"}, ""]}]}


def test_with_an_input_bucket_key_only_ingestion_may_decrypt_with_it_through_s3(template: Template) -> None:
    granted = {
        role: [s for s in statements if INPUT_KEY in as_list(s.get("Resource", []))]
        for role, statements in _deployed_role_statements(template, InputBucketKmsKeyArn=INPUT_KEY).items()
    }
    assert {role for role, found in granted.items() if found} == {"DataIngestionTaskRole"}
    (statement,) = granted["DataIngestionTaskRole"]
    assert statement["Effect"] == "Allow" and as_list(statement["Action"]) == ["kms:Decrypt"]
    assert statement["Condition"] == {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}


def test_without_an_input_bucket_key_no_role_may_decrypt_through_s3(template: Template) -> None:
    with_key = _deployed_role_statements(template, InputBucketKmsKeyArn=INPUT_KEY)["DataIngestionTaskRole"]
    without = _deployed_role_statements(template)["DataIngestionTaskRole"]
    assert [s for s in with_key if s not in without] == [s for s in with_key if INPUT_KEY in as_list(s.get("Resource", []))]
    assert not [s for s in without if "kms:ViaService" in s.get("Condition", {}).get("StringEquals", {})]

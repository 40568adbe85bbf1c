"""Nothing that outlives the stack depends on a resource that lives only as long as the stack, and
the probes' grant exists only in the integration suite's stacks.

- The input and output buckets outlive the stack; its key is deleted with it, and "After a KMS key
  is deleted, you can no longer decrypt the data that was encrypted under that KMS key" (KMS
  developer guide, "Deleting AWS KMS keys":
  https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys.html). A write without an
  encryption header takes the bucket's default encryption (S3 user guide:
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-encryption.html); with SSE-KMS the
  writer needs kms:GenerateDataKey and a reader kms:Decrypt on the bucket's key (S3 user guide,
  "Using server-side encryption with AWS KMS keys", permissions:
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html), held to S3 with
  kms:ViaService (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service).
- Probes: the least-privilege proof of the integration suite writes under probes/; only a stack
  deployed with EnableAccessProbes=true grants it.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from riskbatch_platform.analysis.resolve import resolve
from riskbatch_platform.testing.access_probes import refusal
from test.conftest import the_template
from test.template_model import REPO_ROOT, REQUIRED_VALUES, Resource, Template, as_list, job_statements, role_statements

OUTLIVING = ("InputBucketName", "OutputBucketName")  # parameters naming the data stores outside the stack
BUCKET_KEYS = ({"Ref": "InputBucketKmsKeyArn"}, {"Ref": "OutputBucketKmsKeyArn"})
S3_VIA = {"StringEquals": {"kms:ViaService": {"Fn::Sub": "s3.${AWS::Region}.amazonaws.com"}}}
TEMPLATE = the_template()
ROLES = TEMPLATE.of_type("AWS::IAM::Role")


def _resource_arns(statement: dict[str, Any]) -> list[str]:
    return [r["Fn::Sub"] for r in as_list(statement.get("Resource", [])) if isinstance(r, dict) and "Fn::Sub" in r]


def _output_object_actions(role: Resource) -> set[str]:
    """What the role does to objects of the output bucket, probes left out."""
    return {
        action
        for statement in job_statements(role)
        for arn in _resource_arns(statement)
        if arn.startswith("arn:${AWS::Partition}:s3:::${OutputBucketName}/")
        for action in as_list(statement["Action"])
    }


def _output_key_statements(role: Resource) -> list[dict[str, Any]]:
    return [s for s in job_statements(role) if s.get("Resource") == {"Ref": "OutputBucketKmsKeyArn"}]


def test_the_output_buckets_key_is_an_optional_parameter_like_the_input_buckets(template: Template) -> None:
    given, like = template.parameters()["OutputBucketKmsKeyArn"], template.parameters()["InputBucketKmsKeyArn"]
    assert given["Default"] == "" and given["AllowedPattern"] == like["AllowedPattern"] and "Never this stack's own key" in given["Description"]
    assert template.doc["Conditions"]["HasOutputBucketKmsKey"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "OutputBucketKmsKeyArn"}, ""]}]}


@pytest.mark.parametrize("role", [r for r in ROLES if _output_object_actions(r)], ids=repr)
def test_every_role_that_uses_the_output_bucket_may_use_its_key_through_s3_only(role: Resource) -> None:
    writes = bool({"s3:PutObject"} & _output_object_actions(role))
    (statement,) = _output_key_statements(role)
    assert sorted(as_list(statement["Action"])) == (["kms:Decrypt", "kms:GenerateDataKey"] if writes else ["kms:Decrypt"])
    assert statement.get("Condition") == S3_VIA
    raw = [s for p in role.props["Policies"] for s in p["PolicyDocument"]["Statement"] if "OutputBucketKmsKeyArn" in json.dumps(s)]
    assert [s["Fn::If"][0] for s in raw if s["Fn::If"][1]["Sid"] == statement["Sid"]] == ["HasOutputBucketKmsKey"]


@pytest.mark.parametrize(("key", "granted"), [("", False), ("arn:aws:kms:us-east-1:123456789012:key/0e7b2c1a-0000-4000-8000-0bucketkey01", True)])
def test_the_output_buckets_key_is_granted_only_when_given(template: Template, key: str, granted: bool) -> None:
    resolved = resolve(template.doc, {**REQUIRED_VALUES, "OutputBucketKmsKeyArn": key})["Resources"]
    holders = {logical_id for logical_id, body in resolved.items() if body["Type"] == "AWS::IAM::Role" and key and key in json.dumps(body)}
    users = {r.logical_id for r in ROLES if _output_object_actions(r)}
    assert users and holders == (users if granted else set())


@pytest.mark.parametrize("role", ROLES, ids=repr)
def test_no_grant_to_encrypt_through_s3_names_a_key_of_the_stack(role: Resource) -> None:
    """A key the stack owns, used for S3, would encrypt data that outlives it: S3 grants name the buckets' keys only."""
    for statement in role_statements(role):
        if statement.get("Condition") == S3_VIA or "s3." in json.dumps(statement.get("Condition", {})):
            assert statement["Resource"] in BUCKET_KEYS, statement


def _nodes(node: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found += _nodes(value)
    elif isinstance(node, list):
        for value in node:
            found += _nodes(value)
    return found


def _names_an_outliving_store(node: dict[str, Any]) -> bool:
    """A destination block: BucketARN / Bucket / BucketName built from an input or output bucket parameter."""
    return any(
        key in node and any(f"${{{name}}}" in json.dumps(node[key]) or {"Ref": name} == node[key] for name in OUTLIVING)
        for key in ("BucketARN", "Bucket", "BucketName")
    )


SHORT_LIVED_TYPES = ("AWS::KMS::Key", "AWS::KMS::Alias", "AWS::SNS::Topic", "AWS::SQS::Queue", "AWS::Lambda::Function")


@pytest.mark.parametrize("resource", TEMPLATE.all_resources(), ids=repr)
def test_no_data_store_that_outlives_the_stack_depends_on_a_resource_of_the_stack(template: Template, resource: Resource) -> None:
    """Every block of the template that writes into a bucket outside the stack (a delivery stream's
    destination, a notification) names no key, topic, queue or function of the stack: the data would
    be lost or orphaned with it. The writer's role is no dependency of the data it wrote."""
    for node in _nodes(resource.props):
        if _names_an_outliving_store(node):
            named = {referenced for referenced in template.referenced_resources(node) if template.get(referenced).type in SHORT_LIVED_TYPES}
            assert named == set(), f"{resource.logical_id}: {sorted(named)}"


def test_the_jobs_writes_send_no_key_of_their_own() -> None:
    """The jobs' writes carry no SSE header naming a key, so the bucket's default encryption decides."""
    sources = sorted((REPO_ROOT / "src").rglob("*.py"))
    naming_a_key = {str(p.relative_to(REPO_ROOT)) for p in sources if re.search(r"SSEKMSKeyId|ServerSideEncryption\s*=", p.read_text(encoding="utf-8"))}
    assert sources and naming_a_key == set()


# --- the probes' grant, behind EnableAccessProbes ---------------------------------------------------


def test_the_probes_parameter_is_off_unless_asked(template: Template) -> None:
    parameter = template.parameters()["EnableAccessProbes"]
    assert parameter["Default"] == "false" and parameter["AllowedValues"] == ["true", "false"] and parameter["Description"]
    assert template.doc["Conditions"]["AccessProbesEnabled"] == {"Fn::Equals": [{"Ref": "EnableAccessProbes"}, "true"]}


@pytest.mark.parametrize(("value", "probing"), [("false", False), ("true", True)])
def test_a_task_role_touches_probes_only_in_a_stack_deployed_for_the_probes(template: Template, value: str, probing: bool) -> None:
    resolved = resolve(template.doc, {**REQUIRED_VALUES, "EnableAccessProbes": value})["Resources"]
    with_probes = {logical_id for logical_id, body in resolved.items() if body["Type"] == "AWS::IAM::Role" and "/probes/" in json.dumps(body)}
    task_roles = {
        referenced for task in template.of_type("AWS::ECS::TaskDefinition") for referenced in template.referenced_resources(task.props["TaskRoleArn"])
    }
    assert task_roles and with_probes == (task_roles if probing else set())


@pytest.mark.parametrize("role", ROLES, ids=repr)
def test_every_probe_statement_is_under_the_probes_condition(role: Resource) -> None:
    for policy in role.props.get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            if "/probes/" in json.dumps(statement):
                assert list(statement) == ["Fn::If"] and statement["Fn::If"][0] == "AccessProbesEnabled", statement


@pytest.mark.parametrize(("parameters", "refused"), [({"EnableAccessProbes": "true"}, False), ({"EnableAccessProbes": "false"}, True), ({}, True)])
def test_a_live_run_refuses_to_start_against_a_stack_without_the_probes(parameters: dict[str, str], refused: bool) -> None:
    why = refusal("riskbatch-prod", parameters)
    assert (why is not None) == refused
    if why:
        assert "riskbatch-prod" in why and "EnableAccessProbes=true" in why and "\n" not in why

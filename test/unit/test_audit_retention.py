"""The audit data: how long the log groups keep their events, that nothing outlives the stack, and
the audit copy of the logs that lives outside it, in the output bucket.

- RetentionInDays takes only the values CloudWatch Logs accepts (PutRetentionPolicy, and the
  AWS::Logs::LogGroup resource schema cfn-lint ships, read here):
  https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/cloudwatchlogs/aws.sdk.kotlin.services.cloudwatchlogs.model/-log-group/retention-in-days.html
- DeletionPolicy takes Delete, Retain, RetainExceptOnCreate or Snapshot; UpdateReplacePolicy Delete,
  Retain or Snapshot; a function there needs the AWS::LanguageExtensions transform. The requirements
  allow Delete only, and no transform:
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-updatereplacepolicy.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/function-refs-in-policy-attributes.html
- Termination protection is a stack setting (CreateStack's EnableTerminationProtection,
  UpdateTerminationProtection), never asked for by the deployment:
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-protect-stacks.html
- a KMS key removed from a stack waits PendingWindowInDays, 7 to 30, before KMS deletes it (the
  AWS::KMS::Key resource schema, read here; "The range is 7-30 days" in
  https://docs.aws.amazon.com/kms/latest/cryptographic-details/key-deletion.html).
- The audit copy: a subscription filter on every log group sends its events to an Amazon Data
  Firehose stream that writes them into the output bucket under audit/ (CloudWatch Logs user guide,
  "Subscription filters with Amazon Data Firehose"; the CreateExportTask reference recommends
  subscriptions, not regular export tasks, to archive logs continuously):
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html#FirehoseExample
  https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateExportTask.html
  The delivery role's actions are the ones Firehose documents for an S3 destination:
  https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html#using-iam-s3
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from botocore import xform_name
from botocore.session import Session
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from riskbatch_platform.analysis.resolve import resolve
from test.conftest import the_template
from test.template_model import REPO_ROOT, REQUIRED_VALUES, SUBSTITUTION_VALUES, Resource, Template, as_list, referenced_id, role_statements, substitute

MINIMUM_DAYS = 30  # the requirement's least retention
SUFFIXES = ("prod", "dev", "prod-eu")  # production and two others: every one deletes everything
POLICIES = ("DeletionPolicy", "UpdateReplacePolicy")


def _schema_property(resource_type: str, name: str) -> dict:
    return PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema["properties"][name]


def _resolved(template: Template, suffix: str) -> dict:
    return resolve(template.doc, {**REQUIRED_VALUES, "EnvironmentSuffix": suffix})["Resources"]


def test_the_retention_parameter_offers_every_value_cloudwatch_logs_accepts_from_30_days(template: Template) -> None:
    parameter = template.parameters()["LogRetentionInDays"]
    accepted = _schema_property("AWS::Logs::LogGroup", "RetentionInDays")["enum"]
    assert parameter["Type"] == "Number" and parameter.get("Description")
    assert parameter["AllowedValues"] == [days for days in accepted if days >= MINIMUM_DAYS]
    assert parameter["Default"] == MINIMUM_DAYS


@pytest.mark.parametrize("log_group", the_template().of_type("AWS::Logs::LogGroup"), ids=repr)
def test_every_log_group_keeps_its_events_for_the_parameters_days(log_group: Resource) -> None:
    assert log_group.props["RetentionInDays"] == {"Ref": "LogRetentionInDays"}


@pytest.mark.parametrize("days", ["30", "3653"])
def test_the_deployed_log_groups_keep_the_days_given(template: Template, days: str) -> None:
    resolved = resolve(template.doc, {**REQUIRED_VALUES, "LogRetentionInDays": days})["Resources"]
    kept = {logical_id: body["Properties"]["RetentionInDays"] for logical_id, body in resolved.items() if body["Type"] == "AWS::Logs::LogGroup"}
    assert kept and set(kept.values()) == {days}


def test_production_is_the_prod_suffix(template: Template) -> None:
    assert template.doc["Conditions"]["IsProduction"] == {"Fn::Equals": [{"Ref": "EnvironmentSuffix"}, "prod"]}
    assert "prod is production" in template.parameters()["EnvironmentSuffix"]["Description"]


def test_the_template_declares_no_transform(template: Template) -> None:
    """No AWS::LanguageExtensions (nor any other): nothing in the template needs one."""
    assert "Transform" not in template.doc


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_every_resource_is_deleted_with_the_stack_in_every_environment(template: Template, suffix: str) -> None:
    resolved = _resolved(template, suffix)
    assert resolved
    kept = {(logical_id, policy): body[policy] for logical_id, body in resolved.items() for policy in POLICIES if body.get(policy, "Delete") != "Delete"}
    assert kept == {}


def _calls_in(path: Path) -> set[str]:
    """Names the code calls or sends: attributes, keyword arguments, dict keys and other string constants. A
    string read out of an answer (DescribeStacks' EnableTerminationProtection, read by the teardown) sends nothing."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    read = {id(node.slice) for node in ast.walk(tree) if isinstance(node, ast.Subscript)}
    read |= {
        id(arg)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
        for arg in node.args[:1]
    }
    names = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    names |= {node.arg for node in ast.walk(tree) if isinstance(node, ast.keyword) and node.arg}
    names |= {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in read}
    return names


def test_no_command_turns_on_termination_protection() -> None:
    """Every way to turn it on, read from botocore's CloudFormation model, is absent from the platform's code
    (reading it from DescribeStacks, as the teardown does before it deletes, is allowed)."""
    model = Session().get_service_model("cloudformation")
    by_parameter = {name for name in model.operation_names if "EnableTerminationProtection" in model.operation_model(name).input_shape.members}
    assert by_parameter == {"CreateStack", "UpdateTerminationProtection"}
    # CreateStack is allowed without the parameter; the other operation exists only to turn it on or off
    forbidden = {"EnableTerminationProtection", "UpdateTerminationProtection", xform_name("UpdateTerminationProtection")}
    sources = sorted((REPO_ROOT / "src").rglob("*.py"))
    assert sources
    found = {str(path.relative_to(REPO_ROOT)): _calls_in(path) & forbidden for path in sources}
    assert {path: names for path, names in found.items() if names} == {}


def test_the_check_finds_termination_protection_sent_but_not_read(tmp_path: Path) -> None:
    sent = tmp_path / "sent.py"
    sent.write_text('cfn.create_stack(StackName="s", EnableTerminationProtection=True)\n', encoding="utf-8")
    as_dict = tmp_path / "as_dict.py"
    as_dict.write_text('cfn.create_stack(**{"StackName": "s", "EnableTerminationProtection": True})\n', encoding="utf-8")
    read = tmp_path / "read.py"
    read.write_text('protected = stack.get("EnableTerminationProtection") or stack["EnableTerminationProtection"]\n', encoding="utf-8")
    assert "EnableTerminationProtection" in _calls_in(sent) and "EnableTerminationProtection" in _calls_in(as_dict)
    assert "EnableTerminationProtection" not in _calls_in(read)


@pytest.mark.parametrize(("suffix", "days"), [("prod", 30), ("dev", 7)])
@pytest.mark.parametrize("key", the_template().of_type("AWS::KMS::Key"), ids=repr)
def test_the_key_waits_longer_before_deletion_in_production(template: Template, key: Resource, suffix: str, days: int) -> None:
    window = _schema_property("AWS::KMS::Key", "PendingWindowInDays")
    resolved = _resolved(template, suffix)[key.logical_id]["Properties"]["PendingWindowInDays"]
    assert resolved == days and window["minimum"] <= resolved <= window["maximum"]


# --- the audit copy of the logs, outside the stack -------------------------------------------------


def _audit_stream(template: Template) -> Resource:
    (stream,) = template.of_type("AWS::KinesisFirehose::DeliveryStream")
    return stream


@pytest.mark.parametrize("log_group", the_template().of_type("AWS::Logs::LogGroup"), ids=repr)
def test_every_log_group_sends_every_event_to_the_audit_copy(template: Template, log_group: Resource) -> None:
    stream = _audit_stream(template)
    filters = [f for f in template.of_type("AWS::Logs::SubscriptionFilter") if referenced_id(f.props["LogGroupName"]) == log_group.logical_id]
    assert len(filters) == 1, "one subscription of the two a log group may have"
    (subscription,) = filters
    assert subscription.props["FilterPattern"] == "", "an empty pattern matches every event"
    assert referenced_id(subscription.props["DestinationArn"]) == stream.logical_id
    assert "Condition" not in subscription.body and "Condition" not in log_group.body


def test_the_audit_copy_lands_in_the_output_bucket_under_audit(template: Template) -> None:
    destination = _audit_stream(template).props["ExtendedS3DestinationConfiguration"]
    assert substitute(destination["BucketARN"], {**SUBSTITUTION_VALUES, "OutputBucketName": "risk-output"}) == "arn:aws:s3:::risk-output"
    for prefix in ("Prefix", "ErrorOutputPrefix"):
        assert destination[prefix]["Fn::Sub"].startswith("audit/${EnvironmentSuffix}/"), prefix
    assert "!{timestamp:yyyy-MM-dd}" in destination["Prefix"]["Fn::Sub"], "one folder per day (UTC)"
    # CloudWatch Logs already sends gzip-compressed records: Firehose compresses nothing again
    assert destination["CompressionFormat"] == "UNCOMPRESSED"
    # the bucket's default encryption decides, as for every other write to the output bucket
    assert "EncryptionConfiguration" not in destination


def test_the_delivery_role_writes_only_audit_objects_of_the_output_bucket(template: Template) -> None:
    stream = _audit_stream(template)
    role = template.get(referenced_id(stream.props["ExtendedS3DestinationConfiguration"]["RoleARN"]))
    (trust,) = role.props["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "firehose.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": {"Ref": "AWS::AccountId"}}}
    granted = {}
    for statement in role_statements(role):
        if statement["Sid"].startswith("UseTheOutputBucketsKey"):
            continue  # the output bucket's own key, test_outliving_data.py
        for resource in as_list(statement["Resource"]):
            for action in as_list(statement["Action"]):
                granted.setdefault(action, set()).add(resource["Fn::Sub"])
    objects, bucket = "arn:${AWS::Partition}:s3:::${OutputBucketName}/audit/*", "arn:${AWS::Partition}:s3:::${OutputBucketName}"
    assert granted == {
        "s3:AbortMultipartUpload": {objects},
        "s3:GetObject": {objects},
        "s3:PutObject": {objects},
        "s3:GetBucketLocation": {bucket},
        "s3:ListBucket": {bucket},
        "s3:ListBucketMultipartUploads": {bucket},
    }


@pytest.mark.parametrize("subscription", the_template().of_type("AWS::Logs::SubscriptionFilter"), ids=repr)
def test_cloudwatch_logs_may_only_put_records_into_the_audit_stream(template: Template, subscription: Resource) -> None:
    role = template.get(referenced_id(subscription.props["RoleArn"]))
    (trust,) = role.props["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "logs.amazonaws.com"}
    assert trust["Condition"] == {"StringLike": {"aws:SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:*"}}}
    (statement,) = role_statements(role)
    assert sorted(as_list(statement["Action"])) == ["firehose:PutRecord", "firehose:PutRecordBatch"]
    stream_name = _audit_stream(template).props["DeliveryStreamName"]["Fn::Sub"]
    assert statement["Resource"] == {"Fn::Sub": f"arn:${{AWS::Partition}}:firehose:${{AWS::Region}}:${{AWS::AccountId}}:deliverystream/{stream_name}"}

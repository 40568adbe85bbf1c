"""riskbatch-deploy --plan: the IAM statement, security-group and encryption changes against the DEPLOYED stack,
read with CloudFormation GetTemplate ("Returns the template body for a specified stack":
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_GetTemplate.html), both templates resolved
with their parameter values (the stack's from DescribeStacks), in riskbatch-review's words; the parameter behind a
change named from the change set (ResourceChangeDetail, ChangeSource ParameterReference and CausingEntity:
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChangeDetail.html).
Against the emulator (moto with its fixes), where the stack is deployed first."""

from __future__ import annotations

import copy
import json

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from riskbatch_platform.analysis.resolve import resolve
from riskbatch_platform.analysis.review import finding_line, review_templates
from riskbatch_platform.aws import Target
from riskbatch_platform.deployment.deploy import print_plan
from riskbatch_platform.deployment.live_review import deployed_template, live_review_lines, read_live, security_changes
from riskbatch_platform.deployment.stack import StackOptions, deploy, planned_changes, stack_status

REGION = "us-east-1"
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
READ = {"Sid": "ReadRuns", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::risk-output/runs/*"}
DEPLOYED = {
    "Resources": {
        "TaskRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": "role-live-review-test",
                "AssumeRolePolicyDocument": TRUST,
                "Policies": [{"PolicyName": "runs", "PolicyDocument": {"Version": "2012-10-17", "Statement": [READ]}}],
            },
        },
        "TaskSecurityGroup": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "tasks", "SecurityGroupEgress": []}},
    }
}
# Security settings fed by parameters, as lib/VpcEndpoints.json's ClientCidr opens the endpoints' ingress and
# lib/TapStack.json's InputBucketKmsKeyArn feeds a task role's kms:Decrypt.
PARAMETERISED = {
    "Parameters": {
        "ClientCidr": {"Type": "String", "Description": "who may reach the endpoints"},
        "InputBucketKmsKeyArn": {"Type": "String", "Description": "the input bucket's key"},
        "QueueKeyId": {"Type": "String", "Default": "alias/aws/sqs", "Description": "the queue's key"},
    },
    "Resources": {
        "EndpointSecurityGroup": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": "endpoints",
                "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": {"Ref": "ClientCidr"}}],
            },
        },
        "TaskRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": "role-live-review-keys",
                "AssumeRolePolicyDocument": TRUST,
                "Policies": [
                    {
                        "PolicyName": "input",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [{"Sid": "DecryptInput", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": {"Ref": "InputBucketKmsKeyArn"}}],
                        },
                    }
                ],
            },
        },
        "WorkQueue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "sqs-live-review", "KmsMasterKeyId": {"Ref": "QueueKeyId"}}},
    },
}
KEY_A = "arn:aws:kms:us-east-1:123456789012:key/aaaaaaaa-1111-2222-3333-444444444444"
KEY_B = "arn:aws:kms:us-east-1:123456789012:key/bbbbbbbb-1111-2222-3333-444444444444"
FIRST = {"ClientCidr": "10.0.0.0/16", "InputBucketKmsKeyArn": KEY_A}


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch):
    from riskbatch_platform.local.emulator.patching import apply_fixes

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    fixes = apply_fixes()
    try:
        with mock_aws():
            target = Target(region=REGION)
            deploy(target, "riskbatch-live", DEPLOYED, {})
            yield target
    finally:
        fixes.undo()


def _widened() -> dict:
    """The deployed template with a wildcard action and SSH open to the world."""
    changed = copy.deepcopy(DEPLOYED)
    statement = changed["Resources"]["TaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]
    statement["Action"] = ["s3:*"]
    ssh = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"}
    changed["Resources"]["TaskSecurityGroup"]["Properties"]["SecurityGroupIngress"] = [ssh]
    return changed


def _plan(target: Target, stack_name: str, template: dict, parameters: dict[str, str], capsys: pytest.CaptureFixture[str]) -> str:
    print_plan(target, stack_name, template, parameters, None, StackOptions())
    return capsys.readouterr().out


def test_the_plan_shows_iam_and_security_group_changes_against_the_deployed_stack(emulator, capsys: pytest.CaptureFixture[str]) -> None:
    changed = _widened()
    shown = _plan(emulator, "riskbatch-live", changed, {}, capsys)
    # the same words riskbatch-review gives the same change
    expected = [finding_line(f) for f in review_templates(DEPLOYED, changed).findings if f.category in ("iam", "network")]
    assert expected and all(f"  {line}" in shown.splitlines() for line in expected), shown
    assert "⚠ iam: TaskRole Policies[runs]:ReadRuns: widening: a wildcard action" in shown
    assert '⚠ network: TaskSecurityGroup: SecurityGroupIngress added: {"CidrIp": "0.0.0.0/0"' in shown
    assert "against the deployed riskbatch-live (GetTemplate; both templates resolved with their parameter values" in shown


def test_the_comparison_is_with_the_deployed_template_not_the_one_in_git(emulator) -> None:
    """A stack deployed from a branch: the plan compares with what runs, so a statement already live is no change."""
    live = _widened()
    deploy(emulator, "riskbatch-live", live, {})
    cfn = emulator.client("cloudformation")
    assert deployed_template(cfn, "riskbatch-live") == live
    lines = live_review_lines(read_live(cfn, "riskbatch-live"), "riskbatch-live", live)
    assert len(lines) == 1 and lines[0].endswith("in riskbatch-review's words: none"), lines
    back = live_review_lines(read_live(cfn, "riskbatch-live"), "riskbatch-live", DEPLOYED)
    assert "  - iam: TaskRole Policies[runs]:ReadRuns: narrowed: ['s3:*'] removed" in back, back
    assert any(line.startswith("  - network: TaskSecurityGroup: SecurityGroupIngress removed") for line in back), back


def test_a_parameter_alone_opening_an_ingress_rule_shows_as_a_security_group_change(emulator, capsys: pytest.CaptureFixture[str]) -> None:
    """The template text is the same; only ClientCidr's value changes, to the whole internet."""
    deploy(emulator, "riskbatch-endpoints", PARAMETERISED, FIRST)
    shown = _plan(emulator, "riskbatch-endpoints", PARAMETERISED, {"ClientCidr": "0.0.0.0/0"}, capsys)
    opened = '⚠ network: EndpointSecurityGroup: SecurityGroupIngress added: {"CidrIp": "0.0.0.0/0", "FromPort": 443, "IpProtocol": "tcp", "ToPort": 443}'
    closed = '- network: EndpointSecurityGroup: SecurityGroupIngress removed: {"CidrIp": "10.0.0.0/16", "FromPort": 443, "IpProtocol": "tcp", "ToPort": 443}'
    lines = shown.splitlines()
    assert f"  {opened}" in lines and f"  {closed}" in lines, shown
    # the change set names the parameter behind the change, in the plan's row and under the finding
    cause = "      caused by parameter ClientCidr (the change set: Properties.SecurityGroupIngress, ChangeSource ParameterReference)"
    assert lines[lines.index(f"  {opened}") + 1] == cause, shown
    (row,) = [line for line in lines if line.startswith("Modify")]
    assert "EndpointSecurityGroup" in row and "Properties.SecurityGroupIngress (parameter ClientCidr)" in row, shown
    assert "needs a security reviewer" in shown


def test_parameters_feeding_a_policy_and_an_encryption_setting_show_in_review_words(emulator, capsys: pytest.CaptureFixture[str]) -> None:
    deploy(emulator, "riskbatch-keys", PARAMETERISED, FIRST)
    shown = _plan(emulator, "riskbatch-keys", PARAMETERISED, {"InputBucketKmsKeyArn": KEY_B, "QueueKeyId": "alias/risk"}, capsys)
    before = resolve(PARAMETERISED, FIRST)
    after = resolve(PARAMETERISED, {**FIRST, "InputBucketKmsKeyArn": KEY_B, "QueueKeyId": "alias/risk"})
    expected = [finding_line(f) for f in review_templates(before, after).findings if f.category in ("iam", "encryption")]
    assert f"⚠ iam: TaskRole Policies[input]:DecryptInput: resources added: ['\"{KEY_B}\"']" in expected
    assert "- encryption: WorkQueue: KmsMasterKeyId: changed" in expected
    assert all(f"  {line}" in shown.splitlines() for line in expected), shown
    assert "      caused by parameter QueueKeyId (the change set: Properties.KmsMasterKeyId, ChangeSource ParameterReference)" in shown


def test_encryption_findings_are_passed_through_in_review_words() -> None:
    """A log group's KmsKeyId, a topic's and a queue's KmsMasterKeyId, a repository's EncryptionConfiguration: what riskbatch-review says of each."""
    key = {"Fn::GetAtt": ["Key", "Arn"]}
    before = {
        "Resources": {
            "Key": {"Type": "AWS::KMS::Key", "Properties": {"EnableKeyRotation": True}},
            "TaskEventsLogGroup": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "log-x", "KmsKeyId": key}},
            "AlertTopic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "sns-x", "KmsMasterKeyId": key}},
            "Repository": {"Type": "AWS::ECR::Repository", "Properties": {"EncryptionConfiguration": {"EncryptionType": "KMS", "KmsKey": key}}},
        }
    }
    after = copy.deepcopy(before)
    del after["Resources"]["TaskEventsLogGroup"]["Properties"]["KmsKeyId"]
    after["Resources"]["AlertTopic"]["Properties"]["KmsMasterKeyId"] = "alias/aws/sns"
    after["Resources"]["Repository"]["Properties"]["EncryptionConfiguration"] = {"EncryptionType": "AES256"}
    passed = [finding_line(finding) for finding in security_changes(before, after)]
    expected = [finding_line(f) for f in review_templates(before, after).findings if f.category == "encryption"]
    assert "⚠ encryption: TaskEventsLogGroup: KmsKeyId: removed (encryption off)" in expected
    assert len(expected) >= 3 and set(expected) <= set(passed), (expected, passed)


def test_a_new_stack_is_said_to_be_new_and_reviewed_against_an_empty_template(emulator, capsys: pytest.CaptureFixture[str]) -> None:
    """No stack: nothing deployed, every statement and rule new, listed; the planned stack is deleted again."""
    shown = _plan(emulator, "riskbatch-new", PARAMETERISED, FIRST, capsys)
    assert "riskbatch-new does not exist yet, so nothing is deployed: a NEW stack, reviewed against an empty template" in shown, shown
    expected = [finding_line(f) for f in review_templates({}, resolve(PARAMETERISED, FIRST)).findings if f.category in ("iam", "network")]
    assert "⚠ iam: TaskRole Policies[input]:DecryptInput: statement added: Allow ['kms:Decrypt'] on ['\"" + KEY_A + "\"']" in expected
    assert all(f"  {line}" in shown.splitlines() for line in expected), shown
    assert stack_status(emulator.client("cloudformation"), "riskbatch-new") is None


class _WithoutTemplates:
    """A CloudFormation client whose GetTemplate answers as the API reference says it does when there is no template:
    "If the template doesn't exist, a ValidationError is returned" (API reference, GetTemplate:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_GetTemplate.html); the emulator answers an empty body."""

    def __init__(self, cfn) -> None:
        self.cfn, self.meta = cfn, cfn.meta

    def describe_stacks(self, **arguments):
        return self.cfn.describe_stacks(**arguments)

    def get_template(self, **arguments):
        raise ClientError({"Error": {"Code": "ValidationError", "Message": "the template does not exist"}}, "GetTemplate")


def test_a_stack_in_review_in_progress_has_no_template_and_is_reviewed_as_new(emulator, capsys: pytest.CaptureFixture[str]) -> None:
    """A CREATE change set never executed leaves the stack in REVIEW_IN_PROGRESS, "with an expected StackId but without any
    templates or resources" (CloudFormation User Guide, stack status codes:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-describing-stacks.html).
    GetTemplate is not asked for a template it does not have; the plan reviews against an empty one."""
    cfn = emulator.client("cloudformation")
    parameters = [{"ParameterKey": key, "ParameterValue": value} for key, value in FIRST.items()]
    body = json.dumps(PARAMETERISED)
    cfn.create_change_set(StackName="riskbatch-review", ChangeSetName="left", ChangeSetType="CREATE", TemplateBody=body, Parameters=parameters)
    assert stack_status(cfn, "riskbatch-review") == "REVIEW_IN_PROGRESS"
    live = read_live(_WithoutTemplates(cfn), "riskbatch-review")
    assert (live.status, live.template) == ("REVIEW_IN_PROGRESS", None)
    shown = _plan(emulator, "riskbatch-review", PARAMETERISED, FIRST, capsys)
    assert "riskbatch-review is in REVIEW_IN_PROGRESS (a CREATE change set made it and none was executed: no template, no resources)" in shown, shown
    assert "a NEW stack, reviewed against an empty template" in shown
    assert '  ⚠ network: EndpointSecurityGroup: SecurityGroupIngress added: {"CidrIp": "10.0.0.0/16"' in shown, shown


def test_the_change_sets_parameter_reference_names_the_parameter() -> None:
    described = [
        {
            "ResourceChange": {
                "Action": "Modify", "LogicalResourceId": "EndpointSecurityGroup", "ResourceType": "AWS::EC2::SecurityGroup",
                "Replacement": "False", "Scope": ["Properties"],
                "Details": [
                    {"Target": {"Attribute": "Properties", "Name": "SecurityGroupIngress", "RequiresRecreation": "Never"},
                     "Evaluation": "Static", "ChangeSource": "ParameterReference", "CausingEntity": "ClientCidr"},
                    {"Target": {"Attribute": "Properties", "Name": "Tags", "RequiresRecreation": "Never"},
                     "Evaluation": "Static", "ChangeSource": "DirectModification"},
                ],
            }
        }
    ]  # fmt: skip
    (change,) = planned_changes(described)
    assert change.causes == (("ClientCidr", "Properties.SecurityGroupIngress"),)
    assert change.details == ("Properties.SecurityGroupIngress (parameter ClientCidr)", "Properties.Tags")


def test_a_parameter_is_named_only_under_the_property_it_changed(emulator, capsys: pytest.CaptureFixture[str]) -> None:
    """ClientCidr opens the ingress while the template itself adds an egress rule: only the ingress is the parameter's."""
    deploy(emulator, "riskbatch-both", PARAMETERISED, FIRST)
    edited = copy.deepcopy(PARAMETERISED)
    egress = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.1.0.0/16"}
    edited["Resources"]["EndpointSecurityGroup"]["Properties"]["SecurityGroupEgress"] = [egress]
    lines = _plan(emulator, "riskbatch-both", edited, {"ClientCidr": "0.0.0.0/0"}, capsys).splitlines()
    (added_egress,) = [index for index, line in enumerate(lines) if line.startswith("  - network: EndpointSecurityGroup: SecurityGroupEgress added")]
    (added_ingress,) = [index for index, line in enumerate(lines) if line.startswith("  ⚠ network: EndpointSecurityGroup: SecurityGroupIngress added")]
    assert "caused by parameter ClientCidr" in lines[added_ingress + 1], lines
    assert "caused by parameter" not in lines[added_egress + 1], lines


ACCOUNT_ROOT = {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
KEY_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": ACCOUNT_ROOT, "Action": "kms:*", "Resource": "*"}]}
KEPT = {
    "Parameters": {"LogRetentionInDays": {"Type": "Number", "Default": 30, "Description": "days the log group keeps its events"}},
    "Resources": {
        "LogKey": {"Type": "AWS::KMS::Key", "Properties": {"EnableKeyRotation": True, "KeyPolicy": KEY_POLICY}},
        "AuditLogGroup": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "log-live-review", "RetentionInDays": {"Ref": "LogRetentionInDays"}}},
    },
}


def test_a_shortened_retention_shows_with_a_warning_against_the_deployed_stack(emulator, capsys: pytest.CaptureFixture[str]) -> None:
    """Deployed at 3653 days, planned at 30: events older than the new retention are deleted ("When log events reach their
    retention setting they are marked for deletion": CloudWatch Logs API reference, PutRetentionPolicy,
    https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html)."""
    deploy(emulator, "riskbatch-kept", KEPT, {"LogRetentionInDays": "3653"})
    shown = _plan(emulator, "riskbatch-kept", KEPT, {"LogRetentionInDays": "30"}, capsys)
    assert "  ⚠ retention: AuditLogGroup: retention RetentionInDays: 3653 -> 30: shortened, what is older is deleted" in shown.splitlines(), shown
    assert "      caused by parameter LogRetentionInDays (the change set: Properties.RetentionInDays, ChangeSource ParameterReference)" in shown, shown
    assert "  ⚠: needs a security reviewer before it is deployed" in shown


def test_a_stateful_resource_removed_shows_with_a_warning_against_the_deployed_stack(emulator) -> None:
    """riskbatch-review flags the removal of a key (everything encrypted under it becomes unreadable): the plan shows it too."""
    deploy(emulator, "riskbatch-kept", KEPT, {})
    without_key = copy.deepcopy(KEPT)
    del without_key["Resources"]["LogKey"]
    lines = live_review_lines(read_live(emulator.client("cloudformation"), "riskbatch-kept"), "riskbatch-kept", without_key)
    expected = [f"  {finding_line(f)}" for f in review_templates(KEPT, without_key).findings if f.needs_security_review]
    loss = "everything encrypted under it becomes unreadable once the old key is deleted"
    assert expected == [f"  ⚠ resources: LogKey (AWS::KMS::Key): removed: stateful, {loss}"]
    assert set(expected) <= set(lines), lines


@pytest.mark.parametrize(("account", "flagged"), [("999999999999", True), (None, False)], ids=["another account", "the stack's account"])
def test_a_trust_policy_principal_change_shows_against_the_deployed_stack(emulator, account: str | None, flagged: bool) -> None:
    """Who may assume the role ("For cross-account access, you must specify the 12-digit identifier of the trusted account":
    IAM JSON policy elements: Principal, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html).
    The stack's own account is read from its ARN (DescribeStacks' StackId)."""
    cfn = emulator.client("cloudformation")
    live = read_live(cfn, "riskbatch-live")
    trusted = f"arn:aws:iam::{account or live.pseudo['account']}:root"
    changed = copy.deepcopy(DEPLOYED)
    changed["Resources"]["TaskRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] = {"AWS": trusted}
    lines = live_review_lines(live, "riskbatch-live", changed)
    (added,) = [line for line in lines if "principal added" in line]
    assert added.startswith("  ⚠ iam: TaskRole AssumeRolePolicyDocument:0: principal added" if flagged else "  - iam: TaskRole"), lines
    assert ("  ⚠: needs a security reviewer before it is deployed" in lines) is flagged, lines


def test_access_granted_other_than_by_a_statement_shows_against_the_deployed_stack(emulator) -> None:
    """A managed policy attached to the role (ManagedPolicyArns: CloudFormation User Guide, AWS::IAM::Role,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-iam-role.html) and a standalone egress
    rule to every address: riskbatch-review flags both, so the plan shows both, not only as a resource modified."""
    changed = copy.deepcopy(DEPLOYED)
    changed["Resources"]["TaskRole"]["Properties"]["ManagedPolicyArns"] = ["arn:aws:iam::aws:policy/AdministratorAccess"]
    egress = {"GroupId": {"Fn::GetAtt": ["TaskSecurityGroup", "GroupId"]}, "IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}
    changed["Resources"]["OpenEgress"] = {"Type": "AWS::EC2::SecurityGroupEgress", "Properties": egress}
    lines = live_review_lines(read_live(emulator.client("cloudformation"), "riskbatch-live"), "riskbatch-live", changed)
    attached = "  ⚠ iam: TaskRole: ManagedPolicyArns: a managed policy attached: ['arn:aws:iam::aws:policy/AdministratorAccess']"
    assert attached in lines, lines
    assert any(line.startswith("  ⚠ network: OpenEgress: an egress rule to everyone") for line in lines), lines


def test_a_condition_key_dropped_from_an_allow_shows_with_a_warning_against_the_deployed_stack(emulator) -> None:
    """Keys under one condition operator are ANDed ("Conditions with multiple context keys or values":
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html): one dropped while
    the operator stays lets more requests through."""
    guarded = copy.deepcopy(DEPLOYED)
    read = guarded["Resources"]["TaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]
    read["Condition"] = {"StringEquals": {"aws:ResourceAccount": "123456789012", "s3:ExistingObjectTag/classification": "risk"}}
    deploy(emulator, "riskbatch-live", guarded, {})
    dropped = copy.deepcopy(guarded)
    del dropped["Resources"]["TaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]["Condition"]["StringEquals"]["aws:ResourceAccount"]
    lines = live_review_lines(read_live(emulator.client("cloudformation"), "riskbatch-live"), "riskbatch-live", dropped)
    assert "  ⚠ iam: TaskRole Policies[runs]:ReadRuns: condition removed: ['StringEquals aws:ResourceAccount']" in lines, lines

"""riskbatch-deploy --plan: the IAM statement and security-group changes against the DEPLOYED stack,
read with CloudFormation GetTemplate ("Returns the template body for a specified stack":
https://docs.aws.amazon.com/cli/latest/reference/cloudformation/get-template.html), in riskbatch-review's words.
Against the emulator (moto with its fixes), where the stack is deployed first."""

from __future__ import annotations

import copy
import json

import pytest
from moto import mock_aws

from riskbatch_platform.analysis.review import finding_line, review_templates
from riskbatch_platform.aws import Target
from riskbatch_platform.deployment.deploy import print_plan
from riskbatch_platform.deployment.live_review import deployed_template, live_review_lines
from riskbatch_platform.deployment.stack import StackOptions, deploy

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


def test_the_plan_shows_iam_and_security_group_changes_against_the_deployed_stack(emulator, capsys: pytest.CaptureFixture[str]) -> None:
    changed = _widened()
    print_plan(emulator, "riskbatch-live", changed, {}, None, StackOptions())
    shown = capsys.readouterr().out
    # the same words riskbatch-review gives the same change
    expected = [finding_line(f) for f in review_templates(DEPLOYED, changed).findings if f.category in ("iam", "network")]
    assert expected and all(f"  {line}" in shown.splitlines() for line in expected), shown
    assert "⚠ iam: TaskRole Policies[runs]:ReadRuns: widening: a wildcard action" in shown
    assert '⚠ network: TaskSecurityGroup: SecurityGroupIngress added: {"CidrIp": "0.0.0.0/0"' in shown
    assert "against the deployed riskbatch-live (GetTemplate)" in shown


def test_the_comparison_is_with_the_deployed_template_not_the_one_in_git(emulator) -> None:
    """A stack deployed from a branch: the plan compares with what runs, so a statement already live is no change."""
    live = _widened()
    deploy(emulator, "riskbatch-live", live, {})
    cfn = emulator.client("cloudformation")
    assert deployed_template(cfn, "riskbatch-live") == live
    lines = live_review_lines(cfn, "riskbatch-live", live)
    assert lines == ["\nIAM and security-group changes against the deployed riskbatch-live (GetTemplate), in riskbatch-review's words: none"]
    back = live_review_lines(cfn, "riskbatch-live", DEPLOYED)
    assert "  - iam: TaskRole Policies[runs]:ReadRuns: narrowed: ['s3:*'] removed" in back, back
    assert any(line.startswith("  - network: TaskSecurityGroup: SecurityGroupIngress removed") for line in back), back


def test_a_stack_not_deployed_says_so(emulator) -> None:
    (line,) = live_review_lines(emulator.client("cloudformation"), "riskbatch-none", json.loads(json.dumps(DEPLOYED)))
    assert "riskbatch-none is not deployed" in line

"""Teardown by a person holding only the generated policy for deploying with a CloudFormation service role.

A stack of its own, in an emulator of its own: deployed with the service role (docs/cloudformation-service-role-*.json,
passed as CreateChangeSet's RoleARN), then torn down by `riskbatch-teardown` as an IAM user whose one policy is
docs/deploying-with-service-role-policy.json, as generated. The emulator enforces IAM on every call that user makes
(moto's identity-policy evaluation, with the emulator's fixes for conditions such as iam:PassedToService, PassRole
on Scheduler's UpdateSchedule and ECS RunTask, and ECR's enhanced-scanning dependency). It does not act as the service
role: moto's CloudFormation deletes the stack's resources itself, without evaluating the role's policy.

"AWS CloudFormation service role": CloudFormation uses the role for the stack's operations; the person needs
iam:PassRole of it (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-iam-servicerole.html).
Scheduler's UpdateSchedule needs iam:PassRole of the schedule's role (Service Authorization Reference, Amazon
EventBridge Scheduler: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridgescheduler.html).
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from riskbatch_platform import REPO_ROOT
from riskbatch_platform.deployment import teardown
from riskbatch_platform.deployment.stack import StackOptions
from riskbatch_platform.deployment.teardown import leftovers
from riskbatch_platform.local.emulator.loopback import running_emulator
from riskbatch_platform.local.night import deploy_local
from test.integration.conftest import local_only

SERVICE_ROLE = "role-cloudformation-riskbatch-us-east-1"


def _document(name: str) -> str:
    return (REPO_ROOT / "docs" / name).read_text(encoding="utf-8")


def test_teardown_succeeds_for_a_person_holding_only_the_generated_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    local_only(None, "changes the stack")
    with running_emulator(log_dir=tmp_path) as emulator:
        iam = emulator.client("iam")  # the account's administrator, setting up the role once
        role = iam.create_role(RoleName=SERVICE_ROLE, AssumeRolePolicyDocument=_document("cloudformation-service-role-trust.json"))["Role"]["Arn"]
        policy = _document("cloudformation-service-role-policy.json")
        iam.put_role_policy(RoleName=SERVICE_ROLE, PolicyName="policy-cloudformation-riskbatch", PolicyDocument=policy)
        local = deploy_local(emulator, "svcrole", tmp_path, say=lambda line: None, options=StackOptions(role_arn=role))
        cfn = emulator.client("cloudformation")
        assert cfn.describe_stacks(StackName=local.stack_name)["Stacks"][0].get("RoleARN") == role
        assert leftovers(emulator.target, "svcrole")["IAM roles"], "the stack's resources are there"
        emulator.client("sqs").delete_queue(QueueUrl=local.mailbox)  # the harness's subscriber, not the stack's

        iam.create_user(UserName="person-deploying")
        iam.put_user_policy(UserName="person-deploying", PolicyName="deploying", PolicyDocument=_document("deploying-with-service-role-policy.json"))
        key = iam.create_access_key(UserName="person-deploying")["AccessKey"]
        for name, value in {
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
            "AWS_REGION": emulator.region,
            "AWS_ENDPOINT_URL": emulator.endpoint_url,
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)

        # Under the registry's enhanced scanning the emulator refuses DescribeImageScanFindings without
        # inspector2:ListFindings ("IAM permissions required for enhanced scanning in Amazon ECR",
        # https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning-enhanced-iam.html): the person's
        # policy and the pre-night check's role (assumed as ECS tasks would) read the findings all the same.
        emulator.client("ecr").put_registry_scanning_configuration(scanType="ENHANCED", rules=[])
        repository, tag = "ecr-risk-calculation-svcrole", local.template["Parameters"]["ImageTag"]["Default"]
        person = boto3.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], region_name=emulator.region)
        pre_night_role = role.replace(SERVICE_ROLE, f"role-pre-night-check-task-svcrole-{emulator.region}")
        task = emulator.agent_target.client("sts").assume_role(RoleArn=pre_night_role, RoleSessionName="pre-night")["Credentials"]
        pre_night_session = boto3.Session(task["AccessKeyId"], task["SecretAccessKey"], task["SessionToken"], region_name=emulator.region)
        for session in (person, pre_night_session):
            ecr = session.client("ecr", endpoint_url=emulator.endpoint_url)
            found = ecr.describe_image_scan_findings(repositoryName=repository, imageId={"imageTag": tag})
            assert found["imageScanStatus"]["status"]

        code = teardown.main(["--stack-name", local.stack_name, "--yes"])
        captured = capsys.readouterr()
        assert code == 0, captured.err[-2000:]
        assert "schedule schedule-pre-night-check-svcrole: disabled" in captured.err and "nothing carrying -svcrole is left" in captured.out
        assert {kind: names for kind, names in leftovers(emulator.target, "svcrole").items() if names} == {}


def test_the_generated_policy_is_what_the_person_held() -> None:
    # the test above reads the documents as written: they must be the generated ones
    from riskbatch_platform.analysis.deployer_permissions import deploying_person_policy, service_role_policy

    assert json.loads(_document("deploying-with-service-role-policy.json")) == deploying_person_policy()
    assert json.loads(_document("cloudformation-service-role-policy.json")) == service_role_policy()

"""Preflight against the deployed stack: it passes on the local deployment, fails with the fix named
for each thing that breaks a night (a quota too small, nearly full subnets, a missing image tag, an
unconfirmed subscription), stops riskbatch-deploy unless told otherwise, and runs as the scheduled
pre-night check task, which alerts the topic when a check fails and stays quiet otherwise (against a
live stack the alerting half is opt-in: RISKBATCH_EXERCISE_STACK=1)."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from riskbatch.operations.preflight import findings, monitoring
from riskbatch.operations.preflight.findings import FAIL
from riskbatch_platform.deployment.preflight_stack import account_of, check_stack
from riskbatch_platform.local.night import read_mailbox
from test.integration.conftest import DeployedStack, alert_inbox, deployed_parameters, local_only, run_scheduled_task

REPO_ROOT = Path(__file__).resolve().parents[2]


def _failed(findings: list[findings.Finding]) -> list[findings.Finding]:
    return [finding for finding in findings if finding.status == FAIL]


def test_preflight_passes_on_the_deployed_stack(stack: DeployedStack) -> None:
    findings = check_stack(stack.target, stack.stack_name, stack.template)
    assert _failed(findings) == []
    checked = {finding.check.split(" ecr-")[0] for finding in findings}
    assert {"Fargate On-Demand vCPU quota", "free IP addresses in the task subnets", "ECS service-linked role", "stack key rotation"} <= checked
    assert any(finding.check.startswith("image ") for finding in findings) and any(finding.check.startswith("lifecycle ") for finding in findings)


def test_nearly_full_subnets_about_to_be_deployed_fail_with_the_fix(stack: DeployedStack) -> None:
    local_only(stack, "changes the account")
    ec2 = stack.target.client("ec2")
    subnets: dict[str, str] = {}
    interfaces: list[str] = []
    try:
        for index, zone in enumerate("abc"):
            subnet = ec2.create_subnet(VpcId=stack.local.stand_ins.vpc_id, CidrBlock=f"10.42.{210 + index}.0/28", AvailabilityZone=f"us-east-1{zone}")["Subnet"]
            subnets[f"PrivateSubnet{index + 1}Id"] = subnet["SubnetId"]
            interfaces += [ec2.create_network_interface(SubnetId=subnet["SubnetId"])["NetworkInterface"]["NetworkInterfaceId"] for _ in range(7)]
        (addresses,) = [f for f in check_stack(stack.target, stack.stack_name, stack.template, subnets) if f.check == "free IP addresses in the task subnets"]
        assert addresses.status == FAIL and "(total 12)" in addresses.found and "larger subnets" in addresses.fix
    finally:  # what the test made goes, whatever failed
        for interface in interfaces:
            ec2.delete_network_interface(NetworkInterfaceId=interface)
        for subnet_id in subnets.values():
            ec2.delete_subnet(SubnetId=subnet_id)


def test_an_image_tag_about_to_be_deployed_that_was_never_pushed_fails(stack: DeployedStack) -> None:
    findings = _failed(check_stack(stack.target, stack.stack_name, stack.template, {"ImageTag": "9.9.9"}))
    assert len(findings) == 3 and all(f.check.startswith("image ") and f.found.startswith("missing") and "push" in f.fix for f in findings)


def test_a_topic_whose_only_subscriber_never_confirmed_fails(stack: DeployedStack) -> None:
    local_only(stack, "changes the account")
    sns = stack.target.client("sns")
    topic = sns.create_topic(Name="sns-unconfirmed-itest")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="risk-oncall@example.com")  # pending until the link is followed
    try:
        account = replace(account_of(stack.target, stack.stack_name, stack.template), topic_arn=topic)
        (finding,) = monitoring.alert_subscription(stack.target.client, account)
        assert (finding.status, finding.found) == (FAIL, "0 confirmed, 1 pending") and "confirm the subscription" in finding.fix
    finally:
        sns.delete_topic(TopicArn=topic)


def test_a_quota_too_small_fails_on_a_local_deployment_and_names_the_request(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    from riskbatch_platform.deployment import preflight as preflight_script
    from riskbatch_platform.local.emulator.service_quotas import FARGATE_VCPU_QUOTA_VARIABLE

    monkeypatch.delenv(FARGATE_VCPU_QUOTA_VARIABLE, raising=False)
    assert preflight_script.main(["--local", "--break", "quota", "--json"]) == 1
    assert FARGATE_VCPU_QUOTA_VARIABLE not in os.environ  # the small quota was the broken emulator's only, not this process's
    findings = json.loads(capsys.readouterr().out)
    quotas = [f for f in findings if f["check"].startswith("Fargate") and "quota" in f["check"]]
    assert [f["status"] for f in quotas] == [FAIL, FAIL] and all("request-service-quota-increase" in f["fix"] for f in quotas)
    assert [f["check"] for f in findings if f["status"] == FAIL] == [f["check"] for f in quotas]


def test_deploy_refuses_when_preflight_fails_unless_told_otherwise(as_deployer: DeployedStack, capsys: pytest.CaptureFixture) -> None:
    local_only(as_deployer, "changes the stack")  # it deploys the stack again, phase 1 included
    stack = as_deployer
    from riskbatch_platform.deployment import deploy

    ec2 = stack.target.client("ec2")
    vpc = stack.local.stand_ins.vpc_id
    full = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{220 + i}.0/28", AvailabilityZone=f"us-east-1{zone}")["Subnet"]["SubnetId"]
        for i, zone in enumerate("abc")
    ]
    for subnet in full:
        for _ in range(9):
            ec2.create_network_interface(SubnetId=subnet)
    parameters = {**stack.local.parameters, "EnvironmentSuffix": "pftest"} | {f"PrivateSubnet{i + 1}Id": s for i, s in enumerate(full)}
    parameters.pop("DeployServices", None)
    arguments = ["--stack-name", "riskbatch-pftest", "--region", stack.local.emulator.region, "--endpoint-url", stack.local.emulator.endpoint_url]
    arguments += ["--template-bucket", stack.local.stand_ins.template_bucket]
    arguments += [item for key, value in parameters.items() for item in ("--parameter", f"{key}={value}")]
    assert deploy.main([*arguments, "--outputs", "/dev/null"]) == deploy.EXIT_PREFLIGHT_FAILED
    said = capsys.readouterr().err
    assert "refused: preflight found 1 failing check(s): free IP addresses in the task subnets" in said
    cfn = stack.target.client("cloudformation")
    assert "riskbatch-pftest" not in {s["StackName"] for s in cfn.list_stacks()["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"}
    assert deploy.main([*arguments, "--foundation-only", "--skip-preflight", "--outputs", "/dev/null"]) == 0
    assert "preflight skipped (--skip-preflight) by arn:aws:iam::123456789012:user/riskbatch-deployer" in capsys.readouterr().err
    cfn.delete_stack(StackName="riskbatch-pftest")


def _schedule_alerts(stack: DeployedStack) -> list[dict[str, Any]]:
    return [note for note in read_mailbox(stack.local) if str(note["subject"]).startswith("Pre-night check")]


def test_the_scheduled_pre_night_check_is_quiet_when_the_night_fits(stack: DeployedStack) -> None:
    """The schedule's RunTask with its own role (ecs:RunTask on its cluster, PassRole of its two
    roles), then the task with its own task role: every read it makes is judged by the emulator."""
    if not stack.is_local:  # the stack's own scheduled task, started now
        assert run_scheduled_task(stack, "PreNightCheckSchedule", {}) == 0
        return
    read_mailbox(stack.local)  # what earlier tests left
    _, code = stack.ecs.run_schedule("PreNightCheckSchedule", name="pre-night-check-quiet")
    assert code == 0, Path(stack.ecs.tasks_run[-1]["log"]).read_text(encoding="utf-8")[-2000:]
    assert _schedule_alerts(stack) == []


NEVER_PUSHED_TAG = "integration-never-pushed"  # no image of any repository carries it


@pytest.mark.live_exercise
def test_the_scheduled_pre_night_check_alerts_the_topic_when_an_image_is_missing(stack: DeployedStack) -> None:
    """Locally an image tag the stack runs is deleted for the length of the check. Against a live stack the
    images stay: the stack's own pre-night task runs with its IMAGE_TAG overridden to a tag never pushed (a
    RunTask environment override, which adds to or replaces the definition's variables:
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerOverride.html), so each of the three
    images is missing, and its alert is read from a queue of the test's own subscribed to the stack's topic.
    Opt-in: the topic's subscribers receive the alert too; never in production."""
    suffix = deployed_parameters(stack)["EnvironmentSuffix"]
    repositories = [stack.outputs[f"{job}RepositoryUri"].split("/", 1)[1] for job in ("DataIngestion", "RiskCalculation", "ReportGeneration")]
    if not stack.is_local:
        with alert_inbox(stack) as inbox:
            code = run_scheduled_task(stack, "PreNightCheckSchedule", {"IMAGE_TAG": NEVER_PUSHED_TAG})
            alerts = inbox.wait_for(f"Pre-night check {suffix}: ")
        assert code == 1 and len(alerts) == 1, alerts
        for repository in repositories:
            assert f"image {repository}:{NEVER_PUSHED_TAG}: expected present" in alerts[0]["message"] and "Fix: push it" in alerts[0]["message"]
        return
    read_mailbox(stack.local)  # what earlier tests left
    ecr = stack.target.client("ecr")
    repository = stack.outputs["RiskCalculationRepositoryUri"].split("/", 1)[1]
    tag = stack.template["Parameters"]["ImageTag"]["Default"]
    manifest = ecr.batch_get_image(repositoryName=repository, imageIds=[{"imageTag": tag}])["images"][0]["imageManifest"]
    ecr.batch_delete_image(repositoryName=repository, imageIds=[{"imageTag": tag}])
    try:
        _, code = stack.ecs.run_schedule("PreNightCheckSchedule", name="pre-night-check-alert")
        assert code == 1
        (alert,) = _schedule_alerts(stack)
        assert alert["subject"] == f"Pre-night check {suffix}: 1 check(s) failed"
        assert f"image {repository}:{tag}: expected present" in alert["message"] and "Fix: push it" in alert["message"]
    finally:
        ecr.put_image(repositoryName=repository, imageManifest=manifest, imageTag=tag)
        ecr.start_image_scan(repositoryName=repository, imageId={"imageTag": tag})

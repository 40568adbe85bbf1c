"""`riskbatch-preflight --local`: preflight against a deployment into the local emulator, with
one thing broken on request (--break) to see its check fail and name the fix."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from riskbatch.operations.plan import Night
from riskbatch.operations.preflight.findings import Finding
from riskbatch_platform.deployment.preflight_stack import check_stack
from riskbatch_platform.local.emulator.loopback import running_emulator
from riskbatch_platform.local.emulator.service_quotas import FARGATE_VCPU_QUOTA_VARIABLE
from riskbatch_platform.local.night import deploy_local


def check_local_deployment(template: dict, tonight: Night | None, nightly: bool, broken: str | None, breaks: dict[str, str]) -> list[Finding]:
    """Deploy into a fresh emulator, break one thing if asked, and run the checks on that deployment."""
    # read by the emulator this call starts, and by no later one in this process
    settings = {FARGATE_VCPU_QUOTA_VARIABLE: "4"} if broken == "quota" else {}
    with tempfile.TemporaryDirectory(prefix="riskbatch-preflight-") as folder, running_emulator(log_dir=Path(folder), settings=settings) as emulator:
        local = deploy_local(emulator, "preflight", Path(folder), say=lambda line: print(line, file=sys.stderr))
        parameters = break_local(broken, local) if broken else None
        if broken:
            print(f"broken: {breaks[broken]}", file=sys.stderr)
        return check_stack(emulator.target, local.stack_name, template, parameters, tonight, nightly)


def break_local(case: str, local) -> dict[str, str] | None:
    """Break one thing in the local deployment; the parameter values about to be deployed, if any."""
    emulator = local.emulator
    if case == "subnets":
        ec2 = emulator.client("ec2")
        subnets = {}
        for index, zone in enumerate("abc"):
            cidr = f"10.42.{200 + index}.0/28"  # 16 addresses, 11 usable: 7 taken leave 4
            subnet = ec2.create_subnet(VpcId=local.stand_ins.vpc_id, CidrBlock=cidr, AvailabilityZone=f"{emulator.region}{zone}")["Subnet"]["SubnetId"]
            for _ in range(7):
                ec2.create_network_interface(SubnetId=subnet)
            subnets[f"PrivateSubnet{index + 1}Id"] = subnet
        return subnets
    if case == "image":
        ecr = emulator.client("ecr")
        repository = next(uri.split("/", 1)[1] for key, uri in local.outputs.items() if key == "RiskCalculationRepositoryUri")
        ecr.batch_delete_image(repositoryName=repository, imageIds=[{"imageTag": local.template["Parameters"]["ImageTag"]["Default"]}])
    if case == "subscription":
        sns = emulator.client("sns")
        topic = local.outputs["AlertTopicArn"]
        for subscription in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]:
            if subscription["SubscriptionArn"].startswith("arn:"):
                sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])
        sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="risk-oncall@example.com")
    return None


"""The deployment refuses to change anything when preflight finds a failing check, unless the deployer says
--skip-preflight (and that is logged with who said it)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto import mock_aws

from riskbatch.operations.preflight.findings import FAIL, PASS, Finding
from riskbatch_platform.deployment import deploy as deploy_script
from riskbatch_platform.deployment import preflight_stack
from test.platform.deployment.test_deploy import _small_template

pytestmark = pytest.mark.process

ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
ARGUMENTS = ["--stack-name", "small", "--region", "us-east-1", "--parameter", "EnvironmentSuffix=dev", "--parameter", "VpcId=v", "--outputs", "/dev/null"]


@pytest.fixture
def deployments(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Each deploy_in_phases call (none must happen when preflight refuses)."""
    calls: list[tuple[Any, ...]] = []

    def record(*args: Any, **options: Any) -> dict[str, str]:
        calls.append(args)
        return {}

    monkeypatch.setattr(deploy_script, "deploy_in_phases", record)
    monkeypatch.setattr(deploy_script, "task_events_policy_covers", lambda *args: True)
    return calls


@pytest.mark.parametrize(("status", "code", "deployed"), [(FAIL, deploy_script.EXIT_PREFLIGHT_FAILED, 0), (PASS, 0, 1)])
def test_a_failing_preflight_check_stops_the_deployment_before_anything_changes(
    monkeypatch: pytest.MonkeyPatch, deployments: list, capsys: pytest.CaptureFixture[str], status: str, code: int, deployed: int
) -> None:
    finding = Finding("free IP addresses in the task subnets", "40", "3", status, "use larger subnets")
    monkeypatch.setattr(preflight_stack, "check_stack", lambda *args: [finding])
    with mock_aws():
        assert deploy_script.main([*ARGUMENTS, "--template", str(_small_template())]) == code
    assert len(deployments) == deployed
    if status == FAIL:
        assert "refused: preflight found 1 failing check(s): free IP addresses in the task subnets" in capsys.readouterr().err


def test_skip_preflight_deploys_and_logs_who_skipped_it(monkeypatch: pytest.MonkeyPatch, deployments: list, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(preflight_stack, "check_stack", lambda *args: pytest.fail("preflight must not run when skipped"))
    with mock_aws():
        assert deploy_script.main([*ARGUMENTS, "--template", str(_small_template()), "--skip-preflight"]) == 0
    assert len(deployments) == 1 and "preflight skipped (--skip-preflight) by arn:aws:" in capsys.readouterr().err


def test_the_endpoints_template_is_refused_in_a_vpc_that_already_has_one_of_its_endpoints(deployments: list, capsys: pytest.CaptureFixture[str]) -> None:
    """Preflight of lib/VpcEndpoints.json (its own checks: riskbatch.operations.preflight.network), against moto
    with the emulator's endpoint-service list: private DNS is one endpoint per service per VPC (EC2 API reference,
    CreateVpcEndpoint, PrivateDnsEnabled: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVpcEndpoint.html),
    so the VPC's own logs endpoint refuses the deployment until CreateLogsEndpoint=false leaves ours out."""
    import boto3

    from riskbatch_platform import REPO_ROOT
    from riskbatch_platform.local import emulator
    from test.platform.local.emulator.support import patched

    with mock_aws(), patched(emulator.ec2.ec2_offers_the_service_quotas_endpoint_service):
        ec2 = boto3.client("ec2", region_name="us-east-1")
        vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.7.{i}.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"] for i, zone in enumerate(ZONES)]
        ec2.create_vpc_endpoint(VpcId=vpc, ServiceName="com.amazonaws.us-east-1.logs", VpcEndpointType="Interface", PrivateDnsEnabled=True, SubnetIds=subnets)
        arguments = ["--stack-name", "endpoints", "--region", "us-east-1", "--template", str(REPO_ROOT / "lib" / "VpcEndpoints.json"), "--outputs", "/dev/null"]
        for key, value in {"VpcId": vpc, "ClientCidr": "10.7.0.0/16", **{f"PrivateSubnet{i + 1}Id": s for i, s in enumerate(subnets)}}.items():
            arguments += ["--parameter", f"{key}={value}"]
        assert deploy_script.main(arguments) == deploy_script.EXIT_PREFLIGHT_FAILED
        assert deployments == [] and "--parameter CreateLogsEndpoint=false" in capsys.readouterr().err
        assert deploy_script.main([*arguments, "--parameter", "CreateLogsEndpoint=false"]) == 0
    assert len(deployments) == 1


def test_a_stack_not_deployed_yet_is_checked_on_its_templates_repositories_and_endpoints() -> None:
    """Before the first deployment there are no outputs: the registry's rules are checked on the repository
    names the template gives (no image check, the repositories do not exist yet), and the endpoints' template
    yields the endpoints its Create...Endpoint values keep."""
    from riskbatch_platform import REPO_ROOT
    from riskbatch_platform.aws import Target
    from riskbatch_platform.deployment.preflight_stack import account_of, interface_endpoints
    from test.conftest import the_template

    with mock_aws():
        account = account_of(Target(region="us-east-1"), "riskbatch-new", the_template().doc, {"EnvironmentSuffix": "qa"})
    jobs = ("data-ingestion", "report-generation", "risk-calculation")
    assert account.repositories == [] and account.planned_repositories == [f"ecr-{job}-qa" for job in jobs]
    endpoints_template = json.loads((REPO_ROOT / "lib" / "VpcEndpoints.json").read_text(encoding="utf-8"))
    kept = interface_endpoints(endpoints_template, {"CreateLogsEndpoint": "false"}, "eu-west-1")
    assert "com.amazonaws.eu-west-1.logs" not in kept and kept["com.amazonaws.eu-west-1.ecr.api"] == "CreateEcrApiEndpoint" and len(kept) == 10

"""The deployment refuses to change anything when preflight finds a failing check, unless the deployer says
--skip-preflight (and that is logged with who said it)."""

from __future__ import annotations

from typing import Any

import pytest
from moto import mock_aws

from riskbatch.operations.preflight.findings import FAIL, PASS, Finding
from riskbatch_platform.deployment import deploy as deploy_script
from riskbatch_platform.deployment import preflight_stack
from test.platform.deployment.test_deploy import _small_template

pytestmark = pytest.mark.process

ARGUMENTS = ["--stack-name", "small", "--region", "us-east-1", "--parameter", "EnvironmentSuffix=dev", "--parameter", "VpcId=v", "--outputs", "/dev/null"]


@pytest.fixture
def deployments(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Each deploy_in_phases call (none must happen when preflight refuses)."""
    calls: list[tuple[Any, ...]] = []

    def record(*args: Any) -> dict[str, str]:
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

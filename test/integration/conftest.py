"""The deployed stack under test: the local emulator deployment (default), or a live stack.

Live: set RISKBATCH_LIVE=1, the usual AWS environment (AWS_PROFILE or keys, AWS_REGION) and
RISKBATCH_STACK_NAME; the stack's outputs are read from cfn-outputs/flat-outputs.json.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

from riskbatch_infra.aws import Target  # noqa: E402
from riskbatch_infra.emulator import running_emulator  # noqa: E402
from riskbatch_infra.local_ecs import LocalEcs  # noqa: E402
from riskbatch_infra.local_night import LocalStack, deploy_local, stop_all  # noqa: E402

LIVE = os.environ.get("RISKBATCH_LIVE") == "1"


@dataclass
class DeployedStack:
    target: Target
    stack_name: str
    outputs: dict[str, str]
    template: dict[str, Any]
    local: LocalStack | None = None
    ecs: LocalEcs | None = None

    @property
    def is_local(self) -> bool:
        return self.local is not None


def _live() -> DeployedStack:
    outputs = json.loads((REPO_ROOT / "cfn-outputs" / "flat-outputs.json").read_text(encoding="utf-8"))
    target = Target(region=os.environ.get("AWS_REGION", "us-east-1"), profile=os.environ.get("AWS_PROFILE"))
    template = json.loads((REPO_ROOT / "lib" / "TapStack.json").read_text(encoding="utf-8"))
    return DeployedStack(target, os.environ["RISKBATCH_STACK_NAME"], outputs, template)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeployedStack]:
    if LIVE:
        yield _live()
        return
    workdir = tmp_path_factory.mktemp("local-stack")
    with running_emulator(log_dir=workdir) as emulator:
        local = deploy_local(emulator, "itest", workdir, say=lambda line: None)
        ecs = LocalEcs(emulator.target, emulator.agent_target, local.stack_name, workdir)
        ecs.environment_overrides["RISK_SCENARIOS"] = "2000"  # small runs (a RunTask override, as on ECS)
        ecs.load()
        try:
            yield DeployedStack(emulator.target, local.stack_name, local.outputs, local.template, local, ecs)
        finally:
            stop_all(ecs)


def local_only(stack: DeployedStack) -> None:
    if not stack.is_local:
        pytest.skip("drives the night through the local ECS runner; against a live stack, run the night itself")


@pytest.fixture
def as_deployer(stack: DeployedStack, monkeypatch: pytest.MonkeyPatch) -> DeployedStack:
    """The environment a script run by hand sees: the deployer's keys for the local emulator, and
    scripts/ on the import path (for deploy.py and preflight.py themselves)."""
    local_only(stack)
    credentials = stack.local.emulator.deployer
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials["aws_secret_access_key"])
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.syspath_prepend(str(REPO_ROOT / "scripts"))
    return stack

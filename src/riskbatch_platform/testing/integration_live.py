"""make integration-live: the integration suite in its live mode, against a deployment in the emulator.

What a platform team runs after a real deploy (RISKBATCH_LIVE=1 pytest test/integration) runs here
on every change, the same code path: the stack is deployed into the emulator in its phases, the
suite reads the deployed stack's outputs from a file and calls the emulator with the deployer's
credentials, as it would call an account. The one thing the emulator lacks to be that account is a
Fargate that starts the tasks RunTask records; an agent beside it plays that part for the tasks the
suite starts (riskbatch_platform/local/ecs_agent.py). Before the suite, the stack runs one night as
EventBridge and the services would run it in an account (the local runner plays them), so that the
suite finds a last night to check, as it does in a live stack. The agent runs the tasks the suite starts,
itself or through the operator's rerun. RISKBATCH_EMULATED=1 tells the suite
that the emulator's listed gaps apply. The suite's exit code is this script's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from riskbatch.inputs.sample import SampleSpec, write_sample
from riskbatch.operations.aws_access import bounded
from riskbatch.operations.rerun import STARTED_BY as RERUN_STARTED_BY
from riskbatch_platform import REPO_ROOT
from riskbatch_platform.local.ecs_agent import EcsAgent
from riskbatch_platform.local.emulator.loopback import running_emulator
from riskbatch_platform.local.night import deploy_local, run_night
from riskbatch_platform.local.runner import LocalEcs

STARTED_BY = "riskbatch-integration"  # what the suite's RunTask calls say (test/integration/conftest.py)


NIGHT = "2026-11-30"  # the night the stack has run before the suite (a business day no test of the suite runs)


def _sample_night(work: Path) -> Path:
    positions, _ = write_sample(work / "sample", SampleSpec(positions=300, factors=40, days=260, portfolios=3, business_date=dt.date.fromisoformat(NIGHT)))
    return positions.parent


def _names_a_test_file(argument: str) -> bool:
    """A path of the suite (a file, a folder or file::test): run that alone instead of test/integration."""
    path = (REPO_ROOT / argument.split("::", 1)[0]).resolve()
    return path.exists() and path.is_relative_to((REPO_ROOT / "test" / "integration").resolve())


@bounded("riskbatch-integration-live")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.epilog = "Any other argument goes to pytest (for example -k least_privilege, or test/integration/test_preflight.py alone)."
    _, pytest_args = parser.parse_known_args(argv)
    chosen = [argument for argument in pytest_args if not argument.startswith("-") and _names_a_test_file(argument)]
    with tempfile.TemporaryDirectory(prefix="riskbatch-live-") as folder, running_emulator(log_dir=Path(folder)) as emulator:
        work = Path(folder)
        print("deploying the stack into the emulator in its phases, as riskbatch-deploy does in an account", flush=True)
        local = deploy_local(emulator, "live", work, say=lambda line: print(f"  {line}", flush=True), access_probes=True, environment_class="non-production")
        runner = LocalEcs(emulator.target, emulator.agent_target, local.stack_name, work)
        runner.load()
        runner.prepare_kernels()  # compiled once, as the images are built, not by each task of the suite's nights
        runner.environment_overrides["RISK_SCENARIOS"] = "2000"  # a small night (a RunTask override, as on ECS)
        night = run_night(local, runner, _sample_night(work), NIGHT, work, say=lambda line: print(f"  {line}", flush=True))
        print(f"the stack's night of {NIGHT}: " + (f"run {night.run_id} published" if night.figures else "NO REPORT"), flush=True)
        runner.environment_overrides.pop("RISK_SCENARIOS")
        environment = {
            **os.environ,
            "RISKBATCH_LIVE": "1",
            "RISKBATCH_EMULATED": "1",
            "RISKBATCH_STACK_NAME": local.stack_name,
            "RISKBATCH_OUTPUTS": str(work / "flat-outputs.json"),
            "RISKBATCH_OTHER_BUCKET": local.stand_ins.template_bucket,
            "RISKBATCH_TEMPLATE_BUCKET": local.stand_ins.template_bucket,
            "RISKBATCH_INJECT_FAULTS": "1",  # a stack of its own, never production: its fault tests stop its tasks
            "RISKBATCH_EXERCISE_STACK": "1",  # and its opt-in tests write to it and page its topic
            "AWS_ENDPOINT_URL": emulator.endpoint_url,
            "AWS_REGION": emulator.region,
            "AWS_DEFAULT_REGION": emulator.region,
            "AWS_ACCESS_KEY_ID": emulator.deployer["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": emulator.deployer["aws_secret_access_key"],
        }
        environment.pop("AWS_PROFILE", None)
        environment.pop("AWS_SESSION_TOKEN", None)
        print(f"the integration suite in live mode against {local.stack_name} at {emulator.endpoint_url}", flush=True)
        with EcsAgent(runner, local.outputs["ClusterArn"], (STARTED_BY, RERUN_STARTED_BY)) as agent:  # the suite's tasks, and the operator's reruns
            suite = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *([] if chosen else ["test/integration"]), *pytest_args]
            code = subprocess.run(suite, cwd=REPO_ROOT, env=environment, check=False).returncode
        print(f"the agent started {len(agent.started)} task(s) for the suite" + (f"; its errors: {agent.errors}" if agent.errors else ""))
        return code


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""make taskcat: taskcat's own test run of .taskcat.yml, every test in its region, against the local emulator.

For each region the tests use, the script lays out what the account keeps for taskcat: a VPC
with three private subnets in three zones and their route table, the input and output buckets
(riskbatch_infra/emulator.py, as the local night does) and the SSM parameters .taskcat.yml
names (SSM_PARAMETERS, the set docs/runbook.md lists for a real account). Then it runs taskcat in its
own environment with the project's .taskcat.yml and templates as written, against the emulator's
endpoint, as the deployer.

The verdict comes from the stacks, not from taskcat's exit code (its HTML report fetches a
stylesheet from the internet, which fails here): every test and region must have a stack that
reached CREATE_COMPLETE and then DELETE_COMPLETE, and after the deletion nothing carrying the
test's suffix may be left in that region (teardown.leftovers). One line a test and region.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from riskbatch_infra.aws import Target
from riskbatch_infra.emulator import Emulator, StandIns, create_stand_ins, running_emulator
from teardown import leftovers

REPO_ROOT = Path(__file__).resolve().parents[1]
TASKCAT = REPO_ROOT / ".tools" / "taskcat" / "bin" / "taskcat"
# The SSM parameters the account keeps for .taskcat.yml (docs/runbook.md, "Multi-region tests with taskcat").
SSM_PARAMETERS: dict[str, Callable[[StandIns], str]] = {
    "/riskbatch/vpc-id": lambda s: s.vpc_id,
    "/riskbatch/vpc-cidr": lambda s: s.vpc_cidr,
    "/riskbatch/private-subnet-1": lambda s: s.subnet_ids[0],
    "/riskbatch/private-subnet-2": lambda s: s.subnet_ids[1],
    "/riskbatch/private-subnet-3": lambda s: s.subnet_ids[2],
    "/riskbatch/private-route-tables": lambda s: s.route_table_id,
    "/riskbatch/input-bucket": lambda s: s.input_bucket,
    "/riskbatch/output-bucket": lambda s: s.output_bucket,
}


@dataclass(frozen=True)
class Outcome:
    test: str
    region: str
    stack: str
    created_seconds: float | None
    deleted_seconds: float | None
    status: str
    left: dict[str, list[str]]

    @property
    def passed(self) -> bool:
        return self.created_seconds is not None and self.status == "DELETE_COMPLETE" and not self.left


def prepare_region(emulator: Emulator, region: str) -> StandIns:
    """The network, buckets and SSM parameters one region's tests read."""
    here = dataclasses.replace(emulator, region=region)
    stand_ins = create_stand_ins(here, f"taskcat-{region}")
    ssm = here.client("ssm")
    for name, value in SSM_PARAMETERS.items():
        ssm.put_parameter(Name=name, Value=value(stand_ins), Type="String", Overwrite=True)
    return stand_ins


def run_taskcat(emulator: Emulator, config: Path, work: Path) -> subprocess.CompletedProcess[str]:
    """taskcat test run in a project folder holding only .taskcat.yml and lib/ (taskcat uploads the whole project)."""
    project = work / "project"
    project.mkdir()
    shutil.copy(config, project / ".taskcat.yml")
    shutil.copytree(REPO_ROOT / "lib", project / "lib")
    credentials = emulator.deployer or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(work),
        "AWS_ENDPOINT_URL": emulator.endpoint_url,
        "AWS_ACCESS_KEY_ID": credentials["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": credentials["aws_secret_access_key"],
        "AWS_DEFAULT_REGION": emulator.region,
    }
    return subprocess.run(
        [str(TASKCAT), "test", "run", "--project-root", str(project)], cwd=project, env=environment, capture_output=True, text=True, timeout=1800
    )


def _stack_of(cfn: Any, project: str, test: str) -> dict[str, Any] | None:
    prefix = f"tCaT-{project}-{test}-"
    summaries = [s for page in cfn.get_paginator("list_stacks").paginate() for s in page["StackSummaries"] if s["StackName"].startswith(prefix)]
    return max(summaries, key=lambda s: s["CreationTime"]) if summaries else None


def judge(target: Target, project: str, test: str) -> Outcome:
    cfn = target.client("cloudformation")
    summary = _stack_of(cfn, project, test)
    if summary is None:
        return Outcome(test, target.region, "(no stack)", None, None, "NOT CREATED", {})
    stack_id = summary["StackId"]
    events = [e for page in cfn.get_paginator("describe_stack_events").paginate(StackName=stack_id) for e in page["StackEvents"]]
    own = [e for e in events if e["LogicalResourceId"] == summary["StackName"]]
    created = [e["Timestamp"] for e in own if e["ResourceStatus"] == "CREATE_COMPLETE"]
    started = summary["CreationTime"]
    created_seconds = (min(created) - started).total_seconds() if created else None
    deleted = [e["Timestamp"] for e in own if e["ResourceStatus"] == "DELETE_COMPLETE"]
    deleted_seconds = (max(deleted) - min(created)).total_seconds() if deleted and created else None
    (stack,) = cfn.describe_stacks(StackName=stack_id)["Stacks"]
    suffix = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}.get("EnvironmentSuffix", "")
    left = {kind: names for kind, names in leftovers(target, suffix).items() if names} if suffix else {"stack parameters": ["no EnvironmentSuffix"]}
    return Outcome(test, target.region, summary["StackName"], created_seconds, deleted_seconds, summary["StackStatus"], left)


def _seconds(value: float | None) -> str:
    return f"{value:.1f} s" if value is not None else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=REPO_ROOT / ".taskcat.yml")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "out" / "taskcat")
    args = parser.parse_args(argv)
    if not TASKCAT.exists():
        print("taskcat is not installed: run `make taskcat` (it installs .tools/taskcat)", file=sys.stderr)
        return 2
    config = yaml.safe_load(args.config.read_text(encoding="utf-8"))
    project = config["project"]["name"]
    tests = {name: test.get("regions", config["project"]["regions"]) for name, test in config["tests"].items()}
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with running_emulator(log_dir=args.out) as emulator, tempfile.TemporaryDirectory() as work:
        for region in sorted({region for regions in tests.values() for region in regions}):
            prepare_region(emulator, region)
        print(f"taskcat test run: {len(tests)} tests in {len({r for rs in tests.values() for r in rs})} regions against {emulator.endpoint_url}", flush=True)
        run = run_taskcat(emulator, args.config, Path(work))
        (args.out / "taskcat.log").write_text(run.stdout + run.stderr, encoding="utf-8")
        outcomes = [judge(dataclasses.replace(emulator, region=region).target, project, test) for test, regions in tests.items() for region in regions]
    for outcome in outcomes:
        left = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in outcome.left.items()) or "none"
        times = f"created in {_seconds(outcome.created_seconds)}, deleted {_seconds(outcome.deleted_seconds)} later"
        verdict = "PASS" if outcome.passed else "FAIL"
        print(f"{verdict} {outcome.test:<26} {outcome.region:<15} {outcome.stack[:56]:<56} {times}, {outcome.status}, left behind: {left}")
    failed = [outcome for outcome in outcomes if not outcome.passed]
    clean = len(outcomes) - len(failed)
    print(f"\n{clean} of {len(outcomes)} taskcat tests created and deleted cleanly in {time.monotonic() - started:.0f} s")
    print(f"taskcat exited {run.returncode} (its report fetches a stylesheet from the internet; the verdict is the stacks'); log: {args.out / 'taskcat.log'}")
    if failed:
        reasons = [line for line in (run.stdout + run.stderr).splitlines() if "ERROR" in line or "failed" in line.lower()]
        print("\n".join(reasons[-10:]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

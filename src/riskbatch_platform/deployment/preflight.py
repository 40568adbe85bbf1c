"""Preflight: will tonight's run fit this account? Checks the account against what the stack's night
needs, before a deployment (riskbatch-deploy runs it first) or before a night, and prints a table:
check, expected, found, PASS/WARN/FAIL, how to fix. Exits 1 on any FAIL, 0 otherwise.

The checks (src/riskbatch/operations/preflight/, by what each reads, each with the AWS document it relies on): Fargate's
On-Demand and Spot vCPU quotas against the peak (the services at their maximum tasks, one
ingestion task per nightly file); free addresses in the three subnets and their three zones; the
ECS service-linked role; the task subnets' zones where Fargate runs (the ECS guide's zone IDs);
EventBridge delivery on the input bucket; the input bucket's key (a customer key must be the
InputBucketKmsKeyArn given to the stack); the output bucket's encryption; the registry's scanning
rules covering every repository (and, under enhanced scanning, Inspector's ECR scanning enabled);
every image tag the stack runs (present, its basic or enhanced scan judged, each status that never
ends well with its own advice, no CRITICAL or HIGH finding, not about to expire); a confirmed
subscriber on the alert topic; the key enabled and rotating; no notifying alarm in ALARM and no
message left in a dead-letter queue (names and counts); a logs resource policy that lets
EventBridge write the task events log group; and, given tonight's book (--positions, --factors),
riskbatch plan's hours on the quota left against the window to 09:30 New York. With --template
lib/VpcEndpoints.json: each endpoint service offered in the subnets' zones, the VPC's DNS
attributes, and no private-DNS endpoint of the same service already in the VPC.

The region and credentials are found as the AWS CLI finds them (--region, AWS_REGION,
AWS_DEFAULT_REGION, the profile's region); the account and region are printed first. Exit codes:
0 no FAIL, 1 a FAIL, 2 a bad option or file, 3 no AWS region or credentials, or AWS unreachable,
4 no such stack, 5 AWS refused a call.

  riskbatch-preflight --stack-name riskbatch-prod [--region R] [--profile P] [--positions N --factors F]
  riskbatch-preflight --local      # deploy into the local emulator (as make demo does), then check it
  riskbatch-preflight --local --break subscription   # ... with one thing broken: see BREAKS
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from riskbatch.operations.aws_access import EXIT_NO_STACK, CommandParser, add_aws_options, guarded
from riskbatch.operations.plan import Night, count, time_of_day, window_hours
from riskbatch.operations.preflight.checks import as_json, failed, table
from riskbatch.operations.stack_lookup import OperatorError
from riskbatch_platform import REPO_ROOT
from riskbatch_platform.aws import command_target
from riskbatch_platform.deployment.preflight_stack import check_stack
from riskbatch_platform.deployment.stack import deployed


def main(argv: list[str] | None = None) -> int:
    parser = CommandParser(prog="riskbatch-preflight", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack-name", help="the deployed stack to check (or --local)")
    parser.add_argument("--template", type=Path, default=REPO_ROOT / "lib" / "TapStack.json", help="the stack's template (default: lib/TapStack.json)")
    parser.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE", help="a value about to be deployed (over the stack's)")
    add_aws_options(parser, endpoint=True)
    parser.add_argument("--positions", type=count, help="tonight's book: positions (with --factors, checks riskbatch plan against the window)")
    parser.add_argument("--factors", type=count, help="tonight's book: risk factors (with --positions)")
    parser.add_argument("--scenarios", type=count, default=100_000, help="Monte Carlo scenarios a night (default: 100,000)")
    parser.add_argument("--start", type=time_of_day, default="01:00", help="when the night's files are in (HH:MM, New York)")
    parser.add_argument("--nightly", action="store_true", help="only the checks that change from day to day")
    parser.add_argument("--local", action="store_true", help="deploy into the local emulator first, then check that deployment")
    parser.add_argument("--break", dest="broken", choices=sorted(BREAKS), help="with --local: break one thing first, to see the check fail and name its fix")
    parser.add_argument("--json", action="store_true", help="the findings as JSON, for machines")
    args = parser.parse_args(argv)
    return guarded(parser.prog, lambda: _preflight(parser, args), profile=args.profile)


def _preflight(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if (args.positions is None) != (args.factors is None):  # one alone would skip tonight's plan check without a word
        parser.error("--positions and --factors go together (tonight's book); give both, or neither to skip the plan check")
    tonight = Night(args.positions, args.factors, args.scenarios, window_hours(args.start, "09:30")) if args.positions and args.factors else None
    if any("=" not in item for item in args.parameter):
        parser.error(f"--parameter takes KEY=VALUE, got {next(item for item in args.parameter if '=' not in item)!r}")
    parameters = dict(item.split("=", 1) for item in args.parameter)
    template = json.loads(args.template.read_text(encoding="utf-8"))
    if args.broken and not args.local:
        parser.error("--break goes with --local")
    if args.local:
        findings = _local(template, tonight, args.nightly, args.broken)
    else:
        if not args.stack_name:
            parser.error("--stack-name is needed (or --local)")
        target = command_target(args.region, args.profile, args.endpoint_url, parser.prog)
        if not deployed(target.client("cloudformation"), args.stack_name):  # not every subnet of the account
            hint = "check --stack-name and the region; a new stack is preflighted by riskbatch-deploy"
            raise OperatorError(f"no stack {args.stack_name} in {target.region}: {hint}", EXIT_NO_STACK)
        findings = check_stack(target, args.stack_name, template, parameters, tonight, args.nightly)
    print(as_json(findings) if args.json else table(findings))
    problems = failed(findings)
    print(f"\npreflight: {len(findings)} checks, {len(problems)} failed", file=sys.stderr)
    return 1 if problems else 0


# What --break does to the local deployment before the checks run.
BREAKS = {
    "quota": "the local account's Fargate vCPU quotas are 4 (the emulator starts with RISKBATCH_FARGATE_VCPU_QUOTA=4)",
    "subnets": "the stack is about to move to three /28 subnets (three zones) with 4 free addresses each",
    "image": "the risk-calculation image's tag is deleted from its repository",
    "subscription": "the alert topic's only subscriber is an e-mail address that never confirmed",
}


def _local(template: dict, tonight: Night | None, nightly: bool, broken: str | None = None):
    # Imported here: the local target is no part of what the script needs against an account.
    from riskbatch_platform.local.preflight import check_local_deployment

    return check_local_deployment(template, tonight, nightly, broken, BREAKS)


if __name__ == "__main__":
    sys.exit(main())

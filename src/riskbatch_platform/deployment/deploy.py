"""Deploy lib/TapStack.json (or lib/VpcEndpoints.json) to an account, or with --endpoint-url to the local emulator.

Before anything changes, the parameter values are checked: the template's Rules, evaluated as
CloudFormation does (subnets looked up in the account), and the orderings CloudFormation cannot
express (a minimum task count above its maximum). Then preflight (riskbatch-preflight) checks
that the night fits the account: quotas, subnet addresses, the service-linked role, the buckets,
and once the stack exists its images, topic, key and alarms; a FAIL stops the deployment unless
--skip-preflight is given (and logged). A template without the DeployServices switch
(lib/VpcEndpoints.json, once per VPC) is deployed in one step, after its own preflight: each endpoint
service offered in the subnets' zones, the VPC's DNS attributes on, and no private-DNS endpoint of the
same service already in the VPC (leave that one out with its Create...Endpoint=false).

First deployment of lib/TapStack.json, in phases (the services cannot stabilise before their images exist):
  1. everything but the services (DeployServices=false): key, network, cluster, repositories,
     queues, roles, task definitions, rules, alarms;
  2. the images: each repository must hold ImageTag, its push scan complete, with no CRITICAL or
     HIGH finding (unless --allow-findings); the script stops with the push commands otherwise;
  3. the services and their scaling (DeployServices=true), then one smoke task of each task
     definition (`riskbatch smoke` in the image: its job's code imports and its health check passes),
     on Fargate in the task subnets; when one fails, the stack is updated back to its template and
     parameters from before this phase, and the command exits 1.
Later deployments (services already on) are the image gate and one update, then the smoke tasks of the
task definitions the update changed (--no-smoke-tasks leaves them out: for an environment that
cannot run tasks, such as the local emulator, whose tasks run until stopped). An update inside the
overnight window (00:00-09:30 America/New_York) re-applies the scalable targets' MinCapacity
parameter, which the window's scheduled action had raised; the script then puts back the minimum
of the scheduled action in force, so that an update never drains the warm workers mid-night.
Writes cfn-outputs/flat-outputs.json.

An update keeps the current value of every parameter it does not name (UsePreviousValue), and the
stack's current tags: a routine update names only what changes. Values come from a per-environment
parameters file (--parameters-file, the `aws cloudformation deploy` formats: a list of
ParameterKey/ParameterValue, a list of "Key=Value", or {"Parameters": {...}, "Tags": {...}}) with
--parameter and --tag on top. Tags are stack tags: CloudFormation propagates them to the resources
that support tags. --role-arn names a CloudFormation service role the change sets run under
(docs/deployer-permissions.md: its policy, and the narrower one the person deploying then needs).
While CloudFormation works, each new stack event is printed as one line.

--plan prints what the next step would change (action, replacement True/False/Conditional, scope,
the properties that force recreation, and each changed value before and after) from a change set
that is described and deleted, never executed; a stack that does not exist yet is planned as a
creation and left not created. A change a parameter causes names the parameter (the change set's
CausingEntity). Then the IAM statement, security-group and encryption changes against the deployed
stack's template (GetTemplate), both templates resolved with their parameter values (the stack's, and
the plan's), in the words of riskbatch-review; a stack not created yet (none, or REVIEW_IN_PROGRESS)
is said to be new and reviewed against an empty template.

The region and credentials are found as the AWS CLI finds them (--region, AWS_REGION,
AWS_DEFAULT_REGION, the profile's region; --profile or AWS_PROFILE); the account and region are
printed before anything changes.

Exit codes: 0 deployed (or planned), 1 CloudFormation or AWS failed, or a smoke task failed (the update
undone), 2 a bad option or file,
3 images needed, 4 scan refused, 5 parameters refused (the file or the values), 6 preflight failed,
7 deployed, but no logs resource policy covers the task events log group
(CreateTaskEventsLogPolicy=false and no shared policy), 8 an image's scan did not finish in time,
9 no AWS region or credentials, or AWS unreachable, 10 no such stack, 11 AWS refused a call.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from riskbatch.operations.aws_access import RENUMBERED, CommandParser, add_aws_options, guarded
from riskbatch_platform import REPO_ROOT
from riskbatch_platform.aws import Target, command_target
from riskbatch_platform.deployment.image_gate import ScanNotFinished
from riskbatch_platform.deployment.live_review import live_review_lines, read_live
from riskbatch_platform.deployment.phases import ImagesNeeded, ParametersRefused, ScanRefused, check_parameters, deploy_in_phases, log
from riskbatch_platform.deployment.stack import DeployError, StackOptions, write_flat_outputs

EXIT_IMAGES_NEEDED = 3
EXIT_SCAN_REFUSED = 4
EXIT_PARAMETERS_REFUSED = 5
EXIT_PREFLIGHT_FAILED = 6
EXIT_LOG_POLICY_MISSING = 7
EXIT_SCAN_NOT_FINISHED = 8


def _pairs(items: list[str], option: str) -> dict[str, str]:
    found = {}
    for item in items:
        key, separator, value = item.partition("=")
        if not separator or not key:
            raise ParametersRefused(f"{option} takes KEY=VALUE, got {item!r}")
        found[key] = value
    return found


def read_parameters_file(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(parameters, tags) of a parameters file, in the formats `aws cloudformation deploy
    --parameter-overrides file://...` reads (https://docs.aws.amazon.com/cli/latest/reference/cloudformation/deploy/index.html;
    the file formats: https://github.com/aws/aws-cli/pull/5443): a list of ParameterKey/ParameterValue
    objects, a list of "Key=Value" strings, or the template configuration file's
    {"Parameters": {...}, "Tags": {...}}; a plain object of values is read too."""
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ParametersRefused(f"the parameters file {path} cannot be read: {error}") from None
    return parameters_document(loaded, path)


def parameters_document(loaded: Any, path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(parameters, tags) of a parameters file's parsed JSON (read_parameters_file; riskbatch-review reads one at a git base)."""
    tags: dict[str, str] = {}
    if isinstance(loaded, dict) and ("Parameters" in loaded or "Tags" in loaded):
        unknown = sorted(set(loaded) - {"Parameters", "Tags", "StackPolicy"})
        if unknown:
            raise ParametersRefused(f"{path}: a configuration file holds Parameters and Tags, not {', '.join(unknown)}")
        tags = {str(key): str(value) for key, value in (loaded.get("Tags") or {}).items()}
        loaded = loaded.get("Parameters") or {}
    if isinstance(loaded, list) and all(isinstance(item, str) for item in loaded):
        return _pairs(loaded, path.name), tags
    if isinstance(loaded, list):
        try:
            return {item["ParameterKey"]: str(item["ParameterValue"]) for item in loaded}, tags
        except (KeyError, TypeError):
            raise ParametersRefused(f"{path}: each item of the list needs ParameterKey and ParameterValue") from None
    if isinstance(loaded, dict):
        return {str(key): str(value) for key, value in loaded.items()}, tags
    raise ParametersRefused(f"{path}: expected a JSON list or object of parameters")


def parse_parameters(path: Path | None, overrides: list[str]) -> dict[str, str]:
    """The parameters file's values with --parameter on top (the command line wins)."""
    parameters = read_parameters_file(path)[0] if path else {}
    return {**parameters, **_pairs(overrides, "--parameter")}


def parse_tags(path: Path | None, tags: list[str]) -> dict[str, str]:
    """The parameters file's Tags with --tag on top (the command line wins)."""
    found = read_parameters_file(path)[1] if path else {}
    found = {**found, **_pairs(tags, "--tag")}
    reserved = sorted(key for key in found if key.lower().startswith("aws:"))
    if reserved:  # the aws: prefix is AWS's own (CloudFormation resource tagging)
        raise ParametersRefused(f"tag keys may not start with aws: ({', '.join(reserved)})")
    return found


def preflight_passes(target: Target, stack_name: str, template: dict, parameters: dict[str, str], skip: bool) -> bool:
    """Preflight's checks of the account, before anything changes; False when one fails."""
    from riskbatch.operations.preflight.checks import failed, table
    from riskbatch_platform.deployment.preflight_stack import check_stack

    if skip:
        identity = target.client("sts").get_caller_identity()["Arn"]
        log(f"preflight skipped (--skip-preflight) by {identity} at {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}")
        return True
    services = "DeployServices" in template.get("Parameters", {})
    log("preflight: will the night fit this account?" if services else "preflight: can the endpoints be created in this VPC?")
    findings = check_stack(target, stack_name, template, parameters)
    log(table(findings))
    problems = failed(findings)
    if problems:
        names = ", ".join(finding.check for finding in problems)
        log(f"refused: preflight found {len(problems)} failing check(s): {names}; fix them (the table names how) or pass --skip-preflight")
    return not problems


def task_events_policy_covers(target: Target, stack_name: str, template: dict) -> bool:
    """After the create or update: a logs resource policy (the stack's, or the account's shared one
    with CreateTaskEventsLogPolicy=false) lets EventBridge write the task events log group."""
    from riskbatch.operations.preflight.checks import failed, table
    from riskbatch_platform.deployment.preflight_stack import task_events_findings

    findings = task_events_findings(target, stack_name, template)
    if findings:
        log(table(findings))
    if failed(findings):
        log("refused: the stack is deployed, but no ECS task state change reaches its log group, so no failure would be counted; fix it and run again")
        return False
    return True


def print_plan(target: Target, stack_name: str, template: dict, parameters: dict[str, str], template_bucket: str | None, options: StackOptions) -> None:
    """The change set of the next deployment step: services as they are now (off for a new stack;
    an existing stack keeps its DeployServices, as every parameter not given)."""
    from riskbatch_platform.deployment.stack import plan, stack_status

    cfn = target.client("cloudformation")
    values = dict(parameters)
    if "DeployServices" in template.get("Parameters", {}) and "DeployServices" not in values and not stack_status(cfn, stack_name):
        values["DeployServices"] = "false"
    live = read_live(cfn, stack_name)  # before the change set: planning a new stack makes one in REVIEW_IN_PROGRESS
    changes = plan(target, stack_name, template, values, template_bucket, log, options)
    print(f"{'action':<8} {'resource':<40} {'type':<42} {'replacement':<12} {'scope':<12} details")
    for change in changes:
        print(change.row())
        for value in change.values:
            print(f"    {value.line()}")
    replaced = [change.logical_id for change in changes if change.replacement in ("True", "Conditional")]
    print(f"\n{len(changes)} change(s); replacement True or Conditional: {', '.join(replaced) or 'none'}")
    print("\n".join(live_review_lines(live, stack_name, template, values, changes)))


def main(argv: list[str] | None = None) -> int:
    parser = CommandParser(prog="riskbatch-deploy", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack-name", required=True, help="the stack's name (riskbatch-<suffix>, e.g. riskbatch-dev)")
    parser.add_argument(
        "--template", type=Path, default=REPO_ROOT / "lib" / "TapStack.json", help="lib/TapStack.json (per environment) or lib/VpcEndpoints.json (per VPC)"
    )
    parser.add_argument(
        "--parameters-file", type=Path, help='the environment\'s values: config/<env>.json ({"Parameters": {...}, "Tags": {...}}, or the CLI\'s list forms)'
    )
    parser.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE", help="one parameter (over the file's); others keep theirs")
    parser.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE", help="a stack tag (over the file's), propagated to the resources")
    parser.add_argument("--role-arn", help="the CloudFormation service role the change sets run under (docs/deployer-permissions.md)")
    add_aws_options(parser, endpoint=True)
    parser.add_argument("--template-bucket", help="bucket for templates above CloudFormation's 51,200-byte body limit")
    parser.add_argument("--allow-findings", action="store_true", help="deploy images with CRITICAL or HIGH scan findings")
    parser.add_argument("--foundation-only", action="store_true", help="stop after phase 1 (first deployment, before images exist)")
    parser.add_argument("--skip-preflight", action="store_true", help="deploy without preflight's checks of the account (logged)")
    parser.add_argument(
        "--no-smoke-tasks",
        action="store_true",
        help="leave out the smoke tasks after phase 3 (logged); for environments that cannot run tasks, such as the local emulator",
    )
    parser.add_argument("--plan", action="store_true", help="print what the deployment would change (a change set, deleted unexecuted) and stop")
    parser.add_argument(
        "--outputs", type=Path, default=REPO_ROOT / "cfn-outputs" / "flat-outputs.json", help="where the stack's outputs are written (flat JSON)"
    )
    args = parser.parse_args(argv)
    return guarded(parser.prog, lambda: _deploy(args), RENUMBERED, profile=args.profile)


def _deploy(args: argparse.Namespace) -> int:
    try:
        template = json.loads(args.template.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        log(f"refused: the template {args.template} cannot be read: {error}")
        return EXIT_PARAMETERS_REFUSED
    try:  # the files and values first: a bad input is said before any call
        parameters = parse_parameters(args.parameters_file, args.parameter)
        options = StackOptions(tags=parse_tags(args.parameters_file, args.tag), role_arn=args.role_arn)
    except ParametersRefused as error:
        log(str(error))
        return EXIT_PARAMETERS_REFUSED
    target = command_target(args.region, args.profile, args.endpoint_url, "riskbatch-deploy")
    try:
        check_parameters(target, template, parameters, args.stack_name)
        if args.plan:
            print_plan(target, args.stack_name, template, parameters, args.template_bucket, options)
            return 0
        if not preflight_passes(target, args.stack_name, template, parameters, args.skip_preflight):
            return EXIT_PREFLIGHT_FAILED
        if args.no_smoke_tasks:
            log("--no-smoke-tasks: no smoke task will run; a broken image would first fail when the services start a task")
        smoke = not args.no_smoke_tasks
        gate = (args.allow_findings, args.foundation_only)
        outputs = deploy_in_phases(target, args.stack_name, template, parameters, args.template_bucket, *gate, options, smoke=smoke)
        if not task_events_policy_covers(target, args.stack_name, template):
            return EXIT_LOG_POLICY_MISSING
    except ImagesNeeded as error:
        log(str(error))
        return EXIT_IMAGES_NEEDED
    except ScanRefused as error:
        log(f"refused: {error}")
        return EXIT_SCAN_REFUSED
    except ParametersRefused as error:
        log(str(error))
        return EXIT_PARAMETERS_REFUSED
    except DeployError as error:
        log(f"deployment failed: {error}")
        return 1
    except ScanNotFinished as error:
        log(f"refused: {error}")
        return EXIT_SCAN_NOT_FINISHED
    # A ClientError or BotoCoreError goes on to the boundary (guarded, RENUMBERED): an expired session is 9 with
    # `aws sso login`, a stack that does not exist 10, any other refusal 11; an unreadable file is 2.
    write_flat_outputs(outputs, args.outputs)
    log(f"outputs written to {args.outputs}")
    print(json.dumps(outputs, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())

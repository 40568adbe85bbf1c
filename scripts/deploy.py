#!/usr/bin/env python3
"""Deploy lib/TapStack.json (or lib/VpcEndpoints.json) to an account, or with --endpoint-url to the local emulator.

Before anything changes, the parameter values are checked: the template's Rules, evaluated as
CloudFormation does (subnets looked up in the account), and the orderings CloudFormation cannot
express (a minimum task count above its maximum). Then preflight (scripts/preflight.py) checks
that the night fits the account: quotas, subnet addresses, the service-linked role, the buckets,
and once the stack exists its images, topic, key and alarms; a FAIL stops the deployment unless
--skip-preflight is given (and logged). A template without the DeployServices switch
(lib/VpcEndpoints.json, once per VPC) is deployed in one step.

First deployment of lib/TapStack.json, in phases (the services cannot stabilise before their images exist):
  1. everything but the services (DeployServices=false): key, network, cluster, repositories,
     queues, roles, task definitions, rules, alarms;
  2. the images: each repository must hold ImageTag, its push scan complete, with no CRITICAL or
     HIGH finding (unless --allow-findings); the script stops with the push commands otherwise;
  3. the services and their scaling (DeployServices=true).
Later deployments (services already on) are the image gate and one update. An update inside the
overnight window (00:00-09:30 America/New_York) re-applies the scalable targets' MinCapacity
parameter, which the window's scheduled action had raised; the script then puts back the minimum
of the scheduled action in force, so that an update never drains the warm workers mid-night.
Writes cfn-outputs/flat-outputs.json.

--plan prints what the next step would change (action, replacement True/False/Conditional, scope,
the properties that force recreation) from a change set that is described and deleted, never
executed; a stack that does not exist yet is planned as a creation and left not created.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from riskbatch_infra.aws import DEFAULT_REGION, Target
from riskbatch_infra.phases import ImagesNeeded, ParametersRefused, check_parameters, deploy_in_phases, log
from riskbatch_infra.stack import DeployError, write_flat_outputs

REPO_ROOT = Path(__file__).resolve().parents[1]
EXIT_IMAGES_NEEDED = 3
EXIT_SCAN_REFUSED = 4
EXIT_PARAMETERS_REFUSED = 5
EXIT_PREFLIGHT_FAILED = 6


def parse_parameters(path: Path | None, overrides: list[str]) -> dict[str, str]:
    parameters: dict[str, str] = {}
    if path:
        loaded = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(loaded, list):  # the CLI's [{"ParameterKey":..,"ParameterValue":..}] form
            loaded = {item["ParameterKey"]: item["ParameterValue"] for item in loaded}
        parameters.update({key: str(value) for key, value in loaded.items()})
    for item in overrides:
        key, separator, value = item.partition("=")
        if not separator:
            raise SystemExit(f"--parameter takes KEY=VALUE, got {item!r}")
        parameters[key] = value
    return parameters


def preflight_passes(target: Target, stack_name: str, template: dict, parameters: dict[str, str], skip: bool) -> bool:
    """Preflight's checks of the account, before anything changes; False when one fails."""
    from riskbatch.preflight import failed, table
    from riskbatch_infra.preflight_stack import check_stack

    if skip:
        identity = target.client("sts").get_caller_identity()["Arn"]
        log(f"preflight skipped (--skip-preflight) by {identity} at {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}")
        return True
    log("preflight: will the night fit this account?")
    findings = check_stack(target, stack_name, template, parameters)
    log(table(findings))
    problems = failed(findings)
    if problems:
        names = ", ".join(finding.check for finding in problems)
        log(f"refused: preflight found {len(problems)} failing check(s): {names}; fix them (the table names how) or pass --skip-preflight")
    return not problems


def print_plan(target: Target, stack_name: str, template: dict, parameters: dict[str, str], template_bucket: str | None) -> None:
    """The change set of the next deployment step: services as they are now (off for a new stack)."""
    from riskbatch_infra.stack import current_parameters, plan, stack_status

    cfn = target.client("cloudformation")
    values = dict(parameters)
    if "DeployServices" in template.get("Parameters", {}) and "DeployServices" not in values:
        values["DeployServices"] = current_parameters(cfn, stack_name).get("DeployServices", "false") if stack_status(cfn, stack_name) else "false"
    changes = plan(target, stack_name, template, values, template_bucket, log)
    print(f"{'action':<8} {'resource':<40} {'type':<42} {'replacement':<12} {'scope':<12} details")
    for change in changes:
        print(change.row())
    replaced = [change.logical_id for change in changes if change.replacement in ("True", "Conditional")]
    print(f"\n{len(changes)} change(s); replacement True or Conditional: {', '.join(replaced) or 'none'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack-name", required=True)
    parser.add_argument(
        "--template", type=Path, default=REPO_ROOT / "lib" / "TapStack.json", help="lib/TapStack.json (per environment) or lib/VpcEndpoints.json (per VPC)"
    )
    parser.add_argument("--parameters-file", type=Path, help="JSON object of parameter values (or the CLI's list form)")
    parser.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE", help="override one parameter")
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument("--profile")
    parser.add_argument("--endpoint-url", help="an emulator on loopback instead of AWS (the template is deployed as written)")
    parser.add_argument("--template-bucket", help="bucket for templates above CloudFormation's 51,200-byte body limit")
    parser.add_argument("--allow-findings", action="store_true", help="deploy images with CRITICAL or HIGH scan findings")
    parser.add_argument("--foundation-only", action="store_true", help="stop after phase 1 (first deployment, before images exist)")
    parser.add_argument("--skip-preflight", action="store_true", help="deploy without preflight's checks of the account (logged)")
    parser.add_argument("--plan", action="store_true", help="print what the deployment would change (a change set, deleted unexecuted) and stop")
    parser.add_argument("--outputs", type=Path, default=REPO_ROOT / "cfn-outputs" / "flat-outputs.json")
    args = parser.parse_args(argv)

    target = Target(region=args.region, endpoint_url=args.endpoint_url, profile=args.profile)
    template = json.loads(args.template.read_text(encoding="utf-8"))
    parameters = parse_parameters(args.parameters_file, args.parameter)
    try:
        check_parameters(target, template, parameters)
        if args.plan:
            print_plan(target, args.stack_name, template, parameters, args.template_bucket)
            return 0
        if "DeployServices" in template.get("Parameters", {}) and not preflight_passes(target, args.stack_name, template, parameters, args.skip_preflight):
            return EXIT_PREFLIGHT_FAILED
        outputs = deploy_in_phases(target, args.stack_name, template, parameters, args.template_bucket, args.allow_findings, args.foundation_only)
    except ImagesNeeded as error:
        log(str(error))
        return EXIT_IMAGES_NEEDED
    except PermissionError as error:
        log(f"refused: {error}")
        return EXIT_SCAN_REFUSED
    except ParametersRefused as error:
        log(str(error))
        return EXIT_PARAMETERS_REFUSED
    except DeployError as error:
        log(f"deployment failed: {error}")
        return 1
    write_flat_outputs(outputs, args.outputs)
    log(f"outputs written to {args.outputs}")
    print(json.dumps(outputs, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())

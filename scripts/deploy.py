#!/usr/bin/env python3
"""Deploy lib/TapStack.json (or lib/VpcEndpoints.json) to an account, or with --endpoint-url to the local emulator.

Before anything changes, the parameter values are checked: the template's Rules, evaluated as
CloudFormation does (subnets looked up in the account), and the orderings CloudFormation cannot
express (a minimum task count above its maximum). A template without the DeployServices switch
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
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from riskbatch_infra.aws import DEFAULT_REGION, Target
from riskbatch_infra.emulator_template import emulator_template
from riskbatch_infra.images import missing_images, repository_names, scan_verdict
from riskbatch_infra.parameter_checks import aws_lookup, parameter_problems
from riskbatch_infra.scaling import restore_scheduled_minimums
from riskbatch_infra.stack import DeployError, current_parameters, deploy, stack_outputs, stack_status, write_flat_outputs

REPO_ROOT = Path(__file__).resolve().parents[1]
EXIT_IMAGES_NEEDED = 3
EXIT_SCAN_REFUSED = 4
EXIT_PARAMETERS_REFUSED = 5


class ImagesNeeded(RuntimeError):
    pass


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


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


def check_images(target: Target, outputs: dict[str, str], tag: str, allow_findings: bool) -> None:
    ecr = target.client("ecr")
    repositories = repository_names(outputs)
    missing = missing_images(ecr, repositories, tag)
    if missing:
        uris = sorted(uri for key, uri in outputs.items() if key.endswith("RepositoryUri") and uri.split("/", 1)[1] in missing)
        listing = "\n".join(f"  {uri}:{tag}" for uri in uris)
        raise ImagesNeeded(f"no image tagged {tag} yet; build and push (README, 'Images'):\n{listing}\nthen run this command again.")
    for repository in repositories:
        verdict = scan_verdict(ecr, repository, tag)
        counts = ", ".join(f"{severity} {count}" for severity, count in sorted(verdict.severity_counts.items())) or "no findings"
        log(f"scan {repository}:{tag}: {verdict.status}, {counts}")
        if verdict.blocking and not allow_findings:
            raise PermissionError(f"{repository}:{tag} has {verdict.blocking} findings; fix the image or pass --allow-findings")


def deploy_in_phases(
    target: Target,
    stack_name: str,
    template: dict[str, Any],
    parameters: dict[str, str],
    template_bucket: str | None,
    allow_findings: bool = False,
    foundation_only: bool = False,
) -> dict[str, str]:
    """Run the phases this stack still needs; return its outputs."""
    cfn = target.client("cloudformation")
    if "DeployServices" not in template.get("Parameters", {}):
        log("one step: the template has no services to switch on")
        return deploy(target, stack_name, template, parameters, template_bucket, log).outputs
    services_on = stack_status(cfn, stack_name) is not None and current_parameters(cfn, stack_name).get("DeployServices") == "true"
    if not services_on:
        log("phase 1: everything but the services")
        outputs = deploy(target, stack_name, template, {**parameters, "DeployServices": "false"}, template_bucket, log).outputs
        if foundation_only:
            return outputs
    else:
        outputs = stack_outputs(cfn, stack_name)
    tag = parameters.get("ImageTag") or template["Parameters"]["ImageTag"]["Default"]
    log(f"phase 2: images tagged {tag} present and scanned")
    check_images(target, outputs, tag, allow_findings)
    log("phase 3: services and scaling")
    result = deploy(target, stack_name, template, {**parameters, "DeployServices": "true"}, template_bucket, log)
    for line in restore_scheduled_minimums(target, template, {**parameters, "DeployServices": "true"}):
        log(line)
    return result.outputs


class ParametersRefused(ValueError):
    pass


def check_parameters(target: Target, template: dict[str, Any], parameters: dict[str, str]) -> None:
    """The template's Rules and the numeric orderings, before anything changes."""
    problems = parameter_problems(template, parameters, aws_lookup(target.client("ec2")))
    if problems:
        raise ParametersRefused("the parameters are refused:\n" + "\n".join(f"  {problem}" for problem in problems))


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
    parser.add_argument("--endpoint-url", help="an emulator on loopback instead of AWS; deploys the emulator's copy of the template")
    parser.add_argument("--template-bucket", help="bucket for templates above CloudFormation's 51,200-byte body limit")
    parser.add_argument("--allow-findings", action="store_true", help="deploy images with CRITICAL or HIGH scan findings")
    parser.add_argument("--foundation-only", action="store_true", help="stop after phase 1 (first deployment, before images exist)")
    parser.add_argument("--outputs", type=Path, default=REPO_ROOT / "cfn-outputs" / "flat-outputs.json")
    args = parser.parse_args(argv)

    target = Target(region=args.region, endpoint_url=args.endpoint_url, profile=args.profile)
    template = json.loads(args.template.read_text(encoding="utf-8"))
    if target.is_emulator:
        template, changes = emulator_template(template)
        for change in changes:
            log(f"emulator copy: {change}")
    parameters = parse_parameters(args.parameters_file, args.parameter)
    try:
        check_parameters(target, template, parameters)
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

"""The deployment of a template in the phases it needs, with the checks that come before each.

lib/TapStack.json: phase 1 everything but the services (DeployServices=false); phase 2 the images
present and scanned; phase 3 the services and their scaling, then the scheduled minimum in force
restored, then one smoke task of each task definition the deployment changed (all of them when
the services are switched on), the update undone when one fails (riskbatch_platform.deployment.smoke).
A template without the DeployServices switch (lib/VpcEndpoints.json) in one step.
Parameters are checked before anything changes. An update keeps the current value of every
parameter it does not name (UsePreviousValue), and the gate checks the image tag the stack will
run: the given one, else the stack's current one, and the template's default only for a new stack.
"""

from __future__ import annotations

import sys
from typing import Any

from riskbatch_platform.analysis.resolve import ResolveError
from riskbatch_platform.aws import Target
from riskbatch_platform.deployment.image_gate import missing_images, repository_names, scan_verdict
from riskbatch_platform.deployment.parameter_checks import aws_lookup, parameter_problems
from riskbatch_platform.deployment.scaling import restore_scheduled_minimums
from riskbatch_platform.deployment.smoke import RollbackPoint, smoke_or_roll_back, task_definitions
from riskbatch_platform.deployment.stack import StackOptions, current_parameters, deploy, effective_parameters, stack_outputs, stack_status


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class ImagesNeeded(RuntimeError):
    pass


class ScanRefused(RuntimeError):
    """An image's scan has CRITICAL or HIGH findings (and no --allow-findings): its own exception, so that an
    unreadable file (a builtin PermissionError) is never taken for a scan refusal."""


def check_images(target: Target, outputs: dict[str, str], tag: str, allow_findings: bool) -> None:
    ecr = target.client("ecr")
    repositories = repository_names(outputs)
    missing = missing_images(ecr, repositories, tag)
    if missing:
        uris = sorted(uri for key, uri in outputs.items() if key.endswith("RepositoryUri") and uri.split("/", 1)[1] in missing)
        listing = "\n".join(f"  {uri}:{tag}" for uri in uris)
        raise ImagesNeeded(f"no image tagged {tag} yet; build and push (docs/runbook.md, 'Pushing the images'):\n{listing}\nthen run this command again.")
    for repository in repositories:
        verdict = scan_verdict(ecr, repository, tag)
        counts = ", ".join(f"{severity} {count}" for severity, count in sorted(verdict.severity_counts.items())) or "no findings"
        log(f"scan {repository}:{tag}: {verdict.status}, {counts}")
        if verdict.blocking and not allow_findings:
            raise ScanRefused(f"{repository}:{tag} has {verdict.blocking} findings; fix the image or pass --allow-findings")


def deploy_in_phases(
    target: Target,
    stack_name: str,
    template: dict[str, Any],
    parameters: dict[str, str],
    template_bucket: str | None,
    allow_findings: bool = False,
    foundation_only: bool = False,
    options: StackOptions | None = None,
    smoke: bool = True,
) -> dict[str, str]:
    """Run the phases this stack still needs; return its outputs. smoke=False leaves out the smoke
    tasks (the local night, whose emulator starts no task by itself, runs every image right after)."""
    cfn = target.client("cloudformation")
    if "DeployServices" not in template.get("Parameters", {}):
        log("one step: the template has no services to switch on")
        return deploy(target, stack_name, template, parameters, template_bucket, log, options).outputs
    previous = current_parameters(cfn, stack_name) if stack_status(cfn, stack_name) is not None else {}
    services_on = previous.get("DeployServices") == "true"
    # the task definitions the services already ran; switching them on smoke-tests every one
    ran_before = task_definitions(cfn, stack_name) if services_on else {}
    if not services_on:
        log("phase 1: everything but the services")
        outputs = deploy(target, stack_name, template, {**parameters, "DeployServices": "false"}, template_bucket, log, options).outputs
        if foundation_only:
            return outputs
    else:
        outputs = stack_outputs(cfn, stack_name)
    tag = image_tag(template, parameters, previous)
    log(f"phase 2: images tagged {tag} present and scanned")
    check_images(target, outputs, tag, allow_findings)
    log("phase 3: services and scaling")
    point = RollbackPoint.read(cfn, stack_name)
    result = deploy(target, stack_name, template, {**parameters, "DeployServices": "true"}, template_bucket, log, options)
    values = {**effective_parameters(template, parameters, previous), "DeployServices": "true"}
    for line in restore_scheduled_minimums(target, template, values):
        log(line)
    if smoke:

        def roll_back(old_template: dict[str, Any], old_values: dict[str, str]) -> None:
            deploy(target, stack_name, old_template, old_values, template_bucket, log, options)
            # the rollback is another update: inside the overnight window it re-applies MinCapacity too
            for line in restore_scheduled_minimums(target, old_template, old_values):
                log(line)

        smoke_or_roll_back(target, stack_name, template, values, ran_before, point, roll_back, log)
    return result.outputs


def image_tag(template: dict[str, Any], parameters: dict[str, str], previous: dict[str, str]) -> str:
    """The tag the services will run: the given one, else the stack's current one (the update keeps
    it), else the template's default (a new stack)."""
    return parameters.get("ImageTag") or previous.get("ImageTag") or str(template["Parameters"]["ImageTag"]["Default"])


class ParametersRefused(ValueError):
    pass


def check_parameters(target: Target, template: dict[str, Any], parameters: dict[str, str], stack_name: str | None = None) -> None:
    """The template's Rules and the numeric orderings, before anything changes, on the values the
    stack will have: the given ones over the stack's current ones (an update keeps what it does
    not name). A value missing for a new stack, or one the template does not declare, is a refusal."""
    cfn = target.client("cloudformation")
    previous = current_parameters(cfn, stack_name) if stack_name and stack_status(cfn, stack_name) is not None else {}
    unknown = sorted(set(parameters) - set(template.get("Parameters", {})))
    if unknown:
        raise ParametersRefused(f"the parameters are refused: the template declares no parameter {', '.join(unknown)}")
    try:
        problems = parameter_problems(template, effective_parameters(template, parameters, previous), aws_lookup(target.client("ec2")))
    except ResolveError as error:
        missing = sorted(key for key, body in template.get("Parameters", {}).items() if "Default" not in body and key not in parameters and key not in previous)
        hint = f"; give {', '.join(f'--parameter {key}=...' for key in missing)} (or a --parameters-file)" if missing else ""
        where = f"{stack_name} does not exist yet, so nothing is kept from it" if stack_name and not previous else "the values given"
        raise ParametersRefused(f"the parameters are refused: {error} ({where}){hint}") from None
    if problems:
        raise ParametersRefused("the parameters are refused:\n" + "\n".join(f"  {problem}" for problem in problems))

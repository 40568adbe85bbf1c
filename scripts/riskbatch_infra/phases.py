"""The deployment of a template in the phases it needs, with the checks that come before each.

lib/TapStack.json: phase 1 everything but the services (DeployServices=false); phase 2 the images
present and scanned; phase 3 the services and their scaling, then the scheduled minimum in force
restored. A template without the DeployServices switch (lib/VpcEndpoints.json) in one step.
Parameters are checked before anything changes.
"""

from __future__ import annotations

import sys
from typing import Any

from .aws import Target
from .images import missing_images, repository_names, scan_verdict
from .parameter_checks import aws_lookup, parameter_problems
from .scaling import restore_scheduled_minimums
from .stack import current_parameters, deploy, stack_outputs, stack_status


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class ImagesNeeded(RuntimeError):
    pass


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

"""Change-set based create or update of a CloudFormation stack, with readable failures."""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from .aws import Target

# CloudFormation refuses a TemplateBody above this size; larger templates go through S3.
TEMPLATE_BODY_LIMIT = 51_200
FAILED_STATES = ("CREATE_FAILED", "UPDATE_FAILED", "DELETE_FAILED", "ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS")


class DeployError(RuntimeError):
    """A deployment that did not reach a complete state; the message names the failing resources."""


@dataclass(frozen=True)
class DeployResult:
    stack_name: str
    status: str
    changed: bool
    outputs: dict[str, str]


def minified(template: dict[str, Any]) -> str:
    return json.dumps(template, separators=(",", ":"))


def stack_status(cfn: Any, stack_name: str) -> str | None:
    try:
        stacks = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise
    return stacks[0]["StackStatus"] if stacks else None


def current_parameters(cfn: Any, stack_name: str) -> dict[str, str]:
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    return {item["ParameterKey"]: item.get("ParameterValue", "") for item in stack.get("Parameters", [])}


def stack_outputs(cfn: Any, stack_name: str) -> dict[str, str]:
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    return {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}


def failure_reasons(cfn: Any, stack_name: str, since: float) -> list[str]:
    """The failing resources and their status reasons, oldest first."""
    reasons = []
    try:
        events = cfn.describe_stack_events(StackName=stack_name)["StackEvents"]
    except ClientError:
        return reasons
    for event in reversed(events):
        if event["Timestamp"].timestamp() + 1 < since:
            continue
        if event["ResourceStatus"] in FAILED_STATES and event.get("ResourceStatusReason"):
            reasons.append(f"{event['LogicalResourceId']} ({event['ResourceType']}): {event['ResourceStatus']}: {event['ResourceStatusReason']}")
    return reasons


def _template_source(target: Target, body: str, stack_name: str, template_bucket: str | None) -> dict[str, str]:
    if len(body.encode()) <= TEMPLATE_BODY_LIMIT:
        return {"TemplateBody": body}
    if not template_bucket:
        raise DeployError(
            f"the template is {len(body.encode())} bytes, above CloudFormation's {TEMPLATE_BODY_LIMIT}-byte TemplateBody limit: "
            "pass --template-bucket, a bucket this account can write, to deploy it through S3"
        )
    key = f"cloudformation/{stack_name}/{hashlib.sha256(body.encode()).hexdigest()}.json"
    target.client("s3").put_object(Bucket=template_bucket, Key=key, Body=body.encode(), ContentType="application/json")
    return {"TemplateURL": f"https://{template_bucket}.s3.{target.region}.amazonaws.com/{key}"}


def _create_change_set(
    target: Target, stack_name: str, template: dict[str, Any], parameters: dict[str, str], template_bucket: str | None, prefix: str, log: Callable[[str], None]
) -> tuple[str, str, str | None]:
    """A change set of the template for the stack: (its name, CREATE or UPDATE, the stack's status before)."""
    cfn = target.client("cloudformation")
    status = stack_status(cfn, stack_name)
    change_set_type = "CREATE" if status in (None, "REVIEW_IN_PROGRESS") else "UPDATE"
    change_set_name = f"{prefix}-{int(time.time())}"
    source = _template_source(target, minified(template), stack_name, template_bucket)
    log(f"{stack_name}: creating {change_set_type} change set {change_set_name}")
    cfn.create_change_set(
        StackName=stack_name,
        ChangeSetName=change_set_name,
        ChangeSetType=change_set_type,
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in sorted(parameters.items())],
        Capabilities=["CAPABILITY_NAMED_IAM"],
        Tags=[{"Key": "riskbatch:stack", "Value": stack_name}],
        **source,
    )
    return change_set_name, change_set_type, status


def _change_set_ready(cfn: Any, stack_name: str, change_set_name: str) -> bool:
    """Wait for the change set: True when it can be executed, False when it holds no changes."""
    try:
        cfn.get_waiter("change_set_create_complete").wait(StackName=stack_name, ChangeSetName=change_set_name, WaiterConfig={"Delay": 5, "MaxAttempts": 120})
    except WaiterError:
        reason = cfn.describe_change_set(StackName=stack_name, ChangeSetName=change_set_name).get("StatusReason", "")
        if "didn't contain changes" in reason or "No updates are to be performed" in reason:
            return False
        raise DeployError(f"change set {change_set_name} failed: {reason}") from None
    return True


def deploy(
    target: Target,
    stack_name: str,
    template: dict[str, Any],
    parameters: dict[str, str],
    template_bucket: str | None = None,
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> DeployResult:
    """Create or update the stack through a change set and wait for it to settle."""
    cfn = target.client("cloudformation")
    if stack_status(cfn, stack_name) == "ROLLBACK_COMPLETE":
        raise DeployError(f"{stack_name} is in ROLLBACK_COMPLETE (its creation failed): delete it, then deploy again")
    started = time.time()
    change_set_name, change_set_type, _ = _create_change_set(target, stack_name, template, parameters, template_bucket, "deploy", log)
    if not _change_set_ready(cfn, stack_name, change_set_name):
        log(f"{stack_name}: no changes")
        cfn.delete_change_set(StackName=stack_name, ChangeSetName=change_set_name)
        return DeployResult(stack_name, stack_status(cfn, stack_name) or "", False, stack_outputs(cfn, stack_name))
    changes = cfn.describe_change_set(StackName=stack_name, ChangeSetName=change_set_name).get("Changes", [])
    log(f"{stack_name}: {len(changes)} resource changes; executing")
    cfn.execute_change_set(StackName=stack_name, ChangeSetName=change_set_name)
    waiter = "stack_create_complete" if change_set_type == "CREATE" else "stack_update_complete"
    try:
        cfn.get_waiter(waiter).wait(StackName=stack_name, WaiterConfig={"Delay": 10, "MaxAttempts": 360})
    except WaiterError:
        reasons = failure_reasons(cfn, stack_name, started)
        final = stack_status(cfn, stack_name)
        detail = "\n  ".join(reasons) or "no resource reported a reason"
        raise DeployError(f"{stack_name} ended in {final}:\n  {detail}") from None
    final = stack_status(cfn, stack_name) or ""
    log(f"{stack_name}: {final}")
    return DeployResult(stack_name, final, True, stack_outputs(cfn, stack_name))


@dataclass(frozen=True)
class PlannedChange:
    action: str  # Add, Modify, Remove, Import, Dynamic
    logical_id: str
    resource_type: str
    replacement: str  # True, False, Conditional, or "" where it does not apply (Add, Remove)
    scope: tuple[str, ...]
    details: tuple[str, ...]  # each changed attribute or property, and whether it forces recreation

    def row(self) -> str:
        scope = ",".join(self.scope) or "-"
        return f"{self.action:<8} {self.logical_id:<40} {self.resource_type:<42} {self.replacement or '-':<12} {scope:<12} {'; '.join(self.details)}"


def planned_changes(described: list[dict[str, Any]]) -> list[PlannedChange]:
    """DescribeChangeSet's Changes (its ResourceChange members) as rows a reviewer reads."""
    found = []
    for change in described:
        resource = change.get("ResourceChange", {})
        details = []
        for detail in resource.get("Details", []):
            target = detail.get("Target", {})
            name = target.get("Name") or target.get("Attribute", "")
            recreation = target.get("RequiresRecreation", "Never")
            details.append(f"{target.get('Attribute', '')}.{name}" if target.get("Name") else name)
            if recreation != "Never":
                details[-1] += f" (recreation: {recreation})"
        identity = (resource.get("Action", ""), resource.get("LogicalResourceId", ""), resource.get("ResourceType", ""))
        found.append(PlannedChange(*identity, resource.get("Replacement", ""), tuple(resource.get("Scope", [])), tuple(details)))
    return found


def plan(
    target: Target,
    stack_name: str,
    template: dict[str, Any],
    parameters: dict[str, str],
    template_bucket: str | None = None,
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> list[PlannedChange]:
    """What a deployment would change: a change set, described and deleted without being executed.
    A stack that does not exist yet is planned as a creation; the empty stack its change set makes
    (REVIEW_IN_PROGRESS) is deleted again."""
    cfn = target.client("cloudformation")
    change_set_name, change_set_type, status = _create_change_set(target, stack_name, template, parameters, template_bucket, "plan", log)
    changes: list[dict[str, Any]] = []
    try:
        if not _change_set_ready(cfn, stack_name, change_set_name):
            return []
        token = None
        while True:
            page = cfn.describe_change_set(StackName=stack_name, ChangeSetName=change_set_name, **({"NextToken": token} if token else {}))
            changes += page.get("Changes", [])
            token = page.get("NextToken")
            if not token:
                break
    finally:
        cfn.delete_change_set(StackName=stack_name, ChangeSetName=change_set_name)
        if change_set_type == "CREATE" and status is None:
            cfn.delete_stack(StackName=stack_name)
        log(f"{stack_name}: change set {change_set_name} deleted, nothing executed")
    return planned_changes(changes)


def write_flat_outputs(outputs: dict[str, str], path: Path) -> None:
    """cfn-outputs/flat-outputs.json: the convention integration suites read a live stack from."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(outputs, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def physical_ids(cfn: Any, stack_name: str) -> dict[str, tuple[str, str]]:
    """logical id -> (type, physical id) of every resource the stack reports as created."""
    found: dict[str, tuple[str, str]] = {}
    paginator = cfn.get_paginator("list_stack_resources")
    for page in paginator.paginate(StackName=stack_name):
        for summary in page["StackResourceSummaries"]:
            if summary.get("LogicalResourceId") and summary.get("PhysicalResourceId"):
                found[summary["LogicalResourceId"]] = (summary["ResourceType"], summary["PhysicalResourceId"])
    return found

"""Change-set based create or update of a CloudFormation stack, with readable failures."""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from riskbatch_platform.aws import Target

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


# A stack that only holds a change set not executed yet (ChangeSetType CREATE) is REVIEW_IN_PROGRESS: it has
# no resources and no parameters, so it is not deployed (API reference, Stack, StackStatus).
NOT_DEPLOYED = frozenset({"REVIEW_IN_PROGRESS"})


def deployed(cfn: Any, stack_name: str) -> bool:
    """The stack exists and has been created (at least attempted): not missing, not only a change set under review."""
    return stack_status(cfn, stack_name) not in {None, *NOT_DEPLOYED}


def current_parameters(cfn: Any, stack_name: str) -> dict[str, str]:
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    return {item["ParameterKey"]: item.get("ParameterValue", "") for item in stack.get("Parameters", [])}


def current_tags(cfn: Any, stack_name: str) -> dict[str, str]:
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    return {item["Key"]: item["Value"] for item in stack.get("Tags", [])}


def change_set_parameters(template: dict[str, Any], given: dict[str, str], previous: dict[str, str]) -> list[dict[str, Any]]:
    """The Parameters of a change set: the given values, and UsePreviousValue for every parameter
    of the template the stack already has and the call does not name. CloudFormation takes the
    template's default for an omitted parameter, not its current value; UsePreviousValue keeps it
    (API reference, Parameter: https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Parameter.html).
    A parameter new in this template has no previous value: it takes its default."""
    declared = template.get("Parameters", {})
    parameters: list[dict[str, Any]] = [{"ParameterKey": key, "ParameterValue": value} for key, value in sorted(given.items())]
    parameters += [{"ParameterKey": key, "UsePreviousValue": True} for key in sorted(declared) if key in previous and key not in given]
    return parameters


def effective_parameters(template: dict[str, Any], given: dict[str, str], previous: dict[str, str]) -> dict[str, str]:
    """The values the stack will have: the given ones over the stack's current ones (template parameters only)."""
    declared = template.get("Parameters", {})
    return {**{key: value for key, value in previous.items() if key in declared}, **given}


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


@dataclass(frozen=True)
class StackOptions:
    """What a change set carries besides the template and its parameters.

    tags: stack-level tags; CloudFormation propagates them to the stack's resources that support
    tags ("CloudFormation resource tagging":
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide//aws-properties-resource-tags.html).
    An update keeps the stack's current tags and puts these on top, as it keeps parameters.
    role_arn: the CloudFormation service role the change set runs under (CreateChangeSet's RoleARN;
    ExecuteChangeSet takes none, it runs the change set as created)."""

    tags: dict[str, str] = field(default_factory=dict)
    role_arn: str | None = None


def _create_change_set(
    target: Target,
    stack_name: str,
    template: dict[str, Any],
    parameters: dict[str, str],
    template_bucket: str | None,
    prefix: str,
    log: Callable[[str], None],
    options: StackOptions | None = None,
) -> tuple[str, str, str | None]:
    """A change set of the template for the stack: (its name, CREATE or UPDATE, the stack's status before)."""
    cfn = target.client("cloudformation")
    options = options or StackOptions()
    status = stack_status(cfn, stack_name)
    change_set_type = "CREATE" if status in (None, "REVIEW_IN_PROGRESS") else "UPDATE"
    previous = current_parameters(cfn, stack_name) if change_set_type == "UPDATE" else {}
    tags = {**(current_tags(cfn, stack_name) if change_set_type == "UPDATE" else {}), **options.tags, "riskbatch:stack": stack_name}
    change_set_name = f"{prefix}-{int(time.time())}"
    source = _template_source(target, minified(template), stack_name, template_bucket)
    log(f"{stack_name}: creating {change_set_type} change set {change_set_name}")
    kept = sorted(key for key in template.get("Parameters", {}) if key in previous and key not in parameters)
    if kept:
        log(f"{stack_name}: keeping the current value of {len(kept)} parameter(s) not given: {', '.join(kept)}")
    cfn.create_change_set(
        StackName=stack_name,
        ChangeSetName=change_set_name,
        ChangeSetType=change_set_type,
        Parameters=change_set_parameters(template, parameters, previous),
        Capabilities=["CAPABILITY_NAMED_IAM"],
        Tags=[{"Key": key, "Value": value} for key, value in sorted(tags.items())],
        **({"RoleARN": options.role_arn} if options.role_arn else {}),
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


def event_line(event: dict[str, Any]) -> str:
    """One stack event as one line: time, status, resource (type), reason."""
    reason = f": {event['ResourceStatusReason']}" if event.get("ResourceStatusReason") else ""
    return f"{event['Timestamp']:%H:%M:%S} {event['ResourceStatus']:<20} {event['LogicalResourceId']} ({event['ResourceType']}){reason}"


def new_events(cfn: Any, stack_name: str, since: float, seen: set[str]) -> list[dict[str, Any]]:
    """DescribeStackEvents' events since the operation started that were not shown yet, oldest
    first. The API answers newest first, a page at a time: reading stops at the first page that
    reaches back before `since`."""
    found = []
    for page in cfn.get_paginator("describe_stack_events").paginate(StackName=stack_name):
        events = page["StackEvents"]
        found += [event for event in events if event["EventId"] not in seen and event["Timestamp"].timestamp() + 1 >= since]
        if any(event["Timestamp"].timestamp() + 1 < since for event in events):
            break
    seen.update(event["EventId"] for event in found)
    return list(reversed(found))


def shown_events(cfn: Any, stack_name: str) -> set[str]:
    """The ids of the stack's latest events (its first page): those before the operation, not to show again."""
    try:
        return {event["EventId"] for event in cfn.describe_stack_events(StackName=stack_name)["StackEvents"]}
    except ClientError:
        return set()


def wait_showing_events(
    cfn: Any,
    stack_name: str,
    since: float,
    log: Callable[[str], None],
    delay: float = 10,
    timeout: float = 3600,
    sleep: Callable[[float], None] = time.sleep,
    seen: set[str] | None = None,
) -> str:
    """Wait until the stack's operation ends, logging each new stack event as it comes; the final status."""
    seen = set(seen or ())
    deadline = time.monotonic() + timeout
    while True:
        for event in new_events(cfn, stack_name, since, seen):
            log(f"  {event_line(event)}")
        status = stack_status(cfn, stack_name) or "DELETE_COMPLETE"
        if not status.endswith("_IN_PROGRESS"):
            return status
        if time.monotonic() > deadline:
            follow = f"aws cloudformation describe-stack-events --stack-name {stack_name}"
            raise DeployError(f"{stack_name} still {status} after {timeout:.0f} s; follow it with {follow}")
        sleep(delay)


def deploy(
    target: Target,
    stack_name: str,
    template: dict[str, Any],
    parameters: dict[str, str],
    template_bucket: str | None = None,
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
    options: StackOptions | None = None,
    delay: float = 10,
) -> DeployResult:
    """Create or update the stack through a change set and wait for it to settle, showing its events."""
    cfn = target.client("cloudformation")
    if stack_status(cfn, stack_name) == "ROLLBACK_COMPLETE":
        raise DeployError(f"{stack_name} is in ROLLBACK_COMPLETE (its creation failed): delete it, then deploy again")
    started = time.time()
    change_set_name, change_set_type, _ = _create_change_set(target, stack_name, template, parameters, template_bucket, "deploy", log, options)
    if not _change_set_ready(cfn, stack_name, change_set_name):
        log(f"{stack_name}: no changes")
        cfn.delete_change_set(StackName=stack_name, ChangeSetName=change_set_name)
        return DeployResult(stack_name, stack_status(cfn, stack_name) or "", False, stack_outputs(cfn, stack_name))
    changes = cfn.describe_change_set(StackName=stack_name, ChangeSetName=change_set_name).get("Changes", [])
    log(f"{stack_name}: {len(changes)} resource changes; executing")
    before = shown_events(cfn, stack_name)
    cfn.execute_change_set(StackName=stack_name, ChangeSetName=change_set_name)
    wanted = "CREATE_COMPLETE" if change_set_type == "CREATE" else "UPDATE_COMPLETE"
    final = wait_showing_events(cfn, stack_name, started, log, delay=delay, seen=before)
    if final != wanted:
        reasons = failure_reasons(cfn, stack_name, started)
        detail = "\n  ".join(reasons) or "no resource reported a reason"
        raise DeployError(f"{stack_name} ended in {final}:\n  {detail}")
    log(f"{stack_name}: {final}")
    return DeployResult(stack_name, final, True, stack_outputs(cfn, stack_name))


@dataclass(frozen=True)
class PropertyChange:
    """One changed value of a resource: where (Path, or the property's name), before, after."""

    where: str
    before: str | None
    after: str | None

    def line(self, width: int = 160) -> str:
        def shown(value: str | None) -> str:
            text = "(none)" if value is None else value
            return text if len(text) <= width else text[: width - 3] + "..."

        return f"{self.where}: {shown(self.before)} -> {shown(self.after)}"


@dataclass(frozen=True)
class PlannedChange:
    action: str  # Add, Modify, Remove, Import, Dynamic
    logical_id: str
    resource_type: str
    replacement: str  # True, False, Conditional, or "" where it does not apply (Add, Remove)
    scope: tuple[str, ...]
    details: tuple[str, ...]  # each changed attribute or property, and whether it forces recreation
    values: tuple[PropertyChange, ...] = ()  # each changed value, before and after (IncludePropertyValues)
    causes: tuple[tuple[str, str], ...] = ()  # (parameter, property) for each change the change set says a parameter caused

    def row(self) -> str:
        scope = ",".join(self.scope) or "-"
        return f"{self.action:<8} {self.logical_id:<40} {self.resource_type:<42} {self.replacement or '-':<12} {scope:<12} {'; '.join(self.details)}"


def planned_changes(described: list[dict[str, Any]]) -> list[PlannedChange]:
    """DescribeChangeSet's Changes (its ResourceChange members) as rows a reviewer reads. A detail whose
    ChangeSource is ParameterReference names the parameter whose new value causes it (CausingEntity;
    API reference, ResourceChangeDetail:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChangeDetail.html)."""
    found = []
    for change in described:
        resource = change.get("ResourceChange", {})
        details: list[str] = []
        values: list[PropertyChange] = []
        causes: list[tuple[str, str]] = []
        for detail in resource.get("Details", []):
            target = detail.get("Target", {})
            name = target.get("Name") or target.get("Attribute", "")
            recreation = target.get("RequiresRecreation", "Never")
            described_as = f"{target.get('Attribute', '')}.{name}" if target.get("Name") else name
            if recreation != "Never":
                described_as += f" (recreation: {recreation})"
            if detail.get("ChangeSource") == "ParameterReference" and detail.get("CausingEntity"):
                cause = (str(detail["CausingEntity"]), described_as)
                described_as += f" (parameter {cause[0]})"
                if cause not in causes:
                    causes.append(cause)
            if described_as not in details:
                details.append(described_as)
            value = PropertyChange(target.get("Path") or described_as, target.get("BeforeValue"), target.get("AfterValue"))
            if ("BeforeValue" in target or "AfterValue" in target) and value not in values:
                values.append(value)
        identity = (resource.get("Action", ""), resource.get("LogicalResourceId", ""), resource.get("ResourceType", ""))
        scope = tuple(resource.get("Scope", []))
        found.append(PlannedChange(*identity, resource.get("Replacement", ""), scope, tuple(details), tuple(values), tuple(causes)))
    return found


def plan(
    target: Target,
    stack_name: str,
    template: dict[str, Any],
    parameters: dict[str, str],
    template_bucket: str | None = None,
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
    options: StackOptions | None = None,
) -> list[PlannedChange]:
    """What a deployment would change: a change set, described (with each changed property's value
    before and after) and deleted without being executed. A stack that does not exist yet is
    planned as a creation; the empty stack its change set makes (REVIEW_IN_PROGRESS) is deleted again."""
    cfn = target.client("cloudformation")
    change_set_name, change_set_type, status = _create_change_set(target, stack_name, template, parameters, template_bucket, "plan", log, options)
    changes: list[dict[str, Any]] = []
    try:
        if not _change_set_ready(cfn, stack_name, change_set_name):
            return []
        token = None
        while True:
            # IncludePropertyValues: each change's BeforeValue and AfterValue (API reference, DescribeChangeSet;
            # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceTargetDefinition.md)
            paging = {"NextToken": token} if token else {}
            page = cfn.describe_change_set(StackName=stack_name, ChangeSetName=change_set_name, IncludePropertyValues=True, **paging)
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


# A resource CloudFormation already deleted (a rolled-back creation, a teardown that failed half-way) keeps
# its physical ID in ListStackResources; its ResourceStatus says it is gone (StackResourceSummary:
# https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackResourceSummary.html).
GONE = frozenset({"DELETE_COMPLETE", "DELETE_SKIPPED"})


def physical_ids(cfn: Any, stack_name: str) -> dict[str, tuple[str, str]]:
    """logical id -> (type, physical id) of every resource the stack reports as existing (not deleted)."""
    found: dict[str, tuple[str, str]] = {}
    paginator = cfn.get_paginator("list_stack_resources")
    for page in paginator.paginate(StackName=stack_name):
        for summary in page["StackResourceSummaries"]:
            if summary.get("ResourceStatus") in GONE:
                continue
            if summary.get("LogicalResourceId") and summary.get("PhysicalResourceId"):
                found[summary["LogicalResourceId"]] = (summary["ResourceType"], summary["PhysicalResourceId"])
    return found

"""--plan's review of the IAM statements, security-group rules, encryption and retention against the stack as deployed.

The change set says which resources change; what a reviewer needs is which permissions, which
network rules and which encryption settings change, in the words of `riskbatch-review`
(riskbatch_platform.analysis.review), against what runs in the account, not against a git base that
may not be what was deployed (as `cdk diff` compares with the deployed stack).

The deployed template is read with CloudFormation GetTemplate (TemplateStage Original: the template as
submitted, the form riskbatch-review compares; API reference, GetTemplate:
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_GetTemplate.html). Template text
is not enough: a rule or a statement written `{"Ref": "ClientCidr"}` reads the same whatever the value,
so both templates are resolved with their parameter values before they are compared
(riskbatch_platform.analysis.resolve): the deployed one with the stack's values (DescribeStacks), the
new one with the values the change set gives (the given ones over the stack's current ones, as
UsePreviousValue keeps them). The change set's own description then names the parameter behind each
resource change (ResourceChangeDetail, ChangeSource ParameterReference, CausingEntity:
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChangeDetail.html).

A stack that does not exist, or that is in REVIEW_IN_PROGRESS (made by a CREATE change set never
executed: "an expected StackId but without any templates or resources", CloudFormation User Guide,
stack status codes: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-describing-stacks.html),
has no deployed template: GetTemplate is not asked, the review is against an empty template, and the
plan says so.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from riskbatch_platform.analysis.resolve import UNRESOLVABLE, Context, resolve
from riskbatch_platform.analysis.review import Finding, finding_line, review_templates
from riskbatch_platform.deployment.stack import PlannedChange, effective_parameters

# what a security reviewer reads besides every finding riskbatch-review flags ⚠ (a stateful resource removed or replaced, an export dropped)
SECURITY_CATEGORIES = ("iam", "network", "encryption", "retention")
NOT_CREATED = "REVIEW_IN_PROGRESS"


@dataclass(frozen=True)
class LiveStack:
    """What the account holds under the stack's name: its status, template and parameter values."""

    status: str | None  # None: no such stack
    template: dict[str, Any] | None = None  # None: nothing deployed (no stack, or REVIEW_IN_PROGRESS)
    parameters: dict[str, str] = field(default_factory=dict)
    pseudo: dict[str, str] = field(default_factory=dict)  # region, account, partition, stack_name of the stack's ARN


def _pseudo(stack_id: str, stack_name: str) -> dict[str, str]:
    """The pseudo parameters the stack resolves with, read from its ARN (arn:partition:cloudformation:region:account:stack/...)."""
    parts = stack_id.split(":")
    if len(parts) < 6:
        return {"stack_name": stack_name}
    return {"partition": parts[1], "region": parts[3], "account": parts[4], "stack_name": stack_name}


def read_live(cfn: Any, stack_name: str) -> LiveStack:
    """The stack as deployed: DescribeStacks for its status and parameters, GetTemplate for its template."""
    unknown = {"region": cfn.meta.region_name, "stack_name": stack_name}
    try:
        stacks = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if "does not exist" in error.response.get("Error", {}).get("Message", ""):
            return LiveStack(None, pseudo=unknown)
        raise
    if not stacks:
        return LiveStack(None, pseudo=unknown)
    stack = stacks[0]
    if stack["StackStatus"] == NOT_CREATED:  # no template to ask GetTemplate for
        return LiveStack(NOT_CREATED, pseudo=_pseudo(stack.get("StackId", ""), stack_name))
    body = cfn.get_template(StackName=stack_name, TemplateStage="Original").get("TemplateBody")
    template = json.loads(json.dumps(body)) if isinstance(body, dict) else json.loads(body) if body else None  # boto3 parses a JSON body itself
    parameters = {item["ParameterKey"]: item.get("ParameterValue", "") for item in stack.get("Parameters", [])}
    return LiveStack(stack["StackStatus"], template or None, parameters, _pseudo(stack.get("StackId", ""), stack_name))


def deployed_template(cfn: Any, stack_name: str) -> dict[str, Any] | None:
    """The template the stack was last deployed with; None when nothing is deployed under that name."""
    return read_live(cfn, stack_name).template


def security_changes(deployed: dict[str, Any], template: dict[str, Any], account: str | None = None) -> list[Finding]:
    """The IAM statement, security-group, encryption and retention changes from one template to the other, and every
    other change riskbatch-review flags ⚠, in riskbatch-review's words."""
    findings = review_templates(deployed, template, account).findings
    return [finding for finding in findings if finding.category in SECURITY_CATEGORIES or finding.needs_security_review]


def resolved_pair(live: LiveStack, template: dict[str, Any], given: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The deployed template with the stack's values and the new one with the change set's; ResolveError when one cannot be resolved."""
    assert live.template is not None
    declared = live.template.get("Parameters", {})
    before = resolve(live.template, {key: value for key, value in live.parameters.items() if key in declared}, **live.pseudo)
    after = resolve(template, effective_parameters(template, given, live.parameters), **live.pseudo)
    return before, after


def _causes(changes: list[PlannedChange]) -> dict[str, list[tuple[str, str]]]:
    return {change.logical_id: list(change.causes) for change in changes if change.causes}


def _property_of(finding: Finding) -> str | None:
    """The top-level property a finding is about: a statement's policy property, a rule's list, an encryption path's first part."""
    if finding.category == "iam" and " " in finding.subject:
        return re.split(r"[\[:]", finding.subject.split(" ", 1)[1])[0]
    first = re.split(r"[ .:]", finding.change, maxsplit=1)[0]
    return first if first[:1].isupper() else None  # a property (PascalCase); else the finding is about the whole resource


def _with_causes(found: list[Finding], causes: dict[str, list[tuple[str, str]]]) -> list[str]:
    """Each finding's line, then the parameter the change set names as the cause of that property's change."""
    lines = []
    for finding in found:
        lines.append(f"  {finding_line(finding)}")
        named = _property_of(finding)
        for parameter, where in causes.get(finding.subject.split(" ")[0], []):
            if named is None or where.split(" ")[0] == f"Properties.{named}":
                lines.append(f"      caused by parameter {parameter} (the change set: {where}, ChangeSource ParameterReference)")
    return lines


def live_review_lines(
    live: LiveStack, stack_name: str, template: dict[str, Any], given: dict[str, str] | None = None, changes: list[PlannedChange] | None = None
) -> list[str]:
    """What --plan prints after the change set: the security changes against the deployed stack, or
    against an empty template for a stack not created yet."""
    given = dict(given or {})
    what = "IAM, security-group, encryption and retention changes and every other ⚠ of riskbatch-review"
    empty: dict[str, Any] = {"Resources": {}}
    try:
        if live.template is not None:
            before, after = resolved_pair(live, template, given)
            how = "resolved with their parameter values: the stack's from DescribeStacks, this plan's"
        else:
            before, after = empty, resolve(template, effective_parameters(template, given, {}), **live.pseudo)
            how = "the template resolved with this plan's parameter values"
    except UNRESOLVABLE as error:
        before, after = live.template or empty, template
        how = f"compared as written: they cannot be resolved ({error}), so a change made by a parameter value alone is not shown"
    found = security_changes(before, after, live.pseudo.get("account", Context.account))
    count = f"in riskbatch-review's words: {len(found) or 'none'}"
    if live.template is None:
        why = f"is in {live.status} (a CREATE change set made it and none was executed: no template, no resources)"
        why = "does not exist yet" if live.status is None else why
        lines = [f"\n{what}: {stack_name} {why}, so nothing is deployed: a NEW stack, reviewed against an empty template ({how}), {count}"]
    else:
        lines = [f"\n{what} against the deployed {stack_name} (GetTemplate; both templates {how}), {count}"]
    lines += _with_causes(found, _causes(changes or []))
    if any(finding.needs_security_review for finding in found):
        lines.append("  ⚠: needs a security reviewer before it is deployed")
    return lines

"""The least-privilege matrix: what each role of the stack may do, on what, under which conditions.

Read from the template itself (resolved for one environment, every optional part on), so the
document that shows it cannot drift from what is deployed: `make docs` writes it into
docs/security.md and the doc check fails while the copy there differs.
"""

from __future__ import annotations

import json
import re
from typing import Any

from riskbatch_platform.analysis.iam_audit import EVERYTHING_ON
from riskbatch_platform.analysis.resolve import as_list, placeholder_values, resolve

ACCOUNT = "111122223333"
REGION = "us-east-1"
SUFFIX = "prod"
EXAMPLE_BUCKETS = {"InputBucketName": "my-risk-input-bucket", "OutputBucketName": "my-risk-output-bucket"}
# An ARN shown without the parts every resource of one environment shares.
_ARN_PREFIX = re.compile(rf"arn:aws:([a-z0-9-]+):(?:{REGION})?:(?:{ACCOUNT})?:")


def _short(resource: str) -> str:
    if resource == "*":
        return "`*`"
    match = _ARN_PREFIX.match(resource)
    return f"{match.group(1)}: `{resource[match.end() :]}`" if match else f"`{resource}`"


def _short_principal(principal: str) -> str:
    match = _ARN_PREFIX.match(principal)
    return f"`{match.group(1)}: {principal[match.end() :]}`" if match else f"`{principal}`"


def _condition(condition: dict[str, Any] | None) -> str:
    if not condition:
        return ""
    parts = []
    for operator, tests in condition.items():
        for key, value in tests.items():
            values = ", ".join(str(item) for item in as_list(value))
            parts.append(f"`{key}` {operator} {values}")
    return "; ".join(parts)


def _principal(statement: dict[str, Any]) -> str:
    principal = statement.get("Principal", {})
    if not isinstance(principal, dict):
        return f"`{principal}`"
    return ", ".join(_short_principal(str(item)) for kind in sorted(principal) for item in as_list(principal[kind]))


def _trusted_by(role: dict[str, Any]) -> str:
    cells = []
    for statement in as_list(role["AssumeRolePolicyDocument"]["Statement"]):
        condition = _condition(statement.get("Condition"))
        cells.append(_principal(statement) + (f" when {condition}" if condition else ""))
    return "<br>".join(cells)


def _resolved(template: dict[str, Any]) -> dict[str, Any]:
    chosen = {**EVERYTHING_ON, "EnvironmentSuffix": SUFFIX, **EXAMPLE_BUCKETS}
    parameters = {name: value for name, value in placeholder_values(template, chosen).items() if name in template.get("Parameters", {})}
    return resolve(template, parameters, region=REGION, account=ACCOUNT, stack_name=f"riskbatch-{SUFFIX}")


def _actions(statement: dict[str, Any]) -> str:
    effect = "" if statement.get("Effect", "Allow") == "Allow" else "**Deny** "
    return effect + ", ".join(f"`{action}`" for action in as_list(statement["Action"]))


def role_rows(template: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(role, trusted by, actions, resources, conditions): one row per statement of each role's policies."""
    resolved = _resolved(template)
    rows = []
    for logical_id, resource in resolved["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        properties = resource["Properties"]
        role = f"{logical_id}<br>`{properties['RoleName']}`"
        trusted = _trusted_by(properties)
        for policy in properties.get("Policies", []):
            for statement in as_list(policy["PolicyDocument"]["Statement"]):
                resources = "<br>".join(_short(item) for item in as_list(statement.get("Resource", [])))
                rows.append((role, trusted, _actions(statement), resources, _condition(statement.get("Condition"))))
                role, trusted = "", ""  # the role and its trust once, on its first row
    return rows


# resource type -> the property that holds its resource policy
RESOURCE_POLICIES = {
    "AWS::KMS::Key": "KeyPolicy",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::Logs::ResourcePolicy": "PolicyDocument",
}


def resource_policy_rows(template: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(resource policy, principal, actions, resources, conditions): one row per statement."""
    rows = []
    for logical_id, resource in _resolved(template)["Resources"].items():
        key = RESOURCE_POLICIES.get(resource["Type"])
        if key is None:
            continue
        document = resource["Properties"][key]
        document = json.loads(document) if isinstance(document, str) else document  # logs policies are a JSON string
        owner = logical_id
        for statement in as_list(document["Statement"]):
            resources = "<br>".join(_short(item) for item in as_list(statement.get("Resource", [])))
            rows.append((owner, _principal(statement), _actions(statement), resources, _condition(statement.get("Condition"))))
            owner = ""
    return rows


def _table(header: str, rows: list[tuple[str, str, str, str, str]]) -> list[str]:
    lines = [header, "| --- | --- | --- | --- | --- |"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines


def matrix_markdown(template: dict[str, Any]) -> str:
    lines = [
        f"Resolved for `EnvironmentSuffix={SUFFIX}` in {REGION}, every optional grant on (the buckets' own keys, and "
        f"`EnableAccessProbes=true`, whose `probes/` rows a production stack does not have); ARNs are shown after "
        f"`arn:aws:<service>:{REGION}:{ACCOUNT}:`.",
        "",
        *_table("| role | trusted by | actions | on | only when |", role_rows(template)),
        "",
        "The resource policies, which decide what other principals (services included) may do:",
        "",
        *_table("| resource policy of | principal | actions | on | only when |", resource_policy_rows(template)),
    ]
    return "\n".join(lines) + "\n"


def main_template_matrix(path: str = "lib/TapStack.json") -> str:
    with open(path, encoding="utf-8") as handle:
        return matrix_markdown(json.load(handle))

"""docs/design.md's parameter table, written from the template: every parameter, in the order of
its interface group, with its default, the values it takes and its Description (make docs)."""

from __future__ import annotations

import json
from typing import Any

from riskbatch_platform import REPO_ROOT

TEMPLATE = REPO_ROOT / "lib" / "TapStack.json"


def _values(body: dict[str, Any]) -> str:
    """What CloudFormation accepts: the allowed values, a number's bounds, or the constraint's description."""
    if "AllowedValues" in body:
        return ", ".join(f"`{value}`" for value in body["AllowedValues"])
    if "MinValue" in body or "MaxValue" in body:
        return f"{body.get('MinValue', '')} to {body.get('MaxValue', '')}".strip()
    return str(body.get("ConstraintDescription", body["Type"] if body["Type"] != "String" else "")).replace("|", "\\|")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def parameter_table(template: dict[str, Any] | None = None) -> str:
    template = template or json.loads(TEMPLATE.read_text(encoding="utf-8"))
    parameters = template["Parameters"]
    groups = template.get("Metadata", {}).get("AWS::CloudFormation::Interface", {}).get("ParameterGroups", [])
    ordered = [(group["Label"]["default"], name) for group in groups for name in group["Parameters"]]
    ordered += [("", name) for name in parameters if name not in {name for _, name in ordered}]
    lines = ["| group | parameter | default | values | meaning |", "| --- | --- | --- | --- | --- |"]
    for group, name in ordered:
        body = parameters[name]
        default = f"`{body['Default']}`" if "Default" in body and body["Default"] != "" else ("(empty)" if "Default" in body else "(required)")
        lines.append(f"| {group} | `{name}` | {default} | {_values(body)} | {_cell(body['Description'])} |")
    return "\n".join(lines) + "\n"

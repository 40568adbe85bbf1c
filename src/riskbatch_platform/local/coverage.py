"""What the local emulator did and did not model of the deployed template, resource by resource."""

from __future__ import annotations

from typing import Any

from riskbatch_platform.analysis.conditions import active_resources
from riskbatch_platform.aws import Target
from riskbatch_platform.deployment.stack import physical_ids
from riskbatch_platform.testing.live_checks import Check, live_checks


def resource_coverage(target: Target, stack_name: str, template: dict[str, Any], parameters: dict[str, str]) -> list[tuple[str, str, str]]:
    """(logical id, type, what the emulator made of it) for every resource the parameters switch on."""
    deployed = physical_ids(target.client("cloudformation"), stack_name)
    rows = []
    for logical_id, body in active_resources(template, parameters).items():
        if logical_id in deployed:
            rows.append((logical_id, body["Type"], f"modelled: {deployed[logical_id][1]}"))
        else:
            rows.append((logical_id, body["Type"], "not listed: the emulator reports no physical resource (type not modelled)"))
    return rows


def report(target: Target, stack_name: str, template: dict[str, Any], parameters: dict[str, str], outputs: dict[str, str]) -> str:
    lines = ["Resources (what the emulator did with each):"]
    rows = resource_coverage(target, stack_name, template, parameters)
    width = max(len(logical_id) for logical_id, _, _ in rows)
    for logical_id, kind, state in rows:
        lines.append(f"  {logical_id:<{width}}  {kind:<45} {state}")
    modelled = sum(1 for _, _, state in rows if state.startswith("modelled"))
    lines.append(f"  {modelled} of {len(rows)} resources modelled, {len(rows) - modelled} not listed")
    checks: list[Check] = live_checks(target, stack_name, template, outputs)
    lines.append("Properties read back with describe calls (template value vs emulator value):")
    for check in checks:
        verdict = "kept   " if check.holds else "DROPPED"
        detail = "" if check.holds else f"  template={check.expected!r} emulator={check.actual!r}"
        lines.append(f"  {verdict} {check.logical_id}.{check.prop}{detail}")
    kept = sum(1 for check in checks if check.holds)
    lines.append(f"  {kept} of {len(checks)} properties kept, {len(checks) - kept} dropped by the emulator")
    return "\n".join(lines)

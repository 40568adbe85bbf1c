"""Whether an identity policy allows what a set of calls needs (riskbatch_platform.analysis.operation_actions).

A need is allowed when an Allow statement matches its action (IAM's wildcards, case-insensitive), its
resource (the example ARN the table gives; "*" needs a statement on "*") and its conditions, decided
against the keys the call sets (iam:PassedToService for PassRole) by the evaluator the emulator uses.
No statement of the documented policies denies: a Deny is not modelled and is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from riskbatch_platform.analysis.iam_conditions import condition_holds
from riskbatch_platform.analysis.operation_actions import Need, needs
from riskbatch_platform.analysis.resolve import as_list


def _glob(pattern: str, value: str, case: bool = True) -> bool:
    expression = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.fullmatch(expression, value, flags=re.DOTALL | (0 if case else re.IGNORECASE)) is not None


def allows(policy: dict[str, Any], need: Need) -> bool:
    """Whether one of the policy's statements allows the need."""
    context = {"iam:passedtoservice": [need.passed_to]} if need.passed_to else {}
    for statement in as_list(policy["Statement"]):
        if statement.get("Effect") != "Allow":
            raise ValueError(f"a statement that does not allow is not modelled here: {statement}")
        if not any(_glob(action, need.action, case=False) for action in as_list(statement.get("Action", []))):
            continue
        if not any(_glob(resource, need.resource) for resource in as_list(statement.get("Resource", []))):
            continue
        if "Condition" in statement and not condition_holds(statement["Condition"], context):
            continue
        return True
    return False


def missing(policy: dict[str, Any], calls: Iterable[str]) -> dict[str, list[str]]:
    """"service:Operation" -> what it needs that the policy does not allow (only the calls that lack something)."""
    lacking: dict[str, list[str]] = {}
    for call in sorted(set(calls)):
        absent = [need for need in needs(*call.split(":", 1)) if not allows(policy, need)]
        if absent:
            lacking[call] = [f"{need.action} on {need.resource}" + (f" passed to {need.passed_to}" if need.passed_to else "") for need in absent]
    return lacking

"""The Condition element of an IAM policy statement, decided against a request context.

Semantics from the IAM user guide, "IAM JSON policy elements: Condition operators"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html):
- condition keys are case-insensitive; a block holds when every operator in it holds, an
  operator when every key under it holds, a key when any of the policy's values matches;
- a key absent from the request context makes the condition false, except for negated
  operators (StringNotEquals, ArnNotLike, ...), which are then true, for ...IfExists, which is
  then true, and for Null, which tests exactly that;
- ARN operators compare each of the six colon-separated parts separately, with * and ? as
  wildcards (ArnEquals and ArnLike behave alike);
- ForAnyValue: / ForAllValues: compare a multi-valued key as a set.

Used by the local emulator (local/emulator/iam.py), which otherwise ignores conditions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from riskbatch_platform.analysis.resolve import as_list

Context = Mapping[str, Sequence[str]]  # lower-case condition key -> the request's values


class UnsupportedCondition(ValueError):
    """An operator this evaluator does not implement: refuse loudly rather than guess."""


def _glob(pattern: str, value: str) -> bool:
    """IAM's wildcards: * any run of characters, ? one character; everything else literal."""
    expression = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.fullmatch(expression, value, flags=re.DOTALL) is not None


def _arn_matches(pattern: str, value: str) -> bool:
    pattern_parts, value_parts = pattern.split(":", 5), value.split(":", 5)
    if len(pattern_parts) != 6 or len(value_parts) != 6:
        return False
    return all(_glob(p, v) for p, v in zip(pattern_parts, value_parts, strict=True))


def _number(value: str) -> float:
    return float(value)


# operator -> (matches(policy value, request value), negated)
_OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (lambda p, v: p == v, False),
    "StringNotEquals": (lambda p, v: p == v, True),
    "StringEqualsIgnoreCase": (lambda p, v: p.lower() == v.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda p, v: p.lower() == v.lower(), True),
    "StringLike": (_glob, False),
    "StringNotLike": (_glob, True),
    "ArnEquals": (_arn_matches, False),
    "ArnLike": (_arn_matches, False),
    "ArnNotEquals": (_arn_matches, True),
    "ArnNotLike": (_arn_matches, True),
    "Bool": (lambda p, v: str(p).lower() == str(v).lower(), False),
    "NumericEquals": (lambda p, v: _number(v) == _number(p), False),
    "NumericNotEquals": (lambda p, v: _number(v) == _number(p), True),
    "NumericLessThan": (lambda p, v: _number(v) < _number(p), False),
    "NumericLessThanEquals": (lambda p, v: _number(v) <= _number(p), False),
    "NumericGreaterThan": (lambda p, v: _number(v) > _number(p), False),
    "NumericGreaterThanEquals": (lambda p, v: _number(v) >= _number(p), False),
}


def _as_strings(value: Any) -> list[str]:
    """A policy's condition value as IAM compares it: a list of strings, JSON booleans as `true`/`false`."""
    return [str(item).lower() if isinstance(item, bool) else str(item) for item in as_list(value)]


def _key_holds(operator: str, policy_values: list[str], request_values: Sequence[str] | None) -> bool:
    qualifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    if name == "Null":
        wants_absent = [value.lower() for value in policy_values] == ["true"]
        return (request_values is None) == wants_absent
    if name not in _OPERATORS:
        raise UnsupportedCondition(f"condition operator {operator} is not evaluated by this emulator")
    matches, negated = _OPERATORS[name]
    if request_values is None:
        return if_exists or negated or qualifier == "ForAllValues"
    if qualifier == "ForAllValues":
        result = all(any(matches(p, v) for p in policy_values) for v in request_values)
        return not result if negated else result
    found = any(matches(p, v) for p in policy_values for v in request_values)
    return not found if negated else found


def condition_holds(condition: Mapping[str, Mapping[str, Any]], context: Context) -> bool:
    """Whether a statement's Condition element holds for a request with this context."""
    lowered = {key.lower(): list(values) for key, values in context.items()}
    for operator, keys in condition.items():
        for key, policy_values in keys.items():
            if not _key_holds(operator, _as_strings(policy_values), lowered.get(key.lower())):
                return False
    return True

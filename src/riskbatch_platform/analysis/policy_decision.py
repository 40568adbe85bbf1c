"""A resource policy's decision on one request: explicitly denied, allowed, or not allowed (implicitly denied).

The evaluation logic of the IAM user guide, for one policy document ("Policy evaluation logic":
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html): an explicit
Deny in any statement that matches the request wins; otherwise an Allow that matches allows; otherwise the
request is implicitly denied. A statement matches when its principal, action and resource match and its
Condition holds (riskbatch_platform.analysis.iam_conditions). Principals: "*" and {"AWS": "*"} are anyone;
{"AWS": <account or ARN>} an account's principals; {"Service": <name>} that service. Actions compare
case-insensitively with * and ? wildcards; resources with * and ? ("IAM JSON policy elements: Action",
".../reference_policies_elements_action.html"; "Resource", ".../reference_policies_elements_resource.html").
NotPrincipal, NotAction and NotResource are refused, not guessed: the project's policies use none.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from riskbatch_platform.analysis.iam_conditions import condition_holds
from riskbatch_platform.analysis.resolve import as_list

DENIED, ALLOWED, NOT_ALLOWED = "explicitly denied", "allowed", "not allowed"


@dataclass(frozen=True)
class Request:
    """Who asks (an account's principal, a service, or anyone), for what action on which resource, in what context."""

    action: str
    resource: str
    account: str | None = None  # the caller's account, for an IAM principal
    service: str | None = None  # the calling service, for a service principal
    context: Mapping[str, Sequence[str]] = field(default_factory=dict)


class UnsupportedPolicy(ValueError):
    """An element this model does not decide."""


def _matches(pattern: str, value: str, case_sensitive: bool) -> bool:
    if case_sensitive:
        return fnmatch.fnmatchcase(value, pattern)
    return fnmatch.fnmatchcase(value.lower(), pattern.lower())


def _principal_matches(principal: Any, request: Request) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        raise UnsupportedPolicy(f"a principal written as {principal!r}")
    for kind, values in principal.items():
        for value in as_list(values):
            if kind == "AWS" and (value == "*" or (request.account is not None and request.account in (value, f"arn:aws:iam::{value}:root"))):
                return True
            if kind == "AWS" and request.account is not None and str(value).startswith(f"arn:aws:iam::{request.account}:"):
                return True
            if kind == "Service" and value == request.service:
                return True
    return False


def statement_matches(statement: Mapping[str, Any], request: Request) -> bool:
    for unsupported in ("NotPrincipal", "NotAction", "NotResource"):
        if unsupported in statement:
            raise UnsupportedPolicy(f"{unsupported} in statement {statement.get('Sid', '?')}")
    if not _principal_matches(statement.get("Principal"), request):
        return False
    if not any(_matches(str(action), request.action, case_sensitive=False) for action in as_list(statement.get("Action"))):
        return False
    if not any(_matches(str(resource), request.resource, case_sensitive=True) for resource in as_list(statement.get("Resource", "*"))):
        return False
    return condition_holds(statement.get("Condition", {}), request.context)


def decide(document: Mapping[str, Any], request: Request) -> str:
    """DENIED, ALLOWED or NOT_ALLOWED: what this one policy says of the request."""
    matching = [statement for statement in as_list(document.get("Statement")) if statement_matches(statement, request)]
    if any(statement["Effect"] == "Deny" for statement in matching):
        return DENIED
    if any(statement["Effect"] == "Allow" for statement in matching):
        return ALLOWED
    return NOT_ALLOWED

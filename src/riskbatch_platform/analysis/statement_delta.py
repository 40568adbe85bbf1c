"""What a change to one policy statement does to who is let in: its principals, its effect, and the
elements that match everything except a list (NotAction, NotResource, NotPrincipal).

Part of riskbatch-review (riskbatch_platform.analysis.review), which calls these for each statement
that changed; a finding that lets in someone new, or takes a Deny away, needs a security reviewer.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from riskbatch_platform.analysis.resolve import as_list

if TYPE_CHECKING:
    from riskbatch_platform.analysis.review import Review


def _principals(statement: dict[str, Any], key: str = "Principal") -> set[tuple[str, str]]:
    """(kind, who) for each principal a statement names: ("*", "*") for the bare "*", else AWS, Service, Federated..."""
    principal = statement.get(key)
    if principal is None:
        return set()
    if not isinstance(principal, dict) or set(principal) & {"Ref", "Fn::Sub", "Fn::If", "Fn::Join"}:
        return {("*", "*")} if principal == "*" else {("AWS", json.dumps(principal, sort_keys=True))}
    return {(kind, who if isinstance(who, str) else json.dumps(who, sort_keys=True)) for kind, values in principal.items() for who in as_list(values)}


def _outside(principal: tuple[str, str], account: str | None) -> bool:
    """A principal that is everyone, or an account, user, role or federation that is not the stack's own account.

    A service principal is AWS itself acting on the stack's behalf; an AWS principal names an account
    ("For cross-account access, you must specify the 12-digit identifier of the trusted account":
    IAM JSON policy elements: Principal, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html).
    """
    kind, who = principal
    if who.strip('"') == "*":
        return True
    if kind == "Service":
        return False
    if kind != "AWS":  # Federated, CanonicalUser: identities outside the account's IAM
        return True
    return "AWS::AccountId" not in who and not (account and (who.strip('"') == account or f":{account}:" in who))


def exceptions_delta(review: Review, subject: str, was: dict[str, Any] | None, now: dict[str, Any]) -> None:
    """NotAction, NotResource, NotPrincipal: a statement that matches everything except a list ("NotAction ...
    could result in granting users more permissions than you intended": IAM JSON policy elements: NotAction,
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html)."""
    for key in ("NotAction", "NotResource", "NotPrincipal"):
        before, after = (was or {}).get(key), now.get(key)
        if before != after and after is not None:
            review.add("iam", subject, f"{key} {'added' if before is None else 'changed'}: {json.dumps(after, sort_keys=True)} (matches everything else)", True)
        elif before != after:
            review.add("iam", subject, f"{key} removed: {json.dumps(before, sort_keys=True)}", True)


def principal_delta(review: Review, subject: str, was: dict[str, Any] | None, now: dict[str, Any], account: str | None) -> None:
    """Who a resource or trust policy lets in (or keeps out, under Deny)."""
    added = _principals(now) - _principals(was or {})
    removed = _principals(was or {}) - _principals(now)
    outside = sorted(f"{kind}:{who}" for kind, who in added if _outside((kind, who), account))
    allow = now.get("Effect") == "Allow"
    if added and (was is not None or (allow and outside)):  # a new statement's own principals are listed only when outside
        shown = sorted(f"{kind}:{who}" for kind, who in added)
        widened = allow and bool(outside)
        review.add("iam", subject, f"principal added: {shown}" + (f"; outside the stack's account or everyone: {outside}" if widened else ""), widened)
    if removed and was is not None:
        review.add("iam", subject, f"principal removed: {sorted(f'{kind}:{who}' for kind, who in removed)}", was.get("Effect") == "Deny")


def effect_delta(review: Review, subject: str, was: dict[str, Any] | None, now: dict[str, Any] | None) -> None:
    """A Deny overrides any Allow ("To override an allow ... you set the Effect element to Deny": IAM JSON policy
    elements: Effect, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_effect.html):
    a Deny turned Allow, or removed, takes a guard away."""
    before, after = (was or {}).get("Effect"), (now or {}).get("Effect")
    if was is None or before == after:
        return
    if now is None:
        if before == "Deny":
            review.add("iam", subject, "a Deny statement removed: what it denied is no longer denied", True)
        return
    review.add("iam", subject, f"Effect {before} -> {after}" + (": what it denied is now allowed" if after == "Allow" else ""), after == "Allow")

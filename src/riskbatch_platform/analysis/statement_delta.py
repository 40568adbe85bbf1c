"""What a change to one policy statement does to who is let in: its principals, its effect, its conditions, and
the elements that match everything except a list (NotAction, NotResource, NotPrincipal).

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
    """A principal that is everyone, or an account, user, role or federation that is not the stack's own account;
    one written with Fn::If is outside when either branch is.

    A service principal is AWS itself acting on the stack's behalf; an AWS principal names an account
    ("For cross-account access, you must specify the 12-digit identifier of the trusted account":
    IAM JSON policy elements: Principal, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html).
    """
    kind, who = principal
    chosen = _branches(who)
    if chosen is not None:  # Fn::If: the worst branch counts, whichever the condition picks
        return any(_outside(branch, account) for branch in _branch_principals(kind, chosen))
    if who.strip('"') == "*":
        return True
    if kind == "Service":
        return False
    if kind != "AWS":  # Federated, CanonicalUser: identities outside the account's IAM
        return True
    return "AWS::AccountId" not in who and not (account and (who.strip('"') == account or f":{account}:" in who))


def _branches(who: str) -> list[Any] | None:
    """The two branches of a principal written {"Fn::If": [condition, then, else]}; None for any other principal."""
    try:
        written = json.loads(who)
    except ValueError:
        return None
    if isinstance(written, dict) and isinstance(written.get("Fn::If"), list) and len(written["Fn::If"]) == 3:
        return [branch for branch in written["Fn::If"][1:] if branch != {"Ref": "AWS::NoValue"}]
    return None


def _branch_principals(kind: str, branches: list[Any]) -> set[tuple[str, str]]:
    """Each branch as principals: a whole Principal object ({"AWS": ...}) or a value of the kind the Fn::If sits under."""
    found: set[tuple[str, str]] = set()
    for branch in branches:
        whole = isinstance(branch, dict) and branch and all(key in ("AWS", "Service", "Federated", "CanonicalUser") for key in branch)
        if whole or branch == "*":
            found |= _principals({"Principal": branch})
        else:
            found.add((kind, branch if isinstance(branch, str) else json.dumps(branch, sort_keys=True)))
    return found


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


def _condition_pairs(statement: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    """(operator, context key) -> its values; a condition block not written as operator -> key -> values counts as one pair."""
    pairs: dict[tuple[str, str], set[str]] = {}
    condition = statement.get("Condition") or {}
    for operator, keys in condition.items() if isinstance(condition, dict) else [("(whole)", condition)]:
        if not isinstance(keys, dict) or set(keys) & {"Ref", "Fn::If", "Fn::Sub"}:
            pairs[(operator, json.dumps(keys, sort_keys=True))] = set()
            continue
        for key, values in keys.items():
            pairs[(operator, key)] = {value if isinstance(value, str) else json.dumps(value, sort_keys=True) for value in as_list(values)}
    return pairs


def _negated(operator: str) -> bool:
    """StringNotEquals, StringNotLike, ArnNotLike, NotIpAddress, ... (with a ForAllValues:/ForAnyValue: qualifier or IfExists or not)."""
    return "Not" in operator.rpartition(":")[2].removesuffix("IfExists")


def condition_delta(review: Review, subject: str, was: dict[str, Any] | None, now: dict[str, Any]) -> None:
    """A statement's conditions compared by (operator, context key): keys under one operator, and operators, are ANDed,
    a key's values ORed, and NORed under a negated operator ("Conditions with multiple context keys or values":
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html). Under Allow a
    pair removed, a value added to a key (one more value that lets a request through; a wildcard value the widest),
    or a value dropped from a negated operator's key (one fewer excluded) lets more requests through; under Deny a
    pair added or changed makes the Deny apply to fewer requests."""
    if was is None or was.get("Condition") == now.get("Condition"):
        return
    old, new = _condition_pairs(was), _condition_pairs(now)
    allow, deny = now.get("Effect") == "Allow", now.get("Effect") == "Deny"
    removed = sorted(f"{operator} {key}" for operator, key in set(old) - set(new))
    changed = sorted(f"{operator} {key}" for (operator, key), values in new.items() if old.get((operator, key), values) != values)
    added = sorted(f"{operator} {key}" for operator, key in set(new) - set(old))
    kept = [pair for pair in new if pair in old]
    grown = {pair: new[pair] - old[pair] for pair in kept if not _negated(pair[0]) and new[pair] - old[pair]}
    fewer_excluded = {pair: old[pair] - new[pair] for pair in kept if _negated(pair[0]) and old[pair] - new[pair]}
    wildcard = sorted(f"{operator} {key}" for (operator, key), values in grown.items() if any("*" in value for value in values))
    more_values = sorted(f"{operator} {key}" for operator, key in grown if f"{operator} {key}" not in wildcard)
    excluded_less = sorted(f"{operator} {key}" for operator, key in fewer_excluded)
    if removed:
        review.add("iam", subject, f"condition removed: {removed}" + ("" if allow else ": the Deny applies more widely"), allow)
    if allow and wildcard:
        review.add("iam", subject, f"condition widened: a wildcard value in {wildcard}", True)
    if allow and more_values:
        review.add("iam", subject, f"condition widened: a value added to {more_values} (a key's values are ORed: one more that passes)", True)
    if allow and excluded_less:
        review.add("iam", subject, f"condition widened: a value dropped from {excluded_less} (a negated key's values are NORed: one fewer excluded)", True)
    if deny and (added or changed):
        review.add("iam", subject, f"a Deny narrowed: condition added or changed: {added + changed}: it denies fewer requests", True)
    elif rest := sorted(set(added + changed) - set(wildcard + more_values + excluded_less if allow else [])):
        review.add("iam", subject, f"condition added or changed: {rest}")

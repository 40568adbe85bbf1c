"""Access granted other than by a policy statement: a managed policy attached to a role, user or group, a
permissions boundary taken away or changed, a policy attached to more roles, users or groups, and a
standalone security-group egress rule to everyone.

Part of riskbatch-review (riskbatch_platform.analysis.review); each of these lets someone do more, so
each needs a security reviewer. A role's ManagedPolicyArns "attaches" the listed managed policies to it
(CloudFormation User Guide, AWS::IAM::Role: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-iam-role.html);
a permissions boundary sets "the maximum permissions that an identity-based policy can grant to an IAM
entity", so removing or changing one can widen what the role's policies already allow ("Permissions
boundaries for IAM entities": https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from riskbatch_platform.analysis.resolve import as_list

if TYPE_CHECKING:
    from riskbatch_platform.analysis.review import Review

IDENTITY_TYPES = ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group")
POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
WORLD_CIDRS = {"0.0.0.0/0", "::/0"}  # every IPv4 address (CidrIp), every IPv6 address (CidrIpv6)


def _texts(value: Any) -> set[str]:
    return {item if isinstance(item, str) else json.dumps(item, sort_keys=True) for item in as_list(value if value is not None else [])}


def grant_delta(review: Review, logical_id: str, resource_type: str, before: dict[str, Any], after: dict[str, Any]) -> None:
    """The access a resource gives or takes away by its attachments and boundary, not by its statements."""
    subject = logical_id  # a change that starts with its property, so --plan names the parameter behind that property
    if resource_type in IDENTITY_TYPES:
        added = sorted(_texts(after.get("ManagedPolicyArns")) - _texts(before.get("ManagedPolicyArns")))
        if added:
            review.add("iam", subject, f"ManagedPolicyArns: a managed policy attached: {added}", True)
        was, now = before.get("PermissionsBoundary"), after.get("PermissionsBoundary")
        if was is not None and now is None:
            review.add("iam", subject, f"PermissionsBoundary removed: {sorted(_texts(was))}: its policies are no longer capped", True)
        elif was is not None and was != now:
            review.add("iam", subject, f"PermissionsBoundary changed: {sorted(_texts(was))} -> {sorted(_texts(now))}", True)
    if resource_type in POLICY_TYPES:
        for key in ("Roles", "Users", "Groups"):
            added = sorted(_texts(after.get(key)) - _texts(before.get(key)))
            if added:
                review.add("iam", subject, f"{key}: the policy attached to more {key.lower()}: {added}", True)
    if resource_type == "AWS::EC2::SecurityGroupEgress" and before != after:
        to_world = {str(after.get(key)) for key in ("CidrIp", "CidrIpv6")} & WORLD_CIDRS
        if to_world:
            review.add("network", subject, f"an egress rule to everyone ({sorted(to_world)}): {json.dumps(after, sort_keys=True)}", True)

"""Whether a KMS key policy lets an AWS service use the key, decided with the keys its request carries.

A condition key the request does not carry makes a condition false (IAM user guide, "Condition
operators", as riskbatch_platform/analysis/iam_conditions.py implements it). What a service's KMS request
carries is therefore the whole question for a key policy statement naming that service:

- EventBridge delivering to an encrypted target carries no aws:SourceAccount, aws:SourceArn or
  aws:SourceOrgID: "Adding the aws:SourceAccount, aws:SourceArn, and aws:SourceOrgID to a AWS KMS
  policy is not supported for EventBridge-to-encrypted topics"
  (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html, "Enable compatibility between
  event sources from AWS services and encrypted topics"). The SQS documents are silent for queues;
  we take the same (the form that cannot drop events).
- CloudWatch alarms publishing to an encrypted topic: the same page lists cloudwatch.amazonaws.com
  among the event sources and tells to "Add the aws:SourceAccount and aws:SourceArn condition keys
  to the KMS resource policy", so its request carries both (the alarm's account and ARN).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from riskbatch_platform.analysis.iam_conditions import condition_holds
from riskbatch_platform.analysis.resolve import as_list

EVENTS = "events.amazonaws.com"
CLOUDWATCH = "cloudwatch.amazonaws.com"


def request_context(service: str, account: str, source_arn: str) -> dict[str, list[str]]:
    """The global condition keys a service's KMS request carries when it acts for `source_arn`."""
    if service == EVENTS:
        return {}  # none of aws:SourceAccount, aws:SourceArn, aws:SourceOrgID
    return {"aws:SourceAccount": [account], "aws:SourceArn": [source_arn]}


def _matches(pattern: str, value: str) -> bool:
    expression = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.fullmatch(expression, value, flags=re.IGNORECASE) is not None


def _names_service(statement: Mapping[str, Any], service: str) -> bool:
    principal = statement.get("Principal", {})
    if principal == "*":
        return True
    return isinstance(principal, dict) and (service in as_list(principal.get("Service", [])) or "*" in as_list(principal.get("AWS", [])))


def _applies(statement: Mapping[str, Any], service: str, action: str, context: Mapping[str, Sequence[str]]) -> bool:
    return (
        _names_service(statement, service)
        and any(_matches(pattern, action) for pattern in as_list(statement.get("Action", [])))
        and condition_holds(statement.get("Condition", {}), context)
    )


def service_may_use_key(policy: Mapping[str, Any], service: str, action: str, context: Mapping[str, Sequence[str]]) -> bool:
    """Whether the key policy allows, and does not deny, `service` doing `action` with this request context."""
    statements = as_list(policy.get("Statement", []))
    if any(s.get("Effect") == "Deny" and _applies(s, service, action, context) for s in statements):
        return False
    return any(s.get("Effect") == "Allow" and _applies(s, service, action, context) for s in statements)

"""Will a failure reach a person? The alert subscription confirmed, the key enabled, the alarms able to notify,
the dead letters, and the logs resource policy that lets EventBridge write the task events.

- an SNS subscription is "PendingConfirmation" until its endpoint confirms it;
  https://docs.aws.amazon.com/sns/latest/api/API_Subscription.html
- CloudWatch runs an alarm's actions on state transitions only: an alarm already in ALARM (a dead
  letter nobody purged) notifies nobody of the next one, so the check lists them and what the
  dead-letter queues still hold.
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-actions.html
- EventBridge writes to a CloudWatch Logs log group only under a logs resource policy that lets
  events.amazonaws.com call logs:CreateLogStream and logs:PutLogEvents on it.
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.md"""

from __future__ import annotations

import json
from typing import Any

from riskbatch.operations.preflight.findings import FAIL, PASS, WARN, Account, Clients, Finding


def alert_subscription(clients: Clients, account: Account) -> list[Finding]:
    if not account.topic_arn:
        return []
    subscriptions = []
    for page in clients("sns").get_paginator("list_subscriptions_by_topic").paginate(TopicArn=account.topic_arn):
        subscriptions += page["Subscriptions"]
    confirmed = [s for s in subscriptions if s["SubscriptionArn"] not in ("PendingConfirmation", "Deleted")]
    pending = len(subscriptions) - len(confirmed)
    found = f"{len(confirmed)} confirmed" + (f", {pending} pending" if pending else "")
    fix = "confirm the subscription (the link in the e-mail AWS sent), or subscribe: NotificationEmail"
    return [Finding("alert topic has a confirmed subscriber", ">= 1 confirmed", found, PASS if confirmed else FAIL, "" if confirmed else fix)]


def kms_key(clients: Clients, account: Account) -> list[Finding]:
    if not account.key_arn:
        return []
    kms = clients("kms")
    state = kms.describe_key(KeyId=account.key_arn)["KeyMetadata"]["KeyState"]
    rotation = kms.get_key_rotation_status(KeyId=account.key_arn)["KeyRotationEnabled"]
    enabled = state == "Enabled"
    return [
        Finding("stack key enabled", "Enabled", state, PASS if enabled else FAIL, "" if enabled else "aws kms enable-key (or cancel its deletion)"),
        Finding("stack key rotation", "on", "on" if rotation else "off", PASS if rotation else FAIL, "" if rotation else "aws kms enable-key-rotation"),
    ]


def _notifying_alarms(cloudwatch: Any, account: Account) -> list[dict[str, Any]]:
    """The alarms that notify the topic: by name (the stack's, from its template and, in the nightly
    task, its ALARM_NAMES), or else every alarm whose actions name the topic (DescribeAlarms' ActionPrefix)."""
    found: list[dict[str, Any]] = []
    if account.alarm_names:
        # one alarm a call: a role may then be granted DescribeAlarms on exactly those alarms' ARNs
        for name in account.alarm_names:
            found += cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    elif account.topic_arn:
        for page in cloudwatch.get_paginator("describe_alarms").paginate(ActionPrefix=account.topic_arn):
            found += page["MetricAlarms"]
    return found


def alarms(clients: Clients, account: Account) -> list[Finding]:
    if not account.alarm_names and not account.topic_arn:
        return []
    cloudwatch = clients("cloudwatch")
    found = _notifying_alarms(cloudwatch, account)
    firing = sorted(alarm["AlarmName"] for alarm in found if alarm["StateValue"] == "ALARM")
    return [
        Finding(
            "alarms that notify are quiet",
            "OK or INSUFFICIENT_DATA (one in ALARM notifies nobody of its next cause)",
            f"{len(firing)} in ALARM: {', '.join(firing)}" if firing else f"{len(found)} quiet",
            (FAIL if account.nightly else WARN) if firing else PASS,
            "read the alarm's description and the runbook; clear its cause (a dead-letter queue: redrive or purge)" if firing else "",
        )
    ]


def dead_letters(clients: Clients, account: Account) -> list[Finding]:
    """Dead-letter queues that still hold messages: each one is a unit, run or event the night lost."""
    if not account.dead_letter_queues:
        return []
    sqs = clients("sqs")
    held = {}
    for url in account.dead_letter_queues:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        count = sum(int(attributes.get(name, 0)) for name in names)
        if count:
            held[url.rsplit("/", 1)[-1]] = count
    found = ", ".join(f"{name} {count}" for name, count in sorted(held.items()))
    return [
        Finding(
            "dead-letter queues are empty",
            f"0 messages in {len(account.dead_letter_queues)} queues",
            found if held else "all empty",
            (FAIL if account.nightly else WARN) if held else PASS,
            "read the messages, fix the cause, then redrive them (aws sqs start-message-move-task) or purge them" if held else "",
        )
    ]


def _matches_any(value: str, patterns: Any) -> bool:
    from fnmatch import fnmatchcase

    return any(fnmatchcase(value, str(pattern)) for pattern in ([patterns] if isinstance(patterns, str) else patterns or []))


def _log_policy_allows(document: dict[str, Any], log_group_arn: str) -> bool:
    """Whether a logs resource policy lets EventBridge create streams in and write to the log group
    (IAM's wildcards * and ? honoured in actions and resources)."""
    base = log_group_arn.removesuffix(":*")
    targets = (base, f"{base}:*", f"{base}:log-stream:riskbatch-probe")
    needed = {"logs:CreateLogStream": False, "logs:PutLogEvents": False}
    statements = document.get("Statement", [])
    for statement in [statements] if isinstance(statements, dict) else statements:
        principal = statement.get("Principal", {})
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        if statement.get("Effect") != "Allow" or not (principal == "*" or _matches_any("events.amazonaws.com", services)):
            continue
        if not any(_matches_any(target, statement.get("Resource", [])) for target in targets):
            continue
        actions = statement.get("Action", [])
        allowed = [action.lower() for action in ([actions] if isinstance(actions, str) else actions)]
        for action in needed:
            needed[action] = needed[action] or _matches_any(action.lower(), allowed)
    return all(needed.values())


def _document(text: Any) -> dict[str, Any]:
    """A policy document as the API gives it: a JSON string (the emulator hands back the object
    CloudFormation was given)."""
    return text if isinstance(text, dict) else json.loads(text or "{}")


def task_events_log_policy(clients: Clients, account: Account) -> list[Finding]:
    """A logs resource policy lets EventBridge write the task state changes to the task events log
    group: the stack's own, or the account's shared one (CreateTaskEventsLogPolicy=false). Without
    it, no task failure is ever counted and the failure-rate alarm stays silent."""
    if not account.task_events_log_group_arn:
        return []
    logs = clients("logs")
    policies: list[dict[str, Any]] = []
    token = None
    while True:
        page = logs.describe_resource_policies(**({"nextToken": token} if token else {}))
        policies += page.get("resourcePolicies", [])
        token = page.get("nextToken")
        if not token:
            break
    covering = sorted(p["policyName"] for p in policies if _log_policy_allows(_document(p.get("policyDocument")), account.task_events_log_group_arn))
    name = "logs resource policy covers the task events log group"
    expected = "events.amazonaws.com may logs:CreateLogStream and logs:PutLogEvents on it"
    if covering:
        return [Finding(name, expected, f"allowed by {', '.join(covering)}", PASS)]
    fix = "put the shared policy (docs/runbook.md, 'The shared logs resource policy'), or deploy with CreateTaskEventsLogPolicy=true"
    return [Finding(name, expected, f"none of {len(policies)} policies allows it", FAIL, fix)]

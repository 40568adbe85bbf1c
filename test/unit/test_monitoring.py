"""Failure rate from ECS task state changes, dead-letter and delivery alarms, all notifying the topic."""

from __future__ import annotations

import re

import pytest

from riskbatch_platform.local.emulator.alarm_model import notifications
from test.conftest import the_template
from test.template_model import SUBSTITUTION_VALUES, Resource, Template, as_list, dead_letter_queue_ids, referenced_id, substitute

TEMPLATE = the_template()
VALUES = SUBSTITUTION_VALUES


def _topic(template: Template) -> str:
    (topic,) = template.of_type("AWS::SNS::Topic")
    return topic.logical_id


def _task_state_rule(template: Template) -> Resource:
    rules = [rule for rule in template.of_type("AWS::Events::Rule") if rule.props["EventPattern"].get("detail-type") == ["ECS Task State Change"]]
    assert len(rules) == 1
    return rules[0]


def _failure_rate_alarm(template: Template) -> Resource:
    alarms = [
        alarm
        for alarm in template.of_type("AWS::CloudWatch::Alarm")
        if any(metric.get("MetricStat", {}).get("Metric", {}).get("MetricName") == "TasksStopped" for metric in alarm.props.get("Metrics", []))
    ]
    assert len(alarms) == 1
    return alarms[0]


def test_stopped_tasks_of_the_cluster_go_to_an_encrypted_log_group(template: Template) -> None:
    rule = _task_state_rule(template)
    pattern = rule.props["EventPattern"]
    assert pattern["source"] == ["aws.ecs"]
    assert pattern["detail"]["lastStatus"] == ["STOPPED"]
    assert [template.get(referenced_id(arn)).type for arn in pattern["detail"]["clusterArn"]] == ["AWS::ECS::Cluster"]
    (target,) = rule.props["Targets"]
    log_group = template.get(template.referenced_resource(target["Arn"]))
    assert log_group.type == "AWS::Logs::LogGroup" and "KmsKeyId" in log_group.props
    assert substitute(log_group.props["LogGroupName"], VALUES).startswith("/aws/events/")


def test_eventbridge_may_write_to_the_task_events_log_group(template: Template) -> None:
    rule = _task_state_rule(template)
    log_group = template.referenced_resource(rule.props["Targets"][0]["Arn"])
    policies = [
        policy for policy in template.of_type("AWS::Logs::ResourcePolicy") if log_group in template.referenced_resources(policy.props["PolicyDocument"])
    ]
    assert len(policies) == 1
    policy = policies[0]
    # The rule must not deliver before the policy exists: an explicit DependsOn, or (the policy
    # being optional) a reference under the policy's own condition, which CloudFormation also
    # orders by.
    depends = policy.logical_id in as_list(rule.body.get("DependsOn", []))
    guarded = [
        node
        for node in template.find("$..'Fn::If'", rule.body)
        if node[0] == policy.body.get("Condition") and policy.logical_id in template.referenced_resources(node[1])
    ]
    assert depends or guarded, "the rule must not deliver before the policy exists"
    (statement,) = policy.props["PolicyDocument"]["Statement"]
    assert "events.amazonaws.com" in as_list(statement["Principal"]["Service"])
    assert set(statement["Action"]) == {"logs:CreateLogStream", "logs:PutLogEvents"}
    # CloudWatch Logs resource policies support aws:SourceArn and aws:SourceAccount (PutResourcePolicy,
    # https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutResourcePolicy.html), but the
    # EventBridge guide's Logs target section (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html)
    # does not say EventBridge's CreateLogStream carries them: held to this account only when the key is there
    # (...IfExists), so that an absent key cannot drop every task event.
    for operator, keys in statement.get("Condition", {}).items():
        if {key.lower() for key in keys} & {"aws:sourceaccount", "aws:sourcearn"}:
            assert operator.endswith("IfExists"), f"{operator}: a source key EventBridge may not carry would drop every task event"


def test_task_events_log_policy_can_be_left_to_a_shared_one(template: Template) -> None:
    """CloudWatch Logs allows 10 account-level resource policies per Region (PutResourcePolicy,
    https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutResourcePolicy.html):
    a stack per environment must be able to rely on one shared policy instead of its own."""
    (policy,) = template.of_type("AWS::Logs::ResourcePolicy")
    assert "Condition" in policy.body, "the task events log policy must be optional"
    condition = template.doc["Conditions"][policy.body["Condition"]]
    assert condition == {"Fn::Equals": [{"Ref": "CreateTaskEventsLogPolicy"}, "true"]}
    assert template.parameters()["CreateTaskEventsLogPolicy"]["Default"] == "true"


def _filters_on(template: Template, log_group: str) -> dict[str, Resource]:
    return {
        metric["MetricName"]: resource
        for resource in template.of_type("AWS::Logs::MetricFilter")
        if referenced_id(resource.props["LogGroupName"]) == log_group
        for metric in resource.props["MetricTransformations"]
    }


def test_metric_filters_count_stopped_and_failed_tasks(template: Template) -> None:
    rule = _task_state_rule(template)
    filters = _filters_on(template, template.referenced_resource(rule.props["Targets"][0]["Arn"]))
    assert set(filters) == {"TasksStopped", "TasksFailed"}
    stopped = filters["TasksStopped"].props["FilterPattern"]
    failed = filters["TasksFailed"].props["FilterPattern"]
    # Exact patterns: a changed operator (|| for &&) changes what is counted. A normal batch
    # completion stops with EssentialContainerExited and exit code 0: not a failure.
    assert stopped == '{ $.detail.lastStatus = "STOPPED" }'
    assert failed == '{ ($.detail.lastStatus = "STOPPED") && (($.detail.stopCode = "TaskFailedToStart") || ($.detail.containers[0].exitCode != 0)) }'
    for metric_filter in filters.values():
        (transformation,) = metric_filter.props["MetricTransformations"]
        assert transformation["MetricValue"] == "1" and transformation["DefaultValue"] == 0


def test_failure_rate_alarm_divides_the_filters_metrics_over_ten_minutes(template: Template) -> None:
    alarm = _failure_rate_alarm(template)
    rule = _task_state_rule(template)
    filters = _filters_on(template, template.referenced_resource(rule.props["Targets"][0]["Arn"]))
    published = {name: (resource.props["MetricTransformations"][0]["MetricNamespace"], name) for name, resource in filters.items()}
    by_id = {metric["Id"]: metric for metric in alarm.props["Metrics"]}
    (expression,) = [metric for metric in alarm.props["Metrics"] if "Expression" in metric]
    assert expression["ReturnData"] is True
    named = {m.get("MetricStat", {}).get("Metric", {}).get("MetricName"): i for i, m in by_id.items()}
    assert {"TasksStopped", "TasksFailed"} <= set(named), f"the alarm must read the filters' metrics, reads {sorted(filter(None, named))}"
    stopped_id, failed_id = named["TasksStopped"], named["TasksFailed"]
    assert expression["Expression"] == f"IF({stopped_id} > 0, 100 * {failed_id} / {stopped_id}, 0)"
    for metric_id, name in ((stopped_id, "TasksStopped"), (failed_id, "TasksFailed")):
        stat = by_id[metric_id]["MetricStat"]
        assert (stat["Metric"]["Namespace"], stat["Metric"]["MetricName"]) == published[name]
        assert stat["Period"] == 600 and stat["Stat"] == "Sum"
        assert by_id[metric_id]["ReturnData"] is False
    assert alarm.props["Threshold"] == 5
    assert alarm.props["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm.props["EvaluationPeriods"] == 1


def _queue_alarms(template: Template, queue_id: str) -> list[Resource]:
    return [
        alarm
        for alarm in template.of_type("AWS::CloudWatch::Alarm")
        if alarm.props.get("Namespace") == "AWS/SQS" and queue_id in {referenced_id(dimension["Value"]) for dimension in alarm.props["Dimensions"]}
    ]


@pytest.mark.parametrize("queue_id", sorted(dead_letter_queue_ids(TEMPLATE)))
def test_every_dead_letter_queue_holding_messages_alarms_to_the_topic(template: Template, queue_id: str) -> None:
    alarms = [alarm for alarm in _queue_alarms(template, queue_id) if _topic(template) in {referenced_id(a) for a in alarm.props.get("AlarmActions", [])}]
    assert alarms
    for alarm in alarms:
        assert alarm.props["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert alarm.props["Threshold"] == 0 and alarm.props["ComparisonOperator"] == "GreaterThanThreshold"


def _arrival_alarms(template: Template, queue_id: str) -> list[Resource]:
    """Metric-math alarms on the rise of the queue's depth (DIFF or RATE of ApproximateNumberOfMessagesVisible)."""
    found = []
    for alarm in template.of_type("AWS::CloudWatch::Alarm"):
        metrics = {m["Id"]: m for m in alarm.props.get("Metrics", [])}
        for metric in metrics.values():
            match = re.fullmatch(r"(DIFF|RATE)\((\w+)\)", metric.get("Expression", ""))
            stat = metrics[match.group(2)]["MetricStat"] if match and match.group(2) in metrics else None
            on_depth = stat is not None and stat["Metric"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
            if on_depth and queue_id in {referenced_id(d["Value"]) for d in stat["Metric"]["Dimensions"]}:
                found.append(alarm)
    return found


# CloudWatch runs an alarm's actions on state transitions only ("the actions happen only on state
# transitions, and are not performed again if the condition persists for hours or days",
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-actions.html): a depth > 0
# alarm held in ALARM by one unpurged dead letter tells nobody about the next. A second alarm on the
# rise of the depth (DIFF, https://docs.aws.amazon.com/ja_jp/AmazonCloudWatch/latest/monitoring/using-metric-math.html)
# goes back to OK a minute after each arrival and so alarms again for the next one.
@pytest.mark.parametrize("queue_id", sorted(dead_letter_queue_ids(TEMPLATE)))
def test_every_dead_letter_queue_alarms_on_each_new_dead_letter(template: Template, queue_id: str) -> None:
    alarms = _arrival_alarms(template, queue_id)
    assert alarms, f"{queue_id}: only a depth alarm, which stays in ALARM while a dead letter is not purged"
    for alarm in alarms:
        (returned,) = [m for m in alarm.props["Metrics"] if m.get("ReturnData", True)]
        assert returned["Expression"].startswith(("DIFF(", "RATE("))
        assert alarm.props["Threshold"] == 0 and alarm.props["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm.props["EvaluationPeriods"] == 1 and alarm.props["TreatMissingData"] == "notBreaching"
        assert _topic(template) in {referenced_id(action) for action in alarm.props.get("AlarmActions", [])}, f"{alarm.logical_id} notifies nobody"


def _dead_letters_an_hour_apart(minutes: int = 150) -> list[float | None]:
    """The dead-letter queue's depth each minute: one dead letter at minute 10, another at 70, none purged."""
    return [0.0 if minute < 10 else 1.0 if minute < 70 else 2.0 for minute in range(minutes)]


def _notified_minutes(alarms: list[Resource]) -> list[int]:
    series = {"ApproximateNumberOfMessagesVisible": _dead_letters_an_hour_apart()}
    return sorted(n.period for alarm in alarms for n in notifications(alarm.logical_id, alarm.props, series))


@pytest.mark.parametrize("queue_id", sorted(dead_letter_queue_ids(TEMPLATE)))
def test_two_dead_letters_an_hour_apart_give_two_notifications(template: Template, queue_id: str) -> None:
    """In the emulator's alarm model (riskbatch_platform/local/emulator/alarm_model.py): each dead letter notifies within a minute."""
    notified = _notified_minutes(_queue_alarms(template, queue_id) + _arrival_alarms(template, queue_id))
    for arrival in (10, 70):
        assert any(arrival <= minute <= arrival + 1 for minute in notified), f"the dead letter of minute {arrival} notified nobody: {notified}"


@pytest.mark.parametrize("queue_id", sorted(dead_letter_queue_ids(TEMPLATE)))
def test_the_depth_alarm_alone_notifies_once_for_two_dead_letters(template: Template, queue_id: str) -> None:
    """The model can fail: the depth > 0 alarm, alone, stays in ALARM and says nothing about the second."""
    assert _notified_minutes(_queue_alarms(template, queue_id)) == [10]


_DELIVERING_RULES = [r for r in TEMPLATE.of_type("AWS::Events::Rule") if any("DeadLetterConfig" in t for t in r.props["Targets"])]
_RULE_METRICS = [("FailedInvocations", rule) for rule in TEMPLATE.of_type("AWS::Events::Rule")] + [
    ("InvocationsFailedToBeSentToDlq", rule) for rule in _DELIVERING_RULES
]


# FailedInvocations: a target that failed for good (with a DLQ, the event went there), on every rule, the
# task-stopped rule's log-group target included. InvocationsFailedToBeSentToDlq: the DLQ could not take it
# either, so the event is lost (rules with a DLQ). Both per rule; metrics of rules on a custom bus carry
# EventBusName and RuleName (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html).
@pytest.mark.parametrize(("metric", "rule"), _RULE_METRICS, ids=[f"{metric}-{rule.logical_id}" for metric, rule in _RULE_METRICS])
def test_rule_delivery_failures_alarm_to_the_topic(template: Template, rule: Resource, metric: str) -> None:
    rule_name = substitute(rule.props["Name"], VALUES)
    alarms = []
    for alarm in template.of_type("AWS::CloudWatch::Alarm"):
        if alarm.props.get("MetricName") != metric:
            continue
        dimensions = {d["Name"]: d["Value"] for d in alarm.props["Dimensions"]}
        value = dimensions["RuleName"]
        if referenced_id(value) == rule.logical_id or substitute(value, VALUES) == rule_name:
            if "EventBusName" in rule.props:
                assert referenced_id(dimensions["EventBusName"]) == referenced_id(rule.props["EventBusName"])
            alarms.append(alarm)
    assert alarms
    for alarm in alarms:
        assert alarm.props["Namespace"] == "AWS/Events"
        assert alarm.props["Threshold"] == 0 and alarm.props["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm.props["TreatMissingData"] == "notBreaching"  # EventBridge sends these metrics only when non-zero
        assert _topic(template) in {referenced_id(action) for action in alarm.props["AlarmActions"]}


def test_alarms_that_are_not_scaling_triggers_notify_the_topic(template: Template) -> None:
    topic = _topic(template)
    for alarm in template.of_type("AWS::CloudWatch::Alarm"):
        assert alarm.props.get("AlarmActions"), f"{alarm.logical_id} has no action: it notifies nobody"
        targets = {template.get(referenced_id(action)).type for action in alarm.props["AlarmActions"]}
        if targets != {"AWS::ApplicationAutoScaling::ScalingPolicy"}:
            assert topic in {referenced_id(action) for action in alarm.props["AlarmActions"]}, alarm


def test_failure_rate_alarm_notifies_the_topic(template: Template) -> None:
    assert _topic(template) in {referenced_id(action) for action in _failure_rate_alarm(template).props["AlarmActions"]}


def test_alarms_may_publish_to_the_topic(template: Template) -> None:
    topic = _topic(template)
    policies = [p for p in template.of_type("AWS::SNS::TopicPolicy") if topic in {referenced_id(t) for t in p.props["Topics"]}]
    principals = [s["Principal"] for p in policies for s in p.props["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert {"Service": "cloudwatch.amazonaws.com"} in principals

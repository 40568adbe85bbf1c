"""Every alarm that notifies the topic, simulated over a night: what it must say, it says in time, twice in a
row included, and a quiet night notifies nobody.

The emulator's alarm model (riskbatch_platform/local/emulator/alarm_model.py) evaluates each alarm as the
template declares it: minute samples aggregated over its Period with its Statistic, EvaluationPeriods,
DatapointsToAlarm, TreatMissingData, ActionsEnabled, metric math, and actions on transitions only
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-actions.html). The documented
time to notify is the alarm's own: the end of the period that holds the event, Period x EvaluationPeriods
at the most. The metrics each scenario sends are the services' own (SQS: ApproximateNumberOfMessagesVisible
every minute, https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html;
EventBridge: FailedInvocations only when non-zero, https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html)
or the stack's metric filters' (a count of 1 a matching event).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from riskbatch_platform.local.emulator.alarm_model import SAMPLE_SECONDS, Notification, datapoints, notifications
from test.conftest import the_template
from test.template_model import Resource, referenced_id

TEMPLATE = the_template()
MINUTES = 6 * 60  # a night: 00:00 to 06:00
FIRST, SECOND = 30, 200  # minutes of the two events; the second long after the first has cleared


def _topic() -> str:
    (topic,) = TEMPLATE.of_type("AWS::SNS::Topic")
    return topic.logical_id


NOTIFYING = [
    alarm for alarm in TEMPLATE.of_type("AWS::CloudWatch::Alarm") if _topic() in {referenced_id(action) for action in alarm.props.get("AlarmActions", [])}
]


def _metric_names(alarm: Resource) -> set[str]:
    if "MetricName" in alarm.props:
        return {alarm.props["MetricName"]}
    return {m["MetricStat"]["Metric"]["MetricName"] for m in alarm.props["Metrics"] if "MetricStat" in m}


def _counts(at: tuple[int, ...]) -> list[float | None]:
    """A metric sent only when something happened: 1 at each of these minutes, nothing otherwise."""
    return [1.0 if minute in at else None for minute in range(MINUTES)]


def _depth(arrivals: tuple[int, ...]) -> list[float | None]:
    """A dead-letter queue's depth each minute, nothing purged: it rises at each arrival and stays."""
    return [float(sum(minute >= arrival for arrival in arrivals)) for minute in range(MINUTES)]


def _task_stops(failures: tuple[int, ...]) -> dict[str, list[float | None]]:
    """The night's task events: a task stops every 5 minutes (a batch completes, exit 0); the failures among them."""
    stopped = [1.0 if minute % 5 == 0 or minute in failures else None for minute in range(MINUTES)]
    failed = [1.0 if minute in failures else (0.0 if stopped[minute] else None) for minute in range(MINUTES)]
    return {"TasksStopped": stopped, "TasksFailed": failed}


# What each metric looks like on a night with events at these minutes (an empty tuple: a quiet night).
SCENARIOS: dict[str, Callable[[tuple[int, ...]], dict[str, list[float | None]]]] = {
    "ApproximateNumberOfMessagesVisible": lambda events: {"ApproximateNumberOfMessagesVisible": _depth(events)},
    "TasksStopped": _task_stops,
    "TasksFailed": _task_stops,
    "LimitBreaches": lambda events: {"LimitBreaches": _counts(events)},
    "FailedInvocations": lambda events: {"FailedInvocations": _counts(events)},
    "InvocationsFailedToBeSentToDlq": lambda events: {"InvocationsFailedToBeSentToDlq": _counts(events)},
}


def _night(alarm: Resource, events: tuple[int, ...]) -> dict[str, list[float | None]]:
    samples: dict[str, list[float | None]] = {}
    for metric in _metric_names(alarm):
        assert metric in SCENARIOS, f"{alarm.logical_id} watches {metric}: say what a night of it looks like"
        samples.update(SCENARIOS[metric](events))
    return samples


def _queue_of(alarm: Resource) -> str | None:
    stats = [m["MetricStat"]["Metric"] for m in alarm.props.get("Metrics", []) if "MetricStat" in m]
    dimensions = alarm.props.get("Dimensions") or [d for metric in stats for d in metric.get("Dimensions", [])]
    queues = {referenced_id(d["Value"]) for d in dimensions if d["Name"] == "QueueName"}
    return queues.pop() if queues else None


def _bound_seconds(alarm: Resource) -> int:
    _, period = datapoints(alarm.props, _night(alarm, ()))
    return period * int(alarm.props["EvaluationPeriods"])


def _notified_within(sent: list[Notification], minute: int, bound: int) -> bool:
    event = minute * SAMPLE_SECONDS
    return any(event < n.at_seconds <= event + bound for n in sent)


def test_every_notifying_alarm_is_simulated() -> None:
    assert NOTIFYING and all(_metric_names(alarm) <= SCENARIOS.keys() for alarm in NOTIFYING)


@pytest.mark.parametrize("alarm", NOTIFYING, ids=lambda alarm: alarm.logical_id)
def test_a_quiet_night_notifies_nobody(alarm: Resource) -> None:
    assert notifications(alarm.logical_id, alarm.props, _night(alarm, ())) == []


QUEUE_ALARMS: dict[str, list[Resource]] = {}
for _alarm in NOTIFYING:
    if "ApproximateNumberOfMessagesVisible" in _metric_names(_alarm):
        QUEUE_ALARMS.setdefault(_queue_of(_alarm) or "?", []).append(_alarm)
EVENT_ALARMS = [alarm for alarm in NOTIFYING if "ApproximateNumberOfMessagesVisible" not in _metric_names(alarm)]


@pytest.mark.parametrize("queue", sorted(QUEUE_ALARMS))
def test_each_of_two_dead_letters_notifies_within_its_alarms_time(queue: str) -> None:
    """A dead letter nobody purged keeps the depth alarm in ALARM: the arrival alarm must say the second."""
    alarms = QUEUE_ALARMS[queue]
    sent = [(alarm, n) for alarm in alarms for n in notifications(alarm.logical_id, alarm.props, _night(alarm, (FIRST, SECOND)))]
    for minute in (FIRST, SECOND):
        assert any(_notified_within([n], minute, _bound_seconds(alarm)) for alarm, n in sent), f"the dead letter of minute {minute} on {queue} notified nobody"


@pytest.mark.parametrize("alarm", EVENT_ALARMS, ids=lambda alarm: alarm.logical_id)
def test_each_of_two_events_notifies_within_the_alarms_time(alarm: Resource) -> None:
    """A failed task, a limit breach, a failed delivery: each of two, hours apart, notifies within the alarm's period."""
    sent = notifications(alarm.logical_id, alarm.props, _night(alarm, (FIRST, SECOND)))
    bound = _bound_seconds(alarm)
    for minute in (FIRST, SECOND):
        assert _notified_within(sent, minute, bound), f"{alarm.logical_id}: the event of minute {minute} did not notify within {bound} s: {sent}"
    assert bound <= 15 * 60  # nobody waits longer than a quarter of an hour to hear of it


@pytest.mark.parametrize("alarm", NOTIFYING, ids=lambda alarm: alarm.logical_id)
def test_an_alarm_with_its_actions_off_says_nothing(alarm: Resource) -> None:
    """The model honours ActionsEnabled: the same night through the same alarm, its actions switched off."""
    switched_off: dict[str, Any] = {**copy.deepcopy(alarm.props), "ActionsEnabled": "false"}
    assert notifications(alarm.logical_id, alarm.props, _night(alarm, (FIRST,)))
    assert notifications(alarm.logical_id, switched_off, _night(alarm, (FIRST,))) == []


@pytest.mark.parametrize("alarm", NOTIFYING, ids=lambda alarm: alarm.logical_id)
def test_every_notifying_alarm_has_its_actions_on(alarm: Resource) -> None:
    assert str(alarm.props.get("ActionsEnabled", True)).lower() != "false"

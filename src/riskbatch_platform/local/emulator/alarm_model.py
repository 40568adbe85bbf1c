"""The emulator's model of CloudWatch alarm evaluation: states from metric data, actions on transitions.

moto stores alarm definitions and computes no state. This model evaluates a deployed alarm's
definition (as CloudFormation or DescribeAlarms gives it) over per-period metric values and
returns the notifications its actions send. What it follows from the CloudWatch user guide:
- "the actions happen only on state transitions, and are not performed again if the condition
  persists for hours or days" (Alarm actions,
  https://docs.amazonaws.cn/en_us/AmazonCloudWatch/latest/monitoring/alarm-actions.html);
- an alarm goes to ALARM when DatapointsToAlarm (default EvaluationPeriods) of the last
  EvaluationPeriods periods breach; TreatMissingData decides a period without data;
- metric math: DIFF(m) is each value minus the preceding value of the series, RATE(m) that
  difference per second (Using metric math,
  https://docs.aws.amazon.com/ja_jp/AmazonCloudWatch/latest/monitoring/using-metric-math.html).
Only what the templates use is modelled: single-metric alarms and DIFF/RATE of one metric.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Series = Mapping[str, Sequence[float | None]]  # metric name -> its value in each period (None: no data)

_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": operator.gt,
    "GreaterThanOrEqualToThreshold": operator.ge,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}


class UnsupportedAlarm(ValueError):
    """An alarm form this model does not evaluate: refuse rather than guess."""


@dataclass(frozen=True)
class Notification:
    alarm: str
    period: int  # index of the period whose evaluation made the transition
    actions: tuple[Any, ...]


def _metric_name(properties: Mapping[str, Any]) -> str:
    return str(properties["MetricName"])


def _evaluated_values(properties: Mapping[str, Any], series: Series) -> list[float | None]:
    """The alarm's value in each period: the metric itself, or the metric-math expression returned."""
    if "MetricName" in properties:
        return list(series.get(_metric_name(properties), []))
    metrics = {m["Id"]: m for m in properties.get("Metrics", [])}
    (returned,) = [m for m in metrics.values() if m.get("ReturnData", True)]
    match = re.fullmatch(r"(DIFF|RATE)\((\w+)\)", returned.get("Expression", ""))
    if not match:
        raise UnsupportedAlarm(f"expression {returned.get('Expression')!r} is not modelled")
    function, metric_id = match.groups()
    stat = metrics[metric_id]["MetricStat"]
    values = list(series.get(stat["Metric"]["MetricName"], []))
    result: list[float | None] = []
    previous: float | None = None
    for value in values:
        if value is None:
            result.append(None)
            continue
        difference = None if previous is None else value - previous
        if difference is not None and function == "RATE":
            difference /= float(stat["Period"])
        result.append(difference)
        previous = value
    return result


def _breaching(properties: Mapping[str, Any], value: float | None) -> bool | None:
    """Whether one period breaches; None for a period that does not count (missing data, 'ignore')."""
    if value is None:
        treat = properties.get("TreatMissingData", "missing")
        return {"breaching": True, "notBreaching": False}.get(treat)
    compare = _COMPARISONS.get(properties["ComparisonOperator"])
    if compare is None:
        raise UnsupportedAlarm(f"comparison {properties['ComparisonOperator']} is not modelled")
    return compare(value, float(properties["Threshold"]))


def notifications(name: str, properties: Mapping[str, Any], series: Series) -> list[Notification]:
    """The alarm's ALARM notifications over the series: one per transition into ALARM, never per period."""
    periods = int(properties["EvaluationPeriods"])
    needed = int(properties.get("DatapointsToAlarm", periods))
    actions = tuple(properties.get("AlarmActions", []))
    state = "INSUFFICIENT_DATA"
    window: list[bool | None] = []
    sent = []
    for index, value in enumerate(_evaluated_values(properties, series)):
        window = [*window, _breaching(properties, value)][-periods:]
        counted = [b for b in window if b is not None]
        if not counted:
            continue  # state unchanged
        new_state = "ALARM" if sum(counted) >= needed else "OK"
        if new_state == "ALARM" and state != "ALARM" and properties.get("ActionsEnabled", True):
            sent.append(Notification(name, index, actions))
        state = new_state
    return sent

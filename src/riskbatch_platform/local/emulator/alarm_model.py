"""The emulator's model of CloudWatch alarm evaluation: states from metric data, actions on transitions.

moto stores alarm definitions and computes no state. This model evaluates a deployed alarm's
definition (as CloudFormation or DescribeAlarms gives it) over a metric's minute-by-minute samples
and returns the notifications its actions send, and when. What it follows from the CloudWatch user guide:
- the samples are aggregated over the alarm's Period with its Statistic (Sum, Maximum, Minimum,
  Average, SampleCount), and the alarm is evaluated at the end of each period (Alarm evaluation,
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html);
- it goes to ALARM when DatapointsToAlarm (default EvaluationPeriods) of the last EvaluationPeriods
  periods breach; TreatMissingData decides a period without data (missing, notBreaching, breaching,
  ignore: "Configuring how CloudWatch alarms treat missing data", same page);
- "the actions happen only on state transitions, and are not performed again if the condition
  persists for hours or days", and only while ActionsEnabled (Alarm actions,
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-actions.html);
- metric math: DIFF(m) is each value minus the preceding value of the series, RATE(m) that difference
  per second, IF(condition, a, b) chooses per datapoint, with + - * / and comparisons; a datapoint
  missing from an input is missing from the result (Using metric math,
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html).
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Samples = Mapping[str, Sequence[float | None]]  # metric name -> its value each minute (None: nothing sent that minute)
SAMPLE_SECONDS = 60

_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": operator.gt,
    "GreaterThanOrEqualToThreshold": operator.ge,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}
_STATISTICS: dict[str, Callable[[list[float]], float]] = {
    "Sum": sum,
    "Maximum": max,
    "Minimum": min,
    "Average": lambda values: sum(values) / len(values),
    "SampleCount": lambda values: float(len(values)),
}
_OPERATORS: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_COMPARE: dict[type, Callable[[float, float], bool]] = {
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Eq: operator.eq,
}


class UnsupportedAlarm(ValueError):
    """An alarm form this model does not evaluate: refuse rather than guess."""


@dataclass(frozen=True)
class Notification:
    alarm: str
    period: int  # index of the period whose evaluation made the transition
    at_seconds: int  # when: the end of that period, from the start of the samples
    actions: tuple[Any, ...]


def aggregate(samples: Sequence[float | None], statistic: str, period_seconds: int) -> list[float | None]:
    """The samples as the alarm's datapoints: one per period, None for a period without a sample."""
    if statistic not in _STATISTICS:
        raise UnsupportedAlarm(f"statistic {statistic} is not modelled")
    if period_seconds % SAMPLE_SECONDS:
        raise UnsupportedAlarm(f"a period of {period_seconds} s is not a whole number of minutes")
    width = period_seconds // SAMPLE_SECONDS
    datapoints: list[float | None] = []
    for start in range(0, len(samples), width):
        present = [value for value in samples[start : start + width] if value is not None]
        datapoints.append(_STATISTICS[statistic](present) if present else None)
    return datapoints


def _difference(values: list[float | None], per_seconds: float | None) -> list[float | None]:
    result: list[float | None] = []
    previous: float | None = None
    for value in values:
        if value is None:
            result.append(None)
            continue
        difference = None if previous is None else value - previous
        result.append(difference / per_seconds if difference is not None and per_seconds else difference)
        previous = value
    return result


def _evaluate(node: ast.AST, series: dict[str, list[float | None]], period: int) -> list[float | None]:
    length = len(next(iter(series.values())))
    if isinstance(node, ast.Name):
        return series[node.id]
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return [float(node.value)] * length
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _evaluate(node.left, series, period), _evaluate(node.right, series, period)
        apply = _OPERATORS[type(node.op)]
        return [None if a is None or b is None or (isinstance(node.op, ast.Div) and b == 0) else apply(a, b) for a, b in zip(left, right, strict=True)]
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
        left, right = _evaluate(node.left, series, period), _evaluate(node.comparators[0], series, period)
        compare = _COMPARE[type(node.ops[0])]
        return [None if a is None or b is None else float(compare(a, b)) for a, b in zip(left, right, strict=True)]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        arguments = [_evaluate(argument, series, period) for argument in node.args]
        if node.func.id == "IF" and len(arguments) == 3:
            return [None if c is None else (a if c else b) for c, a, b in zip(*arguments, strict=True)]
        if node.func.id in ("DIFF", "RATE") and len(arguments) == 1:
            return _difference(arguments[0], float(period) if node.func.id == "RATE" else None)
    raise UnsupportedAlarm(f"metric math {ast.unparse(node)!r} is not modelled")


def datapoints(properties: Mapping[str, Any], samples: Samples) -> tuple[list[float | None], int]:
    """The alarm's value in each of its periods, and the period in seconds."""
    if "MetricName" in properties:
        period = int(properties["Period"])
        return aggregate(samples.get(str(properties["MetricName"]), []), str(properties["Statistic"]), period), period
    metrics = {m["Id"]: m for m in properties.get("Metrics", [])}
    stats = {identifier: m["MetricStat"] for identifier, m in metrics.items() if "MetricStat" in m}
    periods = {int(stat["Period"]) for stat in stats.values()}
    if len(periods) != 1:
        raise UnsupportedAlarm(f"metrics of several periods ({sorted(periods)}) are not modelled")
    (period,) = periods
    series = {identifier: aggregate(samples.get(stat["Metric"]["MetricName"], []), stat["Stat"], period) for identifier, stat in stats.items()}
    (returned,) = [m for m in metrics.values() if m.get("ReturnData", True)]
    if "Expression" not in returned:
        return series[returned["Id"]], period
    return _evaluate(ast.parse(returned["Expression"], mode="eval").body, series, period), period


def _breaching(properties: Mapping[str, Any], value: float | None) -> bool | None:
    """Whether one period breaches; None for a period that does not count (missing data, 'ignore')."""
    if value is None:
        treat = properties.get("TreatMissingData", "missing")
        return {"breaching": True, "notBreaching": False}.get(treat)
    compare = _COMPARISONS.get(properties["ComparisonOperator"])
    if compare is None:
        raise UnsupportedAlarm(f"comparison {properties['ComparisonOperator']} is not modelled")
    return compare(value, float(properties["Threshold"]))


def actions_enabled(properties: Mapping[str, Any]) -> bool:
    """ActionsEnabled as CloudFormation takes it: a boolean or its string, true when absent."""
    return str(properties.get("ActionsEnabled", True)).lower() != "false"


def notifications(name: str, properties: Mapping[str, Any], samples: Samples) -> list[Notification]:
    """The alarm's ALARM notifications over the samples: one per transition into ALARM, never per period."""
    periods = int(properties["EvaluationPeriods"])
    needed = int(properties.get("DatapointsToAlarm", periods))
    actions = tuple(properties.get("AlarmActions", []))
    values, period = datapoints(properties, samples)
    state = "INSUFFICIENT_DATA"
    window: list[bool | None] = []
    sent = []
    for index, value in enumerate(values):
        window = [*window, _breaching(properties, value)][-periods:]
        counted = [b for b in window if b is not None]
        if not counted:
            continue  # state unchanged
        new_state = "ALARM" if sum(counted) >= needed else "OK"
        if new_state == "ALARM" and state != "ALARM" and actions_enabled(properties):
            sent.append(Notification(name, index, (index + 1) * period, actions))
        state = new_state
    return sent

"""After a stack update: put back the minimum capacity of the scheduled action in force.

A stack update re-applies a scalable target's MinCapacity as the template gives it (the
parameter for outside the overnight window), whatever the window's scheduled action set at
00:00 New York time; until the next scheduled action fires, the warm workers of the night may be
scaled in. The scheduled actions of the template say which minimum is in force now.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from riskbatch.operations.cron import Cron, parse
from riskbatch_platform.analysis.resolve import resolve
from riskbatch_platform.aws import Target


@dataclass(frozen=True)
class ScheduledMinimum:
    name: str
    cron: Cron
    timezone: str
    min_capacity: int
    max_capacity: int


def in_force(actions: list[ScheduledMinimum], now: dt.datetime) -> ScheduledMinimum:
    """The action that fired last before `now` (on the days of the week its schedule names)."""
    return max(actions, key=lambda action: action.cron.last_firing(now, action.timezone).astimezone(dt.UTC))


def scheduled_minimums(template: dict[str, Any], parameters: dict[str, str], region: str) -> dict[str, tuple[dict[str, Any], list[ScheduledMinimum]]]:
    """resource id -> (the resolved scalable target, its scheduled actions), as this deployment would have them."""
    resolved = resolve(template, {key: value for key, value in parameters.items() if key in template.get("Parameters", {})}, region=region)
    found = {}
    for resource in resolved["Resources"].values():
        if resource["Type"] != "AWS::ApplicationAutoScaling::ScalableTarget":
            continue
        properties = resource["Properties"]
        actions = [
            ScheduledMinimum(
                action["ScheduledActionName"],
                parse(action["Schedule"]),
                action.get("Timezone", "UTC"),
                int(action["ScalableTargetAction"]["MinCapacity"]),
                int(action["ScalableTargetAction"]["MaxCapacity"]),
            )
            for action in properties.get("ScheduledActions", [])
        ]
        if actions:
            found[properties["ResourceId"]] = (properties, actions)
    return found


def restore_scheduled_minimums(target: Target, template: dict[str, Any], parameters: dict[str, str], now: dt.datetime | None = None) -> list[str]:
    """Re-apply, on every scalable target of the stack, the minimum of its scheduled action in force; one line per target.

    The template names every resource, so the scalable targets' resource ids follow from the parameters.
    """
    now = now or dt.datetime.now(dt.UTC)
    scaling = target.client("application-autoscaling")
    lines = []
    for resource_id, (properties, actions) in scheduled_minimums(template, parameters, target.region).items():
        action = in_force(actions, now)
        registered = scaling.describe_scalable_targets(ServiceNamespace=properties["ServiceNamespace"], ResourceIds=[resource_id])["ScalableTargets"]
        if not registered:
            lines.append(f"{resource_id}: no scalable target registered; nothing to restore")
            continue
        current = registered[0]
        if current["MinCapacity"] == action.min_capacity:
            lines.append(f"{resource_id}: minimum {current['MinCapacity']} already as {action.name} set it")
            continue
        scaling.register_scalable_target(
            ServiceNamespace=properties["ServiceNamespace"],
            ResourceId=resource_id,
            ScalableDimension=properties["ScalableDimension"],
            MinCapacity=action.min_capacity,
            MaxCapacity=action.max_capacity,
        )
        lines.append(f"{resource_id}: minimum {current['MinCapacity']} -> {action.min_capacity} ({action.name} is in force)")
    return lines

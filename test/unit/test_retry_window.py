"""Every target that starts or carries the night's work keeps retrying until the report deadline.

EventBridge retries a target it could not deliver to "for 24 hours and up to 185 times with an exponential
back off and jitter" by default, and a RetryPolicy shortens both: once the event is older than
MaximumEventAgeInSeconds or has used MaximumRetryAttempts, it goes to the dead-letter queue
("How EventBridge retries delivering events":
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html; RetryPolicy: 0 to 185
attempts, 60 to 86,400 seconds: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_RetryPolicy.html).
EventBridge Scheduler's target RetryPolicy has the same limits and defaults
(https://docs.aws.amazon.com/scheduler/latest/APIReference/API_RetryPolicy.html).

The overnight window runs from the scalable target's window-open action (the earliest the files are
expected, when the warm workers start) to the report deadline of the code (REPORT_DEADLINE, 09:30 New
York). A rule target's event can come at the window's start, so its retries must last the whole window; a
schedule's from its own firing time. The attempts must last as long as the age: the documents give no
back-off formula, only the default's pace (185 attempts in 86,400 s), so a policy keeps at least that pace.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest

from riskbatch.inputs.business_days import REPORT_DEADLINE
from riskbatch.operations.cron import parse
from riskbatch_platform.analysis.resolve import resolve
from test.conftest import the_template
from test.template_model import REQUIRED_VALUES, referenced_id

TEMPLATE = the_template()
RESOLVED = resolve(TEMPLATE.doc, REQUIRED_VALUES)["Resources"]
MAXIMUM_AGE, MAXIMUM_ATTEMPTS = 86_400, 185  # the documented limits, and the defaults of a target without a RetryPolicy


def _seconds_to_deadline(start: dt.time) -> int:
    hour, minute = (int(part) for part in REPORT_DEADLINE.split(":"))
    return (hour * 60 + minute) * 60 - (start.hour * 60 + start.minute) * 60


def window_start() -> dt.time:
    """When the window opens: the risk scalable target's action that raises its minimum to the window's."""
    actions = TEMPLATE.get("RiskCalculationScalableTarget").props["ScheduledActions"]
    (opening,) = [a for a in actions if referenced_id(a["ScalableTargetAction"]["MinCapacity"]) == "RiskCalculationWindowMinTasks"]
    assert opening["Timezone"] == "America/New_York"
    return parse(opening["Schedule"]).time


def _targets() -> list[tuple[str, dict, int]]:
    """(where, the target, the seconds from its earliest event to the deadline), for every rule and schedule target."""
    found = []
    for rule in TEMPLATE.of_type("AWS::Events::Rule"):
        for target in RESOLVED[rule.logical_id]["Properties"]["Targets"]:
            found.append((f"{rule.logical_id}/{target['Id']}", target, _seconds_to_deadline(window_start())))
    for schedule in TEMPLATE.of_type("AWS::Scheduler::Schedule"):
        properties = RESOLVED[schedule.logical_id]["Properties"]
        assert properties["ScheduleExpressionTimezone"] == "America/New_York"
        fires = parse(properties["ScheduleExpression"]).time
        found.append((schedule.logical_id, properties["Target"], max(_seconds_to_deadline(fires), 0)))
    return found


TARGETS = _targets()


def test_the_window_is_read_from_the_template_and_the_code() -> None:
    assert 0 < _seconds_to_deadline(window_start()) <= MAXIMUM_AGE and len(TARGETS) >= 5


@pytest.mark.parametrize(("where", "target", "needed"), TARGETS, ids=[where for where, _, _ in TARGETS])
def test_every_target_retries_until_the_deadline(where: str, target: dict, needed: int) -> None:
    policy = target.get("RetryPolicy", {})
    age = int(policy.get("MaximumEventAgeInSeconds", MAXIMUM_AGE))
    attempts = int(policy.get("MaximumRetryAttempts", MAXIMUM_ATTEMPTS))
    assert 60 <= age <= MAXIMUM_AGE and 0 <= attempts <= MAXIMUM_ATTEMPTS, f"{where}: outside the documented limits"
    assert age >= needed, f"{where}: retries stop after {age} s, {needed} s are left to the deadline"
    assert attempts >= math.ceil(MAXIMUM_ATTEMPTS * needed / MAXIMUM_AGE), f"{where}: {attempts} attempts for {needed} s"

"""When a report was published against its deadline: 09:30 New York on the business day after its date.

The report of business date D is due at the deadline on the exchange calendar's next business day
(the deadline check asks for the previous business day's report the same morning:
riskbatch.operations.watch.business_date_due). A report published after it is late by whole minutes, rounded
up: 09:30:20 is one minute late, never "late by 0 minutes".
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from riskbatch.inputs.business_days import NEW_YORK, REPORT_DEADLINE, report_due_at

# The deadline check's default, so that the report and the check never disagree on when a report is due.
DEADLINE = REPORT_DEADLINE


def publication(business_date: str, published: dt.datetime, deadline: str = DEADLINE) -> dict[str, Any]:
    """The publication against the deadline: when (UTC and New York), when due, on time or late by how many minutes."""
    due = report_due_at(dt.date.fromisoformat(business_date), deadline)
    late = max(0, math.ceil((published - due).total_seconds() / 60))
    local = published.astimezone(NEW_YORK)
    return {
        "published_at": published.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "published_new_york": local.strftime("%Y-%m-%d %H:%M %Z"),
        "due_new_york": due.strftime("%Y-%m-%d %H:%M %Z"),
        "on_time": late == 0,
        "minutes_late": late,
        "minutes_early": 0 if late else int((due - published).total_seconds() // 60),
    }


def _duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"{minutes:,} minute{'' if minutes == 1 else 's'}" + (f" ({hours:,} h {rest:02d} min)" if hours else "")


def verdict(status: dict[str, Any]) -> str:
    """The words page one and the notification use: on time, or LATE by N minutes."""
    return "on time" if status["on_time"] else f"LATE by {_duration(status['minutes_late'])}"


def publication_line(status: dict[str, Any]) -> str:
    """One sentence: published when, due when, on time (with the margin) or late."""
    margin = f", {_duration(status['minutes_early'])} before the deadline" if status["on_time"] else ""
    line = f"Published {status['published_new_york']} New York time, due {status['due_new_york']}: {verdict(status)}{margin}."
    return line + (f" {replay_note(status)}" if status.get("replayed") else "")


def replay_note(status: dict[str, Any]) -> str:
    """What a replayed night's publication time is: the night window's time, not when the report was made."""
    made = dt.datetime.strptime(status["replayed"]["made_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC).astimezone(NEW_YORK)
    return f"A replayed night: the report was made {made:%Y-%m-%d %H:%M %Z} New York time and stamped as if in its night window (see the audit trail)."

"""The cron expressions of the template's schedules: when they fire, in their time zone.

Application Auto Scaling's scheduled actions and EventBridge Scheduler share EventBridge's six
fields, [Minutes] [Hours] [Day_of_Month] [Month] [Day_of_Week] [Year], with "?" in one of the two
day fields ("cron(0 18 ? * MON-FRI *)": every weekday at 18:00):
https://docs.aws.amazon.com/autoscaling/application/userguide/scheduled-scaling-using-cron-expressions.html
Only what the template writes is understood: one minute and one hour, every day of the month and
every month, and the days of the week as "*", "?", a name, a range or a list; anything else is
refused rather than misread.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")  # in Python's weekday() order
_EXPRESSION = re.compile(r"cron\((\d{1,2}) (\d{1,2}) ([*?]) \* ([*?]|[A-Z,-]+) \*\)")


@dataclass(frozen=True)
class Cron:
    minute: int
    hour: int
    weekdays: frozenset[int]  # 0 = Monday

    @property
    def time(self) -> dt.time:
        return dt.time(self.hour, self.minute)

    @property
    def days_a_week(self) -> int:
        return len(self.weekdays)

    def last_firing(self, now: dt.datetime, timezone: str) -> dt.datetime:
        """When the expression last fired at or before `now`, in its time zone."""
        local = now.astimezone(ZoneInfo(timezone))
        for back in range(8):
            day = local.date() - dt.timedelta(days=back)
            firing = dt.datetime.combine(day, self.time, tzinfo=local.tzinfo)
            if day.weekday() in self.weekdays and firing <= local:
                return firing
        raise ValueError("a cron expression with no day of the week never fires")  # unreachable: parse refuses it


def _weekdays(field: str) -> frozenset[int]:
    if field in ("*", "?"):
        return frozenset(range(7))
    found: set[int] = set()
    for part in field.split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"unknown day of the week in {field!r}")
        start, end = DAYS.index(first), DAYS.index(last or first)
        found |= set(range(start, end + 1)) if start <= end else set(range(start, 7)) | set(range(end + 1))
    return frozenset(found)


def parse(expression: str) -> Cron:
    """The schedule of "cron(M H * * ? *)" or "cron(M H ? * MON-FRI *)"; other forms are refused."""
    match = _EXPRESSION.fullmatch(expression)
    if not match or "?" not in (match.group(3), match.group(4)):
        raise ValueError(f"only a time of day on some days of the week is understood here, not {expression}")
    minute, hour = int(match.group(1)), int(match.group(2))
    if minute > 59 or hour > 23:
        raise ValueError(f"no such time of day in {expression}")
    return Cron(minute, hour, _weekdays(match.group(4)))

"""Business days: the one calendar of the batch, the New York Stock Exchange's.

A business day is a weekday on which the NYSE trades: its full-day closures (New Year's Day,
Martin Luther King Jr. Day, Washington's Birthday, Good Friday, Memorial Day, Juneteenth,
Independence Day, Labor Day, Thanksgiving, Christmas, and the special closures) come from the
`holidays` library's financial calendar (pinned in pyproject.toml), not from a list kept here.
Early closes (half days) are business days. The library's NYSE calendar:
`holidays.financial_holidays("NYSE")` (https://pypi.org/project/holidays/0.19/).

Every part of the batch that counts business days asks this module: the horizon's calendar
days (time decay), the stale-market-data lag, the backtest's pairing of a night with the
previous business day, the sample's dates, the deadline check's business date due, and the
report's deadline itself (report_due_at).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

EXCHANGE = "NYSE"


@lru_cache(maxsize=64)
def _closures(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.financial_holidays(EXCHANGE, years=year))


def is_business_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _closures(day.year)


def next_business_day(day: dt.date) -> dt.date:
    """The first business day after `day`."""
    day += dt.timedelta(days=1)
    while not is_business_day(day):
        day += dt.timedelta(days=1)
    return day


def previous_business_day(day: dt.date) -> dt.date:
    """The last business day before `day`."""
    day -= dt.timedelta(days=1)
    while not is_business_day(day):
        day -= dt.timedelta(days=1)
    return day


def add_business_days(day: dt.date, count: int) -> dt.date:
    """`count` business days after `day` (count >= 0; 0 gives `day` itself)."""
    for _ in range(count):
        day = next_business_day(day)
    return day


def business_days_between(earlier: dt.date, later: dt.date) -> int:
    """Business days after `earlier` up to and including `later` (0 when equal or before)."""
    count, day = 0, earlier
    while day < later:
        day = next_business_day(day)
        if day <= later:
            count += 1
    return count


def horizon_calendar_days(business_date: dt.date, horizon_business_days: int) -> int:
    """Calendar days from the business date to the horizon, `horizon_business_days` business days
    later: a one-day horizon from a Friday ends on Monday (three days of time decay), from the
    Wednesday before Thanksgiving on Friday (two)."""
    return (add_business_days(business_date, horizon_business_days) - business_date).days


def business_days_ending(end: dt.date, count: int) -> list[dt.date]:
    """The `count` business days up to and including `end` (or the business day before it), oldest first."""
    days, day = [], end if is_business_day(end) else previous_business_day(end)
    while len(days) < count:
        days.append(day)
        day = previous_business_day(day)
    return days[::-1]


def business_days_after(first: dt.date, count: int) -> list[dt.date]:
    """The `count` business days after `first`, oldest first."""
    days, day = [], first
    for _ in range(count):
        day = next_business_day(day)
        days.append(day)
    return days


NEW_YORK = ZoneInfo("America/New_York")
REPORT_DEADLINE = "09:30"  # New York: the exchange's open (the task definition's REPORT_DEADLINE)


def report_due_at(business_date: dt.date, deadline: str = REPORT_DEADLINE) -> dt.datetime:
    """When the business date's report is due: the deadline (New York) on the next business day, the next open."""
    hour, minute = (int(part) for part in deadline.split(":"))
    return dt.datetime.combine(next_business_day(business_date), dt.time(hour, minute), NEW_YORK)

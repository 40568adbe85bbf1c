"""make demo's morning: the latest business date before today, its report stamped in its night window,
and the night before it run through the stack, so that its report explains the change since it."""

from __future__ import annotations

import datetime as dt

import pytest

from riskbatch.inputs.business_days import NEW_YORK, is_business_day, previous_business_day
from riskbatch.reporting.deadline import publication
from riskbatch_platform.local.demo import demo_business_date, demo_nights, replay_shift

MONDAY_MORNING = dt.datetime(2026, 12, 7, 6, 25, tzinfo=dt.UTC)  # 01:25 EST
# a Monday afternoon, the Friday after Thanksgiving, a Saturday, Christmas Eve at 23:30 New York (the next day in UTC)
INSTANTS = [
    (dt.datetime(2026, 12, 7, 19, 0, tzinfo=dt.UTC), dt.date(2026, 12, 4)),
    (dt.datetime(2026, 11, 27, 15, 0, tzinfo=dt.UTC), dt.date(2026, 11, 25)),
    (dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC), dt.date(2026, 12, 4)),
    (dt.datetime(2026, 12, 25, 4, 30, tzinfo=dt.UTC), dt.date(2026, 12, 23)),
]


@pytest.mark.clock
@pytest.mark.parametrize(("now", "expected"), INSTANTS, ids=["monday-afternoon", "after-thanksgiving", "saturday", "christmas-eve-late"])
def test_the_demo_runs_the_latest_business_date_before_today_in_new_york(now: dt.datetime, expected: dt.date) -> None:
    assert demo_business_date(now) == expected


@pytest.mark.clock
@pytest.mark.parametrize(("now", "expected"), INSTANTS, ids=["monday-afternoon", "after-thanksgiving", "saturday", "christmas-eve-late"])
def test_the_demos_report_is_on_time_whenever_the_demo_runs(now: dt.datetime, expected: dt.date) -> None:
    # the real time runs on 100 s to publication; the stamp moves with it from the night window's opening
    shift = replay_shift(expected, now)
    status = publication(expected.isoformat(), now + dt.timedelta(seconds=100 + shift))
    assert status["on_time"], status
    assert status["published_new_york"].startswith((expected + dt.timedelta(days=1)).isoformat() + " 01:01")


def test_the_night_before_the_business_date_runs_through_the_stack_and_the_year_before_it_lands() -> None:
    business_date = demo_business_date(MONDAY_MORNING)
    first, landed, run = demo_nights(business_date, nights=1, history=251)
    assert run == [previous_business_day(business_date), business_date]
    assert len(landed) == 250 and landed[0] == first and landed[-1] == previous_business_day(run[0])
    assert all(is_business_day(day) for day in [*landed, *run])


@pytest.mark.parametrize(("nights", "history", "landed_count", "run_count"), [(1, 0, 0, 1), (2, 1, 0, 3), (2, 251, 250, 3)])
def test_the_demos_nights_follow_its_options(nights: int, history: int, landed_count: int, run_count: int) -> None:
    business_date = dt.date(2026, 12, 4)
    first, landed, run = demo_nights(business_date, nights, history)
    assert (len(landed), len(run), run[-1], first) == (landed_count, run_count, business_date, (landed or run)[0])
    assert sorted(set(landed + run)) == landed + run  # consecutive, in order, no date twice


def test_the_replay_stamp_is_the_night_window_in_new_york_across_the_clock_change() -> None:
    # the night of Friday 2026-03-06 opens at 01:00 EST on Saturday the 7th; a demo started exactly then is not shifted
    opens = dt.datetime(2026, 3, 7, 1, 0, tzinfo=NEW_YORK)
    assert replay_shift(dt.date(2026, 3, 6), opens.astimezone(dt.UTC)) == 0
    # after the switch to EDT (8 March), 01:00 New York is 05:00 UTC, not 06:00
    assert replay_shift(dt.date(2026, 3, 9), dt.datetime(2026, 3, 10, 5, 0, tzinfo=dt.UTC)) == 0

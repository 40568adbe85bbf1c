"""A night that published no figure (every position refused) is an incomplete day of the backtest: it stays in the
window as an exception of the hypothetical backtest until someone signs it off, so the Basel traffic light is still
drawn over 250 observations; signed off, it is excluded with the name of who signed it."""

from __future__ import annotations

import datetime as dt

from riskbatch.validation.backtest_summary import as_table, backtest_summary, firm_lines
from riskbatch.validation.exclusions import exclusion_record
from riskbatch.validation.history import no_figure_entry

FIRST = dt.date(2025, 1, 1)


def _records(days: int, exception_every: int) -> list[dict]:
    records = []
    for index in range(days):
        date = (FIRST + dt.timedelta(days=index)).isoformat()
        entry = {
            "var_date": date,
            "complete": True,
            "exceptions": {"firm": index % exception_every == 0, "portfolios": {}},
            "exceptions_975": {"firm": False, "portfolios": {}},
            "hypothetical_pnl": {"firm": 0.0},
            "actual": {"exceptions": {"firm": False, "portfolios": {}}, "exceptions_975": {"firm": False, "portfolios": {}}},
        }
        records.append({"business_date": date, "var": {"firm": {"var_99": 1.0}}, "backtest": entry})
    return records


def _with_one_no_figure_day(records: list[dict], back: int) -> str:
    refused = records[-back]["backtest"]["var_date"]  # the day whose VaR the night backtests
    records[-back]["backtest"] = no_figure_entry({"business_date": refused})
    return refused


def test_a_no_figure_day_stays_in_the_window_as_an_exception_until_signed_off() -> None:
    records = _records(300, 60)
    before = backtest_summary(records)["firm"]
    refused = _with_one_no_figure_day(records, 10)
    summary = backtest_summary(records)
    assert summary["firm"]["observations"] == summary["window"] == 250
    assert summary["firm"]["zone"] is not None  # the traffic light is still drawn
    assert summary["firm"]["exceptions"] == before["exceptions"] + 1 and refused in summary["firm"]["exception_dates"]
    assert summary["incomplete"]["dates"] == [refused] and summary["excluded"] == []
    assert any(refused in line for line in firm_lines(summary) if "counted as exceptions" in line)
    assert any(line.startswith(refused) and "no figure" in line and "YES, until signed off" in line for line in as_table(records).splitlines())


def test_a_signed_off_no_figure_day_is_excluded_with_the_name() -> None:
    records = _records(300, 60)
    refused = _with_one_no_figure_day(records, 10)
    reason = "positions file refused whole by the custodian"
    signed = exclusion_record(dt.date.fromisoformat(refused), "A. Validator", reason, dt.datetime(2025, 11, 1, tzinfo=dt.UTC))
    exclusions = {refused: signed}
    summary = backtest_summary(records, exclusions=exclusions)
    assert summary["firm"]["observations"] == 250 and refused not in summary["firm"]["exception_dates"]
    assert summary["incomplete"]["days"] == 0
    assert [item["signed_off_by"] for item in summary["excluded"]] == ["A. Validator"] and summary["excluded"][0]["var_date"] == refused
    assert any(line.startswith(refused) and "signed off by A. Validator" in line for line in as_table(records, exclusions).splitlines())


def test_the_actual_pnl_backtest_keeps_its_traffic_light_through_a_no_figure_day() -> None:
    """The actual P&L backtest keeps every day; a day without a VaR cannot be tested, so it counts as an exception
    until signed off (as in the hypothetical backtest) and, signed off, leaves the window: the light stays drawn."""
    records = _records(300, 60)
    refused = _with_one_no_figure_day(records, 10)
    actual = backtest_summary(records)["firm_actual"]
    assert actual["observations"] == 250 and actual["zone"] is not None and refused in actual["exception_dates"]
    signed = exclusion_record(dt.date.fromisoformat(refused), "A. Validator", "positions file refused whole", dt.datetime(2025, 11, 1, tzinfo=dt.UTC))
    after = backtest_summary(records, exclusions={refused: signed})["firm_actual"]
    assert after["observations"] == 250 and after["zone"] is not None and refused not in after["exception_dates"]

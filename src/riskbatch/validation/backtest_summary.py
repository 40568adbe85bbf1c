"""The backtest of the stored days, counted as a validator reads it.

The counting rule (every day counts; leaving one out takes a named sign-off):

- the hypothetical window is the last 250 backtest days that are not excluded by a sign-off
  (riskbatch.validation.exclusions): an excluded day is replaced by the one before the window;
- a complete day is an observation: an exception when the loss exceeds the VaR;
- an incomplete day (no move for a factor, a contradicted last price, a night that published no figure
  because every position was refused) without a sign-off stays in
  the window and counts as an exception of the hypothetical backtest, firm-wide and for every
  portfolio: a day that cannot be shown to be within VaR is not assumed to be. It is listed as
  such beside the traffic light until someone signs it off or it leaves the window;
- the actual-P&L backtest never drops a day: every day of the last 250 that brought the actual
  P&L is an observation, complete or not, signed off or not (it needs no market move: a sign-off
  excuses the hypothetical measure only);
- hypothetical and actual P&L are tested apart, at VaR 99 % and VaR 97.5 %, firm-wide and per
  portfolio (desk): Kupiec, Christoffersen's independence and conditional coverage; the Basel
  traffic light for VaR 99 % over 250 observations.
"""

from __future__ import annotations

from typing import Any

from riskbatch.validation.backtest import BASEL_WINDOW, basel_traffic_light, christoffersen_conditional_coverage, christoffersen_independence, kupiec_pof

STATISTICS = ("kupiec", "christoffersen", "conditional_coverage")  # proportion of failures, independence, the two jointly
LEVELS = {"99": 0.99, "97.5": 0.975}
EXCEPTION_KEYS = {"99": "exceptions", "97.5": "exceptions_975"}


def one_day_var(record: dict[str, Any]) -> dict[str, Any] | None:
    """The night's one-day VaR: kept as `var_1d`; a record without it has one only if its horizon was one day."""
    if record.get("var_1d"):
        return record["var_1d"]
    return record["var"] if record.get("horizon_days", 1) == 1 else None


def _statistics(hits: list[bool], dates: list[str], coverage: float = 0.99) -> dict[str, Any]:
    count = sum(hits)
    light = basel_traffic_light(count) if len(hits) == BASEL_WINDOW and coverage == 0.99 else None  # the light is defined for VaR 99 %
    result: dict[str, Any] = {
        "observations": len(hits),
        "exceptions": count,
        "exception_dates": [date for date, hit in zip(dates, hits, strict=True) if hit],
        "zone": light.zone if light else None,
        "plus_factor": light.plus_factor if light else None,
    }
    if hits:
        kupiec = kupiec_pof(count, len(hits), coverage)
        result["kupiec"] = {"statistic": kupiec.statistic, "p_value": kupiec.p_value}
    if len(hits) >= 2:
        independence = christoffersen_independence(hits)
        result["christoffersen"] = {"statistic": independence.statistic, "p_value": independence.p_value}
        joint = christoffersen_conditional_coverage(hits, coverage)
        result["conditional_coverage"] = {"statistic": joint.statistic, "p_value": joint.p_value}
    return result


def _hit(entry: dict[str, Any], measure: str, level: str, portfolio: str | None) -> bool | None:
    """Whether the day is an exception of the measure at the level (None: the day has no figure for it)."""
    if measure == "hypothetical" and not entry.get("complete", True):
        return True  # unresolved (no figure published counts as incomplete): counted as an exception until signed off
    if entry.get("no_figure"):
        return True  # no VaR to test the actual P&L against: an exception of the actual backtest too, until signed off
    part = entry if measure == "hypothetical" else entry.get("actual")
    exceptions = (part or {}).get(EXCEPTION_KEYS[level])
    if not exceptions:
        return None
    value = exceptions.get("firm") if portfolio is None else (exceptions.get("portfolios") or {}).get(portfolio)
    return None if value is None else bool(value)


def _scope(days: list[dict[str, Any]], measure: str, level: str, portfolio: str | None) -> dict[str, Any]:
    pairs = [(entry["var_date"], _hit(entry, measure, level, portfolio)) for entry in days]
    kept = [(date, hit) for date, hit in pairs if hit is not None]
    return _statistics([hit for _, hit in kept], [date for date, _ in kept], LEVELS[level])


def backtest_summary(records: list[dict[str, Any]], window: int = BASEL_WINDOW, exclusions: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The last `window` backtest days not signed off, firm-wide and per portfolio, hypothetical and
    actual, at VaR 99 % and 97.5 %, with the tests; the traffic light once there are 250 days."""
    exclusions = exclusions or {}
    entries = [record["backtest"] for record in records if record.get("backtest")]
    days = [entry for entry in entries if entry["var_date"] not in exclusions][-window:]
    since = days[0]["var_date"] if len(days) == window else ""  # a window not yet full reaches back to the first day
    # a sign-off excuses a day without a market move: the actual P&L needs none, so that backtest keeps every day
    # but for a night of no figure, which has no VaR to test it against: counted until signed off, then left out as well
    actual = [entry for entry in entries if not (entry.get("no_figure") and entry["var_date"] in exclusions)][-window:]
    scoped = {"hypothetical": days, "actual": actual}
    parts = [part for entry in entries[-window:] for part in (entry, entry.get("actual") or {})]
    names = sorted({name for part in parts for name in ((part.get("exceptions") or {}).get("portfolios") or {})})
    measures = {
        measure: {
            level: {"firm": _scope(days_of, measure, level, None), "portfolios": {name: _scope(days_of, measure, level, name) for name in names}}
            for level in LEVELS
        }
        for measure, days_of in scoped.items()
    }
    hypothetical = measures["hypothetical"]["99"]["portfolios"]
    unresolved = [entry["var_date"] for entry in days if not entry.get("complete", True)]
    signed = [entry["var_date"] for entry in entries if entry["var_date"] in exclusions and entry["var_date"] >= since]
    excluded = [{**exclusions[date], "var_date": date} for date in signed]
    return {
        "window": window,
        "policy": "every day counts: an incomplete day without a sign-off is an exception of the hypothetical backtest; an excluded day needs a named sign-off",
        "firm": measures["hypothetical"]["99"]["firm"],
        "firm_975": measures["hypothetical"]["97.5"]["firm"],
        "firm_actual": measures["actual"]["99"]["firm"],
        "portfolios": {name: stats for name, stats in hypothetical.items() if stats["observations"]},
        "measures": measures,
        "incomplete": {"days": len(unresolved), "dates": unresolved, "counted": "as exceptions until signed off"},
        "excluded": excluded,
    }


def as_table(records: list[dict[str, Any]], exclusions: dict[str, dict[str, Any]] | None = None) -> str:
    """One line per backtested night: the VaR's date, its VaR 99 %, the hypothetical P&L, an exception."""
    exclusions = exclusions or {}
    lines = [f"{'VaR date':<12}{'VaR 99 %':>16}{'hypothetical P&L':>20}  exception"]
    by_date = {record["business_date"]: record for record in records}
    for record in records:
        entry = record.get("backtest")
        if not entry:
            continue
        var = (one_day_var(by_date.get(entry["var_date"], {"var": {}})) or {}).get("firm", {}).get("var_99")
        shown = f"{var:>16,.0f}" if var is not None else f"{'?':>16}"
        signed = exclusions.get(entry["var_date"])
        if signed:
            lines.append(f"{entry['var_date']:<12}{shown}{'excluded':>20}  (signed off by {signed['signed_off_by']}: {signed['reason']})")
        elif entry.get("no_figure"):
            lines.append(f"{entry['var_date']:<12}{shown}{'no figure':>20}  YES, until signed off (every position refused)")
        elif not entry.get("complete", True):
            count = len(entry["incomplete"]["positions"])
            lines.append(f"{entry['var_date']:<12}{shown}{'incomplete':>20}  YES, until signed off ({count} position(s) without a move)")
        else:
            lines.append(f"{entry['var_date']:<12}{shown}{entry['hypothetical_pnl']['firm']:>20,.0f}  {'YES' if entry['exceptions']['firm'] else ''}")
    return "\n".join(lines)


def _tests(stats: dict[str, Any]) -> list[str]:
    return [f"  {name}: LR {stats[name]['statistic']:.3f}, p {stats[name]['p_value']:.3f}" for name in STATISTICS if name in stats]


def firm_lines(summary: dict[str, Any]) -> list[str]:
    """The firm's backtest statistics in words: exceptions, zone, tests, exception dates, the days
    counted as exceptions for want of a sign-off, the excluded days, and both measures at both levels."""
    firm = summary["firm"]
    zone = f"none yet ({firm['observations']} of {summary['window']} observations)"
    if firm["zone"]:
        zone = f"{firm['zone']} (plus factor {firm['plus_factor']:.2f})"
    lines = [f"firm: {firm['exceptions']} exception(s) in {firm['observations']} day(s); Basel traffic light {zone}"]
    incomplete = summary.get("incomplete", {})
    if incomplete.get("days"):
        lines.append(f"  incomplete days without a sign-off, counted as exceptions: {incomplete['days']}: {', '.join(incomplete['dates'][-12:])}")
    for item in summary.get("excluded", []):
        lines.append(f"  excluded {item['var_date']}: signed off by {item['signed_off_by']} on {item['signed_off_at']}: {item['reason']}")
    lines += _tests(firm)
    lines.append(f"  expected at 99 %: {0.01 * firm['observations']:.1f}; exception dates: {', '.join(firm['exception_dates']) or 'none'}")
    at_975 = summary.get("firm_975")
    if at_975 and at_975["observations"]:
        lines.append(f"firm VaR 97.5 %: {at_975['exceptions']} exception(s) in {at_975['observations']} day(s), expected {0.025 * at_975['observations']:.1f}")
        lines += _tests(at_975)
    for level in LEVELS:
        actual = (summary.get("measures") or {}).get("actual", {}).get(level, {}).get("firm")
        if actual and actual["observations"]:
            lines.append(f"firm actual P&L, VaR {level} %: {actual['exceptions']} exception(s) in {actual['observations']} day(s)")
    return lines


def measure_lines(summary: dict[str, Any]) -> list[str]:
    """Hypothetical and actual P&L, at VaR 99 % and 97.5 %, per portfolio: exceptions in days."""
    measures = summary.get("measures") or {}
    lines = [f"{'scope':<16}{'hypothetical 99 %':>20}{'hypothetical 97.5 %':>22}{'actual 99 %':>16}{'actual 97.5 %':>16}"]
    scopes = ["firm", *sorted({name for measure in measures.values() for level in measure.values() for name in level["portfolios"]})]
    for scope in scopes:
        cells = []
        for measure, level in (("hypothetical", "99"), ("hypothetical", "97.5"), ("actual", "99"), ("actual", "97.5")):
            part = measures.get(measure, {}).get(level, {})
            stats = part.get("firm") if scope == "firm" else part.get("portfolios", {}).get(scope)
            cells.append(f"{stats['exceptions']}/{stats['observations']}" if stats and stats["observations"] else "-")
        lines.append(f"{scope:<16}{cells[0]:>20}{cells[1]:>22}{cells[2]:>16}{cells[3]:>16}")
    return lines

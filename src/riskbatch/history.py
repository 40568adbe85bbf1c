"""The backtest history: each night's VaR kept, and tested against the next day's P&L.

Each report writes `history/<business date>.json` once (a re-run of the night finds it and keeps
the first): the night's VaR and ES, firm-wide and per portfolio, and the backtest of the previous
night's VaR. That backtest revalues the previous night's book (its positions, its market) in the
one move the market made between the two business dates (today's market data for both days), the
hypothetical P&L; an exception is a loss above that night's VaR 99 %.

The report, and `riskbatch backtest` for any range of dates, count the exceptions over the last
250 observations: Kupiec's and Christoffersen's tests and the Basel traffic light (riskbatch.backtest).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np

from .backtest import BASEL_WINDOW, basel_traffic_light, christoffersen_conditional_coverage, christoffersen_independence, kupiec_pof
from .engine import portfolio_pnl
from .inputs import Market
from .run_inputs import RunBook
from .storage import get_json, list_keys, put_json_once

PREFIX = "history/"


def history_key(business_date: str) -> str:
    return f"{PREFIX}{business_date}.json"


def stored_dates(s3: Any, bucket: str) -> list[str]:
    return sorted(key.removeprefix(PREFIX).removesuffix(".json") for key in list_keys(s3, bucket, PREFIX) if key.endswith(".json"))


def previous_record(s3: Any, bucket: str, business_date: str) -> dict[str, Any] | None:
    """The latest record before the business date: the VaR the night's move tests."""
    earlier = [date for date in stored_dates(s3, bucket) if date < business_date]
    return get_json(s3, bucket, history_key(earlier[-1])) if earlier else None


def market_move(previous: Market, today: Market) -> tuple[np.ndarray, list[str]]:
    """The log move of each of the previous night's factors from its business date to today's,
    read from today's market data for both days; factors today's data lacks did not move (listed)."""
    moves = np.zeros(len(previous.factors))
    missing = []
    day_before = today.dates.index(previous.as_of) if previous.as_of in today.dates else None
    for column, name in enumerate(previous.factors):
        if name not in today.index:
            missing.append(name)
            continue
        now = today.prices[-1, today.index[name]]
        before = today.prices[day_before, today.index[name]] if day_before is not None else previous.spot[column]
        moves[column] = np.log(now / before)
    return moves, missing


def hypothetical_pnl(previous: RunBook, today: Market) -> tuple[dict[str, float], list[str]]:
    """The previous night's book revalued in the market's actual move: P&L per portfolio."""
    moves, missing = market_move(previous.market, today)
    rows = 100  # the engine's smallest run; every row is the same move
    replay = dataclasses.replace(previous.parameters, scenarios=rows, block_size=rows)
    pnl = portfolio_pnl(previous.book, previous.market, replay, previous.model, scenarios=lambda _block: np.repeat(moves[None, :], rows, axis=0))[:, 0]
    return {name: float(value) for name, value in zip(previous.book.portfolio_ids, pnl, strict=True)}, missing


def parse_actual_pnl(data: bytes, name: str) -> dict[str, float]:
    """actual_pnl.csv (portfolio_id, pnl): the P&L the previous business day's book actually made
    over the day, in the reporting currency, one row per portfolio."""
    import io

    import pyarrow as pa
    import pyarrow.csv as pa_csv

    from .inputs import InputError

    try:
        table = pa_csv.read_csv(io.BytesIO(data), convert_options=pa_csv.ConvertOptions(column_types={"pnl": pa.float64(), "portfolio_id": pa.string()}))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise InputError(name, [f"unreadable: {error}"]) from None
    problems = [f"missing column {column}" for column in ("portfolio_id", "pnl") if column not in table.column_names]
    if problems:
        raise InputError(name, problems)
    found: dict[str, float] = {}
    for number, row in enumerate(table.to_pylist(), 2):
        portfolio, value = row["portfolio_id"], row["pnl"]
        if not portfolio or value is None or not np.isfinite(value):
            problems.append(f"line {number}: a portfolio_id and a finite pnl are needed")
        elif portfolio in found:
            problems.append(f"line {number}: a second row for {portfolio}")
        else:
            found[portfolio] = float(value)
    if problems:
        raise InputError(name, problems)
    return found


def backtest_entry(previous_record: dict[str, Any], previous: RunBook, today: Market, actual: dict[str, float] | None = None) -> dict[str, Any]:
    """The previous night's VaR against the P&L its book made in today's move (hypothetical), and
    against the actual P&L when the night's files brought it."""
    by_portfolio, missing = hypothetical_pnl(previous, today)
    firm = float(sum(by_portfolio.values()))
    var = previous_record["var"]
    actual_entry = None
    if actual:
        actual_firm = float(sum(actual.values()))
        actual_entry = {
            "pnl": {"firm": actual_firm, "portfolios": actual},
            "exceptions": {
                "firm": -actual_firm > var["firm"]["var_99"],
                "portfolios": {name: -pnl > var["portfolios"][name]["var_99"] for name, pnl in actual.items() if name in var["portfolios"]},
            },
        }
    return {
        "actual": actual_entry,
        "var_date": previous_record["business_date"],
        "hypothetical_pnl": {"firm": firm, "portfolios": by_portfolio},
        "exceptions": {
            "firm": -firm > var["firm"]["var_99"],
            "portfolios": {name: -pnl > var["portfolios"][name]["var_99"] for name, pnl in by_portfolio.items() if name in var["portfolios"]},
        },
        "factors_without_a_move": missing,
        # VaR 97.5 % beside VaR 99 %: a night recorded before VaR 97.5 % was kept has none
        "exceptions_975": {"firm": -firm > var["firm"]["var_975"]} if "var_975" in var["firm"] else None,
    }


def night_record(business_date: str, run_id: str, currency: str, firm: dict[str, Any], portfolios: dict[str, Any], backtest: dict | None) -> dict[str, Any]:
    keep = [key for key in ("var_95", "var_975", "var_99", "es_975") if key in firm]
    return {
        "business_date": business_date,
        "run_id": run_id,
        "reporting_currency": currency,
        "var": {"firm": {key: firm[key] for key in keep}, "portfolios": {name: {key: values[key] for key in keep} for name, values in portfolios.items()}},
        "backtest": backtest,
        "written_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def write_record(s3: Any, bucket: str, record: dict[str, Any]) -> bool:
    return put_json_once(s3, bucket, history_key(record["business_date"]), record)


def load_records(s3: Any, bucket: str, first: str | None = None, last: str | None = None) -> list[dict[str, Any]]:
    dates = [date for date in stored_dates(s3, bucket) if (first is None or date >= first) and (last is None or date <= last)]
    return [get_json(s3, bucket, history_key(date)) for date in dates]


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


def backtest_summary(records: list[dict[str, Any]], window: int = BASEL_WINDOW) -> dict[str, Any]:
    """Exceptions of the last `window` backtested nights, firm-wide and per portfolio, with the tests.
    The traffic light needs the full 250 observations; before that it is not given (zone None)."""
    tested = [record["backtest"] for record in records if record.get("backtest")][-window:]
    dates = [entry["var_date"] for entry in tested]
    summary = {"window": window, "firm": _statistics([entry["exceptions"]["firm"] for entry in tested], dates), "portfolios": {}}
    at_975 = [entry for entry in tested if entry.get("exceptions_975")]
    summary["firm_975"] = _statistics([entry["exceptions_975"]["firm"] for entry in at_975], [entry["var_date"] for entry in at_975], 0.975)
    with_actual = [entry for entry in tested if entry.get("actual")]
    summary["firm_actual"] = _statistics([entry["actual"]["exceptions"]["firm"] for entry in with_actual], [entry["var_date"] for entry in with_actual])
    names = sorted({name for entry in tested for name in entry["exceptions"]["portfolios"]})
    for name in names:
        pairs = [(entry["var_date"], entry["exceptions"]["portfolios"][name]) for entry in tested if name in entry["exceptions"]["portfolios"]]
        summary["portfolios"][name] = _statistics([hit for _, hit in pairs], [date for date, _ in pairs])
    return summary


def as_table(records: list[dict[str, Any]]) -> str:
    """One line per backtested night: the VaR's date, its VaR 99 %, the hypothetical P&L, an exception."""
    lines = [f"{'VaR date':<12}{'VaR 99 %':>16}{'hypothetical P&L':>20}  exception"]
    by_date = {record["business_date"]: record for record in records}
    for record in records:
        entry = record.get("backtest")
        if not entry:
            continue
        var = by_date.get(entry["var_date"], {}).get("var", {}).get("firm", {}).get("var_99")
        shown = f"{var:>16,.0f}" if var is not None else f"{'?':>16}"
        lines.append(f"{entry['var_date']:<12}{shown}{entry['hypothetical_pnl']['firm']:>20,.0f}  {'YES' if entry['exceptions']['firm'] else ''}")
    return "\n".join(lines)


def firm_lines(summary: dict[str, Any]) -> list[str]:
    """The firm's backtest statistics in words: exceptions, zone, tests, exception dates."""
    firm = summary["firm"]
    zone = f"none yet ({firm['observations']} of {summary['window']} observations)"
    if firm["zone"]:
        zone = f"{firm['zone']} (plus factor {firm['plus_factor']:.2f})"
    lines = [f"firm: {firm['exceptions']} exception(s) in {firm['observations']} day(s); Basel traffic light {zone}"]
    lines += [f"  {name}: LR {firm[name]['statistic']:.3f}, p {firm[name]['p_value']:.3f}" for name in STATISTICS if name in firm]
    lines.append(f"  expected at 99 %: {0.01 * firm['observations']:.1f}; exception dates: {', '.join(firm['exception_dates']) or 'none'}")
    at_975 = summary.get("firm_975")
    if at_975 and at_975["observations"]:
        lines.append(f"firm VaR 97.5 %: {at_975['exceptions']} exception(s) in {at_975['observations']} day(s), expected {0.025 * at_975['observations']:.1f}")
        lines += [f"  {name}: LR {at_975[name]['statistic']:.3f}, p {at_975[name]['p_value']:.3f}" for name in STATISTICS if name in at_975]
    return lines


STATISTICS = ("kupiec", "christoffersen", "conditional_coverage")  # proportion of failures, independence, the two jointly

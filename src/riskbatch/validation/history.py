"""The backtest history: each night's VaR kept, and tested against the next day's P&L.

Each report writes `history/<business date>.json` once (a re-run of the night finds it and keeps
it; a later run of the date from corrected files supersedes it: riskbatch.validation.restatement): the
night's VaR and ES, firm-wide and per portfolio, its one-day VaR (the horizon's
VaR when the horizon is one business day), the factors its book needed with their last prices,
and the backtest of the previous night's VaR. That backtest revalues the previous night's whole
book (its positions, its market) in the one-day move of every factor it needed, between the
previous business day and today: both prices from tonight's whole market file (every factor it
holds, used by tonight's book or not), the earlier one from the previous night's record where
tonight's file lacks it; one day of time decay whatever the reporting horizon. That is the
hypothetical P&L; an exception is a loss above that night's one-day VaR 99 %.

A backtest day is complete or it says it is not: a factor whose move cannot be found (tonight's
file lacks it, or tonight's last price of it was not trusted), a previous night that is not the
previous business day, or a previous night without a one-day VaR make the day incomplete, with
the positions and notional concerned. An incomplete day is never a zero move: the summary counts it as an
exception until someone signs it off (riskbatch.validation.backtest_summary, riskbatch.validation.exclusions).

The report, and `riskbatch backtest` for any range of dates, count the exceptions over the last
250 observations: Kupiec's and Christoffersen's tests and the Basel traffic light (riskbatch.validation.backtest).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Collection
from typing import Any

import numpy as np

from riskbatch.aws.storage import exists, get_json, get_read, list_keys, put_json_once
from riskbatch.inputs.business_days import previous_business_day
from riskbatch.inputs.currencies import factors_of_position
from riskbatch.inputs.files import Market
from riskbatch.model.engine import Book, PreparedBlocks, RiskModel, portfolio_pnl
from riskbatch.model.risk_model import ModelParameters, risk_figures
from riskbatch.model.run_inputs import RunBook

# the summary of the stored days (the counting rule, exclusions, both measures at both levels), re-exported for the jobs and commands
from riskbatch.validation.backtest_summary import STATISTICS, as_table, backtest_summary, firm_lines, measure_lines, one_day_var  # noqa: F401

PREFIX = "history/"


def history_key(business_date: str) -> str:
    return f"{PREFIX}{business_date}.json"


def stored_dates(s3: Any, bucket: str) -> list[str]:
    """The dates with a record in force (history/<date>.json; the superseded records lie below history/superseded/)."""
    names = (key.removeprefix(PREFIX) for key in list_keys(s3, bucket, PREFIX))
    return sorted(name.removesuffix(".json") for name in names if name.endswith(".json") and "/" not in name)


def record_in_force(s3: Any, bucket: str, business_date: str) -> tuple[dict[str, Any] | None, str | None]:
    """The date's record in force (history/<date>.json) and its ETag, for a conditional replacement (riskbatch.validation.restatement);
    (None, None) when the date has none. Its existence is listed, not fetched: GetObject of a missing key answers 403 without
    s3:ListBucket on the bucket (GetObject, "Permissions": https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html)."""
    if not exists(s3, bucket, history_key(business_date)):
        return None, None
    read = get_read(s3, bucket, history_key(business_date))
    return json.loads(read.body), read.etag


def _dates_before(s3: Any, bucket: str, business_date: str) -> list[str]:
    return [date for date in stored_dates(s3, bucket) if date < business_date]


def previous_record(s3: Any, bucket: str, business_date: str) -> dict[str, Any] | None:
    """The latest record before the business date: the VaR the night's move tests."""
    earlier = _dates_before(s3, bucket, business_date)
    return get_json(s3, bucket, history_key(earlier[-1])) if earlier else None


def records_before(s3: Any, bucket: str, business_date: str) -> list[dict[str, Any]]:
    """Every record in force before the business date, oldest first: the nights the report's backtest summary counts."""
    return [get_json(s3, bucket, history_key(date)) for date in _dates_before(s3, bucket, business_date)]


def market_move(previous: Market, today: Market, untrusted: Collection[str] = (), stored: dict[str, float] | None = None) -> tuple[np.ndarray, list[str]]:
    """The log move of each of the previous night's factors from its business date to today's.

    Today's price is the last of today's market data (the whole file); the earlier one is today's
    data on the previous date where it has it, else the previous night's own last price (`stored`,
    from its record, or its market). A factor without both, or whose price tonight was not trusted
    (`untrusted`: held or excluded by the last-day check), has no move: it is listed, never zero."""
    moves = np.zeros(len(previous.factors))
    missing = []
    day_before = today.dates.index(previous.as_of) if previous.as_of in today.dates else None
    for column, name in enumerate(previous.factors):
        now = today.prices[-1, today.index[name]] if name in today.index and name not in untrusted else np.nan
        before = today.prices[day_before, today.index[name]] if day_before is not None and name in today.index else np.nan
        if not np.isfinite(before):
            before = (stored or {}).get(name, previous.spot[column])
        if not (np.isfinite(now) and np.isfinite(before) and now > 0 and before > 0):
            missing.append(name)
            continue
        moves[column] = np.log(now / before)
    return moves, missing


def hypothetical_pnl(
    previous: RunBook, today: Market, untrusted: Collection[str] = (), stored: dict[str, float] | None = None
) -> tuple[dict[str, float], list[str]]:
    """The previous night's book revalued in the market's actual one-day move, with one day of
    time decay whatever its reporting horizon: P&L per portfolio, and the factors without a move."""
    moves, missing = market_move(previous.market, today, untrusted, stored)
    rows = 100  # the engine's smallest run; every row is the same move
    replay = dataclasses.replace(previous.parameters, scenarios=rows, block_size=rows, horizon_days=1)
    pnl = portfolio_pnl(previous.book, previous.market, replay, previous.model, scenarios=lambda _block: np.repeat(moves[None, :], rows, axis=0))[:, 0]
    return {name: float(value) for name, value in zip(previous.book.portfolio_ids, pnl, strict=True)}, missing


def positions_on(previous: RunBook, factors: Collection[str]) -> tuple[list[str], float]:
    """The previous night's positions that need any of `factors`, and their notional (|quantity x
    multiplier x spot| in the reporting currency at that night's rates)."""
    reporting = previous.parameters.reporting_currency
    market, conversion = previous.market, previous.book.conversion
    ids, notional = [], 0.0
    for row in previous.positions.to_pylist():
        if not set(factors_of_position(market, row, reporting)) & set(factors):
            continue
        column = market.index[row["underlying"]]
        multiplier = row.get("multiplier") or 1.0
        ids.append(str(row["position_id"]))
        notional += abs(row["quantity"] * multiplier * market.spot[column] * conversion.rate_today[column])
    return ids, float(notional)


def parse_actual_pnl(data: bytes, name: str) -> dict[str, float]:
    """actual_pnl.csv (portfolio_id, pnl): the P&L the previous business day's book actually made
    over the day, in the reporting currency, one row per portfolio."""
    from riskbatch.inputs.small_csv import value_per_key

    return value_per_key(data, name, "portfolio_id", "pnl")


def backtest_entry(
    previous_record: dict[str, Any],
    previous: RunBook,
    today: Market,
    actual: dict[str, float] | None = None,
    untrusted: Collection[str] = (),
) -> dict[str, Any]:
    """The previous night's one-day VaR against the P&L its whole book made in today's move
    (hypothetical), and against the actual P&L when the night's files brought it; or, when the
    day cannot be backtested whole, an incomplete entry that says why and what it leaves out.
    The risk workers compute the same unit by unit (riskbatch.validation.previous_night): backtest_from."""
    by_portfolio, missing = hypothetical_pnl(previous, today, untrusted, previous_record.get("factors"))
    ids, notional = positions_on(previous, missing) if missing else ([], 0.0)
    return backtest_from(previous_record, by_portfolio, missing, ids, notional, today.business_date, actual, untrusted)


def backtest_from(
    previous_record: dict[str, Any],
    by_portfolio: dict[str, float],
    missing: list[str],
    missing_positions: list[str],
    missing_notional: float,
    business_date: dt.date,
    actual: dict[str, float] | None = None,
    untrusted: Collection[str] = (),
) -> dict[str, Any]:
    """The backtest entry from the previous book's hypothetical P&L per portfolio, the factors
    without a move, and the positions on them with their notional."""
    if previous_record.get("no_figure"):
        return no_figure_entry(previous_record)
    var = one_day_var(previous_record)
    reasons = []
    expected = previous_business_day(business_date)
    if previous_record["business_date"] != expected.isoformat():
        reasons.append(f"the previous night kept is {previous_record['business_date']}, not the previous business day {expected}")
    if var is None:
        reasons.append(f"the {previous_record['business_date']} record keeps no one-day VaR (horizon {previous_record.get('horizon_days')} days)")
    actual_entry = None
    if actual and var is not None:  # the actual P&L needs no move: only the one-day VaR; it is kept on every day
        actual_firm = float(sum(actual.values()))
        actual_entry = {"pnl": {"firm": actual_firm, "portfolios": actual}, **exceptions_of(var, actual_firm, actual)}
    suspect = [name for name in missing if name in untrusted]
    absent = [name for name in missing if name not in untrusted]
    if suspect:
        reasons.append(f"a suspect last price tonight (the last-day check held or excluded it) for {len(suspect)} factor(s): {', '.join(suspect[:10])}")
    if absent:
        reasons.append(f"no move for {len(absent)} factor(s) the {previous_record['business_date']} book needed: {', '.join(absent[:10])}")
    if reasons:
        return {
            "actual": actual_entry,
            "var_date": previous_record["business_date"],
            "complete": False,
            "incomplete": {"reasons": reasons, "factors": missing, "positions": missing_positions, "notional": missing_notional},
            "hypothetical_pnl": None,
            "exceptions": None,
            "factors_without_a_move": missing,
        }
    firm = float(sum(by_portfolio.values()))
    return {
        "actual": actual_entry,
        "var_date": previous_record["business_date"],
        "complete": True,
        "hypothetical_pnl": {"firm": firm, "portfolios": by_portfolio},
        **exceptions_of(var, firm, by_portfolio),
        "factors_without_a_move": missing,
    }


def no_figure_entry(previous_record: dict[str, Any]) -> dict[str, Any]:
    """The backtest day of a night that published no figure (every position refused): no VaR to test, never a P&L of 0.
    It is an incomplete day: the hypothetical backtest counts it as an exception until someone signs it off
    (riskbatch exclude-day), as riskbatch.validation.backtest_summary counts every incomplete day."""
    date = previous_record["business_date"]
    why = f"the {date} night published no figure (every position refused): no VaR to test"
    return {
        "actual": None,
        "var_date": date,
        "complete": False,
        "no_figure": why,
        "incomplete": {"reasons": [why], "factors": [], "positions": [], "notional": 0.0},
        "hypothetical_pnl": None,
        "exceptions": None,
        "factors_without_a_move": [],
    }


def exceptions_of(var: dict[str, Any], firm: float, by_portfolio: dict[str, float]) -> dict[str, Any]:
    """The exceptions of a day's P&L at VaR 99 % and VaR 97.5 %, firm-wide and per portfolio (a night
    recorded before VaR 97.5 % was kept has none at 97.5 %)."""
    found: dict[str, Any] = {}
    for key, level in (("exceptions", "var_99"), ("exceptions_975", "var_975")):
        if level not in var["firm"]:
            found[key] = None
            continue
        portfolios = {name: -pnl > var["portfolios"][name][level] for name, pnl in by_portfolio.items() if level in var["portfolios"].get(name, {})}
        found[key] = {"firm": -firm > var["firm"][level], "portfolios": portfolios}
    return found


def one_day_figures(run: RunBook) -> tuple[dict[str, Any], dict[str, Any]]:
    """The night's one-day VaR and ES (firm, portfolios) when its horizon is longer: the book
    revalued once more in the same scenarios over one business day (the backtest's measure)."""
    return figures_of(run.book.portfolio_ids, one_day_pnl(run.book, run.market, run.parameters, run.model))


def one_day_pnl(
    book: Book,
    market: Market,
    parameters: ModelParameters,
    model: RiskModel,
    prepared: PreparedBlocks | None = None,
    should_abort: Callable[[], bool] | None = None,
) -> np.ndarray:
    """The book's P&L in the night's scenarios over one business day (portfolios x scenarios):
    the risk workers compute it unit by unit beside the horizon's P&L."""
    one_day = dataclasses.replace(parameters, horizon_days=1)
    return portfolio_pnl(book, market, one_day, model, should_abort=should_abort, prepared=prepared)


def figures_of(portfolio_ids: list[str], pnl: np.ndarray) -> tuple[dict[str, Any], dict[str, Any]]:
    """(firm, portfolios) figures of a portfolios x scenarios P&L."""
    return risk_figures(pnl.sum(axis=0)), {name: risk_figures(row) for name, row in zip(portfolio_ids, pnl, strict=True)}


def night_record(
    business_date: str,
    run_id: str,
    currency: str,
    firm: dict[str, Any] | None,
    portfolios: dict[str, Any],
    backtest: dict | None,
    horizon_days: int = 1,
    one_day: tuple[dict[str, Any], dict[str, Any]] | None = None,
    factors: dict[str, float] | None = None,
    without_figures: list[str] | None = None,
    incomplete_scopes: list[str] | None = None,
) -> dict[str, Any]:
    """The night's record. `one_day` is the one-day (firm, portfolios) figures when the horizon is
    longer; `factors` the last price of every factor the night's book needed (tomorrow's backtest);
    `without_figures` the portfolios with no figure that night (every position excluded): a limit's breach
    run passes over such a night, neither ended nor extended (riskbatch.validation.limits.breach_streaks);
    `incomplete_scopes` the limit scopes ('firm' or a portfolio) whose figure left part of the scope out that
    night (the keys of riskbatch.reporting.coverage.limit_caveats): within its limit such a night is passed over
    too, and above it the run counts it as a breach on an incomplete figure. `firm` None: every position of the night was
    refused: the record keeps no VaR (`var` None, `no_figure`), and the next night's backtest has nothing to test (backtest_from)."""
    keep = [key for key in ("var_95", "var_975", "var_99", "es_975") if key in (firm or {})]  # VaR 97.5 % from its introduction on

    def kept(firm_figures: dict[str, Any], by_portfolio: dict[str, Any]) -> dict[str, Any]:
        portfolio_figures = {name: {key: values[key] for key in keep} for name, values in by_portfolio.items()}
        return {"firm": {key: firm_figures[key] for key in keep}, "portfolios": portfolio_figures}

    var = kept(firm, portfolios) if firm is not None else None
    if horizon_days != 1 and one_day is None and firm is not None:
        raise ValueError("a night with a horizon above one day keeps its one-day VaR for the backtest")
    return {
        "business_date": business_date,
        "run_id": run_id,
        "reporting_currency": currency,
        "horizon_days": horizon_days,
        "var": var,
        "var_1d": kept(*one_day) if one_day is not None else var,
        "no_figure": firm is None,
        "factors": factors or {},
        "without_figures": sorted(without_figures or []),
        "incomplete_scopes": sorted(incomplete_scopes or []),
        "backtest": backtest,
        "written_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def write_record(s3: Any, bucket: str, record: dict[str, Any]) -> bool:
    return put_json_once(s3, bucket, history_key(record["business_date"]), record)


def load_records(s3: Any, bucket: str, first: str | None = None, last: str | None = None) -> list[dict[str, Any]]:
    dates = [date for date in stored_dates(s3, bucket) if (first is None or date >= first) and (last is None or date <= last)]
    return [get_json(s3, bucket, history_key(date)) for date in dates]



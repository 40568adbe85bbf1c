"""riskbatch risk: the whole engine in one process, from the night's local files (positions, market, rates).

A night of production is reproduced exactly from its manifest by riskbatch.model.reproduce."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa

from riskbatch.inputs.files import FX_FACTOR, MARKET_COLUMNS, POSITION_COLUMNS, InputError, is_expiry, read_table
from riskbatch.inputs.quality import DataQualityPolicy, FileRejected, excluded_notional_text, prepare_night
from riskbatch.inputs.rates import RATE_COLUMNS, exclude_options_without_rates, parse_rates
from riskbatch.model.engine import build_book, portfolio_pnl, risk_model
from riskbatch.model.notional import portfolio_notional
from riskbatch.model.risk_model import ModelParameters, risk_figures


def business_date_of(market_path: Path, data: bytes) -> dt.date:
    """The market file's last date is the business date of a local run."""
    table = read_table(data, market_path.name, MARKET_COLUMNS)
    return max(table["date"].to_pylist())


def market_currencies(table: pa.Table) -> set[str]:
    """The currencies a market file knows: those its factors are stated in and those its FX rates quote."""
    stated = set(table["currency"].to_pylist()) if "currency" in table.column_names else set()
    quoted = {code for name in set(table["factor"].to_pylist()) if (pair := FX_FACTOR.match(str(name))) for code in pair.groups()}
    return {code for code in stated | quoted if code}


def run_offline(
    positions_path: Path,
    market_path: Path,
    parameters: ModelParameters,
    show_progress: bool = True,
    policy: DataQualityPolicy | None = None,
    business_date: dt.date | None = None,
    rates_path: Path | None = None,
) -> dict:
    """The figures of the files' night. `rates_path`: the night's rates file, validated as the night validates
    it; its curves price the options and an option in a currency it does not cover is excluded (without it,
    a library caller's parameters price them)."""
    market_bytes = market_path.read_bytes()
    business_date = business_date or business_date_of(market_path, market_bytes)
    market_table = read_table(market_bytes, market_path.name, MARKET_COLUMNS)
    known = market_currencies(market_table)
    if known and parameters.reporting_currency not in known:  # at the door: not as every position excluded
        raise ValueError(f"the market file has no {parameters.reporting_currency} (it knows {', '.join(sorted(known))}): give --currency one of those")
    night = prepare_night(
        market_table,
        market_path.name,
        read_table(positions_path.read_bytes(), positions_path.name, POSITION_COLUMNS),
        positions_path.name,
        business_date,
        policy or DataQualityPolicy(),
        parameters.reporting_currency,
    )
    policy = policy or DataQualityPolicy()
    if rates_path is not None:
        try:
            table = read_table(rates_path.read_bytes(), rates_path.name, RATE_COLUMNS)
            curves = parse_rates(table, rates_path.name, business_date, policy.max_market_lag_days, policy.rate_bands, policy.rate_steps)
        except InputError as error:
            raise FileRejected("rates", error) from error
        parameters = dataclasses.replace(parameters, curves=curves.as_parameters())
        night = exclude_options_without_rates(night, curves, positions_path.name)
    market = night.market
    book = build_book(night.positions, market, parameters)
    model = risk_model(market, parameters)

    def progress(done: int, total: int) -> None:
        if show_progress:
            print(f"\rscenario blocks {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)

    pnl = portfolio_pnl(book, market, parameters, model, progress=progress)
    valued = portfolio_notional(night.positions, market, book)
    portfolios = {portfolio: risk_figures(row) for portfolio, row in zip(book.portfolio_ids, pnl, strict=True)}
    return {
        "business_date": business_date.isoformat(),
        "market_as_of": market.as_of.isoformat(),
        "reporting_currency": parameters.reporting_currency,
        "firm": risk_figures(pnl.sum(axis=0)),
        "portfolios": portfolios,
        "scenarios": parameters.scenarios,
        "seed": parameters.seed,
        "positions": len(book.position_ids),
        "factors": len(market.factors),
        "sum_of_portfolio_var_99": float(np.sum([figures["var_99"] for figures in portfolios.values()])),
        "risk_model": model.describe(),
        "data_quality": night.summary(),
        "valued_notional": valued,  # by portfolio: the measure of its excluded notional's share (riskbatch.reporting.coverage.partly_excluded)
        "data_quality_policy": {"excluded_notional_share_flag": policy.excluded_notional_share_flag},
    }


def figure_lines(result: dict) -> list[str]:
    """The figures as the command prints them: what was run, what was excluded, then the firm and each portfolio."""
    quality, currency = result["data_quality"], result["reporting_currency"]
    lines = [
        f"business date {result['business_date']} (market as of {result['market_as_of']}): {result['positions']} positions, "
        f"{result['factors']} factors, {result['scenarios']} scenarios, seed {result['seed']}; figures in {currency}"
    ]
    if result.get("run_id"):
        lines.append(f"reproduced run {result['run_id']}: model configuration {result['model_config']}, {result['draw_order']} draw order, its work units")
    # as the night's report: an option expiring today is the calendar, counted apart from the data problems
    expiries = [row for row in quality.get("excluded", []) if is_expiry(row)]
    rows = [row for row in quality.get("excluded", []) if not is_expiry(row)]
    known = [float(row["notional"]) for row in rows if row["notional"] is not None]
    data = {**quality, "excluded_positions": len(rows), "excluded_notional": float(sum(known)), "excluded_notional_unknown": len(rows) - len(known)}
    if "excluded" not in quality:  # a result without its rows: the totals as they are
        data = quality
    if data["excluded_positions"]:
        lines.append(f"excluded: {data['excluded_positions']} position(s), notional {excluded_notional_text(data)}")
    if expiries:
        lines.append(f"expired today, not revalued: {len(expiries)} option(s)")
    without = list(result.get("portfolios_without_figures") or {})
    partial = result.get("portfolios_partly_excluded") or {}  # flagged by riskbatch.reporting.coverage.partly_excluded
    parts = [f"excludes {', '.join(without)} (no figure: every position excluded)" if without else "", *(f"{name} partly excluded" for name in partial)]
    firm_caveat = "; ".join(filter(None, parts))
    if result["firm"] is None:  # every position refused: the night published no figure (riskbatch.reporting.no_figure)
        reasons = [f"{row['position_id']}: {row['reason']}" for row in rows[:5]]
        lines.append(f"firm   no figure (not a VaR of 0): every position refused; the first: {'; '.join(reasons) or 'none recorded'}")
    for name, figures in [*([("firm", result["firm"])] if result["firm"] is not None else []), *result["portfolios"].items()]:
        cells = []
        for key, label in (("var_95", "VaR 95 %"), ("var_99", "VaR 99 %"), ("es_975", "ES 97.5 %")):
            low, high = figures["ci_95"][key]
            cells.append(f"{label} {figures[key]:>13,.0f} [{low:,.0f}, {high:,.0f}]")
        incomplete = f"  INCOMPLETE, {firm_caveat}" if name == "firm" and firm_caveat else ""
        lines.append(f"{name:<6} " + "  ".join(cells) + incomplete)
    for name, flag in partial.items():
        lines.append(f"{name:<6} INCOMPLETE: {flag['text']}")
    for name, why in (result.get("portfolios_without_figures") or {}).items():  # every position excluded: named, never a VaR of 0
        count = why["excluded_positions"]
        lines.append(
            f"{name:<6} no figure (not a VaR of 0): all {count} position{'' if count == 1 else 's'} excluded, "
            f"notional {excluded_notional_text(why)}; the first: {why['first_reason']}"
        )
    return lines

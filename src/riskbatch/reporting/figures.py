"""The figures the report computes from the summed P&L: the expected-shortfall breakdown by position and by
factor class, the covariance shrinkage's effect, and the backtest series behind the exceptions chart."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from riskbatch.inputs.files import FX_FACTOR
from riskbatch.model.engine import _scenario_rows, portfolio_pnl, position_tail_means
from riskbatch.model.run_inputs import RunBook
from riskbatch.reporting.tables import (
    FIGURE_NAMES,
)
from riskbatch.validation.history import (
    one_day_var,
)

TOP_CONTRIBUTORS = 10


VAR_BAND = 50  # scenarios either side of the VaR quantile for component VaR


TAIL_CONFIDENCE = 0.975


FACTOR_CLASSES = ("equity", "FX", "volatility")


def factor_class_columns(run: RunBook) -> dict[str, np.ndarray]:
    """The market's factors by class: FX rates (FX_<BASE><QUOTE>), implied volatilities (a
    position's vol_factor), and equity (every other price: shares, indices)."""
    names = run.positions.column_names
    vols = {name for name in (run.positions["vol_factor"].to_pylist() if "vol_factor" in names else []) if name}
    kinds = ["FX" if FX_FACTOR.match(name) else "volatility" if name in vols else "equity" for name in run.market.factors]
    return {kind: np.array([i for i, k in enumerate(kinds) if k == kind], dtype=np.int64) for kind in FACTOR_CLASSES}


def es_by_factor_class(run: RunBook, rows: np.ndarray, total: float, returns: np.ndarray | None = None) -> dict[str, float]:
    """The firm's ES by factor class: the firm's mean loss in its tail scenarios when only that
    class's factors move (less the time decay, which is its own line), and the interaction (the
    rest: a EUR stock's joint move of price and rate, an option's convexity across classes), so
    the lines add up to the firm's ES. `returns`: the tail's factor returns, where drawn already."""
    returns = _scenario_rows(run.parameters, run.model, rows) if returns is None else returns
    count = max(100, len(returns))  # the engine's smallest run; extra rows are ignored
    replay = dataclasses.replace(run.parameters, scenarios=count, block_size=count)

    def mean_loss(moves: np.ndarray) -> float:
        padded = np.resize(moves, (count, moves.shape[1]))
        pnl = portfolio_pnl(run.book, run.market, replay, run.model, scenarios=lambda _block: padded).sum(axis=0)
        return -float(pnl[: len(moves)].mean())

    decay = mean_loss(np.zeros_like(returns))
    shares = {}
    for kind, columns in factor_class_columns(run).items():
        only = np.zeros_like(returns)
        only[:, columns] = returns[:, columns]
        shares[kind] = mean_loss(only) - decay if len(columns) else 0.0
    shares["time decay"] = decay
    shares["interaction"] = total - sum(shares.values())
    return shares


def es_breakdown(run: RunBook, firm_pnl: np.ndarray) -> dict[str, Any]:
    """The firm's expected shortfall taken apart: each position's share is its mean P&L in the
    firm's tail scenarios (the Euler allocation of ES, so the shares add up to the firm's ES);
    summed by portfolio, and by factor class (es_by_factor_class); the largest shares, and the
    largest hedges (the most negative shares: the positions that gain when the firm loses most)."""
    tail = max(1, int(np.floor(len(firm_pnl) * (1 - TAIL_CONFIDENCE))))
    rows = np.argpartition(firm_pnl, tail - 1)[:tail]
    # Component VaR 99 % (Euler) of the largest positions: their mean loss in the scenarios whose
    # firm P&L lies at the VaR, a band of VAR_BAND scenarios either side of the quantile.
    ranked = np.argsort(firm_pnl)
    at_var = int(np.floor((len(firm_pnl) - 1) * 0.01))
    band = ranked[max(0, at_var - VAR_BAND) : at_var + VAR_BAND + 1]
    drawn = _scenario_rows(run.parameters, run.model, np.concatenate([rows, band]))  # the tail's and the band's scenarios, drawn once
    tail_returns, band_returns = drawn[: len(rows)], drawn[len(rows) :]
    shares = -position_tail_means(run.book, run.market, run.parameters, rows, run.model, tail_returns)
    kinds = run.positions["instrument_type"].to_pylist()
    underlyings = run.positions["underlying"].to_pylist()
    owners = run.positions["portfolio_id"].to_pylist()

    def entry(i: int) -> dict[str, Any]:
        return {
            "position_id": run.book.position_ids[i],
            "portfolio_id": owners[i],
            "instrument_type": kinds[i],
            "underlying": underlyings[i],
            "es_contribution": float(shares[i]),
        }

    def summed(keys: list[str]) -> dict[str, float]:
        totals: dict[str, float] = {}
        for key, share in zip(keys, shares.tolist(), strict=True):
            totals[key] = totals.get(key, 0.0) + share
        return dict(sorted(totals.items(), key=lambda item: -item[1]))

    order = np.argsort(-shares)
    near_var = -position_tail_means(run.book, run.market, run.parameters, band, run.model, band_returns)
    components = [{**entry(i), "var_99_component": float(near_var[i])} for i in order[:TOP_CONTRIBUTORS]]
    return {
        "total": float(shares.sum()),
        "var_99_components": components,
        "var_99_band": len(band),
        "by_portfolio": summed(owners),
        "by_factor_class": es_by_factor_class(run, rows, float(shares.sum()), tail_returns),
        "largest": [entry(i) for i in order[:TOP_CONTRIBUTORS]],
        "hedges": [entry(i) for i in order[::-1][:TOP_CONTRIBUTORS] if shares[i] < 0],
    }


def shrinkage_effect(run: RunBook) -> float | None:
    """The shrinkage's effect on firm VaR, relative (None: the covariance was not shrunk): the
    delta-normal VaR of the book's linear exposures under the shrunk against the sample covariance."""
    estimate = run.model.covariance
    if estimate.unshrunk is None:
        return None
    exposure = run.book.conversion.augmented(np.eye(len(run.market.factors))) @ run.book.exposures.sum(axis=0)
    shrunk, sample = (float(exposure @ matrix @ exposure) for matrix in (estimate.matrix, estimate.unshrunk))
    return float(np.sqrt(shrunk / sample) - 1.0) if sample > 0.0 else None


def backtest_series(records: list[dict[str, Any]], window: int = 250) -> list[dict[str, Any]]:
    """The last `window` backtested nights for the exceptions chart: each VaR date's hypothetical
    P&L beside its one-day VaR 99 % (and VaR 97.5 % where recorded), and whether it was exceeded."""
    by_date = {record["business_date"]: record for record in records}
    series = []
    for record in records:
        entry = record.get("backtest")
        if not entry or not entry.get("complete", True) or entry["var_date"] not in by_date:
            continue  # an incomplete day has no P&L to draw (the summary counts it as an exception until signed off)
        var = (one_day_var(by_date[entry["var_date"]]) or {}).get("firm")
        if not var:
            continue
        series.append(
            {
                "var_date": entry["var_date"],
                "pnl": entry["hypothetical_pnl"]["firm"],
                "var_99": var["var_99"],
                "var_975": var.get("var_975"),
                "exception": bool(entry["exceptions"]["firm"]),
            }
        )
    return series[-window:]


TESTS = ("kupiec", "christoffersen", "conditional_coverage")


FIGURES = tuple(FIGURE_NAMES.items())


def portfolios_without_figures(data_quality: dict[str, Any], valued: list[str]) -> dict[str, dict[str, Any]]:
    """Each portfolio whose every position the night excluded, by name: no figure (None, never a VaR of 0:
    bad data never turns into low risk) and why: its positions and notional excluded, and the first reason.
    The night's other portfolios publish; a file with no valid position at all publishes no figure for the firm either
    (riskbatch.reporting.no_figure)."""
    found: dict[str, dict[str, Any]] = {}
    for row in data_quality.get("excluded", []):
        if row["portfolio_id"] in valued:
            continue
        entry = found.setdefault(
            row["portfolio_id"],
            {
                "figures": None,
                "excluded_positions": 0,
                "excluded_notional": 0.0,
                "excluded_notional_currency": data_quality.get("excluded_notional_currency", ""),
                "excluded_notional_unknown": 0,
                "first_reason": f"{row['position_id']}: {row['reason']}",
            },
        )
        entry["excluded_positions"] += 1
        if row["notional"] is None:
            entry["excluded_notional_unknown"] += 1
        else:
            entry["excluded_notional"] += float(row["notional"])
    return dict(sorted(found.items()))

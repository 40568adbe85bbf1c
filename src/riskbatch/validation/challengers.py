"""Challenger models beside Monte Carlo, on the same book with the same full revaluation.

- Historical simulation: the scenarios are the history's own daily log returns (scaled to the
  horizon by the square root of time), every position revalued in each.
- Stressed VaR: historical simulation over the governed stress period (named, dated, chosen once
  with the model configuration) of the stress history, a file kept apart from the market history
  that sets the covariance; never re-chosen at night.

Both have a few hundred days: the worst 2.5 % is seven days, and the empirical ES 97.5 % can fall
below the empirical VaR 99 % (the third worst day). Their VaR and ES come from one tail estimate
instead: a generalised Pareto distribution fitted (maximum likelihood) to the losses beyond the
worst TAIL_SHARE of days, its shape held at zero or above (no tail lighter than exponential), so
that ES 97.5 % >= VaR 99 % holds at any sample size (McNeil and Frey, 2000: peaks over threshold).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np

from riskbatch.inputs.files import Market
from riskbatch.model.engine import Book, portfolio_pnl
from riskbatch.model.risk_model import ModelParameters, log_returns, risk_figures
from riskbatch.validation.stress_history import stress_window, uncovered_positions


def historical_returns(market: Market, parameters: ModelParameters) -> np.ndarray:
    """The history's daily log returns as scenarios over the horizon (days - 1 x factors)."""
    return log_returns(market.prices) * np.sqrt(parameters.horizon_days)


def historical_pnl(book: Book, market: Market, parameters: ModelParameters, returns: np.ndarray | None = None) -> np.ndarray:
    """Portfolios x historical days: tonight's book revalued in each day's move."""
    returns = historical_returns(market, parameters) if returns is None else returns
    rows = len(returns)
    replay = dataclasses.replace(parameters, scenarios=max(rows, 100), block_size=max(rows, 100))
    if rows < 100:
        raise ValueError(f"historical simulation needs at least 100 days of returns, not {rows}")
    return portfolio_pnl(book, market, replay, scenarios=lambda _block: returns)


TAIL_SHARE = 0.10  # the worst 10 % of days set the tail
MAX_SHAPE = 0.5  # a finite-variance tail


def _gpd_fit(excess: np.ndarray) -> tuple[float, float]:
    """(shape, scale) of the generalised Pareto distribution of the excesses, the shape in [0, MAX_SHAPE]."""
    from scipy.stats import genpareto

    if np.all(excess == excess[0]):
        return 0.0, float(max(excess.mean(), 1e-12))
    shape, _, scale = genpareto.fit(excess, floc=0.0)
    if shape < 0.0:  # lighter than exponential: the exponential tail (shape 0), whose scale is the mean excess
        return 0.0, float(excess.mean())
    if shape > MAX_SHAPE:
        shape, _, scale = genpareto.fit(excess, fc=MAX_SHAPE, floc=0.0)
        return MAX_SHAPE, float(scale)
    return float(shape), float(scale)


def tail_figures(pnl: np.ndarray) -> dict[str, Any]:
    """VaR 95 %, VaR 99 % and ES 97.5 % of a short P&L history from its fitted tail, with the
    empirical figures, their intervals and the fit beside them. The order-statistic intervals
    belong to the empirical figures, not to the fitted ones: they are kept under "empirical" only."""
    figures = risk_figures(pnl)
    losses = np.sort(-pnl)[::-1]
    n = len(losses)
    k = max(10, int(np.floor(TAIL_SHARE * n)))
    threshold = float(losses[k])
    shape, scale = _gpd_fit(losses[:k] - threshold)

    def var(confidence: float) -> float:
        ratio = k / (n * (1.0 - confidence))  # >= 1: the quantile lies beyond the threshold
        return threshold + (scale * np.log(ratio) if shape == 0.0 else scale / shape * (ratio**shape - 1.0))

    es = (var(0.975) + scale - shape * threshold) / (1.0 - shape)
    empirical = {key: figures[key] for key in ("var_95", "var_975", "var_99", "es_975", "ci_95")}
    return {
        "var_95": float(var(0.95)),
        "var_975": float(var(0.975)),
        "var_99": float(var(0.99)),
        "es_975": float(es),
        "empirical": empirical,
        "tail": {"estimator": "generalised Pareto above the worst 10 % of days, shape >= 0", "shape": shape, "scale": scale, "threshold": threshold},
    }


def stressed_figures(
    book: Book,
    market: Market,
    parameters: ModelParameters,
    stress_market: Market | None,
    period: dict[str, str],
    proxies: dict[str, str] | None = None,
    max_gap_days: int = 3,
    nightly: Market | None = None,
) -> dict[str, Any]:
    """Tonight's book revalued in the stress history's daily moves over the configured period, its
    gaps bridged and its missing factors proxied as riskbatch.validation.stress_history says; the
    positions on a factor still uncovered are counted with their notional."""
    first, last = dt.date.fromisoformat(period["first"]), dt.date.fromisoformat(period["last"])
    stated: dict[str, Any] = {"period": period}
    if stress_market is None:
        return {**stated, "missing": "no stress history came with the night's files"}
    window = stress_window(market.factors, stress_market, first, last, proxies, max_gap_days, nightly=nightly or market)
    positions, notional = uncovered_positions(book, market, window.uncovered)
    stated["repairs"] = [dataclasses.asdict(finding) for finding in window.findings]
    stated["uncovered"] = {"factors": window.uncovered, "positions": positions, "notional": notional, "currency": parameters.reporting_currency}
    if len(window.days) < 100:
        return {**stated, "missing": f"the stress history has {len(window.days)} days in the period, at least 100 are needed"}
    if len(window.uncovered) == len(market.factors):
        lacking = ", ".join(window.uncovered[:5])
        why = f"the stress history lacks {len(window.uncovered)} of tonight's factors ({lacking}) in the period, and no proxy covers them"
        return {**stated, "missing": why}
    returns = window.returns * np.sqrt(parameters.horizon_days)
    pnl = historical_pnl(book, market, parameters, returns)
    return {
        **stated,
        "window": [window.days[0].isoformat(), window.days[-1].isoformat()],
        "days": len(window.days),
        "chosen_as": f"configured stress period: {period['name']}",
        "firm": tail_figures(pnl.sum(axis=0)),
        "portfolios": {name: tail_figures(row) for name, row in zip(book.portfolio_ids, pnl, strict=True)},
    }


def challenger_figures(
    book: Book,
    market: Market,
    parameters: ModelParameters,
    stress_market: Market | None = None,
    period: dict[str, str] | None = None,
    proxies: dict[str, str] | None = None,
    max_gap_days: int = 3,
    nightly: Market | None = None,
) -> dict[str, Any]:
    """Historical-simulation and stressed figures, firm-wide and per portfolio, with their windows; `nightly`
    is tonight's market file as published (every factor, a proxy too: a factor without crisis history is
    regressed on it there), `market` when not given."""
    pnl = historical_pnl(book, market, parameters)
    days = market.dates[1:]  # the day each return ends on
    result: dict[str, Any] = {
        "historical": {
            "window": [days[0].isoformat(), days[-1].isoformat()],
            "days": len(days),
            "firm": tail_figures(pnl.sum(axis=0)),
            "portfolios": {name: tail_figures(row) for name, row in zip(book.portfolio_ids, pnl, strict=True)},
        }
    }
    if period is not None:
        result["stressed"] = stressed_figures(book, market, parameters, stress_market, period, proxies, max_gap_days, nightly)
    return result

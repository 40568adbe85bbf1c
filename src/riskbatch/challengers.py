"""Challenger models beside Monte Carlo, on the same book with the same full revaluation.

- Historical simulation: the scenarios are the history's own daily log returns (scaled to the
  horizon by the square root of time), every position revalued in each.
- Stressed VaR: historical simulation over the worst 250-day window of the history for tonight's
  book (the window whose firm VaR 99 % is highest), or over a configured window.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np

from .engine import Book, portfolio_pnl
from .inputs import Market
from .model import ModelParameters, log_returns, risk_figures, value_at_risk

STRESS_WINDOW = 250


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


def worst_window(firm_pnl: np.ndarray, window: int = STRESS_WINDOW) -> tuple[int, float]:
    """(first day, firm VaR 99 %) of the window of `window` consecutive days with the highest VaR."""
    if len(firm_pnl) <= window:
        return 0, value_at_risk(firm_pnl, 0.99)
    best = max(range(len(firm_pnl) - window + 1), key=lambda start: value_at_risk(firm_pnl[start : start + window], 0.99))
    return best, value_at_risk(firm_pnl[best : best + window], 0.99)


def challenger_figures(book: Book, market: Market, parameters: ModelParameters, stress: tuple[dt.date, dt.date] | None = None) -> dict[str, Any]:
    """Historical-simulation and stressed figures, firm-wide and per portfolio, with their windows."""
    pnl = historical_pnl(book, market, parameters)
    firm = pnl.sum(axis=0)
    days = market.dates[1:]  # the day each return ends on
    result: dict[str, Any] = {
        "historical": {
            "window": [days[0].isoformat(), days[-1].isoformat()],
            "days": len(days),
            "firm": risk_figures(firm),
            "portfolios": {name: risk_figures(row) for name, row in zip(book.portfolio_ids, pnl, strict=True)},
        }
    }
    if stress:
        chosen = [i for i, day in enumerate(days) if stress[0] <= day <= stress[1]]
        if len(chosen) < 100:
            result["stressed"] = {"configured": [stress[0].isoformat(), stress[1].isoformat()], "missing": "the history does not cover 100 days of it"}
            return result
        start, end = chosen[0], chosen[-1] + 1
        how = "configured window"
    else:
        start, _ = worst_window(firm)
        end = min(start + STRESS_WINDOW, len(days))
        how = f"worst {end - start}-day window of the history for tonight's book"
    window = pnl[:, start:end]
    result["stressed"] = {
        "window": [days[start].isoformat(), days[end - 1].isoformat()],
        "days": end - start,
        "chosen_as": how,
        "firm": risk_figures(window.sum(axis=0)),
        "portfolios": {name: risk_figures(row) for name, row in zip(book.portfolio_ids, window, strict=True)},
    }
    return result

"""Markets and books built in code with known properties: for the model tests, the accuracy check and the benchmark."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from riskbatch.inputs.files import Market
from riskbatch.inputs.sample import business_days

BUSINESS_DATE = dt.date(2026, 11, 25)


def market_from_covariance(cov: np.ndarray, days: int = 500, seed: int = 1) -> Market:
    """A price history whose daily log returns have (close to) the given covariance."""
    rng = np.random.default_rng(seed)
    factors = cov.shape[0]
    returns = rng.multivariate_normal(np.zeros(factors), cov, size=days - 1, method="cholesky")
    prices = 100.0 * np.exp(np.vstack([np.zeros(factors), np.cumsum(returns, axis=0)]))
    names = [f"EQ_{i:04d}" for i in range(factors)]
    return Market(BUSINESS_DATE, business_days(BUSINESS_DATE, days), names, prices, {name: i for i, name in enumerate(names)})


def linear_book(exposures: dict[str, dict[int, float]], market: Market) -> pa.Table:
    """Equity positions with the given exposure (quantity x spot) per portfolio and factor."""
    rows = [(portfolio, factor, exposure) for portfolio, by_factor in exposures.items() for factor, exposure in by_factor.items()]
    return pa.table(
        {
            "portfolio_id": [portfolio for portfolio, _, _ in rows],
            "position_id": [f"P{i}" for i in range(len(rows))],
            "instrument_type": ["equity"] * len(rows),
            "underlying": [market.factors[factor] for _, factor, _ in rows],
            "quantity": [exposure / market.spot[factor] for _, factor, exposure in rows],
            "strike": pa.nulls(len(rows), pa.float64()),
            "expiry": pa.nulls(len(rows), pa.date32()),
            "option_type": pa.nulls(len(rows), pa.string()),
            "implied_vol": pa.nulls(len(rows), pa.float64()),
        }
    )


def option_book(market: Market, strike_ratio: float, years: float, vol: float, quantity: float) -> pa.Table:
    """One call on the first factor."""
    return pa.table(
        {
            "portfolio_id": ["PF1"],
            "position_id": ["O1"],
            "instrument_type": ["option"],
            "underlying": [market.factors[0]],
            "quantity": [quantity],
            "strike": [float(market.spot[0] * strike_ratio)],
            "expiry": pa.array([market.business_date + dt.timedelta(days=round(years * 365))], pa.date32()),
            "option_type": ["call"],
            "implied_vol": [vol],
        }
    )

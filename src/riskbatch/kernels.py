"""Compiled kernels for the option revaluation, the step that dominates a night.

One pass over (scenario, option): the shocked spot, the full Black-Scholes price at the
horizon, the change from today's price, weighted into each portfolio that holds the option.
Scenarios are independent rows, processed in parallel; each row sums its options in a fixed
order, so the result does not depend on the number of threads.
"""

from __future__ import annotations

import math

import numba
import numpy as np

_SQRT_HALF = 1.0 / math.sqrt(2.0)


@numba.njit(inline="always")
def _normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x * _SQRT_HALF)


@numba.njit(parallel=True, cache=True)
def option_pnl_into(
    returns: np.ndarray,  # scenarios x factors (log returns over the horizon)
    factor: np.ndarray,  # per unique option: factor column
    spot: np.ndarray,  # per unique option: today's spot of its underlying
    strike: np.ndarray,
    years: np.ndarray,  # time to expiry at the horizon
    vol: np.ndarray,
    is_call: np.ndarray,
    base_price: np.ndarray,  # today's price
    rate: float,
    entry_start: np.ndarray,  # CSR over unique options: their (portfolio, quantity) entries
    entry_portfolio: np.ndarray,
    entry_quantity: np.ndarray,
    out: np.ndarray,  # scenarios x portfolios, accumulated into
) -> None:
    options = factor.shape[0]
    root = np.empty(options)
    discounted = np.empty(options)
    drift = np.empty(options)
    for u in range(options):
        t = max(years[u], 1e-12)
        root[u] = vol[u] * math.sqrt(t)
        discounted[u] = strike[u] * math.exp(-rate * t)
        drift[u] = (rate + 0.5 * vol[u] * vol[u]) * t
    for s in numba.prange(returns.shape[0]):
        for u in range(options):
            shocked = spot[u] * math.exp(returns[s, factor[u]])
            d1 = (math.log(shocked / strike[u]) + drift[u]) / root[u]
            call = shocked * _normal_cdf(d1) - discounted[u] * _normal_cdf(d1 - root[u])
            price = call if is_call[u] else call - shocked + discounted[u]
            change = price - base_price[u]
            for e in range(entry_start[u], entry_start[u + 1]):
                out[s, entry_portfolio[e]] += change * entry_quantity[e]


@numba.njit(parallel=True, cache=True)
def option_change(
    returns: np.ndarray,
    factor: np.ndarray,
    spot: np.ndarray,
    strike: np.ndarray,
    years: np.ndarray,
    vol: np.ndarray,
    is_call: np.ndarray,
    base_price: np.ndarray,
    rate: float,
) -> np.ndarray:
    """Change in value of one unit of each unique option in each scenario (scenarios x options)."""
    options = factor.shape[0]
    result = np.empty((returns.shape[0], options))
    for s in numba.prange(returns.shape[0]):
        for u in range(options):
            t = max(years[u], 1e-12)
            root = vol[u] * math.sqrt(t)
            discounted = strike[u] * math.exp(-rate * t)
            shocked = spot[u] * math.exp(returns[s, factor[u]])
            d1 = (math.log(shocked / strike[u]) + (rate + 0.5 * vol[u] * vol[u]) * t) / root
            call = shocked * _normal_cdf(d1) - discounted * _normal_cdf(d1 - root)
            price = call if is_call[u] else call - shocked + discounted
            result[s, u] = price - base_price[u]
    return result

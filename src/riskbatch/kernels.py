"""Compiled kernels for the option revaluation, the step that dominates a night.

One pass over (scenario, option): the shocked spot (and implied volatility, where the option has
a vol factor), the full Black-Scholes-Merton price at the horizon, the change from today's price
converted into the reporting currency at the scenario's exchange rate, weighted into each
portfolio that holds the option. Scenarios are independent rows, processed in parallel; each
row sums its options in a fixed order, so the result does not depend on the number of threads.
"""

from __future__ import annotations

import math

import numba
import numpy as np

_SQRT_HALF = 1.0 / math.sqrt(2.0)


@numba.njit(inline="always")
def _normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x * _SQRT_HALF)


# The unique options' terms, one array each (or the rate, per option), as engine._kernel_inputs
# builds them: factor column of the underlying, today's spot, strike, years to expiry at the
# horizon, today's implied volatility, vol factor column (-1: fixed), is_call, today's price in the
# underlying's currency, rate of its currency, the underlying's dividend yield, the FX factor
# column of its currency (-1: the reporting currency) and the sign of that factor's log return.
Terms = tuple


@numba.njit(inline="always")
def _change(returns: np.ndarray, s: int, u: int, terms: Terms) -> float:
    """Scenario s's change in value of one unit of option u, in the reporting currency per unit
    of today's exchange rate (the quantities carry that rate)."""
    factor, spot, strike, years, vol, vol_factor, is_call, base_price, rate, dividend, fx_factor, fx_sign = terms
    t = max(years[u], 1e-12)
    sigma = vol[u] if vol_factor[u] < 0 else vol[u] * math.exp(returns[s, vol_factor[u]])
    root = sigma * math.sqrt(t)
    discounted = strike[u] * math.exp(-rate[u] * t)
    shocked = spot[u] * math.exp(returns[s, factor[u]])
    forward_spot = shocked * math.exp(-dividend[u] * t)
    d1 = (math.log(shocked / strike[u]) + (rate[u] - dividend[u] + 0.5 * sigma * sigma) * t) / root
    call = forward_spot * _normal_cdf(d1) - discounted * _normal_cdf(d1 - root)
    price = call if is_call[u] else call - forward_spot + discounted
    if fx_factor[u] >= 0:
        price *= math.exp(fx_sign[u] * returns[s, fx_factor[u]])
    return price - base_price[u]


@numba.njit(parallel=True, cache=True)
def option_pnl_into(
    returns: np.ndarray,  # scenarios x factors (log returns over the horizon)
    terms: Terms,
    entry_start: np.ndarray,  # CSR over unique options: their (portfolio, quantity) entries
    entry_portfolio: np.ndarray,
    entry_quantity: np.ndarray,  # quantity x multiplier x today's exchange rate
    out: np.ndarray,  # scenarios x portfolios, accumulated into
) -> None:
    for s in numba.prange(returns.shape[0]):
        for u in range(terms[0].shape[0]):
            change = _change(returns, s, u, terms)
            for e in range(entry_start[u], entry_start[u + 1]):
                out[s, entry_portfolio[e]] += change * entry_quantity[e]


@numba.njit(parallel=True, cache=True)
def option_change(returns: np.ndarray, terms: Terms) -> np.ndarray:
    """Change in value of one unit of each unique option in each scenario (scenarios x options)."""
    result = np.empty((returns.shape[0], terms[0].shape[0]))
    for s in numba.prange(returns.shape[0]):
        for u in range(terms[0].shape[0]):
            result[s, u] = _change(returns, s, u, terms)
    return result

"""Compiled kernels for the option revaluation, the step that dominates a night.

One pass over (scenario, option): the shocked spot (and implied volatility, where the option has
a vol factor), the full Black-Scholes-Merton price at the horizon, the change from today's price
converted into the reporting currency at the scenario's exchange rate, weighted into each
portfolio that holds the option. Scenarios are independent rows, processed in parallel; each
row sums its options in a fixed order, so the result does not depend on the number of threads.

The options' terms are separate arrays, not a tuple: numba compiles tuple access of this many
arrays into a kernel a third slower (make bench measures the kernel against its bound).
"""

from __future__ import annotations

import math

import numba
import numpy as np

_SQRT_HALF = 1.0 / math.sqrt(2.0)


@numba.njit(inline="always")
def _normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x * _SQRT_HALF)


@numba.njit(cache=True)
def _constants(strike: np.ndarray, years: np.ndarray, rate: np.ndarray, dividend: np.ndarray) -> tuple:
    """What does not depend on the scenario, once per option: the root of the time to expiry, the
    discounted strike, the dividend carry exp(-q t), and (rate - q) t."""
    count = strike.shape[0]
    root_t, discounted, carry, drift = np.empty(count), np.empty(count), np.empty(count), np.empty(count)
    for u in range(count):
        t = max(years[u], 1e-12)
        root_t[u] = math.sqrt(t)
        discounted[u] = strike[u] * math.exp(-rate[u] * t)
        carry[u] = math.exp(-dividend[u] * t)
        drift[u] = (rate[u] - dividend[u]) * t
    return root_t, discounted, carry, drift


@numba.njit(inline="always")
def _change(returns, s, u, factor, spot, strike, vol, vol_factor, is_call, base_price, fx_factor, fx_sign, root_t, discounted, carry, drift) -> float:
    """Scenario s's change in value of one unit of option u, in the reporting currency per unit
    of today's exchange rate (the quantities carry that rate)."""
    sigma = vol[u] if vol_factor[u] < 0 else vol[u] * math.exp(returns[s, vol_factor[u]])
    root = sigma * root_t[u]
    shocked = spot[u] * math.exp(returns[s, factor[u]])
    d1 = (math.log(shocked / strike[u]) + drift[u]) / root + 0.5 * root
    forward_spot = shocked * carry[u]
    call = forward_spot * _normal_cdf(d1) - discounted[u] * _normal_cdf(d1 - root)
    price = call if is_call[u] else call - forward_spot + discounted[u]
    if fx_factor[u] >= 0:
        price *= math.exp(fx_sign[u] * returns[s, fx_factor[u]])
    return price - base_price[u]


@numba.njit(parallel=True, cache=True)
def option_pnl_into(
    returns: np.ndarray,  # scenarios x factors (log returns over the horizon)
    factor: np.ndarray,  # per unique option: factor column of its underlying
    spot: np.ndarray,  # today's spot of its underlying
    strike: np.ndarray,
    years: np.ndarray,  # time to expiry at the horizon
    vol: np.ndarray,  # today's implied volatility
    vol_factor: np.ndarray,  # factor column of its implied volatility, or -1 (volatility fixed)
    is_call: np.ndarray,
    base_price: np.ndarray,  # today's price, in the underlying's currency
    rate: np.ndarray,  # of the option's currency
    dividend: np.ndarray,  # the underlying's continuous dividend yield
    fx_factor: np.ndarray,  # factor column of the rate into the reporting currency, or -1
    fx_sign: np.ndarray,  # +1 or -1: the sign of that rate's log return in the conversion
    entry_start: np.ndarray,  # CSR over unique options: their (portfolio, quantity) entries
    entry_portfolio: np.ndarray,
    entry_quantity: np.ndarray,  # quantity x multiplier x today's exchange rate
    out: np.ndarray,  # scenarios x portfolios, accumulated into
) -> None:
    root_t, discounted, carry, drift = _constants(strike, years, rate, dividend)
    for s in numba.prange(returns.shape[0]):
        for u in range(factor.shape[0]):
            change = _change(returns, s, u, factor, spot, strike, vol, vol_factor, is_call, base_price, fx_factor, fx_sign, root_t, discounted, carry, drift)
            for e in range(entry_start[u], entry_start[u + 1]):
                out[s, entry_portfolio[e]] += change * entry_quantity[e]


@numba.njit(parallel=True, cache=True)
def option_change(returns, factor, spot, strike, years, vol, vol_factor, is_call, base_price, rate, dividend, fx_factor, fx_sign) -> np.ndarray:
    """Change in value of one unit of each unique option in each scenario (scenarios x options);
    the arguments as option_pnl_into's."""
    root_t, discounted, carry, drift = _constants(strike, years, rate, dividend)
    result = np.empty((returns.shape[0], factor.shape[0]))
    for s in numba.prange(returns.shape[0]):
        for u in range(factor.shape[0]):
            result[s, u] = _change(
                returns, s, u, factor, spot, strike, vol, vol_factor, is_call, base_price, fx_factor, fx_sign, root_t, discounted, carry, drift
            )
    return result

"""Compiled kernels for the option revaluation, the step that dominates a night.

One pass over (scenario, option): the shocked spot (and implied volatility, where the option has
a vol factor), the full Black-Scholes-Merton price at the horizon, the change from today's price
converted into the reporting currency at the scenario's exchange rate, weighted into each
portfolio that holds the option. Scenarios are cut into chunks processed in parallel; each
chunk sums its options in a fixed order, so the result does not depend on the number of threads.

Vectorised (SIMD) over the scenarios of a chunk, which is why the arrays are factor-major
(factors x scenarios) and the P&L portfolio-major: one option's factor returns over a chunk are
contiguous, where a scenario-major row would need a gather that LLVM does not vectorise. The
arithmetic of one scenario (exponential, normal tails, price) is riskbatch.model.kernel_math's.
error_model="numpy" lets a division by zero give inf rather than raise: the check numba inserts
otherwise stops LLVM from vectorising any loop that divides.

Each piece of work is done where it is cheapest: exp of an underlying's move (and of its volatility's and its currency's) once per
factor and scenario, not per option (the options come sorted by underlying, and a chunk's exponentials are kept while the next
option shares the row); 1 / (sigma sqrt t) and 1 / the discounted strike once per option; |d1| and |d2| capped at 37 once for both
tail polynomials and the Gaussian factor (whose exponential then needs no clamp); the two normal tails of a price from one
division (each tail a fraction, both over the product of their denominators; Hart's rational throughout); a chunk's prices in short
passes (_prices), each with few enough constants to keep them in AVX2's sixteen registers (the tails' numerators and denominators
in passes of their own: together they spilled to the stack); an option held by one portfolio weighted straight into that
portfolio's row by the pass that prices it (no pass over a change array in between); fused multiply-adds (fastmath={"contract"}).
On a processor without FMA (the generic target) the same code rounds each product separately: the P&L of the two targets differ
in their last digits, as BLAS's products already did between processors. The options' terms are separate arrays, not a tuple:
numba compiled tuple access of them a third slower.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from riskbatch.model.kernel_math import (
    CONTRACT,
    KERNEL_CONSTANTS,
    d_one,
    exp_terms,
    exp_with,
    exp_within,
    fast_expm1,
    price_from_tails,
    tail_bottom,
    tail_constants,
    tail_top,
)
from riskbatch.model.kernel_math import call_price as call_price  # re-exported: the bench counts its flops
from riskbatch.model.kernel_math import fast_exp as fast_exp
from riskbatch.model.kernel_math import normal_cdf_given as normal_cdf_given

__all__ = ["KERNEL_CONSTANTS", "growth_into", "linear_pnl", "option_change", "option_pnl_into"]

CHUNK = 256  # scenarios a thread revalues together: one vector loop per option and chunk


@numba.njit(cache=True, error_model="numpy")
def _constants(spot: np.ndarray, strike: np.ndarray, years: np.ndarray, vol: np.ndarray, rate: np.ndarray, dividend: np.ndarray) -> tuple:
    """What does not depend on the scenario, once per option: sigma sqrt(t) and its reciprocal, the
    forward value of today's spot spot e^(-qt), the discounted strike and its reciprocal, and
    ln(forward / discounted strike)."""
    count = strike.shape[0]
    root, forward, discounted, log_ratio = np.empty(count), np.empty(count), np.empty(count), np.empty(count)
    inverse_root, inverse_discounted = np.empty(count), np.empty(count)
    for u in range(count):
        t = max(years[u], 1e-12)
        root[u] = vol[u] * math.sqrt(t)
        forward[u] = spot[u] * math.exp(-dividend[u] * t)
        discounted[u] = strike[u] * math.exp(-rate[u] * t)
        log_ratio[u] = math.log(spot[u] / strike[u]) + (rate[u] - dividend[u]) * t
        inverse_root[u] = 1.0 / root[u]
        inverse_discounted[u] = 1.0 / discounted[u]
    return root, forward, discounted, log_ratio, inverse_root, inverse_discounted


@numba.njit(inline="always", fastmath=CONTRACT, error_model="numpy")
def _factor_growth(returns, start, count, factor, vol_factor, fx_factor, fx_sign, u, seen, growth, vol_up, vol_down, fx_growth, e) -> None:
    """exp of option u's underlying move (and of its volatility's and its currency's) in scenarios
    start..: taken when the row differs from the previous option's, so once per factor and scenario
    where the options come sorted by underlying (build_book's order). `seen` holds the rows (and
    the currency's sign) the buffers were last filled for."""
    if factor[u] != seen[0]:
        moves = returns[factor[u], start : start + count]
        for i in range(count):
            growth[i] = exp_with(moves[i], e)
        seen[0] = factor[u]
    if vol_factor[u] >= 0 and vol_factor[u] != seen[1]:
        vol_moves = returns[vol_factor[u], start : start + count]
        for i in range(count):
            vol_up[i] = exp_with(vol_moves[i], e)
            vol_down[i] = exp_with(-vol_moves[i], e)
        seen[1] = vol_factor[u]
    sign = np.int64(fx_sign[u])
    if fx_factor[u] >= 0 and (fx_factor[u] != seen[2] or sign != seen[3]):
        fx_moves = returns[fx_factor[u], start : start + count]
        for i in range(count):
            fx_growth[i] = exp_with(fx_sign[u] * fx_moves[i], e)
        seen[2], seen[3] = fx_factor[u], sign


SCRATCH = 5  # rows of a chunk's scratch, each 2 x CHUNK long: d1 (then the root), |d1| and |d2|, their tails' tops and bottoms, gauss


@numba.njit(inline="always", fastmath=CONTRACT, error_model="numpy")
def _prices(count, moves, m, s, inverse_s, moving, vol_up, vol_down, scratch, e, h) -> None:
    """The first three passes of a chunk's prices (call_price's arithmetic): d1 and both |d|, the
    Gaussian factor, the tails' terms. Passes, not one loop: a price needs about forty constants,
    more than AVX2's sixteen vector registers; a pass keeps its own in registers, and its short
    iterations overlap where one long loop's dependency chains did not."""
    d1, z, top, bottom, gauss = scratch[0], scratch[1], scratch[2], scratch[3], scratch[4]
    cap = h[0]  # |d| capped once here for both tail polynomials and the Gaussian factor (exp then needs no clamp)
    if moving:
        for i in range(count):
            root = s * vol_up[i]
            x = d_one(m + moves[i], root, inverse_s * vol_down[i])
            d1[i], d1[count + i] = x, root
            capped = min(abs(x), cap)
            z[i], z[count + i] = capped, min(abs(x - root), cap)
            gauss[i] = -0.5 * capped * capped
    else:
        for i in range(count):
            x = d_one(m + moves[i], s, inverse_s)
            d1[i], d1[count + i] = x, s
            capped = min(abs(x), cap)
            z[i], z[count + i] = capped, min(abs(x - s), cap)
            gauss[i] = -0.5 * capped * capped
    half = count // 2
    for i in range(half):
        gauss[i], gauss[half + i] = exp_within(gauss[i], e), exp_within(gauss[half + i], e)
    for i in range(2 * half, count):
        gauss[i] = exp_within(gauss[i], e)
    tails_into(2 * count, z, top, bottom, h)


@numba.njit(inline="always", fastmath=CONTRACT, error_model="numpy")
def tails_into(count, z, top, bottom, h) -> None:
    """The tails' terms of z[:count] (each already capped at h[0], as tails_with caps it): numerators, then denominators, each pass with its eight constants
    in registers (in one loop, the sixteen and their four chains spilled to the stack at every iteration)."""
    for j in range(count):
        top[j] = tail_top(z[j], h)
    for j in range(count):
        bottom[j] = tail_bottom(z[j], h)


@numba.njit(inline="always", fastmath=CONTRACT, error_model="numpy")
def _price_at(i, count, scratch, growth, f0, d, inverse_d, put) -> float:
    """Scenario i's price from _prices' passes (a put by parity)."""
    d1, top, bottom, gauss = scratch[0], scratch[2], scratch[3], scratch[4]
    shocked = f0 * growth[i]
    tails = (top[i], bottom[i], top[count + i], bottom[count + i])
    return price_from_tails(d1[i], d1[count + i], gauss[i], tails, shocked, d, inverse_d) + put * (d - shocked)


@numba.njit(inline="always", fastmath=CONTRACT, error_model="numpy")
def _changes(
    returns, start, count, u, factor, vol_factor, is_call, base_price, fx_factor, fx_sign, terms, buffers, seen, change, scratch, e, h, holder, weight
) -> None:
    """The change in value of one unit of option u in scenarios start.., in the reporting currency per
    unit of today's exchange rate (the quantities carry that rate): weighted into `holder` (its one
    holder's row) where that is not empty, else into change[:count]."""
    root, forward, discounted, log_ratio, inverse_root, inverse_discounted = terms
    growth, vol_up, vol_down, fx_growth = buffers[0], buffers[1], buffers[2], buffers[3]
    _factor_growth(returns, start, count, factor, vol_factor, fx_factor, fx_sign, u, seen, growth, vol_up, vol_down, fx_growth, e)
    moves = returns[factor[u], start : start + count]
    put = 0.0 if is_call[u] else 1.0
    f0, d, inverse_d, base = forward[u], discounted[u], inverse_discounted[u], base_price[u]
    _prices(count, moves, log_ratio[u], root[u], inverse_root[u], vol_factor[u] >= 0, vol_up, vol_down, scratch, e, h)
    converted = fx_factor[u] >= 0
    if holder.shape[0] and converted:
        for i in range(count):
            holder[i] += (_price_at(i, count, scratch, growth, f0, d, inverse_d, put) * fx_growth[i] - base) * weight
    elif holder.shape[0]:
        for i in range(count):
            holder[i] += (_price_at(i, count, scratch, growth, f0, d, inverse_d, put) - base) * weight
    elif converted:
        for i in range(count):
            change[i] = _price_at(i, count, scratch, growth, f0, d, inverse_d, put) * fx_growth[i] - base
    else:
        for i in range(count):
            change[i] = _price_at(i, count, scratch, growth, f0, d, inverse_d, put) - base


@numba.njit(parallel=True, cache=True, fastmath=CONTRACT, error_model="numpy")
def growth_into(extended: np.ndarray, currency_row: np.ndarray, out: np.ndarray) -> None:
    """out = exp(r) - 1 of the augmented returns, row by row on every core: a factor's own return
    plus its currency's (currency_row: that currency's row in `extended`, or -1 for the reporting
    currency's factors and for the currencies' own rows)."""
    scenarios = extended.shape[1]
    for row in numba.prange(extended.shape[0]):
        moves, into = extended[row], out[row]
        if currency_row[row] >= 0:
            currency = extended[currency_row[row]]
            for i in range(scenarios):
                into[i] = fast_expm1(moves[i] + currency[i])
        else:
            for i in range(scenarios):
                into[i] = fast_expm1(moves[i])


@numba.njit(parallel=True, cache=True, error_model="numpy")
def linear_pnl(growth: np.ndarray, start: np.ndarray, column: np.ndarray, weight: np.ndarray, portfolios: int) -> np.ndarray:
    """The linear P&L, portfolios x scenarios: the book's exposures (CSR by portfolio: the columns
    it is exposed to and the exposures) times exp(r) - 1 (growth, columns x scenarios). Here and
    not a BLAS product: a unit's exposures touch few columns, so this reads only those rows, and
    between two compiled kernels a BLAS call leaves its threads spinning on the cores the next
    kernel needs (make bench saw a unit's revaluation twice as slow for it)."""
    scenarios = growth.shape[1]
    out = np.empty((portfolios, scenarios))
    for chunk in numba.prange((scenarios + CHUNK - 1) // CHUNK):
        first = chunk * CHUNK
        count = min(CHUNK, scenarios - first)
        for p in range(portfolios):
            into = out[p, first : first + count]
            into[:] = 0.0
            for k in range(start[p], start[p + 1]):
                exposure, moves = weight[k], growth[column[k], first : first + count]
                for i in range(count):
                    into[i] += exposure * moves[i]
    return out


@numba.njit(parallel=True, cache=True, fastmath=CONTRACT, error_model="numpy")
def option_pnl_into(
    returns: np.ndarray,  # factors x scenarios (log returns over the horizon), C order
    factor: np.ndarray,  # per unique option: factor row of its underlying
    spot: np.ndarray,  # today's spot of its underlying
    strike: np.ndarray,
    years: np.ndarray,  # time to expiry at the horizon
    vol: np.ndarray,  # today's implied volatility
    vol_factor: np.ndarray,  # factor row of its implied volatility, or -1 (volatility fixed)
    is_call: np.ndarray,
    base_price: np.ndarray,  # today's price, in the underlying's currency
    rate: np.ndarray,  # of the option's currency
    dividend: np.ndarray,  # the underlying's continuous dividend yield
    fx_factor: np.ndarray,  # row of the rate into the reporting currency, or -1
    fx_sign: np.ndarray,  # +1 or -1: the sign of that rate's log return in the conversion
    entry_start: np.ndarray,  # CSR over unique options: their (portfolio, quantity) entries
    entry_portfolio: np.ndarray,
    entry_quantity: np.ndarray,  # quantity x multiplier x today's exchange rate
    out: np.ndarray,  # portfolios x scenarios, C order, accumulated into
    constants: np.ndarray,  # KERNEL_CONSTANTS
) -> None:
    terms = _constants(spot, strike, years, vol, rate, dividend)
    exp_c, tail_c = exp_terms(constants), tail_constants(constants)
    scenarios = returns.shape[1]
    for chunk in numba.prange((scenarios + CHUNK - 1) // CHUNK):
        start = chunk * CHUNK
        count = min(CHUNK, scenarios - start)
        change, buffers, seen = np.empty(CHUNK), np.empty((4, CHUNK)), np.full(4, -2, np.int64)
        scratch = (np.empty(2 * CHUNK), np.empty(2 * CHUNK), np.empty(2 * CHUNK), np.empty(2 * CHUNK), np.empty(2 * CHUNK))  # apart: no aliasing to check
        nobody = np.empty(0)
        for u in range(factor.shape[0]):
            first, holders = entry_start[u], entry_start[u + 1] - entry_start[u]
            holder = out[entry_portfolio[first], start : start + count] if holders == 1 else nobody
            weight = entry_quantity[first] if holders == 1 else 0.0
            _changes(
                returns,
                start,
                count,
                u,
                factor,
                vol_factor,
                is_call,
                base_price,
                fx_factor,
                fx_sign,
                terms,
                buffers,
                seen,
                change,
                scratch,
                exp_c,
                tail_c,
                holder,
                weight,
            )
            if holders == 1:
                continue
            for e in range(entry_start[u], entry_start[u + 1]):
                weight, into = entry_quantity[e], out[entry_portfolio[e], start : start + count]
                for i in range(count):
                    into[i] += change[i] * weight


@numba.njit(parallel=True, cache=True, fastmath=CONTRACT, error_model="numpy")
def option_change(returns, factor, spot, strike, years, vol, vol_factor, is_call, base_price, rate, dividend, fx_factor, fx_sign, constants) -> np.ndarray:
    """Change in value of one unit of each unique option in each scenario (scenarios x options);
    the arguments as option_pnl_into's."""
    terms = _constants(spot, strike, years, vol, rate, dividend)
    exp_c, tail_c = exp_terms(constants), tail_constants(constants)
    scenarios = returns.shape[1]
    result = np.empty((scenarios, factor.shape[0]))
    for chunk in numba.prange((scenarios + CHUNK - 1) // CHUNK):
        start = chunk * CHUNK
        count = min(CHUNK, scenarios - start)
        change, buffers, seen = np.empty(CHUNK), np.empty((4, CHUNK)), np.full(4, -2, np.int64)
        scratch = (np.empty(2 * CHUNK), np.empty(2 * CHUNK), np.empty(2 * CHUNK), np.empty(2 * CHUNK), np.empty(2 * CHUNK))  # apart: no aliasing to check
        nobody = np.empty(0)
        for u in range(factor.shape[0]):
            _changes(
                returns,
                start,
                count,
                u,
                factor,
                vol_factor,
                is_call,
                base_price,
                fx_factor,
                fx_sign,
                terms,
                buffers,
                seen,
                change,
                scratch,
                exp_c,
                tail_c,
                nobody,
                0.0,
            )
            result[start : start + count, u] = change[:count]
    return result

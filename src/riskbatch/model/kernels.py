"""Compiled kernels for the option revaluation, the step that dominates a night.

One pass over (scenario, option): the shocked spot (and implied volatility, where the option has
a vol factor), the full Black-Scholes-Merton price at the horizon, the change from today's price
converted into the reporting currency at the scenario's exchange rate, weighted into each
portfolio that holds the option. Scenarios are cut into chunks processed in parallel; each
chunk sums its options in a fixed order, so the result does not depend on the number of threads.

Vectorised (SIMD) over the scenarios of a chunk, which is why the arrays are factor-major
(factors x scenarios) and the P&L portfolio-major: one option's factor returns over a chunk are
contiguous, where a scenario-major row would need a gather that LLVM does not vectorise.
math.exp and math.erfc are library calls LLVM cannot vectorise either (numba's vector versions
come from Intel's SVML, which the PyPI llvmlite is not built with), so the exponential and the
normal distribution function are written out below as branch-free polynomials; test_kernels.py
holds them to within a few units in the last place of the library's. error_model="numpy" lets a
division by zero give inf rather than raise: the check numba inserts otherwise stops LLVM from
vectorising any loop that divides.

Each piece of work is done where it is cheapest: exp of an underlying's move (and of its volatility's and its currency's) once per
factor and scenario, not per option (the options come sorted by underlying, and a chunk's exponentials are kept while the next
option shares the row); 1 / (sigma sqrt t) and 1 / the discounted strike once per option; the two normal tails of a price from one
division (each tail a fraction, both over the product of their denominators; Hart's rational throughout, no second branch
evaluated beside it); a chunk's prices in short passes (_prices), whose constants are passed in as data (KERNEL_CONSTANTS) so that
they stay in registers; and fused multiply-adds (fastmath={"contract"}: contraction only, never reassociation, so each sum keeps
its written order and the result does not depend on the number of threads). On a processor without FMA (the generic target) the
same code rounds each product separately: the P&L of the two targets differ in their last digits, as BLAS's products already did
between processors. The options' terms are separate arrays, not a tuple: numba compiled tuple access of them a third slower.
"""

from __future__ import annotations

import math

import llvmlite.ir
import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

CONTRACT = {"contract"}  # fused multiply-adds only: no reassociation, so the written order of each sum stays
CHUNK = 256  # scenarios a thread revalues together: one vector loop per option and chunk
_LOG2E = 1.4426950408889634
_ROUNDING = 6755399441055744.0  # 1.5 x 2**52: x + it rounds x to an integer, held in the sum's low bits
_LN2_HI = 6.93147180369123816490e-01  # ln 2 in two parts (Cody and Waite): k x _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_EXP_MIN, _EXP_MAX = -708.0, 709.0  # 2**k stays a normal double; below, exp is 0 for our purposes


@intrinsic
def _bits_as_double(typingctx, bits):
    """The float64 whose IEEE 754 bits are the int64 given (2**k from k + 1023 shifted into the exponent)."""

    def codegen(context, builder, signature, arguments):
        return builder.bitcast(arguments[0], llvmlite.ir.DoubleType())

    return types.float64(types.int64), codegen


@intrinsic
def _double_as_bits(typingctx, value):
    """The int64 holding the IEEE 754 bits of the float64 given."""

    def codegen(context, builder, signature, arguments):
        return builder.bitcast(arguments[0], llvmlite.ir.IntType(64))

    return types.int64(types.float64), codegen


# exp's constants: the clamp, the reduction's, then e^r's Taylor coefficients from 1/12! down to 1
EXP_TERMS = (_EXP_MIN, _EXP_MAX, _LOG2E, _ROUNDING, _LN2_HI, _LN2_LO, 2.08767569878680989792e-09, 2.50521083854417187751e-08, 2.75573192239858906526e-07,
             2.75573192239858906526e-06, 2.48015873015873015873e-05, 1.98412698412698412698e-04, 1.38888888888888888889e-03, 8.33333333333333333333e-03,
             4.16666666666666666667e-02, 1.66666666666666666667e-01, 0.5, 1.0, 1.0)  # fmt: skip
# the normal tail's: the cap, then Hart's numerator's coefficients (z^6 down to 1), then his denominator's (z^7 down to 1)
TAIL_TERMS = (37.0, 3.52624965998911e-02, 0.700383064443688, 6.37396220353165, 33.912866078383, 112.079291497871, 221.213596169931, 220.206867912376,
              8.83883476483184e-02, 1.75566716318264, 16.064177579207, 86.7807322029461, 296.564248779674, 637.333633378831, 793.826512519948,
              440.413735824752)  # fmt: skip
# Both, as data the option kernels take: a constant compiled into a vector loop is reloaded at every iteration (LLVM
# rematerialises it), a value passed in stays in a register (the tails' pass alone ran 1.7 times faster so).
KERNEL_CONSTANTS = np.array(EXP_TERMS + TAIL_TERMS)


@numba.njit(inline="always")
def exp_terms(c: np.ndarray) -> tuple:
    """EXP_TERMS, read from KERNEL_CONSTANTS passed in (two functions, not one returning both: numba's parfor analysis fails on that)."""
    return (c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11], c[12], c[13], c[14], c[15], c[16], c[17], c[18])


@numba.njit(inline="always")
def tail_constants(c: np.ndarray) -> tuple:
    """TAIL_TERMS, read from KERNEL_CONSTANTS passed in."""
    return (c[19], c[20], c[21], c[22], c[23], c[24], c[25], c[26], c[27], c[28], c[29], c[30], c[31], c[32], c[33], c[34])


@numba.njit(inline="always", fastmath=CONTRACT, error_model="numpy")
def exp_with(x: float, c: tuple) -> float:
    """fast_exp with its constants c = EXP_TERMS given (a kernel's loops pass them in)."""
    x = min(max(x, c[0]), c[1])
    shifted = x * c[2] + c[3]
    k = shifted - c[3]
    r = (x - k * c[4]) - k * c[5]
    p = (((c[6] * r + c[7]) * r + c[8]) * r + c[9]) * r + c[10]  # Horner's, from 1/12!
    p = (((p * r + c[11]) * r + c[12]) * r + c[13]) * r + c[14]
    p = (((p * r + c[15]) * r + c[16]) * r + c[17]) * r + c[18]
    return p * _bits_as_double((_double_as_bits(shifted) - _double_as_bits(c[3]) + 1023) << 52)


@numba.njit(inline="always", fastmath=CONTRACT, error_model="numpy")
def fast_exp(x: float) -> float:
    """exp(x) for x in [-708, 709] to about 2 units in the last place; outside it, x is clamped
    (exp(-708) below, exp(709) above: a finite number where the library gives 0 or inf; a log
    move of 709 is no market's): x = k ln 2 + r, |r| <= ln 2 / 2, e^r by its Taylor series to r^12
    (truncation below 2e-16), times 2**k built in the exponent bits. k is rounded by adding
    1.5 x 2**52 (the sum's last bit is the unit), and read from the sum's bits: a double to int64
    conversion has no AVX2 vector instruction, and LLVM would take it one lane at a time."""
    return exp_with(x, EXP_TERMS)


@numba.njit(inline="always", fastmath=CONTRACT, error_model="numpy")
def tails_with(z: float, h: tuple) -> tuple:
    """tail_terms with its constants h = TAIL_TERMS given (a kernel's loops pass them in)."""
    z = min(z, h[0])
    n = ((((h[1] * z + h[2]) * z + h[3]) * z + h[4]) * z + h[5]) * z + h[6]
    n = n * z + h[7]
    d = ((((h[8] * z + h[9]) * z + h[10]) * z + h[11]) * z + h[12]) * z + h[13]
    d = (d * z + h[14]) * z + h[15]
    return (n if z < h[0] else 0.0), d


@numba.njit(inline="always", fastmath=CONTRACT, error_model="numpy")
def tail_terms(z: float) -> tuple:
    """N(-z) = gauss x top / bottom for z >= 0, gauss = exp(-z^2 / 2): Hart's (1968) rational
    approximation (West, "Better approximations to cumulative normal functions", 2005), used beyond
    7.07 too, where West switches to a continued fraction: the rational tends to the Mills ratio's
    asymptote 1 / (sqrt(2 pi) z), so it stays within 4e-8 of the tail relative and 3e-21 absolute up
    to 37, and a price sees absolute error. 0 beyond 37 (z capped there, so no product goes subnormal).
    No division here: the caller divides once for both tails of a price."""
    return tails_with(z, TAIL_TERMS)


@numba.njit(inline="always", fastmath=CONTRACT, error_model="numpy")
def normal_cdf_given(x: float, gauss: float) -> float:
    """N(x), given gauss = exp(-x^2 / 2)."""
    top, bottom = tail_terms(abs(x))
    tail = gauss * top / bottom
    return 1.0 - tail if x > 0.0 else tail


@numba.njit(inline="always", fastmath=CONTRACT, error_model="numpy")
def d_one(moved_ratio: float, root: float, inverse_root: float) -> float:
    """d1 = ln(F / D) / (sigma sqrt t) + sigma sqrt t / 2, by the reciprocal taken once per option."""
    return moved_ratio * inverse_root + 0.5 * root


@numba.njit(inline="always", fastmath=CONTRACT, error_model="numpy")
def price_from_tails(d1: float, root: float, gauss1: float, tails: tuple, forward: float, discounted: float, inverse_discounted: float) -> float:
    """F N(d1) - D N(d2) from gauss1 = exp(-d1^2 / 2) and the tail terms of |d1| and |d2| (top1,
    bottom1, top2, bottom2): N(d2)'s Gaussian factor comes from N(d1)'s, since D n(d2) = F n(d1),
    and both tails from one division."""
    top1, bottom1, top2, bottom2 = tails
    scaled = gauss1 * (1.0 / (bottom1 * bottom2))
    tail1 = scaled * top1 * bottom2
    tail2 = scaled * (forward * inverse_discounted) * top2 * bottom1
    cdf1 = 1.0 - tail1 if d1 > 0.0 else tail1
    cdf2 = 1.0 - tail2 if d1 - root > 0.0 else tail2
    return forward * cdf1 - discounted * cdf2


@numba.njit(inline="always", fastmath=CONTRACT, error_model="numpy")
def call_price(moved_ratio: float, root: float, inverse_root: float, forward: float, discounted: float, inverse_discounted: float) -> float:
    """Black-Scholes-Merton call F N(d1) - D N(d2), F the forward value of the spot (spot e^(-qt)),
    D the discounted strike, moved_ratio = ln(F / D), root = sigma sqrt(t), with the reciprocals of
    root and D given (taken once per option or factor, not per scenario): the arithmetic of one
    scenario of _prices, whose passes call the same pieces."""
    d1 = d_one(moved_ratio, root, inverse_root)
    tails = tail_terms(abs(d1)) + tail_terms(abs(d1 - root))
    return price_from_tails(d1, root, fast_exp(-0.5 * d1 * d1), tails, forward, discounted, inverse_discounted)


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
    if moving:
        for i in range(count):
            root = s * vol_up[i]
            x = d_one(m + moves[i], root, inverse_s * vol_down[i])
            d1[i], d1[count + i] = x, root
            z[i], z[count + i] = abs(x), abs(x - root)
            gauss[i] = -0.5 * x * x
    else:
        for i in range(count):
            x = d_one(m + moves[i], s, inverse_s)
            d1[i], d1[count + i] = x, s
            z[i], z[count + i] = abs(x), abs(x - s)
            gauss[i] = -0.5 * x * x
    half = count // 2
    for i in range(half):
        gauss[i], gauss[half + i] = exp_with(gauss[i], e), exp_with(gauss[half + i], e)
    for i in range(2 * half, count):
        gauss[i] = exp_with(gauss[i], e)
    for i in range(count):
        top[i], bottom[i] = tails_with(z[i], h)
        top[count + i], bottom[count + i] = tails_with(z[count + i], h)


@numba.njit(inline="always", fastmath=CONTRACT, error_model="numpy")
def _changes(returns, start, count, u, factor, vol_factor, is_call, base_price, fx_factor, fx_sign, terms, buffers, seen, change, scratch, e, h) -> None:
    """change[:count]: the change in value of one unit of option u in scenarios start.., in the
    reporting currency per unit of today's exchange rate (the quantities carry that rate)."""
    root, forward, discounted, log_ratio, inverse_root, inverse_discounted = terms
    growth, vol_up, vol_down, fx_growth = buffers[0], buffers[1], buffers[2], buffers[3]
    _factor_growth(returns, start, count, factor, vol_factor, fx_factor, fx_sign, u, seen, growth, vol_up, vol_down, fx_growth, e)
    moves = returns[factor[u], start : start + count]
    put = 0.0 if is_call[u] else 1.0
    f0, d, inverse_d = forward[u], discounted[u], inverse_discounted[u]
    _prices(count, moves, log_ratio[u], root[u], inverse_root[u], vol_factor[u] >= 0, vol_up, vol_down, scratch, e, h)
    d1, top, bottom, gauss = scratch[0], scratch[2], scratch[3], scratch[4]
    for i in range(count):
        shocked = f0 * growth[i]
        tails = (top[i], bottom[i], top[count + i], bottom[count + i])
        change[i] = price_from_tails(d1[i], d1[count + i], gauss[i], tails, shocked, d, inverse_d) + put * (d - shocked)
    base = base_price[u]
    if fx_factor[u] >= 0:
        for i in range(count):
            change[i] = change[i] * fx_growth[i] - base
    else:
        for i in range(count):
            change[i] -= base


@numba.njit(inline="always", fastmath=CONTRACT, error_model="numpy")
def fast_expm1(x: float) -> float:
    """exp(x) - 1 to a few units in the last place of the result: its Taylor series to x^13 for
    |x| < 0.34 (where exp(x) - 1 would lose the leading digits), fast_exp(x) - 1 beyond."""
    p = x * (1.0 / 6227020800.0) + 1.0 / 479001600.0
    p = p * x + 1.0 / 39916800.0
    p = p * x + 1.0 / 3628800.0
    p = p * x + 1.0 / 362880.0
    p = p * x + 1.0 / 40320.0
    p = p * x + 1.0 / 5040.0
    p = p * x + 1.0 / 720.0
    p = p * x + 1.0 / 120.0
    p = p * x + 1.0 / 24.0
    p = p * x + 1.0 / 6.0
    p = p * x + 0.5
    p = p * x + 1.0
    small = p * x
    large = fast_exp(x) - 1.0
    return small if abs(x) < 0.34 else large


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
        for u in range(factor.shape[0]):
            _changes(
                returns, start, count, u, factor, vol_factor, is_call, base_price, fx_factor, fx_sign, terms, buffers, seen, change, scratch, exp_c, tail_c
            )
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
        for u in range(factor.shape[0]):
            _changes(
                returns, start, count, u, factor, vol_factor, is_call, base_price, fx_factor, fx_sign, terms, buffers, seen, change, scratch, exp_c, tail_c
            )
            result[start : start + count, u] = change[:count]
    return result

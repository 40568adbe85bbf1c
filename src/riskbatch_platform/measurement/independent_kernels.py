"""The independent bound's compiled steps, written from the engine's description and sharing no
code with riskbatch.model.kernels: the revaluation of distinct options, the triangular product of the
Cholesky step, the machine's measured peak and the flops an option-scenario costs.

The option step does each piece of work once where it can be done once:

- exp of a factor's move (the underlying's, its volatility's, its currency's) once per factor and
  scenario: the options are grouped by those three rows, and a group's exponentials are taken
  once per chunk of scenarios, then read by every option of the group;
- one division per option and scenario: the two normal tails are each a fraction (Hart's rational,
  which holds the tail to 3e-21 absolute beyond 7.07 too), and both come from one division by the
  product of their denominators; 1 / (sigma sqrt t) and 1 / the discounted strike once per option;
- a contract's prices over a chunk in five short loops rather than one long one: each keeps its
  constants in registers (Hart's numerators and denominators in loops of their own) and its
  iterations overlap; a contract with one holder weighted into it by the loop that prices it;
- fused multiply-adds (fastmath={"contract"}: contraction only, no reassociation, so the numbers
  are those of the written order to within the rounding one FMA saves).

test/platform/measurement/test_engine_bound.py holds each step to the engine's numbers.
"""

from __future__ import annotations

import time

import llvmlite.ir
import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

FAST = {"contract"}
LANES = 256  # scenarios a thread works on at once: a group's exponentials stay in L1
_MAGIC = 6755399441055744.0  # 1.5 x 2**52: x + _MAGIC rounds x to an integer held in the low bits
_LOG2E = 1.4426950408889634
_LN2_A, _LN2_B = 0.6931471803691238, 1.9082149292705877e-10  # ln 2 = A + B, A with trailing zeros: k A is exact
_INV_ROOT_TWO_PI = 0.3989422804014327
_R3, _R4, _R5, _R6, _R7, _R8, _R9, _R10, _R11, _R12, _R13 = (1.0 / k for k in range(3, 14))  # numba freezes globals as constants


@intrinsic
def _as_bits(typingctx, value):
    def codegen(context, builder, signature, arguments):
        return builder.bitcast(arguments[0], llvmlite.ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _from_bits(typingctx, bits):
    def codegen(context, builder, signature, arguments):
        return builder.bitcast(arguments[0], llvmlite.ir.DoubleType())

    return types.float64(types.int64), codegen


# The exponential's numbers (clamp, reduction, then Taylor's 1 / k! for k = 2..12) and the tail's
# (cap, Hart's numerator from z^6 down, his denominator from z^7 down). options_into takes them as
# an array (SERIES): numbers compiled into a vector loop are reloaded from memory at every
# iteration, numbers passed in stay in registers.
_EXP = (-708.0, 709.0, _LOG2E, _MAGIC, _LN2_A, _LN2_B, 0.5, 0.16666666666666666, 0.041666666666666664, 0.008333333333333333, 0.001388888888888889,
        0.0001984126984126984, 2.48015873015873e-05, 2.7557319223985893e-06, 2.755731922398589e-07, 2.505210838544172e-08, 2.08767569878681e-09)  # fmt: skip
_HART = (38.0, 0.0352624965998911, 0.700383064443688, 6.37396220353165, 33.912866078383, 112.079291497871, 221.213596169931,
         220.206867912376, 0.0883883476483184, 1.75566716318264, 16.064177579207, 86.7807322029461, 296.564248779674, 637.333633378831,
         793.826512519948, 440.413735824752)  # fmt: skip
SERIES = np.array(_EXP + _HART)


@numba.njit(inline="always")
def _exp_series(a: np.ndarray) -> tuple:
    """The exponential's 17 numbers of SERIES, passed in."""
    return (a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15], a[16])


@numba.njit(inline="always")
def _tail_series(a: np.ndarray) -> tuple:
    """The tail's 16 numbers of SERIES, passed in."""
    return (a[17], a[18], a[19], a[20], a[21], a[22], a[23], a[24], a[25], a[26], a[27], a[28], a[29], a[30], a[31], a[32])


@numba.njit(inline="always", fastmath=FAST, error_model="numpy")
def exponential_by(x: float, e: tuple) -> float:
    """e^x for x in [-708, 709] (clamped outside): x = k ln 2 + r with k rounded by the 1.5 x 2**52
    trick, e^r by its Taylor polynomial to r^12 in Estrin's scheme, 2**k put in the exponent; the
    numbers from e (_EXP)."""
    x = min(max(x, e[0]), e[1])
    shifted = x * e[2] + e[3]
    k = shifted - e[3]
    r = x - k * e[4] - k * e[5]
    r2 = r * r
    r4 = r2 * r2
    p01 = 1.0 + r
    p23 = e[6] + r * e[7]
    p45 = e[8] + r * e[9]
    p67 = e[10] + r * e[11]
    p89 = e[12] + r * e[13]
    p1011 = e[14] + r * e[15]
    low = p01 + r2 * p23 + r4 * (p45 + r2 * p67)
    high = p89 + r2 * p1011 + r4 * e[16]
    scale = _from_bits((_as_bits(shifted) - _as_bits(e[3]) + 1023) << 52)
    return (low + (r4 * r4) * high) * scale


@numba.njit(inline="always", fastmath=FAST, error_model="numpy")
def exponential(x: float) -> float:
    """e^x, exponential_by with _EXP's numbers compiled in."""
    return exponential_by(x, _EXP)


@numba.njit(inline="always", fastmath=FAST, error_model="numpy")
def hart_numerator(z: float, h: tuple) -> float:
    """Hart's numerator at z (clamped at h[0]): its own pass, so its eight numbers stay in registers."""
    z = min(z, h[0])
    n = (((h[1] * z + h[2]) * z + h[3]) * z + h[4]) * z + h[5]
    return (n * z + h[6]) * z + h[7]


@numba.njit(inline="always", fastmath=FAST, error_model="numpy")
def hart_denominator(z: float, h: tuple) -> float:
    """Hart's denominator at z (clamped at h[0])."""
    z = min(z, h[0])
    d = (((h[8] * z + h[9]) * z + h[10]) * z + h[11]) * z + h[12]
    return ((d * z + h[13]) * z + h[14]) * z + h[15]


@numba.njit(inline="always", fastmath=FAST, error_model="numpy")
def tail_fraction_by(z: float, h: tuple) -> tuple:
    """tail_fraction with its numbers from h (_HART)."""
    return hart_numerator(z, h), hart_denominator(z, h)


@numba.njit(inline="always", fastmath=FAST, error_model="numpy")
def tail_fraction(z: float) -> tuple:
    """N(-z) / n(z) x sqrt(2 pi) as numerator and denominator, z >= 0 (clamped at 38, where N(-z) is
    0 to double precision): Hart's rational throughout. Beyond 7.07, where West takes the continued
    fraction, the rational tends to the Mills ratio 1 / z as the fraction does, and the tail stays
    within 4e-8 relative, 3e-21 absolute, of the library's: absolute error is what a price sees."""
    return tail_fraction_by(z, _HART)


@numba.njit(inline="always", fastmath=FAST, error_model="numpy")
def priced(d1: float, root: float, gauss1: float, a1: float, b1: float, a2: float, b2: float, shocked: float, d: float, inverse_d: float, put: float) -> float:
    """The price from d1, gauss1 = e^(-d1^2/2) and the two tails' fractions (a1 / b1 for |d1|, a2 / b2
    for |d2|): one division for both, D n(d2) = F n(d1) for the second's Gaussian factor."""
    share = gauss1 / (b1 * b2)
    t1 = share * a1 * b2
    t2 = share * (shocked * inverse_d) * a2 * b1
    t1 = t1 if abs(d1) < 37.0 else 0.0  # beyond, e^(-d^2/2) is 0 (the exponential's clamp would leave 1e-308)
    t2 = t2 if abs(d1 - root) < 37.0 else 0.0
    n1 = 1.0 - t1 if d1 > 0.0 else t1
    n2 = 1.0 - t2 if d1 > root else t2
    return shocked * n1 - d * n2 + put * (d - shocked)


@numba.njit(inline="always", fastmath=FAST, error_model="numpy")
def option_value(log_ratio: float, shocked: float, root: float, inverse_root: float, discounted: float, inverse_discounted: float, put: float) -> float:
    """Black-Scholes-Merton price at the horizon, forward-valued: shocked = F e^(move) (the forward
    value of the shocked spot), D the discounted strike, ln(F / D) = log_ratio. One exponential and
    one division: options_into's passes, for one scenario."""
    d1 = log_ratio * inverse_root + 0.5 * root
    a1, b1 = tail_fraction(abs(d1))
    a2, b2 = tail_fraction(abs(d1 - root))
    return priced(d1, root, exponential(-0.5 * d1 * d1), a1, b1, a2, b2, shocked, discounted, inverse_discounted, put)


@numba.njit(parallel=True, fastmath=FAST, error_model="numpy", cache=True)
def options_into(
    returns: np.ndarray,  # rows x scenarios: the factors' log returns, then the currencies'
    group_start: np.ndarray,  # CSR: group g holds contracts group_start[g]:group_start[g + 1]
    group_row: np.ndarray,  # per group: the underlying's row
    group_vol_row: np.ndarray,  # its volatility's row, or -1
    group_fx_row: np.ndarray,  # its currency's row, or -1
    group_fx_sign: np.ndarray,
    log_ratio: np.ndarray,  # per contract: ln(F / D) today
    forward: np.ndarray,  # F = spot e^(-qt)
    root: np.ndarray,  # sigma sqrt(t)
    discounted: np.ndarray,  # D = K e^(-rt)
    put: np.ndarray,  # 1.0 for a put (parity), 0.0 for a call
    today: np.ndarray,  # today's price
    holder_start: np.ndarray,  # CSR: contract c weighs into holder_portfolio[holder_start[c]:...]
    holder_portfolio: np.ndarray,
    holder_weight: np.ndarray,
    pnl: np.ndarray,  # portfolios x scenarios, accumulated into
    series: np.ndarray,  # SERIES
) -> None:
    """A contract's prices over a chunk in five short loops (d1 and both |d|; the Gaussian factor;
    Hart's numerators of both |d|; his denominators; the price, the currency and, for one holder,
    the holder; several holders in a loop each after it): a loop with all of a price's forty constants cannot keep them in AVX2's sixteen
    registers and reloads them at every iteration, where each short loop keeps its own."""
    scenarios = returns.shape[1]
    exp_numbers, tail_numbers = _exp_series(series), _tail_series(series)
    for chunk in numba.prange((scenarios + LANES - 1) // LANES):
        first = chunk * LANES
        count = min(LANES, scenarios - first)
        growth, vol_up, vol_down, fx, roots = np.empty(LANES), np.empty(LANES), np.empty(LANES), np.empty(LANES), np.empty(LANES)
        d1, z1, z2, gauss, change = np.empty(LANES), np.empty(LANES), np.empty(LANES), np.empty(LANES), np.empty(LANES)
        a1, b1, a2, b2 = np.empty(LANES), np.empty(LANES), np.empty(LANES), np.empty(LANES)
        for g in range(group_row.shape[0]):
            moves = returns[group_row[g], first : first + count]
            for i in range(count):
                growth[i] = exponential_by(moves[i], exp_numbers)
            moving = group_vol_row[g] >= 0
            if moving:
                vol_moves = returns[group_vol_row[g], first : first + count]
                for i in range(count):
                    vol_up[i] = exponential_by(vol_moves[i], exp_numbers)
                    vol_down[i] = exponential_by(-vol_moves[i], exp_numbers)
            converted = group_fx_row[g] >= 0
            if converted:
                fx_moves, sign = returns[group_fx_row[g], first : first + count], group_fx_sign[g]
                for i in range(count):
                    fx[i] = exponential_by(sign * fx_moves[i], exp_numbers)
            for c in range(group_start[g], group_start[g + 1]):
                m, f0, s, d, p, base = log_ratio[c], forward[c], root[c], discounted[c], put[c], today[c]
                inverse_s, inverse_d = 1.0 / s, 1.0 / d
                for i in range(count):
                    shocked_root = s * vol_up[i] if moving else s
                    x = (m + moves[i]) * (inverse_s * vol_down[i] if moving else inverse_s) + 0.5 * shocked_root
                    d1[i], roots[i], z1[i], z2[i], gauss[i] = x, shocked_root, abs(x), abs(x - shocked_root), -0.5 * x * x
                for i in range(count):
                    gauss[i] = exponential_by(gauss[i], exp_numbers)
                for i in range(count):  # numerators, then denominators: all of Hart's numbers in one loop spill
                    a1[i], a2[i] = hart_numerator(z1[i], tail_numbers), hart_numerator(z2[i], tail_numbers)
                for i in range(count):
                    b1[i], b2[i] = hart_denominator(z1[i], tail_numbers), hart_denominator(z2[i], tail_numbers)
                alone = holder_start[c + 1] - holder_start[c] == 1  # one holder: weighted in as it is priced
                target = pnl[holder_portfolio[holder_start[c]], first : first + count] if alone else change
                share = holder_weight[holder_start[c]] if alone else 0.0
                for i in range(count):
                    shocked = f0 * growth[i]
                    value = priced(d1[i], roots[i], gauss[i], a1[i], b1[i], a2[i], b2[i], shocked, d, inverse_d, p)
                    moved = (value * fx[i] if converted else value) - base
                    if alone:
                        target[i] += share * moved
                    else:
                        target[i] = moved
                if alone:
                    continue
                for h in range(holder_start[c], holder_start[c + 1]):
                    weight, into = holder_weight[h], pnl[holder_portfolio[h], first : first + count]
                    for i in range(count):
                        into[i] += weight * change[i]


@numba.njit(inline="always", fastmath=FAST, error_model="numpy")
def exponential_less_one(x: float) -> float:
    """e^x - 1 with the relative precision of its result: near 0 (|x| < 0.3) its series
    x (1 + x / 2 (1 + x / 3 (1 + ...))) to x^13 (the reciprocals as constants);
    beyond, e^x - 1 loses no leading digit."""
    p = 1.0 + x * _R13
    p = 1.0 + x * _R12 * p
    p = 1.0 + x * _R11 * p
    p = 1.0 + x * _R10 * p
    p = 1.0 + x * _R9 * p
    p = 1.0 + x * _R8 * p
    p = 1.0 + x * _R7 * p
    p = 1.0 + x * _R6 * p
    p = 1.0 + x * _R5 * p
    p = 1.0 + x * _R4 * p
    p = 1.0 + x * _R3 * p
    p = 1.0 + x * 0.5 * p
    series = x * p
    whole = exponential(x) - 1.0
    return series if abs(x) < 0.3 else whole


@numba.njit(parallel=True, fastmath=FAST, error_model="numpy", cache=True)
def growth_into(returns: np.ndarray, added_row: np.ndarray, out: np.ndarray) -> None:
    """out[r] = e^(returns[r] + returns[added_row[r]]) - 1 (the second term only where added_row[r]
    >= 0: a factor's currency), every row on numba's threads."""
    scenarios = returns.shape[1]
    for r in numba.prange(returns.shape[0]):
        own, into = returns[r], out[r]
        if added_row[r] >= 0:
            other = returns[added_row[r]]
            for i in range(scenarios):
                into[i] = exponential_less_one(own[i] + other[i])
        else:
            for i in range(scenarios):
                into[i] = exponential_less_one(own[i])


@numba.njit(parallel=True, fastmath=FAST, error_model="numpy", cache=True)
def lower_product_into(lower: np.ndarray, normals: np.ndarray, destination: np.ndarray, out: np.ndarray) -> None:
    """out[destination] = lower @ normals for a lower-triangular `lower` (rows x rows) and rows x
    scenarios normals: half the flops of a full product, on numba's threads (no BLAS pool left
    spinning). Four output rows at a time over a chunk of scenarios: each normal read feeds four FMAs."""
    rows, scenarios = normals.shape
    for chunk in numba.prange((scenarios + LANES - 1) // LANES):
        first = chunk * LANES
        count = min(LANES, scenarios - first)
        for top in range(0, rows, 4):
            last = min(top + 4, rows)
            a0, a1, a2, a3 = np.zeros(LANES), np.zeros(LANES), np.zeros(LANES), np.zeros(LANES)
            for j in range(last):
                z = normals[j, first : first + count]
                w0 = lower[top, j]
                w1 = lower[top + 1, j] if top + 1 < last else 0.0
                w2 = lower[top + 2, j] if top + 2 < last else 0.0
                w3 = lower[top + 3, j] if top + 3 < last else 0.0
                for i in range(count):
                    a0[i] += w0 * z[i]
                    a1[i] += w1 * z[i]
                    a2[i] += w2 * z[i]
                    a3[i] += w3 * z[i]
            out[destination[top], first : first + count] = a0[:count]
            for row, values in ((top + 1, a1), (top + 2, a2), (top + 3, a3)):
                if row < last:
                    out[destination[row], first : first + count] = values[:count]


PEAK_ROUNDS = 16  # rounds of eight FMAs per element: written out by LLVM, so the element loop vectorises


@numba.njit(parallel=True, fastmath=FAST, error_model="numpy", cache=True)
def _fma_chains(values: np.ndarray, passes: int) -> None:
    """8 x PEAK_ROUNDS FMAs per element and pass, eight independent chains (enough in flight to
    cover the FMA's latency), vectorised over a row that stays in L1, every thread its own rows."""
    for part in numba.prange(values.shape[0]):
        row = values[part]
        for _ in range(passes):
            for i in range(row.shape[0]):
                x = row[i]
                c0, c1, c2, c3, c4, c5, c6, c7 = x, x + 1.0, x + 2.0, x + 3.0, x + 4.0, x + 5.0, x + 6.0, x + 7.0
                for _ in range(PEAK_ROUNDS):
                    c0 = c0 * 0.999999 + 1e-7
                    c1 = c1 * 0.999999 + 1e-7
                    c2 = c2 * 0.999999 + 1e-7
                    c3 = c3 * 0.999999 + 1e-7
                    c4 = c4 * 0.999999 + 1e-7
                    c5 = c5 * 0.999999 + 1e-7
                    c6 = c6 * 0.999999 + 1e-7
                    c7 = c7 * 0.999999 + 1e-7
                row[i] = (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7) * 0.125 - 3.5


def peak_gflops(repeat: int = 5, passes: int = 200) -> float:
    """The machine's measured double-precision peak on every numba thread, in GFLOP/s: fused
    multiply-adds counted as 2 flops each, the best of `repeat` runs."""
    values = np.random.default_rng(0).random((numba.get_num_threads() * 2, 2048))
    _fma_chains(values[:, :64].copy(), 1)
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        _fma_chains(values, passes)
        best = min(best, time.perf_counter() - started)
    return values.size * passes * PEAK_ROUNDS * 8 * 2 / best / 1e9


FLOP_OPCODES = {"fadd": 1, "fsub": 1, "fmul": 1, "fdiv": 1}


@numba.njit(fastmath=FAST, error_model="numpy")
def _one_option_scenario(move, growth, vol_up, vol_down, fx, m, f0, s, inverse_s, d, inverse_d, p, base, weight, into):
    """One contract in one scenario as options_into's loops do it, with a moving volatility, a
    currency and one holder (the costliest case): what its flops are counted on."""
    change = option_value(m + move, f0 * growth, s * vol_up, inverse_s * vol_down, d, inverse_d, p) * fx - base
    return into + weight * change


def ir_flops(function, signature: tuple) -> int:
    """The floating-point operations (add, subtract, multiply, divide; an FMA is its multiply and its
    add, which LLVM fuses later) in numba's LLVM IR of `function`: compares, selects, min and max
    are not counted."""
    function.compile(signature)
    counted = 0
    for line in function.inspect_llvm(signature).splitlines():
        words = line.split("=", 1)[-1].split()
        counted += FLOP_OPCODES.get(words[0], 0) if words else 0
    return counted


def flops_per_option_scenario() -> int:
    """The flops of one contract in one scenario, counted in the kernel's loop body (the exponentials
    taken once per factor and scenario are not counted: they are not per option)."""
    return ir_flops(_one_option_scenario, (types.float64,) * 15)


def triangular_flops(rows: int, scenarios: int) -> int:
    """Multiply-adds of a lower-triangular rows x rows factor times rows x scenarios: 2 flops each."""
    return rows * (rows + 1) * scenarios

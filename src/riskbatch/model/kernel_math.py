"""The arithmetic of the option kernels (riskbatch.model.kernels), one scenario at a time: an
exponential and the normal distribution function written out as branch-free polynomials (LLVM
cannot vectorise the library's: math.exp and math.erfc are calls, and numba's vector versions come
from Intel's SVML, which the PyPI llvmlite is not built with), and the Black-Scholes-Merton price
built from them. test_kernels.py holds them to within a few units in the last place of the library's.

Their constants are also given as data (KERNEL_CONSTANTS, read by exp_terms and tail_constants): a
constant compiled into a vector loop is reloaded at every iteration (LLVM rematerialises it), a
value passed in stays in a register. fastmath={"contract"}: fused multiply-adds, never
reassociation, so each sum keeps its written order and the result does not depend on the number
of threads.
"""

from __future__ import annotations

import llvmlite.ir
import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

CONTRACT = {"contract"}  # fused multiply-adds only: no reassociation, so the written order of each sum stays
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


# exp's constants: the clamp, the reduction's, then e^r's polynomial's coefficients from r^10 down to 1: a near-minimax fit
# on |r| <= ln 2 / 2 (Chebyshev interpolation in 40 digits, mpmath.chebyfit), within 2.2e-16 of e^r where Taylor's series
# needs r^12 for the same (two fused multiply-adds more in every exponential)
EXP_TERMS = (_EXP_MIN, _EXP_MAX, _LOG2E, _ROUNDING, _LN2_HI, _LN2_LO, 2.7626357241447223e-07, 2.764018079620985e-06, 2.4801504346997686e-05,
             0.00019841170270440067, 0.0013888888932488599, 0.008333333385667782, 0.04166666666657314, 0.16666666666554406, 0.5000000000000006,
             1.0000000000000067, 1.0)  # fmt: skip
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
    return (c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11], c[12], c[13], c[14], c[15], c[16])


@numba.njit(inline="always")
def tail_constants(c: np.ndarray) -> tuple:
    """TAIL_TERMS, read from KERNEL_CONSTANTS passed in."""
    return (c[17], c[18], c[19], c[20], c[21], c[22], c[23], c[24], c[25], c[26], c[27], c[28], c[29], c[30], c[31], c[32])


@numba.njit(inline="always", fastmath=CONTRACT, error_model="numpy")
def exp_with(x: float, c: tuple) -> float:
    """fast_exp with its constants c = EXP_TERMS given (a kernel's loops pass them in)."""
    return exp_within(min(max(x, c[0]), c[1]), c)


@numba.njit(inline="always", fastmath=CONTRACT, error_model="numpy")
def exp_within(x: float, c: tuple) -> float:
    """exp_with for an x its caller keeps in [-708, 709] (the Gaussian factor of a tail capped at 37: -684.5 at least), without the clamp."""
    shifted = x * c[2] + c[3]
    k = shifted - c[3]
    r = (x - k * c[4]) - k * c[5]
    p = ((((c[6] * r + c[7]) * r + c[8]) * r + c[9]) * r + c[10]) * r + c[11]  # Horner's, from r^10
    p = ((((p * r + c[12]) * r + c[13]) * r + c[14]) * r + c[15]) * r + c[16]
    return p * _bits_as_double((_double_as_bits(shifted) - _double_as_bits(c[3]) + 1023) << 52)


@numba.njit(inline="always", fastmath=CONTRACT, error_model="numpy")
def fast_exp(x: float) -> float:
    """exp(x) for x in [-708, 709] to about 2 units in the last place; outside it, x is clamped
    (exp(-708) below, exp(709) above: a finite number where the library gives 0 or inf; a log
    move of 709 is no market's): x = k ln 2 + r, |r| <= ln 2 / 2, e^r by a polynomial of degree 10
    (EXP_TERMS: within 2.2e-16), times 2**k built in the exponent bits. k is rounded by adding
    1.5 x 2**52 (the sum's last bit is the unit), and read from the sum's bits: a double to int64
    conversion has no AVX2 vector instruction, and LLVM would take it one lane at a time."""
    return exp_with(x, EXP_TERMS)


@numba.njit(inline="always", fastmath=CONTRACT, error_model="numpy")
def tail_top(x: float, h: tuple) -> float:
    """The numerator of tails_with at x = min(|d|, 37) (the caller caps: once for both polynomials): 7 of its constants, so that a
    pass of it alone keeps them in registers."""
    n = ((((h[1] * x + h[2]) * x + h[3]) * x + h[4]) * x + h[5]) * x + h[6]
    return n * x + h[7]


@numba.njit(inline="always", fastmath=CONTRACT, error_model="numpy")
def tail_bottom(x: float, h: tuple) -> float:
    """The denominator of tails_with at x = min(|d|, 37): its other 8 constants."""
    d = ((((h[8] * x + h[9]) * x + h[10]) * x + h[11]) * x + h[12]) * x + h[13]
    return (d * x + h[14]) * x + h[15]


@numba.njit(inline="always", fastmath=CONTRACT, error_model="numpy")
def tails_with(z: float, h: tuple) -> tuple:
    """tail_terms with its constants h = TAIL_TERMS given (a kernel's loops pass them in)."""
    x = min(z, h[0])
    return tail_top(x, h), tail_bottom(x, h)


@numba.njit(inline="always", fastmath=CONTRACT, error_model="numpy")
def tail_terms(z: float) -> tuple:
    """N(-z) = gauss x top / bottom for z >= 0, gauss = exp(-z^2 / 2): Hart's (1968) rational
    approximation (West, "Better approximations to cumulative normal functions", 2005), used beyond
    7.07 too, where West switches to a continued fraction: the rational tends to the Mills ratio's
    asymptote 1 / (sqrt(2 pi) z), so it stays within 4e-8 of the tail relative and 3e-21 absolute up
    to 37, and a price sees absolute error. Beyond 37, z is capped there: the tail stays at its value at 37,
    below 3e-300 (no product goes subnormal), where the library's is smaller still or 0.
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

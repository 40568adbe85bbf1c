"""The compiled kernels' own exponential and normal distribution function (written out so that
LLVM vectorises them) are as accurate as the library's, and the kernel's prices are scipy's."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from scipy.special import ndtr

from riskbatch.model.kernel_cpu import cpu_flags
from riskbatch.model.kernel_math import EXP_TERMS, exp_terms, exp_within, tail_constants, tail_terms
from riskbatch.model.kernels import KERNEL_CONSTANTS, fast_exp, normal_cdf_given, option_change, tails_into
from riskbatch.model.risk_model import black_scholes


@numba.njit
def _exps(x: np.ndarray) -> np.ndarray:
    return np.array([fast_exp(v) for v in x])


@numba.njit
def _gauss_factors(x: np.ndarray, constants: np.ndarray) -> np.ndarray:
    e = exp_terms(constants)
    return np.array([exp_within(v, e) for v in x])


@numba.njit
def _cdfs(x: np.ndarray) -> np.ndarray:
    return np.array([normal_cdf_given(v, math.exp(-0.5 * v * v)) for v in x])


def _changes(moves, spot, strike, years, vol, is_call, rate, dividend, vol_row: int = -1, fx_row: int = -1, sign: np.ndarray | None = None) -> np.ndarray:
    """The kernel's price at the horizon of each option (today's price passed as zero), all on the
    underlying in row 0 of `moves`."""
    count = len(spot)
    vol_rows, fx_rows, signs = np.full(count, vol_row, np.int64), np.full(count, fx_row, np.int64), np.ones(count) if sign is None else sign
    terms = (spot, strike, years, vol, vol_rows, is_call, np.zeros(count), rate, dividend, fx_rows, signs)
    return option_change(moves, np.zeros(count, np.int64), *terms, KERNEL_CONSTANTS)


def test_the_exponential_is_within_a_few_units_in_the_last_place_of_the_librarys() -> None:
    x = np.concatenate([np.linspace(-700.0, 700.0, 200_001), np.linspace(-1.0, 1.0, 200_001)])
    exact = np.exp(x)
    assert np.max(np.abs(_exps(x) / exact - 1.0)) < 8 * np.finfo(float).eps


def test_the_gauss_factors_exponential_is_within_a_few_units_in_the_last_place_without_its_clamp() -> None:
    """The prices' exp(-d^2 / 2), |d| capped at 37, from the constants the kernel is given: its degree-10
    polynomial (EXP_TERMS) as accurate as the library's exp over the whole range the cap leaves it."""
    x = np.concatenate([np.linspace(-0.5 * 37.0**2, 0.0, 400_001), np.linspace(-1.0, 0.0, 200_001)])
    exact = np.exp(x)
    assert np.max(np.abs(_gauss_factors(x, KERNEL_CONSTANTS) / exact - 1.0)) < 8 * np.finfo(float).eps


def test_the_normal_distribution_function_is_scipys_to_a_few_units_in_the_last_place_of_one() -> None:
    # Absolute error is what a price F N(d1) - D N(d2) sees: N within a few ulps of 1 throughout.
    x = np.concatenate([np.linspace(-40.0, 40.0, 400_001), np.linspace(-8.0, 8.0, 400_001)])
    assert np.max(np.abs(_cdfs(x) - ndtr(x))) < 4 * np.finfo(float).eps


def test_the_kernel_prices_every_kind_of_option_as_scipys_black_scholes() -> None:
    """Deep in and out of the money, short and long, low and high volatility, calls and puts, with
    dividends: the kernel's price at the horizon (its change plus today's price) is scipy's."""
    grid = np.array(np.meshgrid([0.3, 0.8, 1.0, 1.25, 3.0], [2.0 / 365, 0.25, 2.0], [0.05, 0.3, 1.2], [0.0, 1.0], indexing="ij")).reshape(4, -1)
    moneyness, years, vol, call = grid
    count = len(moneyness)
    spot, strike = np.full(count, 100.0), 100.0 / moneyness
    rate, dividend = np.full(count, 0.03), np.full(count, 0.02)
    is_call = call == 1.0
    moves = np.array([[-0.3, -0.02, 0.0, 0.01, 0.25]])  # one factor's returns in five scenarios
    change = _changes(moves, spot, strike, years, vol, is_call, rate, dividend)
    expected = black_scholes(spot[None, :] * np.exp(moves.T), strike, years, vol, rate, is_call, dividend)
    np.testing.assert_allclose(change, expected, rtol=1e-12, atol=1e-12 * 100.0)


def test_the_kernel_moves_the_volatility_and_converts_the_currency_as_scipys_price_says() -> None:
    """The branches the test above leaves out: an implied volatility that moves with its factor
    (vol x exp(its return)), and an option in a foreign currency converted at the scenario's rate
    (price x exp(sign x the rate's return)), each against scipy's Black-Scholes in the same moves."""
    moneyness, years, vol = np.array([0.8, 1.0, 1.25, 0.9]), np.array([0.25, 0.5, 1.0, 2.0 / 365]), np.array([0.2, 0.35, 0.6, 0.15])
    count = len(moneyness)
    spot, strike, rate, dividend = np.full(count, 50.0), 50.0 / moneyness, np.full(count, 0.04), np.full(count, 0.01)
    is_call = np.array([True, False, True, False])
    # rows: the underlying's return, its volatility's, the currency's; five scenarios
    moves = np.array([[-0.2, -0.01, 0.0, 0.03, 0.15], [0.4, -0.1, 0.0, 0.2, -0.3], [0.05, -0.02, 0.0, 0.01, -0.04]])
    sign = np.array([1.0, -1.0, 1.0, -1.0])
    change = _changes(moves, spot, strike, years, vol, is_call, rate, dividend, vol_row=1, fx_row=2, sign=sign)  # the vol in row 1, the currency in row 2
    shocked_vol = vol[None, :] * np.exp(moves[1][:, None])
    price = black_scholes(spot[None, :] * np.exp(moves[0][:, None]), strike, years, shocked_vol, rate, is_call, dividend)
    expected = price * np.exp(sign[None, :] * moves[2][:, None])
    np.testing.assert_allclose(change, expected, rtol=1e-12, atol=1e-12 * 50.0)


def _vector_loops(function, *arguments, least: int = 8) -> list[list[str]]:
    """The compiled basic blocks of `function` (compiled without threads, so that numba shows its
    loops) that hold at least `least` packed fused multiply-adds: the vector loops of the prices."""
    serial = numba.njit(function.py_func, fastmath={"contract"}, error_model="numpy")
    serial(*arguments)
    blocks: list[list[str]] = [[]]
    for line in serial.inspect_asm(serial.signatures[0]).splitlines():
        if line and not line[0].isspace() and line.rstrip().endswith(":"):
            blocks.append([])
        elif line.strip() and not line.strip().startswith((".", "#")):
            blocks[-1].append(line.strip())
    return [block for block in blocks if sum(op.startswith("vf") and op.split()[0].endswith("pd") for op in block) >= least]


@pytest.mark.skipif(not {"avx2", "fma"} <= cpu_flags(), reason="the vector loops asserted on are AVX2's")
def test_the_price_loops_keep_their_constants_in_registers() -> None:
    """A constant compiled into a vector loop is reloaded from memory at every iteration (LLVM
    rematerialises it: a movabsq of its address, then a broadcast), which made the option kernel
    load-bound; the kernel takes its polynomials' constants as data, which LLVM keeps in registers
    where each pass needs no more of them than there are registers."""
    moves = np.array([[-0.3, -0.02, 0.0, 0.01, 0.25] * 60])
    count = 4
    arguments = (moves, np.zeros(count, np.int64), np.full(count, 100.0), np.array([80.0, 100.0, 120.0, 95.0]), np.full(count, 0.5), np.full(count, 0.3))
    arguments += (np.full(count, -1, np.int64), np.array([True, False, True, False]), np.zeros(count), np.full(count, 0.03), np.full(count, 0.01))
    arguments += (np.full(count, -1, np.int64), np.ones(count), KERNEL_CONSTANTS)
    loops = _vector_loops(option_change, *arguments)
    assert loops, "the prices' loops are vectorised"
    reloaded = [sum(op.startswith("movabsq") and ".LCPI" in op for op in loop) for loop in loops]
    assert max(reloaded) == 0, reloaded


@numba.njit(fastmath={"contract"}, error_model="numpy")
def _tails_pass(z: np.ndarray, constants: np.ndarray) -> tuple:
    top, bottom = np.empty_like(z), np.empty_like(z)
    tails_into(len(z), z, top, bottom, tail_constants(constants))
    return top, bottom


@pytest.mark.skipif(not {"avx2", "fma"} <= cpu_flags(), reason="the vector loops asserted on are AVX2's")
def test_the_tails_passes_are_the_tails_terms_bit_for_bit_in_two_vector_loops() -> None:
    """The tails' numerators and denominators in one loop (sixteen constants, four dependency chains)
    needed more than AVX2's sixteen registers; the kernel prices them in a pass each. The terms are
    tail_terms's bit for bit (given |d| capped at 37, as the kernel caps it once for both passes), and
    each pass is a vector loop of its own polynomial's FMAs."""
    z = np.minimum(np.linspace(0.0, 40.0, 1_001), KERNEL_CONSTANTS[len(EXP_TERMS)])
    top, bottom = _tails_pass(z, KERNEL_CONSTANTS)
    expected = np.array([tail_terms(value) for value in z])
    assert np.array_equal(top, expected[:, 0]) and np.array_equal(bottom, expected[:, 1])
    loops = _vector_loops(_tails_pass, z, KERNEL_CONSTANTS, least=6)
    fused = sorted(sum(op.startswith("vf") and op.split()[0].endswith("pd") for op in loop) for loop in loops)
    # a loop (unrolled or its remainder) of one polynomial holds a multiple of its 6 or 7 FMAs, of both a multiple of 13
    assert any(f % 6 == 0 for f in fused) and any(f % 7 == 0 for f in fused), fused
    assert all(f % 6 == 0 or f % 7 == 0 for f in fused) and not any(f % 13 == 0 for f in fused), fused

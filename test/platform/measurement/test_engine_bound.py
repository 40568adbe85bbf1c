"""The bench's bound does the engine's work, not less: the same P&L from the same scenarios.

`make bench` prints `risk engine: X.XX x bound` against riskbatch_platform.measurement.engine_bound (normals,
the triangular Cholesky product, the linear P&L product and each distinct option revalued once per
scenario by the bound's own kernel, riskbatch_platform.measurement.independent_kernels, which shares
no code with the engine's). A bound that skipped a currency conversion, a vol factor, a dividend or
a holding would be a bound on less work; these tests compare its P&L with the engine's in the same
scenarios, on a book with all of them and with contracts held by several portfolios, and each of
its steps with the engine's.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pyarrow as pa
import pytest
from scipy.special import ndtr

from riskbatch.inputs.files import load_market, validate_positions
from riskbatch.inputs.sample import SampleSpec, market_table, positions_table
from riskbatch.model.engine import build_book, portfolio_pnl, risk_model
from riskbatch.model.risk_model import ModelParameters, block_count, scenario_block
from riskbatch_platform.measurement.engine_bound import bound_pnl, distinct_options, draw_ordered, draw_rows, triangular_returns
from riskbatch_platform.measurement.independent_kernels import exponential, exponential_less_one, flops_per_option_scenario, ir_flops, tail_fraction
from riskbatch_platform.measurement.independent_normals import stream_normals

# The two compute the same prices by different arithmetic (their own exponentials and normal
# tails, the bound's with one division for both tails, fused multiply-adds in both): differences
# are rounding, a few units in the last place of the largest P&L, far below 1e-10 of it.
RELATIVE = 1e-10


@pytest.fixture(scope="module")
def night():
    spec = SampleSpec(positions=1_500, factors=60, days=260, option_share=0.4, seed=5)
    market = load_market(market_table(spec), "bound", spec.business_date)
    table = validate_positions(positions_table(spec, market.factors, market.spot), "bound", market, spec.business_date).valid
    # the same contracts held again by other portfolios: the bound must revalue each once and weigh it into each holder
    options = table.filter(pa.compute.equal(table["instrument_type"], "option")).slice(0, 200)
    again = options.set_column(options.column_names.index("portfolio_id"), "portfolio_id", pa.array([f"PF{1 + i % 3:02d}" for i in range(options.num_rows)]))
    again = again.set_column(again.column_names.index("position_id"), "position_id", pa.array([f"D{i:05d}" for i in range(again.num_rows)]))
    table = pa.concat_tables([table, again])
    parameters = ModelParameters(scenarios=3_000, block_size=1_024, seed=7)
    book = build_book(table, market, parameters)
    return market, table, book, parameters


def test_the_bench_book_has_what_the_bound_must_not_skip(night) -> None:
    market, table, book, parameters = night
    options = distinct_options(table, market, book, parameters)
    assert options.count < book.option_count, "some contracts are held twice"
    assert (options.vol_row >= 0).any() and (options.vol_row < 0).any(), "options with and without a vol factor"
    assert (options.fx_row >= 0).any(), "options on foreign underlyings"
    assert options.is_call.any() and not options.is_call.all(), "calls and puts"
    assert book.conversion.currencies, "foreign linear positions"


def test_the_bound_computes_the_engines_pnl_in_the_same_scenarios(night) -> None:
    market, table, book, parameters = night
    model = risk_model(market, parameters)
    blocks = [scenario_block(parameters, block, model.cholesky, model.keys) for block in range(block_count(parameters))]
    engine = portfolio_pnl(book, market, parameters, model, scenarios=lambda block: blocks[block])
    bound = bound_pnl(np.ascontiguousarray(np.vstack(blocks).T), book, distinct_options(table, market, book, parameters))
    np.testing.assert_allclose(bound, engine, rtol=0, atol=RELATIVE * np.abs(engine).max())
    assert np.abs(engine).max() > 0


def test_the_bound_computes_the_engines_pnl_for_a_book_without_options(night) -> None:
    market, table, _, parameters = night
    linear = table.filter(pa.compute.not_equal(table["instrument_type"], "option"))
    book = build_book(linear, market, parameters)
    model = risk_model(market, parameters)
    blocks = [scenario_block(parameters, block, model.cholesky, model.keys) for block in range(block_count(parameters))]
    engine = portfolio_pnl(book, market, parameters, model, scenarios=lambda block: blocks[block])
    options = distinct_options(linear, market, book, parameters)
    assert options.count == 0
    np.testing.assert_allclose(bound_pnl(np.ascontiguousarray(np.vstack(blocks).T), book, options), engine, rtol=0, atol=RELATIVE * np.abs(engine).max())


def test_the_bounds_triangular_product_gives_the_engines_factor_returns(night) -> None:
    """The bound multiplies by the Cholesky factor as a triangular matrix in its draw order; the
    engine's factor is the same matrix with rows and columns in the market's order."""
    market, _, _, parameters = night
    model = risk_model(market, parameters, list(reversed(market.factors)))  # a draw order that is not the market's
    rows = draw_rows(model, market)
    normals = np.random.default_rng(3).standard_normal((len(market.factors), 700))
    by_market = np.empty_like(normals)
    by_market[rows] = normals
    expected = (model.cholesky @ by_market)[rows]
    lower = draw_ordered(model.cholesky, rows)
    np.testing.assert_allclose(triangular_returns(lower, normals.copy()), expected, rtol=0, atol=1e-14 * np.abs(expected).max())
    with pytest.raises(ValueError, match="not lower-triangular"):
        draw_ordered(model.cholesky, np.arange(len(market.factors)))


@pytest.mark.parametrize("threads", [1, 2])
def test_the_bounds_normals_are_the_engines_streams_bit_for_bit(night, threads: int) -> None:
    """The bound draws the engine's streams with its own code (common random numbers: the same
    numbers whatever the thread count), and its product of them is the engine's block of returns."""
    market, _, _, parameters = night
    model = risk_model(market, parameters, list(reversed(market.factors)))  # a draw order that is not the market's
    rows = draw_rows(model, market)
    keys = model.keys[rows]
    before = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        normals = stream_normals(np.empty((len(keys), 40_000)), parameters.seed, 1, keys)
    finally:
        numba.set_num_threads(before)
    streams = [np.random.Generator(np.random.PCG64(np.random.SeedSequence([parameters.seed, 1, key]))) for key in keys.tolist()]
    expected = np.vstack([stream.standard_normal(40_000) for stream in streams])
    assert np.array_equal(normals, expected), f"{int(np.sum(normals != expected))} draws differ"
    block = normals[:, : parameters.block_size].copy()
    returns = triangular_returns(draw_ordered(model.cholesky, rows), block)
    engine = scenario_block(parameters, 1, model.cholesky, model.keys, triangular=model.triangular).T[rows]  # factors in the draw order
    np.testing.assert_allclose(returns, engine, rtol=0, atol=1e-14 * np.abs(engine).max())


@numba.njit
def _exponentials(x: np.ndarray) -> np.ndarray:
    return np.array([exponential(v) for v in x])


@numba.njit
def _growths(x: np.ndarray) -> np.ndarray:
    return np.array([exponential_less_one(v) for v in x])


@numba.njit
def _tails(z: np.ndarray) -> np.ndarray:
    out = np.empty_like(z)
    for i in range(z.shape[0]):
        top, bottom = tail_fraction(z[i])
        out[i] = math.exp(-0.5 * z[i] * z[i]) * top / bottom if z[i] < 37.0 else 0.0
    return out


def test_the_bounds_own_exponentials_and_normal_tail_are_the_librarys_to_a_few_units_in_the_last_place() -> None:
    x = np.concatenate([np.linspace(-700.0, 700.0, 200_001), np.linspace(-1.0, 1.0, 200_001)])
    assert np.max(np.abs(_exponentials(x) / np.exp(x) - 1.0)) < 8 * np.finfo(float).eps
    moves = np.concatenate([np.linspace(-3.0, 3.0, 200_001), np.linspace(-1e-6, 1e-6, 20_001)])
    moves = moves[moves != 0.0]
    assert np.max(np.abs(_growths(moves) / np.expm1(moves) - 1.0)) < 8 * np.finfo(float).eps  # relative: exp(r) - 1 of a small move keeps its digits
    z = np.linspace(0.0, 40.0, 400_001)
    assert np.max(np.abs(_tails(z) - ndtr(-z))) < 4 * np.finfo(float).eps


@numba.njit
def _multiply_add_divide(a: float, b: float, c: float) -> float:
    return (a * b + c) / b


def test_the_flops_of_an_option_scenario_are_counted_in_the_compiled_kernel() -> None:
    """The arithmetic limit make bench prints counts the kernel's own operations: the counter finds
    the three of a known function, and a Black-Scholes price with two normal tails, an exponential
    and a currency conversion takes about a hundred and fifty."""
    assert ir_flops(_multiply_add_divide, (numba.types.float64,) * 3) == 3
    assert 100 <= flops_per_option_scenario() <= 200

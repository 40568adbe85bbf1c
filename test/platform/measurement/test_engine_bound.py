"""The bench's bound does the engine's work, not less: the same P&L from the same scenarios.

`make bench` prints `risk engine: X.XX x bound` against riskbatch_platform.measurement.engine_bound (normals,
the Cholesky product, the linear P&L product and each distinct option revalued once per
scenario). A bound that skipped a currency conversion, a vol factor, a dividend or a holding
would be a bound on less work; these tests compare its P&L with the engine's in the same
scenarios, on a book with all of them and with contracts held by several portfolios.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from riskbatch.inputs.files import load_market, validate_positions
from riskbatch.inputs.sample import SampleSpec, market_table, positions_table
from riskbatch.model.engine import build_book, portfolio_pnl, risk_model
from riskbatch.model.risk_model import ModelParameters, block_count, scenario_block
from riskbatch_platform.measurement.engine_bound import bound_pnl, distinct_options

# The two compute the same arithmetic in the same order but for the summation of the linear
# product (BLAS) and the options' changes into the portfolios: differences are rounding, a few
# units in the last place of the largest P&L, far below 1e-10 of it.
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

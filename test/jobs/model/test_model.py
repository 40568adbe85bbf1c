"""The risk model gives the right numbers: closed forms, reproducibility, aggregation, pricing."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy.stats import norm

from riskbatch.inputs.files import Market
from riskbatch.inputs.synthetic import linear_book, market_from_covariance
from riskbatch.model.engine import build_book, horizon_calendar_days, portfolio_pnl, position_pnl, risk_model
from riskbatch.model.risk_model import (
    ModelParameters,
    black_scholes,
    ewma_covariance,
    expected_shortfall,
    log_returns,
    parametric_var,
    risk_figures,
    sample_covariance,
    scenario_block,
    value_at_risk,
)


def quantile_standard_error(sigma: float, confidence: float, scenarios: int) -> float:
    """Sampling standard error of the Monte Carlo VaR of a normal P&L with standard deviation sigma."""
    tail = 1.0 - confidence
    return sigma * np.sqrt(tail * (1.0 - tail) / scenarios) / norm.pdf(norm.ppf(confidence))


def test_single_position_var_matches_the_lognormal_closed_form() -> None:
    vol, exposure, scenarios = 0.10, 1_000_000.0, 200_000  # large enough that exp(r) - 1 differs from r
    market = market_from_covariance(np.array([[vol**2]]))
    parameters = ModelParameters(scenarios=scenarios, seed=11)
    book = build_book(linear_book({"PF1": {0: exposure}}, market), market)
    sigma = float(np.sqrt(sample_covariance(log_returns(market.prices))[0, 0]))
    pnl = portfolio_pnl(book, market, parameters)[0]
    for confidence in (0.95, 0.99):
        exact = -exposure * np.expm1(sigma * norm.ppf(1.0 - confidence))
        tolerance = 3.0 * quantile_standard_error(exposure * sigma, confidence, scenarios)
        assert value_at_risk(pnl, confidence) == pytest.approx(exact, abs=tolerance)


def test_diversified_linear_book_matches_parametric_var_within_sampling_error() -> None:
    rng = np.random.default_rng(3)
    factors = 40
    loadings = rng.normal(0, 1, (factors, 3))
    vols = rng.uniform(0.005, 0.02, factors)
    corr = loadings @ loadings.T + np.eye(factors) * 3
    corr /= np.sqrt(np.outer(np.diag(corr), np.diag(corr)))
    market = market_from_covariance(corr * np.outer(vols, vols))
    exposures = {i: float(rng.normal(0, 1_000_000)) for i in range(factors)}
    book = build_book(linear_book({"PF1": exposures}, market), market)
    scenarios = 200_000
    parameters = ModelParameters(scenarios=scenarios, seed=5)
    pnl = portfolio_pnl(book, market, parameters)[0]
    cov = sample_covariance(log_returns(market.prices))
    exposure_vector = book.exposures[0]
    sigma = float(np.sqrt(exposure_vector @ cov @ exposure_vector))
    # exp(r) - 1 = r + r^2/2 + ...: the second-order term bounds how far the linear closed form may be.
    convexity = 0.5 * float(np.abs(exposure_vector) @ (np.diag(cov) * norm.ppf(0.99) ** 2))
    for confidence in (0.95, 0.99):
        closed = parametric_var(exposure_vector, cov, confidence)
        error = abs(value_at_risk(pnl, confidence) - closed)
        assert error <= 3.0 * quantile_standard_error(sigma, confidence, scenarios) + convexity


def test_same_inputs_and_seed_give_identical_numbers(small_market: Market, small_book) -> None:
    parameters = ModelParameters(scenarios=3_000, seed=99, block_size=512)
    first = portfolio_pnl(small_book, small_market, parameters)
    second = portfolio_pnl(small_book, small_market, parameters)
    assert np.array_equal(first, second)
    other_seed = portfolio_pnl(small_book, small_market, ModelParameters(scenarios=3_000, seed=100, block_size=512))
    assert not np.array_equal(first, other_seed)


def test_any_block_can_be_drawn_alone(small_market: Market) -> None:
    parameters = ModelParameters(scenarios=3_000, seed=4, block_size=512)
    model = risk_model(small_market, parameters)
    blocks = [scenario_block(parameters, block, model.cholesky, model.keys) for block in range(6)]
    again = scenario_block(parameters, 3, model.cholesky, model.keys)
    assert np.array_equal(blocks[3], again)
    # drawn into a caller's array (a whole-book call's block, the product made in place): the same numbers
    into = np.empty((len(model.keys), parameters.block_size))
    drawn = scenario_block(parameters, 3, model.cholesky, model.keys, into, model.triangular)
    assert np.shares_memory(drawn, into) and np.array_equal(drawn, scenario_block(parameters, 3, model.cholesky, model.keys, triangular=model.triangular))
    assert sum(block.shape[0] for block in blocks) == 3_000


@pytest.mark.parametrize("threads", [1, 2])
def test_a_block_is_the_same_numbers_whichever_threads_draw_its_streams(small_market: Market, threads: int) -> None:
    """The streams of a block are filled on every core; each factor's row comes from its own
    stream, so the thread count (a 2-vCPU task, a 16-vCPU one) never changes a scenario."""
    import numba

    parameters = ModelParameters(scenarios=3_000, seed=4, block_size=1_024, horizon_days=10)
    model = risk_model(small_market, parameters)
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        one = scenario_block(parameters, 2, model.cholesky, model.keys)
        triangular_one = scenario_block(parameters, 2, model.cholesky, model.keys, triangular=model.triangular)
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        assert np.array_equal(scenario_block(parameters, 2, model.cholesky, model.keys), one)
        assert np.array_equal(scenario_block(parameters, 2, model.cholesky, model.keys, triangular=model.triangular), triangular_one)
    finally:
        numba.set_num_threads(before)
    # and each factor's row is its own stream, drawn one after the other in one thread
    rows = [np.random.Generator(np.random.PCG64(np.random.SeedSequence([4, 2, key]))).standard_normal(len(one)) for key in model.keys.tolist()]
    assert np.array_equal((model.cholesky @ np.vstack(rows)).T * np.sqrt(10), one)
    # the triangular product (the Cholesky factor in its draw order) combines the same streams: the
    # same returns to rounding, where another stream would be off by the returns' own size
    np.testing.assert_allclose(triangular_one, one, rtol=0, atol=1e-14 * np.abs(one).max())
    built_backwards = risk_model(small_market, parameters, small_market.factors[1:] + small_market.factors[:1])  # a draw order not the market's
    full = scenario_block(parameters, 2, built_backwards.cholesky, built_backwards.keys)
    triangular = scenario_block(parameters, 2, built_backwards.cholesky, built_backwards.keys, triangular=built_backwards.triangular)
    np.testing.assert_allclose(triangular, full, rtol=0, atol=1e-14 * np.abs(full).max())


def test_firm_var_comes_from_summed_pnl_and_is_below_the_sum_of_portfolio_vars(small_market: Market, small_book) -> None:
    pnl = portfolio_pnl(small_book, small_market, ModelParameters(scenarios=20_000, seed=8))
    firm = risk_figures(pnl.sum(axis=0))
    standalone = sum(risk_figures(row)["var_99"] for row in pnl)
    assert firm["var_99"] < standalone
    assert firm["var_99"] != pytest.approx(standalone, rel=0.01)


def test_expected_shortfall_is_the_mean_of_the_tail() -> None:
    pnl = -np.arange(1, 1001, dtype=float)  # losses of 1..1000
    assert expected_shortfall(pnl, 0.975) == pytest.approx(np.mean(np.arange(976, 1001)))
    assert value_at_risk(pnl, 0.99) == pytest.approx(991.0)
    assert expected_shortfall(pnl, 0.975) >= value_at_risk(pnl, 0.975)


@pytest.mark.parametrize(
    ("spot", "strike", "years", "vol", "rate", "call", "put"),
    [
        (100.0, 100.0, 1.0, 0.2, 0.05, 10.450583572185565, 5.573526022256971),
        (42.0, 40.0, 0.5, 0.2, 0.10, 4.759422392871532, 0.8085993729000922),
    ],
)
def test_black_scholes_matches_known_prices(spot, strike, years, vol, rate, call, put) -> None:
    assert black_scholes(np.array(spot), np.array(strike), np.array(years), np.array(vol), rate, np.array(True)) == pytest.approx(call, rel=1e-10)
    assert black_scholes(np.array(spot), np.array(strike), np.array(years), np.array(vol), rate, np.array(False)) == pytest.approx(put, rel=1e-10)


def test_put_call_parity() -> None:
    rng = np.random.default_rng(1)
    spot, strike = rng.uniform(50, 150, 500), rng.uniform(50, 150, 500)
    years, vol, rate = rng.uniform(0.05, 2, 500), rng.uniform(0.05, 0.8, 500), 0.03
    call = black_scholes(spot, strike, years, vol, rate, np.ones(500, bool))
    put = black_scholes(spot, strike, years, vol, rate, np.zeros(500, bool))
    assert np.allclose(call - put, spot - strike * np.exp(-rate * years), atol=1e-9)


def test_ewma_weights_recent_days_most() -> None:
    returns = np.zeros((100, 1))
    returns[-1, 0] = 0.1
    recent = ewma_covariance(returns, 0.94)[0, 0]
    returns = np.zeros((100, 1))
    returns[0, 0] = 0.1
    old = ewma_covariance(returns, 0.94)[0, 0]
    assert recent > 100 * old
    constant = np.full((250, 2), 0.01)
    assert np.allclose(ewma_covariance(constant, 0.94), sample_covariance(constant))


def test_student_t_scenarios_keep_the_covariance_and_fatten_the_tails(small_market: Market) -> None:
    normal = ModelParameters(scenarios=100_000, seed=2, block_size=100_000)
    heavy = ModelParameters(scenarios=100_000, seed=2, block_size=100_000, distribution="student-t", degrees_of_freedom=5)
    model = risk_model(small_market, normal)
    cholesky, keys = model.cholesky, model.keys
    target = cholesky @ cholesky.T
    draws = scenario_block(heavy, 0, cholesky, keys)
    assert np.allclose(np.cov(draws.T, bias=True), target, rtol=0.1, atol=1e-6)
    kurtosis = np.mean(draws[:, 0] ** 4) / np.mean(draws[:, 0] ** 2) ** 2
    assert kurtosis > 4.0
    base = scenario_block(normal, 0, cholesky, keys)
    assert abs(np.mean(base[:, 0] ** 4) / np.mean(base[:, 0] ** 2) ** 2 - 3.0) < 0.1


def test_options_revalue_in_full(small_market: Market) -> None:
    """An option's scenario P&L is the Black-Scholes price change, convex in the spot move."""
    from riskbatch.inputs.synthetic import option_book

    positions = option_book(small_market, strike_ratio=1.0, years=0.5, vol=0.3, quantity=100.0)
    book = build_book(positions, small_market)
    parameters = ModelParameters(scenarios=2_000, seed=3, rate=0.02)
    model = risk_model(small_market, parameters)
    pnl = portfolio_pnl(book, small_market, parameters, model)[0]
    rows = np.arange(2_000)
    per_position = position_pnl(book, small_market, parameters, rows, model)
    assert np.allclose(per_position.sum(axis=1), pnl)
    returns = np.vstack([scenario_block(parameters, 0, model.cholesky, model.keys)])
    spot, years = small_market.spot[0], float(book.unique_years[0])
    decay = horizon_calendar_days(small_market.business_date, 1) / 365  # to the next NYSE business day (Thanksgiving: two days)
    expected = 100.0 * (
        black_scholes(spot * np.exp(returns[:, 0]), np.array(spot), np.array(years - decay), np.array(0.3), 0.02, np.array(True))
        - black_scholes(np.array(spot), np.array(spot), np.array(years), np.array(0.3), 0.02, np.array(True))
    )
    assert np.allclose(pnl, expected)


def test_parameters_refuse_nonsense() -> None:
    for bad in ({"scenarios": 10}, {"covariance": "garch"}, {"ewma_lambda": 1.0}, {"distribution": "student-t", "degrees_of_freedom": 2}):
        with pytest.raises(ValueError):
            ModelParameters(**bad)


def test_business_date_is_the_markets_last_day(small_market: Market) -> None:
    assert small_market.dates[-1] == small_market.business_date == dt.date(2026, 11, 25)


def test_options_that_share_their_terms_are_revalued_once(small_market: Market) -> None:
    import pyarrow as pa

    from riskbatch.inputs.synthetic import option_book

    one = option_book(small_market, strike_ratio=1.05, years=0.3, vol=0.25, quantity=10.0)
    rows = one.to_pylist()
    twins = [dict(rows[0], position_id="O2", portfolio_id="PF2", quantity=-4.0), dict(rows[0], position_id="O3", quantity=5.0)]
    book = build_book(pa.Table.from_pylist(rows + twins, schema=one.schema), small_market)
    assert book.option_count == 3 and book.unique_option_count == 1
    parameters = ModelParameters(scenarios=1_000, seed=6)
    pnl = portfolio_pnl(book, small_market, parameters)
    alone = portfolio_pnl(build_book(one, small_market), small_market, parameters)[0]
    assert np.allclose(pnl[book.portfolio_ids.index("PF1")], alone * 1.5)
    assert np.allclose(pnl[book.portfolio_ids.index("PF2")], alone * -0.4)

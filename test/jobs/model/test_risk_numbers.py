"""Risk numbers a risk manager can sign: currencies, data quality, Monte Carlo error, option scope.

Each test states a requirement against a closed form, QuantLib, or a known property, and each
fails on the engine that valued FX in the quote currency, accepted NaN and stale data, drew new
random numbers every night and revalued options without dividends, vol moves or calendars.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

import numpy as np
import pyarrow as pa
import pytest
from scipy.stats import norm

from riskbatch.inputs.files import POSITION_COLUMNS, InputError, Market, load_market
from riskbatch.inputs.quality import DataQualityPolicy, FileRejected, assess_factor, prepare_night
from riskbatch.inputs.sample import business_days
from riskbatch.model.engine import build_book, draw_order, horizon_calendar_days, portfolio_pnl, position_pnl, position_tail_means, risk_model
from riskbatch.model.risk_model import (
    ModelParameters,
    black_scholes,
    es_interval,
    estimate_covariance,
    expected_shortfall,
    factor_keys,
    ledoit_wolf,
    log_returns,
    risk_figures,
    scenario_block,
    value_at_risk,
    var_interval,
)
from riskbatch.model.settings import ConfigurationError, configured_run, load_model_config, parameters_from_env

FRIDAY = dt.date(2026, 11, 27)
WEDNESDAY = dt.date(2026, 11, 18)  # a week before Thanksgiving: its next business day is the next calendar day
Z99 = float(norm.ppf(0.99))


def _market(vols: dict[str, float], spots: dict[str, float], days: int = 500, seed: int = 1, business_date: dt.date = WEDNESDAY, **kwargs) -> Market:
    """Independent lognormal factors with exactly the given daily volatilities (returns standardised)."""
    rng = np.random.default_rng(seed)
    names = list(vols)
    returns = rng.standard_normal((days - 1, len(names)))
    returns = (returns - returns.mean(axis=0)) / np.sqrt((returns**2).mean(axis=0))  # zero-mean sample variance 1
    returns *= np.array([vols[name] for name in names])
    log_prices = np.vstack([np.zeros(len(names)), np.cumsum(returns, axis=0)])
    prices = np.exp(log_prices - log_prices[-1]) * np.array([spots[name] for name in names])  # today's spot as given
    return Market(business_date, business_days(business_date, days), names, prices, **kwargs)


def _positions(rows: list[dict]) -> pa.Table:
    return pa.table({name: pa.array([row.get(name) for row in rows], kind) for name, kind in POSITION_COLUMNS.items()})


def _equities(*holdings: tuple[str, str, float]) -> pa.Table:
    """Equity positions of portfolio A: (position id, underlying, quantity) each."""
    return _positions([{"portfolio_id": "A", "position_id": p, "instrument_type": "equity", "underlying": u, "quantity": q} for p, u, q in holdings])


def _var_tolerance(sigma_money: float, confidence: float, scenarios: int) -> float:
    tail = 1.0 - confidence
    return 4.0 * sigma_money * np.sqrt(tail * (1.0 - tail) / scenarios) / norm.pdf(norm.ppf(confidence))


# --- 1. currencies ----------------------------------------------------------------------------


def test_an_fx_position_is_valued_in_the_reporting_currency_not_the_quote_currency() -> None:
    # 1m USD against JPY at 150: a USD reporter gains 1m x (1 - exp(-r)); VaR 99 is 1m x (exp(z sigma) - 1),
    # about 14 thousand USD at 0.6 % a day, not 150 times that (the yen amount).
    sigma, scenarios = 0.006, 200_000
    market = _market({"FX_USDJPY": sigma}, {"FX_USDJPY": 150.0})
    book = build_book(_positions([{"portfolio_id": "A", "position_id": "F1", "instrument_type": "fx", "underlying": "FX_USDJPY", "quantity": 1e6}]), market)
    pnl = portfolio_pnl(book, market, ModelParameters(scenarios=scenarios, seed=2))[0]
    exact = 1e6 * np.expm1(Z99 * sigma)
    assert value_at_risk(pnl, 0.99) == pytest.approx(exact, abs=_var_tolerance(1e6 * sigma, 0.99, scenarios))
    # the same position for a JPY reporter: 1m x 150 x (exp(r) - 1) yen
    in_jpy = ModelParameters(scenarios=scenarios, seed=2, reporting_currency="JPY")
    position = _positions([{"portfolio_id": "A", "position_id": "F1", "instrument_type": "fx", "underlying": "FX_USDJPY", "quantity": 1e6}])
    in_yen = portfolio_pnl(build_book(position, market, in_jpy), market, in_jpy)[0]
    assert value_at_risk(in_yen, 0.99) == pytest.approx(150e6 * -np.expm1(-Z99 * sigma), abs=_var_tolerance(150e6 * sigma, 0.99, scenarios))


def test_a_foreign_equity_carries_its_exchange_rate_risk() -> None:
    # A EUR stock held by a USD reporter: value E = quantity x spot x EURUSD, P&L E (exp(r_stock + r_fx) - 1).
    equity_vol, fx_vol, scenarios = 0.015, 0.007, 200_000
    market = _market({"SAP": equity_vol, "FX_EURUSD": fx_vol}, {"SAP": 200.0, "FX_EURUSD": 1.10}, currencies=("EUR", None))
    positions = _positions([{"portfolio_id": "A", "position_id": "E1", "instrument_type": "equity", "underlying": "SAP", "quantity": 5_000.0}])
    book = build_book(positions, market)
    assert book.conversion.currencies == ["EUR"]
    pnl = portfolio_pnl(book, market, ModelParameters(scenarios=scenarios, seed=3))[0]
    cov = estimate_covariance(log_returns(market.prices), ModelParameters()).matrix
    sigma = float(np.sqrt(cov.sum()))  # variance of r_stock + r_fx
    value = 5_000.0 * 200.0 * 1.10
    assert value_at_risk(pnl, 0.99) == pytest.approx(value * -np.expm1(-Z99 * sigma), abs=_var_tolerance(value * sigma, 0.99, scenarios))


def test_an_option_on_a_foreign_underlying_converts_its_price_at_the_scenario_rate() -> None:
    market = _market({"SAP": 0.015, "FX_EURUSD": 0.007}, {"SAP": 200.0, "FX_EURUSD": 1.10}, currencies=("EUR", None))
    option = {"portfolio_id": "A", "position_id": "O1", "instrument_type": "option", "underlying": "SAP", "quantity": 10.0, "multiplier": 100.0,
              "strike": 210.0, "expiry": WEDNESDAY + dt.timedelta(days=182), "option_type": "call", "implied_vol": 0.25}  # fmt: skip
    parameters = ModelParameters(scenarios=4_000, seed=4, rates={"EUR": 0.02, "USD": 0.045})
    book = build_book(_positions([option]), market, parameters)
    model = risk_model(market, parameters)
    pnl = portfolio_pnl(book, market, parameters, model)[0]
    returns = scenario_block(parameters, 0, model.cholesky, model.keys)
    years = 182 / 365
    today = black_scholes(np.array(200.0), np.array(210.0), np.array(years), np.array(0.25), 0.02, np.array(True))
    later = black_scholes(200.0 * np.exp(returns[:, 0]), np.array(210.0), np.array(years - 1 / 365), np.array(0.25), 0.02, np.array(True))
    expected = 1_000.0 * 1.10 * (later * np.exp(returns[:, 1]) - today)  # EUR rate, EURUSD move, multiplier 100
    assert np.allclose(pnl, expected, rtol=1e-10, atol=1e-8)


def test_a_eur_reporter_converts_its_jpy_positions_through_usd() -> None:
    # FX_EURUSD and FX_USDJPY but no EURJPY: one JPY is worth 1 / (USDJPY x EURUSD) EUR, its log
    # return -r_USDJPY - r_EURUSD. The JPY stock was excluded ("no FX rate") before the cross.
    table = _market_table({"TOYOTA": 0.015, "FX_EURUSD": 0.006, "FX_USDJPY": 0.007}, {"TOYOTA": 2_800.0, "FX_EURUSD": 1.10, "FX_USDJPY": 150.0},
                          currencies={"TOYOTA": "JPY"})  # fmt: skip
    positions = _equities(("E1", "TOYOTA", 1_000.0))
    night = prepare_night(table, "market.csv", positions, "positions.csv", WEDNESDAY, DataQualityPolicy(), "EUR")
    assert night.excluded == [] and night.market.factors == ["FX_EURUSD", "FX_USDJPY", "TOYOTA"]
    parameters = ModelParameters(scenarios=2_000, block_size=2_000, seed=5, reporting_currency="EUR")
    market = night.market
    model = risk_model(market, parameters)
    pnl = portfolio_pnl(build_book(night.positions, market, parameters), market, parameters, model)[0]
    r = scenario_block(parameters, 0, model.cholesky, model.keys)
    value = 1_000.0 * market.spot[2] / (market.spot[1] * market.spot[0])
    assert np.allclose(pnl, value * np.expm1(r[:, 2] - r[:, 1] - r[:, 0]), rtol=1e-12, atol=1e-9)


def _quantlib_garman_kohlhagen(spot: float, strike: float, days: int, vol: float, domestic: float, foreign: float, call: bool) -> float:
    """QuantLib's Garman-Kohlhagen price: the foreign rate in the place of the dividend yield."""
    return _quantlib_price(spot, strike, days, vol, domestic, foreign, call, process="GarmanKohlagenProcess")  # sic: QuantLib spells it so


@pytest.mark.parametrize("call", [True, False])
def test_an_fx_option_is_priced_garman_kohlhagen_with_the_foreign_rate_as_quantlib(call: bool) -> None:
    # A one-year at-the-money EURUSD option, 8 % volatility, USD 4.3 %, EUR 2.7 %: the call is
    # 0.04306 USD per EUR (Garman-Kohlhagen), not 0.06235 (no foreign rate), today and in every scenario.
    market = _market({"FX_EURUSD": 0.006}, {"FX_EURUSD": 1.10})
    parameters = ModelParameters(scenarios=1_000, seed=1, rates={"USD": 0.043, "EUR": 0.027})
    option = _one_option(underlying="FX_EURUSD", strike=1.10, implied_vol=0.08, option_type="call" if call else "put", quantity=1e6)
    model = risk_model(market, parameters)
    pnl = position_pnl(build_book(_positions([option]), market, parameters), market, parameters, np.arange(50), model)[:, 0]
    base = _quantlib_garman_kohlhagen(1.10, 1.10, 365, 0.08, 0.043, 0.027, call)
    if call:
        assert base == pytest.approx(0.04306, abs=5e-6)
    returns = scenario_block(parameters, 0, model.cholesky, model.keys)[:50, 0]
    expected = [1e6 * (_quantlib_garman_kohlhagen(1.10 * np.exp(r), 1.10, 364, 0.08, 0.043, 0.027, call) - base) for r in returns]
    assert np.allclose(pnl, expected, rtol=1e-9, atol=1e-6)


def test_a_position_in_a_currency_without_a_rate_is_excluded_with_the_reason() -> None:
    table = _market_table({"SAP": 0.015, "AAPL": 0.01}, {"SAP": 200.0, "AAPL": 150.0}, currencies={"SAP": "EUR"})
    positions = _equities(("E1", "SAP", 10.0), ("E2", "AAPL", 10.0))
    night = prepare_night(table, "market.csv", positions, "positions.csv", WEDNESDAY, DataQualityPolicy(), "USD")
    (excluded,) = night.excluded
    assert excluded.position_id == "E1" and "no FX rate FX_EURUSD or FX_USDEUR" in excluded.reason
    assert night.positions["position_id"].to_pylist() == ["E2"] and night.market.factors == ["AAPL"]


def test_an_fx_factor_whose_stated_currency_contradicts_its_quote_is_rejected() -> None:
    table = _market_table({"FX_EURUSD": 0.007}, {"FX_EURUSD": 1.1}, currencies={"FX_EURUSD": "EUR"})
    positions = _positions([{"portfolio_id": "A", "position_id": "F1", "instrument_type": "fx", "underlying": "FX_EURUSD", "quantity": 1.0}])
    with pytest.raises(FileRejected, match="quoted in USD"):
        prepare_night(table, "market.csv", positions, "positions.csv", WEDNESDAY, DataQualityPolicy(), "USD")


# --- 2, 3. non-finite values and stale data ---------------------------------------------------


def test_no_figure_is_computed_from_a_non_finite_pnl() -> None:
    pnl = np.linspace(-1.0, 1.0, 1_000)
    pnl[10] = np.nan
    with pytest.raises(ValueError, match="not finite"):
        risk_figures(pnl)


def test_market_data_may_lag_the_business_date_only_by_the_configured_business_days() -> None:
    table = _market_table({"AAPL": 0.01}, {"AAPL": 150.0}, business_date=FRIDAY)
    monday, tuesday = FRIDAY + dt.timedelta(days=3), FRIDAY + dt.timedelta(days=4)
    assert load_market(table, "m", monday, max_lag_business_days=1).as_of == FRIDAY  # a weekend is no lag
    with pytest.raises(InputError, match="stale market data: the last date is 2026-11-27, 2 business day"):
        load_market(table, "m", tuesday, max_lag_business_days=1)
    with pytest.raises(InputError, match="stale market data"):
        load_market(table, "m", monday, max_lag_business_days=0)


# --- 4. degenerate histories ------------------------------------------------------------------


def _market_table(
    vols: dict[str, float], spots: dict[str, float], days: int = 300, business_date: dt.date = WEDNESDAY, currencies: dict | None = None
) -> pa.Table:
    market = _market(vols, spots, days=days, business_date=business_date)
    dates = market.dates
    rows = [(d, name, float(market.prices[i, j])) for i, d in enumerate(dates) for j, name in enumerate(market.factors)]
    table = {
        "date": pa.array([r[0] for r in rows], pa.date32()),
        "factor": [r[1] for r in rows],
        "price": [r[2] for r in rows],
    }
    declared = {name: None if name.startswith("FX_") else "USD" for name in market.factors} | (currencies or {})
    table["currency"] = pa.array([declared[r[1]] for r in rows], pa.string())
    return pa.table(table)


def _with_prices(table: pa.Table, factor: str, prices: np.ndarray) -> pa.Table:
    factors = np.array(table["factor"].to_pylist())
    values = table["price"].to_numpy().copy()
    values[factors == factor] = prices
    return table.set_column(table.column_names.index("price"), "price", pa.array(values))


def test_a_factor_that_never_moved_is_excluded_not_given_zero_risk() -> None:
    table = _with_prices(_market_table({"AAPL": 0.01, "FLAT": 0.01}, {"AAPL": 150.0, "FLAT": 50.0}), "FLAT", np.full(300, 50.0))
    positions = _equities(("E1", "FLAT", 1_000.0), ("E2", "AAPL", 10.0))
    night = prepare_night(table, "market.csv", positions, "positions.csv", WEDNESDAY, DataQualityPolicy(), "USD")
    (excluded,) = night.excluded
    assert excluded.position_id == "E1" and "no move on 100%" in excluded.reason and excluded.notional == pytest.approx(50_000.0)
    with pytest.raises(FileRejected, match="no move"):
        prepare_night(table, "market.csv", positions, "positions.csv", WEDNESDAY, DataQualityPolicy(zero_returns="reject"), "USD")


def test_stale_runs_and_jumps_are_found_and_follow_their_policy() -> None:
    dates = business_days(WEDNESDAY, 300)
    rng = np.random.default_rng(5)
    moving = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.01, 300)))
    flat = moving.copy()
    flat[100:120] = flat[100]  # 20 days without a new price
    split = moving.copy()
    split[200:] /= 2.0  # an unadjusted two-for-one split
    assert [f.check for f in assess_factor("X", moving, dates, DataQualityPolicy())] == []
    (stale,) = assess_factor("X", flat, dates, DataQualityPolicy())
    assert stale.check == "stale" and stale.action == "flag" and "20 days in a row" in stale.detail
    (jump,) = assess_factor("X", split, dates, DataQualityPolicy())
    assert jump.check == "jump" and jump.detail.startswith("a move of -5") and str(dates[200]) in jump.detail  # halved: -50 %, not ln 0.5
    (excluded,) = assess_factor("X", split, dates, DataQualityPolicy(jump="exclude"))
    assert excluded.action == "exclude"


def test_at_least_250_returns_are_required_by_default() -> None:
    table = _market_table({"AAPL": 0.01}, {"AAPL": 150.0}, days=200)
    positions = _positions([{"portfolio_id": "A", "position_id": "E1", "instrument_type": "equity", "underlying": "AAPL", "quantity": 1.0}])
    with pytest.raises(FileRejected, match="only 199 daily returns of history; at least 250"):
        prepare_night(table, "market.csv", positions, "positions.csv", WEDNESDAY, DataQualityPolicy(), "USD")
    assert prepare_night(table, "market.csv", positions, "positions.csv", WEDNESDAY, DataQualityPolicy(min_returns=150), "USD").positions.num_rows == 1


def test_factors_no_position_uses_are_ignored_whatever_their_history() -> None:
    table = _market_table({"AAPL": 0.01, "UNUSED": 0.01}, {"AAPL": 150.0, "UNUSED": 9.0})
    broken = table.filter(pa.array([not (f == "UNUSED" and i % 3 == 0) for i, f in enumerate(table["factor"].to_pylist())]))
    positions = _positions([{"portfolio_id": "A", "position_id": "E1", "instrument_type": "equity", "underlying": "AAPL", "quantity": 1.0}])
    night = prepare_night(broken, "market.csv", positions, "positions.csv", WEDNESDAY, DataQualityPolicy(), "USD")
    assert night.excluded == [] and night.findings == [] and night.market.factors == ["AAPL"]


def test_ledoit_wolf_matches_scikit_learn() -> None:
    from sklearn.covariance import ledoit_wolf as reference

    rng = np.random.default_rng(7)
    for days, factors in ((299, 300), (250, 40)):
        returns = rng.normal(size=(days, factors)) @ rng.normal(size=(factors, factors)) * 0.01
        ours, intensity = ledoit_wolf(returns)
        theirs, expected = reference(returns, assume_centered=True)
        assert intensity == pytest.approx(expected, rel=1e-10) and np.allclose(ours, theirs, rtol=1e-10, atol=0)


def test_shrinkage_keeps_every_factors_variance_and_matches_an_independent_computation() -> None:
    # Equities at 2 % a day beside FX at 0.5 %, 299 days for 298 factors (the demo night's shape):
    # the scaled-identity target raised FX volatilities by a fifth. The correlations are shrunk
    # towards the identity instead, with scikit-learn's Ledoit-Wolf intensity on the standardised returns.
    from sklearn.covariance import ledoit_wolf as reference

    rng = np.random.default_rng(11)
    vols = np.where(np.arange(298) < 286, 0.02, 0.005)
    returns = (rng.normal(size=(299, 4)) @ rng.normal(size=(4, 298)) + rng.normal(size=(299, 298))) * vols / np.sqrt(5.0)
    estimate = estimate_covariance(returns, ModelParameters())
    sample = returns.T @ returns / len(returns)
    assert estimate.shrinkage > 0.0 and np.allclose(np.diag(estimate.matrix), np.diag(sample), rtol=1e-12, atol=0)
    sd = np.sqrt(np.diag(sample))
    correlation, intensity = reference(returns / sd, assume_centered=True)
    assert estimate.shrinkage == pytest.approx(intensity, rel=1e-10)
    assert np.allclose(estimate.matrix, correlation * np.outer(sd, sd), rtol=1e-10, atol=1e-20)


def test_shrinkage_switches_on_only_when_the_sample_covariance_is_not_usable() -> None:
    # 150 factors over 298 returns: full rank and well conditioned (smallest correlation
    # eigenvalue about (1 - sqrt(1/2))^2), so the sample covariance is used as it is.
    rng = np.random.default_rng(3)
    usable = estimate_covariance(rng.normal(size=(298, 150)) * 0.01, ModelParameters())
    assert usable.shrinkage == 0.0 and usable.estimator == "sample" and usable.smallest_eigenvalue > 1e-3
    near_singular = estimate_covariance(rng.normal(size=(299, 298)) * 0.01, ModelParameters())
    assert near_singular.rank == 298 and near_singular.smallest_eigenvalue < 1e-3 and near_singular.shrinkage > 0.0


def test_the_report_states_the_shrinkages_effect_on_the_linear_books_var() -> None:
    from riskbatch.model.run_inputs import RunBook
    from riskbatch.reporting.figures import shrinkage_effect

    names = [f"F{i:03d}" for i in range(298)]
    market = _correlated_market(names, days=300)  # 299 returns for 298 factors: shrunk
    positions = _equities(*((f"E{i}", name, (-1) ** i * 100.0) for i, name in enumerate(names)))
    parameters = ModelParameters(scenarios=1_000)
    model = risk_model(market, parameters)
    book = build_book(positions, market, parameters)
    exposure = book.exposures[0]
    expected = np.sqrt(exposure @ model.covariance.matrix @ exposure / (exposure @ model.covariance.unshrunk @ exposure)) - 1.0
    assert model.covariance.shrinkage > 0.0 and shrinkage_effect(RunBook(parameters, market, positions, book, model)) == pytest.approx(expected, rel=1e-12)
    unshrunk = risk_model(market, ModelParameters(scenarios=1_000, shrinkage="none"))
    assert shrinkage_effect(RunBook(parameters, market, positions, book, unshrunk)) is None


def test_more_factors_than_days_is_shrunk_and_reported_not_rescued_by_silent_jitter() -> None:
    market = _market({f"F{i:03d}": 0.01 for i in range(300)}, {f"F{i:03d}": 10.0 for i in range(300)}, days=300)  # 299 returns
    parameters = ModelParameters()
    described = risk_model(market, parameters).describe()
    assert described["rank"] < described["factors"] == 300
    assert 0.0 < described["shrinkage"] < 1.0 and described["jitter"] == 0.0 and "Ledoit-Wolf" in described["estimator"]
    unshrunk = risk_model(market, ModelParameters(shrinkage="none")).describe()
    assert unshrunk["shrinkage"] == 0.0 and unshrunk["jitter"] > 0.0  # what the jitter used to hide


# --- 6. Monte Carlo noise ---------------------------------------------------------------------


def test_the_default_is_100000_scenarios_with_a_fixed_seed_shared_by_every_night(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RISK_SCENARIOS", "RISK_SEED", "RISK_SEED_POLICY"):
        monkeypatch.delenv(name, raising=False)
    tonight, last_night = parameters_from_env(input_seed=123), parameters_from_env(input_seed=456)
    assert tonight.scenarios == 100_000 and tonight.seed == last_night.seed and tonight.seed_policy == "fixed"
    # a configuration whose seed policy is `inputs` takes the seed from the input files
    shipped = load_model_config()
    from_inputs = dataclasses.replace(shipped, parameters={**shipped.parameters, "seed_policy": "inputs"})
    assert parameters_from_env(input_seed=123, config=from_inputs).seed == 123


def _clear_model_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    from riskbatch.model.settings import PARAMETER_VARIABLES, POLICY_VARIABLES

    for variable in [*PARAMETER_VARIABLES.values(), *POLICY_VARIABLES.values()]:
        monkeypatch.delenv(variable, raising=False)


def test_model_parameters_come_from_the_versioned_configuration_shipped_in_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.resources import files

    _clear_model_variables(monkeypatch)
    shipped = files("riskbatch.model").joinpath("model_config.json").read_bytes()
    config = load_model_config()
    assert config.version and config.sha256 == hashlib.sha256(shipped).hexdigest()
    parameters, record = configured_run(input_seed=9)
    assert dataclasses.asdict(parameters) == {**dataclasses.asdict(ModelParameters()), **config.parameters}
    expected = {"version": config.version, "sha256": config.sha256, "approval": config.approval}
    expected.update(stress_period=config.stress_period.describe(), monte_carlo=config.monte_carlo, overrides={})
    assert record == expected


@pytest.mark.parametrize(("variable", "value"), [
    ("RISK_DISTRIBUTION", "student-t"), ("RISK_SHRINKAGE", "none"), ("RISK_SEED", "7"), ("RISK_SEED_POLICY", "inputs"),
    ("RISK_COVARIANCE", "ewma"), ("RISK_EWMA_LAMBDA", "0.97"), ("RISK_HORIZON_DAYS", "10"), ("RISK_STRESS_WINDOW", "2020-02-01:2021-01-31"),
    ("RISK_DEGREES_OF_FREEDOM", "3"), ("RISK_REPORTING_CURRENCY", "EUR"),
])  # fmt: skip
def test_a_model_setting_from_the_environment_is_refused_unless_the_configuration_allows_it(monkeypatch: pytest.MonkeyPatch, variable, value) -> None:
    _clear_model_variables(monkeypatch)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=f"{variable} is set, but the model configuration .* does not allow"):
        configured_run(input_seed=1)


@pytest.mark.parametrize(("variable", "value"), [
    ("RISK_MIN_RETURNS", "20"), ("RISK_ZERO_RETURN_SHARE", "0.9"), ("RISK_JUMP_SIGMAS", "50"), ("RISK_MAX_GAP_DAYS", "30"), ("RISK_DQ_STALE", "exclude"),
])  # fmt: skip
def test_the_data_quality_policy_comes_from_the_configuration_and_refuses_unapproved_overrides(monkeypatch: pytest.MonkeyPatch, variable, value) -> None:
    from riskbatch.inputs.quality import DataQualityPolicy
    from riskbatch.model.settings import data_quality_policy

    _clear_model_variables(monkeypatch)
    config = load_model_config()
    assert data_quality_policy() == DataQualityPolicy(**config.data_quality)  # the configuration's (its proxies and bands: not the code's defaults)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=f"{variable} is set, but the model configuration .* does not allow"):
        data_quality_policy()
    allowing = dataclasses.replace(config, overridable={**config.overridable, "min_returns": "a test", "zero_return_share": "a test", "jump_sigmas": "a test",
                                                        "max_gap_days": "a test", "stale": "a test"})  # fmt: skip
    assert dataclasses.asdict(data_quality_policy(allowing)) != dataclasses.asdict(DataQualityPolicy(**config.data_quality))


def test_a_risk_manager_may_rerun_a_genuine_last_day_move_with_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    """The one data-quality override the configuration allows: a night whose last-day move is genuine
    (the runbook's answer to a held price) re-runs with the move used, and the policy is recorded."""
    from riskbatch.model.settings import data_quality_policy

    _clear_model_variables(monkeypatch)
    from riskbatch.model.settings import data_quality_overrides
    from riskbatch.reporting.page_one import overrides_text

    monkeypatch.setenv("RISK_DQ_LAST_DAY_JUMP", "flag")
    assert data_quality_policy().last_day_jump == "flag"
    assert "last_day_jump" in load_model_config().overridable
    # recorded beside the model's overrides (ingestion adds them to the manifest), and named on page one
    assert data_quality_overrides() == {"last_day_jump": "flag"}
    assert overrides_text({"overrides": {"last_day_jump": "flag", "scenarios": 2000}}) == ", overridden: last_day_jump=flag, scenarios=2000"
    assert overrides_text({"overrides": {}}) == ", no override"
    strict = dataclasses.replace(load_model_config(), overridable={})
    with pytest.raises(ConfigurationError, match="RISK_DQ_LAST_DAY_JUMP"):
        data_quality_policy(strict)


def test_the_overrides_the_configuration_allows_are_applied_and_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    # scenarios and block size: the tests, the integration suite and make demo run small nights
    _clear_model_variables(monkeypatch)
    monkeypatch.setenv("RISK_SCENARIOS", "2000")
    monkeypatch.setenv("RISK_BLOCK_SIZE", "512")
    monkeypatch.setenv("RISKBATCH_ENVIRONMENT_CLASS", "non-production")
    parameters, record = configured_run(input_seed=1)
    assert (parameters.scenarios, parameters.block_size) == (2_000, 512) and record["overrides"] == {"scenarios": 2_000, "block_size": 512}
    strict = dataclasses.replace(load_model_config(), overridable={})
    with pytest.raises(ConfigurationError, match="RISK_SCENARIOS"):
        configured_run(input_seed=1, config=strict)


def test_a_factor_keeps_its_draws_when_other_factors_join_the_book() -> None:
    parameters = ModelParameters(scenarios=1_000, block_size=1_000, seed=1)
    two = scenario_block(parameters, 0, np.eye(2), factor_keys(["AAPL", "MSFT"]))
    three = scenario_block(parameters, 0, np.eye(3), factor_keys(["AAA", "AAPL", "MSFT"]))
    assert np.array_equal(two, three[:, 1:])


def _correlated_market(names: list[str], days: int = 300, seed: int = 4) -> Market:
    """Factors driven by one common factor (correlation about 0.5), 1.5 % a day."""
    rng = np.random.default_rng(seed)
    returns = (rng.standard_normal((days - 1, 1)) + rng.standard_normal((days - 1, len(names)))) * 0.015 / np.sqrt(2.0)
    prices = 100.0 * np.exp(np.vstack([np.zeros(len(names)), np.cumsum(returns, axis=0)]))
    return Market(WEDNESDAY, business_days(WEDNESDAY, days), names, prices)


def test_a_small_new_position_moves_var_by_about_its_own_contribution_wherever_its_factor_sorts() -> None:
    # Tonight's book is last night's plus 10 USD of AAA_NEW and of ZZZ_NEW, two factors that join the
    # market. Sorted by name, AAA_NEW took the Cholesky factor's first row and every factor got new
    # scenarios: VaR moved by thousands. Built in last night's order with the new factors last,
    # the other factors' scenarios stay as they were, and VaR moves by at most the new positions' P&L.
    old = [f"EQ_{i:02d}" for i in range(20)]
    full = _correlated_market(["AAA_NEW", *old, "ZZZ_NEW"])
    yesterday = full.restricted(old)
    tonight = full.restricted(sorted(full.factors))
    book = [("E" + name, name, 10_000.0 * (1 if i % 3 else -1)) for i, name in enumerate(old)]
    parameters = ModelParameters(scenarios=20_000, seed=1)
    before_model = risk_model(yesterday, parameters)
    before = value_at_risk(portfolio_pnl(build_book(_equities(*book), yesterday), yesterday, parameters, before_model)[0], 0.99)
    for new in ("AAA_NEW", "ZZZ_NEW"):
        positions = _equities(*book, ("E" + new, new, 10.0 / tonight.spot[tonight.index[new]]))  # 10 USD
        order = draw_order(before_model.draw_order, tonight.restricted([*old, new]).factors)
        market = tonight.restricted(sorted([*old, new]))
        after = value_at_risk(portfolio_pnl(build_book(positions, market), market, parameters, risk_model(market, parameters, order))[0], 0.99)
        assert order[-1] == new and abs(after - before) <= 10.0, (new, after - before)


def test_the_day_over_day_explanation_states_its_sampling_noise() -> None:
    from riskbatch.model.run_inputs import RunBook
    from riskbatch.validation.explain import explain_var_change
    from riskbatch.validation.history import night_record

    names = [f"EQ_{i:02d}" for i in range(10)]
    full = _correlated_market(names, days=301)
    yesterday = Market(full.dates[-2], full.dates[:-1], names, full.prices[:-1])
    positions = _equities(*(("E" + name, name, 1_000.0) for name in names))
    parameters = ModelParameters(scenarios=20_000, seed=1)

    def run(market: Market) -> tuple[RunBook, np.ndarray]:
        model = risk_model(market, parameters)
        book = build_book(positions, market, parameters)
        return RunBook(parameters, market, positions, book, model), portfolio_pnl(book, market, parameters, model)

    (previous, previous_pnl), (tonight, tonight_pnl) = run(yesterday), run(full)
    figures = risk_figures(previous_pnl[0])
    record = night_record(yesterday.business_date.isoformat(), "r1", "USD", figures, {"A": figures}, None)
    change = explain_var_change(record, previous, tonight, {"firm": value_at_risk(tonight_pnl[0], 0.99)}, tonight_pnl.sum(axis=0))
    noise = change["sampling_noise"]
    firm = change["scopes"]["firm"]
    assert noise["standard_error"] > 0.0 and noise["share_of_change"] == pytest.approx(noise["standard_error"] / abs(firm["market"] + firm["book"]))


def test_an_unchanged_book_and_market_give_the_same_figures_on_another_night() -> None:
    market = _market({"AAPL": 0.01, "MSFT": 0.012}, {"AAPL": 150.0, "MSFT": 300.0})
    positions = _positions([
        {"portfolio_id": "A", "position_id": "E1", "instrument_type": "equity", "underlying": "AAPL", "quantity": 1_000.0},
        {"portfolio_id": "A", "position_id": "E2", "instrument_type": "equity", "underlying": "MSFT", "quantity": -400.0},
    ])  # fmt: skip
    nights = [parameters_from_env(seed) for seed in (11, 22)]
    figures = [risk_figures(portfolio_pnl(build_book(positions, market), market, ModelParameters(**{**vars(p), "scenarios": 20_000}))[0]) for p in nights]
    assert figures[0]["var_99"] == figures[1]["var_99"]


def test_the_confidence_intervals_cover_the_true_var_and_es() -> None:
    # A long position with lognormal P&L: VaR and ES in closed form; 60 independent runs of
    # 10,000 scenarios; a 95 % interval must hold the true value in about 57 of them.
    sigma, value, scenarios, runs = 0.02, 1e6, 10_000, 60
    z_var, tail = norm.ppf(0.01), 0.025
    true_var = -value * np.expm1(sigma * z_var)
    true_es = value * (1.0 - np.exp(sigma**2 / 2) * norm.cdf(norm.ppf(tail) - sigma) / tail)
    covered_var = covered_es = 0
    for seed in range(runs):
        pnl = value * np.expm1(sigma * np.random.default_rng(seed).standard_normal(scenarios))
        low, high = var_interval(pnl, 0.99)
        covered_var += low <= true_var <= high
        low, high = es_interval(pnl, 0.975)
        covered_es += low <= true_es <= high
        assert var_interval(pnl, 0.99)[0] <= value_at_risk(pnl, 0.99) <= var_interval(pnl, 0.99)[1]
        assert es_interval(pnl, 0.975)[0] <= expected_shortfall(pnl, 0.975) <= es_interval(pnl, 0.975)[1]
    # binomial(60, 0.95): 52 or more with probability 0.996
    assert covered_var >= 52 and covered_es >= 52


# --- 7. option scope --------------------------------------------------------------------------


def _quantlib_price(
    spot: float, strike: float, years_days: int, vol: float, rate: float, dividend: float, call: bool, process: str = "BlackScholesMertonProcess"
) -> float:
    import QuantLib as ql

    today = ql.Date(25, 11, 2026)
    ql.Settings.instance().evaluationDate = today
    day_count = ql.Actual365Fixed()
    process = getattr(ql, process)(
        ql.QuoteHandle(ql.SimpleQuote(spot)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, dividend, day_count, ql.Continuous)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, rate, day_count, ql.Continuous)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), vol, day_count)),
    )
    option = ql.EuropeanOption(ql.PlainVanillaPayoff(ql.Option.Call if call else ql.Option.Put, strike), ql.EuropeanExercise(today + years_days))
    option.setPricingEngine(ql.AnalyticEuropeanEngine(process))
    return option.NPV()


@pytest.mark.parametrize(("strike", "days", "vol", "rate", "dividend", "call"), [
    (100.0, 365, 0.2, 0.03, 0.03, True), (100.0, 365, 0.2, 0.03, 0.03, False), (90.0, 91, 0.45, 0.05, 0.0, False),
    (120.0, 730, 0.15, 0.01, 0.02, True), (100.0, 7, 0.3, 0.0, 0.01, True),
])  # fmt: skip
def test_black_scholes_merton_with_dividends_matches_quantlib(strike, days, vol, rate, dividend, call) -> None:
    ours = float(black_scholes(np.array(100.0), np.array(strike), np.array(days / 365), np.array(vol), rate, np.array(call), dividend))
    assert ours == pytest.approx(_quantlib_price(100.0, strike, days, vol, rate, dividend, call), rel=1e-10, abs=1e-12)


def _one_option(**overrides) -> dict:
    return {"portfolio_id": "A", "position_id": "O1", "instrument_type": "option", "underlying": "SPX", "quantity": 1.0, "strike": 100.0,
            "expiry": WEDNESDAY + dt.timedelta(days=365), "option_type": "call", "implied_vol": 0.2, **overrides}  # fmt: skip


def test_an_option_revalues_with_its_underlyings_dividend_yield_and_its_currencys_rate() -> None:
    market = _market({"SPX": 0.01}, {"SPX": 100.0}, dividend_yields=np.array([0.03]))
    parameters = ModelParameters(scenarios=1_000, seed=1, rates={"USD": 0.045})
    model = risk_model(market, parameters)
    pnl = position_pnl(build_book(_positions([_one_option()]), market, parameters), market, parameters, np.arange(1_000), model)[:, 0]
    returns = scenario_block(parameters, 0, model.cholesky, model.keys)[:, 0]
    base = _quantlib_price(100.0, 100.0, 365, 0.2, 0.045, 0.03, True)
    expected = [_quantlib_price(100.0 * np.exp(r), 100.0, 364, 0.2, 0.045, 0.03, True) - base for r in returns[:50]]
    assert np.allclose(pnl[:50], expected, rtol=1e-9, atol=1e-10)


def test_implied_volatility_moves_with_its_vol_factor() -> None:
    # a short straddle: its risk is mostly vega once the volatility can move
    market = _market({"SPX": 0.01, "VOL_SPX": 0.05}, {"SPX": 100.0, "VOL_SPX": 0.2})
    legs = [
        _one_option(position_id="C", quantity=-1.0, vol_factor="VOL_SPX"),
        _one_option(position_id="P", option_type="put", quantity=-1.0, vol_factor="VOL_SPX"),
    ]
    parameters = ModelParameters(scenarios=2_000, seed=2)
    model = risk_model(market, parameters)
    pnl = portfolio_pnl(build_book(_positions(legs), market, parameters), market, parameters, model)[0]
    returns = scenario_block(parameters, 0, model.cholesky, model.keys)
    vol = 0.2 * np.exp(returns[:, 1])
    spot = 100.0 * np.exp(returns[:, 0])
    strike, left = np.array(100.0), np.array(364 / 365)
    later = black_scholes(spot, strike, left, vol, 0.03, np.array(True)) + black_scholes(spot, strike, left, vol, 0.03, np.array(False))
    today = sum(float(black_scholes(np.array(100.0), strike, np.array(1.0), np.array(0.2), 0.03, np.array(k))) for k in (True, False))
    assert np.allclose(pnl, -(later - today), rtol=1e-9)
    fixed = [{k: v for k, v in leg.items() if k != "vol_factor"} for leg in legs]
    without_vega = portfolio_pnl(build_book(_positions(fixed), market, parameters), market, parameters, model)[0]
    assert value_at_risk(pnl, 0.99) > 1.5 * value_at_risk(without_vega, 0.99)


def test_a_one_day_horizon_from_a_friday_decays_options_over_the_weekend() -> None:
    assert horizon_calendar_days(FRIDAY, 1) == 3 and horizon_calendar_days(WEDNESDAY, 1) == 1 and horizon_calendar_days(FRIDAY, 2) == 4
    assert horizon_calendar_days(dt.date(2026, 11, 25), 1) == 2  # the NYSE is closed on Thanksgiving
    market = _market({"SPX": 0.01}, {"SPX": 100.0}, business_date=FRIDAY)
    parameters = ModelParameters(scenarios=1_000, seed=1)
    model = risk_model(market, parameters)
    option = _one_option(expiry=FRIDAY + dt.timedelta(days=365))
    pnl = position_pnl(build_book(_positions([option]), market, parameters), market, parameters, np.arange(1_000), model)[:, 0]
    returns = scenario_block(parameters, 0, model.cholesky, model.keys)[:, 0]
    later = black_scholes(100.0 * np.exp(returns), np.array(100.0), np.array(362 / 365), np.array(0.2), 0.03, np.array(True))
    assert np.allclose(pnl, later - black_scholes(np.array(100.0), np.array(100.0), np.array(1.0), np.array(0.2), 0.03, np.array(True)))


def test_the_contract_multiplier_scales_an_option_and_an_equity() -> None:
    market = _market({"SPX": 0.01}, {"SPX": 100.0})
    parameters = ModelParameters(scenarios=1_000, seed=1)
    model = risk_model(market, parameters)
    plain = portfolio_pnl(build_book(_positions([_one_option()]), market), market, parameters, model)[0]
    scaled = portfolio_pnl(build_book(_positions([_one_option(multiplier=100.0)]), market), market, parameters, model)[0]
    assert np.allclose(scaled, 100.0 * plain)
    equity = {"portfolio_id": "A", "position_id": "E", "instrument_type": "equity", "underlying": "SPX", "quantity": 3.0}
    assert np.allclose(
        portfolio_pnl(build_book(_positions([{**equity, "multiplier": 10.0}]), market), market, parameters, model)[0],
        10.0 * portfolio_pnl(build_book(_positions([equity]), market), market, parameters, model)[0],
    )


# --- 8. contributions in flat memory ----------------------------------------------------------


def test_tail_contributions_computed_block_by_block_equal_the_full_matrix() -> None:
    market = _market({"SPX": 0.01, "SAP": 0.012, "FX_EURUSD": 0.006}, {"SPX": 100.0, "SAP": 50.0, "FX_EURUSD": 1.1}, currencies=(None, "EUR", None))
    rows = [_one_option(position_id=f"O{i}", strike=80.0 + i, quantity=float(i % 5 - 2)) for i in range(40)]
    rows += [{"portfolio_id": "B", "position_id": f"E{i}", "instrument_type": "equity" if i % 2 else "fx",
              "underlying": "SAP" if i % 2 else "FX_EURUSD", "quantity": float(100 * (i - 10))} for i in range(20)]  # fmt: skip
    parameters = ModelParameters(scenarios=3_000, seed=9, block_size=1_000)
    model = risk_model(market, parameters)
    book = build_book(_positions(rows), market, parameters)
    tail = np.arange(0, 3_000, 37)
    full = position_pnl(book, market, parameters, tail, model).mean(axis=0)
    import riskbatch.model.engine as engine

    original, engine.OPTION_BLOCK = engine.OPTION_BLOCK, 7  # many blocks of unique options
    try:
        assert np.allclose(position_tail_means(book, market, parameters, tail, model), full, rtol=1e-12, atol=1e-9)
    finally:
        engine.OPTION_BLOCK = original


def test_every_case_of_the_accuracy_script_is_within_four_standard_errors_of_its_closed_form() -> None:
    from riskbatch_platform.measurement import model_accuracy

    for case in model_accuracy.cases():
        parameters = ModelParameters(scenarios=100_000, seed=2026, **case.parameters)
        pnl = portfolio_pnl(build_book(case.positions, case.market, parameters), case.market, parameters)[0]
        for confidence in (0.95, 0.99):
            closed, standard_error = case.closed(confidence, parameters.scenarios)
            assert abs(value_at_risk(pnl, confidence) - closed) < 4 * standard_error, (case.name, confidence)


@pytest.mark.parametrize("text", ["USD=inf", "EUR=5", "JPY=nan", "USD=-0.3"])
def test_a_rate_that_is_not_a_plausible_market_rate_is_refused(text: str) -> None:
    from riskbatch.model.settings import parse_rates

    with pytest.raises(ConfigurationError, match="not a finite rate"):
        parse_rates(text)
    assert parse_rates("USD=0.043,EUR=0.027,JPY=-0.001") == {"USD": 0.043, "EUR": 0.027, "JPY": -0.001}

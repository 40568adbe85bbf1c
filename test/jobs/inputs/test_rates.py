"""The night's dated per-currency rates: validated as prices are, used for the domestic and foreign rates
of every option (Garman-Kohlhagen for FX), and an option on a currency without one is refused.

Before, the approved configuration had no per-currency rate: every currency at 3 %, the foreign rate
equal to the domestic one, and a one-year at-the-money EURUSD call was worth a fifth less than its
Garman-Kohlhagen value with the two currencies' own rates."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from scipy.special import ndtr

from riskbatch.inputs.business_days import horizon_calendar_days
from riskbatch.inputs.files import POSITION_COLUMNS, InputError
from riskbatch.inputs.quality import DataQualityPolicy, prepare_night
from riskbatch.inputs.rates import exclude_options_without_rates, parse_rates
from riskbatch.inputs.sample import business_days, rates_table
from riskbatch.model.engine import build_book, carry_yields, position_pnl, risk_model
from riskbatch.model.risk_model import scenario_block
from riskbatch.model.settings import configured_run
from test.jobs.stack_layout import Night, mocked_night

DATE = dt.date(2026, 11, 25)
USD_BAND = DataQualityPolicy().rate_band("USD")
CURVES = {"USD": {"3M": 0.043, "1Y": 0.041, "10Y": 0.042}, "EUR": {"3M": 0.021, "1Y": 0.022, "10Y": 0.026}}


def _garman_kohlhagen(spot: float, strike: float, years: float, vol: float, domestic: float, foreign: float) -> float:
    """The call worked by hand: S e^(-rf T) N(d1) - K e^(-rd T) N(d2)."""
    d1 = (np.log(spot / strike) + (domestic - foreign + vol * vol / 2) * years) / (vol * np.sqrt(years))
    d2 = d1 - vol * np.sqrt(years)
    return float(spot * np.exp(-foreign * years) * ndtr(d1) - strike * np.exp(-domestic * years) * ndtr(d2))


def _eurusd_night(curves: dict[str, dict[str, float]]):
    rng = np.random.default_rng(3)
    dates = business_days(DATE, 261)
    prices = 1.08 * np.exp(np.cumsum(rng.normal(0, 0.005, len(dates))))
    market = pa.table({"date": pa.array(dates, pa.date32()), "factor": ["FX_EURUSD"] * len(dates), "price": prices})
    option = {"portfolio_id": "A", "position_id": "O1", "instrument_type": "option", "underlying": "FX_EURUSD", "quantity": 1e6,
              "strike": float(prices[-1]), "expiry": DATE + dt.timedelta(days=365), "option_type": "call", "implied_vol": 0.08}  # fmt: skip
    spot = {"portfolio_id": "A", "position_id": "F1", "instrument_type": "fx", "underlying": "FX_EURUSD", "quantity": 1e6}
    positions = pa.table({name: pa.array([row.get(name) for row in (option, spot)], kind) for name, kind in POSITION_COLUMNS.items()})
    night = prepare_night(market, "market.csv", positions, "positions.csv", DATE, DataQualityPolicy(), "USD")
    return exclude_options_without_rates(night, parse_rates(rates_table(DATE, curves), "rates.csv", DATE, 0), "positions.csv")


def test_a_one_year_atm_eurusd_call_is_valued_garman_kohlhagen_with_the_night_rates() -> None:
    night = _eurusd_night(CURVES)
    assert night.excluded == []
    curves = parse_rates(rates_table(DATE, CURVES), "rates.csv", DATE, 0)
    parameters = dataclasses.replace(configured_run(1)[0], scenarios=1_000, block_size=1_000, curves=curves.as_parameters())
    market, spot = night.market, float(night.market.spot[0])
    assert parameters.rate_of("USD", 1.0) == 0.041 and carry_yields(market, np.array([0]), parameters, np.array([1.0]))[0] == 0.022
    value = _garman_kohlhagen(spot, spot, 1.0, 0.08, 0.041, 0.022)
    # the night's figures: the call revalued in each scenario from that value, both at the two currencies' one-year rates
    model = risk_model(market, parameters)
    pnl = position_pnl(build_book(night.positions, market, parameters), market, parameters, np.arange(20), model)[:, 0]  # O1
    moves = scenario_block(parameters, 0, model.cholesky, model.keys)[:20, 0]
    left = (365 - horizon_calendar_days(DATE, 1)) / 365  # Thanksgiving: the horizon is Friday
    later = np.array([_garman_kohlhagen(spot * np.exp(r), spot, left, 0.08, 0.041, 0.022) for r in moves])
    assert np.allclose(pnl, 1e6 * (later - value), rtol=1e-9, atol=1e-6)
    # the approved configuration's rate for every currency (3 %, foreign = domestic) misvalued it by a fifth
    flat = _garman_kohlhagen(spot, spot, 1.0, 0.08, 0.03, 0.03)
    assert flat / value - 1 < -0.15


def test_an_fx_option_on_a_currency_without_a_rate_is_excluded_with_the_reason() -> None:
    night = _eurusd_night({"USD": CURVES["USD"], "GBP": {"3M": 0.04, "10Y": 0.041}})
    (excluded,) = night.excluded
    assert excluded.position_id == "O1" and excluded.reason.startswith("no dated rate for EUR in the night's rates file")
    assert excluded.notional == pytest.approx(1e6 * night.market.spot[0], rel=1e-12)  # in USD, the pair's quote currency
    assert night.positions["position_id"].to_pylist() == ["F1"]  # the spot position needs no rate: the night goes on


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda rows: rows | {"rate": [4.3, *rows["rate"][1:]]}, "the rate 4.3 is outside the plausible {:g} to {:g} of USD".format(*USD_BAND)),
        (lambda rows: rows | {"date": [DATE + dt.timedelta(days=1), *rows["date"][1:]]}, "dated after the business date"),
        (lambda rows: rows | {"date": [DATE - dt.timedelta(days=7)] * len(rows["date"])}, "business day(s) before 2026-11-25"),
        (lambda rows: {key: values[:-1] for key, values in rows.items()}, "EUR: a short tenor (a year or less) and a long one (beyond a year) are needed"),
        (lambda rows: {key: values + values[:1] for key, values in rows.items()}, "a duplicate (date, currency, tenor)"),
        (lambda rows: rows | {"tenor": ["3 months", *rows["tenor"][1:]]}, "the tenor is a number and D, W, M or Y"),
    ],
    ids=["percentage", "future", "stale", "no-long-tenor", "duplicate", "tenor"],
)
def test_a_rates_file_is_validated_as_prices_are(edit, problem: str) -> None:
    """Each problem refuses its currency's curve (or, when no currency is left, the file: riskbatch.inputs.rates)."""
    rows = edit(rates_table(DATE, {"USD": CURVES["USD"], "EUR": {"3M": 0.021, "10Y": 0.026}}).to_pydict())
    table = pa.table({"date": pa.array(rows["date"], pa.date32()), "currency": rows["currency"], "tenor": rows["tenor"], "rate": rows["rate"]})
    try:
        problems = [found for refused in parse_rates(table, "rates.csv", DATE, 0).refused.values() for found in refused]
    except InputError as error:
        problems = error.problems
    assert any(problem in found for found in problems), problems


@pytest.fixture
def night(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with mocked_night(tmp_path, monkeypatch, "1000", 500) as night:
        yield night


def test_a_night_without_its_rates_file_is_refused_and_with_it_the_manifest_carries_the_curves(night: Night, tmp_path: Path) -> None:
    import json

    from riskbatch.jobs.ingestion import ingest
    from test.jobs.stack_layout import small_night

    folder = small_night(tmp_path / "files", DATE.isoformat())
    (folder / "rates.csv").rename(tmp_path / "rates.csv")
    keys = night.upload(folder, DATE.isoformat())
    outcome = ingest(night.settings.input_bucket, keys[-1], night.settings, night.s3, night.sqs, night.sns)
    assert outcome.status == "rejected" and "rates.csv" in outcome.detail
    record = json.loads(night.s3.get_object(Bucket=night.settings.output_bucket, Key=outcome.detail)["Body"].read())
    assert "rates are a required input of the night" in record["problems"][0]
    (tmp_path / "rates.csv").rename(folder / "rates.csv")
    keys = night.upload(folder, DATE.isoformat())
    outcome = ingest(night.settings.input_bucket, keys[-1], night.settings, night.s3, night.sqs, night.sns)
    assert outcome.status == "queued"
    manifest = json.loads(night.s3.get_object(Bucket=night.settings.output_bucket, Key=f"runs/{outcome.run_id}/manifest.json")["Body"].read())
    assert manifest["model"]["curves"]["EUR"] == [[0.25, 0.021], [1.0, 0.022], [10.0, 0.026]] and manifest["rates_source"]["uri"].endswith("rates.csv")


def test_the_rate_bounds_are_versioned_per_currency_a_40_percent_try_rate_passes_a_40_percent_usd_one_is_refused() -> None:
    """Before, one bound (+-25 %) for every currency refused the whole night of a book with Turkish lira or
    Argentine peso rates; the bounds are now the model configuration's, a default and per-currency overrides."""
    from riskbatch.model.settings import data_quality_policy, load_model_config

    policy = data_quality_policy(load_model_config())
    lira = {"TRY": {"3M": 0.40, "10Y": 0.28}, "USD": CURVES["USD"]}
    curves = parse_rates(rates_table(DATE, lira), "rates.csv", DATE, 0, policy.rate_bands, policy.rate_steps)
    assert dict(curves.points["TRY"])[0.25] == 0.40
    refused = parse_rates(rates_table(DATE, {**lira, "USD": {"3M": 0.40, "10Y": 0.042}}), "rates.csv", DATE, 0, policy.rate_bands, policy.rate_steps)
    problem = refused.refused["USD"][0]  # (then: USD lacks a short tenor, its only one refused)
    low, high = policy.rate_band("USD")
    assert problem.startswith("USD 3M on 2026-11-25: the rate 0.4 is outside") and f"{low:g} to {high:g}" in problem
    assert policy.rate_band("TRY")[1] > 0.40 > policy.rate_band("USD")[1] == policy.rate_band("GBP")[1]  # GBP: the default


@pytest.mark.parametrize(
    ("currency", "rate", "accepted"),
    [("JPY", -0.1, False), ("CHF", 0.25, False), ("CHF", -0.0075, True), ("JPY", -0.001, True), ("TRY", 0.45, True)],
)
def test_a_low_rate_typed_as_a_percentage_is_refused_by_its_currencys_band(currency: str, rate: float, accepted: bool) -> None:
    """Before, the default band (-0.25 to 0.25) took JPY -0.1 (meant -0.1 %) as -10 %: a 1-year ATM USDJPY call
    then valued 83 % low. The versioned bands of low-rate currencies (JPY, CHF, EUR) now refuse it."""
    from riskbatch.model.settings import data_quality_policy, load_model_config

    policy = data_quality_policy(load_model_config())
    table = rates_table(DATE, {currency: {"3M": rate, "10Y": rate}, "USD": CURVES["USD"]})
    curves = parse_rates(table, "rates.csv", DATE, 0, policy.rate_bands, policy.rate_steps)
    if accepted:
        assert dict(curves.points[currency])[0.25] == rate
    else:  # that currency alone: USD's curve is kept
        assert curves.refused[currency][0].startswith(f"{currency} 3M on 2026-11-25: the rate {rate:g} is outside") and "USD" in curves.points

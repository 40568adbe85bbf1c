"""A hard-pegged currency (a constant rate, zero variance) is a constant: its positions are valued and move
with their own factors only. Before, the peg was a factor without moves: excluded, and every position in
that currency with it."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from riskbatch.inputs.files import POSITION_COLUMNS
from riskbatch.inputs.quality import DataQualityPolicy, prepare_night
from riskbatch.inputs.sample import business_days
from riskbatch.model.engine import build_book, portfolio_pnl, risk_model
from riskbatch.model.risk_model import ModelParameters, scenario_block

DATE = dt.date(2026, 11, 25)


def _night():
    rng = np.random.default_rng(6)
    dates = business_days(DATE, 261)
    prices = {
        "AAPL": 180.0 * np.exp(np.cumsum(rng.normal(0, 0.014, len(dates)))),
        "HSBC_HK": 60.0 * np.exp(np.cumsum(rng.normal(0, 0.012, len(dates)))),
        "FX_USDHKD": np.full(len(dates), 7.8),  # the Hong Kong dollar's peg, held to the cent
    }
    currencies = {"AAPL": "USD", "HSBC_HK": "HKD", "FX_USDHKD": "HKD"}
    rows = [(day, name, float(series[i])) for name, series in prices.items() for i, day in enumerate(dates)]
    table = pa.table(
        {
            "date": pa.array([row[0] for row in rows], pa.date32()),
            "factor": [row[1] for row in rows],
            "price": [row[2] for row in rows],
            "currency": [currencies[row[1]] for row in rows],
        }
    )
    book = [
        {"portfolio_id": "HK", "position_id": "H1", "instrument_type": "equity", "underlying": "HSBC_HK", "quantity": 100_000.0},
        {"portfolio_id": "US", "position_id": "U1", "instrument_type": "equity", "underlying": "AAPL", "quantity": 1_000.0},
    ]
    positions = pa.table({name: pa.array([row.get(name) for row in book], kind) for name, kind in POSITION_COLUMNS.items()})
    return prepare_night(table, "m", positions, "p", DATE, DataQualityPolicy(), "USD"), prices


def test_a_hard_pegged_currency_is_a_constant_and_its_positions_are_valued() -> None:
    night, prices = _night()
    assert night.excluded == [] and "FX_USDHKD" in night.market.factors
    (peg,) = [finding for finding in night.findings if finding.factor == "FX_USDHKD"]
    assert peg.check == "peg" and peg.action == "flag"
    parameters = ModelParameters(scenarios=2_000, block_size=2_000)
    model = risk_model(night.market, parameters)
    assert model.jitter == 0.0 and "constant factor(s)" in model.covariance.estimator
    pnl = portfolio_pnl(build_book(night.positions, night.market, parameters), night.market, parameters, model)
    returns = scenario_block(parameters, 0, model.cholesky, model.keys)
    column = night.market.index
    assert np.all(returns[:, column["FX_USDHKD"]] == 0.0)  # the peg never moves
    value = 100_000.0 * prices["HSBC_HK"][-1] / 7.8
    assert pnl[0] == pytest.approx(value * np.expm1(returns[:, column["HSBC_HK"]]), rel=1e-12)

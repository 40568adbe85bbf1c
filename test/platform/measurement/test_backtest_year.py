"""The year study (make backtest-year) prices its options as the night does: at each night's dated
per-currency rates, the sample's rates file of the date, never at the configured flat rate."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from riskbatch.inputs.files import read_table
from riskbatch.inputs.rates import RATE_COLUMNS, parse_rates
from riskbatch.inputs.sample import SampleSpec, sample_rates, write_nights, write_rates
from riskbatch.model.offline import run_offline
from riskbatch.model.risk_model import ModelParameters
from riskbatch.validation.history import backtest_summary
from riskbatch_platform.measurement.backtest_year import policy_lines, run_year

NIGHTS = 3


def test_the_year_prices_each_night_at_its_dated_rates_and_says_so(tmp_path: Path) -> None:
    spec = SampleSpec(positions=150, factors=30, days=260, portfolios=2, option_share=0.4, features=False)
    parameters = ModelParameters(scenarios=1_000, block_size=1_000)
    records = run_year(spec, NIGHTS, parameters)
    dates = [dt.date.fromisoformat(record["business_date"]) for record in records]
    for record, (date, curves) in zip(records, sample_rates(spec, dates).items(), strict=True):
        folder = tmp_path / date.isoformat()
        folder.mkdir()
        written = write_rates(folder, date, curves)  # the night's rates file, as the sample writes it
        assert record["rates"] == parse_rates(read_table(written.read_bytes(), "rates.csv", RATE_COLUMNS), "rates.csv", date, 0).as_parameters()
    assert records[0]["rates"] != records[-1]["rates"]  # dated: the curves move from night to night
    folders = write_nights(tmp_path / "nights", spec, NIGHTS)  # the first night's files (its rates: the walk's first day)
    # the first night's figures are the night's engine on its files with its rates file; at the flat 3 % they are not
    first = folders[0]
    dated = run_offline(first / "positions.csv", first / "market.csv", parameters, False, rates_path=first / "rates.csv")
    flat = run_offline(first / "positions.csv", first / "market.csv", parameters, False)
    assert records[0]["var"]["firm"]["es_975"] == pytest.approx(dated["firm"]["es_975"], rel=1e-12)
    assert records[0]["var"]["firm"]["es_975"] != pytest.approx(flat["firm"]["es_975"], rel=1e-6)
    lines = policy_lines(records, backtest_summary(records))
    assert lines[0].startswith(f"rates: each night's dated curves ({len(records[0]['rates'])} currencies, {NIGHTS} nights from {folders[0].name}")

"""The year study (make backtest-year) prices its options as the night does: at each night's dated
per-currency rates, the sample's rates file of the date, never at the configured flat rate."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from riskbatch.inputs.files import read_table
from riskbatch.inputs.rates import RATE_COLUMNS, parse_rates
from riskbatch.inputs.sample import SampleSpec, write_nights
from riskbatch.model.offline import run_offline
from riskbatch.model.risk_model import ModelParameters
from riskbatch.validation.history import backtest_summary
from riskbatch_platform.measurement.backtest_year import policy_lines, run_year

NIGHTS = 3


def test_the_year_prices_each_night_at_its_dated_rates_and_says_so(tmp_path: Path) -> None:
    spec = SampleSpec(positions=150, factors=30, days=260, portfolios=2, option_share=0.4, features=False)
    parameters = ModelParameters(scenarios=1_000, block_size=1_000)
    records = run_year(spec, NIGHTS, parameters)
    folders = write_nights(tmp_path, spec, NIGHTS)  # the nights' files of the same spec: their rates.csv
    for record, folder in zip(records, folders, strict=True):
        written = parse_rates(read_table((folder / "rates.csv").read_bytes(), "rates.csv", RATE_COLUMNS), "rates.csv", dt.date.fromisoformat(folder.name), 0)
        assert record["business_date"] == folder.name and record["rates"] == written.as_parameters()
    assert records[0]["rates"] != records[-1]["rates"]  # dated: the curves move from night to night
    # the first night's figures are the night's engine on its files with its rates file; at the flat 3 % they are not
    first = folders[0]
    dated = run_offline(first / "positions.csv", first / "market.csv", parameters, False, rates_path=first / "rates.csv")
    flat = run_offline(first / "positions.csv", first / "market.csv", parameters, False)
    assert records[0]["var"]["firm"]["es_975"] == pytest.approx(dated["firm"]["es_975"], rel=1e-12)
    assert records[0]["var"]["firm"]["es_975"] != pytest.approx(flat["firm"]["es_975"], rel=1e-6)
    lines = policy_lines(records, backtest_summary(records))
    assert lines[0].startswith(f"rates: each night's dated curves ({len(records[0]['rates'])} currencies, {NIGHTS} nights from {folders[0].name}")

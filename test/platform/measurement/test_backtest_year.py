"""The year study (make backtest-year) prices its options as the night does: at each night's dated
per-currency rates, the sample's rates file of the date, never at the configured flat rate."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from riskbatch.inputs.files import read_table
from riskbatch.inputs.rates import RATE_COLUMNS, parse_rates
from riskbatch.inputs.sample import SampleSpec, sample_rates, write_nights, write_rates
from riskbatch.model.offline import run_offline
from riskbatch.model.risk_model import ModelParameters
from riskbatch.model.settings import load_model_config
from riskbatch.validation.history import backtest_summary
from riskbatch_platform.measurement.backtest_year import main, policy_lines, production_parameters, run_year

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
    lines = policy_lines(records, backtest_summary(records), parameters)
    assert lines[0].startswith(f"rates: each night's dated curves ({len(records[0]['rates'])} currencies, {NIGHTS} nights from {folders[0].name}")


def test_the_policy_line_claims_the_production_policy_only_when_the_year_runs_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Before, the year ran 5,000 scenarios a night under a line that said "the production policy" (production: 100,000)."""
    config = load_model_config()
    production = config.parameters["scenarios"]
    assert main(["--nights", "2", "--positions", "60", "--factors", "12", "--scenarios", "1000", "--out", str(tmp_path)]) == 0
    (line,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("policy: ")]
    floor = config.scenario_floor("production")
    assert line.startswith(f"policy: not the production policy: scenarios 1,000 against production's {production:,} (its floor {floor:,}); ")
    records = [json.loads(path.read_text()) for path in sorted((tmp_path / "history").glob("*.json"))]
    summary = backtest_summary(records)
    (same,) = [line for line in policy_lines(records, summary, production_parameters()) if line.startswith("policy: ")]
    assert same.startswith(f"policy: the production policy of model configuration {config.version}: ")
    (other,) = [line for line in policy_lines(records, summary, production_parameters(distribution="student-t")) if line.startswith("policy: ")]
    assert other.startswith("policy: not the production policy: distribution student-t against production's normal; ")


def test_the_year_runs_production_scenario_count_by_default_and_claims_nothing_else(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Before, make backtest-year (no --scenarios) ran 5,000 scenarios a night: its policy line said it was not the production policy."""
    config = load_model_config()
    assert main(["--nights", "2", "--positions", "40", "--factors", "8", "--out", str(tmp_path)]) == 0
    (line,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("policy: ")]
    assert line.startswith(f"policy: the production policy of model configuration {config.version}: ")
    assert config.parameters["scenarios"] >= config.scenario_floor("production")  # production's count is at or above its own floor

"""A production night reproduced offline from its manifest, to the last digit (riskbatch.model.reproduce);
a run by name (the market's factor order) is not that night."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from riskbatch.aws.layout import report_keys
from riskbatch.cli import main
from riskbatch.inputs.sample import SampleSpec, write_nights
from riskbatch.model.offline import run_offline
from riskbatch.model.reproduce import reproduce_night
from riskbatch.model.risk_model import ModelParameters
from riskbatch.reporting.results import read_results
from test.jobs.stack_layout import Night, mocked_night, publish


def _run_night(night: Night, folder: Path) -> tuple[dict, dict]:
    """The night through the jobs' code: ingestion, the risk workers, the report. Its manifest and its report's figures."""
    run = publish(night, night.upload(folder, folder.name)[1])
    output = night.settings.output_bucket
    manifest = json.loads(night.s3.get_object(Bucket=output, Key=f"runs/{run}/manifest.json")["Body"].read())
    figures = json.loads(night.s3.get_object(Bucket=output, Key=report_keys(folder.name, run)[1])["Body"].read())
    return manifest, figures


@pytest.fixture(scope="module")
def second_night(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, dict, dict]:
    """Two nights; the second brings a factor that sorts first (AAA_NEW), so its draw order is not the names' order.
    Its folder, manifest, report figures and the units' summed P&L as the report read them."""
    tmp_path = tmp_path_factory.mktemp("reproduce")
    monkeypatch = pytest.MonkeyPatch()
    folders = write_nights(tmp_path / "files", SampleSpec(positions=560, factors=30, days=260, portfolios=3, features=False), 2)
    market = (folders[1] / "market.csv").read_text().splitlines()
    dates = sorted({line.split(",")[0] for line in market[1:]})
    (folders[1] / "market.csv").write_text("\n".join([*market, *(f"{d},AAA_NEW,{50.0 + (i % 7) * 0.3:.2f},USD,0.0" for i, d in enumerate(dates))]) + "\n")
    with (folders[1] / "positions.csv").open("a") as positions:
        positions.write("PF01,NEW1,equity,AAA_NEW,2000,,,,,,\n")
    try:
        with mocked_night(tmp_path / "night", monkeypatch, "2000", 512) as night:
            _run_night(night, folders[0])
            manifest, figures = _run_night(night, folders[1])
            results = read_results(night.s3, night.settings.output_bucket, manifest)
    finally:
        monkeypatch.undo()
    assert manifest["draw_order"] != sorted(manifest["draw_order"]) and len(manifest["units"]) == 3  # the night this test is about
    return folders[1], manifest, figures, {"portfolios": results.portfolios, "pnl": results.pnl}


def test_a_night_reproduced_from_its_manifest_matches_its_report_to_the_last_digit(second_night) -> None:
    folder, manifest, figures, results = second_night
    again = reproduce_night(manifest, folder / "positions.csv", folder / "market.csv", folder / "rates.csv")
    assert again["seed"] == manifest["model"]["seed"] and again["scenarios"] == manifest["model"]["scenarios"]
    for key in ("var_95", "var_99", "es_975"):
        assert again["firm"][key] == figures["firm"][key]  # equal, not approximately
        for portfolio, values in figures["portfolios"].items():
            assert again["portfolios"][portfolio][key] == values[key]
    assert list(again["portfolios"]) == results["portfolios"] and np.array_equal(again["pnl"], results["pnl"])  # each portfolio's P&L in every scenario
    # the rates file is optional: the night's curves are in its manifest
    assert reproduce_night(manifest, folder / "positions.csv", folder / "market.csv")["firm"] == again["firm"]


def test_a_run_by_name_with_the_nights_settings_is_not_that_night(second_night) -> None:
    # before: the only offline run built the Cholesky factor in the market's (names') order; the production night
    # builds it in the draw order its manifest saved. Same files, seed, scenarios and rates: other figures.
    folder, manifest, figures, _ = second_night
    by_name = run_offline(folder / "positions.csv", folder / "market.csv", ModelParameters(**manifest["model"]), False, rates_path=folder / "rates.csv")
    difference = by_name["firm"]["var_99"] / figures["firm"]["var_99"] - 1.0
    print(f"firm VaR 99 %: by name {by_name['firm']['var_99']:,.2f}, the night {figures['firm']['var_99']:,.2f} ({difference:+.3%})")
    assert by_name["firm"]["var_99"] != figures["firm"]["var_99"]


def test_a_file_that_is_not_the_one_the_night_read_is_refused_in_one_line(second_night, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder, manifest, _, _ = second_night
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    changed = tmp_path / "positions.csv"
    changed.write_text((folder / "positions.csv").read_text().replace("PF01,NEW1,equity,AAA_NEW,2000", "PF01,NEW1,equity,AAA_NEW,2001"))
    common = ["risk", "--manifest", str(tmp_path / "manifest.json"), "--market", str(folder / "market.csv"), "--quiet"]
    assert main([*common, "--positions", str(changed)]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and f"is not the positions file run {manifest['run_id']} read" in error and "give that file" in error
    other_rates = tmp_path / "rates.csv"
    other_rates.write_text((folder / "rates.csv").read_text().replace("0.043", "0.044"))
    assert main([*common, "--positions", str(folder / "positions.csv"), "--rates", str(other_rates)]) == 2
    assert "is not the rates file" in capsys.readouterr().err
    # the files it read: the night's figures, with the run named
    assert main([*common, "--positions", str(folder / "positions.csv"), "--rates", str(folder / "rates.csv"), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["run_id"] == manifest["run_id"] and printed["seed"] == manifest["model"]["seed"]
    assert main([*common, "--positions", str(folder / "positions.csv")]) == 0  # as text: the run it reproduced, and how
    text = capsys.readouterr().out
    assert f"reproduced run {manifest['run_id']}: model configuration {manifest['model_config']['version']}, the night's recorded draw order" in text

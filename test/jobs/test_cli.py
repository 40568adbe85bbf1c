"""The command line: offline risk as JSON, the sample generator, the health check, clear errors."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path

import pytest

from riskbatch.cli import main
from riskbatch.inputs.sample import SampleSpec, write_sample
from riskbatch.runtime.heartbeat import beat, heartbeat_path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_sample(tmp_path_factory.mktemp("cli"), SampleSpec(positions=400, factors=40, days=260, portfolios=3))


def _risk(positions, market, *options: str) -> list[str]:
    """riskbatch risk on the sample's files, its rates file beside the positions."""
    return ["risk", "--positions", str(positions), "--market", str(market), "--rates", str(positions.parent / "rates.csv"), *options]


def test_risk_json_has_the_documented_shape(files, capsys: pytest.CaptureFixture[str]) -> None:
    positions, market = files
    assert main(_risk(positions, market, "--scenarios", "1000", "--seed", "5", "--json")) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    shape = {"business_date", "market_as_of", "reporting_currency", "firm", "portfolios", "portfolios_without_figures", "scenarios", "seed", "risk_model"}
    assert set(result) == shape | {"data_quality", "portfolios_partly_excluded"} and result["portfolios_without_figures"] == {}
    assert result["scenarios"] == 1000 and result["seed"] == 5 and result["reporting_currency"] == "USD"
    assert set(result["firm"]) == {"var_95", "var_975", "var_99", "es_975", "ci_95"}
    for key in ("var_95", "var_975", "var_99", "es_975"):
        low, high = result["firm"]["ci_95"][key]
        assert 0 < low <= result["firm"][key] <= high
    # the sample's bad row and its option expiring tonight are left out, and named
    assert result["data_quality"]["excluded_positions"] == 2
    assert set(result["portfolios"]) == {"PF01", "PF02", "PF03"}
    assert "scenario blocks 1/1" in captured.err  # progress goes to stderr
    assert main(_risk(positions, market, "--scenarios", "1000", "--seed", "5", "--quiet")) == 0
    printed = capsys.readouterr().out.splitlines()  # the option expiring tonight counted apart from the bad row, as the night's report does
    assert "excluded: 1 position(s), notional " in "\n".join(printed) and "expired today, not revalued: 1 option(s)" in printed
    # every portfolio has a figure; the bad row's portfolio is flagged partly excluded when the report would flag it (its notional unknown)
    (firm,) = [line for line in printed if line.startswith("firm ")]
    assert ("INCOMPLETE" in firm) == bool(result["portfolios_partly_excluded"]) and "no figure" not in firm
    assert all(f"{name} partly excluded" in firm for name in result["portfolios_partly_excluded"])


def test_risk_lists_the_portfolios_without_figures_as_the_nights_report_does(files, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A portfolio whose every position is excluded has no figure: the offline run names it and why, never leaves it out unsaid."""
    positions, market = files
    lines = positions.read_text().splitlines()
    spoiled = [",".join([*cells[:4], "nan", *cells[5:]]) if (cells := line.split(","))[0] == "PF02" else line for line in lines]
    (tmp_path / "rates.csv").write_bytes((positions.parent / "rates.csv").read_bytes())
    (tmp_path / "positions.csv").write_text("\n".join(spoiled) + "\n")
    count = sum(line.startswith("PF02,") for line in lines)
    assert main(_risk(tmp_path / "positions.csv", market, "--scenarios", "1000", "--quiet")) == 0
    printed = capsys.readouterr().out.splitlines()
    assert not [line for line in printed if line.startswith("PF02 ") and "VaR 99 %" in line]  # no figure row: not a VaR of 0
    (line,) = [line for line in printed if "PF02" in line and not line.startswith("firm ")]
    assert line.startswith(f"PF02   no figure (not a VaR of 0): all {count} positions excluded, notional ") and "non-finite quantity" in line
    (firm,) = [line for line in printed if line.startswith("firm ")]  # as the night's report: the firm figure leaves PF02 out, and says so
    assert "  INCOMPLETE, excludes PF02 (no figure: every position excluded)" in firm
    assert main(_risk(tmp_path / "positions.csv", market, "--scenarios", "1000", "--quiet", "--json")) == 0
    without = json.loads(capsys.readouterr().out)["portfolios_without_figures"]
    assert list(without) == ["PF02"] and without["PF02"]["figures"] is None and without["PF02"]["excluded_positions"] == count


def test_risk_flags_a_portfolio_mostly_excluded_as_the_nights_report_does(files, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Before, riskbatch risk never computed the portfolios partly excluded: PF02 with all but three positions of an unknown
    type read as a whole figure, the firm line unmarked."""
    positions, market = files
    lines, kept = positions.read_text().splitlines(), 0
    for number, line in enumerate(lines[1:], 1):
        cells = line.split(",")
        if cells[0] == "PF02" and (kept := kept + 1) > 3:
            lines[number] = ",".join([*cells[:2], "swap", *cells[3:]])  # an instrument type the night does not know: excluded, its notional known
    (tmp_path / "rates.csv").write_bytes((positions.parent / "rates.csv").read_bytes())
    (tmp_path / "positions.csv").write_text("\n".join(lines) + "\n")
    assert main(_risk(tmp_path / "positions.csv", market, "--scenarios", "1000", "--quiet", "--json")) == 0
    flag = json.loads(capsys.readouterr().out)["portfolios_partly_excluded"]["PF02"]
    assert flag["share"] > flag["threshold"] and flag["excluded_positions"] == kept - 3
    assert main(_risk(tmp_path / "positions.csv", market, "--scenarios", "1000", "--quiet")) == 0
    printed = capsys.readouterr().out.splitlines()
    assert f"PF02   INCOMPLETE: {flag['text']}" in printed and flag["text"].endswith("the risk may be higher or lower")
    (firm,) = [line for line in printed if line.startswith("firm ")]
    assert "  INCOMPLETE, " in firm and "PF02 partly excluded" in firm


def test_risk_applies_the_model_configurations_data_quality_policy_as_the_night_does(files, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A listing younger than the window takes the shipped proxy offline as at night (before: excluded offline only)."""
    positions, market = files
    lines = market.read_text().splitlines()
    first_dates = sorted({line.split(",")[0] for line in lines[1:]})[:120]
    listing = next(line.split(",")[3] for line in positions.read_text().splitlines()[1:] if line.split(",")[2] == "equity")
    kept = [line for line in lines if not (line.split(",")[1] == listing and line.split(",")[0] in first_dates)]
    (tmp_path / "market.csv").write_text("\n".join(kept) + "\n")
    assert main(_risk(positions, tmp_path / "market.csv", "--scenarios", "1000", "--quiet", "--json")) == 0
    quality = json.loads(capsys.readouterr().out)["data_quality"]
    assert not [row for row in quality["excluded"] if row["underlying"] == listing]
    (finding,) = [finding for finding in quality["findings"] if finding["factor"] == listing]
    assert finding["check"] == "proxy" and finding["action"] == "flag" and "IDX_EQ" in finding["detail"]


def test_risk_is_reproducible_from_the_command_line(files, capsys: pytest.CaptureFixture[str]) -> None:
    positions, market = files
    arguments = _risk(positions, market, "--scenarios", "1000", "--seed", "9", "--json", "--quiet")
    main(arguments)
    first = capsys.readouterr().out
    main(arguments)
    assert capsys.readouterr().out == first


def test_ewma_and_student_t_options_change_the_figures(files, capsys: pytest.CaptureFixture[str]) -> None:
    positions, market = files
    base = _risk(positions, market, "--scenarios", "2000", "--json", "--quiet")
    outputs = []
    for extra in ([], ["--cov", "ewma"], ["--distribution", "student-t", "--df", "4"]):
        main(base + extra)
        outputs.append(json.loads(capsys.readouterr().out)["firm"]["var_99"])
    assert len(set(outputs)) == 3


def test_a_bad_file_gives_a_clear_error(files, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    positions, market = files
    broken = tmp_path / "positions.csv"
    broken.write_text(positions.read_text().replace("instrument_type", "kind"))
    assert main(["risk", "--positions", str(broken), "--market", str(market), "--rates", str(positions.parent / "rates.csv"), "--scenarios", "1000"]) == 2
    assert "missing column instrument_type" in capsys.readouterr().err


def test_risk_takes_the_nights_rates_file_as_the_night_does(files, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the night refuses to run without its rates.csv (riskbatch.inputs.rates): so does the offline run, in one line
    positions, market = files
    base = ["risk", "--positions", str(positions), "--market", str(market), "--scenarios", "1000", "--json", "--quiet"]
    assert main(base) == 2
    assert "--rates is required: the night prices options at the dated rates of its rates.csv" in capsys.readouterr().err
    rates = (positions.parent / "rates.csv").read_text()
    (tmp_path / "unreadable.csv").write_text(rates.replace("rate", "value", 1))  # no rate column: the file is refused whole
    assert main([*base, "--rates", str(tmp_path / "unreadable.csv")]) == 2
    assert "rates file rejected" in capsys.readouterr().err
    # a percentage typed as a number refuses that currency's curve, as the night does: its options excluded, the rest run
    (tmp_path / "typed.csv").write_text(rates.replace(",0.043", ",4.3"))
    assert main([*base, "--rates", str(tmp_path / "typed.csv")]) == 0
    reasons = [row["reason"] for row in json.loads(capsys.readouterr().out)["data_quality"]["excluded"]]
    assert any(reason.startswith("no dated rate for USD in the night's rates file (USD's curve refused: USD 3M on") and "the rate 4.3 is outside" in reason
               for reason in reasons)  # fmt: skip
    # an option in a currency the file does not cover is excluded with the reason, as the night excludes it, never priced at 3 %
    (tmp_path / "no_usd.csv").write_text("\n".join(line for line in rates.splitlines() if ",USD," not in line) + "\n")
    assert main([*base, "--rates", str(tmp_path / "no_usd.csv")]) == 0
    quality = json.loads(capsys.readouterr().out)["data_quality"]
    reasons = [row["reason"] for row in quality["excluded"]]
    assert any("no dated rate for USD in the night's rates file" in reason for reason in reasons)
    # and the curves price the options: a file of other rates, other figures
    (tmp_path / "high.csv").write_text(rates.replace(",0.04", ",0.09"))
    figures = []
    for name in (positions.parent / "rates.csv", tmp_path / "high.csv"):
        assert main([*base, "--rates", str(name)]) == 0
        figures.append(json.loads(capsys.readouterr().out)["firm"]["es_975"])
    assert figures[0] != figures[1]


def test_sample_writes_the_book_and_history_it_is_asked_for(tmp_path: Path) -> None:
    spec = SampleSpec(positions=250, factors=30, days=260, option_share=0.2, business_date=dt.date(2026, 12, 1))
    positions, market = write_sample(tmp_path, spec)
    assert positions.parent.name == "2026-12-01"
    lines = positions.read_text().splitlines()
    assert lines[0] == "portfolio_id,position_id,instrument_type,underlying,quantity,strike,expiry,option_type,implied_vol,multiplier,vol_factor"
    assert len(lines) == 251 and sum(",option," in line for line in lines) > 20
    market_lines = market.read_text().splitlines()
    # the 30 factors asked for, and the sample's equity index (no position holds it: the proxy of a short history)
    assert market_lines[0] == "date,factor,price,currency,dividend_yield" and len(market_lines) == 1 + (30 + 1) * 260
    assert sum(line.startswith("2026-12-01,IDX_EQ,") for line in market_lines) == 1
    # what the demo shows: two currencies, dividends, an implied-vol factor, an option expiring tonight, a bad row
    assert {line.split(",")[3] for line in market_lines[1:]} == {"USD", "EUR"}
    assert any(line.startswith("2026-12-01,VOL_") for line in market_lines)
    assert any(float(line.split(",")[4]) > 0 for line in market_lines[1:])
    assert any(",option," in line and ",2026-12-01," in line for line in lines) and lines[-1].split(",")[4] == "nan"


@pytest.mark.clock  # a heartbeat's age is the clock against the file's modification time
def test_health_follows_the_heartbeat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert main(["health"]) == 1  # no job ever beat (ECS ignores failures during the StartPeriod)
    beat(str(tmp_path))
    assert main(["health"]) == 0
    stale = time.time() - 1_000
    os.utime(heartbeat_path(str(tmp_path)), (stale, stale))
    assert main(["health"]) == 1


def test_a_task_without_its_configuration_fails_with_a_clear_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A task definition that does not give the job its queue: exit 2 and the variable named, no traceback."""
    monkeypatch.delenv("RISK_WORK_QUEUE_URL", raising=False)
    assert main(["worker", "risk"]) == 2
    assert "configuration error: the environment variable RISK_WORK_QUEUE_URL is not set" in capsys.readouterr().err


def test_ingestion_without_its_buckets_and_queue_raises_a_configuration_error() -> None:
    from riskbatch.jobs.ingestion import ingest
    from riskbatch.model.settings import ConfigurationError, Settings

    settings = Settings("ingest", "test", None, None, "incoming/", None, None, None, None, "/tmp", 1000)
    with pytest.raises(ConfigurationError, match="OUTPUT_BUCKET and RISK_WORK_QUEUE_URL"):
        ingest("bucket", "incoming/2026-01-02/positions.csv", settings, None, None, None)


@pytest.mark.parametrize("job", ["data-ingestion", "risk-calculation", "report-generation", "pre-night-check", "deadline-check"])
def test_smoke_imports_the_job_writes_its_heartbeat_and_passes_the_health_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, job: str) -> None:
    """The deploy's smoke task (riskbatch_platform.deployment.smoke): exit 0 only when the job's code imports and
    the health check passes on the heartbeat it wrote; a job the image does not know is exit 1."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setenv("RISKBATCH_JOB", job)
    assert main(["smoke"]) == 0 and heartbeat_path(str(tmp_path)).exists()
    monkeypatch.setenv("RISKBATCH_JOB", "no-such-job")
    assert main(["smoke"]) == 1


def test_every_task_definitions_job_is_one_the_smoke_command_knows() -> None:
    from riskbatch.commands import SMOKE_IMPORTS
    from test.conftest import the_template
    from test.template_model import container_environment

    jobs = {
        container_environment(container)["RISKBATCH_JOB"]
        for task in the_template().of_type("AWS::ECS::TaskDefinition")
        for container in task.props["ContainerDefinitions"]
    }
    assert jobs == set(SMOKE_IMPORTS)

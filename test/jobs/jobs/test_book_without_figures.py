"""A positions file whose every row is refused: the night is not rejected and never publishes a firm VaR of 0 (bad
data never turns into low risk, the design's risk model). It publishes no figure with the reasons: page one, the
JSON (`firm` None), the limits, the notice's subject, the history and the log lines the metric filters count. The
next night's backtest finds no VaR to test on that day: never a P&L of 0, an incomplete day counted as an exception
until someone signs it off. A positions file that
cannot be read at all is still refused whole."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import numpy as np
import pytest

from riskbatch.aws.layout import excluded_rows_key, manifest_key, report_keys, result_key
from riskbatch.aws.storage import get_json
from riskbatch.inputs.business_days import next_business_day
from riskbatch.jobs.ingestion import ingest
from riskbatch.jobs.report_generation import ReportGeneration
from riskbatch.jobs.risk_calculation import RiskCalculation
from riskbatch.reporting.no_figure import headline
from riskbatch.validation.history import history_key
from riskbatch.validation.limits import NO_FIGURE
from riskbatch.validation.restatement import restatement_line
from test.jobs.jobs.test_pipeline import _alerts, _page_texts
from test.jobs.jobs.test_portfolio_without_figures import _spoiled
from test.jobs.stack_layout import Night, drain, mocked_night, publish, small_night

DATE = "2026-11-25"
PORTFOLIOS = {"PF01", "PF02", "PF03"}


@pytest.fixture
def night(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with mocked_night(tmp_path, monkeypatch, "1000", 500) as night:
        yield night


def _logged(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _report(night: Night, date: str, run: str) -> tuple[dict, bytes]:
    pdf_key, json_key = report_keys(date, run)
    bucket = night.settings.output_bucket
    return get_json(night.s3, bucket, json_key), night.s3.get_object(Bucket=bucket, Key=pdf_key)["Body"].read()


def test_every_row_refused_publishes_no_figure_with_the_reasons_never_a_var_of_0(night: Night, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = small_night(tmp_path / "files", DATE)
    count, first = _spoiled(folder, PORTFOLIOS)
    (folder / "limits.csv").write_text("scope,measure,limit\nfirm,var_99,1000\nPF01,es_975,1e12\n")
    night.upload(folder, DATE, ("limits.csv",))  # the limits land first
    key = night.upload(folder, DATE)[1]
    outcome = ingest(night.settings.input_bucket, key, night.settings, night.s3, night.sqs, night.sns)
    assert outcome.status == "queued" and outcome.units == 1  # not rejected: one empty unit carries the night to its report
    capsys.readouterr()
    run = publish(night, key)
    assert run == outcome.run_id  # the second arrival finds the run queued
    logged = _logged(capsys.readouterr().err)
    figures, pdf = _report(night, DATE, run)

    assert figures["firm"] is None and figures["portfolios"] == {}  # no figure, never a VaR of 0
    assert figures["computed_by"]["report"]["code_fingerprint"] == figures["computed_by"]["ingestion"]["code_fingerprint"]  # what computed it
    why = figures["firm_without_figures"]
    assert why["figures"] is None and why["excluded_positions"] == count
    assert why["first_reasons"][0].startswith(f"{first} (") and "quantity" in why["first_reasons"][0]
    assert set(figures["portfolios_without_figures"]) == PORTFOLIOS
    assert all(entry["figures"] is None for entry in figures["portfolios_without_figures"].values())
    assert [(row["scope"], row["status"], row["figure"]) for row in figures["limits"]] == [("firm", NO_FIGURE, None), ("PF01", NO_FIGURE, None)]
    # the quarantine's record of the refused rows holds every one of them
    positions = next(item for item in figures["inputs"] if item["role"] == "positions")
    record = get_json(night.s3, night.settings.output_bucket, excluded_rows_key(DATE, "positions.csv", positions["sha256"]))
    assert len(record["excluded"]) == count == len((folder / "positions.csv").read_text().splitlines()) - 1

    page_one = _page_texts(pdf)[0]
    assert "NO FIGURE" in page_one and "not a VaR of 0" in page_one and first in page_one
    (notice,) = [alert for alert in _alerts(night) if alert["Subject"].startswith("Risk report")]
    assert "NO FIGURE" in notice["Subject"] and "VaR 99 %" not in notice["Subject"]
    assert f"were refused, notional unknown ({count} positions)." in headline(figures)  # no known notional: never "0 USD"
    # the empty unit's result names the build that wrote it, as every unit's does
    result = np.load(io.BytesIO(night.s3.get_object(Bucket=night.settings.output_bucket, Key=result_key(run, 0))["Body"].read()))
    assert result["pnl"].shape[0] == 0 and json.loads(str(result["built_by"]))
    # the metric filters count report_generated (ReportsPublished) and limit_breach (LimitBreaches): neither carries a VaR
    (generated,) = [line for line in logged if line["event"] == "report_generated"]
    assert generated["firm"] == "no figure" and not [field for field in generated if "var" in field]
    assert [line for line in logged if line["event"] == "limit_breach"] == []
    kept = get_json(night.s3, night.settings.output_bucket, history_key(DATE))
    assert kept["var"] is None and kept["var_1d"] is None and kept["no_figure"] is True


def test_the_next_night_counts_the_day_without_a_figure_as_an_exception_until_signed_off(
    night: Night, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    folder = small_night(tmp_path / "files", DATE)
    _spoiled(folder, PORTFOLIOS)
    publish(night, night.upload(folder, DATE)[1])
    following = next_business_day(dt.date.fromisoformat(DATE)).isoformat()
    capsys.readouterr()
    run = publish(night, night.upload(small_night(tmp_path / "next", following), following)[1])
    # a night of no figure has no book to revalue: the workers do not try to load it (nor retry it, as unavailable)
    assert not [line for line in _logged(capsys.readouterr().err) if line.get("event") == "previous_night_unavailable"]
    figures, pdf = _report(night, following, run)
    assert figures["firm"]["var_99"] > 0  # the night after publishes its figures
    # the change since a night of no figure: said as such, never "no earlier night"
    said = f"No change explained: {DATE} published no figure"  # the PDF's text escapes the parentheses that follow
    pages = [" ".join(text.split()) for text in _page_texts(pdf)]
    assert said in pages[0] and sum(said in text for text in pages) == 2
    assert not any("No earlier night" in text or "No previous night" in text for text in pages)
    tonight = figures["backtest"]["tonight"]
    assert tonight["var_date"] == DATE and tonight["no_figure"] and tonight["hypothetical_pnl"] is None and tonight["exceptions"] is None
    backtest = figures["backtest"]
    # an incomplete day: never a P&L of 0, an exception of the hypothetical backtest until someone signs it off
    assert backtest["firm"]["observations"] == 1 and backtest["firm"]["exception_dates"] == [DATE]
    assert backtest["incomplete"]["dates"] == [DATE]


@pytest.mark.parametrize(
    "contents",
    [b"portfolio,position,kind\nPF01,P1,equity\n", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR not a CSV at all"],
    ids=["wrong header", "not CSV"],
)
def test_a_positions_file_that_cannot_be_read_is_still_refused_whole(night: Night, tmp_path: Path, contents: bytes) -> None:
    folder = small_night(tmp_path / "files", DATE)
    (folder / "positions.csv").write_bytes(contents)
    outcome = ingest(night.settings.input_bucket, night.upload(folder, DATE)[1], night.settings, night.s3, night.sqs, night.sns)
    assert outcome.status == "rejected" and outcome.exit_code == 2
    assert night.messages(night.settings.risk_work_queue_url) == []  # nothing queued, nothing published


def _dated(night: Night, run: str, created_at: str) -> None:
    """The run's manifest dated earlier: runs of a date are ordered by their ingestion time (riskbatch.validation.restatement)."""
    bucket = night.settings.output_bucket
    manifest = {**get_json(night.s3, bucket, manifest_key(run)), "created_at": created_at}
    night.s3.put_object(Bucket=bucket, Key=manifest_key(run), Body=json.dumps(manifest).encode())


def test_a_file_with_every_row_refused_after_figures_were_published_is_refused_whole_and_the_figures_stand(night: Night, tmp_path: Path) -> None:
    published = publish(night, night.upload(small_night(tmp_path / "files", DATE), DATE)[1])
    bucket = night.settings.output_bucket
    in_force = get_json(night.s3, bucket, history_key(DATE))
    assert in_force["run_id"] == published and in_force["var"]
    _alerts(night)  # the published night's notices read off
    folder = small_night(tmp_path / "restated", DATE)
    _spoiled(folder, PORTFOLIOS)
    outcome = ingest(night.settings.input_bucket, night.upload(folder, DATE)[1], night.settings, night.s3, night.sqs, night.sns)
    assert outcome.status == "rejected" and outcome.exit_code == 2
    report = get_json(night.s3, bucket, outcome.detail)
    assert report["problems"][0].startswith("no valid position")
    assert f"the figures published for {DATE} by run {published} stand" in report["problems"][-1]
    assert any(alert["Subject"] == f"Risk batch: rejected input for {DATE}" for alert in _alerts(night))
    assert night.messages(night.settings.risk_work_queue_url) == []  # nothing queued
    assert get_json(night.s3, bucket, history_key(DATE)) == in_force  # the published record is not superseded


def test_a_file_with_every_row_refused_ingested_before_the_figures_published_never_replaces_them(night: Night, tmp_path: Path) -> None:
    """Two runs of one date ingested before either publishes: the later, of no figure, finds the figures in force when it
    publishes (ingestion saw none) and stands aside; its report says which run's figures stand."""
    settings, bucket = night.settings, night.settings.output_bucket
    good = ingest(settings.input_bucket, night.upload(small_night(tmp_path / "good", DATE), DATE)[1], settings, night.s3, night.sqs, night.sns)
    folder = small_night(tmp_path / "bad", DATE)
    _spoiled(folder, PORTFOLIOS)
    bad = ingest(settings.input_bucket, night.upload(folder, DATE)[1], settings, night.s3, night.sqs, night.sns)
    assert bad.status == "queued"  # no figures were published yet: ingestion cannot know
    _dated(night, good.run_id, "2026-11-26T05:00:00Z")
    _dated(night, bad.run_id, "2026-11-26T05:03:00Z")  # the all-refused file landed later: the later run
    drain(night, settings.risk_work_queue_url, RiskCalculation(night.s3, night.events, settings.event_bus_name))
    for message in night.messages(settings.report_queue_url):
        night.sqs.send_message(QueueUrl=settings.report_queue_url, MessageBody=json.dumps(message))
    drain(night, settings.report_queue_url, ReportGeneration(night.s3, night.sns, settings.alert_topic_arn))
    in_force = get_json(night.s3, bucket, history_key(DATE))
    assert in_force["run_id"] == good.run_id and in_force["var"] and not in_force.get("no_figure")
    figures, _ = _report(night, DATE, bad.run_id)
    assert figures["restatement"]["superseded_by"] == good.run_id and "stand" in figures["restatement"]["reason"]


def test_a_night_of_no_figure_that_supersedes_one_says_so_on_its_report(night: Night, tmp_path: Path) -> None:
    folder = small_night(tmp_path / "files", DATE)
    _spoiled(folder, PORTFOLIOS)
    first = publish(night, night.upload(folder, DATE)[1])
    _dated(night, first, "2026-11-26T05:00:00Z")
    lines = (folder / "positions.csv").read_text().splitlines()
    cells = lines[1].split(",")
    cells[1] = "P-corrected"
    (folder / "positions.csv").write_text("\n".join([*lines, ",".join(cells)]) + "\n")  # still every row refused: another file
    second = publish(night, night.upload(folder, DATE)[1])
    assert second != first and get_json(night.s3, night.settings.output_bucket, history_key(DATE))["run_id"] == second
    figures, pdf = _report(night, DATE, second)
    assert figures["restatement"]["supersedes"] == first and restatement_line(figures)
    page_one = " ".join(_page_texts(pdf)[0].split())
    assert f"Restated, supersedes run {first}" in page_one


def test_a_night_of_no_figure_carries_the_draw_order_forward(night: Night, tmp_path: Path) -> None:
    """The draw order keeps each factor's scenarios from night to night (common random numbers): a night without a
    factor carries the order it found, or the night after it would start over in the names' order."""
    before = "2026-11-24"
    first = publish(night, night.upload(small_night(tmp_path / "before", before), before)[1])
    folder = small_night(tmp_path / "files", DATE)
    _spoiled(folder, PORTFOLIOS)
    refused = publish(night, night.upload(folder, DATE)[1])
    bucket = night.settings.output_bucket
    order = get_json(night.s3, bucket, manifest_key(first))["draw_order"]
    assert order and get_json(night.s3, bucket, manifest_key(refused))["draw_order"] == order

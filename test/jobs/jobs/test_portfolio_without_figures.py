"""A portfolio whose every position is excluded: the night publishes the others, and that portfolio has no
figure (never a VaR of 0) and the reason, on page one and in the JSON. A positions file with no valid
position at all publishes no figure for the firm either (test_book_without_figures.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from riskbatch.aws.layout import report_keys
from riskbatch.jobs.ingestion import ingest
from riskbatch.jobs.queue_worker import QueueWorker, WorkerOptions
from riskbatch.jobs.report_generation import ReportGeneration
from riskbatch.jobs.risk_calculation import RiskCalculation
from riskbatch.reporting.page_one import warning_lines
from test.jobs.jobs.test_pipeline import _page_texts
from test.jobs.stack_layout import Night, mocked_night, small_night

DATE = "2026-11-25"


@pytest.fixture
def night(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with mocked_night(tmp_path, monkeypatch, "1000", 500) as night:
        yield night


def _drain(night: Night, queue: str, handler) -> None:
    QueueWorker(night.sqs, queue, handler, night.settings.scratch, WorkerOptions(wait_seconds=0, idle_exit_seconds=0)).run()


def _spoiled(folder: Path, portfolios: set[str]) -> tuple[int, str]:
    """Every position of `portfolios` given a NaN quantity (an excluded row); how many, and the first one's id."""
    lines = (folder / "positions.csv").read_text().splitlines()
    spoiled = []
    for number, line in enumerate(lines[1:], 1):
        cells = line.split(",")
        if cells[0] in portfolios:
            cells[4] = "nan"
            lines[number] = ",".join(cells)
            spoiled.append(cells[1])
    (folder / "positions.csv").write_text("\n".join(lines) + "\n")
    return len(spoiled), spoiled[0]


def test_a_portfolio_with_every_position_excluded_has_no_figure_and_the_night_publishes_the_others(night: Night, tmp_path: Path) -> None:
    folder = small_night(tmp_path / "files", DATE)
    count, first = _spoiled(folder, {"PF03"})
    outcome = ingest(night.settings.input_bucket, night.upload(folder, DATE)[1], night.settings, night.s3, night.sqs, night.sns)
    assert outcome.status == "queued"  # the other portfolios' night is not rejected
    _drain(night, night.settings.risk_work_queue_url, RiskCalculation(night.s3, night.events, night.settings.event_bus_name))
    for message in night.messages(night.settings.report_queue_url):
        night.sqs.send_message(QueueUrl=night.settings.report_queue_url, MessageBody=json.dumps(message))
    _drain(night, night.settings.report_queue_url, ReportGeneration(night.s3, night.sns, night.settings.alert_topic_arn))
    pdf_key, json_key = report_keys(DATE, outcome.run_id)
    figures = json.loads(night.s3.get_object(Bucket=night.settings.output_bucket, Key=json_key)["Body"].read())
    assert set(figures["portfolios"]) == {"PF01", "PF02"} and figures["firm"]["var_99"] > 0
    (without,) = figures["portfolios_without_figures"].items()
    name, why = without
    assert name == "PF03" and why["figures"] is None  # no figure, never a VaR of 0
    assert why["excluded_positions"] == count and why["first_reason"].startswith(f"{first}: ") and "quantity" in why["first_reason"]
    excluded = [row for row in figures["data_quality"]["excluded"] if row["portfolio_id"] == "PF03"]
    known = sum(row["notional"] for row in excluded if row["notional"] is not None)
    assert why["excluded_notional"] == pytest.approx(known) and why["excluded_notional_unknown"] == sum(row["notional"] is None for row in excluded)
    (line,) = [text for text in warning_lines(figures) if text.startswith("Portfolio PF03")]
    assert line.startswith(f"Portfolio PF03 has no figure tonight (not a VaR of 0): all {count} positions excluded, notional ")
    page_one = _page_texts(night.s3.get_object(Bucket=night.settings.output_bucket, Key=pdf_key)["Body"].read())[0]
    assert "Portfolio PF03 has no figure tonight" in page_one


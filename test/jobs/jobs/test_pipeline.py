"""The three jobs against an in-process AWS: every S3, SQS, SNS and EventBridge interaction."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from botocore.exceptions import ClientError

from riskbatch.aws.alerts import ALERT_BYTES, SNS_MESSAGE_LIMIT, sns_message_size
from riskbatch.aws.layout import report_keys, result_key, status_key
from riskbatch.aws.storage import list_keys
from riskbatch.inputs.business_days import business_days_ending
from riskbatch.inputs.sample import SampleSpec, write_sample
from riskbatch.jobs.ingestion import ingest
from riskbatch.jobs.queue_worker import QueueWorker, WorkerOptions
from riskbatch.jobs.report_generation import ReportGeneration
from riskbatch.jobs.risk_calculation import RiskCalculation
from riskbatch.model.offline import run_offline
from riskbatch.model.risk_model import ModelParameters
from riskbatch.model.settings import load_model_config
from test.jobs.stack_layout import Night, mocked_night

DATE = "2026-11-25"
SCENARIOS = "2000"


@pytest.fixture(scope="module")
def sample_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    write_sample(out, SampleSpec(positions=600, factors=60, days=260, portfolios=4, business_date=dt.date(2026, 11, 25)))
    return out / DATE


@pytest.fixture
def night(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with mocked_night(tmp_path, monkeypatch, SCENARIOS, 512) as night:
        yield night


def run_ingest(night: Night, key: str):
    return ingest(night.settings.input_bucket, key, night.settings, night.s3, night.sqs, night.sns)


def drain(night: Night, queue: str, handler, **options) -> QueueWorker:
    worker = QueueWorker(night.sqs, queue, handler, night.settings.scratch, WorkerOptions(wait_seconds=0, idle_exit_seconds=0, **options))
    worker.run()
    return worker


def test_a_night_end_to_end_matches_the_offline_engine(night: Night, sample_files: Path) -> None:
    night.upload(sample_files, DATE, ("stress_market.csv",))  # the stress history lands before the night's two files
    first, second = night.upload(sample_files, DATE)
    assert run_ingest(night, first).status in {"queued", "duplicate"}
    outcome = run_ingest(night, second)
    assert outcome.status in {"queued", "duplicate"}
    run = outcome.run_id
    manifest = json.loads(night.s3.get_object(Bucket=night.settings.output_bucket, Key=f"runs/{run}/manifest.json")["Body"].read())
    assert len(manifest["units"]) == 3  # 600 positions in units of 250
    assert {item["role"] for item in manifest["inputs"]} == {"positions", "market"}
    assert all(len(item["sha256"]) == 64 for item in manifest["inputs"])
    config = load_model_config()  # the run records the model configuration it was made with, and the overrides it allowed
    assert manifest["model_config"]["version"] == config.version and manifest["model_config"]["sha256"] == config.sha256
    assert manifest["model_config"]["overrides"] == {"scenarios": int(SCENARIOS), "block_size": 512}

    worker = drain(night, night.settings.risk_work_queue_url, RiskCalculation(night.s3, night.events, night.settings.event_bus_name))
    assert worker.processed == 3
    assert len(list_keys(night.s3, night.settings.output_bucket, f"runs/{run}/results/")) == 3
    completion = night.messages(night.settings.report_queue_url)
    assert len(completion) == 1 and completion[0]["detail"]["run_id"] == run

    night.sqs.send_message(QueueUrl=night.settings.report_queue_url, MessageBody=json.dumps(completion[0]))
    drain(night, night.settings.report_queue_url, ReportGeneration(night.s3, night.sns, night.settings.alert_topic_arn))
    pdf_key, json_key = report_keys(DATE, run)
    pdf = night.s3.get_object(Bucket=night.settings.output_bucket, Key=pdf_key)["Body"].read()
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    figures = json.loads(night.s3.get_object(Bucket=night.settings.output_bucket, Key=json_key)["Body"].read())

    offline = run_offline(sample_files / "positions.csv", sample_files / "market.csv", ModelParameters(**manifest["model"]), show_progress=False)
    for key in ("var_95", "var_99", "es_975"):
        assert figures["firm"][key] == pytest.approx(offline["firm"][key], rel=1e-9)
        for portfolio, values in offline["portfolios"].items():
            assert figures["portfolios"][portfolio][key] == pytest.approx(values[key], rel=1e-9)
    assert figures["firm"]["var_99"] < figures["sum_of_portfolio_var_99"]
    assert figures["seed"] == manifest["model"]["seed"] and figures["scenarios"] == int(SCENARIOS)
    assert len(figures["contributions"]) == 10
    tail_share = sum(item["es_contribution"] for item in figures["contributions"])
    assert tail_share > 0
    summary = [message for message in night.published() if isinstance(message, dict) and message.get("run_id") == run]
    assert summary and summary[0]["report"].endswith(pdf_key)
    # ES taken apart: the Euler shares add up to the firm's ES, by factor class and by portfolio alike
    breakdown = figures["es_breakdown"]
    assert breakdown["total"] == pytest.approx(figures["firm"]["es_975"], rel=1e-9)
    assert sum(breakdown["by_factor_class"].values()) == pytest.approx(breakdown["total"], rel=1e-9)
    assert sum(breakdown["by_portfolio"].values()) == pytest.approx(breakdown["total"], rel=1e-9)
    assert set(breakdown["by_factor_class"]) == {"equity", "FX", "volatility", "time decay", "interaction"}
    assert all(h["es_contribution"] < 0 for h in breakdown["hedges"])
    # component VaR of the largest positions: their mean loss where the firm's P&L sits at its VaR
    assert [c["position_id"] for c in breakdown["var_99_components"]] == [c["position_id"] for c in breakdown["largest"]]
    assert breakdown["var_99_band"] == min((int(SCENARIOS) - 1) // 100, 50) + 51
    assert all(abs(c["var_99_component"]) < figures["firm"]["var_99"] for c in breakdown["var_99_components"])
    # the challengers beside Monte Carlo, and the report's pages as a reader sees them
    challengers = figures["challengers"]
    # stressed VaR: the configured stress period of the stress history, not a window of the covariance's year
    stressed, period = challengers["stressed"], config.stress_period
    assert challengers["historical"]["days"] == 259 and stressed["chosen_as"] == f"configured stress period: {period.name}"
    assert period.first.isoformat() <= stressed["window"][0] < stressed["window"][1] <= period.last.isoformat() and stressed["days"] > 250
    assert stressed["firm"]["var_99"] > 1.5 * max(figures["firm"]["var_99"], challengers["historical"]["firm"]["var_99"])
    assert all(scope["es_975"] >= scope["var_99"] for scope in (stressed["firm"], challengers["historical"]["firm"]))
    pages = _page_texts(pdf)
    assert len(pages) >= 4
    for number, text in enumerate(pages, 1):
        assert f"page {number}" in text and run in text  # the footer of every page
    assert "Challenger models" in pages[0] and "Warnings" in pages[0]
    assert figures["model_config"] == manifest["model_config"] and f"Model configuration {config.version}" in pages[0]
    assert any(config.sha256 in text for text in pages)  # the audit trail
    assert any("Model documentation" in text for text in pages)
    for item in manifest["inputs"]:
        assert any(item["sha256"] in text for text in pages)  # each checksum whole on one line


def _page_texts(pdf: bytes) -> list[str]:
    """The text drawn on each page of a reportlab PDF (content streams: ASCII85, then Flate)."""
    import base64
    import re
    import zlib

    texts = []
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.DOTALL):
        encoded = stream.strip().removesuffix(b"~>")
        try:
            content = zlib.decompress(base64.a85decode(encoded)).decode("latin-1")
        except (ValueError, zlib.error):
            continue  # an image or a font
        if " Tj" in content:
            texts.append("".join(re.findall(r"\((.*?)\) Tj", content)))
    return texts


def test_the_same_file_twice_makes_one_run(night: Night, sample_files: Path) -> None:
    _, market = night.upload(sample_files, DATE)
    first = run_ingest(night, market)
    again = run_ingest(night, market)
    assert first.status == "queued" and again.status == "duplicate" and again.run_id == first.run_id
    assert night.queue_depth(night.settings.risk_work_queue_url) == 3
    assert len({key.split("/")[1] for key in list_keys(night.s3, night.settings.output_bucket, "runs/")}) == 1


def test_a_file_waits_for_its_companion(night: Night, sample_files: Path) -> None:
    (key,) = night.upload(sample_files, DATE, ("positions.csv",))
    outcome = run_ingest(night, key)
    assert outcome.status == "waiting" and outcome.exit_code == 0
    assert night.queue_depth(night.settings.risk_work_queue_url) == 0


def test_other_objects_under_the_prefix_are_ignored(night: Night) -> None:
    night.s3.put_object(Bucket=night.settings.input_bucket, Key="incoming/readme.txt", Body=b"x")
    assert run_ingest(night, "incoming/readme.txt").status == "ignored"


def _corrupted(sample_files: Path, tmp_path: Path, file: str, corrupt) -> Path:
    """The sample night in a folder of its own, with one of its files corrupted."""
    folder = tmp_path / "bad"
    folder.mkdir()
    for name in ("positions.csv", "market.csv", "rates.csv"):
        shutil.copy(sample_files / name, folder / name)
    original = (folder / file).read_text()
    corrupted = corrupt(original)
    assert corrupted != original, "the corruption did not apply"
    (folder / file).write_text(corrupted)
    return folder


def _shift_dates(text: str, days: int) -> str:
    """The market file with every date moved by `days` (a feed that stopped updating)."""
    lines = text.splitlines()
    moved = [lines[0]]
    for line in lines[1:]:
        date, rest = line.split(",", 1)
        moved.append(f"{dt.date.fromisoformat(date) - dt.timedelta(days=days)},{rest}")
    return "\n".join(moved) + "\n"


@pytest.mark.parametrize(
    ("file", "corrupt", "problem"),
    [
        ("positions.csv", lambda text: text.replace("instrument_type", "kind"), "missing column instrument_type"),
        (
            "positions.csv",
            lambda text: "\n".join(
                [text.splitlines()[0]] + [line.replace(",", ",abc,", 1) if i == 1 else line for i, line in enumerate(text.splitlines()[1:], 1)]
            ),
            "unreadable",
        ),
        ("market.csv", lambda text: text.replace("date,factor,price", "day,factor,price"), "missing column date"),
        ("market.csv", lambda text: text + text.splitlines()[3] + "\n", "duplicate (factor, date)"),
        ("market.csv", lambda text: text.replace("2026-11-25", "2026-11-27"), "after the business date"),
        ("market.csv", lambda text: _shift_dates(text, 7), "stale market data"),
        ("market.csv", lambda text: "\n".join(text.splitlines()[:1] + text.splitlines()[1 + 60 * 20 :]) + "\n", "daily returns of history"),
    ],
    ids=["missing-column", "wrong-type", "market-missing-column", "duplicate-price", "future-date", "stale-market", "short-history"],
)
def test_a_bad_file_is_quarantined_with_a_notification(night: Night, sample_files: Path, tmp_path: Path, file: str, corrupt, problem: str) -> None:
    keys = night.upload(_corrupted(sample_files, tmp_path, file, corrupt), DATE)
    outcome = run_ingest(night, keys[1])
    assert outcome.status == "rejected" and outcome.exit_code == 2
    reports = list_keys(night.s3, night.settings.output_bucket, f"quarantine/{DATE}/{file}.")
    assert len(reports) == 1
    report = json.loads(night.s3.get_object(Bucket=night.settings.output_bucket, Key=reports[0])["Body"].read())
    assert any(problem in line for line in report["problems"]), report["problems"]
    assert night.s3.get_object(Bucket=night.settings.input_bucket, Key=f"incoming/{DATE}/{file}")  # the original is kept
    notes = night.messages(night.notifications)
    assert len(notes) == 1 and problem.split()[0] in notes[0]["Message"]
    assert night.queue_depth(night.settings.risk_work_queue_url) == 0
    # Its neighbour's own arrival finds the same bad file: no second report, no second notification.
    assert run_ingest(night, keys[0]).status == "rejected"
    assert len(night.messages(night.notifications)) == 0


def _replace_field(text: str, row: int, column: str, value: str) -> str:
    lines = text.splitlines()
    header = lines[0].split(",")
    cells = lines[row].split(",")
    cells[header.index(column)] = value
    lines[row] = ",".join(cells)
    return "\n".join(lines) + "\n"


def _first_row(text: str, predicate) -> int:
    header = text.splitlines()[0].split(",")
    return next(i for i, line in enumerate(text.splitlines()[1:], 1) if predicate(dict(zip(header, line.split(","), strict=True))))


GAP = ("2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06")  # four business days: more than the three bridged


def _break_used_factor(text: str, price: str) -> str:
    """A price of EQ_0003 (which positions use) made unusable on four days in a row."""
    lines = text.splitlines()
    for row in [i for i, line in enumerate(lines) if ",EQ_0003," in line and line.startswith(GAP)]:
        cells = lines[row].split(",")
        cells[2] = price
        lines[row] = ",".join(cells)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("file", "corrupt", "reason"),
    [
        ("positions.csv", lambda t: _replace_field(t, 1, "instrument_type", "bond"), "unknown instrument type"),
        ("positions.csv", lambda t: t + t.splitlines()[1] + "\n", "duplicate position_id"),
        ("positions.csv", lambda t: _replace_field(t, 1, "underlying", "EQ_9999"), "underlying not in the market data"),
        ("positions.csv", lambda t: _replace_field(t, 1, "quantity", "NaN"), "non-finite quantity"),
        ("positions.csv", lambda t: _replace_field(t, 1, "quantity", "inf"), "non-finite quantity"),
        ("positions.csv", lambda t: _replace_field(t, _first_row(t, lambda r: r["instrument_type"] == "option"), "strike", "NaN"), "strike"),
        ("positions.csv", lambda t: _replace_field(t, _first_row(t, lambda r: r["instrument_type"] == "option"), "implied_vol", "NaN"), "implied_vol"),
        ("positions.csv", lambda t: _replace_field(t, _first_row(t, lambda r: r["instrument_type"] == "option"), "expiry", "2020-01-01"), "expired"),
        ("market.csv", lambda t: _break_used_factor(t, "nan"), "EQ_0003 excluded"),
        ("market.csv", lambda t: _break_used_factor(t, "-3"), "EQ_0003 excluded"),
        ("market.csv", lambda t: "\n".join(line for line in t.splitlines() if not (line.startswith(GAP) and ",EQ_0003," in line)) + "\n", "EQ_0003 excluded"),
    ],
    ids=["unknown-type", "duplicate-position", "unknown-underlying", "nan-quantity", "inf-quantity", "nan-strike", "nan-vol", "expired-option",
         "nan-price", "negative-price", "incomplete-history"],
)  # fmt: skip
def test_a_bad_row_or_factor_is_excluded_and_listed_while_the_night_goes_on(night: Night, sample_files: Path, tmp_path: Path, file, corrupt, reason) -> None:
    outcome = run_ingest(night, night.upload(_corrupted(sample_files, tmp_path, file, corrupt), DATE)[1])
    assert outcome.status == "queued" and outcome.exit_code == 0
    manifest = json.loads(night.s3.get_object(Bucket=night.settings.output_bucket, Key=f"runs/{outcome.run_id}/manifest.json")["Body"].read())
    excluded = manifest["data_quality"]["excluded"]
    assert any(reason in row["reason"] for row in excluded), excluded
    (listing,) = list_keys(night.s3, night.settings.output_bucket, f"quarantine/{DATE}/positions.csv.")
    assert listing.endswith(".excluded-rows.json")
    record = json.loads(night.s3.get_object(Bucket=night.settings.output_bucket, Key=listing)["Body"].read())
    assert record["excluded"] == excluded and record["excluded_positions"] == len(excluded)
    notes = [note["Message"] for note in night.messages(night.notifications)]
    assert len(notes) == 1 and "excluded" in notes[0]
    assert manifest["positions"] == 600 - len(excluded) + (1 if "duplicate" in reason else 0)


def test_a_good_file_is_kept_when_its_neighbour_is_bad(night: Night, sample_files: Path, tmp_path: Path) -> None:
    folder = tmp_path / "night"
    folder.mkdir()
    shutil.copy(sample_files / "market.csv", folder / "market.csv")
    shutil.copy(sample_files / "rates.csv", folder / "rates.csv")
    (folder / "positions.csv").write_text("portfolio_id,position_id\nPF1,P1\n")
    keys = night.upload(folder, DATE)
    assert run_ingest(night, keys[0]).status == "rejected"
    shutil.copy(sample_files / "positions.csv", folder / "positions.csv")
    night.upload(folder, DATE, ("positions.csv",))
    assert run_ingest(night, keys[0]).status == "queued"  # the corrected file and the kept market file make the run


def test_redelivered_unit_writes_its_result_once_and_announces_once(night: Night, sample_files: Path) -> None:
    keys = night.upload(sample_files, DATE)
    run = run_ingest(night, keys[0]).run_id
    handler = RiskCalculation(night.s3, night.events, night.settings.event_bus_name)
    messages = night.sqs.receive_message(QueueUrl=night.settings.risk_work_queue_url, MaxNumberOfMessages=10)["Messages"]
    bodies = [json.loads(message["Body"]) for message in messages]
    for body in bodies:
        handler(body, lambda: False)
    result = night.s3.get_object(Bucket=night.settings.output_bucket, Key=result_key(run, 0))
    for body in bodies:  # every unit delivered again
        handler(body, lambda: False)
    again = night.s3.get_object(Bucket=night.settings.output_bucket, Key=result_key(run, 0))
    assert again["ETag"] == result["ETag"] and again["LastModified"] == result["LastModified"]
    assert len(night.messages(night.settings.report_queue_url)) == 1
    assert night.s3.get_object(Bucket=night.settings.output_bucket, Key=status_key(run, "announced"))


def test_a_failing_unit_is_released_and_dead_letters_after_three_receives(night: Night, sample_files: Path) -> None:
    keys = night.upload(sample_files, DATE)
    run_ingest(night, keys[0])
    messages = night.sqs.receive_message(QueueUrl=night.settings.risk_work_queue_url, MaxNumberOfMessages=10)["Messages"]
    for message in messages:
        night.sqs.change_message_visibility(QueueUrl=night.settings.risk_work_queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    poisoned = json.loads(messages[0]["Body"])

    def handler(message, should_abort):
        if message["unit"] == poisoned["unit"]:
            raise ValueError("poisoned unit")
        RiskCalculation(night.s3, night.events, night.settings.event_bus_name)(message, should_abort)

    for _ in range(4):
        drain(night, night.settings.risk_work_queue_url, handler)
    dead = night.messages(night.work_dlq)
    assert [body["unit"] for body in dead] == [poisoned["unit"]]


def test_sigterm_in_the_middle_of_a_unit_releases_it_and_loses_nothing(night: Night, sample_files: Path) -> None:
    keys = night.upload(sample_files, DATE)
    run = run_ingest(night, keys[0]).run_id
    calculation = RiskCalculation(night.s3, night.events, night.settings.event_bus_name)
    options = WorkerOptions(wait_seconds=0, idle_exit_seconds=0, abort_after_seconds=0)
    worker = QueueWorker(night.sqs, night.settings.risk_work_queue_url, calculation, night.settings.scratch, options)

    def interrupted(message, should_abort):
        worker.request_stop()  # what the SIGTERM handler does, while the unit is in hand
        calculation(message, should_abort)

    worker.handler = interrupted
    worker.run()
    assert worker.processed == 0
    assert list_keys(night.s3, night.settings.output_bucket, f"runs/{run}/results/") == []
    assert night.queue_depth(night.settings.risk_work_queue_url) == 3  # released, not lost
    drain(night, night.settings.risk_work_queue_url, calculation)
    assert len(list_keys(night.s3, night.settings.output_bucket, f"runs/{run}/results/")) == 3


def _interrupt_each_unit(night: Night, calculation: RiskCalculation, times: int, **options) -> dict[int, int]:
    """Workers stopped (SIGTERM) while each unit is in hand, until every unit was interrupted `times` times or left the queue."""
    interrupted: dict[int, int] = {}
    for _ in range(10 * times):
        worker = QueueWorker(
            night.sqs, night.settings.risk_work_queue_url, calculation, night.settings.scratch,
            WorkerOptions(wait_seconds=0, idle_exit_seconds=0, abort_after_seconds=0, **options),
        )  # fmt: skip

        def interrupt(message, should_abort, worker=worker):
            if interrupted.get(message["unit"], 0) < times:
                interrupted[message["unit"]] = interrupted.get(message["unit"], 0) + 1
                worker.request_stop()  # what the SIGTERM handler does, while the unit is in hand
            calculation(message, should_abort)

        worker.handler = interrupt
        worker.run()
        if night.queue_depth(night.settings.risk_work_queue_url) == 0 or (min(interrupted.values(), default=0) >= times and len(interrupted) == 3):
            break
    return interrupted


def test_three_interruptions_of_every_unit_dead_letter_none_and_the_night_completes(night: Night, sample_files: Path) -> None:
    """SQS counts every receive toward maxReceiveCount, whatever the consumer does after it
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html);
    a unit released at each interruption would be dead-lettered at its third. A re-queued one starts afresh."""
    max_receives = int(json.loads(night.sqs.get_queue_attributes(QueueUrl=night.settings.risk_work_queue_url, AttributeNames=["RedrivePolicy"])
                                  ["Attributes"]["RedrivePolicy"])["maxReceiveCount"])  # fmt: skip
    assert max_receives == 3
    run = run_ingest(night, night.upload(sample_files, DATE)[0]).run_id
    calculation = RiskCalculation(night.s3, night.events, night.settings.event_bus_name)
    interrupted = _interrupt_each_unit(night, calculation, max_receives)
    assert sorted(interrupted.values()) == [max_receives] * 3
    assert list_keys(night.s3, night.settings.output_bucket, f"runs/{run}/results/") == []
    drain(night, night.settings.risk_work_queue_url, calculation)
    assert night.queue_depth(night.work_dlq) == 0
    assert len(list_keys(night.s3, night.settings.output_bucket, f"runs/{run}/results/")) == 3
    assert night.s3.get_object(Bucket=night.settings.output_bucket, Key=status_key(run, "announced"))
    assert len(night.messages(night.settings.report_queue_url)) == 1  # the night completed: its report is due


def test_a_unit_interrupted_past_its_own_bound_still_dead_letters(night: Night, sample_files: Path) -> None:
    """The re-queue has its own limit: past it the receives count again, so a unit no worker can finish is dead-lettered."""
    run_ingest(night, night.upload(sample_files, DATE)[0])
    calculation = RiskCalculation(night.s3, night.events, night.settings.event_bus_name)
    _interrupt_each_unit(night, calculation, 100, max_interruptions=2)
    assert night.queue_depth(night.settings.risk_work_queue_url) == 0
    assert sorted(body["unit"] for body in night.messages(night.work_dlq)) == [0, 1, 2]


def test_unit_results_are_compact_binary(night: Night, sample_files: Path) -> None:
    keys = night.upload(sample_files, DATE)
    run = run_ingest(night, keys[0]).run_id
    drain(night, night.settings.risk_work_queue_url, RiskCalculation(night.s3, night.events, night.settings.event_bus_name), max_messages=1)
    (key,) = list_keys(night.s3, night.settings.output_bucket, f"runs/{run}/results/")
    import io

    with np.load(io.BytesIO(night.s3.get_object(Bucket=night.settings.output_bucket, Key=key)["Body"].read())) as result:
        assert result["pnl"].shape == (len(result["portfolio_ids"]), int(SCENARIOS))


def test_parquet_files_are_read_like_csv(night: Night, sample_files: Path, tmp_path: Path) -> None:
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    folder = tmp_path / "parquet"
    folder.mkdir()
    for name in ("rates", "positions", "market"):
        pq.write_table(pa_csv.read_csv(sample_files / f"{name}.csv"), folder / f"{name}.parquet")
    keys = night.upload(folder, DATE, ("rates.parquet", "positions.parquet", "market.parquet"))[1:]
    outcome = run_ingest(night, keys[0])
    assert outcome.status == "queued" and outcome.units == 3


def test_limits_that_come_with_the_files_are_reported_and_a_breach_is_logged_and_published(
    night: Night, sample_files: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "limits"
    folder.mkdir()
    for name in ("positions.csv", "market.csv", "rates.csv"):
        shutil.copy(sample_files / name, folder / name)
    (folder / "limits.csv").write_text("scope,measure,limit\nfirm,var_99,1000\nPF01,es_975,1e12\n")
    night.upload(folder, DATE, ("limits.csv",))  # the limits land first
    run = run_ingest(night, night.upload(folder, DATE)[1]).run_id
    manifest = json.loads(night.s3.get_object(Bucket=night.settings.output_bucket, Key=f"runs/{run}/manifest.json")["Body"].read())
    assert manifest["limits"] == [{"scope": "firm", "measure": "var_99", "limit": 1000.0}, {"scope": "PF01", "measure": "es_975", "limit": 1e12}]
    drain(night, night.settings.risk_work_queue_url, RiskCalculation(night.s3, night.events, night.settings.event_bus_name))
    night.sqs.send_message(QueueUrl=night.settings.report_queue_url, MessageBody=json.dumps(night.messages(night.settings.report_queue_url)[0]))
    drain(night, night.settings.report_queue_url, ReportGeneration(night.s3, night.sns, night.settings.alert_topic_arn))
    figures = json.loads(night.s3.get_object(Bucket=night.settings.output_bucket, Key=report_keys(DATE, run)[1])["Body"].read())
    # PF01 holds the sample's bad row, of unknown notional: its share cannot be shown under the flag, so its limit is not a plain ok,
    # and the firm's figure, holding PF01's, is above its limit on an incomplete figure
    assert [row["status"] for row in figures["limits"]] == ["breach (incomplete)", "incomplete"] and "of unknown notional" in figures["limits"][1]["incomplete"]
    assert '"event": "limit_breach"' in capsys.readouterr().err  # what the LimitBreaches metric filter counts, a breach on an incomplete figure too
    (summary,) = [message for message in night.published() if isinstance(message, dict) and message.get("run_id") == run]
    assert [(row["scope"], row["measure"]) for row in summary["limit_breaches"]] == [("firm", "var_99")]


BAD_ROWS = 10_000


def _alerts(night: Night) -> list[dict]:
    """The notifications on the alert topic, as SNS delivered them to the subscribed queue (subject and message)."""
    found = night.sqs.receive_message(QueueUrl=night.notifications, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    return [json.loads(message["Body"]) for message in found]


def _assert_fits(alert: dict) -> None:
    """Within the alert's bound, subject and attributes counted, and so under SNS's 256 KiB
    (https://docs.aws.amazon.com/sns/latest/dg/large-message-payloads.md)."""
    attributes = {name: {"DataType": value["Type"], "StringValue": value["Value"]} for name, value in alert.get("MessageAttributes", {}).items()}
    assert sns_message_size(alert.get("Subject"), alert["Message"], attributes) <= ALERT_BYTES < SNS_MESSAGE_LIMIT


class _RefusesOnce:
    """An SNS client whose first publish is refused (a throttle, a topic's key not usable yet): the job fails and is retried."""

    def __init__(self, sns) -> None:
        self.sns, self.refused = sns, False

    def publish(self, **request):
        if not self.refused:
            self.refused = True
            raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "Publish")
        return self.sns.publish(**request)


def test_a_rejection_of_10000_bad_rows_alerts_within_the_bound_and_keeps_every_row_in_s3(night: Night, sample_files: Path, tmp_path: Path) -> None:
    folder = tmp_path / "bad-limits"
    folder.mkdir()
    for name in ("positions.csv", "market.csv", "rates.csv"):
        shutil.copy(sample_files / name, folder / name)
    (folder / "limits.csv").write_text("scope,measure,limit\n" + "".join(f"PF{row:05d},var_99,-{row}\n" for row in range(BAD_ROWS)))
    night.upload(folder, DATE, ("limits.csv",))
    keys = night.upload(folder, DATE)
    refusing = _RefusesOnce(night.sns)
    with pytest.raises(ClientError):
        ingest(night.settings.input_bucket, keys[1], night.settings, night.s3, night.sqs, refusing)
    (report_key,) = list_keys(night.s3, night.settings.output_bucket, f"quarantine/{DATE}/limits.csv.")
    assert _alerts(night) == []  # the quarantine report is written, the alert is not out yet
    assert ingest(night.settings.input_bucket, keys[1], night.settings, night.s3, night.sqs, refusing).status == "queued"  # the retry
    (alert,) = [alert for alert in _alerts(night) if "rejected input" in alert["Subject"]]
    _assert_fits(alert)
    assert f"({BAD_ROWS:,} problem(s))" in alert["Message"] and f"s3://{night.settings.output_bucket}/{report_key}" in alert["Message"]
    assert f"and {BAD_ROWS - 20:,} more" in alert["Message"]
    report = json.loads(night.s3.get_object(Bucket=night.settings.output_bucket, Key=report_key)["Body"].read())
    assert len(report["problems"]) == BAD_ROWS  # every row, in the key the alert names
    run_ingest(night, keys[0])  # the neighbour's arrival: the alert went out once, it stays quiet
    assert [alert for alert in _alerts(night) if "rejected input" in alert["Subject"]] == []


def test_10000_excluded_positions_alert_a_bounded_summary_and_the_s3_key_holds_them_all(night: Night, sample_files: Path, tmp_path: Path) -> None:
    folder = tmp_path / "bad-rows"
    folder.mkdir()
    shutil.copy(sample_files / "market.csv", folder / "market.csv")
    shutil.copy(sample_files / "rates.csv", folder / "rates.csv")
    lines = (sample_files / "positions.csv").read_text().splitlines()
    header = lines[0].split(",")
    template = dict(zip(header, lines[1].split(","), strict=True))
    bad = [",".join({**template, "position_id": f"BAD{row:05d}", "instrument_type": "bond"}[column] for column in header) for row in range(BAD_ROWS)]
    (folder / "positions.csv").write_text("\n".join([*lines, *bad]) + "\n")
    outcome = run_ingest(night, night.upload(folder, DATE)[1])
    assert outcome.status == "queued"
    (alert,) = _alerts(night)
    _assert_fits(alert)
    (listing,) = list_keys(night.s3, night.settings.output_bucket, f"quarantine/{DATE}/positions.csv.")
    record = json.loads(night.s3.get_object(Bucket=night.settings.output_bucket, Key=listing)["Body"].read())
    assert record["excluded_positions"] == len(record["excluded"]) >= BAD_ROWS  # the sample's own few, and the 10,000
    assert {f"BAD{row:05d}" for row in range(BAD_ROWS)} <= {row["position_id"] for row in record["excluded"]}
    assert f"{record['excluded_positions']:,} position(s)" in alert["Message"]
    assert f"{BAD_ROWS:,} x unknown instrument type" in alert["Message"]  # counts by reason
    assert f"notional {record['excluded_notional']:,.0f}" in alert["Message"] and f"s3://{night.settings.output_bucket}/{listing}" in alert["Message"]


def test_a_report_whose_summary_was_refused_publishes_it_on_the_retry(night: Night, sample_files: Path) -> None:
    run = run_ingest(night, night.upload(sample_files, DATE)[0]).run_id
    drain(night, night.settings.risk_work_queue_url, RiskCalculation(night.s3, night.events, night.settings.event_bus_name))
    (event,) = night.messages(night.settings.report_queue_url)
    refusing = _RefusesOnce(night.sns)
    report = ReportGeneration(night.s3, refusing, night.settings.alert_topic_arn)
    with pytest.raises(ClientError):
        report(event, lambda: False)
    assert night.s3.get_object(Bucket=night.settings.output_bucket, Key=report_keys(DATE, run)[1])  # written before the refusal
    report(event, lambda: False)  # the message's next receive
    (summary,) = [message for message in night.published() if isinstance(message, dict) and message.get("run_id") == run]
    assert summary["figures"].endswith(report_keys(DATE, run)[1]) and summary["limit_breaches_total"] == 0
    report(event, lambda: False)  # a redelivery after the mark: quiet
    assert night.published() == []


def _run_night(night: Night, folder: Path, date: str) -> str:
    night.upload(folder, date, ("limits.csv",) + (("actual_pnl.csv",) if (folder / "actual_pnl.csv").exists() else ()))
    run = run_ingest(night, night.upload(folder, date)[1]).run_id
    drain(night, night.settings.risk_work_queue_url, RiskCalculation(night.s3, night.events, night.settings.event_bus_name))
    for message in night.messages(night.settings.report_queue_url):
        night.sqs.send_message(QueueUrl=night.settings.report_queue_url, MessageBody=json.dumps(message))
    drain(night, night.settings.report_queue_url, ReportGeneration(night.s3, night.sns, night.settings.alert_topic_arn))
    return run


def test_each_night_keeps_its_var_and_backtests_the_previous_one(night: Night, tmp_path: Path) -> None:
    from riskbatch.inputs.sample import write_nights
    from riskbatch.validation.history import backtest_summary, load_records

    folders = write_nights(tmp_path, SampleSpec(positions=300, factors=40, days=260, portfolios=3), 3)
    dates = [folder.name for folder in folders]
    # the P&L the first night's book actually made over the second day, from the firm's P&L system
    (folders[1] / "actual_pnl.csv").write_text("portfolio_id,pnl\nPF01,-1e12\nPF02,1000\nPF03,-5\n")
    runs = [_run_night(night, folder, date) for folder, date in zip(folders, dates, strict=True)]
    records = load_records(night.s3, night.settings.output_bucket)
    assert [record["business_date"] for record in records] == dates and [record["run_id"] for record in records] == runs
    assert records[0]["backtest"] is None
    for earlier, later in itertools.pairwise(records):
        entry = later["backtest"]
        assert entry["var_date"] == earlier["business_date"] and entry["factors_without_a_move"] == []
        firm = entry["hypothetical_pnl"]["firm"]
        assert firm == pytest.approx(sum(entry["hypothetical_pnl"]["portfolios"].values()))
        assert entry["exceptions"]["firm"] == (-firm > earlier["var"]["firm"]["var_99"])
    actual = records[1]["backtest"]["actual"]
    assert actual["pnl"] == {"firm": -1e12 + 995, "portfolios": {"PF01": -1e12, "PF02": 1000.0, "PF03": -5.0}}
    assert actual["exceptions"] == {"firm": True, "portfolios": {"PF01": True, "PF02": False, "PF03": False}}
    assert records[2]["backtest"]["actual"] is None  # no actual P&L came with the third night
    figures = json.loads(night.s3.get_object(Bucket=night.settings.output_bucket, Key=report_keys(dates[-1], runs[-1])[1])["Body"].read())
    assert figures["backtest"]["firm"]["observations"] == 2 and figures["backtest"]["firm"] == backtest_summary(records)["firm"]
    assert figures["backtest"]["firm"]["zone"] is None  # the traffic light needs 250 observations
    assert figures["backtest"]["firm_actual"]["observations"] == 1 and figures["backtest"]["firm_actual"]["exceptions"] == 1
    # the change in VaR since the previous night, in its three steps; with the same model settings
    # and the same random numbers, recomputing yesterday's VaR gives yesterday's figure exactly
    change = figures["var_change"]
    assert change["var_date"] == dates[1]
    for scope, values in change["scopes"].items():
        assert values["model_or_data"] + values["market"] + values["book"] == pytest.approx(values["change"], abs=1e-6), scope
        assert values["model_or_data"] == pytest.approx(0.0, abs=1e-6 * values["yesterday"] + 1e-9), scope
    assert change["scopes"]["firm"]["tonight"] == pytest.approx(figures["firm"]["var_99"])
    # a re-run of a night keeps the first record: the history is written once per business date
    before = night.s3.get_object(Bucket=night.settings.output_bucket, Key=f"history/{dates[1]}.json")["Body"].read()
    from riskbatch.validation.history import write_record

    assert write_record(night.s3, night.settings.output_bucket, {**records[1], "run_id": "another"}) is False
    assert night.s3.get_object(Bucket=night.settings.output_bucket, Key=f"history/{dates[1]}.json")["Body"].read() == before


def _logged_events(text: str) -> list[str]:
    return [json.loads(line)["event"] for line in text.splitlines() if line.startswith("{")]


def test_a_report_is_counted_as_published_only_once_it_is_written(night: Night, sample_files: Path, capsys: pytest.CaptureFixture) -> None:
    """ReportsPublished counts the report job's report_generated log line (its metric filter): a
    report that fails before it is written must not log it, one that is written logs it once."""
    run = run_ingest(night, night.upload(sample_files, DATE)[1]).run_id
    drain(night, night.settings.risk_work_queue_url, RiskCalculation(night.s3, night.events, night.settings.event_bus_name))
    (completion,) = night.messages(night.settings.report_queue_url)
    report = ReportGeneration(night.s3, night.sns, night.settings.alert_topic_arn)
    capsys.readouterr()
    with pytest.raises(RuntimeError, match="stopping before publishing"):
        report(completion, should_abort=lambda: True)
    events = _logged_events(capsys.readouterr().err)
    assert "report_generated" not in events and "report_generated_failed" in events
    assert not list_keys(night.s3, night.settings.output_bucket, f"reports/{DATE}/")
    report(completion, should_abort=lambda: False)
    assert _logged_events(capsys.readouterr().err).count("report_generated") == 1
    assert len(list_keys(night.s3, night.settings.output_bucket, f"reports/{DATE}/")) == 2 and run


def test_the_first_night_after_a_landed_year_shows_the_traffic_light_and_the_exceptions_chart(night: Night, tmp_path: Path) -> None:
    # make demo lands the year before its first night under history/, generated through
    # make backtest-year's code over the market history the night continues: the first report
    # backtests 250 days (it said "No observation yet"), with the traffic light and the chart.
    from riskbatch.inputs.sample import write_nights
    from riskbatch_platform.measurement.backtest_year import run_year

    history = 251  # the first generated night has nothing to backtest
    tonight = dt.date(2026, 11, 25)
    first = business_days_ending(tonight, history + 1)[0]  # the exchange calendar's business days, as make demo counts them
    spec = SampleSpec(positions=300, factors=40, days=260, portfolios=3, business_date=first)
    records = run_year(spec, history + 1, ModelParameters(scenarios=1_000, block_size=1_000), computed=history)
    for record in records:
        night.s3.put_object(Bucket=night.settings.output_bucket, Key=f"history/{record['business_date']}.json", Body=json.dumps(record).encode())
    (folder,) = write_nights(tmp_path, spec, history + 1, first_written=history)
    assert folder.name == tonight.isoformat() and records[-1]["business_date"] < folder.name
    run = _run_night(night, folder, folder.name)
    pdf_key, json_key = report_keys(folder.name, run)
    figures = json.loads(night.s3.get_object(Bucket=night.settings.output_bucket, Key=json_key)["Body"].read())
    firm = figures["backtest"]["firm"]
    assert firm["observations"] == 250 and firm["zone"] in {"green", "yellow", "red"} and "conditional_coverage" in firm
    assert figures["backtest"]["firm_975"]["observations"] == 250 and len(figures["backtest"]["series"]) == 250
    pdf = night.s3.get_object(Bucket=night.settings.output_bucket, Key=pdf_key)["Body"].read()
    assert b"/Height 403" in pdf  # the exceptions chart (7 x 3.1 inches at 130 dpi): no other image has its height
    pages = _page_texts(pdf)
    zone = f"{firm['zone']} \\(+{firm['plus_factor']:.2f}\\)"  # on page one, or on page 2 with the backtest block page one names as moved
    named = "".join(pages[0].split())  # the text read back may join a wrapped line to the next without a space
    # page one names the backtest it moved: alone, or after the warnings it moved
    moved = "Noroomonthispageforthebacktest" in named or "thebacktesttoo,infull" in named
    assert zone in pages[0] or (moved and zone in pages[1])
    assert "No observation yet" not in pages[0] and "so far" not in pages[0]
    assert "Warnings" in pages[0] and any("Backtest exceptions" in text for text in pages[1:])


def test_a_new_factor_joins_the_draw_order_last_even_when_it_sorts_first(night: Night, tmp_path: Path) -> None:
    # the Cholesky factor is built in the previous run's order (read from its manifest under
    # runs/, which the ingestion task may list), tonight's new factors after it. The runs are
    # found as the common prefixes of a delimited listing, which S3 returns only with a delimiter,
    # one per "subdirectory": https://docs.aws.amazon.com/sdkfornet/v4/apidocs/items/S3/TListObjectsV2Response.html
    from riskbatch.inputs.sample import write_nights

    folders = write_nights(tmp_path, SampleSpec(positions=200, factors=30, days=260, portfolios=2, features=False), 2)
    market = (folders[1] / "market.csv").read_text().splitlines()
    dates = sorted({line.split(",")[0] for line in market[1:]})
    new_rows = [f"{date},AAA_NEW,{50.0 + (i % 7) * 0.3:.2f},USD,0.0" for i, date in enumerate(dates)]
    (folders[1] / "market.csv").write_text("\n".join([*market, *new_rows]) + "\n")
    with (folders[1] / "positions.csv").open("a") as positions:
        positions.write("PF01,NEW1,equity,AAA_NEW,2000,,,,,,\n")  # 100,000 USD of the new share: a position of the book's usual size
    manifests = []
    for folder in folders:
        run = run_ingest(night, night.upload(folder, folder.name)[1]).run_id
        manifests.append(json.loads(night.s3.get_object(Bucket=night.settings.output_bucket, Key=f"runs/{run}/manifest.json")["Body"].read()))
    assert manifests[0]["draw_order"] == manifests[0]["factors"] and "AAA_NEW" in manifests[1]["factors"]
    assert manifests[1]["draw_order"] == [*manifests[0]["draw_order"], "AAA_NEW"] and manifests[1]["factors"][0] == "AAA_NEW"


def test_a_probe_message_is_discarded_by_the_workers_without_work_or_a_dead_letter(night: Night) -> None:
    """The integration suite's probes send {"probe": ...} to prove a role may send; in an account the
    workers then receive it: it is deleted, never handled, so it never dead-letters or alarms."""
    handled: list[dict] = []
    night.sqs.send_message(QueueUrl=night.settings.risk_work_queue_url, MessageBody=json.dumps({"probe": True}))
    worker = drain(night, night.settings.risk_work_queue_url, lambda body, should_abort: handled.append(body))
    assert handled == [] and worker.processed == 0
    assert night.messages(night.settings.risk_work_queue_url) == []

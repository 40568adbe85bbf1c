"""Restatement: corrected files for a date make a new run that supersedes the history record in
force, both records kept, the supersession recorded (which run, when, why), and the report's first
page and the notification say so. S3 conditional writes (If-None-Match for the first record,
If-Match for its replacement): https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from riskbatch.aws.layout import manifest_key, report_keys
from riskbatch.aws.storage import get_json, list_keys
from riskbatch.jobs.ingestion import ingest
from riskbatch.jobs.queue_worker import QueueWorker, WorkerOptions
from riskbatch.jobs.report_generation import ReportGeneration
from riskbatch.jobs.risk_calculation import RiskCalculation
from riskbatch.validation.history import load_records
from riskbatch.validation.restatement import record_night, restatement_line, superseded_key
from test.jobs.jobs.test_pipeline import _page_texts
from test.jobs.jobs.test_pipeline import night as night  # the fixture: the night's AWS in moto, small runs
from test.jobs.stack_layout import Night, small_night

DATE = "2026-11-25"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_night(tmp_path_factory.mktemp("restatement"), DATE)


@pytest.fixture
def corrected(files: Path, tmp_path: Path) -> Path:
    """The same night with one position's quantity corrected."""
    folder = tmp_path / "corrected"
    shutil.copytree(files, folder)
    lines = (folder / "positions.csv").read_text().splitlines()
    row = next(index for index, line in enumerate(lines) if ",equity," in line)
    cells = lines[row].split(",")
    cells[4] = f"{float(cells[4]) * 3:.2f}"
    lines[row] = ",".join(cells)
    (folder / "positions.csv").write_text("\n".join(lines) + "\n")
    return folder


def _drain(night: Night, queue: str, handler) -> None:
    QueueWorker(night.sqs, queue, handler, night.settings.scratch, WorkerOptions(wait_seconds=0, idle_exit_seconds=0)).run()


def _ingest(night: Night, folder: Path, created_at: str, reason: str | None = None, names=("positions.csv", "market.csv")) -> str:
    """Land the files, ingest them, and date the run's manifest (runs are ordered by their ingestion time)."""
    keys = night.upload(folder, DATE, names)
    given = {"reason": reason} if reason else {}
    run = ingest(night.settings.input_bucket, keys[0], night.settings, night.s3, night.sqs, night.sns, **given).run_id
    bucket = night.settings.output_bucket
    manifest = {**get_json(night.s3, bucket, manifest_key(run)), "created_at": created_at}
    night.s3.put_object(Bucket=bucket, Key=manifest_key(run), Body=json.dumps(manifest).encode())
    return run


def _compute(night: Night) -> None:
    _drain(night, night.settings.risk_work_queue_url, RiskCalculation(night.s3, night.events, night.settings.event_bus_name))


def _report(night: Night) -> None:
    _drain(night, night.settings.report_queue_url, ReportGeneration(night.s3, night.sns, night.settings.alert_topic_arn))


def _taken(night: Night) -> list[dict]:
    """What reached the topic's queue since the last read, deleted once read: a message only received would come
    back after the queue's visibility timeout (30 s), and a slow run would then count an earlier one again."""
    received = night.sqs.receive_message(QueueUrl=night.notifications, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    for message in received:
        night.sqs.delete_message(QueueUrl=night.notifications, ReceiptHandle=message["ReceiptHandle"])
    return [json.loads(message["Body"]) for message in received]


def _summaries(night: Night) -> list[dict]:
    """The report notifications on the topic since the last read (the SQS envelope keeps the subject)."""
    found = []
    for body in _taken(night):
        message = json.loads(body["Message"]) if body["Message"].startswith("{") else None
        if message and "run_id" in message:
            found.append({"subject": body["Subject"], **message})
    return found


def _pdf(night: Night, run: str) -> bytes:
    return night.s3.get_object(Bucket=night.settings.output_bucket, Key=report_keys(DATE, run)[0])["Body"].read()


@pytest.mark.clock  # the restatement is stamped with the time it was made
def test_corrected_files_supersede_the_record_in_force_and_the_report_and_notification_say_why(night: Night, files: Path, corrected: Path) -> None:
    bucket = night.settings.output_bucket
    first = _ingest(night, files, "2026-11-26T01:00:00Z")
    _compute(night)
    _report(night)
    (original,) = _summaries(night)
    assert original["restatement"] is None and not original["subject"].startswith("RESTATED")
    first_record = get_json(night.s3, bucket, f"history/{DATE}.json")

    # the corrected file lands with its note, the morning after
    (corrected / "restatement.txt").write_text("PF03 equity quantity corrected by the desk\n")
    night.upload(corrected, DATE, ("restatement.txt",))
    second = _ingest(night, corrected, "2026-11-26T11:00:00Z")
    assert second != first
    _compute(night)
    _report(night)

    record = get_json(night.s3, bucket, f"history/{DATE}.json")
    assert record["run_id"] == second
    restatement = record["restatement"]
    assert restatement["supersedes"] == first and restatement["reason"] == "PF03 equity quantity corrected by the desk"
    assert restatement["reason_source"] == f"s3://{night.settings.input_bucket}/incoming/{DATE}/restatement.txt"
    assert restatement["changes"][0].startswith("positions file positions.csv: sha256 ") and len(restatement["changes"]) == 1
    assert dt.datetime.fromisoformat(restatement["at"].replace("Z", "+00:00")) <= dt.datetime.now(dt.UTC)
    assert record["supersessions"] == [{key: restatement[key] for key in ("supersedes", "at", "reason", "superseded_record")}]
    # both kept: the first record, unchanged, where the supersession says
    assert restatement["superseded_record"] == superseded_key(DATE, first)
    assert get_json(night.s3, bucket, superseded_key(DATE, first)) == first_record
    assert record["var"] != first_record["var"]
    # the history in force holds one record for the date: the restated one
    assert [(item["business_date"], item["run_id"]) for item in load_records(night.s3, bucket)] == [(DATE, second)]
    assert sorted(key for key in list_keys(night.s3, bucket, f"reports/{DATE}/") if key.endswith(".pdf")) == sorted(
        report_keys(DATE, run)[0] for run in (first, second)
    )
    page_one = _page_texts(_pdf(night, second))[0]  # page one at its normal size, never shrunk: its words keep their spaces
    assert f"Restated, supersedes run {first}" in page_one and "PF03 equity quantity corrected by the desk" in page_one
    assert "Restated" not in _page_texts(_pdf(night, first))[0]
    (notice,) = _summaries(night)
    assert notice["run_id"] == second and notice["subject"].startswith(f"RESTATED Risk report {DATE}")
    assert notice["restatement"].startswith(f"Restated, supersedes run {first} (recorded ") and "corrected by the desk" in notice["restatement"]


def test_a_rerun_with_a_reason_and_no_note_records_the_reason_and_the_changes(night: Night, files: Path, corrected: Path) -> None:
    first = _ingest(night, files, "2026-11-26T01:00:00Z")
    _compute(night)
    _report(night)
    second = _ingest(night, corrected, "2026-11-26T11:00:00Z", reason="  late trade\nbooked after the cut-off ")
    _compute(night)
    _report(night)
    record = get_json(night.s3, night.settings.output_bucket, f"history/{DATE}.json")
    assert (record["run_id"], record["restatement"]["supersedes"]) == (second, first)
    assert record["restatement"]["reason"] == "late trade booked after the cut-off" and record["restatement"]["reason_source"] == "riskbatch rerun --reason"


def test_without_a_reason_the_why_is_what_the_manifests_say_changed(night: Night, files: Path, corrected: Path) -> None:
    _ingest(night, files, "2026-11-26T01:00:00Z")
    _compute(night)
    _report(night)
    _ingest(night, corrected, "2026-11-26T11:00:00Z")
    _compute(night)
    _report(night)
    restatement = get_json(night.s3, night.settings.output_bucket, f"history/{DATE}.json")["restatement"]
    assert restatement["reason"].startswith("corrected inputs: positions file positions.csv: sha256 ")
    assert restatement["reason_source"] == "the two runs' manifests"


def test_an_older_run_finishing_later_does_not_take_the_record_back(night: Night, files: Path, corrected: Path) -> None:
    """The first night's run still in flight when the corrected files land: the corrected run publishes first."""
    bucket = night.settings.output_bucket
    older = _ingest(night, files, "2026-11-26T01:00:00Z")
    newer = _ingest(night, corrected, "2026-11-26T11:00:00Z")
    _compute(night)  # both runs' units; both announce
    completions = night.messages(night.settings.report_queue_url)
    by_run = {message["detail"]["run_id"]: message for message in completions}
    report = ReportGeneration(night.s3, night.sns, night.settings.alert_topic_arn)
    report(by_run[newer], lambda: False)
    report(by_run[older], lambda: False)
    record = get_json(night.s3, bucket, f"history/{DATE}.json")
    assert record["run_id"] == newer and "restatement" not in record
    assert list_keys(night.s3, bucket, "history/superseded/") == []
    page_one = _page_texts(_pdf(night, older))[0]
    assert f"Superseded before publication: run {newer}" in page_one
    subjects = {notice["run_id"]: notice["subject"] for notice in _summaries(night)}
    assert subjects[older].startswith("SUPERSEDED ") and not subjects[newer].startswith(("RESTATED", "SUPERSEDED"))


def test_a_redelivered_restated_run_publishes_once_and_keeps_its_restatement(night: Night, files: Path, corrected: Path) -> None:
    bucket = night.settings.output_bucket
    _ingest(night, files, "2026-11-26T01:00:00Z")
    _compute(night)
    _report(night)
    second = _ingest(night, corrected, "2026-11-26T11:00:00Z")
    _compute(night)
    (completion,) = night.messages(night.settings.report_queue_url)
    report = ReportGeneration(night.s3, night.sns, night.settings.alert_topic_arn)
    report(completion, lambda: False)
    before = night.s3.get_object(Bucket=bucket, Key=f"history/{DATE}.json")["Body"].read()
    _taken(night)  # what the two reports published
    report(completion, lambda: False)  # a redelivery
    assert night.s3.get_object(Bucket=bucket, Key=f"history/{DATE}.json")["Body"].read() == before and _summaries(night) == []
    manifest = get_json(night.s3, bucket, manifest_key(second))
    record = json.loads(before)
    # the record writer itself, asked again for the run in force, answers with its restatement and writes nothing
    assert record_night(night.s3, bucket, {**record, "restatement": None}, manifest) == record["restatement"]
    assert night.s3.get_object(Bucket=bucket, Key=f"history/{DATE}.json")["Body"].read() == before


def test_a_record_replaced_between_the_read_and_the_write_is_read_again(night: Night, files: Path, corrected: Path) -> None:
    """If-Match on the ETag read: when another run's restatement replaces the record between this run's
    read and its write, the write is refused and this run decides again on the record now in force."""
    bucket = night.settings.output_bucket
    first = _ingest(night, files, "2026-11-26T01:00:00Z")
    _compute(night)
    _report(night)
    second = _ingest(night, corrected, "2026-11-26T11:00:00Z")
    other = f"{DATE}-0000000000aa"  # a third run of the date, ingested between the two
    night.s3.put_object(Bucket=bucket, Key=manifest_key(other), Body=json.dumps({"run_id": other, "created_at": "2026-11-26T05:00:00Z"}).encode())
    other_record = {"business_date": DATE, "run_id": other, "var": {"firm": {}}, "supersessions": [{"supersedes": first}]}
    original_get, raced = night.s3.get_object, []

    def get_then_race(**kwargs):
        response = original_get(**kwargs)
        if kwargs["Key"] == f"history/{DATE}.json" and not raced:
            raced.append(True)  # the other run replaces the record right after this read
            night.s3.put_object(Bucket=bucket, Key=kwargs["Key"], Body=json.dumps(other_record).encode())
        return response

    night.s3.get_object = get_then_race
    try:
        restatement = record_night(night.s3, bucket, {"business_date": DATE, "run_id": second, "var": {}}, get_json(night.s3, bucket, manifest_key(second)))
    finally:
        night.s3.get_object = original_get
    assert raced and restatement["supersedes"] == other
    record = get_json(night.s3, bucket, f"history/{DATE}.json")
    assert record["run_id"] == second and [entry["supersedes"] for entry in record["supersessions"]] == [other, first]
    assert get_json(night.s3, bucket, superseded_key(DATE, other)) == other_record


def test_the_restatement_line_gives_its_time_in_new_york_as_every_page_does() -> None:
    summary = {"business_date": "2026-12-04", "restatement": {"supersedes": "run-a", "at": "2026-12-07T14:05:00Z", "reason": "a corrected book"}}
    assert restatement_line(summary) == "Restated, supersedes run run-a (recorded 2026-12-07 09:05 EST New York time). Why: a corrected book."

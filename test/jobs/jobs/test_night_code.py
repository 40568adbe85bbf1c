"""One build computes a night: a risk unit or the report given a night that other code ingested refuses it,
writes nothing, and says to run the night again. Without this, an image pushed while a night runs (a deploy,
a rollback; the repository keeps ten images) would have some units computed by one build and the rest by
another, and the report would publish sums neither build makes, under a manifest naming only the first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from riskbatch.aws.layout import manifest_key, report_keys, results_prefix
from riskbatch.jobs.ingestion import ingest
from riskbatch.jobs.report_generation import ReportGeneration
from riskbatch.jobs.risk_calculation import RiskCalculation
from riskbatch.model.code_fingerprint import OtherCode, code_fingerprint, require_night_code, short
from test.jobs.stack_layout import Night, drain, mocked_night, small_night

DATE = "2026-11-25"
OTHER = "f" * 64  # a fingerprint no checkout has


@pytest.fixture
def night(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with mocked_night(tmp_path, monkeypatch, "1000", 500) as night:
        yield night


def _ingested_by_other_code(night: Night, folder: Path) -> str:
    """A night ingested, then its manifest rewritten as another build's ingestion would have written it."""
    settings = night.settings
    run = ingest(settings.input_bucket, night.upload(folder, DATE)[1], settings, night.s3, night.sqs, night.sns).run_id
    key = manifest_key(run)
    manifest = json.loads(night.s3.get_object(Bucket=settings.output_bucket, Key=key)["Body"].read())
    assert manifest["code_fingerprint"] == code_fingerprint()  # ingestion records the code that ran it
    manifest["code_fingerprint"] = OTHER
    night.s3.put_object(Bucket=settings.output_bucket, Key=key, Body=json.dumps(manifest).encode())
    return run


def test_a_risk_unit_of_a_night_ingested_by_other_code_is_refused_and_nothing_is_written(night: Night, tmp_path: Path) -> None:
    run = _ingested_by_other_code(night, small_night(tmp_path / "files", DATE))
    message = night.messages(night.settings.risk_work_queue_url, 1)[0]
    worker = RiskCalculation(night.s3, night.events, night.settings.event_bus_name)
    with pytest.raises(OtherCode, match=rf"unit {message['unit']} of run {run} refused: the night was ingested by code {short(OTHER)} .*riskbatch rerun"):
        worker(message, lambda: False)
    listed = night.s3.list_objects_v2(Bucket=night.settings.output_bucket, Prefix=results_prefix(run))
    assert listed.get("KeyCount", 0) == 0


def test_the_report_of_a_night_ingested_by_other_code_is_refused_and_nothing_is_published(night: Night, tmp_path: Path) -> None:
    settings = night.settings
    run = ingest(settings.input_bucket, night.upload(small_night(tmp_path / "files", DATE), DATE)[1], settings, night.s3, night.sqs, night.sns).run_id
    drain(night, settings.risk_work_queue_url, RiskCalculation(night.s3, night.events, settings.event_bus_name))
    key = manifest_key(run)
    manifest = json.loads(night.s3.get_object(Bucket=settings.output_bucket, Key=key)["Body"].read())
    manifest["code_fingerprint"] = OTHER  # the units were computed; the report task runs another build
    night.s3.put_object(Bucket=settings.output_bucket, Key=key, Body=json.dumps(manifest).encode())
    event = night.messages(settings.report_queue_url, 1)[0]
    with pytest.raises(OtherCode, match=rf"the report of run {run} refused"):
        ReportGeneration(night.s3, night.sns, settings.alert_topic_arn)(event, lambda: False)
    for key in report_keys(DATE, run):
        assert night.s3.list_objects_v2(Bucket=settings.output_bucket, Prefix=key).get("KeyCount", 0) == 0


def test_a_manifest_without_a_fingerprint_is_other_code_and_the_same_fingerprint_passes() -> None:
    with pytest.raises(OtherCode, match="code that did not record its fingerprint"):
        require_night_code({"run_id": "r1"}, "unit 0", running="a" * 64)
    require_night_code({"run_id": "r1", "code_fingerprint": "a" * 64}, "unit 0", running="a" * 64)


def test_the_manifest_records_the_source_revision_of_the_image_that_ingested_it(night: Night, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = night.settings
    monkeypatch.setenv("RISKBATCH_SOURCE_REVISION", "0123abc")  # as the image's ENV from its REVISION build argument sets it
    run = ingest(settings.input_bucket, night.upload(small_night(tmp_path / "files", DATE), DATE)[1], settings, night.s3, night.sqs, night.sns).run_id
    manifest = json.loads(night.s3.get_object(Bucket=settings.output_bucket, Key=manifest_key(run))["Body"].read())
    assert manifest["source_revision"] == "0123abc"

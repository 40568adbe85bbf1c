"""Restatements stay reproducible: each run's manifest names its inputs by S3 version ID and SHA-256, so
that after corrected files overwrite the originals under the same keys the superseded run's inputs are
still the bytes it read. With versioning on, "you can use versioning to preserve, retrieve, and restore
every version of every object" (S3 user guide, "Retaining multiple versions of objects with S3 Versioning":
https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html), and GetObject answers with the
VersionId it served (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html). Against moto."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import pytest

from riskbatch.aws.layout import manifest_key
from riskbatch.aws.storage import get_json
from riskbatch.jobs.ingestion import ingest
from test.jobs.stack_layout import mocked_night, small_night

DATE = "2026-11-25"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_night(tmp_path_factory.mktemp("versions"), DATE)


def _corrected(positions: bytes) -> bytes:
    """The desk's correction: the first position's quantity doubled."""
    rows = list(csv.DictReader(io.StringIO(positions.decode())))
    rows[0]["quantity"] = str(float(rows[0]["quantity"]) * 2)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def test_the_superseded_runs_inputs_stay_readable_by_the_version_id_its_manifest_names(files: Path, tmp_path: Path, monkeypatch) -> None:
    with mocked_night(tmp_path, monkeypatch) as night:
        bucket = night.settings.input_bucket
        night.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        positions_key, _ = night.upload(files, DATE)
        first = ingest(bucket, positions_key, night.settings, night.s3, night.sqs, night.sns)
        original = (files / "positions.csv").read_bytes()
        night.s3.put_object(Bucket=bucket, Key=positions_key, Body=_corrected(original))  # the corrected file, under the same key
        second = ingest(bucket, positions_key, night.settings, night.s3, night.sqs, night.sns)
        assert first.status == second.status == "queued" and first.run_id != second.run_id
        earlier, later = (get_json(night.s3, night.settings.output_bucket, manifest_key(run))["inputs"] for run in (first.run_id, second.run_id))
        by_role = {item["role"]: item for item in earlier}
        positions = by_role["positions"]
        assert positions["version_id"] and positions["version_id"] != next(item for item in later if item["role"] == "positions")["version_id"]
        kept = night.s3.get_object(Bucket=bucket, Key=positions_key, VersionId=positions["version_id"])["Body"].read()
        assert kept == original and hashlib.sha256(kept).hexdigest() == positions["sha256"]
        assert by_role["market"]["version_id"] == next(item for item in later if item["role"] == "market")["version_id"]  # the market file did not change


def test_the_rates_file_is_named_by_the_version_id_it_was_read_at(files: Path, tmp_path: Path, monkeypatch) -> None:
    """The rates file is a required input too: a corrected rates file overwriting it leaves the first run's rates readable."""
    with mocked_night(tmp_path, monkeypatch) as night:
        bucket = night.settings.input_bucket
        night.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        positions_key, _ = night.upload(files, DATE)
        outcome = ingest(bucket, positions_key, night.settings, night.s3, night.sqs, night.sns)
        source = get_json(night.s3, night.settings.output_bucket, manifest_key(outcome.run_id))["rates_source"]
        rates_key = source["uri"].removeprefix(f"s3://{bucket}/")
        original = night.s3.get_object(Bucket=bucket, Key=rates_key)["Body"].read()
        night.s3.put_object(Bucket=bucket, Key=rates_key, Body=original + original.splitlines(keepends=True)[-1])  # overwritten
        assert source["version_id"]
        kept = night.s3.get_object(Bucket=bucket, Key=rates_key, VersionId=source["version_id"])["Body"].read()
        assert kept == original and hashlib.sha256(kept).hexdigest() == source["sha256"]


def test_an_unversioned_bucket_leaves_the_version_unrecorded(files: Path, tmp_path: Path, monkeypatch) -> None:
    """Without versioning S3 serves no version ID: the manifest says so (None), and preflight refuses the bucket."""
    with mocked_night(tmp_path, monkeypatch) as night:
        positions_key, _ = night.upload(files, DATE)
        outcome = ingest(night.settings.input_bucket, positions_key, night.settings, night.s3, night.sqs, night.sns)
        inputs = get_json(night.s3, night.settings.output_bucket, manifest_key(outcome.run_id))["inputs"]
        assert [item["version_id"] for item in inputs] == [None, None] and all(len(item["sha256"]) == 64 for item in inputs)
        rates = get_json(night.s3, night.settings.output_bucket, manifest_key(outcome.run_id))["rates_source"]
        assert "version_id" in rates and rates["version_id"] is None

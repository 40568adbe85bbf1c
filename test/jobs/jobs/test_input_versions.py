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
from collections.abc import Callable
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


def _quantity_doubled(positions: bytes) -> bytes:
    """The desk's correction: the first position's quantity doubled."""
    rows = list(csv.DictReader(io.StringIO(positions.decode())))
    rows[0]["quantity"] = str(float(rows[0]["quantity"]) * 2)
    return _written(rows)


def _rate_moved(rates: bytes) -> bytes:
    """The treasury's correction: the last curve point one basis point higher."""
    rows = list(csv.DictReader(io.StringIO(rates.decode())))
    rows[-1]["rate"] = str(float(rows[-1]["rate"]) + 0.0001)
    return _written(rows)


def _written(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def _inputs_by_role(manifest: dict) -> dict[str, dict]:
    """Every required input a run's manifest names, by role: the positions and market files, and the rates file."""
    return {**{item["role"]: item for item in manifest["inputs"]}, "rates": manifest["rates_source"]}


@pytest.mark.parametrize(
    ("role", "correct"),
    [
        pytest.param("positions", _quantity_doubled, id="a corrected positions file leaves the superseded run's positions readable"),
        pytest.param("rates", _rate_moved, id="a corrected rates file leaves the superseded run's rates readable"),
    ],
)
def test_the_superseded_runs_inputs_stay_readable_by_the_version_id_its_manifest_names(
    files: Path, tmp_path: Path, monkeypatch, role: str, correct: Callable[[bytes], bytes]
) -> None:
    with mocked_night(tmp_path, monkeypatch) as night:
        bucket = night.settings.input_bucket
        night.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        positions_key, _ = night.upload(files, DATE)
        first = ingest(bucket, positions_key, night.settings, night.s3, night.sqs, night.sns)
        earlier = _inputs_by_role(get_json(night.s3, night.settings.output_bucket, manifest_key(first.run_id)))
        key = earlier[role]["uri"].removeprefix(f"s3://{bucket}/")
        original = night.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        night.s3.put_object(Bucket=bucket, Key=key, Body=correct(original))  # the corrected file, under the same key
        second = ingest(bucket, positions_key, night.settings, night.s3, night.sqs, night.sns)
        assert first.status == second.status == "queued" and first.run_id != second.run_id
        later = _inputs_by_role(get_json(night.s3, night.settings.output_bucket, manifest_key(second.run_id)))
        assert earlier[role]["version_id"] and earlier[role]["version_id"] != later[role]["version_id"]
        kept = night.s3.get_object(Bucket=bucket, Key=key, VersionId=earlier[role]["version_id"])["Body"].read()
        assert kept == original and hashlib.sha256(kept).hexdigest() == earlier[role]["sha256"]
        others = {name for name in earlier if name != role}
        assert {name: earlier[name]["version_id"] for name in others} == {name: later[name]["version_id"] for name in others}  # the other files did not change


def test_an_unversioned_bucket_leaves_the_version_unrecorded(files: Path, tmp_path: Path, monkeypatch) -> None:
    """Without versioning S3 serves no version ID: the manifest says so (None), and preflight refuses the bucket."""
    with mocked_night(tmp_path, monkeypatch) as night:
        positions_key, _ = night.upload(files, DATE)
        outcome = ingest(night.settings.input_bucket, positions_key, night.settings, night.s3, night.sqs, night.sns)
        inputs = get_json(night.s3, night.settings.output_bucket, manifest_key(outcome.run_id))["inputs"]
        assert [item["version_id"] for item in inputs] == [None, None] and all(len(item["sha256"]) == 64 for item in inputs)
        rates = get_json(night.s3, night.settings.output_bucket, manifest_key(outcome.run_id))["rates_source"]
        assert "version_id" in rates and rates["version_id"] is None

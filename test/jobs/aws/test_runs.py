"""The one reader of the runs in the output bucket: the runs of a date, the latest of them, the latest run before a date."""

from __future__ import annotations

import json
import re

import boto3
import pytest
from moto import mock_aws

from riskbatch.aws.layout import manifest_key, market_key, unit_key
from riskbatch.aws.runs import latest_manifest, latest_manifest_before, manifest_of, manifests_of_date

BUCKET = "riskbatch-output-test"


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _run(s3, run: str, created_at: str, **fields) -> None:
    manifest = {"run_id": run, "business_date": run[:10], "created_at": created_at, "units": [], **fields}
    s3.put_object(Bucket=BUCKET, Key=manifest_key(run), Body=json.dumps(manifest).encode())
    s3.put_object(Bucket=BUCKET, Key=unit_key(run, 0), Body=b"x")


def _died_before_its_manifest(s3, run: str) -> None:
    """What an ingestion that died mid-write leaves: the market and units, written before the manifest, which comes last."""
    s3.put_object(Bucket=BUCKET, Key=market_key(run), Body=b"x")
    s3.put_object(Bucket=BUCKET, Key=unit_key(run, 0), Body=b"x")


def test_the_runs_of_a_date_are_ordered_by_ingestion_then_by_run_id(s3) -> None:
    _run(s3, "2026-11-24-cccccccccccc", "2026-11-25T01:00:00Z")
    _run(s3, "2026-11-24-bbbbbbbbbbbb", "2026-11-25T02:00:00Z")
    _run(s3, "2026-11-24-aaaaaaaaaaaa", "2026-11-25T02:00:00Z")  # the same second as bbbb: the run id decides, for every reader alike
    _run(s3, "2026-11-25-dddddddddddd", "2026-11-24T00:00:00Z")  # another date, whatever its time
    _died_before_its_manifest(s3, "2026-11-24-eeeeeeeeeeee")
    order = [manifest["run_id"] for manifest in manifests_of_date(s3, BUCKET, "2026-11-24")]
    assert order == ["2026-11-24-cccccccccccc", "2026-11-24-aaaaaaaaaaaa", "2026-11-24-bbbbbbbbbbbb"]
    assert latest_manifest(s3, BUCKET, "2026-11-24")["run_id"] == "2026-11-24-bbbbbbbbbbbb"
    assert latest_manifest(s3, BUCKET, "2026-11-23") is None


def test_the_latest_run_before_a_date_passes_over_a_date_whose_ingestion_died(s3) -> None:
    _run(s3, "2026-11-20-aaaaaaaaaaaa", "2026-11-21T01:00:00Z", draw_order=["old"])
    _run(s3, "2026-11-23-aaaaaaaaaaaa", "2026-11-24T01:00:00Z", draw_order=["A", "B"])
    _run(s3, "2026-11-23-bbbbbbbbbbbb", "2026-11-24T03:00:00Z", draw_order=["B", "A"])
    _died_before_its_manifest(s3, "2026-11-24-cccccccccccc")
    _run(s3, "2026-11-25-aaaaaaaaaaaa", "2026-11-26T01:00:00Z")  # tonight's own run is not before tonight
    assert latest_manifest_before(s3, BUCKET, "2026-11-25")["run_id"] == "2026-11-23-bbbbbbbbbbbb"
    assert latest_manifest_before(s3, BUCKET, "2026-11-23")["run_id"] == "2026-11-20-aaaaaaaaaaaa"
    assert latest_manifest_before(s3, BUCKET, "2026-11-20") is None


def test_the_readers_list_under_runs_and_get_manifests_alone(s3) -> None:
    """What the deadline check's task role may do (lib/TapStack.json, DeadlineCheckTaskRole): s3:ListBucket under runs/*,
    s3:GetObject on runs/*/manifest.json only. GetObject of any other key would be denied, and of a missing manifest too,
    without an unconditioned s3:ListBucket ("Permissions", GetObject: https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html)."""
    _run(s3, "2026-11-23-aaaaaaaaaaaa", "2026-11-24T01:00:00Z")
    _died_before_its_manifest(s3, "2026-11-24-cccccccccccc")
    _run(s3, "2026-11-24-bbbbbbbbbbbb", "2026-11-25T01:00:00Z")
    s3.put_object(Bucket=BUCKET, Key="history/2026-11-24.json", Body=b"{}")
    calls: list[tuple[str, dict]] = []
    s3.meta.events.register("before-parameter-build.s3", lambda model, params, **_: calls.append((model.name, dict(params))))
    assert latest_manifest(s3, BUCKET, "2026-11-24") and latest_manifest_before(s3, BUCKET, "2026-11-24") and manifests_of_date(s3, BUCKET, "2026-11-23")
    assert manifest_of(s3, BUCKET, "2026-11-24-cccccccccccc") is None  # its ingestion died: listed, never fetched
    assert manifest_of(s3, BUCKET, "2026-11-24-bbbbbbbbbbbb")["run_id"] == "2026-11-24-bbbbbbbbbbbb"
    assert {name for name, _ in calls} == {"ListObjectsV2", "GetObject"}
    assert all(params["Prefix"].startswith("runs/") for name, params in calls if name == "ListObjectsV2")
    assert all(re.fullmatch(r"runs/[^/]+/manifest\.json", params["Key"]) for name, params in calls if name == "GetObject")

"""The runs in the output bucket, read from their manifests (runs/<run>/manifest.json): the runs of a date, the latest of
them, and the latest run before a date. A run id starts with its business date (riskbatch.aws.layout.run_id).

Every read here is a ListObjectsV2 under runs/ or a GetObject of a runs/<run>/manifest.json: what each reader's role may
do. The deadline check's task role may GetObject nothing else of the output bucket and nothing at all under history/;
existence is asked with a listing (riskbatch.aws.storage.exists), as GetObject of a missing key needs s3:ListBucket.
"""

from __future__ import annotations

from typing import Any

from riskbatch.aws.layout import manifest_key
from riskbatch.aws.storage import exists, get_json


def run_order(manifest: dict[str, Any]) -> tuple[str, int, str]:
    """Which of two runs is the later: its manifest's created_at (ingestion time, to the second), then created_ns (the
    same clock in nanoseconds: a rerun started within the second of the run it reruns is the later; 0 in a manifest
    written before it was recorded), then its run id, so that every reader orders any two runs alike (riskbatch status
    lists a date's runs so)."""
    return manifest["created_at"], int(manifest.get("created_ns") or 0), manifest["run_id"]


def _run_ids(s3: Any, bucket: str, start: str) -> list[str]:
    """The run folders under runs/ whose id starts with `start` (one CommonPrefixes entry per folder with a delimiter,
    paginated past 1,000)."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"runs/{start}", Delimiter="/")
    return [prefix["Prefix"].removeprefix("runs/").rstrip("/") for page in pages for prefix in page.get("CommonPrefixes", [])]


def manifest_of(s3: Any, bucket: str, run: str) -> dict[str, Any] | None:
    """The run's manifest, None when it is not in this bucket (a history landed with its figures only, an ingestion that
    died before writing it, which it writes last)."""
    return get_json(s3, bucket, manifest_key(run)) if exists(s3, bucket, manifest_key(run)) else None


def _manifests(s3: Any, bucket: str, runs: list[str]) -> list[dict[str, Any]]:
    """The runs' manifests, oldest first (run_order); a folder without one is no run."""
    return sorted(filter(None, (manifest_of(s3, bucket, run) for run in runs)), key=run_order)


def manifests_of_date(s3: Any, bucket: str, business_date: str) -> list[dict[str, Any]]:
    """Every run of the date, by its manifest, oldest first (run_order)."""
    return _manifests(s3, bucket, _run_ids(s3, bucket, f"{business_date}-"))


def latest_manifest(s3: Any, bucket: str, business_date: str) -> dict[str, Any] | None:
    """The manifest of the date's latest run (run_order), None when the date never ran."""
    manifests = manifests_of_date(s3, bucket, business_date)
    return manifests[-1] if manifests else None


def latest_manifest_before(s3: Any, bucket: str, business_date: str) -> dict[str, Any] | None:
    """The manifest of the latest run of the latest earlier date that has one, None on the first night. A date whose only
    run folder has no manifest (its ingestion died) is passed over for the date before it."""
    runs = [run for run in _run_ids(s3, bucket, "") if run[:10] < business_date]
    for date in sorted({run[:10] for run in runs}, reverse=True):
        manifests = _manifests(s3, bucket, [run for run in runs if run[:10] == date])
        if manifests:
            return manifests[-1]
    return None

"""The readers of the history records (history/<date>.json): a date's record in force (ingestion's published run, the
restatement's conditional replacement, riskbatch status), and the records before a date (the report's, either night's)."""

from __future__ import annotations

import json

import pytest

from riskbatch.validation.history import history_key, previous_record, record_in_force, records_before

BUCKET = "riskbatch-output-test"


def test_a_date_without_a_record_is_listed_not_fetched(s3, monkeypatch: pytest.MonkeyPatch) -> None:
    """GetObject of a missing key answers 403 to a role without s3:ListBucket on the bucket ("Permissions":
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html): a missing record is never fetched."""
    s3.put_object(Bucket=BUCKET, Key="history/superseded/2026-11-24/2026-11-24-aaaaaaaaaaaa.json", Body=b"{}")  # kept, not in force
    monkeypatch.setattr(s3, "get_object", lambda **_: pytest.fail("a missing record must not be fetched"))
    assert record_in_force(s3, BUCKET, "2026-11-24") == (None, None)


def test_the_record_comes_with_the_etag_its_conditional_replacement_names(s3) -> None:
    """The record in force is replaced with PutObject If-Match the ETag read (S3 conditional writes:
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html)."""
    record = {"business_date": "2026-11-24", "run_id": "2026-11-24-aaaaaaaaaaaa"}
    s3.put_object(Bucket=BUCKET, Key=history_key("2026-11-24"), Body=json.dumps(record).encode())
    found, etag = record_in_force(s3, BUCKET, "2026-11-24")
    assert found == record and etag == s3.list_objects_v2(Bucket=BUCKET, Prefix=history_key("2026-11-24"))["Contents"][0]["ETag"]
    s3.put_object(Bucket=BUCKET, Key=history_key("2026-11-24"), Body=b"{}", IfMatch=etag)


def test_the_records_before_a_date_are_those_in_force_oldest_first(s3) -> None:
    for date in ("2026-11-24", "2026-11-20", "2026-11-23", "2026-11-25"):
        s3.put_object(Bucket=BUCKET, Key=history_key(date), Body=json.dumps({"business_date": date}).encode())
    s3.put_object(Bucket=BUCKET, Key="history/superseded/2026-11-23/2026-11-23-aaaaaaaaaaaa.json", Body=b"{}")
    s3.put_object(Bucket=BUCKET, Key="history/exclusions/2026-11-23.json", Body=b"{}")
    assert [record["business_date"] for record in records_before(s3, BUCKET, "2026-11-25")] == ["2026-11-20", "2026-11-23", "2026-11-24"]
    assert previous_record(s3, BUCKET, "2026-11-25") == records_before(s3, BUCKET, "2026-11-25")[-1]
    assert records_before(s3, BUCKET, "2026-11-20") == [] and previous_record(s3, BUCKET, "2026-11-20") is None


@pytest.mark.parametrize("published_first", ["2026-11-24-aaaaaaaaaaaa", "2026-11-24-ffffffffffff"])
def test_two_runs_ingested_in_the_same_second_leave_in_force_the_run_every_reader_calls_latest(s3, published_first: str) -> None:
    """created_at holds whole seconds: corrected files landed together start two runs in one second. Whichever publishes
    first, the record in force ends as the run the deadline check, riskbatch status and accept-rates read as the latest."""
    from riskbatch.aws.layout import manifest_key
    from riskbatch.aws.runs import latest_manifest
    from riskbatch.validation.restatement import record_night

    runs = ["2026-11-24-aaaaaaaaaaaa", "2026-11-24-ffffffffffff"]
    manifests = {run: {"run_id": run, "business_date": "2026-11-24", "created_at": "2026-11-25T06:00:00Z"} for run in runs}
    for run, manifest in manifests.items():
        s3.put_object(Bucket=BUCKET, Key=manifest_key(run), Body=json.dumps(manifest).encode())
    for run in sorted(runs, key=lambda run: run != published_first):
        record_night(s3, BUCKET, {"business_date": "2026-11-24", "run_id": run, "var": {}}, manifests[run])
    in_force, _ = record_in_force(s3, BUCKET, "2026-11-24")
    assert in_force["run_id"] == latest_manifest(s3, BUCKET, "2026-11-24")["run_id"] == "2026-11-24-ffffffffffff"

"""Object existence is asked with a listing under the key, which a prefix-scoped s3:ListBucket allows."""

from __future__ import annotations

import pytest

from riskbatch.aws.storage import exists, get_bytes, get_read

BUCKET = "riskbatch-output-test"


@pytest.mark.parametrize(
    ("stored", "asked", "expected"),
    [
        (["runs/r1/status/queued"], "runs/r1/status/queued", True),
        ([], "runs/r1/status/queued", False),
        (["runs/r1/status/queued-late"], "runs/r1/status/queued", False),  # a longer key is not the key
        (["runs/r1/status/queued", "runs/r1/status/queued-late"], "runs/r1/status/queued", True),
        (["runs/r1/status/queued-late", "runs/r1/status/queued.bak"], "runs/r1/status/queued", False),
        (["runs/r1/status/"], "runs/r1/status/", True),
    ],
)
def test_exists_answers_for_exactly_the_key(s3, stored: list[str], asked: str, expected: bool) -> None:
    for key in stored:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    assert exists(s3, BUCKET, asked) is expected


def test_exists_never_reads_the_object(s3, monkeypatch: pytest.MonkeyPatch) -> None:
    """HeadObject and GetObject of a missing key answer 403 without an unconditioned s3:ListBucket."""
    s3.put_object(Bucket=BUCKET, Key="runs/r1/manifest.json", Body=b"{}")
    for method in ("head_object", "get_object"):
        monkeypatch.setattr(s3, method, lambda **_: pytest.fail("exists must not read the object"))
    assert exists(s3, BUCKET, "runs/r1/manifest.json") and not exists(s3, BUCKET, "runs/r1/missing.json")


def test_one_get_object_gives_the_bytes_the_version_and_the_etag_a_listing_shows(s3) -> None:
    """GetObject returns VersionId and ETag (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html); ListObjectsV2
    lists each object's ETag (Object: https://docs.aws.amazon.com/AmazonS3/latest/API/API_Object.html)."""
    s3.put_object(Bucket=BUCKET, Key="incoming/2026-11-24/positions.csv", Body=b"before")  # before versioning: no version
    assert get_read(s3, BUCKET, "incoming/2026-11-24/positions.csv").version is None
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    written = s3.put_object(Bucket=BUCKET, Key="incoming/2026-11-24/positions.csv", Body=b"after")
    read = get_read(s3, BUCKET, "incoming/2026-11-24/positions.csv")
    (listed,) = s3.list_objects_v2(Bucket=BUCKET, Prefix="incoming/2026-11-24/")["Contents"]
    assert read == (b"after", written["VersionId"], listed["ETag"]) and get_bytes(s3, BUCKET, "incoming/2026-11-24/positions.csv") == read.body

"""S3 helpers: JSON and bytes, write-once objects (the idempotence of every job rests on them)."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from botocore.exceptions import ClientError


class ObjectRead(NamedTuple):
    """One GetObject: the object's bytes, the version S3 served and its ETag. Callers take what they need."""

    body: bytes
    version: str | None  # None where the bucket never had versioning on (S3 answers "null" for an object written before it was enabled)
    etag: str | None


def get_read(s3: Any, bucket: str, key: str) -> ObjectRead:
    """The object's bytes, the version S3 served and its ETag, all from the one GetObject (VersionId and ETag:
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html): the version names the very bytes read, and the
    ETag is what a listing shows later (ListObjectsV2 gives each object's ETag, which "reflects changes only to the
    contents of an object": Object, https://docs.aws.amazon.com/AmazonS3/latest/API/API_Object.html)."""
    response = s3.get_object(Bucket=bucket, Key=key)
    return ObjectRead(response["Body"].read(), response.get("VersionId"), response.get("ETag"))


def get_bytes(s3: Any, bucket: str, key: str) -> bytes:
    return get_read(s3, bucket, key).body


def get_json(s3: Any, bucket: str, key: str) -> Any:
    return json.loads(get_bytes(s3, bucket, key))


def exists(s3: Any, bucket: str, key: str) -> bool:
    """Whether the object exists, asked with ListObjectsV2 under the key as prefix.

    Not HeadObject: S3 answers HeadObject (and GetObject) of a missing key with 403 unless the
    caller holds s3:ListBucket on the bucket, and that check carries no s3:prefix, so the task
    roles' prefix-scoped ListBucket does not count (HeadObject, "Permissions":
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html). A listing with
    Prefix=key is what the prefix condition allows. Keys sort in UTF-8 byte order and a key
    sorts before every longer key it is a prefix of, so the first key listed is the key itself
    when it exists.
    """
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1).get("Contents", [])
    return bool(listed) and listed[0]["Key"] == key


def put_once(s3: Any, bucket: str, key: str, body: bytes, content_type: str = "application/octet-stream") -> bool:
    """Write the object unless it exists (S3 conditional write); True when this call created it."""
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, IfNoneMatch="*")
        return True
    except ClientError as error:
        if error.response["Error"]["Code"] in {"PreconditionFailed", "412", "ConditionalRequestConflict"}:
            return False
        raise


def put_json_once(s3: Any, bucket: str, key: str, document: Any) -> bool:
    return put_once(s3, bucket, key, json.dumps(document, indent=2, default=str).encode(), "application/json")


def count_keys(s3: Any, bucket: str, prefix: str) -> int:
    total = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        total += page.get("KeyCount", 0)
    return total


def list_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return keys

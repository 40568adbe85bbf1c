"""A night's file set as it arrives in the input bucket: which file a key is (positions or market, and the
business date), its companion, both read with their SHA-256 checksums and S3 version IDs, and the reason file that landed
with corrected files."""

from __future__ import annotations

import datetime as dt
import hashlib
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from riskbatch.aws.storage import exists, get_read
from riskbatch.inputs.files import FILE_NAME
from riskbatch.runtime.logs import timed

ROLES = {"positions": "market", "market": "positions"}


def parse_key(key: str, prefix: str) -> tuple[str, str, str] | None:
    """(business date, role, file name) of incoming/<date>/<role>.<ext>, or None for other objects."""
    if not key.startswith(prefix):
        return None
    parts = key[len(prefix) :].split("/")
    if len(parts) != 2 or not FILE_NAME.match(parts[1]):
        return None
    try:
        dt.date.fromisoformat(parts[0])
    except ValueError:
        return None
    return parts[0], FILE_NAME.match(parts[1]).group(1), parts[1]


def find_companion(s3: Any, bucket: str, prefix: str, business_date: str, role: str) -> str | None:
    wanted = ROLES[role]
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}{business_date}/")
    for item in listing.get("Contents", []):
        name = item["Key"].rsplit("/", 1)[-1]
        match = FILE_NAME.match(name)
        if match and match.group(1) == wanted:
            return item["Key"]
    return None


@dataclass(frozen=True)
class FileSet:
    """The night's two files as read: S3 keys, contents and SHA-256 checksums by role."""

    bucket: str
    business_date: str
    keys: dict[str, str]
    contents: dict[str, bytes]
    checksums: dict[str, str]
    # the S3 version each file was read at: a corrected file under the same key leaves this one readable
    versions: dict[str, str | None] = field(default_factory=dict)


def stored_key(s3: Any, bucket: str, key: str) -> str:
    """S3 event notifications carry URL-encoded keys in some paths; accept either form."""
    if not exists(s3, bucket, key):
        decoded = urllib.parse.unquote_plus(key)
        if decoded != key and exists(s3, bucket, decoded):
            return decoded
    return key


def read_file_set(s3: Any, bucket: str, business_date: str, keys: dict[str, str]) -> FileSet:
    with timed("inputs_read", business_date=business_date) as timing:
        read = {role: get_read(s3, bucket, path) for role, path in keys.items()}
        contents = {role: item.body for role, item in read.items()}
        timing["bytes"] = sum(len(data) for data in contents.values())
    checksums = {role: hashlib.sha256(data).hexdigest() for role, data in contents.items()}
    return FileSet(bucket, business_date, keys, contents, checksums, {role: item.version for role, item in read.items()})

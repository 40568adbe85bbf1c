"""The local stack's upload lands the night's optional reference files before the two nightly files, so the
ingestion the nightly files start finds them (riskbatch_platform.local.night.upload_night)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import boto3
from moto import mock_aws

from riskbatch_platform.local.night import upload_night


def test_the_optional_files_land_before_the_nightly_files(tmp_path: Path) -> None:
    for name in ("positions.csv", "market.csv", "rates.csv", "second_source.csv", "corporate_actions.csv"):
        (tmp_path / name).write_text(f"{name}\n")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="input")
        landed: list[str] = []
        put = s3.put_object
        s3.put_object = lambda **call: (landed.append(call["Key"]), put(**call))[1]
        stack = SimpleNamespace(emulator=SimpleNamespace(client=lambda _: s3), stand_ins=SimpleNamespace(input_bucket="input"))
        keys = upload_night(stack, tmp_path, "2026-11-20")
    assert keys == ["incoming/2026-11-20/positions.csv", "incoming/2026-11-20/market.csv"]
    names = [key.rsplit("/", 1)[-1] for key in landed]
    assert {"second_source.csv", "corporate_actions.csv"} <= set(names[: names.index("positions.csv")])

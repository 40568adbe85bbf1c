"""The runs before tonight's that ingestion reads: the latest earlier run's manifest (its draw order, its cleaning ledger, its curves)."""

from __future__ import annotations

import json

from riskbatch.aws.layout import manifest_key, market_key, unit_key
from riskbatch.jobs.earlier_runs import latest_earlier_manifest, previous_draw_order

BUCKET = "riskbatch-output-test"


def test_a_night_whose_ingestion_died_before_its_manifest_does_not_lose_the_draw_order_before_it(s3) -> None:
    # before: the latest earlier date with a run folder was taken, manifest or not, and a folder without one gave no
    # earlier run at all: tonight's scenarios started over (no common random numbers) and the cleaning ledger was lost
    kept = {"run_id": "2026-11-20-aaaaaaaaaaaa", "business_date": "2026-11-20", "created_at": "2026-11-21T01:00:00Z", "draw_order": ["EURUSD", "SPX"]}
    s3.put_object(Bucket=BUCKET, Key=manifest_key(kept["run_id"]), Body=json.dumps(kept).encode())
    for key in (market_key("2026-11-23-bbbbbbbbbbbb"), unit_key("2026-11-23-bbbbbbbbbbbb", 0)):  # written before the manifest, which never came
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    assert latest_earlier_manifest(s3, BUCKET, "2026-11-24") == kept
    assert previous_draw_order(s3, BUCKET, "2026-11-24") == ["EURUSD", "SPX"]
    assert previous_draw_order(s3, BUCKET, "2026-11-20") is None  # the first night

"""The runs before tonight's that ingestion reads: the night the backtest is computed against, and the
latest earlier run's manifest (its draw order and its cleaning ledger)."""

from __future__ import annotations

from typing import Any

from riskbatch.aws.layout import share_of_units
from riskbatch.aws.runs import latest_manifest_before, manifest_of
from riskbatch.validation.history import previous_record


def previous_night(s3: Any, output: str, business_date: str, units: int) -> tuple[dict[str, str] | None, list[list[int]]]:
    """The night tonight's backtest and explanation are computed against (the latest history record
    before tonight, as the report finds it, when its run is in this bucket), and each of tonight's
    units' share of that run's units, which the risk workers revalue beside tonight's positions
    (riskbatch.validation.previous_night)."""
    record = previous_record(s3, output, business_date)
    # a night of no figure has no book to revalue: its backtest is an incomplete day, told by the report from the history
    previous = None if record is None or record.get("no_figure") else manifest_of(s3, output, record["run_id"])
    if previous is None:
        return None, [[] for _ in range(units)]
    return {"business_date": record["business_date"], "run_id": record["run_id"]}, share_of_units(len(previous["units"]), units)


def previous_draw_order(s3: Any, output: str, business_date: str) -> list[str] | None:
    """The order the previous business date's run built its Cholesky factor in, so that tonight's
    new factors come after it. None on the first night."""
    return (latest_earlier_manifest(s3, output, business_date) or {}).get("draw_order")


def latest_earlier_manifest(s3: Any, output: str, business_date: str) -> dict[str, Any] | None:
    """The latest manifest of the latest earlier date that has one, under runs/ (the prefix this task may list and read):
    its draw order, its cleaning ledger, its curves. None on the first night."""
    return latest_manifest_before(s3, output, business_date)

"""The units' results of a run, read from S3 and summed in unit order, and the stress history that came with
the run's files."""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from riskbatch.aws.layout import result_key
from riskbatch.aws.storage import get_bytes
from riskbatch.inputs.files import Market, load_market
from riskbatch.validation.previous_night import PreviousNightSums


@dataclass
class UnitResults:
    """The units' results summed: P&L per portfolio (a portfolio may span units), the one-day P&L
    where the horizon is longer, and the parts of the previous night's revaluations."""

    portfolios: list[str]
    pnl: np.ndarray  # portfolios x scenarios
    one_day: np.ndarray | None  # None: the horizon is one day, or a unit did not compute it
    previous: PreviousNightSums
    builds: dict[int, dict[str, Any] | None] = field(default_factory=dict)  # unit -> the build that computed it (None: not recorded)


def read_results(s3: Any, bucket: str, manifest: dict[str, Any]) -> UnitResults:
    """Every unit's result, read once and summed (VaR is not additive; P&L vectors are)."""
    run, scenarios = manifest["run_id"], manifest["model"]["scenarios"]
    portfolios = list(manifest["portfolios"])
    index = {portfolio: i for i, portfolio in enumerate(portfolios)}
    total, one_day = np.zeros((len(portfolios), scenarios)), np.zeros((len(portfolios), scenarios))
    has_one_day = manifest["model"].get("horizon_days", 1) != 1
    previous = PreviousNightSums()
    builds: dict[int, dict[str, Any] | None] = {}
    for unit, data in _fetched_in_order(s3, bucket, [result_key(run, unit["index"]) for unit in manifest["units"]], manifest["units"]):
        with np.load(io.BytesIO(data)) as result:
            rows = [index[portfolio] for portfolio in result["portfolio_ids"].tolist()]
            for row, values in zip(rows, result["pnl"], strict=True):
                total[row] += values
            has_one_day = has_one_day and "one_day_pnl" in result
            if has_one_day:
                for row, values in zip(rows, result["one_day_pnl"], strict=True):
                    one_day[row] += values
            previous.add(result, unit["index"])
            builds[unit["index"]] = json.loads(str(result["built_by"])) if "built_by" in result else None  # a result of an earlier release
    return UnitResults(portfolios, total, one_day if has_one_day else None, previous, builds)


READ_AHEAD = 8  # results fetched at once: S3 serves parallel GETs, and the sums still run in unit order


def _fetched_in_order(s3: Any, bucket: str, keys: list[str], units: list[dict[str, Any]]):
    """(unit, bytes) in the units' order, READ_AHEAD objects fetched at a time (a unit's result is
    megabytes: one GET after the other left the report waiting on the network). One client serves
    the threads: boto3's low-level clients are thread safe
    (https://boto3.amazonaws.com/v1/documentation/api/latest/guide/clients.html#multithreading-or-multiprocessing-with-clients),
    and botocore's connection pool holds 10, more than READ_AHEAD."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=READ_AHEAD, thread_name_prefix="results") as pool:
        for start in range(0, len(keys), READ_AHEAD):
            batch = list(pool.map(lambda key: get_bytes(s3, bucket, key), keys[start : start + READ_AHEAD]))
            yield from zip(units[start : start + READ_AHEAD], batch, strict=True)


def stress_history(s3: Any, bucket: str, manifest: dict[str, Any]) -> Market | None:
    """The stress history that came with the run's files (None: none came)."""
    key = manifest.get("stress_market_key")
    if not key:
        return None
    table = pq.read_table(io.BytesIO(get_bytes(s3, bucket, key)))
    return load_market(table, key, dt.date.fromisoformat(manifest["business_date"]))

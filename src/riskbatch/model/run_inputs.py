"""A run as the report (and the next night's backtest) read it back: its market, positions, book and risk model."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from riskbatch.aws.storage import get_bytes
from riskbatch.inputs.files import Market, load_market, run_market
from riskbatch.model.engine import Book, RiskModel, build_book, risk_model
from riskbatch.model.risk_model import ModelParameters


@dataclass(frozen=True)
class RunBook:
    """The run's market, its positions and their book, and the risk model, loaded once per report."""

    parameters: ModelParameters
    market: Market
    positions: pa.Table
    book: Book
    model: RiskModel


def load_run_book(s3: Any, bucket: str, manifest: dict[str, Any]) -> RunBook:
    parameters = ModelParameters(**manifest["model"])
    market = run_market(s3, bucket, manifest)
    positions = pa.concat_tables([pq.read_table(io.BytesIO(get_bytes(s3, bucket, unit["key"]))) for unit in manifest["units"]])
    return RunBook(parameters, market, positions, build_book(positions, market, parameters), risk_model(market, parameters, manifest.get("draw_order")))


def load_file_market(s3: Any, bucket: str, manifest: dict[str, Any]) -> Market | None:
    """Every factor of the run's market file as published (NaN where a factor has no price); None
    for a run ingested before the file was kept."""
    key = manifest.get("market_file_key")
    if not key:
        return None
    import datetime as dt

    table = pq.read_table(io.BytesIO(get_bytes(s3, bucket, key)))
    return load_market(table, key, dt.date.fromisoformat(manifest["business_date"]))

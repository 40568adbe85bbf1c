"""Where everything lives in the output bucket, and the identity of a run."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import os
from typing import Any

import pyarrow.parquet as pq

from .inputs import Market, load_market
from .model import ModelParameters
from .storage import get_bytes


def run_id(business_date: str, checksums: list[str], parameters: ModelParameters) -> str:
    """Same files and model -> same run id: the second arrival of a file finds the run it made."""
    digest = hashlib.sha256(json.dumps([checksums, dataclasses.asdict(parameters)], sort_keys=True).encode()).hexdigest()
    return f"{business_date}-{digest[:12]}"


def manifest_key(run: str) -> str:
    return f"runs/{run}/manifest.json"


def market_key(run: str) -> str:
    return f"runs/{run}/market.parquet"


def unit_key(run: str, unit: int) -> str:
    return f"runs/{run}/units/{unit:05d}.parquet"


def results_prefix(run: str) -> str:
    return f"runs/{run}/results/"


def result_key(run: str, unit: int) -> str:
    return f"{results_prefix(run)}{unit:05d}.npz"


def status_key(run: str, state: str) -> str:
    return f"runs/{run}/status/{state}.json"


def report_keys(business_date: str, run: str) -> tuple[str, str]:
    return f"reports/{business_date}/{run}.pdf", f"reports/{business_date}/{run}.json"


def quarantine_key(business_date: str, file_name: str, checksum: str) -> str:
    return f"quarantine/{business_date}/{file_name}.{checksum[:12]}.errors.json"


def parameters_from_env(seed: int) -> ModelParameters:
    """Model parameters of a new run: the environment's settings, the seed given."""
    return ModelParameters(
        scenarios=int(os.environ.get("RISK_SCENARIOS", "10000")),
        seed=int(os.environ.get("RISK_SEED", str(seed))),
        covariance=os.environ.get("RISK_COVARIANCE", "sample"),
        ewma_lambda=float(os.environ.get("RISK_EWMA_LAMBDA", "0.94")),
        distribution=os.environ.get("RISK_DISTRIBUTION", "normal"),
        degrees_of_freedom=float(os.environ.get("RISK_DEGREES_OF_FREEDOM", "5")),
        horizon_days=int(os.environ.get("RISK_HORIZON_DAYS", "1")),
        rate=float(os.environ.get("RISK_RATE", "0.03")),
        block_size=int(os.environ.get("RISK_BLOCK_SIZE", "8192")),
    )


def run_market(s3: Any, bucket: str, manifest: dict[str, Any]) -> Market:
    """The validated market history a run was made from, as ingestion stored it."""
    table = pq.read_table(io.BytesIO(get_bytes(s3, bucket, manifest["market_key"])))
    market = load_market(table, manifest["market_key"], dt.date.fromisoformat(manifest["business_date"]))
    if market.factors != manifest["factors"]:
        raise ValueError("the run's market data does not match its manifest")
    return market

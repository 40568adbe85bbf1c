"""Where everything lives in the output bucket, and the identity of a run."""

from __future__ import annotations

import dataclasses
import hashlib
import json


def run_id(business_date: str, checksums: list[str], parameters: object, policy: object = None) -> str:
    """Same files, model and data-quality policy -> same run id: the second arrival of a file finds the run it made.
    The parameters and the policy are dataclasses (the model's ModelParameters, the data-quality policy)."""
    identity = [checksums, dataclasses.asdict(parameters)] + ([dataclasses.asdict(policy)] if policy is not None else [])
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    return f"{business_date}-{digest[:12]}"


def manifest_key(run: str) -> str:
    return f"runs/{run}/manifest.json"


def market_key(run: str) -> str:
    return f"runs/{run}/market.parquet"


def stress_market_key(run: str) -> str:
    return f"runs/{run}/stress_market.parquet"


def market_file_key(run: str) -> str:
    """Every factor of the night's market file (used by the night's book or not): the backtest's moves."""
    return f"runs/{run}/market-file.parquet"


def unit_key(run: str, unit: int) -> str:
    return f"runs/{run}/units/{unit:05d}.parquet"


def results_prefix(run: str) -> str:
    return f"runs/{run}/results/"


def result_key(run: str, unit: int) -> str:
    return f"{results_prefix(run)}{unit:05d}.npz"


def share_of_units(previous_units: int, units: int) -> list[list[int]]:
    """For each of tonight's units, the previous night's units it revalues beside its own
    (riskbatch.validation.previous_night): unit j goes to floor(j x units / previous_units), so each share is
    contiguous and the shares in order are the previous run's units in order; a share may be empty."""
    shares: list[list[int]] = [[] for _ in range(units)]
    for unit in range(previous_units if units else 0):
        shares[unit * units // previous_units].append(unit)
    return shares


def status_key(run: str, state: str) -> str:
    return f"runs/{run}/status/{state}.json"


def report_keys(business_date: str, run: str) -> tuple[str, str]:
    return f"reports/{business_date}/{run}.pdf", f"reports/{business_date}/{run}.json"


def notified_key(business_date: str, run: str) -> str:
    """The mark that a report's summary went to the topic (outside reports/<date>/, which holds the report itself)."""
    return f"reports/notified/{business_date}/{run}.json"


def quarantine_key(business_date: str, file_name: str, checksum: str) -> str:
    return f"quarantine/{business_date}/{file_name}.{checksum[:12]}.errors.json"


def alerted_key(details_key: str) -> str:
    """The mark that the alert about quarantine/<date>/<file> went out (outside quarantine/<date>/, which the deadline check lists)."""
    return details_key.replace("quarantine/", "quarantine/alerted/", 1)


def held_prices_key(business_date: str, file_name: str, checksum: str) -> str:
    """Every last price of a market file held at its previous close, with what it would have added."""
    return f"quarantine/{business_date}/{file_name}.{checksum[:12]}.held-prices.json"


def excluded_rows_key(business_date: str, file_name: str, checksum: str) -> str:
    """The rows of a positions file the night went on without, with their reasons and notional."""
    return f"quarantine/{business_date}/{file_name}.{checksum[:12]}.excluded-rows.json"

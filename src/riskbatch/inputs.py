"""The nightly input files: reading (CSV or Parquet) and validation.

positions: portfolio_id, position_id, instrument_type (equity | fx | option), underlying,
           quantity, and for options strike, expiry, option_type (call | put), implied_vol.
market:    date, factor, price (long format: one row per factor and day).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from .storage import get_bytes

POSITION_COLUMNS = {
    "portfolio_id": pa.string(),
    "position_id": pa.string(),
    "instrument_type": pa.string(),
    "underlying": pa.string(),
    "quantity": pa.float64(),
    "strike": pa.float64(),
    "expiry": pa.date32(),
    "option_type": pa.string(),
    "implied_vol": pa.float64(),
}
REQUIRED_POSITION_COLUMNS = ("portfolio_id", "position_id", "instrument_type", "underlying", "quantity")
OPTION_COLUMNS = ("strike", "expiry", "option_type", "implied_vol")
MARKET_COLUMNS = {"date": pa.date32(), "factor": pa.string(), "price": pa.float64()}
INSTRUMENT_TYPES = {"equity", "fx", "option"}


class InputError(ValueError):
    """A file that cannot be used; `problems` lists every reason found, for the quarantine report."""

    def __init__(self, file: str, problems: list[str]) -> None:
        super().__init__(f"{file}: {len(problems)} problem(s): " + "; ".join(problems[:5]))
        self.file = file
        self.problems = problems


@dataclass(frozen=True)
class Market:
    business_date: dt.date
    dates: list[dt.date]
    factors: list[str]
    prices: np.ndarray  # days x factors
    index: dict[str, int] = field(default_factory=dict)

    @property
    def spot(self) -> np.ndarray:
        return self.prices[-1]

    def factor_index(self, name: str) -> int:
        return self.index[name]


def read_table(data: bytes, name: str, columns: dict[str, pa.DataType]) -> pa.Table:
    """A CSV or Parquet file as an Arrow table with the expected column types where present."""
    try:
        if name.endswith(".parquet"):
            table = pq.read_table(io.BytesIO(data))
        else:
            present = pa_csv.read_csv(io.BytesIO(data), read_options=pa_csv.ReadOptions(block_size=1 << 22)).column_names
            types = {column: kind for column, kind in columns.items() if column in present}
            table = pa_csv.read_csv(
                io.BytesIO(data),
                convert_options=pa_csv.ConvertOptions(column_types=types, strings_can_be_null=True, null_values=[""]),
            )
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as error:
        raise InputError(name, [f"unreadable: {error}"]) from None
    try:
        return table.cast(pa.schema([(column, columns.get(column, table.schema.field(column).type)) for column in table.column_names]))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise InputError(name, [f"wrong column type: {error}"]) from None


def empty_values(table: pa.Table, columns) -> list[str]:
    """One problem per required column that has empty cells."""
    return [f"{table[column].null_count} empty {column} value(s)" for column in columns if table[column].null_count]


def load_market(table: pa.Table, name: str, business_date: dt.date) -> Market:
    problems = [f"missing column {column}" for column in MARKET_COLUMNS if column not in table.column_names]
    if problems:
        raise InputError(name, problems)
    if table.num_rows == 0:
        raise InputError(name, ["no rows"])
    problems += empty_values(table, MARKET_COLUMNS)
    if problems:
        raise InputError(name, problems)
    dates = table["date"].to_pylist()
    factors = table["factor"].to_pylist()
    prices = table["price"].to_numpy(zero_copy_only=False)
    bad = [(factors[i], dates[i]) for i in np.flatnonzero(~np.isfinite(prices) | (prices <= 0))[:10]]
    if bad:
        problems.append(f"non-finite or non-positive prices, e.g. {', '.join(f'{f} on {d}' for f, d in bad)}")
    future = sorted({d for d in dates if d > business_date})
    if future:
        problems.append(f"prices dated after the business date {business_date}: {future[0]}")
    unique_dates = sorted(set(dates))
    unique_factors = sorted(set(factors))
    seen: dict[tuple[str, dt.date], int] = {}
    duplicates = 0
    for row, key in enumerate(zip(factors, dates, strict=True)):
        if key in seen:
            duplicates += 1
        seen[key] = row
    if duplicates:
        problems.append(f"{duplicates} duplicate (factor, date) row(s)")
    expected = len(unique_dates) * len(unique_factors)
    if len(seen) != expected:
        problems.append(f"history is not complete: {len(seen)} of {len(unique_factors)} factors x {len(unique_dates)} days present")
    if len(unique_dates) < 30:
        problems.append(f"only {len(unique_dates)} days of history; at least 30 are needed")
    if problems:
        raise InputError(name, problems)
    date_index = {d: i for i, d in enumerate(unique_dates)}
    factor_index = {f: i for i, f in enumerate(unique_factors)}
    matrix = np.empty((len(unique_dates), len(unique_factors)))
    matrix[[date_index[d] for d in dates], [factor_index[f] for f in factors]] = prices
    return Market(business_date, unique_dates, unique_factors, matrix, factor_index)


def validate_positions(table: pa.Table, name: str, market: Market | None, business_date: dt.date) -> pa.Table:
    """The positions with their problems listed; returns the table with option columns present."""
    problems = [f"missing column {column}" for column in REQUIRED_POSITION_COLUMNS if column not in table.column_names]
    if problems:
        raise InputError(name, problems)
    for column in OPTION_COLUMNS:
        if column not in table.column_names:
            table = table.append_column(column, pa.nulls(table.num_rows, POSITION_COLUMNS[column]))
    if table.num_rows == 0:
        raise InputError(name, ["no positions"])
    problems += empty_values(table, REQUIRED_POSITION_COLUMNS)
    types = set(table["instrument_type"].drop_null().to_pylist())
    unknown_types = sorted(types - INSTRUMENT_TYPES)
    if unknown_types:
        problems.append(f"unknown instrument type(s): {', '.join(unknown_types)}")
    ids = table["position_id"].drop_null().to_pylist()
    if len(ids) != len(set(ids)):
        problems.append(f"{len(ids) - len(set(ids))} duplicate position_id value(s)")
    quantities = table["quantity"].to_numpy(zero_copy_only=False)
    if not np.all(np.isfinite(quantities[~np.isnan(quantities)])):
        problems.append("non-finite quantities")
    if market is not None:
        underlyings = set(table["underlying"].drop_null().to_pylist())
        unknown = sorted(underlyings - set(market.factors))
        if unknown:
            problems.append(f"{len(unknown)} underlying(s) not in the market data, e.g. {', '.join(unknown[:5])}")
    options = table.filter(pc.equal(table["instrument_type"], "option"))
    if options.num_rows:
        for column in OPTION_COLUMNS:
            nulls = options[column].null_count
            if nulls:
                problems.append(f"{nulls} option(s) without {column}")
        kinds = set(options["option_type"].drop_null().to_pylist()) - {"call", "put"}
        if kinds:
            problems.append(f"unknown option_type(s): {', '.join(sorted(kinds))}")
        strikes = options["strike"].to_numpy(zero_copy_only=False)
        vols = options["implied_vol"].to_numpy(zero_copy_only=False)
        if np.any(~(strikes > 0) & ~np.isnan(strikes)):
            problems.append("non-positive option strikes")
        if np.any((~(vols > 0) | ~np.isfinite(vols)) & ~np.isnan(vols)):
            problems.append("non-positive or non-finite implied volatilities")
        expired = [d for d in options["expiry"].drop_null().to_pylist() if d <= business_date]
        if expired:
            problems.append(f"{len(expired)} option(s) expired on or before {business_date}")
    if problems:
        raise InputError(name, problems)
    return table


def run_market(s3: Any, bucket: str, manifest: dict[str, Any]) -> Market:
    """The validated market history a run was made from, as ingestion stored it."""
    table = pq.read_table(io.BytesIO(get_bytes(s3, bucket, manifest["market_key"])))
    market = load_market(table, manifest["market_key"], dt.date.fromisoformat(manifest["business_date"]))
    if market.factors != manifest["factors"]:
        raise ValueError("the run's market data does not match its manifest")
    return market

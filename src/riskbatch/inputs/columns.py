"""Whole-column readings of the night's tables (a month-end file holds hundreds of thousands of rows): days as
Arrow's date32 numbers, a factor's latest row, the cells outside a set of values, repeated values."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

EPOCH = dt.date(1970, 1, 1).toordinal()


def day_number(day: dt.date) -> int:
    """A date as Arrow's date32 holds it: days since 1970-01-01."""
    return day.toordinal() - EPOCH


def from_day_number(number: int) -> dt.date:
    return dt.date.fromordinal(number + EPOCH)


def latest_rows(codes: np.ndarray, day_rows: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Per factor (`codes`), the row of its latest day among the `wanted` rows (factors with none have no row)."""
    rows = np.flatnonzero(wanted)
    if len(rows) == 0:
        return rows
    rows = rows[np.lexsort((day_rows[rows], codes[rows]))]  # by factor, then by day
    last_of_factor = np.append(codes[rows][1:] != codes[rows][:-1], True)
    return rows[last_of_factor]


def outside(column: pa.ChunkedArray | pa.Array, allowed: Iterable[str]) -> np.ndarray:
    """True where a cell holds a value not in `allowed` (an empty cell is not outside)."""
    values = column.cast(pa.string())
    found = pc.fill_null(pc.is_in(values, value_set=pa.array(list(allowed), pa.string())), True).to_numpy(zero_copy_only=False)
    return ~found & values.is_valid().to_numpy(zero_copy_only=False)


def repeated(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """True where a cell's value appears more than once in the column (an empty cell never does)."""
    encoded = column.combine_chunks().dictionary_encode() if isinstance(column, pa.ChunkedArray) else column.dictionary_encode()
    codes = encoded.indices.to_numpy(zero_copy_only=False)  # float with NaN where empty
    present = ~np.isnan(codes) if codes.dtype.kind == "f" else np.ones(len(codes), dtype=bool)
    counts = np.bincount(codes[present].astype(np.int64), minlength=len(encoded.dictionary))
    found = np.zeros(len(codes), dtype=bool)
    found[present] = counts[codes[present].astype(np.int64)] > 1
    return found

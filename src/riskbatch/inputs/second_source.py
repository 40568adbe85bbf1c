"""second_source.csv (optional, beside the night's files): another vendor's last price per factor,
for the business date. The last-day check (riskbatch.inputs.quality) holds a jump only when something
contradicts it: a second-source price more than the cleaning standard's `split_tolerance` away
contradicts it, one within it confirms it, whatever its size."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from riskbatch.inputs.files import InputError


def parse_second_source(data: bytes, name: str) -> dict[str, float]:
    """Columns factor, price: one positive finite price per factor."""
    try:
        table = pa_csv.read_csv(io.BytesIO(data), convert_options=pa_csv.ConvertOptions(column_types={"factor": pa.string(), "price": pa.float64()}))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise InputError(name, [f"unreadable: {error}"]) from None
    problems = [f"missing column {column}" for column in ("factor", "price") if column not in table.column_names]
    if problems:
        raise InputError(name, problems)
    prices: dict[str, float] = {}
    for number, row in enumerate(table.to_pylist(), 2):
        factor, price = row["factor"], row["price"]
        if not factor or price is None or not np.isfinite(price) or price <= 0:
            problems.append(f"line {number}: a factor and a positive finite price are needed")
        elif factor in prices:
            problems.append(f"line {number}: a second row for {factor}")
        else:
            prices[factor] = float(price)
    if problems:
        raise InputError(name, problems)
    return prices

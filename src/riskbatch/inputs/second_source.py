"""second_source.csv (optional, beside the night's files): another vendor's last price per factor,
for the business date. The last-day check (riskbatch.inputs.quality) holds a jump only when something
contradicts it: a second-source price more than the cleaning standard's `split_tolerance` away
contradicts it, one within it confirms it, whatever its size."""

from __future__ import annotations

from riskbatch.inputs.small_csv import value_per_key


def parse_second_source(data: bytes, name: str) -> dict[str, float]:
    """Columns factor, price: one positive finite price per factor."""
    return value_per_key(data, name, "factor", "price", positive=True)

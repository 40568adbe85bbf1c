"""Each portfolio's notional valued tonight: the measure against which an excluded position's notional is read."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from riskbatch.inputs.files import Market
from riskbatch.model.engine import Book


def portfolio_notional(positions: pa.Table, market: Market, book: Book) -> dict[str, float]:
    """|quantity x multiplier x spot| at today's rate into the reporting currency, summed by portfolio: the measure
    of an excluded position's notional (riskbatch.inputs.files), so a share excluded compares like with like."""
    factors = np.array([market.factor_index(name) for name in positions["underlying"].to_pylist()], dtype=np.int64)
    quantity = positions["quantity"].to_numpy(zero_copy_only=False).astype(float)
    if "multiplier" in positions.column_names:
        multiplier = positions["multiplier"].to_numpy(zero_copy_only=False).astype(float)
        quantity = quantity * np.where(np.isnan(multiplier), 1.0, multiplier)
    notional = np.abs(quantity * market.spot[factors] * book.conversion.rate_today[factors])
    totals: dict[str, float] = {}
    for portfolio, amount in zip(positions["portfolio_id"].to_pylist(), notional.tolist(), strict=True):
        totals[portfolio] = totals.get(portfolio, 0.0) + amount
    return totals

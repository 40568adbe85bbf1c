"""Plausibility bands of a night's inputs beyond the options' (riskbatch.inputs.files): a factor's dividend
yield and a position's size against its portfolio's usual one. Inputs typed in the wrong units pass every
format check and change the figures many times over; outside its band an input is excluded with the
reason (the factor and the positions on it, or the one position), listed with its notional, never priced.

- dividend yield: a yield outside `dividend_yield_band` (0 to 15 % a year in the approved
  configuration) is a percentage typed as a number (0.5 meant 0.5 %) or another unit: the factor is
  excluded (check `dividend_yield`). Beyond +-100 % the market file itself is refused (files.py).
- quantity: a position whose notional (|quantity x multiplier x spot| in the reporting currency) is
  more than `quantity_to_usual_max` times the median of its portfolio's positions is a quantity in
  the wrong unit (shares for thousands, cents for units) or a fat finger: the position is excluded.
  So is one whose notional is less than `quantity_to_usual_min` times that median (0.002 in the
  approved configuration): a quantity typed in thousands (250 for 250,000), whose risk would vanish
  from the figures unseen; a position of the usual size typed so lies at a thousandth of it.
  A portfolio of fewer than MIN_PORTFOLIO_POSITIONS positions has no usual size and is not checked.

  The notional an excluded position reports (the report's "notional excluded", the share of its portfolio
  that flags a figure as low) never understates the position: it is the larger of the typed notional and
  the portfolio's usual size (the median). Above the band that is the typed notional, as typed (a unit
  error there can only overstate: the portfolio's excluded share is flagged sooner, never later). Below the
  band the typed notional is the unit error itself (a thousandth of the position, if typed in thousands),
  and reporting it would hide the exclusion from the excluded share; the position's true size is unknown,
  so it counts at its portfolio's usual size, the size the band presumes it has; its reason gives both, and the
  excluded row keeps the typed one beside it (`typed_notional`, in the reporting currency) for the quarantine record.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa

from riskbatch.inputs.currencies import rate_into
from riskbatch.inputs.files import FX_FACTOR, ExcludedRow, Market, excluded_rows
from riskbatch.inputs.history_gaps import FactorFinding

MIN_PORTFOLIO_POSITIONS = 10


def dividend_findings(market: Market, factors: list[str], band: tuple[float, float]) -> list[FactorFinding]:
    """A finding (exclude) per factor whose dividend yield lies outside the band (FX rates pay no dividend: not checked)."""
    low, high = band
    findings = []
    for name in factors:
        value = float(market.dividend_yields[market.index[name]])
        if not FX_FACTOR.match(name) and not low <= value <= high:
            detail = f"dividend_yield {value:g} outside the plausible {low:g} to {high:g} (a percentage typed as a number?)"
            findings.append(FactorFinding(name, "dividend_yield", detail, "exclude"))
    return findings


def position_notionals(positions: pa.Table, market: Market, reporting: str) -> np.ndarray:
    """|quantity x multiplier x spot| of each position in the reporting currency (NaN where unknown)."""
    quantities = positions["quantity"].to_numpy(zero_copy_only=False).astype(float)
    multipliers = positions["multiplier"].to_numpy(zero_copy_only=False).astype(float) if "multiplier" in positions.column_names else None
    multipliers = np.where(np.isfinite(multipliers), multipliers, 1.0) if multipliers is not None else np.ones(positions.num_rows)
    underlyings = positions["underlying"].combine_chunks().dictionary_encode()
    # the spot and the rate of each underlying once (a book holds many positions per underlying), NaN where no rate
    spots, rates = [], []
    for underlying in underlyings.dictionary.to_pylist():
        rate = rate_into(market, market.currency(underlying, reporting), reporting)
        spots.append(float(market.spot[market.index[underlying]]) if rate is not None else np.nan)
        rates.append(rate if rate is not None else np.nan)
    rows = underlyings.indices.to_numpy(zero_copy_only=False)
    found = np.abs(quantities * multipliers * np.array(spots, dtype=float)[rows] * np.array(rates, dtype=float)[rows])
    return found


def exclude_outsized(positions: pa.Table, market: Market, reporting: str, most: float, least: float = 0.0) -> tuple[pa.Table, list[ExcludedRow]]:
    """The positions less those far beyond (or far below) their portfolio's usual size, and those, each with the reason."""
    notionals = position_notionals(positions, market, reporting)
    portfolios = np.array(positions["portfolio_id"].to_pylist(), dtype=object)
    reasons = [""] * positions.num_rows
    presumed: dict[int, float] = {}  # the rows far below their portfolio's usual size: that size, in the reporting currency
    for portfolio in sorted(set(portfolios.tolist())):
        rows = np.flatnonzero((portfolios == portfolio) & np.isfinite(notionals))
        if len(rows) < MIN_PORTFOLIO_POSITIONS:
            continue
        usual = float(np.median(notionals[rows]))
        for row in rows[notionals[rows] > most * usual] if usual > 0 else []:
            ratio = notionals[row] / usual
            reasons[row] = f"quantity: a notional {ratio:,.0f} times the median of {portfolio}'s positions, beyond {most:g} (another unit, or a fat finger?)"
        for row in rows[notionals[rows] < least * usual] if usual > 0 else []:
            ratio = notionals[row] / usual
            presumed[row] = usual
            reasons[row] = (
                f"quantity: a notional {ratio:.2g} times the median of {portfolio}'s positions, below {least:g} (typed in thousands?); "
                f"counted in the notional excluded at that median, {usual:,.0f} {reporting}, not the {notionals[row]:,.0f} typed"
            )
    outsized = np.array([bool(reason) for reason in reasons], dtype=bool)
    if not outsized.any():
        return positions, []
    excluded = excluded_rows(positions, outsized, reasons, market)  # in the order of the rows
    rows = np.flatnonzero(outsized).tolist()
    excluded = [_at_least_usual(found, presumed.get(row), notionals[row], market, reporting) for row, found in zip(rows, excluded, strict=True)]
    return positions.filter(pa.array(~outsized)), excluded


def _at_least_usual(found: ExcludedRow, usual: float | None, typed: float, market: Market, reporting: str) -> ExcludedRow:
    """The excluded row with its portfolio's usual size (in the reporting currency) as its notional, in its underlying's
    currency as excluded_rows gives it, where the typed one is far below it, and the typed one beside it (in the reporting
    currency: the quarantine record shows both, the totals count the presumed one); any other row as it is."""
    if usual is None:
        return found
    rate = rate_into(market, market.currency(found.underlying, reporting), reporting)  # known: the typed notional was
    return dataclasses.replace(found, notional=usual / rate, typed_notional=typed)

"""A night's currencies: the path from each position's currency into the reporting currency through the
market's FX factors (with the quote convention of docs/inputs.md), the factors a position needs, the rate
at the night's close, and the notional of an excluded position in the reporting currency (None when no
price or rate is known: unknown, never zero)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from riskbatch.inputs.columns import day_number
from riskbatch.inputs.files import FX_FACTOR, CheckedPositions, ExcludedRow, Market, excluded_rows


class MissingRate(KeyError):
    """The market data has no rate to convert a currency: bad data, said as such (not a defect)."""


def _direct_rate(market: Market, currency: str, into: str) -> tuple[str, int] | None:
    for name, sign in ((f"FX_{currency}{into}", 1), (f"FX_{into}{currency}", -1)):
        if name in market.index:
            return name, sign
    return None


def conversion_path(market: Market, currency: str, reporting: str) -> list[tuple[str, int]]:
    """The FX factors, with the sign of each one's log return, whose product converts `currency`
    into `reporting`: none for the reporting currency, one for a direct rate, else two through a
    common currency (USD first, then the others alphabetically): a EUR reporter with FX_EURUSD and
    FX_USDJPY converts JPY as JPY -> USD -> EUR."""
    if currency == reporting:
        return []
    direct = _direct_rate(market, currency, reporting)
    if direct:
        return [direct]
    quoted = {code for name in market.factors if (pair := FX_FACTOR.match(name)) for code in pair.groups()} - {currency, reporting}
    for common in sorted(quoted, key=lambda code: (code != "USD", code)):
        first, second = _direct_rate(market, currency, common), _direct_rate(market, common, reporting)
        if first and second:
            return [first, second]
    raise MissingRate(f"no FX rate FX_{currency}{reporting} or FX_{reporting}{currency}, nor a cross through a common currency, in the market data")


def factors_of_position(market: Market, row: dict[str, Any], reporting: str) -> list[str]:
    """The factors a position's value depends on: its underlying, its vol factor, its currency's rate(s)."""
    needed = [row["underlying"]]
    if row.get("vol_factor"):
        needed.append(row["vol_factor"])
    needed += [name for name, _ in conversion_path(market, market.currency(row["underlying"], reporting), reporting)]
    return needed


def factors_of_positions(market: Market, rows: list[dict[str, Any]], reporting: str) -> list[list[str]]:
    """`factors_of_position` of each row, found once per underlying and vol factor: the positions that share
    both share one list (read it, never change it)."""
    found: dict[tuple[str, str | None], list[str]] = {}
    needs = []
    for row in rows:
        key = (row["underlying"], row.get("vol_factor") or None)
        if key not in found:
            found[key] = factors_of_position(market, row, reporting)
        needs.append(found[key])
    return needs


def rate_into(market: Market, currency: str, reporting: str) -> float | None:
    """Today's rate of `currency` into the reporting currency, None when the market has none."""
    try:
        path = conversion_path(market, currency, reporting)
    except KeyError:
        return None
    rate = float(np.prod([market.spot[market.index[name]] ** sign for name, sign in path]))  # 1 for the reporting currency
    return rate if np.isfinite(rate) and rate > 0 else None


def notional_in(row: ExcludedRow, published: Market, market: Market, reporting: str) -> float | None:
    """An excluded row's notional in the reporting currency at the night's rates; None when its
    last price, its currency or the rate is unknown."""
    if row.notional is None or row.underlying not in market.index:
        return None
    declared = FX_FACTOR.match(row.underlying) or market.currencies[market.index[row.underlying]]
    if not declared:
        return None
    rate = rate_into(market, market.currency(row.underlying, reporting), reporting)
    if rate is None:
        return None
    # the row's notional is at the published last price; a held factor's is at its previous close
    column = market.index[row.underlying]
    scale = market.spot[column] / published.spot[column] if published.spot[column] != market.spot[column] else 1.0
    return float(row.notional * scale * rate)


def market_as_table(market: Market) -> pa.Table:
    """A market as the run stores it: one row per date and factor, with its currency and dividend yield."""
    days, factors = len(market.dates), len(market.factors)
    # built by index, not from Python lists of every cell (a month-end history holds 300,000)
    day_numbers = pa.array([day_number(day) for day in market.dates], pa.int32()).cast(pa.date32())
    row_day = pa.array(np.repeat(np.arange(days, dtype=np.int64), factors))
    row_factor = pa.array(np.tile(np.arange(factors, dtype=np.int64), days))
    return pa.table(
        {
            "date": pc.take(day_numbers, row_day),
            "factor": pc.take(pa.array(market.factors, pa.string()), row_factor),
            "price": pa.array(market.prices.reshape(-1), pa.float64()),
            "currency": pc.take(pa.array(list(market.currencies), pa.string()), row_factor),
            "dividend_yield": pa.array(np.tile(market.dividend_yields, days), pa.float64()),
        }
    )


def _exclude_unconvertible(checked: CheckedPositions, market: Market, reporting: str) -> tuple[pa.Table, list[ExcludedRow]]:
    """Positions whose currency has no FX rate into the reporting currency are excluded with the reason."""
    positions, excluded = checked.valid, list(checked.excluded)
    underlyings = positions["underlying"].to_pylist()
    why = {underlying: _unconvertible(market, underlying, reporting) for underlying in set(underlyings)}  # once per underlying
    reasons = [why[underlying] for underlying in underlyings]
    unconvertible = np.array([bool(reason) for reason in reasons])
    if unconvertible.any():
        excluded += excluded_rows(positions, unconvertible, reasons, market)
        positions = positions.filter(pa.array(~unconvertible))
    return positions, excluded


def _unconvertible(market: Market, underlying: str, reporting: str) -> str:
    """Why positions on `underlying` cannot be converted into the reporting currency ("": they can)."""
    if not FX_FACTOR.match(underlying) and market.currencies[market.index[underlying]] is None:
        return f"the currency of {underlying} is not declared in the market data (never assumed to be {reporting})"
    currency = market.currency(underlying, reporting)
    try:
        conversion_path(market, currency, reporting)
        return ""
    except KeyError as missing:
        return f"in {currency}: {missing.args[0]}"


def currency_column_problems(table: pa.Table, market: Market) -> list[str]:
    """A market file without a currency column cannot say which factors are in a foreign
    currency: refused, unless every factor is an FX rate (its quote currency is in its name)."""
    if "currency" in table.column_names or all(FX_FACTOR.match(name) for name in market.factors):
        return []
    return ["missing column currency: every factor that is not an FX rate must declare its currency (none is assumed to be the reporting currency)"]


def currency_problems(market: Market) -> list[str]:
    """An FX factor whose stated currency is not its quote currency contradicts the convention."""
    problems = []
    for name, stated in zip(market.factors, market.currencies, strict=True):
        pair = FX_FACTOR.match(name)
        if pair and stated and stated != pair.group(2):
            problems.append(f"{name} is quoted in {pair.group(2)} (FX_<BASE><QUOTE>), but its currency column says {stated}")
    return problems

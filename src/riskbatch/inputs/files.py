"""The nightly input files: reading (CSV or Parquet) and validation. Formats: docs/inputs.md.

A problem with a whole file (unreadable, a missing column, a date after the business date, market
data older than the allowed lag) rejects the file. A problem with one row (a position) or one
factor (its prices) excludes that row, or the positions on that factor, with the reason: the
night goes on without them, and the report lists them with their notional.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from riskbatch.aws.storage import get_bytes
from riskbatch.inputs.business_days import business_days_between
from riskbatch.inputs.columns import day_number, from_day_number, latest_rows, outside, repeated

# The night's two files, in either format, under incoming/<date>/.
FILE_NAME = re.compile(r"^(positions|market)\.(csv|parquet)$")
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
    "multiplier": pa.float64(),
    "vol_factor": pa.string(),
}
REQUIRED_POSITION_COLUMNS = ("portfolio_id", "position_id", "instrument_type", "underlying", "quantity")
OPTION_COLUMNS = ("strike", "expiry", "option_type", "implied_vol")
EXPIRES_TODAY = "option expires on the business date"  # an exclusion by the calendar, not a data problem: the report counts these apart


def is_expiry(row: dict[str, Any]) -> bool:
    """Whether an excluded row was left out only because the option expires on the business date."""
    return all(part.strip().startswith(EXPIRES_TODAY) for part in str(row["reason"]).split(";"))
OPTIONAL_POSITION_COLUMNS = ("multiplier", "vol_factor")
MARKET_COLUMNS = {"date": pa.date32(), "factor": pa.string(), "price": pa.float64(), "currency": pa.string(), "dividend_yield": pa.float64()}
REQUIRED_MARKET_COLUMNS = ("date", "factor", "price")
INSTRUMENT_TYPES = {"equity", "fx", "option"}
# A continuously compounded dividend yield beyond 100 % a year is a data error (a percentage
# typed as a number, a division by a zero price), not a yield: the file is refused.
MAX_DIVIDEND_YIELD = 1.0
# An FX rate factor: FX_<BASE><QUOTE>, its price the units of QUOTE one unit of BASE buys.
FX_FACTOR = re.compile(r"^FX_([A-Z]{3})([A-Z]{3})$")


class InputError(ValueError):
    """A file that cannot be used; `problems` lists every reason found, for the quarantine report."""

    def __init__(self, file: str, problems: list[str]) -> None:
        super().__init__(f"{file}: {len(problems)} problem(s): " + "; ".join(problems[:5]))
        self.file = file
        self.problems = problems


def read_json_option(path: str | Path, option: str) -> Any:
    """The JSON file an option names, or InputError in one line (a file that is not UTF-8 JSON is a bad input, never a traceback)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise InputError(str(path), [f"not a text file (byte {error.start} is not UTF-8): check what {option} names"]) from None
    except json.JSONDecodeError as error:
        raise InputError(str(path), [f"not JSON ({error.msg}, line {error.lineno}): check what {option} names"]) from None


@dataclass(frozen=True)
class Market:
    business_date: dt.date
    dates: list[dt.date]
    factors: list[str]
    prices: np.ndarray  # days x factors; NaN where a factor has no usable price that day
    index: dict[str, int] = field(default_factory=dict)
    currencies: tuple[str | None, ...] = ()  # per factor, as the file states it (None: not stated)
    dividend_yields: np.ndarray | None = None  # per factor, continuously compounded

    def __post_init__(self) -> None:
        if not self.index:
            object.__setattr__(self, "index", {name: i for i, name in enumerate(self.factors)})
        if not self.currencies:
            object.__setattr__(self, "currencies", (None,) * len(self.factors))
        if self.dividend_yields is None:
            object.__setattr__(self, "dividend_yields", np.zeros(len(self.factors)))

    @property
    def spot(self) -> np.ndarray:
        return self.prices[-1]

    @property
    def as_of(self) -> dt.date:
        """The last date of the history: the date of the prices the night revalues from."""
        return self.dates[-1]

    def factor_index(self, name: str) -> int:
        return self.index[name]

    def currency(self, factor: str, reporting: str) -> str:
        """The currency a factor's price is in: an FX rate's quote currency, else as stated, else the reporting one."""
        pair = FX_FACTOR.match(factor)
        if pair:
            return pair.group(2)
        return self.currencies[self.index[factor]] or reporting

    def restricted(self, factors: list[str]) -> Market:
        """The same history for these factors only (in this order)."""
        columns = [self.index[name] for name in factors]
        return Market(
            self.business_date,
            self.dates,
            list(factors),
            self.prices[:, columns],
            currencies=tuple(self.currencies[i] for i in columns),
            dividend_yields=self.dividend_yields[columns],
        )


def read_table(data: bytes, name: str, columns: dict[str, pa.DataType]) -> pa.Table:
    """A CSV or Parquet file as an Arrow table with the expected column types where present."""
    try:
        if name.endswith(".parquet"):
            table = pq.read_table(io.BytesIO(data))
        else:
            # one parse, not a first one for the header: Arrow ignores a type given for a column the file lacks (the loaders report it missing)
            table = pa_csv.read_csv(
                io.BytesIO(data),
                convert_options=pa_csv.ConvertOptions(column_types=columns, strings_can_be_null=True, null_values=[""]),
            )
        names = table.column_names  # decoded here: Arrow parses a header that is not text, and its names fail to decode
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError, UnicodeDecodeError) as error:  # UnicodeDecodeError: a header that is not text
        raise InputError(name, [f"unreadable: {error}"]) from None
    try:
        return table.cast(pa.schema([(column, columns.get(column, table.schema.field(column).type)) for column in names]))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise InputError(name, [f"wrong column type: {error}"]) from None


def empty_values(table: pa.Table, columns) -> list[str]:
    """One problem per required column that has empty cells."""
    return [f"{table[column].null_count} empty {column} value(s)" for column in columns if table[column].null_count]


def load_market(table: pa.Table, name: str, business_date: dt.date, max_lag_business_days: int | None = None) -> Market:
    """The market history as a days x factors matrix.

    File-level problems reject the file. A factor's own problems (a non-finite or non-positive
    price, a missing day) leave NaN in its column, for the data-quality assessment to judge.
    """
    problems = [f"missing column {column}" for column in REQUIRED_MARKET_COLUMNS if column not in table.column_names]
    if problems:
        raise InputError(name, problems)
    if table.num_rows == 0:
        raise InputError(name, ["no rows"])
    problems += empty_values(table, ("date", "factor"))
    if problems:
        raise InputError(name, problems)
    # whole columns at once (a month-end file holds 300,000 rows): day numbers and factor codes, not Python objects
    days = table["date"].cast(pa.date32()).cast(pa.int32()).to_numpy(zero_copy_only=False).astype(np.int64)
    names = table["factor"].combine_chunks().dictionary_encode()
    unique_factors = sorted(names.dictionary.to_pylist())
    factor_index = {f: i for i, f in enumerate(unique_factors)}
    codes = np.array([factor_index[name] for name in names.dictionary.to_pylist()], dtype=np.int64)[names.indices.to_numpy(zero_copy_only=False)]
    prices = table["price"].to_numpy(zero_copy_only=False).astype(float)
    cutoff = day_number(business_date)
    if (days > cutoff).any():
        problems.append(f"prices dated after the business date {business_date}: {from_day_number(int(days[days > cutoff].min()))}")
    last = from_day_number(int(days.max()))
    if max_lag_business_days is not None and business_days_between(last, business_date) > max_lag_business_days:
        problems.append(
            f"stale market data: the last date is {last}, {business_days_between(last, business_date)} business day(s) "
            f"before the business date {business_date}; at most {max_lag_business_days} allowed"
        )
    day_numbers, day_rows = np.unique(days, return_inverse=True)
    keys = np.sort(codes * len(day_numbers) + day_rows)
    duplicates = int(np.count_nonzero(keys[1:] == keys[:-1]))
    if duplicates:
        problems.append(f"{duplicates} duplicate (factor, date) row(s)")
    problems += dividend_problems(table)
    if problems:
        raise InputError(name, problems)
    unique_dates = [from_day_number(int(day)) for day in day_numbers]
    matrix = np.full((len(unique_dates), len(unique_factors)), np.nan)
    usable = np.where(np.isfinite(prices) & (prices > 0), prices, np.nan)
    matrix[day_rows, codes] = usable
    currencies: list[str | None] = [None] * len(unique_factors)
    dividends = np.zeros(len(unique_factors))
    # Static attributes of a factor: the value on its latest row that states one.
    if "currency" in table.column_names:
        stated = table["currency"].combine_chunks()
        given = pc.fill_null(pc.greater(pc.utf8_length(stated), 0), False).to_numpy(zero_copy_only=False)
        for row in latest_rows(codes, day_rows, given):
            currencies[codes[row]] = stated[int(row)].as_py().strip().upper()
    if "dividend_yield" in table.column_names:
        yields = table["dividend_yield"].to_numpy(zero_copy_only=False).astype(float)
        latest = latest_rows(codes, day_rows, ~np.isnan(yields))
        dividends[codes[latest]] = yields[latest]
    return Market(business_date, unique_dates, unique_factors, matrix, factor_index, tuple(currencies), dividends)


def dividend_problems(table: pa.Table) -> list[str]:
    """One problem per factor whose dividend yield is not a finite number within +-MAX_DIVIDEND_YIELD."""
    if "dividend_yield" not in table.column_names:
        return []
    values = table["dividend_yield"].to_numpy(zero_copy_only=False).astype(float)
    present = ~table["dividend_yield"].is_null().to_numpy(zero_copy_only=False)
    bad = present & ~(np.isfinite(values) & (np.abs(values) <= MAX_DIVIDEND_YIELD))
    factors = table["factor"].to_pylist()
    found: dict[str, float] = {}
    for row in np.flatnonzero(bad):
        found.setdefault(factors[row], float(values[row]))
    return [f"{name}: dividend_yield {value:g} is not a finite yield within +-{MAX_DIVIDEND_YIELD:.0%}" for name, value in sorted(found.items())]


@dataclass(frozen=True)
class ExcludedRow:
    """A position the night goes on without, and why."""

    position_id: str
    portfolio_id: str
    instrument_type: str
    underlying: str
    notional: float | None  # |quantity x multiplier x spot|, where known: in the underlying's currency, then (prepare_night) the reporting one
    reason: str
    typed_notional: float | None = None  # below the lower quantity band, where `notional` is the presumed size: the one typed, in the reporting currency


@dataclass(frozen=True)
class CheckedPositions:
    valid: pa.Table
    excluded: list[ExcludedRow]


def _finite(table: pa.Table, column: str) -> np.ndarray:
    """True where the cell holds a finite number (null, NaN and infinities are not)."""
    values = table[column].to_numpy(zero_copy_only=False).astype(float)
    return np.isfinite(values)


@dataclass(frozen=True)
class PlausibilityBands:
    """Where an option's implied vol and its strike against the underlying's spot may lie (the data-quality policy's)."""

    implied_vol: tuple[float, float]
    strike_to_spot: tuple[float, float]


def _implausible(bands: PlausibilityBands, table: pa.Table, market: Market, is_option: np.ndarray, reasons: list[list[str]]) -> None:
    vols = table["implied_vol"].to_numpy(zero_copy_only=False).astype(float)
    strikes = table["strike"].to_numpy(zero_copy_only=False).astype(float)
    underlyings = table["underlying"].to_pylist()
    (low, high), (least, most) = bands.implied_vol, bands.strike_to_spot
    for row in np.flatnonzero(is_option):
        vol, strike, underlying = vols[row], strikes[row], underlyings[row]
        if np.isfinite(vol) and vol > 0 and not low <= vol <= high:
            reasons[row].append(f"implied_vol {vol:g} outside the plausible {low:g} to {high:g} (a percentage typed as a number?)")
        if np.isfinite(strike) and strike > 0 and underlying in market.index:
            spot = float(market.spot[market.index[underlying]])
            if spot > 0 and not least <= strike / spot <= most:
                reasons[row].append(f"strike {strike:g} is {strike / spot:.3g} times the spot {spot:g}, outside {least:g} to {most:g} (another unit?)")


def validate_positions(
    table: pa.Table,
    name: str,
    market: Market | None,
    business_date: dt.date,
    bands: PlausibilityBands | None = None,
    allow_empty_book: bool = False,
) -> CheckedPositions:
    """Every row checked on its own: the valid rows, and the excluded ones with their reasons.

    A file without its columns or without a row is rejected as a whole; so is one without a single valid row,
    unless `allow_empty_book` (the night then publishes no figure, with the reasons: riskbatch.reporting.no_figure).
    """
    problems = [f"missing column {column}" for column in REQUIRED_POSITION_COLUMNS if column not in table.column_names]
    if problems:
        raise InputError(name, problems)
    for column in (*OPTION_COLUMNS, *OPTIONAL_POSITION_COLUMNS):
        if column not in table.column_names:
            table = table.append_column(column, pa.nulls(table.num_rows, POSITION_COLUMNS[column]))
    if table.num_rows == 0:
        raise InputError(name, ["no positions"])
    rows = table.num_rows
    reasons: list[list[str]] = [[] for _ in range(rows)]

    def flag(mask: np.ndarray, reason: str) -> None:
        for row in np.flatnonzero(mask):
            reasons[row].append(reason)

    for column in REQUIRED_POSITION_COLUMNS:
        flag(table[column].is_null().to_numpy(zero_copy_only=False), f"empty {column}")
    flag(outside(table["instrument_type"], INSTRUMENT_TYPES), "unknown instrument type")
    flag(repeated(table["position_id"]), "duplicate position_id (every copy excluded)")
    quantity_present = ~table["quantity"].is_null().to_numpy(zero_copy_only=False)
    flag(quantity_present & ~_finite(table, "quantity"), "non-finite quantity (NaN or infinite)")
    multiplier = table["multiplier"].to_numpy(zero_copy_only=False).astype(float)
    multiplier_present = ~table["multiplier"].is_null().to_numpy(zero_copy_only=False)
    flag(multiplier_present & ~(np.isfinite(multiplier) & (multiplier > 0)), "non-positive or non-finite multiplier")
    if market is not None:
        flag(outside(table["underlying"], market.factors), "underlying not in the market data")
        flag(outside(table["vol_factor"], market.factors), "vol_factor not in the market data")
    is_option = pc.fill_null(pc.equal(table["instrument_type"].cast(pa.string()), "option"), False).to_numpy(zero_copy_only=False)
    flag(~is_option & ~table["vol_factor"].is_null().to_numpy(zero_copy_only=False), "vol_factor on a position that is not an option")
    for column in OPTION_COLUMNS:
        flag(is_option & table[column].is_null().to_numpy(zero_copy_only=False), f"option without {column}")
    flag(is_option & outside(table["option_type"], ("call", "put")), "unknown option_type")
    strike_present = ~table["strike"].is_null().to_numpy(zero_copy_only=False)
    strikes = table["strike"].to_numpy(zero_copy_only=False).astype(float)
    flag(is_option & strike_present & ~(np.isfinite(strikes) & (strikes > 0)), "non-positive or non-finite strike")
    vol_present = ~table["implied_vol"].is_null().to_numpy(zero_copy_only=False)
    vols = table["implied_vol"].to_numpy(zero_copy_only=False).astype(float)
    flag(is_option & vol_present & ~(np.isfinite(vols) & (vols > 0)), "non-positive or non-finite implied_vol")
    if bands is not None and market is not None:
        _implausible(bands, table, market, is_option, reasons)
    expiries = table["expiry"].cast(pa.date32()).cast(pa.int32()).to_numpy(zero_copy_only=False).astype(float)  # NaN: none
    flag(is_option & (expiries < day_number(business_date)), f"option expired before {business_date}")
    # An option expiring today is worth its intrinsic value and carries no risk over the horizon.
    expiring = is_option & (expiries == day_number(business_date))
    flag(expiring, f"{EXPIRES_TODAY} {business_date}: no risk over the horizon")
    bad = np.array([bool(reasons[row]) for row in range(rows)])
    excluded = excluded_rows(table, bad, ["; ".join(reason) for reason in reasons], market)
    valid = table.filter(pa.array(~bad))
    if valid.num_rows == 0 and not allow_empty_book:
        raise InputError(name, [f"no valid position: all {rows} excluded, e.g. {excluded[0].position_id}: {excluded[0].reason}"])
    return CheckedPositions(valid, excluded)


def excluded_rows(table: pa.Table, mask: np.ndarray, reasons: list[str], market: Market | None) -> list[ExcludedRow]:
    """The rows under `mask`, with their notional where the market knows the underlying's price."""
    found = []
    multipliers = table["multiplier"].to_numpy(zero_copy_only=False).astype(float) if "multiplier" in table.column_names else np.ones(table.num_rows)
    quantities = table["quantity"].to_numpy(zero_copy_only=False).astype(float)
    for row in np.flatnonzero(mask):
        underlying = table["underlying"][row].as_py()
        notional = None
        if market is not None and underlying in market.index and np.isfinite(quantities[row]):
            spot = market.spot[market.index[underlying]]
            multiplier = multipliers[row] if np.isfinite(multipliers[row]) else 1.0
            notional = float(abs(quantities[row] * multiplier * spot)) if np.isfinite(spot) else None
        found.append(
            ExcludedRow(
                position_id=str(table["position_id"][row].as_py()),
                portfolio_id=str(table["portfolio_id"][row].as_py()),
                instrument_type=str(table["instrument_type"][row].as_py()),
                underlying=str(underlying),
                notional=notional,
                reason=reasons[row],
            )
        )
    return found


def run_market(s3: Any, bucket: str, manifest: dict[str, Any]) -> Market:
    """The validated market history a run was made from, as ingestion stored it (kept factors only)."""
    table = pq.read_table(io.BytesIO(get_bytes(s3, bucket, manifest["market_key"])))
    market = load_market(table, manifest["market_key"], dt.date.fromisoformat(manifest["business_date"]))
    if market.factors != manifest["factors"]:
        raise ValueError("the run's market data does not match its manifest")
    if not np.all(np.isfinite(market.prices)):
        raise ValueError("the run's market data has gaps: ingestion keeps only complete factors")
    return market

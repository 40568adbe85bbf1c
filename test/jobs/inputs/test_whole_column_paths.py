"""The night's inputs read by whole columns give what the row-by-row reading gave, to the last bit: the market
matrix with its dates, factors, currencies and dividend yields, the file's refusals, each position's notional
in the reporting currency, the factors each position needs, the unconvertible positions and the stored copy of
the market. The row-by-row readings below are the ones the whole-column ones replaced, kept as the reference."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from riskbatch.inputs.business_days import business_days_between
from riskbatch.inputs.currencies import _exclude_unconvertible, conversion_path, factors_of_position, factors_of_positions, market_as_table, rate_into
from riskbatch.inputs.factor_exclusions import excluded_by_factor
from riskbatch.inputs.files import (
    EXPIRES_TODAY,
    FX_FACTOR,
    INSTRUMENT_TYPES,
    OPTION_COLUMNS,
    OPTIONAL_POSITION_COLUMNS,
    POSITION_COLUMNS,
    REQUIRED_POSITION_COLUMNS,
    CheckedPositions,
    InputError,
    Market,
    PlausibilityBands,
    _finite,
    _implausible,
    dividend_problems,
    empty_values,
    excluded_rows,
    load_market,
    validate_positions,
)
from riskbatch.inputs.plausibility import position_notionals
from riskbatch.inputs.quality import DataQualityPolicy, prepare_night
from riskbatch.inputs.rates import exclude_options_without_rates, option_currencies, parse_rates
from riskbatch.inputs.sample import business_days, rates_table

BUSINESS_DATE = dt.date(2026, 11, 24)
RATES_DATE = dt.date(2026, 11, 25)
# equities in several currencies: USD (none to convert), EUR and GBP (a direct rate each way round), JPY (direct for a
# USD reporter, through USD for a EUR one), CHF (no rate at all), one with no currency stated; and the FX rates themselves
EQUITIES = {"AAA": "USD", "BBB": "EUR", "CCC": "GBP", "DDD": "JPY", "EEE": "CHF", "FFF": None, "GGG": "usd "}
RATES = {"FX_EURUSD": 1.1, "FX_GBPUSD": 1.3, "FX_USDJPY": 150.0}


def _market_rows(days: int = 40, seed: int = 3) -> dict[str, list]:
    """A market file's rows in a shuffled order: holidays, a bad and a missing price, a currency and a
    dividend yield that change over the window and are left empty on the last rows."""
    random = np.random.default_rng(seed)
    dates = [BUSINESS_DATE - dt.timedelta(days=days - 1 - day) for day in range(days)]
    rows: dict[str, list] = {"date": [], "factor": [], "price": [], "currency": [], "dividend_yield": []}
    for name, start in {**{equity: 50.0 for equity in EQUITIES}, **RATES}.items():
        path = start * np.exp(np.cumsum(random.normal(0.0, 0.01, days)))
        for day, price in zip(dates, path, strict=True):
            if name == "CCC" and day.weekday() == 0:
                continue  # a local holiday: no row
            late = day > BUSINESS_DATE - dt.timedelta(days=3)
            currency = name[-3:] if name in RATES else EQUITIES[name]
            rows["date"].append(day)
            rows["factor"].append(name)
            rows["price"].append(float("nan") if (name, day.day) == ("DDD", 5) else -1.0 if (name, day.day) == ("BBB", 7) else float(price))
            rows["currency"].append(None if late and name == "BBB" else "" if late and name == "AAA" else "eur" if day.day < 10 and name == "BBB" else currency)
            rows["dividend_yield"].append(None if late and name == "AAA" else None if name == "CCC" else round(float(random.uniform(0, 0.05)), 4))
    order = random.permutation(len(rows["date"]))
    return {column: [values[index] for index in order] for column, values in rows.items()}


def _table(rows: dict[str, list], chunks: int = 3) -> pa.Table:
    """The rows as an Arrow table of several chunks, as a large file is read."""
    schema = pa.schema([("date", pa.date32()), ("factor", pa.string()), ("price", pa.float64()), ("currency", pa.string()), ("dividend_yield", pa.float64())])
    table = pa.table(rows, schema=schema)
    size = -(-table.num_rows // chunks)
    return pa.Table.from_batches([batch for start in range(0, table.num_rows, size) for batch in table.slice(start, size).to_batches()])


def _row_by_row_market(table: pa.Table, name: str, business_date: dt.date, max_lag_business_days: int | None = None) -> Market:
    """load_market as it read the file one row at a time (the reference)."""
    problems = empty_values(table, ("date", "factor"))
    if problems:
        raise InputError(name, problems)
    dates = table["date"].to_pylist()
    factors = table["factor"].to_pylist()
    prices = table["price"].to_numpy(zero_copy_only=False).astype(float)
    future = sorted({d for d in dates if d > business_date})
    if future:
        problems.append(f"prices dated after the business date {business_date}: {future[0]}")
    last = max(dates)
    if max_lag_business_days is not None and business_days_between(last, business_date) > max_lag_business_days:
        problems.append(
            f"stale market data: the last date is {last}, {business_days_between(last, business_date)} business day(s) "
            f"before the business date {business_date}; at most {max_lag_business_days} allowed"
        )
    seen: dict[tuple[str, dt.date], int] = {}
    duplicates = 0
    for row, key in enumerate(zip(factors, dates, strict=True)):
        if key in seen:
            duplicates += 1
        seen[key] = row
    if duplicates:
        problems.append(f"{duplicates} duplicate (factor, date) row(s)")
    problems += dividend_problems(table)
    if problems:
        raise InputError(name, problems)
    unique_dates = sorted(set(dates))
    unique_factors = sorted(set(factors))
    date_index = {d: i for i, d in enumerate(unique_dates)}
    factor_index = {f: i for i, f in enumerate(unique_factors)}
    matrix = np.full((len(unique_dates), len(unique_factors)), np.nan)
    usable = np.where(np.isfinite(prices) & (prices > 0), prices, np.nan)
    matrix[[date_index[d] for d in dates], [factor_index[f] for f in factors]] = usable
    currencies: list[str | None] = [None] * len(unique_factors)
    dividends = np.zeros(len(unique_factors))
    order = np.argsort(np.array([date_index[d] for d in dates]), kind="stable")
    currency_column = table["currency"].to_pylist() if "currency" in table.column_names else None
    dividend_column = table["dividend_yield"].to_numpy(zero_copy_only=False) if "dividend_yield" in table.column_names else None
    for row in order:
        column = factor_index[factors[row]]
        if currency_column is not None and currency_column[row]:
            currencies[column] = currency_column[row].strip().upper()
        if dividend_column is not None and not np.isnan(dividend_column[row]):
            dividends[column] = float(dividend_column[row])
    return Market(business_date, unique_dates, unique_factors, matrix, factor_index, tuple(currencies), dividends)


def _row_by_row_notionals(positions: pa.Table, market: Market, reporting: str) -> np.ndarray:
    """position_notionals as it converted one position at a time (the reference)."""
    quantities = positions["quantity"].to_numpy(zero_copy_only=False).astype(float)
    multipliers = positions["multiplier"].to_numpy(zero_copy_only=False).astype(float) if "multiplier" in positions.column_names else None
    found = np.full(positions.num_rows, np.nan)
    for row, underlying in enumerate(positions["underlying"].to_pylist()):
        rate = rate_into(market, market.currency(underlying, reporting), reporting)
        multiplier = multipliers[row] if multipliers is not None and np.isfinite(multipliers[row]) else 1.0
        if rate is not None:
            found[row] = abs(quantities[row] * multiplier * float(market.spot[market.index[underlying]]) * rate)
    return found


def _row_by_row_table(market: Market) -> pa.Table:
    """market_as_table as it listed every cell (the reference)."""
    days, factors = len(market.dates), len(market.factors)
    return pa.table(
        {
            "date": pa.array([day for day in market.dates for _ in range(factors)], pa.date32()),
            "factor": pa.array(market.factors * days, pa.string()),
            "price": pa.array(market.prices.reshape(-1), pa.float64()),
            "currency": pa.array(list(market.currencies) * days, pa.string()),
            "dividend_yield": pa.array(np.tile(market.dividend_yields, days), pa.float64()),
        }
    )


def _parquet(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def _same_bits(found: np.ndarray, expected: np.ndarray) -> bool:
    return found.dtype == expected.dtype and found.shape == expected.shape and found.tobytes() == expected.tobytes()


def _same_market(found: Market, expected: Market) -> None:
    assert found.dates == expected.dates and found.factors == expected.factors and found.index == expected.index
    assert found.currencies == expected.currencies
    assert _same_bits(found.prices, expected.prices) and _same_bits(found.dividend_yields, expected.dividend_yields)


def test_the_market_read_by_whole_columns_is_the_row_by_row_one() -> None:
    table = _table(_market_rows())
    found, expected = load_market(table, "m", BUSINESS_DATE), _row_by_row_market(table, "m", BUSINESS_DATE)
    _same_market(found, expected)
    # the sample exercises what it claims: a holiday, an unusable price, a currency restated, left empty, or blank
    assert np.isnan(found.prices).sum() > 2 and found.currencies[found.index["BBB"]] == "EUR" and found.currencies[found.index["FFF"]] is None
    assert found.currencies[found.index["GGG"]] == "USD" and found.dividend_yields[found.index["AAA"]] > 0


def test_the_market_read_from_a_parquet_copy_is_the_row_by_row_one() -> None:
    market = load_market(_table(_market_rows(seed=8)), "m", BUSINESS_DATE)
    stored = market_as_table(market)
    _same_market(load_market(stored, "m", BUSINESS_DATE), _row_by_row_market(stored, "m", BUSINESS_DATE))


@pytest.mark.parametrize(
    "edit",
    [
        lambda rows: {column: values + values[:3] for column, values in rows.items()},  # three rows twice
        lambda rows: {**rows, "date": [day + dt.timedelta(days=2) for day in rows["date"]]},  # prices after the business date
        lambda rows: {**rows, "date": [day - dt.timedelta(days=30) for day in rows["date"]]},  # stale
        lambda rows: {**rows, "dividend_yield": [3.0 if name == "BBB" else value for name, value in zip(rows["factor"], rows["dividend_yield"], strict=True)]},
    ],
    ids=["duplicates", "future", "stale", "dividend"],
)
def test_a_refused_market_file_is_refused_for_the_same_reasons(edit) -> None:
    table = _table(edit(_market_rows()))
    with pytest.raises(InputError) as expected:
        _row_by_row_market(table, "m", BUSINESS_DATE, 5)
    with pytest.raises(InputError) as found:
        load_market(table, "m", BUSINESS_DATE, 5)
    assert found.value.problems == expected.value.problems


def _positions(market: Market, rows: int = 600, seed: int = 4) -> pa.Table:
    """Positions on every factor (the CHF equity's has no rate), in several portfolios, the multiplier given, empty or NaN."""
    random = np.random.default_rng(seed)
    underlyings = [name for name in market.factors if name != "FFF"]
    multipliers = [None, float("nan"), 1.0, 100.0, 0.25]
    table = pa.table(
        {
            "portfolio_id": [f"P{row % 4}" for row in range(rows)],
            "position_id": [f"X{row}" for row in range(rows)],
            "instrument_type": ["equity"] * rows,
            "underlying": [underlyings[index] for index in random.integers(0, len(underlyings), rows)],
            "quantity": random.normal(0.0, 1_000.0, rows),
            "multiplier": pa.array([multipliers[index] for index in random.integers(0, len(multipliers), rows)], pa.float64()),
            "vol_factor": [None] * rows,
        }
    )
    return pa.Table.from_batches(table.to_batches(max_chunksize=rows // 3))


@pytest.mark.parametrize("reporting", ["USD", "EUR"])
def test_the_notionals_converted_by_whole_columns_are_the_row_by_row_ones(reporting: str) -> None:
    market = load_market(_table(_market_rows()), "m", BUSINESS_DATE)
    positions = _positions(market)
    found, expected = position_notionals(positions, market, reporting), _row_by_row_notionals(positions, market, reporting)
    assert _same_bits(found, expected)
    assert np.isnan(found).any() and np.isfinite(found).sum() > len(found) // 2  # unknown (no CHF rate) and known ones


@pytest.mark.parametrize("reporting", ["USD", "EUR"])
def test_the_factors_each_position_needs_are_found_once_per_underlying_as_row_by_row(reporting: str) -> None:
    market = load_market(_table(_market_rows()), "m", BUSINESS_DATE)
    positions = _positions(market)
    vol = [name if row % 5 == 0 else None for row, name in enumerate(positions["underlying"].to_pylist())]  # an option's vol factor on some
    positions = positions.set_column(positions.column_names.index("vol_factor"), "vol_factor", pa.array(vol, pa.string()))
    checked, _ = _exclude_unconvertible(CheckedPositions(positions, []), market, reporting)
    rows = checked.to_pylist()
    assert factors_of_positions(market, rows, reporting) == [factors_of_position(market, row, reporting) for row in rows]


def _row_by_row_unconvertible(positions: pa.Table, market: Market, reporting: str) -> list[str]:
    """The reasons _exclude_unconvertible gave, found one position at a time (the reference)."""
    reasons = []
    for underlying in positions["underlying"].to_pylist():
        if not FX_FACTOR.match(underlying) and market.currencies[market.index[underlying]] is None:
            reasons.append(f"the currency of {underlying} is not declared in the market data (never assumed to be {reporting})")
            continue
        currency = market.currency(underlying, reporting)
        try:
            conversion_path(market, currency, reporting)
            reasons.append("")
        except KeyError as missing:
            reasons.append(f"in {currency}: {missing.args[0]}")
    return reasons


@pytest.mark.parametrize("reporting", ["USD", "EUR"])
def test_the_unconvertible_positions_are_those_found_row_by_row(reporting: str) -> None:
    market = load_market(_table(_market_rows()), "m", BUSINESS_DATE)
    positions = _positions(market).drop_columns(["vol_factor"])
    undeclared = {"portfolio_id": ["P0"], "position_id": [f"X{positions.num_rows}"], "instrument_type": ["equity"], "underlying": ["FFF"], "quantity": [1.0]}
    positions = pa.concat_tables([positions, pa.table({**undeclared, "multiplier": [None]}, schema=positions.schema)])
    kept, excluded = _exclude_unconvertible(CheckedPositions(positions, []), market, reporting)
    reasons = _row_by_row_unconvertible(positions, market, reporting)
    assert [(row.position_id, row.reason) for row in excluded] == [(f"X{row}", reason) for row, reason in enumerate(reasons) if reason]
    assert kept["position_id"].to_pylist() == [f"X{row}" for row, reason in enumerate(reasons) if not reason]
    undeclared_reason = f"the currency of FFF is not declared in the market data (never assumed to be {reporting})"
    assert {reason.split(":")[0] for reason in reasons if reason} == {"in CHF", undeclared_reason}


def test_the_stored_copy_of_the_market_is_the_row_by_row_one() -> None:
    market = load_market(_table(_market_rows()), "m", BUSINESS_DATE)
    found, expected = market_as_table(market), _row_by_row_table(market)
    assert found.schema == expected.schema
    for column in ("date", "factor", "currency", "dividend_yield"):
        assert found[column].combine_chunks().equals(expected[column].combine_chunks()), column
    assert _same_bits(found["price"].to_numpy(), expected["price"].to_numpy())  # NaN where no price: never equal to itself
    assert _parquet(found) == _parquet(expected)  # the stored copy, byte for byte
    assert found.column("currency").null_count == expected.column("currency").null_count > 0


def test_the_positions_on_an_excluded_factor_and_their_reasons_are_the_row_by_row_ones() -> None:
    market = load_market(_table(_market_rows()), "m", BUSINESS_DATE)
    rows = _exclude_unconvertible(CheckedPositions(_positions(market), []), market, "EUR")[0].to_pylist()
    for row in rows[::7]:
        row["vol_factor"] = "FX_GBPUSD"  # positions on one underlying with and without a vol factor
    needs = factors_of_positions(market, rows, "EUR")
    dropped = {"FX_EURUSD": "FX_EURUSD excluded: a gap", "CCC": "CCC excluded: stale", "FX_GBPUSD": "FX_GBPUSD excluded: a jump"}
    keep, reasons = excluded_by_factor(needs, dropped)
    assert _same_bits(keep, np.array([not any(factor in dropped for factor in factors) for factors in needs], dtype=bool))
    assert reasons == ["; ".join(dropped[factor] for factor in factors if factor in dropped) for factors in needs]
    assert keep.any() and not keep.all() and any("; " in reason for reason in reasons)  # kept, excluded, and for two factors at once


def _rates_night(curves: dict[str, dict[str, float]]):
    """Options and spot positions on the same rates and equities (a reason found once per kind and underlying must hold for each)."""
    random = np.random.default_rng(3)
    dates = business_days(RATES_DATE, 261)
    names = {"FX_EURUSD": ("USD", 1.08), "FX_USDJPY": ("JPY", 150.0), "EQ_SAP": ("EUR", 120.0), "EQ_IBM": ("USD", 200.0)}
    rows = [
        (day, name, start * float(np.exp(move)), currency)
        for name, (currency, start) in names.items()
        for day, move in zip(dates, np.cumsum(random.normal(0, 0.005, len(dates))), strict=True)
    ]
    market = pa.table({"date": pa.array([row[0] for row in rows], pa.date32()), "factor": [row[1] for row in rows], "price": [row[2] for row in rows],
                       "currency": [row[3] for row in rows]})  # fmt: skip
    positions = []
    for index, (name, (_, start)) in enumerate(names.items()):
        kind = "fx" if name.startswith("FX_") else "equity"
        for copy in range(3):
            positions.append({"portfolio_id": "A", "position_id": f"S{index}{copy}", "instrument_type": kind, "underlying": name, "quantity": 1e3})
            positions.append({"portfolio_id": "A", "position_id": f"O{index}{copy}", "instrument_type": "option", "underlying": name, "quantity": 1e3,
                              "strike": start, "expiry": RATES_DATE + dt.timedelta(days=365), "option_type": "call", "implied_vol": 0.2})  # fmt: skip
    table = pa.table({name: pa.array([row.get(name) for row in positions], kind) for name, kind in POSITION_COLUMNS.items()})
    night = prepare_night(market, "market.csv", table, "positions.csv", RATES_DATE, DataQualityPolicy(), "USD")
    return night, parse_rates(rates_table(RATES_DATE, curves), "rates.csv", RATES_DATE, 0)


def test_the_options_without_rates_and_their_reasons_are_the_row_by_row_ones() -> None:
    night, curves = _rates_night({"USD": {"3M": 0.043, "1Y": 0.041, "10Y": 0.042}, "GBP": {"3M": 0.04, "10Y": 0.041}})
    expected = []  # the reasons found one position at a time (the reference)
    for row in night.positions.to_pylist():
        lacking = []
        if row["instrument_type"] == "option":
            currencies = option_currencies(row["underlying"], night.market.currency(row["underlying"], night.reporting_currency))
            lacking = [code for code in currencies if code not in curves.points]
        expected.append(f"no dated rate for {', '.join(lacking)} in the night's rates file: an option is never priced at an assumed rate" if lacking else "")
    found = exclude_options_without_rates(night, curves, "positions.csv")
    assert [(row.position_id, row.reason) for row in found.excluded] == [
        (position, reason) for position, reason in zip(night.positions["position_id"].to_pylist(), expected, strict=True) if reason
    ]
    assert found.positions["position_id"].to_pylist() == [
        position for position, reason in zip(night.positions["position_id"].to_pylist(), expected, strict=True) if not reason
    ]
    assert {reason.split(" in the")[0] for reason in expected if reason} == {"no dated rate for EUR", "no dated rate for JPY"}


def _bad_positions(market: Market) -> pa.Table:
    """A row for each way a position can be wrong, and good ones beside them."""
    good = {"portfolio_id": "P", "instrument_type": "equity", "underlying": "AAA", "quantity": 10.0}
    option = {**good, "instrument_type": "option", "strike": 50.0, "expiry": BUSINESS_DATE + dt.timedelta(days=90), "option_type": "call", "implied_vol": 0.2}
    rows = [
        good, {**good, "underlying": "FX_EURUSD", "instrument_type": "fx"}, option, {**option, "option_type": "put", "vol_factor": "BBB"},
        {**good, "portfolio_id": None}, {**good, "instrument_type": "bond"}, {**good, "instrument_type": None}, {**good, "quantity": float("nan")},
        {**good, "quantity": None}, {**good, "multiplier": 0.0}, {**good, "multiplier": float("inf")}, {**good, "underlying": "ZZZ"},
        {**good, "underlying": None},
        {**option, "vol_factor": "ZZZ"}, {**good, "vol_factor": "BBB"}, {**option, "strike": None}, {**option, "option_type": "straddle"},
        {**option, "option_type": None}, {**option, "strike": -1.0}, {**option, "implied_vol": 0.0}, {**option, "implied_vol": 20.0},
        {**option, "strike": 5_000.0}, {**option, "expiry": BUSINESS_DATE - dt.timedelta(days=1)}, {**option, "expiry": BUSINESS_DATE},
        {**option, "expiry": None}, {**good, "position_id": "twice"}, {**option, "position_id": "twice"}, {**good, "position_id": None},
    ]
    for row, values in enumerate(rows):
        values.setdefault("position_id", f"X{row}")
    return pa.table({name: pa.array([values.get(name) for values in rows], kind) for name, kind in POSITION_COLUMNS.items()})


@pytest.mark.parametrize("with_market", [True, False])
def test_the_positions_checked_by_whole_columns_are_the_row_by_row_ones(with_market: bool) -> None:
    market = load_market(_table(_market_rows()), "m", BUSINESS_DATE)
    table, bands = _bad_positions(market), PlausibilityBands((0.01, 3.0), (0.2, 5.0))
    found = validate_positions(table, "p", market if with_market else None, BUSINESS_DATE, bands)
    expected = _row_by_row_validate(table, "p", market if with_market else None, BUSINESS_DATE, bands)
    assert found.valid.equals(expected.valid) and found.excluded == expected.excluded
    assert len(found.excluded) >= 20 and found.valid.num_rows == (4 if with_market else 8)  # the market checks exclude four more
    not_options = pa.array([kind != "option" for kind in table["instrument_type"].to_pylist()])
    without = table.drop_columns(["option_type", "vol_factor", "multiplier"]).filter(not_options)
    found, expected = validate_positions(without, "p", market, BUSINESS_DATE), _row_by_row_validate(without, "p", market, BUSINESS_DATE)
    assert found.valid.equals(expected.valid) and found.excluded == expected.excluded  # the optional columns absent


def _row_by_row_validate(
    table: pa.Table, name: str, market: Market | None, business_date: dt.date, bands: PlausibilityBands | None = None
) -> CheckedPositions:
    """validate_positions as it checked the cells one at a time (the reference)."""
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
    kinds = np.array(table["instrument_type"].to_pylist(), dtype=object)
    flag(np.array([kind is not None and kind not in INSTRUMENT_TYPES for kind in kinds]), "unknown instrument type")
    ids = table["position_id"].to_pylist()
    counts: dict[str, int] = {}
    for position in ids:
        counts[position] = counts.get(position, 0) + 1
    flag(np.array([position is not None and counts[position] > 1 for position in ids]), "duplicate position_id (every copy excluded)")
    quantity_present = ~table["quantity"].is_null().to_numpy(zero_copy_only=False)
    flag(quantity_present & ~_finite(table, "quantity"), "non-finite quantity (NaN or infinite)")
    multiplier = table["multiplier"].to_numpy(zero_copy_only=False).astype(float)
    multiplier_present = ~table["multiplier"].is_null().to_numpy(zero_copy_only=False)
    flag(multiplier_present & ~(np.isfinite(multiplier) & (multiplier > 0)), "non-positive or non-finite multiplier")
    underlyings = table["underlying"].to_pylist()
    if market is not None:
        known = set(market.factors)
        flag(np.array([u is not None and u not in known for u in underlyings]), "underlying not in the market data")
        vol_factors = table["vol_factor"].to_pylist()
        flag(np.array([v is not None and v not in known for v in vol_factors]), "vol_factor not in the market data")
    is_option = kinds == "option"
    flag(~is_option & ~table["vol_factor"].is_null().to_numpy(zero_copy_only=False), "vol_factor on a position that is not an option")
    for column in OPTION_COLUMNS:
        flag(is_option & table[column].is_null().to_numpy(zero_copy_only=False), f"option without {column}")
    option_types = table["option_type"].to_pylist()
    flag(is_option & np.array([t is not None and t not in {"call", "put"} for t in option_types]), "unknown option_type")
    strike_present = ~table["strike"].is_null().to_numpy(zero_copy_only=False)
    strikes = table["strike"].to_numpy(zero_copy_only=False).astype(float)
    flag(is_option & strike_present & ~(np.isfinite(strikes) & (strikes > 0)), "non-positive or non-finite strike")
    vol_present = ~table["implied_vol"].is_null().to_numpy(zero_copy_only=False)
    vols = table["implied_vol"].to_numpy(zero_copy_only=False).astype(float)
    flag(is_option & vol_present & ~(np.isfinite(vols) & (vols > 0)), "non-positive or non-finite implied_vol")
    if bands is not None and market is not None:
        _implausible(bands, table, market, is_option, reasons)
    expiries = table["expiry"].to_pylist()
    flag(is_option & np.array([e is not None and e < business_date for e in expiries]), f"option expired before {business_date}")
    # An option expiring today is worth its intrinsic value and carries no risk over the horizon.
    expiring = is_option & np.array([e is not None and e == business_date for e in expiries])
    flag(expiring, f"{EXPIRES_TODAY} {business_date}: no risk over the horizon")
    bad = np.array([bool(reasons[row]) for row in range(rows)])
    excluded = excluded_rows(table, bad, ["; ".join(reason) for reason in reasons], market)
    valid = table.filter(pa.array(~bad))
    if valid.num_rows == 0:
        raise InputError(name, [f"no valid position: all {rows} excluded, e.g. {excluded[0].position_id}: {excluded[0].reason}"])
    return CheckedPositions(valid, excluded)

"""The night's interest rates: a dated file of per-currency rates by tenor, a required input beside the
market file (format: docs/inputs.md), validated as prices are.

`rates.csv` (or `rates.parquet`) under incoming/<date>/: one row per date, currency and tenor, the
rate continuously compounded (0.043 for 4.3 %). It is refused as a whole (and the night with it:
rates are inputs of the night, never assumed) when it is unreadable or lacks a column; when a
rate is not finite or outside its currency's plausible band (the model configuration's
`data_quality.rate_bands`: a default and per-currency overrides; a percentage typed as a number
lies outside every band); when a date lies after
the business date or a currency's last date is older than the market's allowed lag; on a
duplicate (date, currency, tenor); or when a currency has no short tenor (one year or less) and
no long one (beyond a year) on its last date. An option's domestic rate (its currency's) and, for
an FX option, its foreign rate (the base currency's, Garman-Kohlhagen) come from these curves at
the option's expiry (linear in the tenor, flat beyond the ends); an option in a currency the file
does not cover is excluded with the reason, never priced at an assumed rate.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from riskbatch.aws.storage import exists, get_versioned
from riskbatch.inputs.business_days import business_days_between
from riskbatch.inputs.currencies import notional_in
from riskbatch.inputs.files import FX_FACTOR, InputError, empty_values, excluded_rows, read_table
from riskbatch.inputs.quality import DataQualityPolicy, FileRejected, PreparedNight

RATES_FILES = ("rates.csv", "rates.parquet")
RATE_COLUMNS = {"date": pa.date32(), "currency": pa.string(), "tenor": pa.string(), "rate": pa.float64()}
TENOR = re.compile(r"^(\d+)([DWMY])$")
TENOR_YEARS = {"D": 1 / 365.0, "W": 7 / 365.0, "M": 1 / 12.0, "Y": 1.0}
SHORT_TENOR_YEARS = 1.0  # a short tenor is at most a year; a long one beyond it


def tenor_years(tenor: str) -> float | None:
    """3M -> 0.25, 10Y -> 10.0; None for anything else."""
    match = TENOR.match(tenor.strip().upper())
    return int(match.group(1)) * TENOR_YEARS[match.group(2)] if match and int(match.group(1)) > 0 else None


@dataclass(frozen=True)
class RateCurves:
    """Per currency, its (years, rate) points on its last date, by tenor."""

    as_of: dict[str, dt.date]
    points: dict[str, list[tuple[float, float]]]

    def as_parameters(self) -> dict[str, list[list[float]]]:
        """The curves as the model's parameters (and the manifest) carry them."""
        return {currency: [[years, rate] for years, rate in points] for currency, points in sorted(self.points.items())}


def curve_rate(points: list[list[float]] | list[tuple[float, float]], years: float) -> float:
    """The rate at `years`: linear between tenors, flat beyond the ends."""
    tenors, rates = zip(*points, strict=True)
    return float(np.interp(years, tenors, rates))


def parse_rates(
    table: pa.Table, name: str, business_date: dt.date, max_lag_business_days: int, bands: dict[str, tuple[float, float]] | None = None
) -> RateCurves:
    """The curves of a rates file, or InputError with every problem found. `bands`: the data-quality policy's
    rate_bands (the model configuration's; without them, the policy's defaults)."""
    policy = DataQualityPolicy(rate_bands=bands) if bands is not None else DataQualityPolicy()
    problems = [f"missing column {column}" for column in RATE_COLUMNS if column not in table.column_names]
    if problems:
        raise InputError(name, problems)
    if table.num_rows == 0:
        raise InputError(name, ["no rows"])
    problems += empty_values(table, RATE_COLUMNS)
    if problems:
        raise InputError(name, problems)
    rows = zip(table["date"].to_pylist(), table["currency"].to_pylist(), table["tenor"].to_pylist(), table["rate"].to_pylist(), strict=True)
    latest: dict[str, dt.date] = {}
    seen: set[tuple[dt.date, str, float]] = set()
    found: dict[tuple[str, dt.date], list[tuple[float, float]]] = {}
    for date, currency, tenor, rate in rows:
        code, years = currency.strip().upper(), tenor_years(tenor)
        where = f"{code} {tenor} on {date}"
        if not re.fullmatch(r"[A-Z]{3}", code):
            problems.append(f"{currency!r} is not a currency code")
        elif years is None:
            problems.append(f"{where}: the tenor is a number and D, W, M or Y (3M, 10Y)")
        elif not (np.isfinite(rate) and policy.rate_band(code)[0] <= rate <= policy.rate_band(code)[1]):
            low, high = policy.rate_band(code)
            problems.append(f"{where}: the rate {rate:g} is outside the plausible {low:g} to {high:g} of {code} (a percentage typed as a number?)")
        elif date > business_date:
            problems.append(f"{where}: dated after the business date {business_date}")
        elif (date, code, years) in seen:
            problems.append(f"{where}: a duplicate (date, currency, tenor)")
        else:
            seen.add((date, code, years))
            latest[code] = max(latest.get(code, date), date)
            found.setdefault((code, date), []).append((years, float(rate)))
    points = {code: sorted(found[(code, date)]) for code, date in latest.items()}
    for code, date in sorted(latest.items()):
        lag = business_days_between(date, business_date)
        if lag > max_lag_business_days:
            problems.append(f"{code}: the last rates are of {date}, {lag} business day(s) before {business_date}; at most {max_lag_business_days} allowed")
        tenors = [years for years, _ in points[code]]
        if min(tenors) > SHORT_TENOR_YEARS or max(tenors) <= SHORT_TENOR_YEARS:
            problems.append(f"{code}: a short tenor (a year or less) and a long one (beyond a year) are needed on {date}")
    if problems:
        raise InputError(name, problems)
    return RateCurves(latest, points)


class RatesRejected(FileRejected):
    """The night's rates file is missing or cannot be used: the night is refused with it."""

    def __init__(self, key: str, checksum: str, error: InputError) -> None:
        super().__init__("rates", error)
        self.key, self.checksum = key, checksum


def night_rates(
    s3: Any, bucket: str, prefix: str, business_date: str, max_lag_business_days: int, bands: dict[str, tuple[float, float]] | None = None
) -> tuple[RateCurves, dict[str, str | None]]:
    """The night's rates file read and validated: its curves and source (uri, checksum, and the S3 version read, so a
    restatement after the file is overwritten still names the bytes this run used); RatesRejected otherwise."""
    for name in RATES_FILES:
        key = f"{prefix}{business_date}/{name}"
        if exists(s3, bucket, key):
            data, version_id = get_versioned(s3, bucket, key)
            checksum = hashlib.sha256(data).hexdigest()
            try:
                curves = parse_rates(read_table(data, key, RATE_COLUMNS), key, dt.date.fromisoformat(business_date), max_lag_business_days, bands)
            except InputError as error:
                raise RatesRejected(key, checksum, error) from error
            return curves, {"uri": f"s3://{bucket}/{key}", "sha256": checksum, "version_id": version_id}
    key = f"{prefix}{business_date}/{RATES_FILES[0]}"
    missing = InputError(key, [f"no rates file ({' or '.join(RATES_FILES)}) for {business_date}: rates are a required input of the night, never assumed"])
    raise RatesRejected(key, hashlib.sha256(b"").hexdigest(), missing)


def option_currencies(underlying: str, currency: str) -> list[str]:
    """The currencies whose rates price an option: an FX option's quote (domestic) and base (foreign), else its own."""
    pair = FX_FACTOR.match(underlying)
    return [pair.group(2), pair.group(1)] if pair else [currency]


def exclude_options_without_rates(night: PreparedNight, curves: RateCurves, positions_name: str) -> PreparedNight:
    """The night less its options in a currency the rates file does not cover, each excluded with the reason."""
    positions, market = night.positions, night.market
    reasons = []
    for row in positions.to_pylist():
        lacking = []
        if row["instrument_type"] == "option":
            currencies = option_currencies(row["underlying"], market.currency(row["underlying"], night.reporting_currency))
            lacking = [code for code in currencies if code not in curves.points]
        reasons.append(f"no dated rate for {', '.join(lacking)} in the night's rates file: an option is never priced at an assumed rate" if lacking else "")
    refused = np.array([bool(reason) for reason in reasons], dtype=bool)
    if not refused.any():
        return night
    rows = excluded_rows(positions, refused, reasons, market)
    rows = [dataclasses.replace(row, notional=notional_in(row, market, market, night.reporting_currency)) for row in rows]
    kept = positions.filter(pa.array(~refused))
    if kept.num_rows == 0:
        raise FileRejected("positions", InputError(positions_name, [f"no valid position: all excluded, e.g. {rows[0].reason}"]))
    return dataclasses.replace(night, positions=kept, excluded=[*night.excluded, *rows])

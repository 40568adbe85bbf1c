"""The night's interest rates: a dated file of per-currency rates by tenor, a required input beside the
market file (format: docs/inputs.md), validated as prices are.

`rates.csv` (or `rates.parquet`) under incoming/<date>/: one row per date, currency and tenor, the
rate continuously compounded (0.043 for 4.3 %). It is refused as a whole (and the night with it:
rates are inputs of the night, never assumed) when it cannot be read: unreadable, a missing column,
no rows, an empty cell, a row naming no currency, or no currency's curve usable. Otherwise it is
checked per currency, and a currency whose curve fails is refused with its reasons (a data-quality
finding, check `rates`) while every other currency's curve is kept: a rate not finite or outside its
currency's plausible band (the model configuration's `data_quality.rate_bands`: a default and
per-currency overrides); a tenor that is not a number and D, W, M or Y; a date after the business
date, or a last date older than the market's allowed lag; a duplicate (date, currency, tenor); no
short tenor (one year or less) and long one (beyond a year) on its last date; a rate further than the
currency's `data_quality.rate_steps` from its neighbouring tenor on that date (only a tenor at most four
times the other: 3M-1Y, 10Y-30Y), or from its own tenor the night before (the latest earlier run's curves,
within two business days): a low rate typed as a percentage (JPY 3M 0.1 for 0.1 %) lies inside the band
but far from the curve around it, and so does a genuine squeeze: a curve refused for its steps alone is
used when a named sign-off accepted exactly that curve (riskbatch.inputs.rate_acceptances), never one
refused for anything else, nor one whose step reads as a typed percentage (riskbatch.inputs.rate_units).
Only problems on a currency's last date refuse it; a bad row of an earlier date is flagged. An option's
domestic rate (its currency's) and, for an FX option, its foreign rate (the base currency's,
Garman-Kohlhagen) come from these curves at the option's expiry (linear in the tenor, flat beyond the
ends); an option in a currency the file does not cover, or whose curve it refused, is excluded with
the reason, never priced at an assumed rate.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from riskbatch.aws.storage import exists, get_read
from riskbatch.inputs.business_days import business_days_between
from riskbatch.inputs.currencies import notional_in
from riskbatch.inputs.files import FX_FACTOR, InputError, empty_values, excluded_rows, read_table
from riskbatch.inputs.history_gaps import FactorFinding
from riskbatch.inputs.quality import DataQualityPolicy, FileRejected, PreparedNight
from riskbatch.inputs.rate_units import typed_percentage

RATES_FILES = ("rates.csv", "rates.parquet")
RATE_COLUMNS = {"date": pa.date32(), "currency": pa.string(), "tenor": pa.string(), "rate": pa.float64()}
TENOR = re.compile(r"^(\d+)([DWMY])$")
TENOR_YEARS = {"D": 1 / 365.0, "W": 7 / 365.0, "M": 1 / 12.0, "Y": 1.0}
SHORT_TENOR_YEARS = 1.0  # a short tenor is at most a year; a long one beyond it
NEIGHBOUR_SPAN = 4.0  # tenors compared with their neighbour only when the longer is at most 4 times the shorter (3M-1Y, 5Y-10Y, 10Y-30Y)
PREVIOUS_NIGHT_LAG = 2  # business days: an earlier run further back than this is no night before to compare with


def tenor_years(tenor: str) -> float | None:
    """3M -> 0.25, 10Y -> 10.0; None for anything else."""
    match = TENOR.match(tenor.strip().upper())
    return int(match.group(1)) * TENOR_YEARS[match.group(2)] if match and int(match.group(1)) > 0 else None


@dataclass(frozen=True)
class RateCurves:
    """Per currency, its (years, rate) points on its last date, by tenor; the currencies whose curve was refused, with why; and
    the usable currencies with bad rows on earlier dates (flagged: only the last date's curve is used)."""

    as_of: dict[str, dt.date]
    points: dict[str, list[tuple[float, float]]]
    refused: dict[str, list[str]] = field(default_factory=dict)
    flagged: dict[str, list[str]] = field(default_factory=dict)  # a usable currency's bad rows of earlier dates: reported, not refused
    # a refused curve whose only problems are its steps (neighbour, night before): what a named sign-off may accept, its points
    acceptable: dict[str, list[list[float]]] = field(default_factory=dict)
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)  # a curve used on its sign-off: the record and the steps it overrode
    # a refused curve whose step looks like a unit error (one rate about 100x another): never acceptable, the file is corrected
    mistyped: dict[str, list[str]] = field(default_factory=dict)

    def as_parameters(self) -> dict[str, list[list[float]]]:
        """The curves as the model's parameters (and the manifest) carry them."""
        return {currency: [[years, rate] for years, rate in points] for currency, points in sorted(self.points.items())}


def curve_rate(points: list[list[float]] | list[tuple[float, float]], years: float) -> float:
    """The rate at `years`: linear between tenors, flat beyond the ends."""
    tenors, rates = zip(*points, strict=True)
    return float(np.interp(years, tenors, rates))


@dataclass(frozen=True)
class PreviousCurves:
    """The curves of the night before (the latest earlier run's `model.curves`) and its business date."""

    business_date: dt.date
    points: dict[str, list[list[float]]]


def parse_rates(
    table: pa.Table,
    name: str,
    business_date: dt.date,
    max_lag_business_days: int,
    bands: dict[str, tuple[float, float]] | None = None,
    steps: dict[str, float] | None = None,
    previous: PreviousCurves | None = None,
    accepted: dict[str, list[dict[str, Any]]] | None = None,
) -> RateCurves:
    """The usable curves of a rates file, each refused currency with its problems; InputError when the file cannot
    be read (a missing column, no rows, an empty cell, a row naming no currency) or no currency's curve is usable.
    `bands`, `steps`: the data-quality policy's rate_bands and rate_steps (the model configuration's; without them,
    the policy's defaults). `previous`: the night before's curves, when stored. `accepted`: the business date's
    sign-offs by currency (riskbatch.inputs.rate_acceptances): a curve refused for its steps alone, and exactly a
    curve signed off, is used; a rate outside its band, a bad tenor, a duplicate, a stale or one-ended curve never is,
    nor a step that looks like a unit error (one rate about 100x its neighbour or its night before: riskbatch.inputs.rate_units)."""
    policy = DataQualityPolicy(**({"rate_bands": bands} if bands is not None else {}), **({"rate_steps": steps} if steps is not None else {}))
    problems = [f"missing column {column}" for column in RATE_COLUMNS if column not in table.column_names]
    if problems:
        raise InputError(name, problems)
    if table.num_rows == 0:
        raise InputError(name, ["no rows"])
    problems += empty_values(table, RATE_COLUMNS)
    if problems:
        raise InputError(name, problems)
    rows = list(zip(table["date"].to_pylist(), table["currency"].to_pylist(), table["tenor"].to_pylist(), table["rate"].to_pylist(), strict=True))
    # a row naming no currency cannot be set aside with one curve: the file is unreadable
    problems = [f"{currency!r} is not a currency code" for _, currency, _, _ in rows if not re.fullmatch(r"[A-Z]{3}", currency.strip().upper())]
    if problems:
        raise InputError(name, problems)
    latest: dict[str, dt.date] = {}
    for date, currency, _, _ in rows:  # a currency's last date: the latest row at most the business date, good or not
        code = currency.strip().upper()
        latest[code] = max(latest.get(code, date), date) if date <= business_date else latest.get(code, date)
    refused: dict[str, list[str]] = {code: [] for code in latest}
    flagged: dict[str, list[str]] = {}
    seen: set[tuple[dt.date, str, float]] = set()
    found: dict[tuple[str, dt.date], list[tuple[float, float, str]]] = {}
    for date, currency, tenor, rate in rows:
        code, years = currency.strip().upper(), tenor_years(tenor)
        (low, high), where = policy.rate_band(code), f"{code} {tenor} on {date}"
        # only a problem on the currency's last date (or after it) refuses its curve; an older bad row of a file carrying history is flagged
        problems = refused[code] if date >= latest[code] else flagged.setdefault(code, [])
        if years is None:
            problems.append(f"{where}: the tenor is a number and D, W, M or Y (3M, 10Y)")
        elif not (np.isfinite(rate) and low <= rate <= high):
            problems.append(f"{where}: the rate {rate:g} is outside the plausible {low:g} to {high:g} of {code} (a percentage typed as a number?)")
        elif date > business_date:
            problems.append(f"{where}: dated after the business date {business_date}")
        elif (date, code, years) in seen:
            problems.append(f"{where}: a duplicate (date, currency, tenor)")
        else:
            seen.add((date, code, years))
            found.setdefault((code, date), []).append((years, float(rate), tenor.strip().upper()))
    acceptable: dict[str, list[list[float]]] = {}
    signed: dict[str, dict[str, Any]] = {}
    mistyped: dict[str, list[str]] = {}
    for code, date in sorted(latest.items()):
        points = sorted(found.get((code, date), []))
        if not points:
            continue
        problems, steps, slips = _curve_problems(code, date, points, business_date, max_lag_business_days, policy, previous)
        refused[code] += problems
        if slips:  # a step that looks like a unit error: refused, and no sign-off makes it usable
            mistyped[code] = slips
        elif steps and not refused[code]:  # refused for its steps alone: a genuine squeeze may be signed off
            acceptable[code] = [[years, rate] for years, rate, _ in points]
            sign_offs = (accepted or {}).get(code, [])
            sign_off = next((record for record in sign_offs if record.get("curve") == acceptable[code]), None)
            if sign_off is not None:
                signed[code] = {**sign_off, "overrode": steps}
                continue
            for other in sign_offs:  # a corrected file since: that sign-off was of other numbers
                steps.append(f"{code}: the sign-off by {other['signed_off_by']} accepted another curve ({other['curve']}), not tonight's: not applied")
        refused[code] += steps + slips
    usable = {code: date for code, date in latest.items() if not refused[code] and (code, date) in found}
    if not usable:
        raise InputError(name, [problem for code in sorted(refused) for problem in refused[code]] or ["no usable curve"])
    points = {code: [(years, rate) for years, rate, _ in sorted(found[(code, date)])] for code, date in usable.items()}
    return RateCurves(
        usable,
        points,
        {code: found_problems for code, found_problems in sorted(refused.items()) if found_problems},
        {code: found_problems for code, found_problems in sorted(flagged.items()) if code in usable},
        {code: curve for code, curve in acceptable.items() if code not in usable},
        signed,
        mistyped,
    )


def _curve_problems(
    code: str,
    date: dt.date,
    points: list[tuple[float, float, str]],
    business_date: dt.date,
    max_lag_business_days: int,
    policy: DataQualityPolicy,
    previous: PreviousCurves | None,
) -> tuple[list[str], list[str], list[str]]:
    """Why one currency's curve on its last date cannot be used: (stale, or without both ends; a tenor that jumps
    from its neighbouring tenor or from its own the night before by more than the currency's rate_step; those of the
    steps whose two rates are about 100x apart). The steps apart: a low rate typed as a percentage (0.1 for 0.1 %) lies
    inside the band but far from the curve around it, and so does a genuine squeeze, which a named sign-off may accept;
    a step about 100x is taken for the typing error and never accepted."""
    problems, steps, slips, step = [], [], [], policy.rate_steps.get(code, policy.rate_steps["default"])
    lag = business_days_between(date, business_date)
    if lag > max_lag_business_days:
        problems.append(f"{code}: the last rates are of {date}, {lag} business day(s) before {business_date}; at most {max_lag_business_days} allowed")
    tenors = [years for years, _, _ in points]
    if min(tenors) > SHORT_TENOR_YEARS or max(tenors) <= SHORT_TENOR_YEARS:
        problems.append(f"{code}: a short tenor (a year or less) and a long one (beyond a year) are needed on {date}")
    for (years, rate, tenor), (further, beside, neighbour) in itertools.pairwise(points):
        # only tenors within a factor of NEIGHBOUR_SPAN of each other: far-apart tenors of a sparse curve differ by a term
        # premium or an inversion (JPY 1D 0.75 % / 30Y 3.3 %), not by a typing error; the night before and the band still apply
        if further <= NEIGHBOUR_SPAN * years and abs(rate - beside) > step:
            steps.append(
                f"{code} on {date}: {tenor} {rate:g} and {neighbour} {beside:g} are {100 * abs(rate - beside):.1f} points apart, more than the "
                f"{100 * step:g} allowed between neighbouring tenors (a percentage typed as a number?)"
            )
            slips += [slip for slip in (typed_percentage(code, tenor, rate, beside, f"its neighbour {neighbour}"),) if slip]
    if previous is None or not 0 < business_days_between(previous.business_date, business_date) <= PREVIOUS_NIGHT_LAG:
        return problems, steps, slips
    before = {years: rate for years, rate in previous.points.get(code, [])}
    for years, rate, tenor in points:
        if years in before and abs(rate - before[years]) > step:
            steps.append(
                f"{code} {tenor} on {date}: {rate:g}, {100 * abs(rate - before[years]):.1f} points from {before[years]:g} the night of "
                f"{previous.business_date}, more than the {100 * step:g} allowed (a percentage typed as a number?)"
            )
            slips += [slip for slip in (typed_percentage(code, tenor, rate, before[years], f"its night before ({previous.business_date})"),) if slip]
    return problems, steps, slips


class RatesRejected(FileRejected):
    """The night's rates file is missing or cannot be used: the night is refused with it."""

    def __init__(self, key: str, checksum: str, error: InputError) -> None:
        super().__init__("rates", error)
        self.key, self.checksum = key, checksum


def night_rates(
    s3: Any,
    bucket: str,
    prefix: str,
    business_date: str,
    policy: DataQualityPolicy,
    previous: PreviousCurves | None = None,
    accepted: dict[str, list[dict[str, Any]]] | None = None,
) -> tuple[RateCurves, dict[str, Any]]:
    """The night's rates file read and validated under the data-quality policy (and against the night before's curves, when
    stored; `accepted`: the date's sign-offs of curves refused for their steps): its curves and source (uri, checksum, the S3
    version read, so a restatement after the file is overwritten still names the bytes this run used; the currencies refused
    with why, those a sign-off may accept with their curve, those used on a sign-off); RatesRejected when the file cannot be
    used at all."""
    for name in RATES_FILES:
        key = f"{prefix}{business_date}/{name}"
        if exists(s3, bucket, key):
            data, version_id, _ = get_read(s3, bucket, key)
            checksum = hashlib.sha256(data).hexdigest()
            try:
                table, date = read_table(data, key, RATE_COLUMNS), dt.date.fromisoformat(business_date)
                curves = parse_rates(table, key, date, policy.max_market_lag_days, policy.rate_bands, policy.rate_steps, previous, accepted)
            except InputError as error:
                raise RatesRejected(key, checksum, error) from error
            source = {"uri": f"s3://{bucket}/{key}", "sha256": checksum, "version_id": version_id, "refused": curves.refused, "flagged": curves.flagged}
            return curves, source | {"acceptable": curves.acceptable, "accepted": curves.accepted, "mistyped": curves.mistyped}
    key = f"{prefix}{business_date}/{RATES_FILES[0]}"
    missing = InputError(key, [f"no rates file ({' or '.join(RATES_FILES)}) for {business_date}: rates are a required input of the night, never assumed"])
    raise RatesRejected(key, hashlib.sha256(b"").hexdigest(), missing)


def option_currencies(underlying: str, currency: str) -> list[str]:
    """The currencies whose rates price an option: an FX option's quote (domestic) and base (foreign), else its own."""
    pair = FX_FACTOR.match(underlying)
    return [pair.group(2), pair.group(1)] if pair else [currency]


def exclude_options_without_rates(night: PreparedNight, curves: RateCurves, positions_name: str, allow_empty_book: bool = False) -> PreparedNight:
    """The night less its options in a currency the rates file does not cover (or whose curve it refused), each excluded with
    the reason; a refused curve is a data-quality finding (check `rates`) whether or not an option needed it, and so is (flagged)
    a usable curve's bad rows of earlier dates, and (flagged) a curve used on a named sign-off, with who, when and why.
    No position left rejects the positions file, unless `allow_empty_book`."""
    positions, market = night.positions, night.market
    findings = [
        FactorFinding(code, "rates", f"curve refused, its options excluded: {'; '.join(problems)}", "exclude") for code, problems in curves.refused.items()
    ] + [
        FactorFinding(
            code,
            "rates",
            f"curve refused for its steps, used as accepted by {sign_off['signed_off_by']} on {sign_off['signed_off_at']}: {sign_off['reason']} "
            f"(refused for: {'; '.join(sign_off['overrode'])})",
            "flag",
        )
        for code, sign_off in curves.accepted.items()
    ] + [
        FactorFinding(code, "rates", f"rows of earlier dates set aside, its last date's curve used: {'; '.join(problems)}", "flag")
        for code, problems in curves.flagged.items()
    ]
    night = dataclasses.replace(night, findings=[*night.findings, *findings]) if findings else night
    reasons = []
    found: dict[tuple[str, str], str] = {}  # the reason depends on the kind and the underlying alone: found once for each
    for key in zip(positions["instrument_type"].to_pylist(), positions["underlying"].to_pylist(), strict=True):
        if key in found:
            reasons.append(found[key])
            continue
        row = dict(zip(("instrument_type", "underlying"), key, strict=True))
        lacking = []
        if row["instrument_type"] == "option":
            currencies = option_currencies(row["underlying"], market.currency(row["underlying"], night.reporting_currency))
            lacking = [code for code in currencies if code not in curves.points]
        refused_text = "".join(f" ({code}'s curve refused: {curves.refused[code][0]})" for code in lacking if code in curves.refused)
        found[key] = (
            f"no dated rate for {', '.join(lacking)} in the night's rates file{refused_text}: an option is never priced at an assumed rate" if lacking else ""
        )
        reasons.append(found[key])
    refused = np.array([bool(reason) for reason in reasons], dtype=bool)
    if not refused.any():
        return night
    rows = excluded_rows(positions, refused, reasons, market)
    rows = [dataclasses.replace(row, notional=notional_in(row, market, market, night.reporting_currency)) for row in rows]
    kept = positions.filter(pa.array(~refused))
    if kept.num_rows == 0 and not allow_empty_book:
        raise FileRejected("positions", InputError(positions_name, [f"no valid position: all excluded, e.g. {rows[0].reason}"]))
    return dataclasses.replace(night, positions=kept, excluded=[*night.excluded, *rows])

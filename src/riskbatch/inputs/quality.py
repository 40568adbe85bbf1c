"""Data quality of a night's inputs: which factors and positions the night can use, and why not.

Checks per factor the night uses (factors no position needs are ignored):

- a complete history over the file's dates (a factor with a gap is excluded);
- the history length: at least `min_returns` daily returns (fewer rejects the market file);
- stale prices: a run of `stale_days` or more identical prices; zero returns: `zero_return_share` of days or more;
- jumps: a return further than `jump_sigmas` robust standard deviations (MAD) from the median.

Each of the last three has a policy: `reject` the market file, `exclude` the factor (and its positions), or `flag` it.

Before these checks, two rules make the history usable:

- calendars: a factor without a price on some dates of the file (a local holiday) has a gap of
  up to `max_gap_days` consecutive dates bridged: its last price is carried over the gap (or
  forward to the window's end, or back to its start), flagged, check `gap`; a short history (a
  new listing) takes its configured proxy's returns (check `proxy`) or is excluded with the
  reason (check `short_history`); a longer gap is excluded. The rules: riskbatch.inputs.history_gaps.
- cleaning (first, on every factor of the file, a holiday carried over): bad ticks that revert, and splits a
  corporate-actions record confirms, are cleaned anywhere in the window, recorded and kept between nights
  (riskbatch.inputs.cleaning); the calendars' rules then run on the cleaned prices.
- the last day: the price the night revalues from. A last return further than `jump_sigmas`
  robust standard deviations from the factor's median return is a jump, and `last_day_jump`
  decides: `hold` (default) holds the factor at its previous close for tonight only when a second source's
  price or its own size (beyond the cleaning standard's `implausible_ratio`) contradicts it; any other jump is
  a genuine move: flagged and used (the market's crash is tonight's price, and the backtest's move). `exclude` drops the jumping factor's
  positions, `reject` refuses the file, `flag` lets every jump through. A held factor is on the
  report's first page, with the value it would have added, and alerted; the next night's cleaning settles it.

Excluded positions carry their notional in the reporting currency at the night's rates, or `None` (unknown), never zero
(the conversions: riskbatch.inputs.currencies)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from riskbatch.inputs.cleaning import Cleaning, CleaningPolicy, as_records, clean_history, contradiction, unapplied_actions
from riskbatch.inputs.currencies import (
    _exclude_unconvertible,
    conversion_path,
    currency_column_problems,
    currency_problems,
    factors_of_positions,
    market_as_table,
    notional_in,
    rate_into,
)
from riskbatch.inputs.factor_exclusions import excluded_by_factor
from riskbatch.inputs.files import FX_FACTOR, ExcludedRow, InputError, Market, PlausibilityBands, excluded_rows, load_market, validate_positions
from riskbatch.inputs.history_gaps import FactorFinding, complete_histories, proxy_hedges
from riskbatch.inputs.plausibility import dividend_findings, exclude_outsized

POLICIES = ("reject", "exclude", "flag")
LAST_DAY_POLICIES = ("hold", "exclude", "flag", "reject")


@dataclass(frozen=True)
class DataQualityPolicy:
    min_returns: int = 250
    max_market_lag_days: int = 0  # business days between the last market date and the business date
    stale_days: int = 10
    zero_return_share: float = 0.5
    jump_sigmas: float = 10.0
    stale: str = "flag"
    zero_returns: str = "exclude"
    jump: str = "flag"
    last_day_jump: str = "hold"
    max_gap_days: int = 3  # consecutive dates of the file a factor may miss and be bridged
    # Plausibility bands of an option's inputs: outside them a position is excluded with its reason (an implied vol of 20).
    implied_vol_band: tuple[float, float] = (0.01, 3.0)
    strike_to_spot_band: tuple[float, float] = (0.1, 10.0)
    # A factor's dividend yield and a position's notional against its portfolio's median (riskbatch.inputs.plausibility).
    dividend_yield_band: tuple[float, float] = (0.0, 0.15)
    quantity_to_usual_max: float = 1000.0
    # Above this share of a portfolio's notional excluded, its figure is flagged as low (riskbatch.reporting.coverage).
    excluded_notional_share_flag: float = 0.25
    # the band's lower side (a quantity typed in thousands); 0, none: a manifest of a version without it reproduces as it ran
    quantity_to_usual_min: float = 0.0
    # A short history's (or the stressed VaR's) factor -> the index or sector factor standing in (riskbatch.inputs.history_gaps).
    proxies: dict[str, str] = field(default_factory=dict)
    # The plausible rates of the rates file (riskbatch.inputs.rates): `default`, and per-currency overrides (TRY, ARS).
    rate_bands: dict[str, tuple[float, float]] = field(default_factory=lambda: {"default": (-0.05, 0.25)})
    # The most a rate may differ from its neighbouring tenor's, or from its own the night before: `default` and per-currency overrides.
    rate_steps: dict[str, float] = field(default_factory=lambda: {"default": 0.05})

    def rate_band(self, currency: str) -> tuple[float, float]:
        """The plausible rates of a currency: its own band where the configuration gives one, else the default."""
        return self.rate_bands.get(currency, self.rate_bands["default"])

    def __post_init__(self) -> None:
        object.__setattr__(self, "proxies", {str(name): str(proxy) for name, proxy in dict(self.proxies).items()})
        object.__setattr__(self, "rate_bands", {str(code): (float(band[0]), float(band[1])) for code, band in dict(self.rate_bands).items()})
        object.__setattr__(self, "rate_steps", {str(code): float(step) for code, step in dict(self.rate_steps).items()})
        bands_ok = "default" in self.rate_bands and all(-1.0 <= low < high <= 5.0 for low, high in self.rate_bands.values())
        if not bands_ok or "default" not in self.rate_steps or not all(0.0 < step <= 5.0 for step in self.rate_steps.values()):
            raise ValueError(f"rate_bands: a default, -1 <= low < high <= 5; rate_steps: a default, in (0, 5]; not {self.rate_bands}, {self.rate_steps}")
        for name in ("implied_vol_band", "strike_to_spot_band"):
            low, high = (float(bound) for bound in getattr(self, name))
            if not 0.0 < low < high:
                raise ValueError(f"the {name} is two bounds 0 < low < high, not {getattr(self, name)!r}")
            object.__setattr__(self, name, (low, high))
        low, high = (float(bound) for bound in self.dividend_yield_band)
        if not -1.0 <= low < high <= 1.0 or not self.quantity_to_usual_max > 1.0 or not 0.0 <= self.quantity_to_usual_min < 1.0:
            raise ValueError("the dividend_yield_band is -1 <= low < high <= 1, quantity_to_usual_max above 1, quantity_to_usual_min in [0, 1) (0: none)")
        object.__setattr__(self, "dividend_yield_band", (low, high))
        for name in ("stale", "zero_returns", "jump"):
            if getattr(self, name) not in POLICIES:
                raise ValueError(f"the {name} policy is one of {', '.join(POLICIES)}, not {getattr(self, name)!r}")
        if self.last_day_jump not in LAST_DAY_POLICIES:
            raise ValueError(f"the last_day_jump policy is one of {', '.join(LAST_DAY_POLICIES)}, not {self.last_day_jump!r}")
        if self.min_returns < 2 or self.max_market_lag_days < 0 or self.stale_days < 2 or self.max_gap_days < 0:
            raise ValueError("min_returns >= 2, max_market_lag_days >= 0, stale_days >= 2 and max_gap_days >= 0")
        if not 0.0 < self.excluded_notional_share_flag < 1.0:
            raise ValueError(f"the excluded_notional_share_flag lies in (0, 1), not {self.excluded_notional_share_flag!r}")
        if not 0.0 < self.zero_return_share <= 1.0 or self.jump_sigmas <= 0:
            raise ValueError("zero_return_share lies in (0, 1] and jump_sigmas is positive")


@dataclass(frozen=True)
class HeldPrice:
    """A suspect last price the night did not use: the factor held at its previous close."""

    factor: str
    date: str
    published: float
    held_at: float
    move: float  # the suspect log return
    positions: int
    value_effect: float  # what the published price would have added to those positions' value, reporting currency


@dataclass(frozen=True)
class PreparedNight:
    """What the night runs on: complete factors, valid positions, and what was left out and why."""

    market: Market
    market_table: pa.Table
    positions: pa.Table
    excluded: list[ExcludedRow]
    findings: list[FactorFinding] = field(default_factory=list)
    held: list[HeldPrice] = field(default_factory=list)
    reporting_currency: str = "USD"
    untrusted_last_day: list[str] = field(default_factory=list)  # factors of the file whose last price is suspect (held or excluded)
    whole_market: Market | None = None  # every factor of the file as published, cleaned: the backtest of the previous night's book reads its moves
    cleanings: list[Cleaning] = field(default_factory=list)  # the cleaning ledger in force tonight (recorded ones, then tonight's)

    def summary(self) -> dict[str, Any]:
        """The data-quality record kept with the run (manifest and report)."""
        known = [row.notional for row in self.excluded if row.notional is not None]
        return {
            "market_as_of": self.market.as_of.isoformat(),
            "returns": len(self.market.dates) - 1,
            "factors_used": len(self.market.factors),
            "excluded_positions": len(self.excluded),
            "excluded_notional": float(sum(known)),
            "excluded_notional_currency": self.reporting_currency,
            "excluded_notional_unknown": len(self.excluded) - len(known),
            "excluded": [asdict(row) for row in self.excluded],
            "findings": [asdict(finding) for finding in self.findings],
            "held_last_prices": [asdict(held) for held in self.held],
            "untrusted_last_day": list(self.untrusted_last_day),
            "cleanings": as_records(self.cleanings),
        }


def excluded_notional_text(summary: dict[str, Any]) -> str:
    """The excluded notional in words: the known amount in the reporting currency, and how many are unknown."""
    text = f"{summary['excluded_notional']:,.0f} {summary.get('excluded_notional_currency', '')}".rstrip()
    unknown = summary.get("excluded_notional_unknown", 0)
    positions = f"{unknown:,} position{'' if unknown == 1 else 's'}"
    return text + (f", and {positions} of unknown notional (no last price or no rate)" if unknown else "")


class FileRejected(Exception):
    """One of the night's files cannot be used at all; `role` names it (positions or market)."""

    def __init__(self, role: str, error: InputError) -> None:
        super().__init__(str(error))
        self.role, self.error = role, error


def _longest_flat_run(prices: np.ndarray) -> int:
    """The most consecutive days with the same price."""
    changes = np.flatnonzero(np.diff(prices) != 0.0)
    # runs end where the price changes; their lengths are the gaps between changes
    edges = np.concatenate([[-1], changes, [len(prices) - 1]])
    return int(np.max(np.diff(edges)))


def assess_factor(name: str, prices: np.ndarray, dates: list[dt.date], policy: DataQualityPolicy) -> list[FactorFinding]:
    """The findings of one factor's history (complete or not)."""
    present = np.isfinite(prices)
    if not present.all():
        first_gap = dates[int(np.flatnonzero(~present)[0])]
        return [FactorFinding(name, "history", f"{int(present.sum())} of {len(prices)} days have a usable price (first gap {first_gap})", "exclude")]
    if FX_FACTOR.match(name) and np.all(prices == prices[0]):  # a hard peg: a constant, not a stale or dead price
        return [FactorFinding(name, "peg", f"constant at {prices[0]:g} over the {len(prices)} days: a hard peg, kept constant (zero variance)", "flag")]
    findings = []
    returns = np.diff(np.log(prices))
    flat = _longest_flat_run(prices)
    if flat >= policy.stale_days:
        findings.append(FactorFinding(name, "stale", f"the same price on {flat} days in a row", policy.stale))
    zero_share = float(np.mean(returns == 0.0))
    if zero_share >= policy.zero_return_share:
        findings.append(FactorFinding(name, "zero_returns", f"no move on {zero_share:.0%} of {len(returns)} days", policy.zero_returns))
    scale = _robust_scale(returns)
    if scale is not None:
        median, robust_sigma = scale
        worst = int(np.argmax(np.abs(returns - median)))
        score = abs(returns[worst] - median) / robust_sigma
        if score > policy.jump_sigmas:
            detail = f"a move of {np.expm1(returns[worst]):+.1%} on {dates[worst + 1]}, {score:.0f} robust standard deviations (a split or a bad tick?)"
            findings.append(FactorFinding(name, "jump", detail, policy.jump))
    return findings


def _robust_scale(returns: np.ndarray) -> tuple[float, float] | None:
    """The median and the robust standard deviation (1.4826 x MAD) of the days that moved; None when too few moved."""
    moving = returns[returns != 0.0]
    if len(moving) < 2:
        return None
    median = float(np.median(moving))
    sigma = 1.4826 * float(np.median(np.abs(moving - median)))
    return (median, sigma) if sigma > 0 else None


def last_day_check(
    prices: np.ndarray,
    market: Market,
    factors: list[str],
    policy: DataQualityPolicy,
    cleaning: CleaningPolicy | None = None,
    second_source: dict[str, float] | None = None,
) -> list[FactorFinding]:
    """A finding per factor whose last return is a jump; under `hold` a contradicted one's last price
    is set to the last trusted close in `prices` (in place), any other is flagged and used."""
    cleaning = cleaning or CleaningPolicy(jump_sigmas=policy.jump_sigmas)
    findings = []
    for name in factors:
        column = prices[:, market.index[name]]
        if not np.all(np.isfinite(column)):
            continue
        returns = np.diff(np.log(column))
        scale = _robust_scale(returns[:-1])
        if scale is None:
            continue
        score = abs(returns[-1] - scale[0]) / scale[1]
        if score <= policy.jump_sigmas:
            continue
        detail = f"the last price {column[-1]:g} on {market.dates[-1]} is a move of {np.expm1(returns[-1]):+.1%} from {column[-2]:g}"
        detail += f", {score:.0f} robust standard deviations"
        why = contradiction(name, float(column[-1]), float(column[-2]), cleaning, second_source) if policy.last_day_jump == "hold" else None
        if policy.last_day_jump == "hold" and why is None:
            detail += "; nothing contradicts it (no reversal, no second source, a plausible size): a genuine move, used"
            findings.append(FactorFinding(name, "last_day_jump", detail, "flag"))
            continue
        if policy.last_day_jump == "hold":
            detail += f"; contradicted: {why}"
            # the last trusted close: a previous close reached by a jump of its own is last night's
            # fat finger left in the vendor's history, never a price to hold at
            trusted = len(column) - 2
            while trusted > 0 and abs(returns[trusted - 1] - scale[0]) / scale[1] > policy.jump_sigmas:
                trusted -= 1
            held = "the previous close" if trusted == len(column) - 2 else f"the last trusted close, of {market.dates[trusted]},"
            detail += f"; held at {held} {column[trusted]:g}"
            column[-1] = column[trusted]
        findings.append(FactorFinding(name, "last_day_jump", detail, policy.last_day_jump))
    return findings


def prepare_night(
    market_table: pa.Table,
    market_name: str,
    positions_table: pa.Table,
    positions_name: str,
    business_date: dt.date,
    policy: DataQualityPolicy,
    reporting_currency: str,
    cleaning: CleaningPolicy | None = None,
    ledger: Sequence[Cleaning | dict[str, Any]] = (),
    second_source: dict[str, float] | None = None,
    corporate_actions: dict[str, dict[str, float]] | None = None,
    allow_empty_book: bool = False,
) -> PreparedNight:
    """Validate the night's two files together: reject a file, exclude rows and factors, flag the rest.
    `ledger` is the cleanings kept from the previous night; `second_source` another vendor's last prices;
    `corporate_actions` factor -> {effective day: ratio}, what confirms a split (riskbatch.inputs.cleaning);
    `allow_empty_book`: every row excluded makes a night without a figure (the reasons published), not a rejected positions file."""
    cleaning = cleaning or CleaningPolicy(jump_sigmas=policy.jump_sigmas)
    try:
        market = load_market(market_table, market_name, business_date, policy.max_market_lag_days)
        returns = len(market.dates) - 1
        problems = currency_problems(market) + currency_column_problems(market_table, market)
        if returns < policy.min_returns:
            problems.append(f"only {returns} daily returns of history; at least {policy.min_returns} are required")
        if problems:
            raise InputError(market_name, problems)
    except InputError as error:
        raise FileRejected("market", error) from error
    try:
        bands = PlausibilityBands(policy.implied_vol_band, policy.strike_to_spot_band)
        checked = validate_positions(positions_table, positions_name, market, business_date, bands, allow_empty_book)
    except InputError as error:
        raise FileRejected("positions", error) from error
    positions, excluded = _exclude_unconvertible(checked, market, reporting_currency)
    positions, outsized = exclude_outsized(positions, market, reporting_currency, policy.quantity_to_usual_max, policy.quantity_to_usual_min)
    excluded += outsized
    rows = positions.select(["portfolio_id", "underlying", "vol_factor"]).to_pylist()  # what the factors and the proxy hedges read
    needs = factors_of_positions(market, rows, reporting_currency)
    used = sorted({factor for factors in needs for factor in factors})
    # the whole file cleaned first, each factor on its own prices (a holiday carried over, no price kept
    # as none): the stored copy and the backtest read the cleaned moves, and a short history's proxy
    # is scaled on cleaned prices; then gaps bridged, ends carried, short histories proxied or refused
    whole, cleanings = clean_history(market, market.prices, market.factors, cleaning, ledger, corporate_actions=corporate_actions)
    prices, findings = complete_histories(whole, market.dates, market.index, used, policy.max_gap_days, policy.proxies)
    findings += [FactorFinding(item.factor, "cleaned", f"{item.rule}: {item.detail} (recorded {item.made_on})", "flag") for item in cleanings]
    findings += [
        FactorFinding(name, "corporate_action", f"the record of a split of ratio {ratio:g} effective {day} is not applied: {why}", "flag")
        for name, day, ratio, why in unapplied_actions(market, corporate_actions, cleanings, whole, cleaning)
    ]
    findings += last_day_check(prices, market, used, policy, cleaning, second_source)
    findings += dividend_findings(market, used, policy.dividend_yield_band)
    published, market = dataclasses.replace(market, prices=whole), dataclasses.replace(market, prices=prices)
    refused_gaps = {finding.factor for finding in findings if finding.check in {"gap", "short_history"} and finding.action == "exclude"}
    refused_gaps |= {finding.factor for finding in findings if finding.check == "dividend_yield"}
    for factor in used:
        if factor not in refused_gaps:
            findings += assess_factor(factor, market.prices[:, market.index[factor]], market.dates, policy)
    rejecting = [f"{finding.factor}: {finding.detail} ({finding.check}; policy reject)" for finding in findings if finding.action == "reject"]
    if rejecting:
        raise FileRejected("market", InputError(market_name, rejecting))
    dropped = {finding.factor: f"{finding.factor} excluded: {finding.detail}" for finding in findings if finding.action == "exclude"}
    keep, reasons = excluded_by_factor(needs, dropped)
    findings += proxy_hedges(findings, [row["portfolio_id"] if ok else None for row, ok in zip(rows, keep, strict=True)], needs, policy.proxies)
    excluded += excluded_rows(positions, ~keep, reasons, published)  # at the published prices, as every excluded row
    positions = positions.filter(pa.array(keep))
    if positions.num_rows == 0 and not allow_empty_book:
        raise FileRejected("positions", InputError(positions_name, [f"no valid position: all {len(excluded)} excluded, e.g. {excluded[0].reason}"]))
    kept = sorted({factor for factors, ok in zip(needs, keep, strict=True) if ok for factor in factors})
    tonight = market.restricted(kept)
    excluded = [dataclasses.replace(row, notional=notional_in(row, published, market, reporting_currency)) for row in excluded]
    last_day = [finding for finding in findings if finding.check == "last_day_jump"]
    held = [_held_price(finding.factor, published, market, positions, reporting_currency) for finding in last_day if finding.action == "hold"]
    untrusted = {finding.factor for finding in last_day if finding.action in {"hold", "exclude"}}
    if policy.last_day_jump in {"hold", "exclude"}:
        # the factors tonight's book does not use still give the backtest its moves: a suspect last price gives none
        others = [name for name in published.factors if name not in set(used)]
        checked = last_day_check(published.prices.copy(), published, others, policy, cleaning, second_source)
        untrusted |= {finding.factor for finding in checked if finding.action in {"hold", "exclude"}}
    return PreparedNight(
        tonight, market_as_table(tonight), positions, excluded, findings, held, reporting_currency, sorted(untrusted), published, cleanings
    )


def _held_price(factor: str, published: Market, market: Market, positions: pa.Table, reporting: str) -> HeldPrice:
    """A held last price and its effect: what the published price would have added to the value
    of the night's positions on that underlying (quantity x multiplier x the difference, converted)."""
    column = market.index[factor]
    on_it = [row for row in positions.to_pylist() if row["underlying"] == factor or row.get("vol_factor") == factor]
    rate = rate_into(market, market.currency(factor, reporting), reporting) or float("nan")
    difference = float(published.spot[column] - market.spot[column])
    effect = sum(row["quantity"] * (row.get("multiplier") or 1.0) * difference * rate for row in on_it if row["underlying"] == factor)
    translated = _translated_through(factor, published, market, positions, reporting)
    return HeldPrice(
        factor=factor,
        date=market.as_of.isoformat(),
        published=float(published.spot[column]),
        held_at=float(market.spot[column]),
        move=float(np.log(published.spot[column] / market.spot[column])),
        positions=len(on_it) + len(translated),
        value_effect=float(effect + sum(translated)),
    )


def _translated_through(factor: str, published: Market, market: Market, positions: pa.Table, reporting: str) -> list[float]:
    """What a held FX rate's published price would have added to each equity whose currency converts through
    it (its value in its own currency times the change of its rate into the reporting currency). Options on
    such underlyings are not counted: their value needs a revaluation, not a notional."""
    if not FX_FACTOR.match(factor):
        return []
    found = []
    for row in positions.to_pylist():
        if row["underlying"] == factor or row["instrument_type"] != "equity":  # an FX position's cash leg offsets its rate change
            continue
        currency = market.currency(row["underlying"], reporting)
        try:
            path = conversion_path(market, currency, reporting)
        except KeyError:
            continue
        if factor in {name for name, _ in path}:
            local = row["quantity"] * (row.get("multiplier") or 1.0) * float(market.spot[market.index[row["underlying"]]])
            found.append(local * ((rate_into(published, currency, reporting) or np.nan) - (rate_into(market, currency, reporting) or np.nan)))
    return found

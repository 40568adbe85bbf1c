"""Data quality of a night's inputs: which factors and positions the night can use, and why not.

Checks per factor the night uses (factors no position needs are ignored):

- a complete history over the file's dates (a factor with a gap is excluded);
- the history length: at least `min_returns` daily returns (fewer rejects the market file);
- stale prices: a run of `stale_days` or more identical prices in a row;
- zero returns: a share of days without a move of `zero_return_share` or more;
- jumps: a return further than `jump_sigmas` robust standard deviations (MAD) from the median.

Each of the last three has a policy: `reject` the market file, `exclude` the factor (and so the
positions that need it, listed with their notional), or `flag` it in the report.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .inputs import FX_FACTOR, CheckedPositions, ExcludedRow, InputError, Market, excluded_rows, load_market, validate_positions

POLICIES = ("reject", "exclude", "flag")


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

    def __post_init__(self) -> None:
        for name in ("stale", "zero_returns", "jump"):
            if getattr(self, name) not in POLICIES:
                raise ValueError(f"the {name} policy is one of {', '.join(POLICIES)}, not {getattr(self, name)!r}")
        if self.min_returns < 2 or self.max_market_lag_days < 0 or self.stale_days < 2:
            raise ValueError("min_returns >= 2, max_market_lag_days >= 0 and stale_days >= 2")
        if not 0.0 < self.zero_return_share <= 1.0 or self.jump_sigmas <= 0:
            raise ValueError("zero_return_share lies in (0, 1] and jump_sigmas is positive")

    @classmethod
    def from_env(cls) -> DataQualityPolicy:
        defaults = cls()
        return cls(
            min_returns=int(os.environ.get("RISK_MIN_RETURNS", defaults.min_returns)),
            max_market_lag_days=int(os.environ.get("RISK_MAX_MARKET_LAG_DAYS", defaults.max_market_lag_days)),
            stale_days=int(os.environ.get("RISK_STALE_DAYS", defaults.stale_days)),
            zero_return_share=float(os.environ.get("RISK_ZERO_RETURN_SHARE", defaults.zero_return_share)),
            jump_sigmas=float(os.environ.get("RISK_JUMP_SIGMAS", defaults.jump_sigmas)),
            stale=os.environ.get("RISK_DQ_STALE", defaults.stale),
            zero_returns=os.environ.get("RISK_DQ_ZERO_RETURNS", defaults.zero_returns),
            jump=os.environ.get("RISK_DQ_JUMP", defaults.jump),
        )


@dataclass(frozen=True)
class FactorFinding:
    factor: str
    check: str  # history, stale, zero_returns, jump
    detail: str
    action: str  # exclude, flag (reject findings become the file's problems)


@dataclass(frozen=True)
class PreparedNight:
    """What the night runs on: complete factors, valid positions, and what was left out and why."""

    market: Market
    market_table: pa.Table
    positions: pa.Table
    excluded: list[ExcludedRow]
    findings: list[FactorFinding] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The data-quality record kept with the run (manifest and report)."""
        notional = sum(row.notional or 0.0 for row in self.excluded)
        return {
            "market_as_of": self.market.as_of.isoformat(),
            "returns": len(self.market.dates) - 1,
            "factors_used": len(self.market.factors),
            "excluded_positions": len(self.excluded),
            "excluded_notional": notional,
            "excluded": [asdict(row) for row in self.excluded],
            "findings": [asdict(finding) for finding in self.findings],
        }


class FileRejected(Exception):
    """One of the night's files cannot be used at all; `role` names it (positions or market)."""

    def __init__(self, role: str, error: InputError) -> None:
        super().__init__(str(error))
        self.role, self.error = role, error


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
    raise KeyError(f"no FX rate FX_{currency}{reporting} or FX_{reporting}{currency}, nor a cross through a common currency, in the market data")


def factors_of_position(market: Market, row: dict[str, Any], reporting: str) -> list[str]:
    """The factors a position's value depends on: its underlying, its vol factor, its currency's rate(s)."""
    needed = [row["underlying"]]
    if row.get("vol_factor"):
        needed.append(row["vol_factor"])
    needed += [name for name, _ in conversion_path(market, market.currency(row["underlying"], reporting), reporting)]
    return needed


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
    findings = []
    returns = np.diff(np.log(prices))
    flat = _longest_flat_run(prices)
    if flat >= policy.stale_days:
        findings.append(FactorFinding(name, "stale", f"the same price on {flat} days in a row", policy.stale))
    zero_share = float(np.mean(returns == 0.0))
    if zero_share >= policy.zero_return_share:
        findings.append(FactorFinding(name, "zero_returns", f"no move on {zero_share:.0%} of {len(returns)} days", policy.zero_returns))
    moving = returns[returns != 0.0]
    if len(moving) >= 2:
        median = float(np.median(moving))
        robust_sigma = 1.4826 * float(np.median(np.abs(moving - median)))
        if robust_sigma > 0:
            worst = int(np.argmax(np.abs(returns - median)))
            score = abs(returns[worst] - median) / robust_sigma
            if score > policy.jump_sigmas:
                detail = f"a move of {returns[worst]:+.1%} on {dates[worst + 1]}, {score:.0f} robust standard deviations (a split or a bad tick?)"
                findings.append(FactorFinding(name, "jump", detail, policy.jump))
    return findings


def prepare_night(
    market_table: pa.Table,
    market_name: str,
    positions_table: pa.Table,
    positions_name: str,
    business_date: dt.date,
    policy: DataQualityPolicy,
    reporting_currency: str,
) -> PreparedNight:
    """Validate the night's two files together: reject a file, exclude rows and factors, flag the rest."""
    try:
        market = load_market(market_table, market_name, business_date, policy.max_market_lag_days)
        returns = len(market.dates) - 1
        problems = currency_problems(market)
        if returns < policy.min_returns:
            problems.append(f"only {returns} daily returns of history; at least {policy.min_returns} are required")
        if problems:
            raise InputError(market_name, problems)
    except InputError as error:
        raise FileRejected("market", error) from error
    try:
        checked = validate_positions(positions_table, positions_name, market, business_date)
    except InputError as error:
        raise FileRejected("positions", error) from error
    positions, excluded = _exclude_unconvertible(checked, market, reporting_currency)
    rows = positions.to_pylist()
    needs = [factors_of_position(market, row, reporting_currency) for row in rows]
    used = sorted({factor for factors in needs for factor in factors})
    findings = [finding for factor in used for finding in assess_factor(factor, market.prices[:, market.index[factor]], market.dates, policy)]
    rejecting = [f"{finding.factor}: {finding.detail} ({finding.check}; policy reject)" for finding in findings if finding.action == "reject"]
    if rejecting:
        raise FileRejected("market", InputError(market_name, rejecting))
    dropped = {finding.factor: f"{finding.factor} excluded: {finding.detail}" for finding in findings if finding.action == "exclude"}
    keep = np.array([not any(factor in dropped for factor in factors) for factors in needs])
    reasons = ["; ".join(dropped[factor] for factor in factors if factor in dropped) for factors in needs]
    excluded += excluded_rows(positions, ~keep, reasons, market)
    positions = positions.filter(pa.array(keep))
    if positions.num_rows == 0:
        raise FileRejected("positions", InputError(positions_name, [f"no valid position: all {len(excluded)} excluded, e.g. {excluded[0].reason}"]))
    kept = sorted({factor for factors, ok in zip(needs, keep, strict=True) if ok for factor in factors})
    kept_table = market_table.filter(pc.is_in(market_table["factor"], value_set=pa.array(kept)))
    return PreparedNight(market.restricted(kept), kept_table, positions, excluded, findings)


def _exclude_unconvertible(checked: CheckedPositions, market: Market, reporting: str) -> tuple[pa.Table, list[ExcludedRow]]:
    """Positions whose currency has no FX rate into the reporting currency are excluded with the reason."""
    positions, excluded = checked.valid, list(checked.excluded)
    reasons = []
    for underlying in positions["underlying"].to_pylist():
        currency = market.currency(underlying, reporting)
        try:
            conversion_path(market, currency, reporting)
            reasons.append("")
        except KeyError as missing:
            reasons.append(f"in {currency}: {missing.args[0]}")
    unconvertible = np.array([bool(reason) for reason in reasons])
    if unconvertible.any():
        excluded += excluded_rows(positions, unconvertible, reasons, market)
        positions = positions.filter(pa.array(~unconvertible))
    return positions, excluded


def currency_problems(market: Market) -> list[str]:
    """An FX factor whose stated currency is not its quote currency contradicts the convention."""
    problems = []
    for name, stated in zip(market.factors, market.currencies, strict=True):
        pair = FX_FACTOR.match(name)
        if pair and stated and stated != pair.group(2):
            problems.append(f"{name} is quoted in {pair.group(2)} (FX_<BASE><QUOTE>), but its currency column says {stated}")
    return problems

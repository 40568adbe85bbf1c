"""The market history cleaned once, by a written standard, with every cleaning recorded.

A vendor's history is not corrected by the vendor: a bad tick (one price x100) stays in it for a
year, and an unadjusted split halves a price for good. Both are found anywhere in the window, not
only on the last day, by two rules on each factor's daily log returns r (robust scale: the median
and 1.4826 x MAD of the days that moved, as the jump check's):

- `spike_and_revert`: r_t and r_t+1 both further than `jump_sigmas` robust standard deviations
  from the median, of opposite signs, and |r_t + r_t+1| at most `revert_share` of the smaller of
  the two (the price went away and came back). The price of day t is replaced by the geometric
  mean of its neighbours: the two days' move is split evenly, never lost nor doubled.
- `split` (an unadjusted corporate action): an independent record (the night's corporate actions:
  factor, effective day, ratio k, any positive ratio but 1) names the day, r_t is nearer the recorded
  split than no split: |r_t + log k| < |log k| / 2, and the record explains the move: dividing it out
  brings the day more than `jump_sigmas` / 2 robust standard deviations nearer the median,
  sigmas(r_t) - sigmas(r_t + log k) > jump_sigmas / 2 (a ratio near 1 divided out of a usual move would
  put a fake move in the history: such a record is reported with what it divides out). The day need not
  be a jump: a 2:1 split of a stock moving 7-10 % a day is 7-10 robust standard deviations, and the
  halving is what the record explains. The prices before it are divided by the record's k (back-adjusted), so the
  history is in today's units, and the residual r_t + log k is the day's genuine move, kept as its
  return (a jump is flagged by the jump check, as any move): a quiet stock's +8 % on a 1:10 reverse
  split is a split and a move, not a reason to leave the x10 price in the history; a residual that is
  itself a jump is kept on the record (`leftover_jump`: a mistyped ratio?) for page one. A record whose
  day did not move by the ratio (|r_t| < |log k| / 2: the vendor's history is already adjusted) is
  not applied, or it would adjust the history twice; nor is one the move contradicts (nearer
  neither); both are reported with the reason. A split ratio alone proves
  nothing: a single name that falls 50 % (or 67, 75, 80, 90 %) and stays down, or doubles, is the
  market's move until confirmed; it is flagged (the jump check) and used, never rescaled. A record
  outside the window is never applied, and reported. FX factors (FX_CCY1CCY2) never split.
- a day on which `market_wide_factors` (four) of the file's factors jump is the market's,
  not a vendor's error: nothing on it is cleaned (a crash and its rebound are both used).

Every factor of the file is cleaned on its own prices, a day without a price (a local holiday)
carried over (one return across it) and kept without a price in what is returned, a new listing from
its first price: the stored copy of the file then carries the cleaning whatever gaps the factor has.

Each cleaning is a `Cleaning` record: factor, day, raw and cleaned value, the rule, and the night
that made it. The records are kept between nights (the ledger: the previous run's manifest's
`data_quality.cleanings`, carried forward by each night while the day is in the window): a
correction is made once, audited, and applied again as recorded on the nights after, when the
rule could no longer see it (a spike on the window's first day has no day before it). A record
whose raw value the vendor's history no longer holds (the vendor corrected it) is not applied
and drops out of the ledger.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from riskbatch.inputs.files import FX_FACTOR, Market

RULES = ("spike_and_revert", "split")


@dataclass(frozen=True)
class CleaningPolicy:
    """The cleaning standard's thresholds (model configuration, `cleaning`)."""

    jump_sigmas: float = 10.0  # a return this many robust standard deviations from the median is a jump
    revert_share: float = 0.2  # |r_t + r_t+1| at most this share of the smaller jump: a reversal
    split_tolerance: float = 0.02  # a second source's last price further than this (relative) contradicts the file's
    implausible_ratio: float = 3.0  # a last-day price ratio beyond this (or below its inverse) is no market move
    # a day on which this many factors jump is the market's: never cleaned. A count, not a share of the file: ten
    # equities crashing beside forty quiet currencies are a crash, however many currencies the file carries
    market_wide_factors: int = 4

    def __post_init__(self) -> None:
        if self.jump_sigmas <= 0 or not 0 < self.revert_share < 1 or not 0 < self.split_tolerance < 0.2:
            raise ValueError("jump_sigmas > 0, 0 < revert_share < 1 and 0 < split_tolerance < 0.2")
        if self.implausible_ratio <= 1.0:
            raise ValueError("the implausible ratio is above 1 (its inverse bounds a fall)")

    def implausible(self, price_ratio: float) -> bool:
        return not 1.0 / self.implausible_ratio <= price_ratio <= self.implausible_ratio


@dataclass(frozen=True)
class Cleaning:
    """One correction of the vendor's history, as recorded."""

    factor: str
    date: str  # the day whose price was cleaned (a split: its first day in the new units)
    raw: float  # the vendor's price (a split: the last close before it)
    cleaned: float  # the price used instead (a split: that close in the new units)
    rule: str  # spike_and_revert, split
    detail: str
    made_on: str  # the business date of the night that made it
    ratio: float | None = None  # a split's nominal ratio: the prices before `date` divided by it
    confirmed_by: str | None = None  # a split: the independent record that confirmed it (none: never applied)
    leftover_jump: float | None = None  # a split: the day's log move left once divided out, when that is itself a jump (a mistyped ratio?)


def robust_scale(returns: np.ndarray) -> tuple[float, float] | None:
    """The median and the robust standard deviation (1.4826 x MAD) of the days that moved; None when too few moved."""
    moving = returns[np.isfinite(returns) & (returns != 0.0)]
    if len(moving) < 2:
        return None
    median = float(np.median(moving))
    sigma = 1.4826 * float(np.median(np.abs(moving - median)))
    return (median, sigma) if sigma > 0 else None


def bridged(column: np.ndarray) -> tuple[int, np.ndarray] | None:
    """A factor's prices from its first one on, a day without a price (a local holiday) at the last
    price before it, and the row they start on; None when the factor has no price. The rules see
    one return across a gap; the stored copy keeps the gap (`clean_history`)."""
    present = np.isfinite(column) & (column > 0)
    if not present.any():
        return None
    first = int(np.argmax(present))
    last_seen = np.maximum.accumulate(np.where(present, np.arange(len(column)), 0))
    return first, column[last_seen][first:].copy()


def _same(a: float, b: float) -> bool:
    return bool(np.isclose(a, b, rtol=1e-9, atol=0.0))


def _apply_recorded(column: np.ndarray, dates: list[dt.date], records: list[Cleaning]) -> list[Cleaning]:
    """Apply a factor's recorded cleanings (in place); those still in force (in the window, raw value unchanged)."""
    if not records:
        return []  # most factors have none: no calendar of the window to build
    kept = []
    position = {day.isoformat(): row for row, day in enumerate(dates)}
    for record in records:  # in the order made: a later record was made on the history the earlier ones had cleaned
        row = position.get(record.date)
        if row is None:
            continue  # the day left the window (or the vendor dropped it)
        if record.rule == "split":
            if not record.confirmed_by:
                continue  # an unconfirmed split (an earlier standard's) may be a crash: never applied again
            if row == 0 or not _same(column[row - 1], record.raw):
                continue  # the vendor adjusted its history itself, or the day is the window's first
            column[:row] /= record.ratio
        else:
            if not _same(column[row], record.raw):
                continue  # the vendor corrected the tick
            column[row] = record.cleaned
        kept.append(record)
    return kept


def _jumps(column: np.ndarray, policy: CleaningPolicy) -> tuple[np.ndarray, np.ndarray] | None:
    """The daily log returns and which of them are jumps; None when the factor barely moves."""
    returns = np.diff(np.log(column))
    scale = robust_scale(returns)
    if scale is None:
        return None
    return returns, np.abs(returns - scale[0]) > policy.jump_sigmas * scale[1]


def market_days(prices: np.ndarray, columns: list[int], policy: CleaningPolicy) -> np.ndarray:
    """Per return, whether it is a market-wide day (a jump in at least `market_wide_factors` factors)."""
    counts = np.zeros(max(len(prices) - 1, 0))
    for column in columns:
        own = bridged(prices[:, column])
        found = _jumps(own[1], policy) if own is not None else None
        if found is not None:
            counts[own[0] :] += found[1]
    return counts >= policy.market_wide_factors


def _detect(
    name: str, column: np.ndarray, dates: list[dt.date], policy: CleaningPolicy, tonight: str, market_wide: np.ndarray, actions: Mapping[str, float]
) -> list[Cleaning]:
    """New cleanings of one factor's history (applied in place)."""
    found: list[Cleaning] = []
    pending = dict(actions)  # a record is applied once
    for _ in range(len(column)):  # each pass cleans one day; a history holds few
        moves = _jumps(column, policy)
        if moves is None:
            return found
        returns, jumps = moves[0], moves[1] & ~market_wide
        cleaning = _spike(name, column, dates, returns, jumps, policy, tonight) or _split(name, column, dates, returns, policy, tonight, pending)
        if cleaning is None:
            return found
        if cleaning.rule == "split":
            pending.pop(cleaning.date, None)
        found.append(cleaning)
    return found


def _spike(
    name: str, column: np.ndarray, dates: list[dt.date], returns: np.ndarray, jumps: np.ndarray, policy: CleaningPolicy, tonight: str
) -> Cleaning | None:
    for t in np.flatnonzero(jumps[:-1] & jumps[1:]).tolist():
        out, back = returns[t], returns[t + 1]
        if out * back < 0 and abs(out + back) <= policy.revert_share * min(abs(out), abs(back)):
            day, raw = t + 1, float(column[t + 1])
            cleaned = float(np.sqrt(column[t] * column[t + 2]))
            column[day] = cleaned
            detail = f"{raw:g} on {dates[day]} is a move of {np.expm1(out):+.1%} reverted the next day ({np.expm1(back):+.1%})"  # simple returns
            detail += f": replaced by {cleaned:g}, the geometric mean of its neighbours"
            return Cleaning(name, dates[day].isoformat(), raw, cleaned, "spike_and_revert", detail, tonight)
    return None


def split_shown(move: float, ratio: float) -> bool:
    """Whether a day's log return is nearer the recorded split of `ratio` than no split (the split rule)."""
    return abs(move + float(np.log(ratio))) < 0.5 * abs(float(np.log(ratio)))


def sigmas(move: float, returns: np.ndarray) -> float | None:
    """How many robust standard deviations a log move lies from the factor's median return; None when it barely moves."""
    scale = robust_scale(returns)
    return None if scale is None else abs(move - scale[0]) / scale[1]


def divided_out(move: float, ratio: float, returns: np.ndarray) -> float | None:
    """How many robust standard deviations nearer the factor's median a day's log move comes once a split of `ratio`
    is divided out of it (negative: further); None when the factor barely moves. At most |log ratio| over the scale."""
    before, after = sigmas(move, returns), sigmas(move + float(np.log(ratio)), returns)
    return None if before is None or after is None else before - after


def _split(
    name: str,
    column: np.ndarray,
    dates: list[dt.date],
    returns: np.ndarray,
    policy: CleaningPolicy,
    tonight: str,
    actions: Mapping[str, float],
) -> Cleaning | None:
    """The first recorded split the history shows: the record names the day and the ratio k (any positive
    ratio but 1), the day's move is nearer the split than no split, and dividing k out brings it more than
    jump_sigmas / 2 robust standard deviations nearer the median (the record explains the move). That
    replaces "the day is a jump" rather than standing beside it as an alternative: a 2:1 split of a stock
    moving 10 % a day is no jump (6.9 robust standard deviations) but the record explains it; and a record
    that explains little of a jump (a -30 % day of a quiet stock recorded as 2:1, nearer the split by a
    hair) would only swap one jump for another. A ratio near 1 still cannot explain a usual move: a 5 %
    stock dividend on a genuine -3 % day of a 2 %/day stock divides out about one robust standard
    deviation, and is reported, not applied."""
    if FX_FACTOR.match(name):
        return None  # an exchange rate has no shares to split: its jump is the market's (a de-peg)
    position = {day.isoformat(): row for row, day in enumerate(dates)} if actions else {}  # most factors have no record
    for effective, ratio in sorted(actions.items()):
        day = position.get(effective)
        if day is None or day == 0 or not np.isfinite(ratio) or ratio <= 0 or ratio == 1.0:
            continue  # not in the window (or its first day): reported, never applied
        t = day - 1
        explained = divided_out(float(returns[t]), ratio, returns)
        if explained is None or explained <= policy.jump_sigmas / 2 or not split_shown(float(returns[t]), ratio):
            continue  # a move the record explains too little of, already adjusted by the vendor, or one it contradicts: reported
        rest = float(returns[t] + np.log(ratio))  # the day's own move once the split is divided out: its return from now on
        left = sigmas(rest, np.delete(returns, t))  # the leftover against the factor's other days
        leftover = rest if left is not None and left > policy.jump_sigmas else None
        raw = float(column[t])
        column[:day] /= ratio
        kind = f"a split {ratio:g}:1" if ratio > 1 else f"a reverse split 1:{1 / ratio:g}"
        detail = f"a move of {np.expm1(returns[t]):+.1%} on {dates[day]}, {kind} confirmed by the corporate actions"
        detail += f" ({np.expm1(rest):+.1%} once divided out, the day's own move): the {day} prices before it divided by {ratio:g}"
        if leftover is not None:
            detail += f"; the move left is itself a jump: a ratio of {ratio * np.exp(-rest):.3g} would leave none (the record's ratio mistyped?)"
        return Cleaning(name, dates[day].isoformat(), raw, float(column[t]), "split", detail, tonight, ratio, "corporate_actions", leftover)
    return None


def clean_history(
    market: Market,
    prices: np.ndarray,
    factors: Iterable[str],
    policy: CleaningPolicy,
    ledger: Iterable[Cleaning | dict[str, Any]] = (),
    detect: bool = True,
    corporate_actions: Mapping[str, Mapping[str, float]] | None = None,
) -> tuple[np.ndarray, list[Cleaning]]:
    """The prices with the recorded cleanings applied and (`detect`) new ones made, for the complete
    factors of `factors`; and the ledger in force tonight (recorded first, then tonight's new ones).
    `corporate_actions`: factor -> {effective day (ISO): ratio}, the only confirmation of a split."""
    cleaned = prices.copy()
    tonight = market.business_date.isoformat()
    recorded: dict[str, list[Cleaning]] = {}
    for item in ledger:
        record = item if isinstance(item, Cleaning) else Cleaning(**item)
        recorded.setdefault(record.factor, []).append(record)
    in_force: list[Cleaning] = []
    # each factor cleaned on its own prices with a holiday carried over (a gap elsewhere must not
    # leave tonight's split in the stored copy); written back where the file has a price
    own = {name: found for name in factors if (found := bridged(cleaned[:, market.index[name]])) is not None}
    for name, (first, column) in own.items():  # the ledger first: the market-wide days are counted on the recorded history
        in_force += _apply_recorded(column, market.dates[first:], recorded.get(name, []))
    _write_back(cleaned, market, own)
    market_wide = market_days(cleaned, list(range(cleaned.shape[1])), policy)
    for name, (first, column) in own.items() if detect else ():
        applied = {item.date for item in in_force if item.factor == name and item.rule == "split"}  # from the ledger
        actions = {day: ratio for day, ratio in (corporate_actions or {}).get(name, {}).items() if day not in applied}
        in_force += _detect(name, column, market.dates[first:], policy, tonight, market_wide[first:], actions)
    _write_back(cleaned, market, own)
    return cleaned, in_force


def _write_back(prices: np.ndarray, market: Market, own: Mapping[str, tuple[int, np.ndarray]]) -> None:
    """Each factor's cleaned prices into `prices` (in place) on the days it has one: no price stays no price."""
    for name, (first, column) in own.items():
        stored = prices[first:, market.index[name]]  # a view
        present = np.isfinite(stored) & (stored > 0)
        stored[present] = column[present]


def _why_not_applied(market: Market, prices: np.ndarray, policy: CleaningPolicy, name: str, effective: str, ratio: float) -> str:
    """Why a record of a split matches nothing in tonight's history (in words, for the operator), read
    on the prices as cleaned with a holiday carried over, as the rule read them."""
    if name not in market.index:
        return f"the market file has no factor {name}"
    if effective > market.business_date.isoformat():
        return f"dated after tonight's business date {market.business_date}"
    if effective <= market.dates[0].isoformat():
        return f"on or before the window's first day {market.dates[0]}: no close before it in the window to divide"
    rows = {day.isoformat(): row for row, day in enumerate(market.dates)}
    if effective not in rows:
        return "the market file has no price on that day"
    own, row = bridged(prices[:, market.index[name]]), rows[effective]
    if own is None:
        return "the factor has no price in the window"
    first, column = own
    if row <= first:
        return f"on or before the factor's first price in the window ({market.dates[first]}): no close before it to divide"
    if not np.isfinite(prices[row, market.index[name]]):
        return "the factor has no price on that day (a local holiday?)"
    returns = np.diff(np.log(column))
    move = float(returns[row - first - 1])
    expected, rest = float(np.expm1(-np.log(ratio))), float(np.expm1(move + np.log(ratio)))
    if split_shown(move, ratio):
        explained, scale = divided_out(move, ratio, returns), robust_scale(returns)
        if explained is None or scale is None:
            return "the factor barely moves: no scale to tell a split from its usual moves"
        if explained <= policy.jump_sigmas / 2:
            text = (
                f"the record divides out only {explained:.1f} robust standard deviations of the day's move of {np.expm1(move):+.1%}"
                f" ({rest:+.1%} once divided by {ratio:g}), a split must explain more than {policy.jump_sigmas / 2:g}"
            )
            whole = abs(float(np.log(ratio))) / scale[1]  # the split's size on the factor's scale: the most any record of it divides out
            if whole <= policy.jump_sigmas / 2:
                text += f" (a split of {ratio:g} is only {whole:.1f} robust standard deviations of this factor: it cannot be told from a move)"
            return text
        return f"the day's move of {np.expm1(move):+.1%} was not cleaned as this split"
    if abs(move) < 0.5 * abs(float(np.log(ratio))):
        return (
            f"the day's move of {np.expm1(move):+.1%} is nearer no split than the record's {expected:+.1%}:"
            " the price did not move by the ratio (already adjusted by the vendor?)"
        )
    return (
        f"the day's move of {np.expm1(move):+.1%} is {rest:+.1%} once divided by {ratio:g}, nearer neither no split nor the record's {expected:+.1%}:"
        " the move contradicts the ratio"
    )


def unapplied_actions(
    market: Market,
    corporate_actions: Mapping[str, Mapping[str, float]] | None,
    cleanings: Iterable[Cleaning],
    prices: np.ndarray | None = None,
    policy: CleaningPolicy | None = None,
) -> list[tuple[str, str, float, str]]:
    """The night's split records that no cleaning applies: (factor, effective day, ratio, why), never applied, reported.
    `prices`: the file as cleaned (the reason is read where the rule read the move; default the file as published)."""
    applied = {(item.factor, item.date) for item in cleanings if item.rule == "split"}
    prices, policy = market.prices if prices is None else prices, policy or CleaningPolicy()
    return [
        (name, effective, ratio, _why_not_applied(market, prices, policy, name, effective, ratio))
        for name, records in sorted((corporate_actions or {}).items())
        for effective, ratio in sorted(records.items())
        if (name, effective) not in applied
    ]


def contradiction(name: str, last: float, previous: float, cleaning: CleaningPolicy, second_source: dict[str, float] | None) -> str | None:
    """Why a last-day jump is not a market move (None: nothing contradicts it, it is used)."""
    other = (second_source or {}).get(name)
    if other is not None and np.isfinite(other) and other > 0:
        if abs(last / other - 1.0) > cleaning.split_tolerance:
            return f"a second source has {other:g}"
        return None  # confirmed by the second source: a genuine move, whatever its size
    ratio = last / previous
    if cleaning.implausible(ratio):
        return f"a price ratio of {ratio:.3g} in a day, beyond the {cleaning.implausible_ratio:g} a market moves (a unit error?)"
    return None  # a split ratio alone contradicts nothing: a crash to half is a price (cleaned only if a corporate action confirms a split)


def as_records(cleanings: Iterable[Cleaning]) -> list[dict[str, Any]]:
    return [asdict(cleaning) for cleaning in cleanings]

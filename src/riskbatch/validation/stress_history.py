"""The stress period's daily moves of tonight's factors, made usable by the nightly file's rules.

A real stress history misses prices too: a local holiday in the crisis year, a factor listed after
it. One missing value used to remove the firm's stressed VaR. Here, over the configured period:

- gaps are bridged, and the period's ends carried, as in the nightly market file
  (riskbatch.inputs.history_gaps, within the same `max_gap_days`);
- a factor without a price in the period (absent from the stress history, or listed after it) takes,
  each crisis day, beta x its configured proxy's crisis return plus one of its own residuals
  (riskbatch.inputs.proxy_fill; the data-quality policy's `proxies`, versioned with the model
  configuration): beta and the residuals measured over the nightly window (their common returns
  there, at least 20), the residuals x the proxy's crisis volatility over its nightly one (a name's
  own moves assumed to grow in the crisis as its index's did, so its total volatility grows by the
  same factor as under a volatility-ratio scale, and its correlation with the proxy stays the
  measured one), each crisis day's picked by that day's date alone, never tonight's business date
  (the crisis history is fixed: so is its fill, but for beta and the residuals' nightly measurement).
  The proxy's crisis gaps are bridged first, on a copy.
  Without the proxy in the nightly window, with fewer common returns there, or with a proxy
  without a complete crisis history, the factor stays uncovered;
- a factor listed during the period takes its proxy's returns before the listing as in the nightly
  file (beta and residuals over their common days in the period, at least 20 of them);
- a factor still without a complete history in the period is uncovered: it does not move in the
  stressed scenarios, and the positions on it (underlying or vol factor) are reported with their
  notional in the reporting currency, never silently left out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from riskbatch.inputs.files import Market
from riskbatch.inputs.history_gaps import FactorFinding, complete_histories, proxy_of
from riskbatch.inputs.proxy_fill import MIN_OVERLAP, ProxyFit, bridged, fill_basis, proxied_returns, proxy_fit
from riskbatch.model.engine import Book


@dataclass(frozen=True)
class StressWindow:
    """Tonight's factors' daily log returns over the period (days x factors; an uncovered factor's are 0)."""

    returns: np.ndarray
    days: list[dt.date]
    findings: list[FactorFinding] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)


def nightly_fit(name: str, proxy: str, nightly: Market | None) -> ProxyFit | None:
    """Beta and residuals of `name` on its proxy over the nightly window's common returns; None when either
    is not in that window or too few are common."""
    if nightly is None or name not in nightly.index or proxy not in nightly.index:
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        own = np.diff(np.log(nightly.prices[:, nightly.index[name]]))
        theirs = np.diff(np.log(nightly.prices[:, nightly.index[proxy]]))
    return proxy_fit(own, theirs)


def _crisis_fill(name: str, proxy: str, crisis: np.ndarray, nightly: Market | None, limit: int, days: list[dt.date]) -> tuple[np.ndarray, FactorFinding]:
    """The prices of a factor without crisis history built from its proxy's crisis moves, or NaN and why not."""
    fit = nightly_fit(name, proxy, nightly)
    crisis = bridged(crisis, limit)
    if fit is None or not np.all(np.isfinite(crisis)):
        why = f"needs {MIN_OVERLAP} common returns with it in the nightly window" if fit is None else "has no complete history in the period"
        detail = f"no price in the stress period, and its proxy {proxy} {why}: uncovered"
        return np.full(len(crisis), np.nan), FactorFinding(name, "short_history", detail, "exclude")
    moves = np.diff(np.log(crisis))
    growth = float(np.std(moves)) / fit.proxy_sd if fit.proxy_sd > 0 else 1.0  # the proxy's crisis volatility over its nightly one
    returns = proxied_returns(moves, fit, name, proxy, days[1:], "stress", growth)  # each crisis day's residual by its own date
    basis = fill_basis(fit, proxy, "stress", "common returns of the nightly window")
    detail = f"no price in the stress period: each crisis return is {basis}; the residuals x {growth:.3g}, {proxy}'s crisis over its nightly volatility"
    return crisis[0] * np.exp(np.concatenate([[0.0], np.cumsum(returns)])), FactorFinding(name, "proxy", detail, "flag")


def stress_window(
    factors: list[str],
    stress: Market,
    first: dt.date,
    last: dt.date,
    proxies: dict[str, str] | None = None,
    max_gap_days: int = 3,
    nightly: Market | None = None,
) -> StressWindow:
    """The period's moves of `factors` from the stress history (see the module's rules); `nightly` is
    tonight's market, over which a factor without crisis history is regressed on its proxy."""
    proxies = proxies or {}
    chosen = [row for row in range(1, len(stress.dates)) if first <= stress.dates[row] <= last]
    if not chosen:
        return StressWindow(np.empty((0, len(factors))), [])
    rows = slice(chosen[0] - 1, chosen[-1] + 1)
    dates = stress.dates[rows]
    columns: dict[str, np.ndarray] = {}
    findings: list[FactorFinding] = []
    for name in factors:
        own = stress.prices[rows, stress.index[name]] if name in stress.index else None
        if own is not None and np.isfinite(own).any():
            columns[name] = own
        elif (proxy := proxy_of(name, proxies)) is not None and proxy in stress.index:
            columns[name], finding = _crisis_fill(name, proxy, stress.prices[rows, stress.index[proxy]], nightly, max_gap_days, dates)
            findings.append(finding)
        else:
            columns[name] = np.full(len(dates), np.nan)
    # the proxies a late listing may need, as columns of their own
    for proxy in sorted({proxy for name in factors if (proxy := proxy_of(name, proxies)) is not None} - set(columns)):
        if proxy in stress.index:
            columns[proxy] = stress.prices[rows, stress.index[proxy]]
    names = list(columns)
    matrix = np.column_stack([columns[name] for name in names]) if names else np.empty((len(dates), 0))
    repaired, repairs = complete_histories(
        matrix, dates, {name: i for i, name in enumerate(names)}, factors, max_gap_days, proxies, window="stress"
    )
    findings += repairs
    tonight = repaired[:, [names.index(name) for name in factors]]
    covered = np.all(np.isfinite(tonight) & (tonight > 0), axis=0)
    uncovered = [name for name, ok in zip(factors, covered, strict=True) if not ok]
    returns = np.zeros((len(dates) - 1, len(factors)))
    returns[:, covered] = np.diff(np.log(tonight[:, covered]), axis=0)
    return StressWindow(returns, dates[1:], findings, uncovered)


def uncovered_positions(book: Book, market: Market, uncovered: list[str]) -> tuple[int, float]:
    """How many positions need an uncovered factor (underlying or vol factor), and their notional in the
    reporting currency (the underlying's value: quantity x multiplier x spot x today's rate)."""
    if not uncovered:
        return 0, 0.0
    missing = np.zeros(len(market.factors), dtype=bool)
    missing[[market.index[name] for name in uncovered]] = True
    notional = np.zeros(len(book.position_ids))
    hit = np.zeros(len(book.position_ids), dtype=bool)
    own = book.leg_column < len(market.factors)  # a position's own leg, not an FX position's cash leg
    np.add.at(notional, book.leg_position[own], np.abs(book.leg_exposure[own]))
    hit[book.leg_position[own & missing[np.minimum(book.leg_column, len(market.factors) - 1)]]] = True
    if book.option_count:
        unique = book.unique_of_option
        underlying = book.unique_factor[unique]
        notional[book.option_position] += np.abs(book.option_quantity * market.spot[underlying])
        vol = book.unique_vol_factor[unique]
        hit[book.option_position] |= missing[underlying] | ((vol >= 0) & missing[np.maximum(vol, 0)])
    return int(hit.sum()), float(notional[hit].sum())

"""Incomplete histories made usable by a stated rule, each repair a finding (never a silent exclusion).

Real vendor files miss prices: a local holiday (Easter Monday: New York open, Europe closed), a
first date on which a factor had not traded yet, a listing younger than the window. Per factor:

- an interior gap of up to `limit` consecutive dates: the last price is carried over it, so the
  return across the gap is one return, on the first date after it (check `gap`, flagged);
- missing on the last `limit` dates or fewer (the window's end is a holiday of the factor's
  exchange): its last price is carried forward to the end, no move on those dates (check `gap`,
  flagged); the night revalues from that close;
- missing on the first `limit` dates or fewer (last year's holiday now on the window's first day):
  its first price is carried back to the start, no move on those dates (check `gap`, flagged);
- a longer missing start is a short history (a new listing): its missing returns come from its
  proxy (the configured map factor -> proxy, an index or sector factor, in the versioned model
  configuration; a key is a factor's name or a pattern such as `EQ_*`), as
  riskbatch.inputs.proxy_fill says: beta x the proxy's return plus one of the factor's own residuals,
  both measured over their common days, each day's picked by that day's date alone, the same every
  night (check `proxy`, flagged), so the
  filled days keep the factor's own volatility and its measured correlation with the proxy (a hedge
  with the index is not made riskless). The proxy's own holidays are bridged first, on a copy, by
  the rules above, whether or not the book holds it. Without a configured proxy, with one that has
  no complete history over the missing dates even so, or with fewer than `MIN_OVERLAP` (20) common
  returns to measure beta, the factor is excluded with the reason (check `short_history`), its
  positions listed with their notional;
- a longer gap anywhere else is excluded with the reason (check `gap`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fnmatch import fnmatchcase

import numpy as np

from riskbatch.inputs.proxy_fill import MIN_OVERLAP, bridged, fill_basis, proxied_returns, proxy_fit


@dataclass(frozen=True)
class FactorFinding:
    factor: str
    check: str  # history, gap, proxy, proxy_hedge, short_history, stale, zero_returns, jump, last_day_jump, cleaned, corporate_action
    detail: str
    action: str  # exclude, flag, hold (reject findings become the file's problems)


def missing_runs(present: np.ndarray) -> list[tuple[int, int]]:
    """The (start, end) rows of each run of missing prices."""
    edges = np.diff(np.concatenate([[0], (~present).astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def proxy_of(name: str, proxies: dict[str, str]) -> str | None:
    """The proxy the configuration names for a factor, None when it names none: its own entry, else the
    first pattern (shell-style, `EQ_*`) that matches its name. A factor is never its own proxy."""
    if name in proxies:
        return proxies[name]
    found = next((proxy for pattern, proxy in proxies.items() if any(mark in pattern for mark in "*?[") and fnmatchcase(name, pattern)), None)
    return found if found != name else None


def _proxied_start(
    column: np.ndarray, proxy: np.ndarray, first: int, dates: list[dt.date], name: str, proxy_name: str, limit: int, window: str
) -> tuple[np.ndarray, FactorFinding] | str:
    """The column with its rows before `first` rebuilt from the proxy's returns (riskbatch.inputs.proxy_fill),
    or why it cannot be. The proxy's own short gaps are bridged on a copy first, wherever it sorts."""
    proxy = bridged(proxy, limit)
    if not np.all(np.isfinite(proxy[: first + 1])):
        return f"its proxy {proxy_name} has no complete history before it"
    with np.errstate(invalid="ignore", divide="ignore"):
        fit = proxy_fit(np.diff(np.log(column[first:])), np.diff(np.log(proxy[first:])))
    if fit is None:
        return f"its proxy {proxy_name} needs {MIN_OVERLAP} common days with it to measure beta (an unscaled index understates a single name)"
    returns = proxied_returns(np.diff(np.log(proxy[: first + 1])), fit, name, proxy_name, dates[1 : first + 1], window)  # ending on rows 1..first
    filled = column.copy()
    # backwards from the first own price: the price on row k is the one on row k+1 less the return between
    filled[:first] = column[first] * np.exp(-np.cumsum(returns[::-1]))[::-1]
    detail = f"first price on {dates[first]}: each of its {first} earlier return(s) is {fill_basis(fit, proxy_name, window)}"
    return filled, FactorFinding(name, "proxy", detail, "flag")


def complete_histories(
    prices: np.ndarray,
    dates: list[dt.date],
    index: dict[str, int],
    factors: list[str],
    limit: int,
    proxies: dict[str, str] | None = None,
    window: str = "nightly",
) -> tuple[np.ndarray, list[FactorFinding]]:
    """The prices (days x factors, NaN where missing) with each factor's gaps bridged, its ends
    carried and its short history proxied where the rules above allow; a finding per factor
    repaired or refused. A factor with no price at all is left to the history check. `window` (nightly,
    stress) and each filled day's date pick a proxied factor's residuals, never the night's date: a filled
    day keeps its return from night to night."""
    prices = prices.copy()
    proxies = proxies or {}
    findings: list[FactorFinding] = []
    for name in factors:
        column = prices[:, index[name]]  # a view: repaired in place
        present = np.isfinite(column)
        if present.all() or not present.any():
            continue
        runs = missing_runs(present)
        notes: list[str] = []
        first, last = int(np.flatnonzero(present)[0]), int(np.flatnonzero(present)[-1])
        if first > limit:
            proxy = proxy_of(name, proxies)
            if proxy is None:
                repaired: tuple[np.ndarray, FactorFinding] | str = "no proxy is configured for it (data_quality.proxies)"
            elif proxy not in index:
                repaired = f"its proxy {proxy} has no complete history before it"
            else:
                repaired = _proxied_start(column, prices[:, index[proxy]], first, dates, name, proxy, limit, window)
            if isinstance(repaired, str):
                why = repaired
                detail = f"a short history: first price on {dates[first]}, {len(dates) - 1 - first} of {len(dates) - 1} returns, and {why}"
                findings.append(FactorFinding(name, "short_history", detail, "exclude"))
                continue
            column[:first], finding = repaired[0][:first], repaired[1]
            findings.append(finding)
        elif first > 0:
            column[:first] = column[first]
            notes.append(f"no price on the first {first} date(s): the price of {dates[first]} carried back, no move")
        if len(dates) - 1 - last > limit:
            detail = f"no price after {dates[last]}: {len(dates) - 1 - last} date(s) missing at the end, more than the {limit} carried"
            findings.append(FactorFinding(name, "gap", detail, "exclude"))
            continue
        if last < len(dates) - 1:
            column[last + 1 :] = column[last]
            notes.append(f"no price on the last {len(dates) - 1 - last} date(s) (a local holiday?): the close of {dates[last]} carried forward, no move")
        interior = [(start, end) for start, end in runs if start > 0 and end < len(dates)]
        longest = max((end - start for start, end in interior), default=0)
        if longest > limit:
            detail = f"a gap of {longest} dates (first gap {dates[interior[0][0]]}), more than the {limit} bridged"
            findings.append(FactorFinding(name, "gap", detail, "exclude"))
            continue
        for start, end in interior:
            column[start:end] = column[start - 1]
        if interior:
            first_gap = dates[interior[0][0]]
            notes.append(f"{len(interior)} gap(s) of at most {longest} date(s) bridged (first {first_gap}): the last price carried, one return across each")
        if notes:
            findings.append(FactorFinding(name, "gap", "; ".join(notes), "flag"))
    return prices, findings


def proxy_hedges(findings: list[FactorFinding], portfolios: list[str | None], needs: list[list[str]], proxies: dict[str, str]) -> list[FactorFinding]:
    """A flag per portfolio holding both a proxied factor and its proxy (each position's portfolio, None for an
    excluded one, and the factors it needs): its days before the listing are beta x the proxy plus drawn residuals, so a hedge of
    one with the other rests on a correlation measured over the listing's few common days."""
    proxied = {finding.factor: proxy_of(finding.factor, proxies) for finding in findings if finding.check == "proxy"}
    held: dict[str, set[str]] = {}
    for portfolio, factors in zip(portfolios, needs, strict=True):
        if portfolio is not None:
            held.setdefault(portfolio, set()).update(factors)
    return [
        FactorFinding(
            factor,
            "proxy_hedge",
            f"portfolio {portfolio} holds {factor} and its proxy {proxy}: {factor}'s days before its listing are modelled from {proxy} "
            "(check proxy), so their hedge's risk rests on a correlation measured over their common days only",
            "flag",
        )
        for portfolio in sorted(held)
        for factor, proxy in sorted(proxied.items())
        if proxy is not None and factor in held[portfolio] and proxy in held[portfolio]
    ]

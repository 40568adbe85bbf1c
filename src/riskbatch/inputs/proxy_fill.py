"""The returns a factor's missing days take from its proxy: beta x the proxy's return plus one of the
factor's own residuals, each day's chosen by that day alone, so the same day fills alike every night.

Over the days both have a return (at least `MIN_OVERLAP`), the factor's return is regressed on the
proxy's: beta = cov / var of the proxy (not floored: a name with beta 0.5 or -0.5 keeps it), and its
residual on each of those days is its return less beta x the proxy's, both less their means. A missing
day takes beta x the proxy's return that day plus a residual picked from those days' (as if drawn with
replacement, interpolated between neighbours), so its variance is about beta^2 var(proxy) + var(residual),
the factor's own on the common days, and its
correlation with the proxy is the measured one, not +1: a hedge of the name with its proxy keeps the
name's own risk. Each filled day's residual is the empirical quantile, at a uniform u, of the factor's
sorted residuals; u comes from the SHA-256 of the factor, its proxy, that day's date and the window
kind (nightly, stress), never the business date: tomorrow's night fills a day it shares with tonight's
with the same u, so its return moves only as much as beta and the residuals do with one day more or
less of data (and not at all when they are the same), and a re-run of the night fills it bit for bit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import numpy as np

MIN_OVERLAP = 20  # common returns needed to measure beta and the residuals (fewer: no proxy, the factor is excluded)


@dataclass(frozen=True)
class ProxyFit:
    """How a factor moved with its proxy over their common returns."""

    beta: float
    residuals: np.ndarray  # the factor's own moves on the common days, beta x the proxy's taken out
    proxy_sd: float  # the proxy's daily volatility on those days

    @property
    def count(self) -> int:
        return len(self.residuals)

    @property
    def correlation(self) -> float:
        systematic = (self.beta * self.proxy_sd) ** 2
        total = systematic + float(np.var(self.residuals))
        return float(np.sign(self.beta) * np.sqrt(systematic / total)) if total > 0 else 0.0


def proxy_fit(own: np.ndarray, theirs: np.ndarray) -> ProxyFit | None:
    """The regression of the factor's returns on its proxy's over their common (finite) returns; None with
    fewer than MIN_OVERLAP of them or a proxy that did not move (nothing can be measured)."""
    common = np.isfinite(own) & np.isfinite(theirs)
    if int(common.sum()) < MIN_OVERLAP:
        return None
    x, y = theirs[common] - theirs[common].mean(), own[common] - own[common].mean()
    variance = float(np.mean(x * x))
    if variance <= 0:
        return None
    beta = float(np.mean(x * y)) / variance
    return ProxyFit(beta, y - beta * x, float(np.sqrt(variance)))


def day_uniform(name: str, proxy: str, day: dt.date, window: str) -> float:
    """The uniform that picks a filled day's residual: the first 8 bytes of the SHA-256 of the factor, its proxy,
    the day's date and the window kind, mapped into (0, 1). The business date is not in it, so every night
    that fills the day picks it alike."""
    word = int.from_bytes(hashlib.sha256(f"{name}|{proxy}|{day.isoformat()}|{window}".encode()).digest()[:8], "big")
    return (word + 0.5) / 2.0**64


def proxied_returns(
    proxy_returns: np.ndarray, fit: ProxyFit, name: str, proxy: str, days: list[dt.date], window: str, residual_scale: float = 1.0
) -> np.ndarray:
    """Beta x each proxy return plus the factor's residual (x `residual_scale`) at that day's uniform: the
    empirical quantile of the sorted residuals (linear between neighbours), so a residual set one day
    longer or shorter tomorrow moves it by a fraction of a neighbour's spacing, not to another draw.
    `days` are the dates the returns end on."""
    uniforms = np.array([day_uniform(name, proxy, day, window) for day in days])
    return fit.beta * proxy_returns + residual_scale * np.quantile(fit.residuals, uniforms)


def fill_basis(fit: ProxyFit, proxy: str, window: str, where: str = "common days") -> str:
    """The finding's account of a fill: beta, the residuals' volatility and count, the rule that picks each day's, the correlation."""
    return (
        f"{fit.beta:.3g} x {proxy}'s return plus one of its own residuals (daily sd {np.std(fit.residuals):.3g}), beta and residuals"
        f" from its {fit.count} {where} with it, each day's residual their quantile at a uniform from the SHA-256 of its name, {proxy},"
        f" that day's date and the window ({window}), the same every night; its measured correlation with {proxy} {fit.correlation:+.2f}"
    )


def bridged(column: np.ndarray, limit: int) -> np.ndarray:
    """A copy of a price column (a proxy's) with each run of at most `limit` missing or bad prices carried:
    inside, the last price over the gap; at the start, the first price back; at the end, the last forward.
    Longer runs stay missing."""
    out = np.where(np.isfinite(column) & (column > 0), column, np.nan)
    present = np.isfinite(out)
    if not present.any():
        return out
    edges = np.diff(np.concatenate([[0], (~present).astype(np.int8), [0]]))
    for start, end in zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True):
        if end - start <= limit:
            out[start:end] = out[start - 1] if start > 0 else out[end]
    return out

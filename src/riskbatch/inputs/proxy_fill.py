"""The returns a factor's missing days take from its proxy: beta x the proxy's return plus one of the
factor's own residuals, drawn again with a seed that the night records.

Over the days both have a return (at least `MIN_OVERLAP`), the factor's return is regressed on the
proxy's: beta = cov / var of the proxy (not floored: a name with beta 0.5 or -0.5 keeps it), and its
residual on each of those days is its return less beta x the proxy's, both less their means. A missing
day takes beta x the proxy's return that day plus a residual drawn (with replacement) from those days,
so its variance is beta^2 var(proxy) + var(residual), the factor's own on the common days, and its
correlation with the proxy is the measured one, not +1: a hedge of the name with its proxy keeps the
name's own risk. The draws come from a generator seeded by the SHA-256 of the factor's name and the
business date, stated in the finding, so a night re-run fills the same days with the same returns.
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


def proxy_seed(name: str, business_date: dt.date, window: str = "nightly") -> int:
    """The seed of a factor's residual draws: the first 8 bytes of the SHA-256 of its name, the business date and
    the window (the nightly file's or the stress period's), so a re-run of the night draws the same residuals."""
    return int.from_bytes(hashlib.sha256(f"{name}|{business_date.isoformat()}|{window}".encode()).digest()[:8], "big")


def proxied_returns(proxy_returns: np.ndarray, fit: ProxyFit, seed: int, residual_scale: float = 1.0) -> np.ndarray:
    """Beta x each proxy return plus one of the factor's residuals (x `residual_scale`), drawn with replacement."""
    draws = np.random.default_rng(seed).integers(0, fit.count, len(proxy_returns))
    return fit.beta * proxy_returns + residual_scale * fit.residuals[draws]


def fill_basis(fit: ProxyFit, proxy: str, seed: int, business_date: dt.date, where: str = "common days") -> str:
    """The finding's account of a fill: beta, the residuals' volatility and count, the seed, the correlation."""
    return (
        f"{fit.beta:.3g} x {proxy}'s return plus one of its own residuals (daily sd {np.std(fit.residuals):.3g}), beta and residuals"
        f" from its {fit.count} {where} with it, residuals drawn with seed {seed} (SHA-256 of its name and the business date {business_date});"
        f" its measured correlation with {proxy} {fit.correlation:+.2f}"
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

"""Backtesting statistics: is the VaR exceeded as often as it should be, and not in clusters?

- Kupiec's proportion-of-failures test: the likelihood ratio of the observed exception rate
  against the VaR's, chi-square with one degree of freedom under the null.
- Christoffersen's independence test: whether an exception makes another one the next day
  more likely (a first-order Markov chain against independence), chi-square(1).
- Christoffersen's conditional coverage: the two together, LR_cc = LR_pof + LR_ind, chi-square
  with two degrees of freedom (the right rate and no clustering, jointly).
- The Basel traffic light for a 99 % VaR over 250 days: green up to 4 exceptions, yellow 5 to
  9 (the capital multiplier's plus factor rises), red from 10.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

# Basel Committee, "Supervisory framework for the use of backtesting" (1996), Table 2: exceptions
# in 250 observations of a 99 % VaR -> the plus factor added to the multiplier of 3.
BASEL_PLUS_FACTOR = {5: 0.40, 6: 0.50, 7: 0.65, 8: 0.75, 9: 0.85}
BASEL_WINDOW = 250


def _xlogy(x: float, y: float) -> float:
    """x ln y with 0 ln 0 = 0 (a likelihood with no events of a kind)."""
    return 0.0 if x == 0 else x * math.log(y)


@dataclass(frozen=True)
class LikelihoodRatio:
    statistic: float
    p_value: float

    def rejects(self, size: float = 0.05) -> bool:
        return self.p_value < size


def kupiec_pof(exceptions: int, observations: int, coverage: float = 0.99) -> LikelihoodRatio:
    """Kupiec (1995): LR = -2 ln[(1-p)^(T-x) p^x / ((1-x/T)^(T-x) (x/T)^x)], p = 1 - coverage."""
    from scipy.stats import chi2
    if not 0 <= exceptions <= observations or observations == 0:
        raise ValueError("0 <= exceptions <= observations, observations > 0")
    p, x, t = 1.0 - coverage, exceptions, observations
    observed = x / t
    null = _xlogy(t - x, 1.0 - p) + _xlogy(x, p)
    alternative = _xlogy(t - x, 1.0 - observed) + _xlogy(x, observed)
    statistic = max(0.0, -2.0 * (null - alternative))
    return LikelihoodRatio(statistic, float(chi2.sf(statistic, 1)))


def christoffersen_independence(hits: Sequence[bool]) -> LikelihoodRatio:
    """Christoffersen (1998): LR = -2 ln[L(pi) / L(pi0, pi1)] over the day-to-day transitions."""
    from scipy.stats import chi2
    if len(hits) < 2:
        raise ValueError("at least two days are needed")
    n = {(a, b): 0 for a in (0, 1) for b in (0, 1)}
    for previous, current in itertools.pairwise(hits):
        n[int(previous), int(current)] += 1
    after_quiet, after_exception = n[0, 0] + n[0, 1], n[1, 0] + n[1, 1]
    pi0 = n[0, 1] / after_quiet if after_quiet else 0.0
    pi1 = n[1, 1] / after_exception if after_exception else 0.0
    pi = (n[0, 1] + n[1, 1]) / (after_quiet + after_exception)
    null = _xlogy(n[0, 0] + n[1, 0], 1.0 - pi) + _xlogy(n[0, 1] + n[1, 1], pi)
    alternative = _xlogy(n[0, 0], 1.0 - pi0) + _xlogy(n[0, 1], pi0) + _xlogy(n[1, 0], 1.0 - pi1) + _xlogy(n[1, 1], pi1)
    statistic = max(0.0, -2.0 * (null - alternative))
    return LikelihoodRatio(statistic, float(chi2.sf(statistic, 1)))


def christoffersen_conditional_coverage(hits: Sequence[bool], coverage: float = 0.99) -> LikelihoodRatio:
    """Christoffersen (1998): LR_cc = LR_pof + LR_ind, chi-square(2) under the null. The
    proportion-of-failures part is taken over the days after the first, as the transitions are."""
    from scipy.stats import chi2
    if len(hits) < 2:
        raise ValueError("at least two days are needed")
    later = list(hits)[1:]
    statistic = kupiec_pof(sum(later), len(later), coverage).statistic + christoffersen_independence(hits).statistic
    return LikelihoodRatio(statistic, float(chi2.sf(statistic, 2)))


@dataclass(frozen=True)
class TrafficLight:
    zone: str  # green, yellow, red
    exceptions: int
    plus_factor: float


def basel_traffic_light(exceptions: int) -> TrafficLight:
    """The zone of a 99 % VaR's exceptions over 250 days, and the plus factor it costs."""
    if exceptions < 0:
        raise ValueError("exceptions are not negative")
    if exceptions <= 4:
        return TrafficLight("green", exceptions, 0.0)
    if exceptions <= 9:
        return TrafficLight("yellow", exceptions, BASEL_PLUS_FACTOR[exceptions])
    return TrafficLight("red", exceptions, 1.0)

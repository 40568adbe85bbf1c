"""How often the 95 % interval of the Monte Carlo ES 97.5 % holds the true ES.

Each replication draws n independent P&L values from a known distribution (standard normal, or
Student-t with 4 degrees of freedom: the fat tail of a single name), computes the ES 97.5 % estimate
and its interval, and counts whether the interval holds the distribution's true ES, given in
closed form. A 95 % interval should hold it in 95 % of replications; with R replications the
study's own standard error is sqrt(0.95 x 0.05 / R) (0.7 % at 1,000). Misses are split by side:
"below" when the interval lies under the truth (it understates the risk).

    python -m riskbatch_platform.measurement.es_coverage [--replications 1000]

prints the coverage of the published interval and of the asymptotic one it replaced, at 2,000 and
20,000 scenarios, and the CPU time of one interval at 100,000 scenarios.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Interval = Callable[[np.ndarray, float], tuple[float, float]]
DISTRIBUTIONS = ("student-t(4)", "normal")


def true_expected_shortfall(distribution: str, confidence: float) -> float:
    """ES of the loss L = -X, X standard normal or standard Student-t(nu), as a positive amount.

    McNeil, Frey and Embrechts, Quantitative Risk Management (2005), section 2.2.4, examples 2.18
    and 2.19: normal ES = phi(q) / (1 - a), q = Phi^-1(a); Student-t(nu) ES = g(q) / (1 - a) x
    (nu + q^2) / (nu - 1), q = t_nu^-1(a), g the t density (scale 1, variance nu / (nu - 2))."""
    from scipy.stats import norm, t

    if distribution == "normal":
        return float(norm.pdf(norm.ppf(confidence)) / (1 - confidence))
    nu = float(distribution.removeprefix("student-t(").removesuffix(")"))
    q = float(t.ppf(confidence, nu))
    return float(t.pdf(q, nu) / (1 - confidence) * (nu + q * q) / (nu - 1))


def draw(distribution: str, scenarios: int, rng: np.random.Generator) -> np.ndarray:
    if distribution == "normal":
        return rng.standard_normal(scenarios)
    return rng.standard_t(float(distribution.removeprefix("student-t(").removesuffix(")")), scenarios)


@dataclass(frozen=True)
class Coverage:
    replications: int
    covered: int
    below: int  # the interval lies under the true ES
    above: int

    @property
    def share(self) -> float:
        return self.covered / self.replications

    @property
    def standard_error(self) -> float:
        return float(np.sqrt(0.95 * 0.05 / self.replications))


def coverage(interval: Interval, distribution: str, scenarios: int, replications: int, seed: int = 2026, confidence: float = 0.975) -> Coverage:
    """Replications of `scenarios` independent P&L values, each from its own stream of `seed`."""
    truth = true_expected_shortfall(distribution, confidence)
    covered = below = above = 0
    for replication in range(replications):
        pnl = draw(distribution, scenarios, np.random.default_rng([seed, replication]))
        low, high = interval(pnl, confidence)
        below += high < truth
        above += low > truth
        covered += low <= truth <= high
    return Coverage(replications, covered, below, above)


def cpu_seconds(interval: Interval, scenarios: int = 100_000, repeats: int = 5) -> float:
    """The least CPU time of one interval over a few repeats (CPU, not wall clock: a shared machine)."""
    pnl = draw("student-t(4)", scenarios, np.random.default_rng(1))
    times = []
    for _ in range(repeats):
        start = time.process_time()
        interval(pnl, 0.975)
        times.append(time.process_time() - start)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    import argparse

    from riskbatch.model.shortfall_interval import asymptotic_es_interval, es_interval
    from riskbatch.operations.aws_access import CommandParser, guarded

    parser = CommandParser(prog="es_coverage", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replications", type=int, default=1_000, help="replications per cell (default 1,000)")
    arguments = parser.parse_args(argv)

    def table() -> int:
        print(f"{'interval':<14}{'P&L':<14}{'scenarios':>10}{'coverage':>10}{'below':>7}{'above':>7}{'+- 1 SE':>9}")
        for name, interval in (("published", es_interval), ("asymptotic", asymptotic_es_interval)):
            for distribution in DISTRIBUTIONS:
                for scenarios in (2_000, 20_000):
                    c = coverage(interval, distribution, scenarios, arguments.replications)
                    print(f"{name:<14}{distribution:<14}{scenarios:>10,}{c.share:>10.1%}{c.below:>7}{c.above:>7}{c.standard_error:>9.1%}", flush=True)
        published, asymptotic = cpu_seconds(es_interval), cpu_seconds(asymptotic_es_interval)
        print(f"CPU time of one interval at 100,000 scenarios: published {published:.3f} s, asymptotic {asymptotic:.4f} s")
        return 0

    return guarded(parser.prog, table)


if __name__ == "__main__":
    raise SystemExit(main())

"""The risk model: factor returns, covariance, correlated scenarios, revaluation, VaR and ES.

Conventions: P&L is in the book's currency, positive is a gain. VaR and ES are reported as
positive loss amounts. Scenarios are 1-day factor log returns (square-root-of-time for longer
horizons), zero mean, drawn from a seed so that every worker draws the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

CALENDAR_DAYS = 365.0


@dataclass(frozen=True)
class ModelParameters:
    scenarios: int = 10_000
    seed: int = 1
    covariance: str = "sample"  # or "ewma"
    ewma_lambda: float = 0.94
    distribution: str = "normal"  # or "student-t"
    degrees_of_freedom: float = 5.0
    horizon_days: int = 1
    rate: float = 0.03  # continuously compounded risk-free rate for option revaluation
    block_size: int = 8_192  # scenarios generated and revalued together; bounds memory

    def __post_init__(self) -> None:
        if self.scenarios < 100:
            raise ValueError("at least 100 scenarios are needed for a 99 % VaR")
        if self.covariance not in {"sample", "ewma"}:
            raise ValueError(f"covariance must be sample or ewma, not {self.covariance!r}")
        if not 0.0 < self.ewma_lambda < 1.0:
            raise ValueError("the EWMA lambda lies strictly between 0 and 1")
        if self.distribution not in {"normal", "student-t"}:
            raise ValueError(f"distribution must be normal or student-t, not {self.distribution!r}")
        if self.distribution == "student-t" and self.degrees_of_freedom <= 2.0:
            raise ValueError("Student-t scenarios need more than 2 degrees of freedom (finite variance)")
        if self.horizon_days < 1 or self.block_size < 1:
            raise ValueError("horizon and block size are positive")


def log_returns(prices: np.ndarray) -> np.ndarray:
    """Daily log returns of a (days x factors) price history."""
    if prices.ndim != 2 or prices.shape[0] < 3:
        raise ValueError("the market history needs at least three days")
    return np.diff(np.log(prices), axis=0)


def sample_covariance(returns: np.ndarray) -> np.ndarray:
    """Zero-mean sample covariance over the whole history (returns are days x factors)."""
    return returns.T @ returns / returns.shape[0]


def ewma_covariance(returns: np.ndarray, decay: float = 0.94) -> np.ndarray:
    """RiskMetrics exponentially weighted covariance; the latest day weighs most."""
    days = returns.shape[0]
    weights = (1.0 - decay) * decay ** np.arange(days - 1, -1, -1, dtype=float)
    weights /= weights.sum()
    weighted = returns * np.sqrt(weights)[:, None]
    return weighted.T @ weighted


def covariance(returns: np.ndarray, parameters: ModelParameters) -> np.ndarray:
    if parameters.covariance == "ewma":
        return ewma_covariance(returns, parameters.ewma_lambda)
    return sample_covariance(returns)


def cholesky_factor(cov: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor; a tiny diagonal jitter rescues matrices that are PSD but singular."""
    scale = float(np.mean(np.diag(cov))) or 1.0
    for jitter in (0.0, 1e-12, 1e-10, 1e-8):
        try:
            return np.linalg.cholesky(cov + np.eye(cov.shape[0]) * jitter * scale)
        except np.linalg.LinAlgError:
            continue
    raise ValueError("the covariance matrix is not positive semi-definite")


def scenario_block(parameters: ModelParameters, block: int, cholesky: np.ndarray) -> np.ndarray:
    """Scenario block `block` (rows block*block_size ...) of factor log returns over the horizon.

    The stream of each block depends only on (seed, block), so any worker can draw any block and
    get the same numbers to the last digit.
    """
    start = block * parameters.block_size
    rows = min(parameters.block_size, parameters.scenarios - start)
    if rows <= 0:
        raise IndexError(f"block {block} is past the last scenario")
    generator = np.random.Generator(np.random.PCG64(np.random.SeedSequence([parameters.seed, block])))
    normals = generator.standard_normal((rows, cholesky.shape[0]))
    returns = normals @ cholesky.T
    if parameters.distribution == "student-t":
        nu = parameters.degrees_of_freedom
        # Multivariate t with the same covariance: a common chi-square mixing per scenario.
        mixing = np.sqrt((nu - 2.0) / generator.chisquare(nu, size=rows))
        returns *= mixing[:, None]
    return returns * np.sqrt(parameters.horizon_days)


def block_count(parameters: ModelParameters) -> int:
    return -(-parameters.scenarios // parameters.block_size)


def black_scholes(spot: np.ndarray, strike: np.ndarray, years: np.ndarray, vol: np.ndarray, rate: float, is_call: np.ndarray) -> np.ndarray:
    """European option prices (no dividends); arrays broadcast together."""
    years = np.maximum(years, 1e-12)
    root = vol * np.sqrt(years)
    d1 = (np.log(spot / strike) + (rate + 0.5 * vol * vol) * years) / root
    d2 = d1 - root
    discounted = strike * np.exp(-rate * years)
    call = spot * ndtr(d1) - discounted * ndtr(d2)
    return np.where(is_call, call, call - spot + discounted)


def value_at_risk(pnl: np.ndarray, confidence: float) -> float:
    """VaR at `confidence` as a positive loss: the loss exceeded in (1 - confidence) of scenarios."""
    return float(-np.quantile(pnl, 1.0 - confidence, method="lower"))


def expected_shortfall(pnl: np.ndarray, confidence: float) -> float:
    """Mean loss in the worst (1 - confidence) share of scenarios, as a positive amount."""
    tail = max(1, int(np.floor(len(pnl) * (1.0 - confidence))))
    worst = np.partition(pnl, tail - 1)[:tail]
    return float(-worst.mean())


def risk_figures(pnl: np.ndarray) -> dict[str, float]:
    return {
        "var_95": value_at_risk(pnl, 0.95),
        "var_99": value_at_risk(pnl, 0.99),
        "es_975": expected_shortfall(pnl, 0.975),
    }


def parametric_var(exposures: np.ndarray, cov: np.ndarray, confidence: float, horizon_days: int = 1) -> float:
    """Closed-form VaR of a linear book under zero-mean normal log returns (delta approximation)."""
    from scipy.stats import norm

    sigma = float(np.sqrt(exposures @ cov @ exposures) * np.sqrt(horizon_days))
    return float(norm.ppf(confidence) * sigma)

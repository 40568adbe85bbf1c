"""The risk model: factor returns, covariance, correlated scenarios, revaluation, VaR and ES.

Conventions: P&L is in the reporting currency, positive is a gain. VaR and ES are reported as
positive loss amounts, each with a 95 % confidence interval for its Monte Carlo error.
Scenarios are factor log returns over the horizon (square-root-of-time from daily returns),
zero mean. Each factor's normal draws come from its own stream, keyed by the seed, the scenario
block and the factor's name: every worker draws the same numbers, and with a fixed seed (the
default policy) tonight's draws are last night's, so that the figures move with the book and
the market, not with the sampling (common random numbers).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from riskbatch.model.blas_threads import one_blas_thread
from riskbatch.model.shortfall_interval import es_interval  # re-exported: the figures' ES interval

CALENDAR_DAYS = 365.0
SEED_POLICIES = ("fixed", "inputs")  # fixed: common random numbers across nights; inputs: from the files' checksums
SHRINKAGE = ("auto", "ledoit-wolf", "none")
# "auto" shrinks when the sample correlation matrix's smallest eigenvalue falls below this: the
# matrix is then singular or so near it (factors close to the number of days) that its smallest
# eigenvalues, and the VaR of hedged books built on them, are mostly noise.
MIN_CORRELATION_EIGENVALUE = 1e-3


@dataclass(frozen=True)
class ModelParameters:
    scenarios: int = 100_000
    seed: int = 1
    covariance: str = "sample"  # or "ewma"
    ewma_lambda: float = 0.94
    distribution: str = "normal"  # or "student-t"
    degrees_of_freedom: float = 5.0
    horizon_days: int = 1  # business days
    rate: float = 0.03  # continuously compounded rate of a currency `rates` does not list
    block_size: int = 8_192  # scenarios generated and revalued together; bounds memory
    reporting_currency: str = "USD"
    rates: dict[str, float] = field(default_factory=dict)  # per currency, continuously compounded
    seed_policy: str = "fixed"
    shrinkage: str = "auto"  # Ledoit-Wolf on the correlations (variances kept); auto: when the sample is not usable
    # The night's dated rates (riskbatch.inputs.rates): per currency, [years, rate] points by tenor. A
    # currency they cover takes its rate at the option's expiry from them, never `rates` or `rate`.
    curves: dict[str, list[list[float]]] = field(default_factory=dict)

    def rate_of(self, currency: str, years: float | None = None) -> float:
        """The continuously compounded rate of a currency at `years` (the curve's shortest tenor when not given)."""
        points = self.curves.get(currency)
        if points:
            tenors, rates = zip(*points, strict=True)
            return float(np.interp(min(tenors) if years is None else years, tenors, rates))
        return float(self.rates.get(currency, self.rate))

    def __post_init__(self) -> None:
        if self.seed_policy not in SEED_POLICIES:
            raise ValueError(f"seed_policy is one of {', '.join(SEED_POLICIES)}, not {self.seed_policy!r}")
        if self.shrinkage not in SHRINKAGE:
            raise ValueError(f"shrinkage is one of {', '.join(SHRINKAGE)}, not {self.shrinkage!r}")
        if len(self.reporting_currency) != 3 or not self.reporting_currency.isupper():
            raise ValueError(f"the reporting currency is an ISO code such as USD, not {self.reporting_currency!r}")
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


def ledoit_wolf(returns: np.ndarray) -> tuple[np.ndarray, float]:
    """Ledoit and Wolf's (2004) shrinkage of the zero-mean sample covariance towards the scaled
    identity, with their estimate of the optimal intensity: (matrix, intensity in [0, 1])."""
    days, factors = returns.shape
    sample = sample_covariance(returns)
    if factors == 1:
        return sample, 0.0
    mu = float(np.trace(sample)) / factors
    target_distance = float(np.sum((sample - mu * np.eye(factors)) ** 2)) / factors
    if target_distance == 0.0:
        return sample, 0.0
    squares = returns**2
    # sum over days of ||x x' - S||_F^2, without forming the days x factors x factors array
    spread = float(np.sum(squares.T @ squares) / days - np.sum(sample**2)) / days / factors
    intensity = min(spread, target_distance) / target_distance
    return intensity * mu * np.eye(factors) + (1.0 - intensity) * sample, float(intensity)


def correlation_shrinkage(returns: np.ndarray) -> tuple[np.ndarray, float]:
    """Ledoit-Wolf shrinkage of the correlation matrix towards the identity, each factor keeping
    its own sample variance: the intensity is Ledoit and Wolf's on the standardised returns (whose
    scaled-identity target is the identity). The scaled-identity target on the covariance itself
    pulls every variance towards the average one: FX volatilities up, equity ones down."""
    vols = np.sqrt(np.mean(returns**2, axis=0))
    if np.any(vols == 0.0):
        raise ValueError("a factor that never moved has no correlation (the data-quality checks exclude it)")
    correlation, intensity = ledoit_wolf(returns / vols)  # the standardised returns' mean variance is 1: the target is the identity
    return correlation * np.outer(vols, vols), intensity


def smallest_correlation_eigenvalue(matrix: np.ndarray) -> float:
    """The smallest eigenvalue of the correlation matrix of a covariance (0 for a singular one)."""
    vols = np.sqrt(np.diag(matrix))
    if np.any(vols == 0.0):
        return 0.0
    return float(np.linalg.eigvalsh(matrix / np.outer(vols, vols))[0])


@dataclass(frozen=True)
class CovarianceEstimate:
    matrix: np.ndarray
    rank: int  # of the estimate before shrinkage and jitter
    shrinkage: float  # Ledoit-Wolf intensity applied (0: none)
    estimator: str
    smallest_eigenvalue: float = 1.0  # of the unshrunk estimate's correlation matrix
    unshrunk: np.ndarray | None = None  # the estimate before shrinkage, where it was shrunk

    def describe(self) -> dict[str, object]:
        return {
            "estimator": self.estimator,
            "factors": int(self.matrix.shape[0]),
            "rank": self.rank,
            "shrinkage": self.shrinkage,
            "smallest_correlation_eigenvalue": self.smallest_eigenvalue,
        }


def covariance_settings(parameters: ModelParameters) -> tuple[str, float, str]:
    """What estimate_covariance reads of the parameters: two sets equal in these estimate the same covariance."""
    return parameters.covariance, parameters.ewma_lambda, parameters.shrinkage


@one_blas_thread  # its rank and eigenvalue the same on any worker (riskbatch.model.blas_threads)
def estimate_covariance(returns: np.ndarray, parameters: ModelParameters) -> CovarianceEstimate:
    """The covariance of the factors' daily log returns, with the diagnostics the report shows. A factor
    that never moved (a hard-pegged currency) is a constant: zero variance and covariance, the others'
    estimate (and its shrinkage) made without it."""
    constant = np.all(returns == 0.0, axis=0)
    if constant.any() and not constant.all():
        inner = estimate_covariance(returns[:, ~constant], parameters)
        block = np.ix_(~constant, ~constant)
        matrix = np.zeros((returns.shape[1], returns.shape[1]))
        matrix[block] = inner.matrix
        unshrunk = None
        if inner.unshrunk is not None:
            unshrunk = np.zeros_like(matrix)
            unshrunk[block] = inner.unshrunk
        estimator = f"{inner.estimator}; {int(constant.sum())} constant factor(s) (a hard peg) at zero variance"
        return CovarianceEstimate(matrix, inner.rank, inner.shrinkage, estimator, inner.smallest_eigenvalue, unshrunk)
    raw = ewma_covariance(returns, parameters.ewma_lambda) if parameters.covariance == "ewma" else sample_covariance(returns)
    rank = int(np.linalg.matrix_rank(raw))
    factors = returns.shape[1]
    smallest = smallest_correlation_eigenvalue(raw) if factors > 1 else 1.0
    # "auto": only when the sample covariance is not usable as it is: rank-deficient, or its
    # correlation matrix (near) singular, which is where factors approach the number of days.
    unusable = rank < factors or smallest < MIN_CORRELATION_EIGENVALUE
    wanted = parameters.shrinkage == "ledoit-wolf" or (parameters.shrinkage == "auto" and unusable)
    if wanted and parameters.covariance == "sample":
        matrix, intensity = correlation_shrinkage(returns)
        return CovarianceEstimate(matrix, rank, intensity, "sample, Ledoit-Wolf shrinkage of the correlations", smallest, raw)
    return CovarianceEstimate(raw, rank, 0.0, "EWMA" if parameters.covariance == "ewma" else "sample", smallest)


def covariance(returns: np.ndarray, parameters: ModelParameters) -> np.ndarray:
    return estimate_covariance(returns, parameters).matrix


@one_blas_thread  # the same factor to the last bit whatever the worker's vCPUs, on one BLAS kernel (riskbatch.model.blas_threads)
def cholesky_with_jitter(cov: np.ndarray) -> tuple[np.ndarray, float]:
    """Lower Cholesky factor, and the diagonal jitter (relative to the mean variance) it needed:
    a matrix that is positive semi-definite but singular needs a tiny one. A factor of zero variance
    (a constant) keeps a zero row: it never moves in any scenario."""
    constant = np.diag(cov) == 0.0
    if constant.any() and not constant.all():
        inner, jitter = cholesky_with_jitter(cov[np.ix_(~constant, ~constant)])
        lower = np.zeros_like(cov)
        lower[np.ix_(~constant, ~constant)] = inner  # still lower-triangular: rows and columns removed alike
        return lower, jitter
    scale = float(np.mean(np.diag(cov))) or 1.0
    for jitter in (0.0, 1e-12, 1e-10, 1e-8):
        try:
            return np.linalg.cholesky(cov + np.eye(cov.shape[0]) * jitter * scale), jitter
        except np.linalg.LinAlgError:
            continue
    raise ValueError("the covariance matrix is not positive semi-definite")


def cholesky_factor(cov: np.ndarray) -> np.ndarray:
    return cholesky_with_jitter(cov)[0]


def factor_keys(factors: list[str]) -> np.ndarray:
    """A stable number per factor name: the key of its stream of draws."""
    return np.array([int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") for name in factors], dtype=np.uint64)


def scenario_block(
    parameters: ModelParameters,
    block: int,
    cholesky: np.ndarray,
    keys: np.ndarray,
    out: np.ndarray | None = None,
    triangular: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Scenario block `block` (rows block*block_size ...) of factor log returns over the horizon,
    scenarios x factors (a view of factor-major memory: `out`, factors x scenarios, where given).

    Factor j's normals in block b come from the stream (seed, b, keys[j]) alone: any worker can
    draw any block and get the same numbers to the last digit, and a factor keeps its draws when
    other factors join or leave the book. `triangular`: the Cholesky factor as built (lower
    triangular, in its draw order) and the market row of each of its rows; the product is then a
    triangular one (half the flops of `cholesky`'s full product, the same returns to rounding).
    """
    start = block * parameters.block_size
    rows = min(parameters.block_size, parameters.scenarios - start)
    if rows <= 0:
        raise IndexError(f"block {block} is past the last scenario")
    if len(keys) != cholesky.shape[0]:
        raise ValueError("one stream key per factor")
    order = triangular[1] if triangular is not None else np.arange(len(keys))
    in_place = triangular is not None and out is not None and bool(np.all(order == np.arange(len(keys))))
    # one contiguous row per factor's stream, in the product's order; drawn in `out` where the draw
    # order is the market's (the product is then made in place, with no array of normals beside it)
    by_factor = out if in_place else np.empty((len(keys), rows))
    # each row its factor's stream (seed, block, key), numpy's numbers drawn in compiled code on every core
    from riskbatch.model.normal_streams import fill_normal_streams  # imports numba: after the kernels' CPU is chosen

    fill_normal_streams(by_factor, [parameters.seed, block], keys[order])
    out = np.empty((len(keys), rows)) if out is None else out
    if triangular is None:
        np.matmul(cholesky, by_factor, out=out)
    elif in_place:
        product = _lower_product(triangular[0], by_factor)
        if not np.shares_memory(product, out):  # scipy copies an operand it cannot overwrite
            out[:] = product
    else:
        np.take(_lower_product(triangular[0], by_factor), np.argsort(order), axis=0, out=out)  # each factor's row in the market's order
    returns = out.T  # scenarios x factors, stored factor-major: the kernels read it so without a copy
    if parameters.distribution == "student-t":
        nu = parameters.degrees_of_freedom
        # Multivariate t with the same covariance: a common chi-square mixing per scenario.
        mixing_stream = np.random.Generator(np.random.PCG64(np.random.SeedSequence([parameters.seed, block, 0])))
        mixing = np.sqrt((nu - 2.0) / mixing_stream.chisquare(nu, size=rows))
        returns *= mixing[:, None]
    if parameters.horizon_days != 1:  # in place: a block is the run's largest array, and x 1 changes nothing
        returns *= np.sqrt(parameters.horizon_days)
    return returns


def _lower_product(lower: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """lower @ normals, written over the normals (C order) where BLAS can: its triangular product
    on the transposes, normals.T being Fortran-ordered (no copy). Called on the caller's thread,
    between two of numba's kernels, as the full product was."""
    from scipy.linalg.blas import dtrmm

    return dtrmm(1.0, lower, normals.T, side=1, lower=1, trans_a=1, overwrite_b=1).T


def block_count(parameters: ModelParameters) -> int:
    return -(-parameters.scenarios // parameters.block_size)


def black_scholes(
    spot: np.ndarray, strike: np.ndarray, years: np.ndarray, vol: np.ndarray, rate: np.ndarray | float, is_call: np.ndarray, dividend: np.ndarray | float = 0.0
) -> np.ndarray:
    """European option prices with a continuous dividend yield (Merton); arrays broadcast together."""
    from scipy.special import ndtr
    years = np.maximum(years, 1e-12)
    root = vol * np.sqrt(years)
    d1 = (np.log(spot / strike) + (rate - dividend + 0.5 * vol * vol) * years) / root
    d2 = d1 - root
    discounted = strike * np.exp(-rate * years)
    forward_spot = spot * np.exp(-dividend * years)
    call = forward_spot * ndtr(d1) - discounted * ndtr(d2)
    return np.where(is_call, call, call - forward_spot + discounted)


def value_at_risk(pnl: np.ndarray, confidence: float) -> float:
    """VaR at `confidence` as a positive loss: the loss exceeded in (1 - confidence) of scenarios."""
    return float(-np.quantile(pnl, 1.0 - confidence, method="lower"))


def expected_shortfall(pnl: np.ndarray, confidence: float) -> float:
    """Mean loss in the worst (1 - confidence) share of scenarios, as a positive amount."""
    tail = max(1, int(np.floor(len(pnl) * (1.0 - confidence))))
    worst = np.partition(pnl, tail - 1)[:tail]
    return float(-worst.mean())


def var_interval(pnl: np.ndarray, confidence: float, coverage: float = 0.95) -> tuple[float, float]:
    """Distribution-free interval for VaR from the order statistics: the count of scenarios below
    the true quantile is binomial(n, 1 - confidence)."""
    from scipy.stats import binom
    n = len(pnl)
    ordered = np.sort(pnl)
    low = int(binom.ppf((1 - coverage) / 2, n, 1 - confidence))
    high = int(binom.ppf((1 + coverage) / 2, n, 1 - confidence))
    return float(-ordered[min(high, n - 1)]), float(-ordered[max(low - 1, 0)])


def risk_figures(pnl: np.ndarray) -> dict[str, object]:
    """VaR 95 %, VaR 97.5 %, VaR 99 % and ES 97.5 % as positive losses, and a 95 % interval for each
    (VaR 97.5 % is backtested beside VaR 99 %, the level ES 97.5 % is set at)."""
    if not np.all(np.isfinite(pnl)):
        raise ValueError(f"{int(np.sum(~np.isfinite(pnl)))} scenario P&L value(s) are not finite: no figure can be computed")
    return {
        "var_95": value_at_risk(pnl, 0.95),
        "var_975": value_at_risk(pnl, 0.975),
        "var_99": value_at_risk(pnl, 0.99),
        "es_975": expected_shortfall(pnl, 0.975),
        "ci_95": {
            "var_95": var_interval(pnl, 0.95),
            "var_975": var_interval(pnl, 0.975),
            "var_99": var_interval(pnl, 0.99),
            "es_975": es_interval(pnl, 0.975),
        },
    }


def parametric_var(exposures: np.ndarray, cov: np.ndarray, confidence: float, horizon_days: int = 1) -> float:
    """Closed-form VaR of a linear book under zero-mean normal log returns (delta approximation)."""
    from scipy.stats import norm

    sigma = float(np.sqrt(exposures @ cov @ exposures) * np.sqrt(horizon_days))
    return float(norm.ppf(confidence) * sigma)

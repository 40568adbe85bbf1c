#!/usr/bin/env python3
"""Monte Carlo VaR against closed forms: the error in units of the estimator's sampling error.

Prints, for a single lognormal position (exact closed form) and a diversified 40-factor linear
book (delta-normal closed form), the Monte Carlo VaR, the closed form, their difference and the
difference divided by the sampling standard error of the Monte Carlo quantile.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from riskbatch.engine import build_book, portfolio_pnl
from riskbatch.model import ModelParameters, log_returns, parametric_var, sample_covariance, value_at_risk
from riskbatch.synthetic import linear_book, market_from_covariance


def standard_error(sigma: float, confidence: float, scenarios: int) -> float:
    tail = 1.0 - confidence
    return sigma * np.sqrt(tail * (1.0 - tail) / scenarios) / norm.pdf(norm.ppf(confidence))


def main() -> None:
    print(f"{'book':<28}{'scenarios':>10}{'conf':>6}{'Monte Carlo':>14}{'closed form':>14}{'error %':>9}{'error/SE':>10}")
    single = market_from_covariance(np.array([[0.02**2]]))
    rng = np.random.default_rng(3)
    loadings, vols = rng.normal(0, 1, (40, 3)), rng.uniform(0.005, 0.02, 40)
    corr = loadings @ loadings.T + np.eye(40) * 3
    corr /= np.sqrt(np.outer(np.diag(corr), np.diag(corr)))
    diversified = market_from_covariance(corr * np.outer(vols, vols))
    books = [
        ("1 position, lognormal", single, {0: 1_000_000.0}),
        ("40 factors, long/short", diversified, {i: float(rng.normal(0, 1_000_000)) for i in range(40)}),
    ]
    for name, market, exposures in books:
        book = build_book(linear_book({"PF1": exposures}, market), market)
        cov = sample_covariance(log_returns(market.prices))
        vector = book.exposures[0]
        sigma = float(np.sqrt(vector @ cov @ vector))
        for scenarios in (10_000, 100_000):
            pnl = portfolio_pnl(book, market, ModelParameters(scenarios=scenarios, seed=2026))[0]
            for confidence in (0.95, 0.99):
                if len(exposures) == 1:
                    closed = float(-vector[0] * np.expm1(np.sqrt(cov[0, 0]) * norm.ppf(1 - confidence)))
                else:
                    closed = parametric_var(vector, cov, confidence)
                mc = value_at_risk(pnl, confidence)
                error = mc - closed
                se = standard_error(sigma, confidence, scenarios)
                relative = 100 * error / closed
                print(f"{name:<28}{scenarios:>10,}{confidence:>6.2f}{mc:>14,.0f}{closed:>14,.0f}{relative:>9.3f}{error / se:>10.2f}")


if __name__ == "__main__":
    main()

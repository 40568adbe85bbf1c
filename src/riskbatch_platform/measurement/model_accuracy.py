"""Monte Carlo VaR against closed forms: the error in units of the estimator's sampling error.

Each case has an exact (or, for the diversified book, delta-normal) closed form for its VaR:

- a single lognormal position;
- a diversified 40-factor linear book (delta-normal; the exp(r) - 1 convexity is the rest);
- 1m USD against JPY for a USD reporter: 1m x (exp(z sigma) - 1);
- a EUR stock for a USD reporter: lognormal in the sum of the stock's and EURUSD's returns;
- a long call (monotone in the spot, so its VaR is the price change at the spot's quantile);
- a single position under Student-t scenarios (5 degrees of freedom, same variance).

The standard error is that of a Monte Carlo quantile: sqrt(p (1 - p) / n) / density at the
quantile, mapped through the position's value. |error / SE| above 3 means a defect, not noise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from scipy.stats import norm, t

from riskbatch.inputs.files import Market
from riskbatch.inputs.sample import business_days
from riskbatch.inputs.synthetic import linear_book, market_from_covariance
from riskbatch.model.engine import build_book, portfolio_pnl, risk_model
from riskbatch.model.risk_model import ModelParameters, black_scholes, log_returns, parametric_var, sample_covariance, value_at_risk

DATE = dt.date(2026, 11, 18)  # a Wednesday whose next business day is Thursday: one day of time decay


@dataclass(frozen=True)
class Case:
    name: str
    market: Market
    positions: pa.Table
    # confidence -> (closed-form VaR, standard error of the Monte Carlo VaR with n scenarios)
    closed: Callable[[float, int], tuple[float, float]]
    parameters: dict


def _market(vols: dict[str, float], spots: dict[str, float], currencies: tuple = ()) -> Market:
    """Independent factors whose zero-mean sample variance is exactly vol^2."""
    rng = np.random.default_rng(1)
    returns = rng.standard_normal((499, len(vols)))
    returns = returns / np.sqrt((returns**2).mean(axis=0)) * np.array(list(vols.values()))
    log_prices = np.vstack([np.zeros(len(vols)), np.cumsum(returns, axis=0)])
    prices = np.exp(log_prices - log_prices[-1]) * np.array(list(spots.values()))
    return Market(DATE, business_days(DATE, 500), list(vols), prices, currencies=currencies)


def _rows(*rows: dict) -> pa.Table:
    keys = ("portfolio_id", "position_id", "instrument_type", "underlying", "quantity", "strike", "expiry", "option_type", "implied_vol")
    kinds = (pa.string(),) * 4 + (pa.float64(), pa.float64(), pa.date32(), pa.string(), pa.float64())
    return pa.table({key: pa.array([row.get(key) for row in rows], kind) for key, kind in zip(keys, kinds, strict=True)})


def _normal_quantile_se(scale: float, confidence: float, scenarios: int) -> float:
    tail = 1.0 - confidence
    return scale * np.sqrt(tail * (1.0 - tail) / scenarios) / norm.pdf(norm.ppf(confidence))


def _lognormal(value: float, sigma: float) -> Callable[[float, int], tuple[float, float]]:
    """A long holding worth `value` whose log return is normal(0, sigma^2)."""

    def closed(confidence: float, scenarios: int) -> tuple[float, float]:
        quantile = sigma * norm.ppf(1 - confidence)
        return float(-value * np.expm1(quantile)), _normal_quantile_se(value * sigma * np.exp(quantile), confidence, scenarios)

    return closed


def cases() -> list[Case]:
    found = []
    single = market_from_covariance(np.array([[0.02**2]]))
    sigma = float(np.sqrt(sample_covariance(log_returns(single.prices))[0, 0]))
    found.append(Case("1 position, lognormal", single, linear_book({"PF1": {0: 1e6}}, single), _lognormal(1e6, sigma), {}))

    rng = np.random.default_rng(3)
    loadings, vols = rng.normal(0, 1, (40, 3)), rng.uniform(0.005, 0.02, 40)
    corr = loadings @ loadings.T + np.eye(40) * 3
    corr /= np.sqrt(np.outer(np.diag(corr), np.diag(corr)))
    diversified = market_from_covariance(corr * np.outer(vols, vols))
    exposures = {i: float(rng.normal(0, 1e6)) for i in range(40)}
    vector = np.array([exposures[i] for i in range(40)])
    cov = sample_covariance(log_returns(diversified.prices))
    spread = float(np.sqrt(vector @ cov @ vector))
    found.append(
        Case(
            "40 factors, long/short",
            diversified,
            linear_book({"PF1": exposures}, diversified),
            lambda c, n: (parametric_var(vector, cov, c), _normal_quantile_se(spread, c, n)),
            {},
        )
    )

    fx = _market({"FX_USDJPY": 0.006}, {"FX_USDJPY": 150.0})

    def usd_jpy(confidence: float, scenarios: int) -> tuple[float, float]:
        # P&L 1m x (1 - exp(-r)): the loss is at the low quantile of r, -sigma z; VaR 1m x (exp(sigma z) - 1)
        quantile = 0.006 * norm.ppf(confidence)
        return float(1e6 * np.expm1(quantile)), _normal_quantile_se(1e6 * 0.006 * np.exp(quantile), confidence, scenarios)

    fx_position = {"portfolio_id": "A", "position_id": "F", "instrument_type": "fx", "underlying": "FX_USDJPY", "quantity": 1e6}
    found.append(Case("USDJPY 1m, USD reporter", fx, _rows(fx_position), usd_jpy, {}))

    eur = _market({"SAP": 0.015, "FX_EURUSD": 0.007}, {"SAP": 200.0, "FX_EURUSD": 1.10}, currencies=("EUR", None))
    combined = float(np.sqrt(sample_covariance(log_returns(eur.prices)).sum()))
    found.append(
        Case(
            "EUR stock, USD reporter",
            eur,
            _rows({"portfolio_id": "A", "position_id": "E", "instrument_type": "equity", "underlying": "SAP", "quantity": 5_000.0}),
            _lognormal(5_000 * 200.0 * 1.10, combined),
            {},
        )
    )

    call = _market({"SPX": 0.012}, {"SPX": 100.0})

    def long_call(confidence: float, scenarios: int) -> tuple[float, float]:
        quantile = 0.012 * norm.ppf(1 - confidence)
        price = lambda spot, years: black_scholes(np.array(spot), np.array(100.0), np.array(years), np.array(0.25), 0.03, np.array(True))  # noqa: E731
        change = float(price(100.0 * np.exp(quantile), 181 / 365) - price(100.0, 182 / 365)) * 1_000.0
        bump = 1e-5
        slope = (float(price(100.0 * np.exp(quantile + bump), 181 / 365) - price(100.0 * np.exp(quantile - bump), 181 / 365)) / (2 * bump)) * 1_000.0
        return -change, _normal_quantile_se(slope * 0.012, confidence, scenarios)

    option = {"portfolio_id": "A", "position_id": "C", "instrument_type": "option", "underlying": "SPX", "quantity": 1_000.0, "strike": 100.0,
              "expiry": DATE + dt.timedelta(days=182), "option_type": "call", "implied_vol": 0.25}  # fmt: skip
    found.append(Case("long call, full revaluation", call, _rows(option), long_call, {}))

    nu = 5.0
    scale = sigma * np.sqrt((nu - 2.0) / nu)

    def student(confidence: float, scenarios: int) -> tuple[float, float]:
        quantile = scale * t.ppf(1 - confidence, nu)
        tail = 1.0 - confidence
        density = t.pdf(quantile / scale, nu) / scale
        return float(-1e6 * np.expm1(quantile)), float(1e6 * np.exp(quantile) * np.sqrt(tail * (1 - tail) / scenarios) / density)

    heavy = {"distribution": "student-t", "degrees_of_freedom": nu}
    found.append(Case("1 position, Student-t (5)", single, linear_book({"PF1": {0: 1e6}}, single), student, heavy))
    return found


def main(argv: list[str] | None = None) -> int:
    import argparse

    from riskbatch.operations.aws_access import CommandParser, guarded

    parser = CommandParser(prog="riskbatch-model-accuracy", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args(argv)  # no options: --help describes the table and stops
    return guarded(parser.prog, _table)


def _table() -> int:
    print(f"{'book':<30}{'scenarios':>10}{'conf':>6}{'Monte Carlo':>14}{'closed form':>14}{'error %':>9}{'error/SE':>10}")
    for case in cases():
        for scenarios in (10_000, 100_000):
            parameters = ModelParameters(scenarios=scenarios, seed=2026, **case.parameters)
            book = build_book(case.positions, case.market, parameters)
            pnl = portfolio_pnl(book, case.market, parameters, risk_model(case.market, parameters))[0]
            for confidence in (0.95, 0.99):
                closed, se = case.closed(confidence, scenarios)
                mc = value_at_risk(pnl, confidence)
                error = mc - closed
                print(f"{case.name:<30}{scenarios:>10,}{confidence:>6.2f}{mc:>14,.0f}{closed:>14,.0f}{100 * error / closed:>9.3f}{error / se:>10.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

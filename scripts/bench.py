#!/usr/bin/env python3
"""make bench: the risk engine against the bound of its irreducible steps, a first-version baseline,
peak memory at two scenario counts, and the wall time of a local night.

The bound is the same work as bare numpy/scipy calls on the full arrays, measured in the same
run: the normal draws, the correlation product, the aggregated linear P&L product, and
Black-Scholes (scipy's normal CDF) for every option in every scenario. The last line is
`risk engine: X.XX x bound` for the large book.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import ndtr

from riskbatch.engine import build_book, market_cholesky, portfolio_pnl
from riskbatch.inputs import load_market
from riskbatch.model import CALENDAR_DAYS, ModelParameters, black_scholes, cholesky_factor, covariance, log_returns
from riskbatch.sample import SampleSpec, market_table, positions_table

REPO_ROOT = Path(__file__).resolve().parents[1]
VCPUS = os.cpu_count() or 1


@dataclass(frozen=True)
class BookSize:
    name: str
    positions: int
    factors: int
    scenarios: int


def make_book(size: BookSize, option_share: float = 0.10):
    # More days of history than factors, so that the sample covariance has full rank.
    spec = SampleSpec(positions=size.positions, factors=size.factors, days=max(260, size.factors + 120), option_share=option_share, seed=11)
    table = market_table(spec)
    market = load_market(table, "bench", spec.business_date)
    positions = positions_table(spec, market.factors, market.spot)
    return market, build_book(positions, market), positions


def timed(function, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def bound_seconds(market, book, parameters: ModelParameters) -> dict[str, float]:
    """The irreducible steps as bare library calls on the full arrays."""
    cholesky = market_cholesky(market, parameters)
    steps: dict[str, float] = {}
    started = time.perf_counter()
    normals = np.random.default_rng(1).standard_normal((parameters.scenarios, len(market.factors)))
    steps["normals"] = time.perf_counter() - started
    started = time.perf_counter()
    returns = normals @ cholesky.T
    steps["correlation product"] = time.perf_counter() - started
    del normals
    started = time.perf_counter()
    _ = np.expm1(returns) @ book.exposures.T
    steps["linear P&L product"] = time.perf_counter() - started
    if book.option_count:
        spot = market.spot[book.option_factor]
        years = book.option_years - parameters.horizon_days / CALENDAR_DAYS
        started = time.perf_counter()
        shocked = spot * np.exp(returns[:, book.option_factor])
        del returns
        root = book.option_vol * np.sqrt(years)
        d1 = (np.log(shocked / book.option_strike) + (parameters.rate + 0.5 * book.option_vol**2) * years) / root
        discounted = book.option_strike * np.exp(-parameters.rate * years)
        call = shocked * ndtr(d1) - discounted * ndtr(d1 - root)
        del d1
        price = np.where(book.option_is_call, call, call - shocked + discounted)
        base = black_scholes(spot, book.option_strike, book.option_years, book.option_vol, parameters.rate, book.option_is_call)
        _ = (price - base) * book.option_quantity
        steps["Black-Scholes, every option in every scenario"] = time.perf_counter() - started
    return steps


def baseline_seconds(market, positions, parameters: ModelParameters) -> float:
    """A first version: one position at a time, vectorised over scenarios only."""
    cholesky = cholesky_factor(covariance(log_returns(market.prices), parameters))
    rng = np.random.default_rng(1)
    returns = rng.standard_normal((parameters.scenarios, len(market.factors))) @ cholesky.T
    started = time.perf_counter()
    totals: dict[str, np.ndarray] = {}
    rows = positions.to_pylist()
    for row in rows:
        factor = market.factor_index(row["underlying"])
        spot = market.spot[factor]
        if row["instrument_type"] == "option":
            years = (row["expiry"] - market.business_date).days / CALENDAR_DAYS
            today = black_scholes(
                np.array(spot),
                np.array(row["strike"]),
                np.array(years),
                np.array(row["implied_vol"]),
                parameters.rate,
                np.array(row["option_type"] == "call"),
            )
            shocked = black_scholes(
                spot * np.exp(returns[:, factor]),
                np.array(row["strike"]),
                np.array(years - 1 / CALENDAR_DAYS),
                np.array(row["implied_vol"]),
                parameters.rate,
                np.array(row["option_type"] == "call"),
            )
            pnl = (shocked - today) * row["quantity"]
        else:
            pnl = row["quantity"] * spot * np.expm1(returns[:, factor])
        totals[row["portfolio_id"]] = totals.get(row["portfolio_id"], 0.0) + pnl
    return time.perf_counter() - started


def peak_memory_mb(size: BookSize, scenarios: int) -> float:
    """Peak RSS of a fresh process that revalues the book in `scenarios` scenarios."""
    code = (
        "import sys; sys.path.insert(0, 'scripts');"
        "from bench import BookSize, make_book; from riskbatch.engine import portfolio_pnl; from riskbatch.model import ModelParameters;"
        f"size = BookSize('m', {size.positions}, {size.factors}, {scenarios});"
        "market, book, _ = make_book(size);"
        f"portfolio_pnl(book, market, ModelParameters(scenarios={scenarios}));"
        # VmHWM is this process's own peak; ru_maxrss would report the parent's peak at fork.
        "print([line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM')][0])"
    )
    output = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    return int(output.strip().splitlines()[-1]) / 1024


def night_seconds() -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "scripts/local_demo.py", "--suffix", "bench", "--out", str(REPO_ROOT / "out" / "bench")],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller books (a smoke run)")
    parser.add_argument("--skip-night", action="store_true")
    args = parser.parse_args(argv)
    sizes = [BookSize("small", 2_000, 100, 20_000), BookSize("large", 20_000, 500, 100_000)]
    if args.quick:
        sizes = [BookSize("small", 500, 40, 5_000), BookSize("large", 2_000, 100, 10_000)]
    print(f"machine: {VCPUS} vCPU, numpy {np.__version__}; times are the best of repeated runs, in seconds")
    warm_market, warm_book, _ = make_book(BookSize("warm", 200, 20, 1_000))
    portfolio_pnl(warm_book, warm_market, ModelParameters(scenarios=1_000))  # compile the kernels first
    ratio = 1.0
    results = {}
    for size in sizes:
        market, book, positions = make_book(size)
        parameters = ModelParameters(scenarios=size.scenarios, seed=3)
        cholesky = market_cholesky(market, parameters)
        engine = timed(
            lambda book=book, market=market, parameters=parameters, cholesky=cholesky: portfolio_pnl(book, market, parameters, cholesky),
            repeat=2,
        )
        steps = bound_seconds(market, book, parameters)
        bound = sum(steps.values())
        ratio = engine / bound
        reduced_positions = min(1_000, size.positions)
        reduced = ModelParameters(scenarios=min(5_000, size.scenarios), seed=3)
        baseline = (
            baseline_seconds(market, positions.slice(0, reduced_positions), reduced)
            * (size.positions / reduced_positions)
            * (size.scenarios / reduced.scenarios)
        )
        revaluations = size.positions * size.scenarios
        options = f"{book.option_count:,} options, {book.unique_option_count:,} distinct"
        print(f"\n{size.name} book: {size.positions:,} positions ({options}) over {size.factors} factors, {size.scenarios:,} scenarios")
        print(f"  engine            {engine:8.2f} s   {revaluations / engine / VCPUS:14,.0f} position-scenario revaluations per second per vCPU")
        for name, seconds in steps.items():
            print(f"  bound: {name:<40} {seconds:8.2f} s")
        print(f"  bound (sum)       {bound:8.2f} s   engine / bound = {ratio:.2f}")
        scaled = f"{reduced_positions:,} x {reduced.scenarios:,}, scaled"
        print(f"  baseline (loop over positions, {scaled}) {baseline:8.1f} s   engine / baseline = {engine / baseline:.3f}")
        results[size.name] = {"engine": engine, "bound": bound, "baseline": baseline, "steps": steps}
    medium = BookSize("medium", 5_000 if not args.quick else 1_000, 200 if not args.quick else 60, 0)
    low, high = (50_000, 200_000) if not args.quick else (5_000, 20_000)
    rss_low, rss_high = peak_memory_mb(medium, low), peak_memory_mb(medium, high)
    growth = f"{rss_high / rss_low:.2f} x for {high // low} x the scenarios"
    book_text = f"{medium.positions:,} positions over {medium.factors} factors"
    print(f"\npeak RSS, {book_text}: {rss_low:,.0f} MB at {low:,} scenarios, {rss_high:,.0f} MB at {high:,} ({growth})")
    if not args.skip_night:
        print(f"whole local night (make demo: emulator, deployment, 3,000 positions, 10,000 scenarios): {night_seconds():.1f} s")
    (REPO_ROOT / "out").mkdir(exist_ok=True)
    (REPO_ROOT / "out" / "bench.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"risk engine: {ratio:.2f} x bound")
    return 0


if __name__ == "__main__":
    sys.exit(main())

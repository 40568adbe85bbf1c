"""make bench: the risk engine against the bound of its irreducible steps, a first-version baseline,
peak memory at two scenario counts, the wall time of a local night, and (when podman is present) the
containers: each image's size, a task's start to its first unit, and the night's critical path in
the jobs' containers at month-end scale beside riskbatch plan's prediction.

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

import numpy as np
from scipy.special import ndtr

from riskbatch.engine import build_book, horizon_calendar_days, portfolio_pnl, risk_model
from riskbatch.inputs import load_market, validate_positions
from riskbatch.model import CALENDAR_DAYS, ModelParameters, black_scholes, cholesky_factor, covariance, log_returns
from riskbatch.sample import SampleSpec, market_table, positions_table
from riskbatch_platform import REPO_ROOT

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
    positions = validate_positions(positions_table(spec, market.factors, market.spot), "bench", market, spec.business_date).valid
    return market, build_book(positions, market, ModelParameters(scenarios=size.scenarios or 100)), positions


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
    cholesky = risk_model(market, parameters).cholesky
    steps: dict[str, float] = {}
    started = time.perf_counter()
    normals = np.random.default_rng(1).standard_normal((parameters.scenarios, len(market.factors)))
    steps["normals"] = time.perf_counter() - started
    started = time.perf_counter()
    returns = normals @ cholesky.T
    steps["correlation product"] = time.perf_counter() - started
    del normals
    started = time.perf_counter()
    _ = np.expm1(book.conversion.augmented(returns)) @ book.exposures.T
    steps["linear P&L product"] = time.perf_counter() - started
    if book.option_count:
        # every option position on its own (no merging of equal terms), flat rate, no dividend
        of = book.unique_of_option
        factor, strike, vol, is_call = book.unique_factor[of], book.unique_strike[of], book.unique_vol[of], book.unique_is_call[of]
        spot = market.spot[factor]
        years = book.unique_years[of] - horizon_calendar_days(market.business_date, parameters.horizon_days) / CALENDAR_DAYS
        started = time.perf_counter()
        shocked = spot * np.exp(returns[:, factor])
        del returns
        root = vol * np.sqrt(years)
        d1 = (np.log(shocked / strike) + (parameters.rate + 0.5 * vol**2) * years) / root
        discounted = strike * np.exp(-parameters.rate * years)
        call = shocked * ndtr(d1) - discounted * ndtr(d1 - root)
        del d1
        price = np.where(is_call, call, call - shocked + discounted)
        base = black_scholes(spot, strike, book.unique_years[of], vol, parameters.rate, is_call)
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
        "from riskbatch_platform.measurement.bench import BookSize, make_book;"
        "from riskbatch.engine import portfolio_pnl; from riskbatch.model import ModelParameters;"
        f"size = BookSize('m', {size.positions}, {size.factors}, {scenarios});"
        "market, book, _ = make_book(size);"
        f"portfolio_pnl(book, market, ModelParameters(scenarios={scenarios}));"
        # VmHWM is this process's own peak; ru_maxrss would report the parent's peak at fork.
        "print([line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM')][0])"
    )
    output = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    return int(output.strip().splitlines()[-1]) / 1024


def contributions_memory_mb(positions: int, factors: int, scenarios: int, measure: bool) -> float:
    """Peak RSS of a fresh process that builds the book and its risk model and, with `measure`,
    computes every position's mean P&L in the firm's tail (the report's ES contributions)."""
    code = (
        "import numpy as np;"
        "from riskbatch_platform.measurement.bench import BookSize, make_book; from riskbatch.engine import position_tail_means, risk_model;"
        "from riskbatch.model import ModelParameters;"
        f"size = BookSize('c', {positions}, {factors}, {scenarios}); parameters = ModelParameters(scenarios={scenarios});"
        "market, book, _ = make_book(size); model = risk_model(market, parameters);"
        f"rows = np.arange(0, {scenarios}, 40);"  # the 2.5 % tail
        + ("position_tail_means(book, market, parameters, rows, model);" if measure else "")
        + "print([line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM')][0])"
    )
    output = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    return int(output.strip().splitlines()[-1]) / 1024


def month_end_seconds(positions: int, factors: int, scenarios: int) -> dict[str, float]:
    """The risk-plus-report work of a month-end night in one process (each step as its job does it):
    risk: the whole book's scenario P&L; report: the figures with intervals, the ES breakdown, the
    challengers, the backtest's hypothetical P&L and the day-over-day explanation (two more full
    revaluations of the previous night's book, here the same book)."""
    from riskbatch.challengers import challenger_figures
    from riskbatch.engine import position_tail_means
    from riskbatch.explain import explain_var_change
    from riskbatch.history import backtest_entry
    from riskbatch.model import risk_figures
    from riskbatch.run_inputs import RunBook

    market, book, table = make_book(BookSize("month-end", positions, factors, scenarios))
    parameters = ModelParameters(scenarios=scenarios)
    model = risk_model(market, parameters)
    run = RunBook(parameters, market, table, book, model)
    timings = {}
    started = time.perf_counter()
    pnl = portfolio_pnl(book, market, parameters, model)
    timings["risk: scenario P&L of the book"] = time.perf_counter() - started
    started = time.perf_counter()
    firm = pnl.sum(axis=0)
    figures = risk_figures(firm)
    per_portfolio = {name: risk_figures(row) for name, row in zip(book.portfolio_ids, pnl, strict=True)}
    tail = np.argpartition(firm, int(scenarios * 0.025) - 1)[: int(scenarios * 0.025)]
    position_tail_means(book, market, parameters, tail, model)
    timings["report: figures and ES breakdown"] = time.perf_counter() - started
    started = time.perf_counter()
    challenger_figures(book, market, parameters)
    timings["report: historical and stressed VaR"] = time.perf_counter() - started
    record = {"business_date": str(market.as_of), "var": {"firm": figures, "portfolios": per_portfolio}}
    started = time.perf_counter()
    backtest_entry(record, run, market)
    tonight = {"firm": figures["var_99"], **{name: values["var_99"] for name, values in per_portfolio.items()}}
    explain_var_change(record, run, run, tonight)
    timings["report: backtest and day-over-day explanation"] = time.perf_counter() - started
    return timings


def night_seconds() -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "riskbatch-demo", "--suffix", "bench", "--out", str(REPO_ROOT / "out" / "bench")],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller books (a smoke run)")
    parser.add_argument("--skip-night", action="store_true")
    parser.add_argument("--skip-containers", action="store_true", help="leave out the containers part (run when podman is present)")
    parser.add_argument("--containers-only", action="store_true", help="only the containers part")
    parser.add_argument(
        "--container-night", type=_scale, default=None, metavar="POSITIONS,FACTORS,SCENARIOS",
        help="the containers part's night (default: month-end, 80000,500,100000; --quick: 4000,100,20000)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.containers_only:
        return containers_part(args)
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
        model = risk_model(market, parameters)
        engine = timed(
            lambda book=book, market=market, parameters=parameters, model=model: portfolio_pnl(book, market, parameters, model),
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
    print("\nreport's ES contributions (100,000 scenarios, 2,500 tail scenarios), memory above the book itself:")
    sizes_c = (5_000, 20_000, 80_000) if not args.quick else (1_000, 4_000)
    for positions in sizes_c:
        extra = contributions_memory_mb(positions, 200, 100_000, True) - contributions_memory_mb(positions, 200, 100_000, False)
        dense = 2_500 * positions * 8 / 1024**2
        print(f"  {positions:>7,} positions: +{max(extra, 0.0):6,.0f} MB (a dense tail x positions matrix would be {dense:,.0f} MB)")
    month_end = BookSize("month-end", 80_000, 500, 100_000) if not args.quick else BookSize("month-end", 4_000, 100, 20_000)
    timings = month_end_seconds(month_end.positions, month_end.factors, month_end.scenarios)
    risk = timings["risk: scenario P&L of the book"]
    print(f"\nmonth-end night, {month_end.positions:,} positions, {month_end.factors} factors, {month_end.scenarios:,} scenarios, one process:")
    for name, seconds in timings.items():
        print(f"  {name:<50} {seconds:8.1f} s   {seconds / risk:5.2f} x the risk step")
    report = sum(seconds for name, seconds in timings.items() if name.startswith("report"))
    from riskbatch.plan import REPORT_REVALUATIONS

    print(f"  report work / risk work = {report / risk:.2f} (riskbatch plan assumes {REPORT_REVALUATIONS:.2f}; the report runs after the risk workers)")
    results["month_end"] = timings
    if not args.skip_night:
        print(f"whole local night (make demo: emulator, deployment, 3,000 positions, 100,000 scenarios): {night_seconds():.1f} s")
    (REPO_ROOT / "out").mkdir(exist_ok=True)
    (REPO_ROOT / "out" / "bench.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    if not args.skip_containers:
        containers_part(args)
    print(f"risk engine: {ratio:.2f} x bound")
    return 0


def _scale(text: str):
    from riskbatch_platform.measurement.container_bench import NightScale

    try:
        positions, factors, scenarios = (int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("three integers: positions,factors,scenarios") from None
    return NightScale(positions, factors, scenarios)


def containers_part(args: argparse.Namespace) -> int:
    """The images' sizes, a task's start to its first unit, and the critical path of a night in the
    jobs' containers (src/riskbatch_platform/measurement/container_bench.py), when podman is on this machine."""
    from riskbatch_platform.local.podman import missing_tools
    from riskbatch_platform.measurement.container_bench import MONTH_END, NightScale, print_container_bench, run_container_bench

    if missing_tools():
        print(f"\ncontainers: skipped ({', '.join(missing_tools())} missing: make container-tools)")
        return 0
    scale = args.container_night or (NightScale(4_000, 100, 20_000) if args.quick else MONTH_END)
    started = time.monotonic()

    def say(line: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {line}", file=sys.stderr, flush=True)

    result = run_container_bench(REPO_ROOT / "out" / "bench-containers", scale, say)
    print_container_bench(result)
    (REPO_ROOT / "out").mkdir(exist_ok=True)
    (REPO_ROOT / "out" / "bench-containers.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

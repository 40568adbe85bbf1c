"""make bench: the risk engine against the bound of its irreducible steps, a first-version baseline,
peak memory at two scenario counts, the month-end night's report work against its risk work, the
wall time of a local night, and (when podman is present) the containers: each image's size, a
task's start to its first unit, and the night's critical path in the jobs' containers at
month-end scale beside riskbatch plan's prediction.

The bound (measurement/engine_bound.py) is an independent implementation of the same work, sharing
no kernel with the engine, each step as fast as this project can write it, measured in the same
run: the normal draws, the triangular Cholesky product, the linear P&L, and each distinct option
revalued once per scenario in its own compiled kernel on every core. Beside it, for the month-end
book: the engine's steps against the bound's, the arithmetic limit (measurement/limit.py) and the
memory the call adds against one block's arrays. The last line is `risk engine: X.XX x bound` for
the month-end book.
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
import pyarrow as pa

from riskbatch.inputs.files import load_market, validate_positions
from riskbatch.inputs.sample import SampleSpec, market_table, positions_table
from riskbatch.model.engine import build_book, portfolio_pnl, risk_model
from riskbatch.model.risk_model import CALENDAR_DAYS, ModelParameters, black_scholes, cholesky_factor, covariance, log_returns
from riskbatch.operations.aws_access import bounded
from riskbatch_platform import REPO_ROOT
from riskbatch_platform.measurement.engine_bound import bound_seconds, distinct_options, draw_rows, warm_up
from riskbatch_platform.measurement.limit import engine_steps, print_bound, print_gap, print_limit

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
        "from riskbatch.model.engine import portfolio_pnl; from riskbatch.model.risk_model import ModelParameters;"
        f"size = BookSize('m', {size.positions}, {size.factors}, {scenarios});"
        "market, book, _ = make_book(size);"
        f"portfolio_pnl(book, market, ModelParameters(scenarios={scenarios}));"
        # VmHWM is this process's own peak; ru_maxrss would report the parent's peak at fork.
        "print([line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM')][0])"
    )
    output = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    return int(output.strip().splitlines()[-1]) / 1024


def added_memory_mb(size: BookSize) -> tuple[float, float]:
    """The memory a whole-book call adds at its peak, above what the process held before it and the
    call's result, in a fresh process with the kernels loaded (VmHWM reset through clear_refs, see
    proc(5)); and one block's arrays (extended returns and exp(r) - 1) to measure it in."""
    code = (
        "import gc; from riskbatch_platform.measurement.bench import BookSize, make_book;"
        "from riskbatch.model.engine import portfolio_pnl, risk_model; from riskbatch.model.risk_model import ModelParameters;"
        f"size = BookSize('m', {size.positions}, {size.factors}, {size.scenarios});"
        f"market, book, _ = make_book(size); parameters = ModelParameters(scenarios={size.scenarios}); model = risk_model(market, parameters);"
        "small = ModelParameters(scenarios=1_000); portfolio_pnl(book, market, small, risk_model(market, small)); gc.collect();"
        "status = lambda key: int([line.split()[1] for line in open('/proc/self/status') if line.startswith(key)][0]);"
        "open('/proc/self/clear_refs', 'w').write('5'); before = status('VmRSS');"
        "pnl = portfolio_pnl(book, market, parameters, model);"
        "print(status('VmHWM') - before - pnl.nbytes // 1024, (len(market.factors) + len(book.conversion.currencies)) * parameters.block_size * 16 // 1024)"
    )
    output = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    added, block = (int(part) for part in output.strip().splitlines()[-1].split())
    return added / 1024, block / 1024


def contributions_memory_mb(positions: int, factors: int, scenarios: int, measure: bool) -> float:
    """Peak RSS of a fresh process that builds the book and its risk model and, with `measure`,
    computes every position's mean P&L in the firm's tail (the report's ES contributions)."""
    code = (
        "import numpy as np;"
        "from riskbatch_platform.measurement.bench import BookSize, make_book; from riskbatch.model.engine import position_tail_means, risk_model;"
        "from riskbatch.model.risk_model import ModelParameters;"
        f"size = BookSize('c', {positions}, {factors}, {scenarios}); parameters = ModelParameters(scenarios={scenarios});"
        "market, book, _ = make_book(size); model = risk_model(market, parameters);"
        f"rows = np.arange(0, {scenarios}, 40);"  # the 2.5 % tail
        + ("position_tail_means(book, market, parameters, rows, model);" if measure else "")
        + "print([line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM')][0])"
    )
    output = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    return int(output.strip().splitlines()[-1]) / 1024


UNIT_POSITIONS = 1_000  # RISK_UNIT_POSITIONS' default: the units ingestion cuts


def month_end_seconds(positions: int, factors: int, scenarios: int) -> tuple[dict[str, float], dict[str, float], dict[str, float], int]:
    """The risk-plus-report work of a month-end night in one process, each step as its job does it:
    risk, unit by unit (a worker's scenario cache kept between its units): the units' scenario
    P&L, and their share of the previous night's revaluations for the backtest and the explanation
    (here the previous night is the same book and market: the same work as a night apart); report:
    the units' results summed, the figures with intervals and the ES breakdown, the challengers, and
    the backtest and explanation from the sums. Then the whole book in one call of the engine and
    the bound on the same book: (timings, bound steps, engine seconds)."""
    from riskbatch.aws.layout import share_of_units
    from riskbatch.jobs.risk_calculation import ScenarioCache
    from riskbatch.model.risk_model import risk_figures
    from riskbatch.model.run_inputs import RunBook
    from riskbatch.reporting.figures import es_breakdown
    from riskbatch.validation.challengers import challenger_figures
    from riskbatch.validation.history import night_record
    from riskbatch.validation.previous_night import PreviousNight, PreviousNightSums, unit_part

    market, book, table = make_book(BookSize("month-end", positions, factors, scenarios))
    parameters = ModelParameters(scenarios=scenarios)
    model = risk_model(market, parameters)
    ordered = table.sort_by([("portfolio_id", "ascending"), ("position_id", "ascending")])  # as ingestion orders a run before cutting it
    units = [ordered.slice(start, UNIT_POSITIONS) for start in range(0, ordered.num_rows, UNIT_POSITIONS)]
    night = PreviousNight("previous", {"units": []}, market, parameters, model, risk_model(market, parameters, model.draw_order), market, [])
    cache = ScenarioCache(2048 * 1024 * 1024)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    results = []
    for unit in units:
        unit_book = build_book(unit, market, parameters)
        tonight_blocks = cache.source(("tonight",), parameters, model, unit_book.conversion)
        results.append((unit_book.portfolio_ids, portfolio_pnl(unit_book, market, parameters, model, prepared=tonight_blocks)))
    timings[f"risk: scenario P&L, {len(units)} units"] = time.perf_counter() - started
    started = time.perf_counter()
    parts = []
    for share in share_of_units(len(units), len(units)):
        previous = pa.concat_tables([units[j] for j in share]) if share else None
        tonight_blocks = cache.source(("tonight",), parameters, model, book.conversion)
        recomputed = cache.source(("previous", "tonight"), parameters, night.recomputed_model, book.conversion)
        parts.append(unit_part(night, share, previous, parameters, market, model, tonight_blocks, recomputed))
    timings[f"risk: the previous night's backtest and explanation revaluations, {len(units)} units"] = time.perf_counter() - started
    del cache
    started = time.perf_counter()
    index = {name: i for i, name in enumerate(book.portfolio_ids)}
    pnl, sums = np.zeros((len(index), scenarios)), PreviousNightSums()
    for number, ((names, unit_pnl), part) in enumerate(zip(results, parts, strict=True)):
        for name, row in zip(names, unit_pnl, strict=True):
            pnl[index[name]] += row
        sums.add(part, number)
    timings["report: the units' results summed"] = time.perf_counter() - started
    del results, parts
    started = time.perf_counter()
    firm = pnl.sum(axis=0)
    figures = risk_figures(firm)
    per_portfolio = {name: risk_figures(row) for name, row in zip(book.portfolio_ids, pnl, strict=True)}
    run = RunBook(parameters, market, table, build_book(table, market, parameters), model)  # the report builds tonight's whole book
    es_breakdown(run, firm)
    timings["report: figures and ES breakdown"] = time.perf_counter() - started
    started = time.perf_counter()
    challenger_figures(run.book, market, parameters)
    timings["report: historical and stressed VaR"] = time.perf_counter() - started
    record = night_record(str(market.as_of), "previous", "USD", figures, per_portfolio, None)
    started = time.perf_counter()
    assert sums.unusable_for("previous", len(units)) is None
    sums.backtest(record, market.business_date, None, [])
    tonight = {"firm": figures["var_99"], **{name: values["var_99"] for name, values in per_portfolio.items()}}
    sums.explain(record, tonight, firm)
    timings["report: backtest and day-over-day explanation, from the sums"] = time.perf_counter() - started
    del pnl
    options = distinct_options(table, market, book, parameters)
    warm_up(book, options, len(market.factors))
    engine = min((engine_steps(book, market, parameters, model) for _ in range(3)), key=lambda found: sum(found.values()))
    # each step's best of three runs: the machine is noisy, and a bound should be the fastest each step went
    runs = [bound_seconds(model.cholesky, draw_rows(model, market), book, options, scenarios, model.keys, parameters.seed) for _ in range(3)]
    steps = {name: min(run[name] for run in runs) for name in runs[0]}
    return timings, steps, engine, options.count


def report_share_lines(timings: dict[str, float]) -> list[str]:
    """The report's work against the risk work, both read from one process's timings: against all of
    it, and (the strict reading) against tonight's P&L alone, the work tonight's figures need; the
    previous night's revaluations, which the risk workers now do, are then left out of the
    denominator. Neither holds the report's reads, its PDF or its writes: the containers part does."""
    from riskbatch.operations.plan import REPORT_REVALUATIONS, RISK_REVALUATIONS

    risk = sum(seconds for name, seconds in timings.items() if name.startswith("risk"))
    report = sum(seconds for name, seconds in timings.items() if name.startswith("report"))
    tonight = next(seconds for name, seconds in timings.items() if name.startswith("risk: scenario P&L"))
    counted = f"riskbatch plan counts {RISK_REVALUATIONS:.1f} book revaluations on the risk workers and {REPORT_REVALUATIONS:.2f} on the report's task"
    return [
        f"report work / risk work = {report / risk:.2f} ({counted})",
        f"report work / tonight's P&L alone = {report / tonight:.2f} (the strict reading: the report's computations in this process against"
        " the risk work tonight's figures need, the previous night's revaluations left out; no reads, PDF or writes: see the containers part)",
    ]


def night_seconds() -> float:
    started = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).with_name("riskbatch-demo")), "--suffix", "bench", "--out", str(REPO_ROOT / "out" / "bench")],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


@bounded("riskbatch-bench")
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
        options = distinct_options(positions, market, book, parameters)
        warm_up(book, options, len(market.factors))
        steps = bound_seconds(model.cholesky, draw_rows(model, market), book, options, size.scenarios, model.keys, parameters.seed)
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
        print_bound(steps, engine)
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
    added, block = added_memory_mb(month_end)
    print(f"\nmemory a month-end whole-book call adds at its peak, beyond its result: {added:,.0f} MB")
    print(f"  = {added / block:.2f} x one block's arrays (extended returns and exp(r) - 1: {block:,.0f} MB)")
    timings, steps, engine, month_end_options = month_end_seconds(month_end.positions, month_end.factors, month_end.scenarios)
    risk = sum(seconds for name, seconds in timings.items() if name.startswith("risk"))
    report = sum(seconds for name, seconds in timings.items() if name.startswith("report"))
    text = f"{month_end.positions:,} positions, {month_end.factors} factors, {month_end.scenarios:,} scenarios"
    print(f"\nmonth-end night, {text}, one process, units of {UNIT_POSITIONS:,} positions:")
    for name, seconds in timings.items():
        print(f"  {name:<78} {seconds:8.1f} s   {seconds / risk:5.2f} x the risk work")
    for line in report_share_lines(timings):
        print(f"  {line}")
    whole = sum(engine.values())
    print(f"\nmonth-end book, the whole book in one call: engine {whole:.2f} s")
    ratio = print_bound(steps, whole)
    print_gap(engine, steps)
    print_limit(month_end_options, month_end.factors, month_end.scenarios, whole, sum(steps.values()))
    results["month_end"] = {**timings, "report / risk": report / risk, "engine": engine, "bound": sum(steps.values()), "steps": steps}
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

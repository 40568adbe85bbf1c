"""The engine's month-end call taken apart step by step, beside the bound's steps, and the
arithmetic limit of the work on this machine: the flops of one option in one scenario, counted in
the compiled kernels' LLVM IR (the bound's and the engine's), times the distinct options and the
scenarios, plus the triangular Cholesky product, at the machine's peak measured in the same run.
"""

from __future__ import annotations

import gc
import time

import numba
from numba import types

from riskbatch.model.engine import portfolio_pnl
from riskbatch.model.kernels import call_price
from riskbatch.model.risk_model import ModelParameters
from riskbatch_platform.measurement.independent_kernels import FAST, flops_per_option_scenario, ir_flops, peak_gflops, triangular_flops

ENGINE_STEPS = ("scenario draws", "blocks prepared", "linear and option kernels")


def engine_steps(book, market, parameters: ModelParameters, model) -> dict[str, float]:
    """One whole-book call of the engine, taken apart: the scenario draws (a stream per factor and
    block, filled on every core, then the Cholesky product), the blocks prepared for the kernels
    (the currencies' returns, exp(r) - 1), and the rest of the call (the kernels, linear and options,
    and the book's terms). The blocks are drawn into one block's arrays, as the call does by itself.
    The steps add up to the call."""
    from riskbatch.model.engine_blocks import BlockArrays

    seconds = dict.fromkeys(ENGINE_STEPS, 0.0)
    arrays = BlockArrays(book.conversion, min(parameters.block_size, parameters.scenarios))

    def prepared(block: int):
        started = time.perf_counter()
        drawn = arrays.draw(parameters, model, block)
        finished = time.perf_counter()
        result = arrays.complete(*drawn)
        seconds["scenario draws"] += finished - started
        seconds["blocks prepared"] += time.perf_counter() - finished
        return result

    gc.collect()
    started = time.perf_counter()
    portfolio_pnl(book, market, parameters, model, prepared=prepared)
    seconds["linear and option kernels"] = time.perf_counter() - started - seconds["scenario draws"] - seconds["blocks prepared"]
    return seconds


def print_gap(engine: dict[str, float], bound: dict[str, float]) -> None:
    """The engine's steps beside the bound's that do the same work, and the gap of each: the draws
    (the bound's normals and Cholesky product), then the revaluation (the bound's linear step
    includes the currencies' returns and exp(r) - 1, which the engine does as it prepares a block)."""
    names = list(bound)
    groups = [
        ("scenario draws", ["scenario draws"], ("normals", "factor returns")),
        ("blocks prepared, kernels", ["blocks prepared", "linear and option kernels"], ("linear", "distinct")),
    ]
    print("  the gap, step by step (engine against the bound's steps that do the same work):")
    for label, steps, prefixes in groups:
        mine = sum(engine[step] for step in steps)
        against = sum(bound[name] for name in names if name.startswith(prefixes))
        parts = ", ".join(f"{step} {engine[step]:.2f} s" for step in steps)
        print(f"    {label:<26} engine {mine:6.2f} s ({parts})   bound {against:6.2f} s   gap {mine - against:+6.2f} s ({mine / against:.2f} x)")


def print_bound(steps: dict[str, float], engine: float) -> float:
    """Each step of the bound with its seconds, their sum, and the engine against it."""
    for name, seconds in steps.items():
        print(f"  bound: {name:<50} {seconds:8.2f} s")
    bound = sum(steps.values())
    print(f"  bound (sum){' ' * 45}{bound:8.2f} s   engine / bound = {engine / bound:.2f}")
    return engine / bound


@numba.njit(fastmath=FAST, error_model="numpy")
def _engine_option_scenario(move, growth, vol_up, vol_down, fx, m, f0, s, inverse_s, d, inverse_d, put, base, weight, into):
    """One option in one scenario as the engine's kernel (riskbatch.model.kernels._changes and its
    weighting into a portfolio) does it, with a moving volatility and a currency: its flops counted."""
    shocked = f0 * growth
    change = (call_price(m + move, s * vol_up, inverse_s * vol_down, shocked, d, inverse_d) + put * (d - shocked)) * fx - base
    return into + weight * change


def print_limit(options: int, factors: int, scenarios: int, engine: float, bound: float) -> float:
    """The arithmetic limit of the month-end call and the engine's and the bound's multiples of it."""
    peak = peak_gflops()
    per_option, engine_per_option = flops_per_option_scenario(), ir_flops(_engine_option_scenario, (types.float64,) * 15)
    triangular = triangular_flops(factors, scenarios)
    limit = (per_option * options * scenarios + triangular) / (peak * 1e9)
    print(f"  arithmetic limit: {per_option} flops per option-scenario (counted in the bound's compiled kernel; the engine's: {engine_per_option})")
    print(f"    x {options:,} distinct options x {scenarios:,} scenarios + {triangular / 1e9:.1f} GFLOP of triangular product")
    print(f"    at the machine's measured peak of {peak:.0f} GFLOP/s ({numba.get_num_threads()} threads, FMA) = {limit:.2f} s")
    print(f"  engine / arithmetic limit = {engine / limit:.2f} (the engine's share of the peak: {limit / engine:.0%}); bound / limit = {bound / limit:.2f}")
    return limit

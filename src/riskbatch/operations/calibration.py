"""`riskbatch plan --calibrate`: the engine's rates on this machine, each kind of work measured on its own.

The plan predicts a night from three rates (riskbatch.operations.plan): option positions revalued
per CPU-second, linear positions revalued per CPU-second, and the scenario draws (scenario x
factor^2 per CPU-second). Each is timed here by itself: the book's options alone, its linear
positions alone (both on scenario blocks drawn and prepared beforehand, so that no draw is in their
time), then the draws alone (the blocks drawn and prepared, as the engine's call does). A rate is
never the difference of two timings: the old calibration subtracted separately timed draws from a
whole call on a book of 4,000 positions and 200 factors, where the draws are most of the call, and
on a quiet machine found 5.0e9 position-scenarios per vCPU-second, six times what the month-end
engine does (80,000 x 100,000 in 4.79 s on 2 vCPU, draws included).

The clock is the CPU time of this process (every thread of it), not the wall clock: on a shared
machine a process may get a fraction of its cores, and wall time x cores then counts time the
process did not run. On a machine of its own the two agree where the work is parallel; CPU time
leaves out a serial part's idle cores, which the plan's vCPU-seconds would count.

The stored rates (calibration.json, which `riskbatch plan` reads) are written by
`python -m riskbatch.operations.calibration` on the machine they describe: it measures as
`--calibrate` does and writes the rates over the stored file, keeping its memory figures (the
container night's measurement, which no calibration of the engine makes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from riskbatch.operations.plan import CALIBRATION, Calibration, load_calibration

MEASURED_ELSEWHERE = ("runtime_mib", "runtime_measured", "container_peak_mib")  # the container night's, not the engine's


@dataclass(frozen=True)
class CalibrationBook:
    """The sample book the rates are measured on: a night's proportions (positions far more than factors)."""

    positions: int = 20_000
    factors: int = 300
    scenarios: int = 16_384  # two blocks of the engine's
    option_share: float = 0.10
    seed: int = 5


@dataclass(frozen=True)
class Measured:
    """CPU-seconds of each kind of work on one book, and how much of it there was."""

    option_positions: int
    linear_positions: int
    factors: int
    scenarios: int
    option_seconds: float
    linear_seconds: float
    draw_seconds: float


def _cpu_seconds(work) -> float:
    started = time.process_time()
    work()
    return time.process_time() - started


def measure(shape: CalibrationBook) -> Measured:
    """The book's options, its linear positions and its draws, each timed alone in CPU-seconds."""
    import pyarrow.compute as pc

    from riskbatch.inputs.files import load_market, validate_positions
    from riskbatch.inputs.sample import SampleSpec, market_table, positions_table
    from riskbatch.model.engine import build_book, portfolio_pnl, prepared_block, risk_model
    from riskbatch.model.risk_model import ModelParameters, block_count, scenario_block

    spec = SampleSpec(positions=shape.positions, factors=shape.factors, days=260, option_share=shape.option_share, seed=shape.seed)
    market = load_market(market_table(spec), "calibration", spec.business_date)
    positions = validate_positions(positions_table(spec, market.factors, market.spot), "calibration", market, spec.business_date).valid
    is_option = pc.equal(positions["instrument_type"], "option")
    options, linear = positions.filter(is_option), positions.filter(pc.invert(is_option))
    parameters = ModelParameters(scenarios=shape.scenarios, seed=1)
    model = risk_model(market, parameters)
    books = [build_book(table, market, parameters) for table in (options, linear)]
    for book in books:  # compiled before anything is timed
        portfolio_pnl(book, market, ModelParameters(scenarios=1_000), model)

    def draws() -> list:
        """Each block drawn and prepared as the engine's call does before revaluing it (the normals,
        the correlation product, the currencies' returns and exp(r) - 1): work that grows with the
        factors, not with the positions."""
        conversion, blocks = books[0].conversion, range(block_count(parameters))
        return [prepared_block(scenario_block(parameters, block, model.cholesky, model.keys, triangular=model.triangular), conversion) for block in blocks]

    drawn = draws()
    seconds = [_cpu_seconds(lambda book=book: portfolio_pnl(book, market, parameters, model, prepared=drawn.__getitem__)) for book in books]
    return Measured(options.num_rows, linear.num_rows, shape.factors, shape.scenarios, seconds[0], seconds[1], _cpu_seconds(draws))


def calibrate(shape: CalibrationBook = CalibrationBook(), today: str | None = None) -> Calibration:
    """The rates of `shape`'s book on this machine, in CPU-seconds (a vCPU-second each)."""
    import numpy as np

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    found = measure(shape)
    option_rate = found.option_positions * found.scenarios / max(found.option_seconds, 1e-9)
    linear_rate = found.linear_positions * found.scenarios / max(found.linear_seconds, 1e-9)
    return Calibration(
        # a position-scenario of a book with 10 % options, as the plan's night holds by default
        revaluations_per_vcpu_second=1.0 / (0.1 / option_rate + 0.9 / linear_rate),
        scenario_factor2_per_vcpu_second=found.scenarios * found.factors**2 / max(found.draw_seconds, 1e-9),
        measured_on=f"{platform.machine()}, {cores} vCPU, numpy {np.__version__}",
        measured_at=today or time.strftime("%Y-%m-%d"),
        option_revaluations_per_vcpu_second=option_rate,
        linear_revaluations_per_vcpu_second=linear_rate,
        measured_by=(
            f"CPU time of the process; {found.option_positions:,} options and {found.linear_positions:,} linear positions, "
            f"{found.factors} factors, {found.scenarios:,} scenarios; load average {load:.1f} on {cores} vCPU when it began"
        ),
    )


def with_stored_memory(measured: Calibration, stored: Calibration) -> Calibration:
    """`measured`'s rates with `stored`'s memory figures, which a calibration of the engine does not measure."""
    return replace(measured, **{name: getattr(stored, name) for name in MEASURED_ELSEWHERE})


def store(measured: Calibration, path: Path = CALIBRATION) -> Calibration:
    """Write `measured`'s rates over the calibration stored at `path`, keeping its memory figures."""
    written = with_stored_memory(measured, load_calibration(path))
    path.write_text(json.dumps(asdict(written), indent=2) + "\n", encoding="utf-8")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m riskbatch.operations.calibration",
        description="measure the engine's rates on this machine (as riskbatch plan --calibrate) and store them for riskbatch plan",
    )
    parser.add_argument("--file", type=Path, default=CALIBRATION, help="the calibration to update (default: the one riskbatch plan reads)")
    written = store(calibrate(), parser.parse_args(argv).file)
    print(f"{written.revaluations_per_vcpu_second:,.0f} revaluations/s/vCPU ({written.measured_by}) written to the calibration")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The compiled kernels, compiled when the image is built, so that no task compiles at start.

`python -m riskbatch.model.precompile` (a RUN of the risk-calculation and report-generation Dockerfiles)
revalues a small book through the engine's own entry points, so that every kernel is compiled for
exactly the argument types a night passes, into NUMBA_CACHE_DIR (/scratch/numba). The image
declares /scratch a VOLUME: Fargate copies the image's directory into the task's volume at start
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/bind-mounts.html, "To expose a path
and its contents from a Dockerfile"), where numba reads it and could write a new entry (numba
refuses a cache directory it cannot write: it tests it with a temporary file first).

A cache entry is keyed by the kernel's signature and the CPU it was compiled for (name and
features: "If the CPU model and the CPU features do not match exactly, the cache contents will not
be considered", https://numba.pydata.org/numba-doc/0.48.0/developer/caching.html), and the index
is valid while the source file's modification time and size are those it recorded. The images
compile the kernels for two CPU names, generic (the baseline x86-64) and x86-64-v3 (AVX2 and FMA),
with no CPU features beyond the name's (`--every-target`), and a task picks the one its processor
runs (riskbatch.model.kernel_cpu), so the key matches on every Fargate host. The source file's stamp is
the one pip gave it when the image was built, and the image keeps it.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any


def kernel_origins() -> dict[str, dict[str, int]]:
    """Per kernel: the signatures loaded from the cache and those compiled in this process."""
    from riskbatch.model import kernels, normal_streams

    origins = {}
    compiled = [(kernels, name) for name in ("option_pnl_into", "option_change", "linear_pnl", "growth_into")] + [(normal_streams, "streams_into")]
    for module, name in compiled:
        stats = getattr(module, name).stats
        origins[name] = {"from_cache": sum(stats.cache_hits.values()), "compiled": sum(stats.cache_misses.values())}
    return origins


def compile_kernels() -> dict[str, Any]:
    """Run every kernel through the engine on a small book with options, vol factors and foreign currencies."""
    import numpy as np

    from riskbatch.inputs.files import load_market, validate_positions
    from riskbatch.inputs.sample import SampleSpec, market_table, positions_table
    from riskbatch.model.engine import build_book, portfolio_pnl, position_pnl, position_tail_means, risk_model
    from riskbatch.model.risk_model import ModelParameters

    spec = SampleSpec(positions=300, factors=40, days=260, option_share=0.3, seed=5)
    market = load_market(market_table(spec), "precompile", spec.business_date)
    positions = validate_positions(positions_table(spec, market.factors, market.spot), "precompile", market, spec.business_date).valid
    parameters = ModelParameters(scenarios=2_000)
    book = build_book(positions, market, parameters)
    model = risk_model(market, parameters)
    started = time.monotonic()
    pnl = portfolio_pnl(book, market, parameters, model)
    rows = np.argsort(pnl.sum(axis=0))[:50]
    position_tail_means(book, market, parameters, rows, model)
    position_pnl(book, market, parameters, rows[:5], model)
    return {"seconds": round(time.monotonic() - started, 1), "options": book.unique_option_count, "kernels": kernel_origins()}


def _complete(result: dict[str, Any]) -> bool:
    return bool(result["options"]) and all(origin["compiled"] or origin["from_cache"] for origin in result["kernels"].values())


def compile_every_target() -> dict[str, Any]:
    """The kernels compiled for each target a task may pick (riskbatch.model.kernel_cpu), each in a
    process of its own (numba reads its CPU settings once, at import). x86-64-v3 only where this
    machine can run it: the build runs each kernel once."""
    import os
    import subprocess
    from pathlib import Path

    from riskbatch.model.kernel_cpu import GENERIC, X86_64_V3, cpu_flags, record_built_targets, target_for

    targets = [GENERIC] + ([X86_64_V3] if target_for(cpu_flags()) == X86_64_V3 else [])
    results = {}
    for target in targets:
        environment = {**os.environ, "NUMBA_CPU_NAME": target, "NUMBA_CPU_FEATURES": ""}
        done = subprocess.run([sys.executable, "-m", "riskbatch.model.precompile"], env=environment, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"compiling the kernels for {target} failed: {done.stderr[-2000:]}")
        results[target] = json.loads(done.stdout)
    if os.environ.get("NUMBA_CACHE_DIR"):
        # what a task may choose among (riskbatch.model.kernel_cpu.built_targets)
        record_built_targets(Path(os.environ["NUMBA_CACHE_DIR"]), [target for target in targets if _complete(results[target])])
    return results


if __name__ == "__main__":
    if sys.argv[1:] == ["--every-target"]:
        every = compile_every_target()
        print(json.dumps(every))
        sys.exit(0 if all(_complete(result) for result in every.values()) else 1)
    result = compile_kernels()
    print(json.dumps(result))
    sys.exit(0 if _complete(result) else 1)

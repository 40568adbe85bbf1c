"""The compiled kernels the risk and report images carry, for the runner's process mode.

The images compile every kernel when they are built (`python -m riskbatch.model.precompile --every-target`,
a RUN of their Dockerfiles) into NUMBA_CACHE_DIR under /scratch, which they declare a VOLUME: Fargate copies
the image's directory into the task's volume at start, so no task compiles. A process has no image: without
this, each process task started with an empty scratch folder and compiled every kernel (minutes of CPU on a
loaded machine, for each report and risk task of a night). The kernels are compiled once, as the build does,
and copied into the scratch folder of each task whose image carries them, as the volume would be.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

PRECOMPILE = ["riskbatch.model.precompile", "--every-target"]


def image_carries_kernels(dockerfile: Path) -> bool:
    """Whether the image compiles the kernels when it is built (a RUN of its Dockerfile runs the precompile)."""
    lines = dockerfile.read_text(encoding="utf-8").splitlines()
    return any(line.startswith("RUN") and PRECOMPILE[0] in line for line in lines)


def compile_kernels(environment: dict[str, str], cache_dir: Path, timeout: float = 1800) -> Path:
    """The kernels compiled into cache_dir by the images' own build step (riskbatch.model.precompile), run with the
    task's environment (the image's ENV) and cache_dir for NUMBA_CACHE_DIR. The images compile for every target a
    Fargate host may pick; a process runs on this machine alone, so only its target is compiled (and recorded, so
    that each task picks it: riskbatch.model.kernel_cpu). Returns cache_dir."""
    from riskbatch.model.kernel_cpu import cpu_flags, record_built_targets, target_for

    target = target_for(cpu_flags())
    cache_dir.mkdir(parents=True, exist_ok=True)
    environment = {**environment, "NUMBA_CACHE_DIR": str(cache_dir), "NUMBA_CPU_NAME": target, "NUMBA_CPU_FEATURES": ""}
    done = subprocess.run([sys.executable, "-m", PRECOMPILE[0]], env=environment, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"compiling the images' kernels for {target} failed ({done.returncode}): {done.stderr[-2000:]}")
    record_built_targets(cache_dir, [target])
    return cache_dir


def copy_kernels(kernels: Path, cache_dir: Path) -> None:
    """A task's NUMBA_CACHE_DIR as its image's volume starts: holding the image's kernels (numba may add to it)."""
    shutil.copytree(kernels, cache_dir, dirs_exist_ok=True)

"""The CPU the compiled kernels are built for, chosen before numba is first imported.

Fargate does not let a task choose its processor ("This removes the need to choose server types",
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/AWS_Fargate.html). The kernels
vectorise over scenarios, so they run about twice as fast with AVX2 and FMA as with the baseline
x86-64 instructions (make bench). The images therefore carry them compiled twice
(`python -m riskbatch.model.precompile --every-target`): for the baseline (`generic`) and for x86-64-v3
(AVX2, FMA, BMI1/2, F16C, LZCNT, MOVBE). They set RISKBATCH_KERNEL_CPU=auto, and a task picks
x86-64-v3 where the processor's flags list every instruction of that level, and generic elsewhere.
The build records the targets it compiled (BUILT_TARGETS_FILE in NUMBA_CACHE_DIR): an image built on
a machine without AVX2 carries generic alone, and a task then picks generic even on an AVX2 host,
rather than compile every kernel at start.

NUMBA_CPU_FEATURES is set empty, so that numba's cache key is the CPU name alone: the same on every
host of that level. A NUMBA_CPU_NAME already set wins, and without RISKBATCH_KERNEL_CPU nothing is
chosen (numba compiles for the host, as on a laptop).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

GENERIC, X86_64_V3 = "generic", "x86-64-v3"
# Best first: a task takes the first of these its processor runs and the image carries.
TARGETS_BEST_FIRST = (X86_64_V3, GENERIC)
BUILT_TARGETS_FILE = "riskbatch-kernel-targets.json"
# The flags /proc/cpuinfo shows for x86-64-v3 and the levels below it (the x86-64 psABI's levels).
X86_64_V3_FLAGS = frozenset(
    {"cx16", "lahf_lm", "popcnt", "pni", "sse4_1", "sse4_2", "ssse3", "avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"}
)


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The first processor's flags (empty where the file is not there: not Linux, or not x86)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def target_for(flags: frozenset[str], built: frozenset[str] | None = None) -> str:
    """The kernels' target for a processor with these flags, among the targets built (any, when None)."""
    runnable = {GENERIC} | ({X86_64_V3} if flags >= X86_64_V3_FLAGS else set())
    for target in TARGETS_BEST_FIRST:
        if target in runnable and (built is None or target in built):
            return target
    return GENERIC


def record_built_targets(cache_dir: Path, targets: list[str]) -> Path:
    """Write which targets the image's build compiled, beside the kernels' cache."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    record = cache_dir / BUILT_TARGETS_FILE
    record.write_text(json.dumps({"targets": sorted(targets)}) + "\n", encoding="utf-8")
    return record


def built_targets(environ: dict[str, str] | os._Environ[str] = os.environ) -> frozenset[str] | None:
    """The targets the image's build recorded in NUMBA_CACHE_DIR, or None where nothing was recorded
    (a laptop, a test): any target may then be chosen."""
    cache_dir = environ.get("NUMBA_CACHE_DIR")
    if not cache_dir:
        return None
    try:
        recorded = json.loads((Path(cache_dir) / BUILT_TARGETS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    targets = frozenset(str(target) for target in recorded.get("targets", []) if target in TARGETS_BEST_FIRST)
    return targets or None


def select_kernel_cpu(environ: dict[str, str] | os._Environ[str] = os.environ, cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    """Set NUMBA_CPU_NAME (and NUMBA_CPU_FEATURES, empty) from RISKBATCH_KERNEL_CPU: `auto`, or a
    target named outright. Returns the target set, or None when nothing was chosen."""
    wanted = environ.get("RISKBATCH_KERNEL_CPU", "").strip()
    if not wanted or environ.get("NUMBA_CPU_NAME"):
        return None
    target = target_for(cpu_flags(cpuinfo), built_targets(environ)) if wanted == "auto" else wanted
    environ["NUMBA_CPU_NAME"] = target
    environ["NUMBA_CPU_FEATURES"] = ""
    return target

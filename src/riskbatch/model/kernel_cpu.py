"""The CPU the compiled kernels are built for, chosen before numba is first imported.

Fargate does not let a task choose its processor ("This removes the need to choose server types",
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/AWS_Fargate.html). The kernels
vectorise over scenarios, so they run about twice as fast with AVX2 and FMA as with the baseline
x86-64 instructions (make bench). The images therefore carry them compiled twice
(`python -m riskbatch.model.precompile --every-target`): for the baseline (`generic`) and for x86-64-v3
(AVX2, FMA, BMI1/2, F16C, LZCNT, MOVBE). They set RISKBATCH_KERNEL_CPU=auto, and a task picks
x86-64-v3 where the processor's flags list every instruction of that level, and generic elsewhere.

NUMBA_CPU_FEATURES is set empty, so that numba's cache key is the CPU name alone: the same on every
host of that level. A NUMBA_CPU_NAME already set wins, and without RISKBATCH_KERNEL_CPU nothing is
chosen (numba compiles for the host, as on a laptop).
"""

from __future__ import annotations

import os
from pathlib import Path

GENERIC, X86_64_V3 = "generic", "x86-64-v3"
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


def target_for(flags: frozenset[str]) -> str:
    """The kernels' target for a processor with these flags."""
    return X86_64_V3 if flags >= X86_64_V3_FLAGS else GENERIC


def select_kernel_cpu(environ: dict[str, str] | os._Environ[str] = os.environ, cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    """Set NUMBA_CPU_NAME (and NUMBA_CPU_FEATURES, empty) from RISKBATCH_KERNEL_CPU: `auto`, or a
    target named outright. Returns the target set, or None when nothing was chosen."""
    wanted = environ.get("RISKBATCH_KERNEL_CPU", "").strip()
    if not wanted or environ.get("NUMBA_CPU_NAME"):
        return None
    target = target_for(cpu_flags(cpuinfo)) if wanted == "auto" else wanted
    environ["NUMBA_CPU_NAME"] = target
    environ["NUMBA_CPU_FEATURES"] = ""
    return target

"""A task runs the kernels compiled for the best CPU level its processor has, and one the image carries.

Fargate does not let a task choose its processor
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/AWS_Fargate.html: "This removes the
need to choose server types"), so the choice is made at start from the processor's flags
(riskbatch.model.kernel_cpu), and the image carries the kernels for both choices (riskbatch.model.precompile).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from riskbatch.model.kernel_cpu import GENERIC, X86_64_V3, cpu_flags, record_built_targets, select_kernel_cpu, target_for

HASWELL = "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss ht syscall nx rdtscp lm constant_tsc"
HASWELL += " rep_good nopl xtopology cpuid pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand hypervisor"
HASWELL += " lahf_lm abm invpcid_single fsgsbase bmi1 avx2 smep bmi2 erms invpcid xsaveopt"
WESTMERE = "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss syscall nx lm pni ssse3 cx16 sse4_1 sse4_2"
WESTMERE += " popcnt lahf_lm"


def _cpuinfo(tmp_path: Path, flags: str) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: {flags}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("flags", "target"), [(HASWELL, X86_64_V3), (WESTMERE, GENERIC), (HASWELL.replace(" avx2", ""), GENERIC)])
def test_auto_picks_x86_64_v3_only_where_every_instruction_of_the_level_is_there(tmp_path: Path, flags: str, target: str) -> None:
    environ = {"RISKBATCH_KERNEL_CPU": "auto"}
    assert select_kernel_cpu(environ, _cpuinfo(tmp_path, flags)) == target
    assert environ["NUMBA_CPU_NAME"] == target
    assert environ["NUMBA_CPU_FEATURES"] == ""  # the cache key is the name alone, the same on every host of the level


def test_no_setting_or_numbas_own_leaves_the_choice_alone(tmp_path: Path) -> None:
    laptop: dict[str, str] = {}
    assert select_kernel_cpu(laptop, _cpuinfo(tmp_path, HASWELL)) is None and laptop == {}
    explicit = {"RISKBATCH_KERNEL_CPU": "auto", "NUMBA_CPU_NAME": "generic"}
    assert select_kernel_cpu(explicit, _cpuinfo(tmp_path, HASWELL)) is None and explicit["NUMBA_CPU_NAME"] == "generic"
    assert cpu_flags(tmp_path / "absent") == frozenset() and target_for(frozenset()) == GENERIC  # not Linux, or not x86


@pytest.mark.parametrize(("built", "target"), [([GENERIC], GENERIC), ([GENERIC, X86_64_V3], X86_64_V3), ([], X86_64_V3)])
def test_a_task_chooses_only_among_the_targets_the_image_recorded(tmp_path: Path, built: list[str], target: str) -> None:
    """An image built where x86-64-v3 could not run carries generic alone: an AVX2 host must pick it,
    not a target whose kernels it would compile at start (an empty record means no record)."""
    cache = tmp_path / "numba"
    record_built_targets(cache, built)
    environ = {"RISKBATCH_KERNEL_CPU": "auto", "NUMBA_CACHE_DIR": str(cache)}
    assert select_kernel_cpu(environ, _cpuinfo(tmp_path, HASWELL)) == target
    assert select_kernel_cpu({"RISKBATCH_KERNEL_CPU": "auto", "NUMBA_CACHE_DIR": str(cache)}, _cpuinfo(tmp_path, WESTMERE)) == GENERIC

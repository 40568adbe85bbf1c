"""The kernels compiled once (the image build) are loaded, not compiled, by every later process
that has the same cache, the same source file and the same CPU name; and numba will not use a
cache directory it cannot write, which is why the images keep theirs in the scratch volume."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from riskbatch.model.kernel_cpu import BUILT_TARGETS_FILE, GENERIC, X86_64_V3, cpu_flags, target_for
from riskbatch_platform import REPO_ROOT


def _precompile(cache: Path, *arguments: str, **environment: str | None) -> subprocess.CompletedProcess[str]:
    """riskbatch.model.precompile with the cache at `cache`, for the generic target as a task picks it (the name alone);
    a variable given as None is left unset."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "NUMBA_CPU_NAME": GENERIC, "NUMBA_CPU_FEATURES": "", "PYTHONPATH": str(REPO_ROOT / "src")}
    env = {name: value for name, value in {**env, **environment}.items() if value is not None}
    run = [sys.executable, "-m", "riskbatch.model.precompile", *arguments]
    return subprocess.run(run, env=env, capture_output=True, text=True, check=False, cwd=REPO_ROOT)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict]]:
    """The image build's step (--every-target), once for the module: it compiles every kernel for each target, most of
    these tests' time. Its cache, and what it reported per target; each test works on a copy, so none sees another's changes."""
    cache = tmp_path_factory.mktemp("built") / "numba"
    every = _precompile(cache, "--every-target", NUMBA_CPU_NAME=None, NUMBA_CPU_FEATURES=None)  # the build machine's own CPU decides the targets
    assert every.returncode == 0, every.stderr[-2000:]
    return cache, json.loads(every.stdout)


def _copy(built: tuple[Path, dict[str, dict]], tmp_path: Path) -> Path:
    return Path(shutil.copytree(built[0], tmp_path / "numba"))


def test_every_target_is_compiled_into_the_cache_and_a_task_loads_the_one_it_picks(built, tmp_path: Path) -> None:
    """The image's build step compiles both targets (where the build machine runs x86-64-v3); a task
    with RISKBATCH_KERNEL_CPU=auto then compiles nothing."""
    if target_for(cpu_flags()) != X86_64_V3:
        pytest.skip("this machine cannot run x86-64-v3 code")
    assert set(built[1]) == {GENERIC, X86_64_V3}
    cache = _copy(built, tmp_path)
    assert json.loads((cache / BUILT_TARGETS_FILE).read_text(encoding="utf-8")) == {"targets": [GENERIC, X86_64_V3]}
    task = _precompile(cache, NUMBA_CPU_NAME=None, NUMBA_CPU_FEATURES=None, RISKBATCH_KERNEL_CPU="auto")
    kernels = json.loads(task.stdout)["kernels"]
    assert kernels and all(origin["compiled"] == 0 and origin["from_cache"] >= 1 for origin in kernels.values()), kernels


def test_a_second_process_loads_every_kernel_from_the_cache_and_compiles_none(built, tmp_path: Path) -> None:
    kernels = built[1][GENERIC]["kernels"]
    assert kernels and all(origin["compiled"] >= 1 for origin in kernels.values())  # the build compiles each
    again = json.loads(_precompile(_copy(built, tmp_path)).stdout)["kernels"]
    assert again.keys() == kernels.keys()
    assert all(origin == {"from_cache": kernels[name]["compiled"], "compiled": 0} for name, origin in again.items()), again


def test_a_cache_for_another_cpu_name_is_not_used(built, tmp_path: Path) -> None:
    """numba keys each entry by the CPU it was compiled for: the same cache under another CPU name compiles again."""
    other = json.loads(_precompile(_copy(built, tmp_path), NUMBA_CPU_NAME="x86-64-v2").stdout)["kernels"]
    assert all(origin["compiled"] >= 1 for origin in other.values()), other


def test_numba_refuses_a_cache_directory_it_cannot_write(built, tmp_path: Path) -> None:
    """What a read-only root filesystem would do to a cache kept in the image outside the volume."""
    _copy(built, tmp_path)
    for folder in [tmp_path / "numba", *(path for path in (tmp_path / "numba").rglob("*") if path.is_dir())]:
        folder.chmod(0o555)
    try:
        if os.geteuid() == 0:  # root writes anywhere: run as the images' user
            readonly = subprocess.run(
                ["setpriv", "--reuid=10001", "--regid=10001", "--clear-groups", sys.executable, "-m", "riskbatch.model.precompile"],
                env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba"), "NUMBA_CPU_NAME": "generic", "PYTHONPATH": str(REPO_ROOT / "src")},
                capture_output=True, text=True, check=False, cwd="/",
            )  # fmt: skip
        else:
            readonly = _precompile(tmp_path / "numba")
        assert readonly.returncode != 0 and "no locator available" in readonly.stderr, readonly.stderr[-1000:]
    finally:
        for folder in [tmp_path / "numba", *(path for path in (tmp_path / "numba").rglob("*") if path.is_dir())]:
            folder.chmod(0o755)


def test_the_report_worker_loads_its_libraries_and_kernels_when_it_starts_not_at_the_first_report(capsys) -> None:
    """The warm window starts the report worker before the night: what a first report would pay on
    the critical path (the figures' and the PDF's libraries, the kernels) is paid then."""
    from riskbatch.jobs.report_generation import ReportGeneration

    kernels = ReportGeneration(None, None, None).warm_up()
    assert kernels.keys() == {"option_pnl_into", "option_change", "linear_pnl", "growth_into", "streams_into"}
    assert all(origin["compiled"] + origin["from_cache"] >= 1 for origin in kernels.values()), kernels
    for module in ("scipy.stats", "matplotlib.pyplot", "reportlab.platypus"):
        assert module in sys.modules
    assert '"report_worker_warmed"' in capsys.readouterr().err  # the jobs log to stderr


def test_a_warm_up_beats_while_it_runs_and_one_that_fails_leaves_the_worker_running(tmp_path: Path, monkeypatch, capsys) -> None:
    """The warm-up runs before the worker's loop beats: it beats itself (the container health check,
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html, would otherwise
    see no heartbeat once StartPeriod has passed), and a warm-up that fails is logged, not fatal."""
    from riskbatch.jobs import queue_worker as worker
    from riskbatch.runtime import heartbeat

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    beating: list[bool] = []

    class FailingWarmUp:
        def warm_up(self) -> None:
            beating.append(heartbeat.heartbeat_path(str(tmp_path)).exists())
            raise OSError("No space left on device")

    worker.warm_up(FailingWarmUp())
    assert beating == [True]
    logged = capsys.readouterr().err
    assert '"worker_warm_up_failed"' in logged and "No space left on device" in logged

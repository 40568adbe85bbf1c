"""The fingerprint a night's manifest records of the code that computed it (riskbatch.model.code_fingerprint):
it changes with the source of any module that determines the figures, and not with code that cannot change them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from riskbatch.model.code_fingerprint import FIGURE_PACKAGES, code_fingerprint, source_fingerprint
from riskbatch_platform import REPO_ROOT

PACKAGE = REPO_ROOT / "src" / "riskbatch"


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A copy of the package's sources, with the platform's package beside it as in the checkout."""
    shutil.copytree(PACKAGE, tmp_path / "riskbatch", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO_ROOT / "src" / "riskbatch_platform" / "docs", tmp_path / "riskbatch_platform" / "docs", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path / "riskbatch"


def _edited(path: Path) -> None:
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")


def test_the_running_fingerprint_is_the_packages_computed_once_per_process() -> None:
    assert code_fingerprint() == source_fingerprint(PACKAGE)
    assert code_fingerprint() is code_fingerprint()  # cached, not recomputed per call
    assert len(code_fingerprint()) == 64 and set(code_fingerprint()) <= set("0123456789abcdef")  # a SHA-256 in hex


@pytest.mark.parametrize("source", ["model/engine.py", "model/kernels.py", "inputs/cleaning.py", "validation/backtest.py", "jobs/risk_calculation.py"])
def test_a_change_to_a_source_that_computes_the_figures_changes_the_fingerprint(package: Path, source: str) -> None:
    before = source_fingerprint(package)
    text = (package / source).read_text(encoding="utf-8")
    digit = next(character for character in text if character.isdigit())
    # one digit for another, as a changed constant would be: the same length, other bytes
    (package / source).write_text(text.replace(digit, str((int(digit) + 1) % 10), 1), encoding="utf-8")
    assert source_fingerprint(package) != before
    _edited(package / source)
    assert source_fingerprint(package) != before


def test_moving_a_figure_module_changes_the_fingerprint_though_its_bytes_are_the_same(package: Path) -> None:
    before = source_fingerprint(package)
    (package / "model" / "engine_blocks.py").rename(package / "inputs" / "engine_blocks.py")
    assert source_fingerprint(package) != before


def test_code_that_cannot_change_a_figure_leaves_the_fingerprint_as_it_was(package: Path) -> None:
    before = source_fingerprint(package)
    for unrelated in ("commands.py", "cli.py", "operations/status.py", "aws/alerts.py", "runtime/logs.py", "../riskbatch_platform/docs/generate.py"):
        _edited(package / unrelated)
    (package / "model" / "__pycache__").mkdir()
    (package / "model" / "__pycache__" / "engine.cpython-311.pyc").write_bytes(b"\x00compiled")  # what pip adds in an image
    (package / "model" / "model_config.json").write_text("{}")  # its settings are recorded in the manifest itself
    assert source_fingerprint(package) == before


def test_a_package_without_its_sources_has_no_fingerprint(tmp_path: Path) -> None:
    for folder in FIGURE_PACKAGES:
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "engine.pyc").write_bytes(b"\x00compiled")
    with pytest.raises(RuntimeError, match="installed without its sources"):
        source_fingerprint(tmp_path)

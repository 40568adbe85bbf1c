"""The tooling runs from its checkout; installed anywhere else it says so in one line, no traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from test.template_model import REPO_ROOT


def test_the_tooling_installed_outside_its_checkout_says_what_to_do(tmp_path: Path) -> None:
    # a wheel install puts the package under site-packages: two levels up is no checkout
    site = tmp_path / "lib" / "site-packages"
    shutil.copytree(REPO_ROOT / "src" / "riskbatch_platform", site / "riskbatch_platform", ignore=shutil.ignore_patterns("__pycache__"))
    run = subprocess.run([sys.executable, "-c", "import riskbatch_platform"], cwd=tmp_path, env={"PYTHONPATH": str(site)}, capture_output=True, text=True)
    assert run.returncode == 1
    assert "works on a checkout of its repository" in run.stderr and "pip install --no-deps -e ." in run.stderr
    assert "Traceback" not in run.stderr


def test_in_its_checkout_it_finds_the_templates() -> None:
    import riskbatch_platform

    assert riskbatch_platform.REPO_ROOT == REPO_ROOT

"""The images install the jobs' package alone: the tooling (riskbatch_platform) never reaches an image."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from riskbatch_platform.images.build import jobs_tree
from test.template_model import REPO_ROOT


def test_the_images_wheel_holds_the_jobs_and_their_one_command_only(tmp_path: Path) -> None:
    tree = jobs_tree()
    # the staged pyproject.toml is the project's, less the tooling's commands and nothing else
    project = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8").splitlines()
    staged = (tree / "pyproject.toml").read_text(encoding="utf-8").splitlines()
    assert [line for line in project if line not in staged] == [line for line in project if line.startswith("riskbatch-")]
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(tree)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("riskbatch-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    packages = {name.split("/", 1)[0] for name in names if not name.split("/", 1)[0].endswith(".dist-info")}
    assert packages == {"riskbatch"}, packages
    assert "riskbatch/model/model_config.json" in names and "riskbatch/operations/calibration.json" in names
    (entry_points,) = [name for name in names if name.endswith("entry_points.txt")]
    commands = [line for line in zipfile.ZipFile(wheel).read(entry_points).decode().splitlines() if "=" in line]
    assert commands == ["riskbatch = riskbatch.cli:main"]

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


def test_the_images_package_has_the_fingerprint_of_the_checkouts_sources(tmp_path: Path) -> None:
    # The night's manifest records this fingerprint, and a reproduction on a laptop compares it with its own:
    # the wheel the images install, installed as they install it (pip adds .pyc), must give the checkout's value.
    from riskbatch.model.code_fingerprint import source_fingerprint

    tree = jobs_tree()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "wheel"), str(tree)], check=True, capture_output=True)
    (wheel,) = (tmp_path / "wheel").glob("riskbatch-*.whl")
    installed = tmp_path / "site-packages"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(installed), str(wheel)], check=True, capture_output=True)
    assert list((installed / "riskbatch" / "model").glob("*.py")), "the image's package would hold no sources"
    assert source_fingerprint(installed / "riskbatch") == source_fingerprint(REPO_ROOT / "src" / "riskbatch")

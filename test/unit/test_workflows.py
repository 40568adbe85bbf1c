"""The team's workflows pass zizmor's audits (offline: no GitHub API here), and zizmor is able to fail."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
ZIZMOR = Path(sys.executable).with_name("zizmor")


def _zizmor(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ZIZMOR), "--offline", "--quiet", str(folder)], capture_output=True, text=True, check=False)


def test_the_workflows_have_no_finding() -> None:
    result = _zizmor(REPO_ROOT / ".github" / "workflows")
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_an_injected_input_and_an_unpinned_action(tmp_path: Path) -> None:
    workflow = tmp_path / "bad.yml"
    workflow.write_text(
        "on:\n  workflow_dispatch:\n    inputs:\n      name: {type: string}\npermissions: {}\njobs:\n  j:\n    runs-on: ubuntu-24.04\n"
        "    steps:\n      - uses: actions/checkout@v4\n      - run: echo ${{ inputs.name }}\n",
        encoding="utf-8",
    )
    result = _zizmor(workflow)
    assert result.returncode != 0 and "template-injection" in result.stdout and "unpinned-uses" in result.stdout

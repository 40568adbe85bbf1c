"""The team's workflows pass actionlint and zizmor's audits (offline: no GitHub API here), and both are able to fail."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
ZIZMOR = Path(sys.executable).with_name("zizmor")
ACTIONLINT = Path(sys.executable).with_name("actionlint")
SHELLCHECK = Path(sys.executable).with_name("shellcheck")


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


def _actionlint(root: Path) -> subprocess.CompletedProcess[str]:
    # actionlint reads .github/workflows and .github/actionlint.yaml of the Git project it runs in.
    if not (root / ".git").exists():
        (root / ".git").mkdir()
    return subprocess.run(
        [str(ACTIONLINT), "-no-color", f"-shellcheck={SHELLCHECK}"], cwd=root, capture_output=True, text=True, check=False
    )


def test_actionlint_finds_nothing_in_the_workflows() -> None:
    result = _actionlint(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_a_bad_expression_an_unquoted_variable_and_an_unknown_runner(tmp_path: Path) -> None:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "bad.yml").write_text(
        "on: push\npermissions: {}\njobs:\n  j:\n    runs-on: ubuntu-14.04\n    timeout-minutes: ${{ matrix.missing }}\n"
        "    steps:\n      - run: echo $HOME\n",
        encoding="utf-8",
    )
    result = _actionlint(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    for rule in ("[runner-label]", "[expression]", "SC2086"):
        assert rule in result.stdout, result.stdout


def test_the_self_hosted_runner_label_is_declared_for_actionlint(tmp_path: Path) -> None:
    # Without the label in .github/actionlint.yaml the main workflow's runner is unknown.
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "main.yml").write_text((REPO_ROOT / ".github" / "workflows" / "main.yml").read_text(encoding="utf-8"))
    result = _actionlint(tmp_path)
    assert result.returncode == 1 and '"debian-12" is unknown' in result.stdout, result.stdout

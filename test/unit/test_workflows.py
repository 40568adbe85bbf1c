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


def _workflow(name: str) -> dict:
    import yaml

    return yaml.safe_load((REPO_ROOT / ".github" / "workflows" / name).read_text(encoding="utf-8"))


def test_the_deploy_posts_its_change_set_with_values_before_the_approval_gated_job() -> None:
    """The reviewers of the environment approve the deploy job; the plan job runs before it, in an
    environment of its own (no reviewers), and writes riskbatch-deploy --plan (each changed property
    before and after) into the run's summary."""
    jobs = _workflow("deploy.yml")["jobs"]
    deploy, plan = jobs["deploy"], jobs["plan"]
    assert deploy["needs"] == "plan" and deploy["environment"] == "${{ inputs.environment }}"
    assert plan["environment"] != deploy["environment"] and plan["environment"].startswith("${{ inputs.environment }}")
    (step,) = [step for step in plan["steps"] if "riskbatch-deploy --plan" in step.get("run", "")]
    assert "GITHUB_STEP_SUMMARY" in step["run"] and "pipefail" in step["run"]
    assert plan["permissions"] == {"contents": "read", "id-token": "write"}
    assert not any("riskbatch-deploy" in step.get("run", "") and "--plan" not in step["run"] for step in plan["steps"])  # it never deploys


def test_the_images_workflow_builds_from_the_digest_pushes_with_oidc_and_judges_the_scans() -> None:
    (job,) = _workflow("images.yml")["jobs"].values()
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    runs = [step.get("run", "") for step in job["steps"]]
    uses = [step.get("uses", "") for step in job["steps"]]
    order = [next(i for i, run in enumerate(runs) if marker in run) for marker in ("riskbatch-lock-images --check", "--public-base", "riskbatch-push-images")]
    assert order == sorted(order)
    assert any(use.startswith("aws-actions/configure-aws-credentials@") for use in uses)
    assert any(use.startswith("actions/upload-artifact@") for use in uses)  # the SBOMs

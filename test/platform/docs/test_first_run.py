"""What a newcomer's first commands do: make test and its help, the fast pull-request path, and
make demo ARGS=--processes without container tools; the parameter table generated from the template."""

from __future__ import annotations

import contextlib
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from riskbatch_platform.analysis.parameter_table import parameter_table
from test.template_model import REPO_ROOT, load_template


def _prerequisites(target: str, *assignments: str) -> list[str]:
    """The target's prerequisites as make itself reads the Makefile (its database, nothing run)."""
    database = subprocess.run(["make", "-pRrq", *assignments, ":"], cwd=REPO_ROOT, capture_output=True, text=True).stdout
    (line,) = [line for line in database.splitlines() if line.startswith(f"{target}:")]
    return line.split(":", 1)[1].split()


def _help() -> str:
    return subprocess.run(["make", "-s", "help"], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout


def test_make_test_runs_what_make_help_the_readme_and_checks_md_say() -> None:
    steps = " ".join(_prerequisites("test"))
    assert steps.startswith("lint unit jobs")
    assert f"make test   every check, in order: {steps}" in _help().splitlines()
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert f"make test    # every check, in order: {steps}\n" in readme
    checks = (REPO_ROOT / "docs" / "checks.md").read_text(encoding="utf-8")
    assert steps in " ".join(checks.split())


def test_the_readme_shows_the_fast_pull_request_path_beside_make_test() -> None:
    workflow = (REPO_ROOT / ".github" / "workflows" / "pull-request.yml").read_text(encoding="utf-8")
    (fast,) = re.findall(r"run: (make lint[^\n]*)", workflow)
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    two_commands = readme.split("## The two commands", 1)[1].split("\n## ", 1)[0]
    assert f"```sh\n{fast}\n```" in two_commands and "make test" in two_commands
    assert any(line.startswith(f"{fast}   the fast pull-request path") for line in _help().splitlines())


def test_make_demo_with_processes_installs_no_container_tools() -> None:
    assert "container-tools" in _prerequisites("demo")
    assert "container-tools" not in _prerequisites("demo", "ARGS=--processes")
    assert "container-tools" not in _prerequisites("demo", "ARGS=--processes --nights 2")


class _Deployed(BaseException):
    """Stops the demo after its deploy: a BaseException, so the commands' error boundary (which turns an
    Exception into one line and an exit code) lets it through to the test."""


def test_the_demo_with_processes_never_asks_for_container_tools(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from riskbatch_platform.local import demo as local_demo

    asked: list[bool] = []
    declared: list[str] = []

    @contextlib.contextmanager
    def emulator(**_: Any) -> Iterator[object]:
        yield object()

    def deploy(*_: Any, containers: bool = False, environment_class: str = "production") -> None:
        asked.append(containers)
        declared.append(environment_class)
        raise _Deployed

    def no_tools() -> list[str]:
        raise AssertionError("the container tools were looked for")

    monkeypatch.setattr(local_demo, "running_emulator", emulator)
    monkeypatch.setattr(local_demo, "deploy_local", deploy)
    monkeypatch.setattr(local_demo, "missing_tools", no_tools)
    with pytest.raises(_Deployed):
        local_demo.main(["--processes", "--out", str(tmp_path)])
    assert asked == [False]
    assert declared == ["non-production"]  # its small nights run below the production floor only because its stack says so


def test_the_design_pages_parameter_table_has_every_parameter_with_its_description() -> None:
    template = load_template()
    table = parameter_table(template)
    rows = table.splitlines()[2:]
    assert [re.search(r"\| `(\w+)` \|", row).group(1) for row in rows] == [
        name for group in template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"] for name in group["Parameters"]
    ]
    assert sorted(re.search(r"\| `(\w+)` \|", row).group(1) for row in rows) == sorted(template["Parameters"])
    for name, body in template["Parameters"].items():
        assert body["Description"].replace("|", "\\|") in table, name
    design = (REPO_ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    assert table in design


def test_a_parameter_added_to_the_template_makes_the_docs_check_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    import riskbatch_platform.analysis.parameter_table as module
    from riskbatch_platform.docs import generate as docs

    template = load_template()
    template["Parameters"]["NewSetting"] = {"Type": "String", "Default": "x", "AllowedValues": ["x"], "Description": "A new setting."}
    template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"][0]["Parameters"].append("NewSetting")
    monkeypatch.setitem(docs.SECTIONS["design.md"], "parameters", lambda: module.parameter_table(template))
    stale = [path.name for path, text in docs.generated().items() if path.read_text(encoding="utf-8") != text]
    assert stale == ["design.md"]

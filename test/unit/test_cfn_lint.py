"""cfn-lint, with informational rules on and every region we deploy to, reports nothing on either template."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from riskbatch_platform.analysis.lint import REPO_ROOT, config, lint


def test_cfn_lint_reports_nothing_on_the_environment_template(template_path: Path) -> None:
    assert lint(template_path) == []


def test_cfn_lint_reports_nothing_on_the_vpc_endpoints_template() -> None:
    assert lint(REPO_ROOT / "lib" / "VpcEndpoints.json") == []


def test_every_template_is_linted() -> None:
    assert sorted(config()["templates"]) == sorted(path.relative_to(REPO_ROOT).as_posix() for path in (REPO_ROOT / "lib").glob("*.json"))


@pytest.mark.parametrize(
    "region", sorted({region for test in yaml.safe_load((REPO_ROOT / ".taskcat.yml").read_text())["tests"].values() for region in test["regions"]})
)
def test_every_region_taskcat_deploys_to_is_linted(region: str) -> None:
    assert region in config()["regions"]

"""cfn-lint, with informational rules on and the regions we deploy to, reports nothing."""

from __future__ import annotations

from pathlib import Path

from cfnlint.api import ManualArgs, lint_file

REGIONS = ["us-east-1", "us-west-2", "eu-west-1"]


def test_cfn_lint_reports_nothing(template_path: Path) -> None:
    matches = lint_file(template_path, config=ManualArgs(regions=REGIONS, include_checks=["I"]))
    assert [f"{m.rule.id} {m.linenumber}: {m.message}" for m in matches] == []

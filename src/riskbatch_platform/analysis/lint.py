"""cfn-lint with the project's one configuration (.cfnlintrc): its templates, regions and checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from cfnlint.api import ManualArgs, lint_file

from riskbatch_platform import REPO_ROOT


def config() -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / ".cfnlintrc").read_text(encoding="utf-8"))


def templates() -> list[Path]:
    return [REPO_ROOT / path for path in config()["templates"]]


def lint(path: Path) -> list[str]:
    """cfn-lint's findings on one template, one line each."""
    settings = config()
    matches = lint_file(path, config=ManualArgs(regions=settings["regions"], include_checks=settings.get("include_checks", [])))
    return [f"{path.name}:{match.linenumber} {match.rule.id} {match.message}" for match in matches]

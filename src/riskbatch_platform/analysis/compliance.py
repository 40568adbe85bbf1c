"""The compliance table's requirements, as data: compliance/requirements.json.

Each requirement names the guard rules and the tests that enforce it: a file of
test/unit by its name (test_iam.py::<function>), any other by its path under test/. make validate
runs them and prints the table, make docs writes it into docs/checks.md, and make review lists the requirements a change adds, drops or enforces differently.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskbatch_platform import REPO_ROOT

REQUIREMENTS_FILE = REPO_ROOT / "compliance" / "requirements.json"


@dataclass(frozen=True)
class Requirement:
    requirement: str
    guard_rules: tuple[str, ...]
    tests: tuple[str, ...]


class RequirementsError(ValueError):
    pass


def parse_requirements(text: str, where: str = "compliance/requirements.json") -> list[Requirement]:
    """The requirements of the file's text; a malformed entry is an error naming it, never skipped."""
    try:
        entries = json.loads(text)["requirements"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise RequirementsError(f"{where}: not a requirements file ({error})") from error
    found: list[Requirement] = []
    for index, entry in enumerate(entries):
        name = entry.get("requirement") if isinstance(entry, dict) else None
        rules, tests = (entry.get("guard_rules", []), entry.get("tests", [])) if isinstance(entry, dict) else ([], [])
        if not isinstance(name, str) or not name or not isinstance(rules, list) or not isinstance(tests, list):
            raise RequirementsError(f"{where}: entry {index} needs a requirement text and lists guard_rules and tests")
        if not rules and not tests:
            raise RequirementsError(f"{where}: {name!r} names nothing that enforces it")
        if any("::" not in test for test in tests):
            raise RequirementsError(f"{where}: {name!r}: a test is named as file.py::function")
        found.append(Requirement(name, tuple(rules), tuple(tests)))
    names = [each.requirement for each in found]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise RequirementsError(f"{where}: requirements listed twice: {twice}")
    return found


def requirements(path: Path = REQUIREMENTS_FILE) -> list[Requirement]:
    return parse_requirements(path.read_text(encoding="utf-8"), str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path))


# Test files that moved out of test/unit with the tooling: their ids in the old table, and now.
MOVED_TEST_FILES = {"test_emulator_fixes.py": "platform/local/emulator/test_fixes.py"}


def requirements_from_old_table(source: str) -> dict[str, Any]:
    """The requirements file a checkout from before compliance/requirements.json would have had:
    its scripts/validate.py's REQUIREMENTS literal, with the test ids of the files moved since."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "REQUIREMENTS":
            table = ast.literal_eval(node.value)
            break
    else:
        raise RequirementsError("scripts/validate.py has no REQUIREMENTS table")

    def now(test: str) -> str:
        file, _, function = test.partition("::")
        return f"{MOVED_TEST_FILES.get(file, file)}::{function}"

    return {"requirements": [{"requirement": name, "guard_rules": list(rules), "tests": [now(test) for test in tests]} for name, rules, tests in table]}


def markdown_table(found: list[Requirement]) -> list[str]:
    """The requirements and what enforces each, for docs/checks.md."""
    lines = ["| requirement | guard rules | tests (test/unit, or the path under test/) |", "|---|---|---|"]
    for each in found:
        rules = ", ".join(f"`{rule}`" for rule in each.guard_rules) or "-"
        tests = ", ".join(f"`{test}`" for test in each.tests) or "-"
        lines.append(f"| {each.requirement.replace('|', '/')} | {rules} | {tests} |")
    return lines

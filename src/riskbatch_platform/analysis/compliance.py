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


# Tests that moved out of test/unit with the tooling: their ids in the old table, and now. The old table named
# four cases of test_emulator_fixes.py, since split into a test file per emulator service.
MOVED_TESTS = {
    "test_emulator_fixes.py::test_the_s3_prefix_condition_is_evaluated": "platform/local/emulator/test_iam.py::test_the_s3_prefix_condition_is_evaluated",
    "test_emulator_fixes.py::test_a_missing_key_is_403_unless_the_caller_may_list_the_bucket": (
        "platform/local/emulator/test_s3.py::test_a_missing_key_is_403_unless_the_caller_may_list_the_bucket"
    ),
    "test_emulator_fixes.py::test_run_task_is_allowed_on_its_cluster_only_and_passes_only_its_roles_to_ecs_tasks": (
        "platform/local/emulator/test_ecs.py::test_run_task_is_allowed_on_its_cluster_only_and_passes_only_its_roles_to_ecs_tasks"
    ),
    "test_emulator_fixes.py::test_simulate_principal_policy_decides_pass_role_by_the_service": (
        "platform/local/emulator/test_iam.py::test_simulate_principal_policy_decides_pass_role_by_the_service"
    ),
}


def requirements_from_old_table(source: str) -> dict[str, Any]:
    """The requirements file a checkout from before compliance/requirements.json would have had:
    its scripts/validate.py's REQUIREMENTS literal, with the ids of the tests moved since."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "REQUIREMENTS":
            table = ast.literal_eval(node.value)
            break
    else:
        raise RequirementsError("scripts/validate.py has no REQUIREMENTS table")

    return {
        "requirements": [
            {"requirement": name, "guard_rules": list(rules), "tests": [MOVED_TESTS.get(test, test) for test in tests]} for name, rules, tests in table
        ]
    }


def markdown_table(found: list[Requirement]) -> list[str]:
    """The requirements and what enforces each, for docs/checks.md."""
    lines = ["| requirement | guard rules | tests (test/unit, or the path under test/) |", "|---|---|---|"]
    for each in found:
        rules = ", ".join(f"`{rule}`" for rule in each.guard_rules) or "-"
        tests = ", ".join(f"`{test}`" for test in each.tests) or "-"
        lines.append(f"| {each.requirement.replace('|', '/')} | {rules} | {tests} |")
    return lines

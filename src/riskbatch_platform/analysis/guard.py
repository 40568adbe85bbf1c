"""Run the cfn-guard rules of guard-rules/ (through cfn-guard-rs) against a template."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The binding's own run_checks() wraps this call and then parses the report into classes that
# fail on disjunction ("or") clauses; the raw JSON report is read here instead.
from cfn_guard_rs.cfn_guard_rs import CfnGuardParseError, run_checks_rs

from riskbatch_platform import REPO_ROOT

RULES_DIR = REPO_ROOT / "guard-rules"
_RULE_NAME = re.compile(r"^rule\s+([a-z0-9_]+)", re.MULTILINE)
_FAILED_CLAUSE = re.compile(r'"(Clause|Rule|comparison|not_compliant)"')


@dataclass(frozen=True)
class Verdict:
    rule: str
    status: str  # PASS, FAIL or SKIP
    detail: str = ""


def rule_files(rules_dir: Path = RULES_DIR) -> dict[str, Path]:
    """rule name -> file; a file holds exactly one rule (one concern a rule)."""
    found = {}
    for path in sorted(rules_dir.glob("*.guard")):
        names = _RULE_NAME.findall(path.read_text(encoding="utf-8"))
        if names != [path.stem]:
            raise ValueError(f"{path.name} must hold exactly one rule named {path.stem}, found {names}")
        found[path.stem] = path
    return found


def evaluate(template: dict[str, Any], rule_path: Path) -> Verdict:
    """The rule's status on the template, with its Violation text when it fails."""
    name = rule_path.stem
    try:
        raw = run_checks_rs(json.dumps(template), rule_path.read_text(encoding="utf-8"), False)
    except CfnGuardParseError as error:
        raise ValueError(f"{rule_path.name}: {error}") from error
    try:
        report = json.loads(raw)
    except json.JSONDecodeError:
        # cfn-guard-rs 0.3.3 returns only the last 8 KiB chunk of a report longer than 8 KiB;
        # a passing or skipped single-rule report is a few hundred bytes, so a long one is a
        # failure report (its remnant still holds the failed clauses).
        if _FAILED_CLAUSE.search(raw):
            return Verdict(name, "FAIL", _violations(raw) or "the rule failed on several resources")
        raise
    if name in report["compliant"]:
        return Verdict(name, "PASS")
    if name in report["not_applicable"]:
        return Verdict(name, "SKIP")
    return Verdict(name, "FAIL", _violations(raw))


def _violations(raw_report: str) -> str:
    """The distinct custom Violation texts in a report, one line."""
    return "; ".join(sorted(set(re.findall(r"Violation: ([^\\\n]*?)\s*(?:Fix:|\\n|>>)", raw_report))))


def evaluate_all(template: dict[str, Any], rules_dir: Path = RULES_DIR) -> list[Verdict]:
    return [evaluate(template, path) for path in rule_files(rules_dir).values()]

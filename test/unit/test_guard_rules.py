"""The policy rules: each has its test cases (at least one PASS and one FAIL), each case holds,
and every rule passes on lib/TapStack.json."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from riskbatch_platform.analysis.guard import RULES_DIR, evaluate, rule_files
from test.template_model import REPO_ROOT, Template, load_template

RULES = rule_files()
TESTS_DIR = RULES_DIR / "tests"
ENDPOINTS = load_template(REPO_ROOT / "lib" / "VpcEndpoints.json")
HEADER_FIELDS = ("# Rule:", "# Checks:", "# Why:", "# Skips:")


def _cases() -> list[tuple[str, str, dict, str]]:
    cases = []
    for rule in RULES:
        tests_file = TESTS_DIR / f"{rule}_tests.yml"
        if not tests_file.exists():
            continue
        for case in yaml.safe_load(tests_file.read_text(encoding="utf-8")):
            for name, expected in case["expectations"]["rules"].items():
                cases.append((name, case["name"], case["input"], expected))
    return cases


def test_rules_were_found() -> None:
    assert len(RULES) >= 25


@pytest.mark.parametrize("rule", sorted(RULES))
def test_rule_has_a_header_and_messages(rule: str) -> None:
    text = RULES[rule].read_text(encoding="utf-8")
    for field in HEADER_FIELDS:
        assert field in text, f"{rule} lacks '{field}'"
    assert f"# Rule:   {rule}" in text
    assert "Violation:" in text and "Fix:" in text


@pytest.mark.parametrize("rule", sorted(RULES))
def test_rule_has_cases_that_pass_and_fail(rule: str) -> None:
    tests_file = TESTS_DIR / f"{rule}_tests.yml"
    assert tests_file.exists(), f"add {tests_file.relative_to(RULES_DIR.parent)}"
    expected = {case["expectations"]["rules"].get(rule) for case in yaml.safe_load(tests_file.read_text(encoding="utf-8"))}
    assert {"PASS", "FAIL"} <= expected


@pytest.mark.parametrize(("rule", "case", "data", "expected"), _cases(), ids=[f"{rule}: {case}" for rule, case, _, _ in _cases()])
def test_rule_case(rule: str, case: str, data: dict, expected: str) -> None:
    assert rule in RULES, f"the case names an unknown rule {rule}"
    verdict = evaluate(data, RULES[rule])
    assert verdict.status == expected, verdict.detail


@pytest.mark.parametrize("rule", sorted(RULES))
def test_rule_passes_on_the_stack(template: Template, rule: str) -> None:
    """Every rule holds on both templates, and applies to (passes on) at least one of them."""
    verdicts = {"TapStack": evaluate(template.doc, RULES[rule]), "VpcEndpoints": evaluate(ENDPOINTS, RULES[rule])}
    failed = {name: verdict.detail for name, verdict in verdicts.items() if verdict.status == "FAIL"}
    assert not failed
    assert "PASS" in {verdict.status for verdict in verdicts.values()}, "the rule applies to neither template"


def test_every_tests_file_belongs_to_a_rule() -> None:
    orphans = [path.name for path in Path(TESTS_DIR).glob("*_tests.yml") if path.name[: -len("_tests.yml")] not in RULES]
    assert not orphans

"""make validate: cfn-lint, the guard rules, the unit suite, checkov, parliament and cfripper, as one compliance table.

Prints the table (requirement, what enforces it, PASS or FAIL), then AWS's naming constraints
met by every name at its longest, then the IAM linters' counts; writes the table as Markdown and
JSON for a pull request. Exits 1 when anything fails. Both templates are checked: lib/TapStack.json
(one stack per environment) and lib/VpcEndpoints.json (one stack per VPC).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import asdict, dataclass
from pathlib import Path

from riskbatch.operations.aws_access import bounded
from riskbatch_platform import REPO_ROOT
from riskbatch_platform.analysis.compliance import RequirementsError, requirements
from riskbatch_platform.analysis.guard import evaluate_all
from riskbatch_platform.analysis.iam_audit import cfripper_findings, parliament_findings
from riskbatch_platform.analysis.lint import lint, templates
from riskbatch_platform.analysis.naming import LONGEST_REGION, longest_suffix, named_things

CHECKOV = REPO_ROOT / ".tools" / "checkov" / "bin" / "checkov"


@dataclass
class Row:
    requirement: str
    enforced_by: str
    status: str


# What the unit suite's results depend on: a report written after the last change to any of these is current.
UNIT_INPUTS = ("src", "test", "lib", "compliance", "guard-rules", "config", "tools", "docker", "pyproject.toml", "requirements.lock", ".venv/.installed")


def newest_input(root: Path = REPO_ROOT) -> float:
    """The modification time of the newest file the unit suite reads (its code, tests, templates, pins)."""
    newest = 0.0
    for name in UNIT_INPUTS:
        path = root / name
        if path.is_file():
            newest = max(newest, path.stat().st_mtime)
        elif path.is_dir():
            newest = max([newest, *(each.stat().st_mtime for each in path.rglob("*") if each.is_file() and "__pycache__" not in each.parts)])
    return newest


def session_start(report: Path) -> float | None:
    """When the report's pytest session began (its testsuite's timestamp), or None when it does not say."""
    try:
        suite = ElementTree.parse(report).getroot()
    except ElementTree.ParseError:
        return None  # a report cut short is never read
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    stamp = None if suite is None else suite.get("timestamp")
    if not stamp:
        return None
    began = dt.datetime.fromisoformat(stamp)
    return (began if began.tzinfo else began.astimezone()).timestamp()


def current_report(report: Path | None, root: Path = REPO_ROOT) -> bool:
    """Whether a unit suite report (make unit's, in the same make run) began after every file it depends on
    last changed: measured from the session's start, so a file edited while the suite ran makes it stale."""
    if report is None or not report.is_file():
        return False
    began = session_start(report)
    return began is not None and began > newest_input(root)


def unit_results(out_dir: Path, reuse: Path | None = None) -> dict[str, bool]:
    """file::function -> whether every one of its cases passed (a skipped case is not a pass).

    `reuse`: make unit's JUnit report; read when nothing the suite depends on changed since it was
    written (make test and the pull-request path run unit just before), else the suite runs here.
    A file of test/unit (the template's requirements) is named by its name alone, any other by its
    path under test/ (platform/local/emulator/test_iam.py)."""
    report = out_dir / "unit-junit.xml"
    if current_report(reuse):
        report = reuse
        print(f"the unit suite's results from {reuse.relative_to(REPO_ROOT) if reuse.is_relative_to(REPO_ROOT) else reuse} (nothing changed since)", flush=True)
    else:
        report.unlink(missing_ok=True)  # never read an earlier run's report if this one writes none
        completed = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "test/unit", "test/platform", f"--junitxml={report}", "-p", "no:cacheprovider"],
            cwd=REPO_ROOT,
            check=False,
            capture_output=True,
        )
        if completed.returncode not in (0, 1):  # 0 passed, 1 some failed: any other code is no verdict
            raise SystemExit(f"validate: the unit suite did not run to its end (pytest exit {completed.returncode}); run make unit to see why")
    return read_results(report)


def read_results(report: Path) -> dict[str, bool]:
    results: dict[str, bool] = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        module = case.get("classname", "").removeprefix("test.").removeprefix("unit.").replace(".", "/")
        function = case.get("name", "").split("[", 1)[0]
        passed = all(case.find(outcome) is None for outcome in ("failure", "error", "skipped"))
        key = f"{module}.py::{function}"
        results[key] = results.get(key, True) and passed
    return results


def guard_results(documents: dict[str, dict]) -> dict[str, str]:
    """rule -> FAIL when it fails on any template, PASS when it passes on one, else SKIP."""
    verdicts: dict[str, list[str]] = {}
    for document in documents.values():
        for verdict in evaluate_all(document):
            verdicts.setdefault(verdict.rule, []).append(verdict.status)
    return {rule: "FAIL" if "FAIL" in found else "PASS" if "PASS" in found else "SKIP" for rule, found in verdicts.items()}


def checkov_results(paths: list[Path]) -> tuple[list[Row], str]:
    if not CHECKOV.exists():
        return [Row("checkov scan", "checkov", "FAIL")], "checkov is not installed: run `make validate` (it installs .tools/checkov)"
    command = [str(CHECKOV), "--framework", "cloudformation", "--skip-download", "-o", "json"]
    for path in paths:
        command += ["-f", str(path)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    reports = json.loads(completed.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    rows: dict[str, Row] = {}
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    version = ""
    for report in reports:
        results = report["results"]
        for status, key in (("PASS", "passed_checks"), ("FAIL", "failed_checks"), ("SKIP", "skipped_checks")):
            for check in results.get(key, []):
                row = rows.setdefault(check["check_id"], Row(check["check_name"], f"checkov {check['check_id']}", status))
                if status == "FAIL":
                    row.status = "FAIL"
        for name in totals:
            totals[name] += report["summary"][name]
        version = report["summary"]["checkov_version"]
    line = f"checkov {version}: {totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped"
    return sorted(rows.values(), key=lambda row: row.enforced_by), line


def naming_table(documents: dict[str, dict]) -> tuple[list[str], bool]:
    """One line per resource type: its longest name against AWS's limit, reserved prefixes, the source."""
    by_type: dict[tuple[str, str], list] = {}
    for name, document in documents.items():
        for thing in named_things(document, name):
            by_type.setdefault((thing.resource_type, thing.constraint.prop), []).append(thing)
    lines = [f"{'status':<6} {'type':<44} {'name':<20} {'longest':>7} {'limit':>5}  reserved      source"]
    ok = True
    for (kind, prop), things in sorted(by_type.items()):
        constraint = things[0].constraint
        problems = [f"{thing.logical_id}: {problem}" for thing in things for problem in thing.problems]
        ok = ok and not problems
        longest = max(len(thing.longest) for thing in things)
        reserved = ",".join(constraint.reserved_prefixes) or "-"
        lines.append(
            f"{'PASS' if not problems else 'FAIL':<6} {kind:<44} {prop:<20} {longest:>7} {constraint.max_length:>5}  {reserved:<13} {constraint.source}"
        )
        lines += [f"       {problem}" for problem in problems]
    return lines, ok


@bounded("riskbatch-validate")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "out")
    parser.add_argument("--unit-results", type=Path, help="make unit's JUnit report: read instead of running the suite again when nothing changed since")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    paths = templates()
    documents = {path.relative_to(REPO_ROOT).as_posix(): json.loads(path.read_text(encoding="utf-8")) for path in paths}

    findings = [finding for path in paths for finding in lint(path)]
    rows = [Row("cfn-lint (errors, warnings, informational) reports nothing on either template", "cfn-lint", "PASS" if not findings else "FAIL")]
    guard = guard_results(documents)
    units = unit_results(args.out, args.unit_results)
    try:
        table = requirements()
    except RequirementsError as error:
        raise SystemExit(str(error)) from None
    for requirement, rules, tests in ((each.requirement, each.guard_rules, each.tests) for each in table):
        missing = [test for test in tests if test not in units]
        if missing:
            raise SystemExit(f"compliance/requirements.json names tests that do not exist: {missing}")
        unknown = [rule for rule in rules if rule not in guard]
        if unknown:
            raise SystemExit(f"compliance/requirements.json names guard rules that do not exist: {unknown}")
        statuses = [guard[rule] for rule in rules] + ["PASS" if units[test] else "FAIL" for test in tests]
        enforced = ", ".join([f"guard {rule}" for rule in rules] + [f"test {test}" for test in tests])
        rows.append(Row(requirement, enforced, "PASS" if all(status == "PASS" for status in statuses) else "FAIL"))
    uncovered = sorted(set(guard) - {rule for each in table for rule in each.guard_rules})
    for rule in uncovered:
        rows.append(Row(f"(guard rule) {rule}", f"guard {rule}", guard[rule]))
    checkov_rows, checkov_line = checkov_results(paths)
    rows += checkov_rows

    parliament_open, parliament_kept = [], []
    for name, document in documents.items():
        found, kept = parliament_findings(document, name)
        parliament_open += found
        parliament_kept += kept
    reports = [cfripper_findings(path) for path in paths]
    cfripper_open = [finding for report in reports for finding in report.unjustified]
    cfripper_kept = [finding for report in reports for finding in report.justified]
    unread = [resource for report in reports for resource in report.unread]
    rows.append(Row("parliament: no finding outside tools/parliament.yaml", "parliament", "PASS" if not parliament_open else "FAIL"))
    rows.append(Row("cfripper: no finding outside tools/cfripper/filters.py", "cfripper", "PASS" if not cfripper_open else "FAIL"))
    names, names_ok = naming_table(documents)
    rows.append(Row("AWS naming constraints, every name at its longest", "riskbatch_platform/analysis/naming.py", "PASS" if names_ok else "FAIL"))

    width = max(len(row.requirement) for row in rows)
    for row in rows:
        print(f"{row.status:<5} {row.requirement:<{width}}  {row.enforced_by}")
    print(f"\nnaming constraints (suffix of {len(longest_suffix(documents['lib/TapStack.json']))} characters, region {LONGEST_REGION}):")
    print("\n".join(names))
    print()
    for finding in [*findings, *parliament_open, *cfripper_open]:
        print(f"finding: {finding}")
    print(f"parliament: {len(parliament_open)} findings ({len(parliament_kept)} kept, each justified in tools/parliament.yaml)")
    print(
        f"cfripper: {len(cfripper_open)} unjustified findings ({len(cfripper_kept)} justified in tools/cfripper/filters.py; "
        f"policies cfripper cannot read: {', '.join(unread) or 'none'}, read by parliament)"
    )
    failed = [row for row in rows if row.status == "FAIL"]
    print(f"\n{len(rows) - len(failed)} of {len(rows)} requirements pass; {checkov_line}; {len(findings)} cfn-lint findings")
    markdown = ["| requirement | enforced by | status |", "| --- | --- | --- |"]
    markdown += [f"| {row.requirement} | {row.enforced_by.replace('|', '/')} | {row.status} |" for row in rows]
    (args.out / "compliance.md").write_text("\n".join(markdown) + "\n", encoding="utf-8")
    (args.out / "compliance.json").write_text(json.dumps([asdict(row) for row in rows], indent=2) + "\n", encoding="utf-8")
    print(f"written: {args.out / 'compliance.md'}, {args.out / 'compliance.json'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

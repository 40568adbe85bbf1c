"""make validate reads make unit's report of the unit suite while it is current, instead of running the
suite a second time in the same make run; a report older than any file the suite reads is never trusted."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest

from riskbatch_platform.analysis import validate

REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" timestamp="{began}">
<testcase classname="test.unit.test_encryption" name="test_buckets_are_encrypted[Input]"/>
<testcase classname="test.unit.test_encryption" name="test_buckets_are_encrypted[Output]"><failure message="no"/></testcase>
<testcase classname="test.platform.analysis.test_resolve" name="test_resolves"/>
</testsuite></testsuites>
"""


def _report(path: Path, began: float) -> Path:
    """A report whose pytest session began at `began` (pytest's testsuite timestamp); the file itself is written now."""
    path.write_text(REPORT.format(began=dt.datetime.fromtimestamp(began, dt.UTC).isoformat()), encoding="utf-8")
    return path


def test_a_report_written_after_every_input_is_read_and_the_suite_not_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(subprocess, "run", lambda *args, **kwargs: pytest.fail("the unit suite ran again although make unit's report is current"))
    report = _report(tmp_path / "unit-junit.xml", validate.newest_input() + 60)
    results = validate.unit_results(tmp_path / "out", report)
    assert results == {"test_encryption.py::test_buckets_are_encrypted": False, "platform/analysis/test_resolve.py::test_resolves": True}


def test_a_report_older_than_a_file_the_suite_reads_is_not_trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = _report(tmp_path / "stale-junit.xml", validate.newest_input() - 60)
    runs: list[list[str]] = []

    def run_the_suite(command: list[str], **kwargs: object) -> subprocess.CompletedProcess:
        runs.append(command)
        junit = next(argument for argument in command if argument.startswith("--junitxml="))
        Path(junit.removeprefix("--junitxml=")).write_text(REPORT.format(began="").replace('<failure message="no"/>', ""), encoding="utf-8")
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(subprocess, "run", run_the_suite)
    (tmp_path / "out").mkdir()
    results = validate.unit_results(tmp_path / "out", stale)
    assert len(runs) == 1 and "test/unit" in runs[0] and "test/platform" in runs[0]
    assert results["test_encryption.py::test_buckets_are_encrypted"] is True  # the fresh run's verdict, not the stale report's
    assert validate.unit_results(tmp_path / "out", None) and len(runs) == 2  # no report named: the suite runs


def test_any_change_under_the_suites_inputs_makes_the_report_stale(tmp_path: Path) -> None:
    (tmp_path / "src" / "riskbatch").mkdir(parents=True)
    (tmp_path / "lib").mkdir()
    template = tmp_path / "lib" / "TapStack.json"
    template.write_text("{}", encoding="utf-8")
    os.utime(template, (1_000, 1_000))
    report = _report(tmp_path / "unit-junit.xml", 2_000)
    assert validate.current_report(report, tmp_path)
    os.utime(template, (3_000, 3_000))  # the template edited after make unit ran
    assert not validate.current_report(report, tmp_path)
    assert not validate.current_report(tmp_path / "missing.xml", tmp_path)


def test_a_file_edited_while_the_suite_ran_makes_its_report_stale(tmp_path: Path) -> None:
    (tmp_path / "docker").mkdir()
    dockerfile = tmp_path / "docker" / "risk-calculation.Dockerfile"  # a requirement's test reads the images' Dockerfiles
    dockerfile.write_text("FROM scratch\n", encoding="utf-8")
    os.utime(dockerfile, (1_500, 1_500))
    report = _report(tmp_path / "unit-junit.xml", 1_000)  # the session began before the edit, the file was written after it
    os.utime(report, (2_000, 2_000))
    assert not validate.current_report(report, tmp_path)


def test_a_report_that_does_not_say_when_its_session_began_or_is_cut_short_is_never_trusted(tmp_path: Path) -> None:
    undated = tmp_path / "undated.xml"
    undated.write_text(REPORT.format(began=""), encoding="utf-8")
    cut = tmp_path / "cut.xml"
    cut.write_text(REPORT.format(began="2026-12-07T14:00:00+00:00")[:120], encoding="utf-8")
    assert not validate.current_report(undated, tmp_path)
    assert not validate.current_report(cut, tmp_path)


def test_a_suite_that_ends_without_a_verdict_fails_validate_and_no_earlier_report_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    earlier = _report(out / "unit-junit.xml", 0)  # an earlier run's report at the path the suite writes
    monkeypatch.setattr(subprocess, "run", lambda command, **kwargs: subprocess.CompletedProcess(command, 4))  # pytest's usage error: no report
    with pytest.raises(SystemExit, match="pytest exit 4"):
        validate.unit_results(out, None)
    assert not earlier.exists()

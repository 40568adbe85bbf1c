"""The suite passes at any hour: every test that reads the clock says so, and runs with it pinned.

CI runs at any hour of any day (DESIGN.md fact 31). A test that reads the wall clock carries the `clock`
marker (on the test or its module); test/conftest.py then pins its clock, and `make clock` runs it at a
weekend evening, the night of an exchange holiday and the spring daylight-saving switch in New York.
"""

from __future__ import annotations

import ast
import datetime as dt
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from riskbatch.inputs.business_days import is_business_day
from riskbatch_platform import REPO_ROOT
from riskbatch_platform.testing.clock import CLOCK_VARIABLE, DEFAULT_INSTANT, INSTANTS, SUITES, faketime_command, pinned_instant

NEW_YORK = ZoneInfo("America/New_York")
# Reads of the wall clock: datetime.now/utcnow/today, date.today, time.time and its siblings with no argument.
CLOCK_METHODS = {"now", "utcnow", "today"}
TIME_FUNCTIONS = {"time", "time_ns", "localtime", "gmtime", "ctime"}


def _is_clock_read(call: ast.Call) -> bool:
    function = call.func
    if not isinstance(function, ast.Attribute):
        return False
    owner = function.value
    owner_name = owner.attr if isinstance(owner, ast.Attribute) else owner.id if isinstance(owner, ast.Name) else ""
    if function.attr in CLOCK_METHODS:
        return owner_name in {"datetime", "date"}
    return function.attr in TIME_FUNCTIONS and owner_name == "time" and not call.args


def _marks_clock(decorators: list[ast.expr]) -> bool:
    return any("mark.clock" in ast.unparse(decorator) for decorator in decorators)


def clock_reads_without_the_marker(source: str) -> list[int]:
    """The lines of a test module that read the wall clock outside a test (or module) marked `clock`."""
    tree = ast.parse(source)
    module_marked = any(
        isinstance(node, ast.Assign) and any(isinstance(target, ast.Name) and target.id == "pytestmark" for target in node.targets)
        and "mark.clock" in ast.unparse(node.value)
        for node in tree.body
    )  # fmt: skip
    if module_marked:
        return []
    unmarked = []
    for node in tree.body:
        marked = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and _marks_clock(node.decorator_list)
        if marked:
            continue
        unmarked += [call.lineno for call in ast.walk(node) if isinstance(call, ast.Call) and _is_clock_read(call)]
    return unmarked


TEST_FILES = sorted(path for suite in SUITES for path in (REPO_ROOT / suite).rglob("*.py"))


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_every_test_that_reads_the_clock_is_marked_clock(path: Path) -> None:
    lines = clock_reads_without_the_marker(path.read_text())
    assert not lines, f"{path.relative_to(REPO_ROOT)} reads the wall clock at lines {lines}: pass the time in, or mark the test @pytest.mark.clock"


@pytest.mark.parametrize(
    ("source", "lines"),
    [
        ("import datetime as dt\ndef test_a():\n    dt.datetime.now(dt.UTC)\n", [3]),
        ("import datetime\ndef helper():\n    return datetime.date.today()\n", [3]),
        ("import time\nx = time.time()\n", [2]),
        ("import pytest, time\n@pytest.mark.clock\ndef test_a():\n    time.time()\n", []),
        ("import pytest, time\npytestmark = pytest.mark.clock\ndef test_a():\n    time.time()\n", []),
        ("import pytest, time\npytestmark = [pytest.mark.clock, pytest.mark.slow]\ndef test_a():\n    time.time()\n", []),
        ("import time\ndef test_a():\n    time.localtime(0)\n    time.perf_counter()\n", []),  # a given instant, and an interval
    ],
)
def test_the_rule_finds_clock_reads_outside_marked_tests(source: str, lines: list[int]) -> None:
    assert clock_reads_without_the_marker(source) == lines


def test_the_instants_are_what_they_say() -> None:
    by_name = {instant.name: instant.at.astimezone(NEW_YORK) for instant in INSTANTS}
    weekend = by_name["a weekend evening"]
    assert weekend.weekday() >= 5 and weekend.hour >= 18
    holiday = by_name["the night of a US holiday"]
    assert holiday.weekday() < 5 and not is_business_day(holiday.date()) and holiday.hour < 6
    switch = by_name["the spring daylight-saving switch"]
    day_before = switch - dt.timedelta(hours=6)
    assert switch.utcoffset() == dt.timedelta(hours=-4) and day_before.utcoffset() == dt.timedelta(hours=-5)
    assert INSTANTS[0].at == DEFAULT_INSTANT and is_business_day(DEFAULT_INSTANT.astimezone(NEW_YORK).date())


def test_the_pinned_instant_comes_from_the_environment_with_its_offset() -> None:
    assert pinned_instant({}) == DEFAULT_INSTANT
    assert pinned_instant({CLOCK_VARIABLE: "2026-11-30T01:30:00+00:00"}) == dt.datetime(2026, 11, 30, 1, 30, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="no offset"):
        pinned_instant({CLOCK_VARIABLE: "2026-11-30T01:30:00"})
    assert faketime_command(dt.datetime(2026, 3, 8, 3, 30, tzinfo=NEW_YORK)) == ["faketime", "-f", "@2026-03-08 07:30:00"]


@pytest.mark.clock
def test_a_clock_test_runs_at_the_pinned_instant(pinned_clock: dt.datetime) -> None:
    assert pinned_clock == pinned_instant()
    assert abs((dt.datetime.now(dt.UTC) - pinned_clock).total_seconds()) < 60


def test_the_instants_run_side_by_side_each_in_its_own_temporary_folder_and_report_in_order(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """make clock runs one single-threaded pytest an instant: two cores run two at once. Each has its own
    --basetemp (pytest prunes its numbered folders by age, and the instants' clocks are months apart)."""
    import threading

    from riskbatch_platform.testing import clock

    together = threading.Barrier(2, timeout=30)  # broken (and the test failed) unless two instants run at once
    folders: list[Path] = []

    def run_at(instant: clock.Instant, files: list[str], pytest_args: list[str], basetemp: Path) -> tuple[int, str]:
        folders.append(basetemp)
        together.wait()
        return (1 if instant is INSTANTS[-1] else 0), f"ran at {instant.name}\n"

    monkeypatch.setattr(clock.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(clock, "run_at", run_at)
    assert clock.main(["--jobs", "2"]) == 1  # the last instant failed
    out, err = capsys.readouterr()
    assert [line.removeprefix("ran at ") for line in out.splitlines() if line.startswith("ran at ")] == [instant.name for instant in INSTANTS]
    assert len(set(folders)) == len(INSTANTS)
    assert f"fail at {INSTANTS[-1].name}" in err


def test_an_instant_ends_with_its_pytest_though_a_test_leaves_a_child_running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The instant's output goes to a file: a pipe would be read until every holder closed it, a leaked child included.
    from riskbatch_platform.testing import clock

    finished = tmp_path / "child-finished"
    leaky = tmp_path / "test_leaky.py"
    leaky.write_text(
        "import subprocess\n"
        f"def test_leaves_a_child():\n    subprocess.Popen(['sh', '-c', 'sleep 20; touch {finished}'], start_new_session=True)\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(clock, "faketime_command", lambda at: [])
    code, output = clock.run_at(clock.INSTANTS[0], [str(leaky)], ["-m", "", "-s"], tmp_path / "instant-0")  # -s: the child holds the output
    subprocess.run(["pkill", "-f", f"touch {finished}"], check=False)
    assert not finished.exists(), "run_at waited for the child the test left running, not for its pytest"
    assert code == 0 and "1 passed" in output

"""make clock: every test that depends on the date or the time, run at the instants that broke us.

CI runs at any hour of any day. A test that reads the wall clock passes on a Tuesday afternoon and fails
on a Sunday evening, on the night of an exchange holiday or across a daylight-saving switch in New York,
and a correct change then cannot land. The suite's rule (test/conftest.py) is that such a test carries
the `clock` marker, and a marked test runs with its clock pinned to RISKBATCH_TEST_CLOCK. This command
runs the marked tests once at each instant below, with the whole process's clock moved there as well
(libfaketime, Debian's `faketime`), so that a read the marker's pin misses (a subprocess, a library
that asks the C library) sees the same instant.

Exit status: 0 when every instant passes, 1 when one fails, 2 when faketime is missing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from riskbatch.operations.aws_access import bounded
from riskbatch_platform import REPO_ROOT

CLOCK_VARIABLE = "RISKBATCH_TEST_CLOCK"  # the instant a `clock` test runs at (ISO 8601, with its offset)
NEW_YORK = ZoneInfo("America/New_York")
SUITES = ("test/unit", "test/platform", "test/jobs")


@dataclass(frozen=True)
class Instant:
    name: str
    at: dt.datetime


# Each names the case that failed or could fail; New York times in the comments.
INSTANTS = (
    # The default: a Wednesday morning before the deadline, a business day, nothing special.
    Instant("a business morning", dt.datetime(2026, 11, 25, 12, 45, tzinfo=dt.UTC)),  # Wed 07:45 EST
    # Sunday evening: the previous business day is Friday and the next report is due on Monday.
    Instant("a weekend evening", dt.datetime(2026, 11, 30, 1, 30, tzinfo=dt.UTC)),  # Sun 29 Nov 20:30 EST
    # Just after midnight on an NYSE holiday (Christmas Day, a Friday).
    Instant("the night of a US holiday", dt.datetime(2026, 12, 25, 5, 15, tzinfo=dt.UTC)),  # Fri 00:15 EST
    # Half an hour after clocks went forward (02:00 EST became 03:00 EDT on 8 March 2026).
    Instant("the spring daylight-saving switch", dt.datetime(2026, 3, 8, 7, 30, tzinfo=dt.UTC)),  # Sun 03:30 EDT
)
DEFAULT_INSTANT = INSTANTS[0].at


def pinned_instant(environment: dict[str, str] | None = None) -> dt.datetime:
    """The instant a `clock` test runs at: RISKBATCH_TEST_CLOCK when set, the default otherwise."""
    value = (os.environ if environment is None else environment).get(CLOCK_VARIABLE)
    if not value:
        return DEFAULT_INSTANT
    instant = dt.datetime.fromisoformat(value)
    if instant.tzinfo is None:
        raise ValueError(f"{CLOCK_VARIABLE}={value!r} has no offset: give one (for example +00:00)")
    return instant


def faketime_command(instant: dt.datetime) -> list[str]:
    """libfaketime starting the process's clock at `instant` (UTC) and letting it run on."""
    return ["faketime", "-f", "@" + instant.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")]


def marked_test_files() -> list[str]:
    """The test files that mark a test (or themselves) `clock`: collecting only them keeps each run short."""
    paths = sorted(path for suite in SUITES for path in (REPO_ROOT / suite).rglob("test_*.py") if "mark.clock" in path.read_text())
    return [str(path.relative_to(REPO_ROOT)) for path in paths]


def run_at(instant: Instant, files: list[str], pytest_args: list[str], basetemp: Path) -> tuple[int, str]:
    """The marked tests at one instant, in a pytest of their own under faketime: its exit code and its output.

    Each instant has its own --basetemp: pytest's default numbered temporary folders are pruned by age, and a
    session whose clock is moved months away would take another instant's live folder for an old one."""
    environment = {
        **os.environ,
        CLOCK_VARIABLE: instant.at.isoformat(),
        "TZ": "UTC",
        # the monotonic clock stays real: timeouts and durations measure elapsed time, not the date
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }
    command = [*faketime_command(instant.at), sys.executable, "-m", "pytest", "-q", "-m", "clock", "-p", "no:cacheprovider", f"--basetemp={basetemp}"]
    basetemp.parent.mkdir(parents=True, exist_ok=True)
    output = basetemp.with_name(f"{basetemp.name}.out")
    # Into a file, not a pipe: a pipe is read to its end, which a child left running by a test would hold open.
    with output.open("w", encoding="utf-8") as sink:
        completed = subprocess.run([*command, *files, *pytest_args], cwd=REPO_ROOT, env=environment, check=False, stdout=sink, stderr=subprocess.STDOUT)
    return completed.returncode, output.read_text(encoding="utf-8", errors="replace")


def usable_cores() -> int:
    """The cores this process may run on (its affinity, as a container's CPU set limits it), not the machine's count."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@bounded("riskbatch-clock-check")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=usable_cores(), help="instants run at once (default: one a core; each is one pytest process)")
    parser.epilog = "Any other argument goes to pytest (for example -k status)."
    args, pytest_args = parser.parse_known_args(argv)
    if shutil.which("faketime") is None:
        print("make clock: faketime is missing: apt-get install -y faketime (make test-tools does it as root)", file=sys.stderr)
        return 2
    files = marked_test_files()
    print(f"clock: the tests marked clock in {len(files)} files, {min(max(args.jobs, 1), len(INSTANTS))} instant(s) at a time", flush=True)
    failed = []
    # Each instant is one single-threaded pytest: run side by side they use every core; reported in order.
    with tempfile.TemporaryDirectory(prefix="riskbatch-clock-") as scratch, ThreadPoolExecutor(max_workers=max(args.jobs, 1)) as pool:
        runs = [pool.submit(run_at, instant, files, pytest_args, Path(scratch) / f"instant-{index}") for index, instant in enumerate(INSTANTS)]
        for instant, run in zip(INSTANTS, runs, strict=True):
            code, output = run.result()
            print(f"clock: {instant.name}, {instant.at.astimezone(NEW_YORK):%a %Y-%m-%d %H:%M %Z} New York ({instant.at:%H:%M} UTC)", flush=True)
            print(output, end="", flush=True)
            if code != 0:
                failed.append(instant.name)
    if failed:
        print(f"clock: the date-dependent tests fail at {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"clock: the date-dependent tests pass at all {len(INSTANTS)} instants")
    return 0


if __name__ == "__main__":
    sys.exit(main())

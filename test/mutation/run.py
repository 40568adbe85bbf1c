#!/usr/bin/env python3
"""make mutate: apply each mutation of the catalogue to a copy of the template and judge it by the
tests of its own requirement.

1. The baseline: every requirement's tests run against the unmutated template and must pass; a
   failing baseline would make every mutant look killed, so the run stops there.
2. Each mutant is written as a pull request would carry it: in the canonical form (make fmt), so
   no format check can catch it; the docs' generated tables are read from lib/TapStack.json, not
   from the mutant, so they never see it either (make docs would regenerate them in the pull request).
   It then runs, without -x, the tests that REQUIREMENT_TESTS names for its requirement. It is killed
   only when one of those fails by an assertion (AssertionError or pytest.fail, in the test's call):
   a KeyError, a TypeError or an error in a fixture says the test could not read the mutant, not that
   it caught it, and such a mutant is listed apart as "errored" and does not count as killed. A mutant
   that none of them catches is a survivor, and the rest of the unit suite is then run once more on it
   to say which other tests (if any) noticed.
3. Every mutant runs in its own worker process (a process pool that gives each worker one task),
   so the template under test is read afresh and no state leaks between mutants.

Prints one line a mutant with the test that killed it, the score, every survivor and every mutant
killed only by errors; exits 1 when any mutant survives or errors, 2 when the baseline fails or the
catalogue names unknown tests.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from riskbatch_platform import REPO_ROOT
from riskbatch_platform.analysis.fmt_templates import canonical
from test.mutation.catalogue import MUTATIONS
from test.mutation.requirement_tests import REQUIREMENT_TESTS

# The tests that judge requirements: the unit suite, the template's requirements (the tools'
# own tests are under test/platform).
SUITE = sorted(str(path.relative_to(REPO_ROOT)) for path in (REPO_ROOT / "test" / "unit").glob("test_*.py"))


@dataclass(frozen=True)
class Verdict:
    mutation: str
    requirement: str
    killed_by: list[str]  # tests of its requirement that failed by an assertion
    errored: list[str]  # tests of its requirement that failed by an error (do not count)
    failed_elsewhere: list[str]  # for a survivor: other tests that failed


def node_ids(prefixes: tuple[str, ...]) -> list[str]:
    """pytest node ids for the catalogue's "file.py::test[param]" prefixes."""
    return [f"test/unit/{prefix}" for prefix in prefixes]


@dataclass(frozen=True)
class Outcome:
    code: int  # pytest's exit code
    asserted: list[str]  # tests that failed by an assertion in their call
    errored: list[str]  # tests that failed any other way (an exception, a fixture, collection)

    @property
    def failed(self) -> list[str]:
        return sorted({*self.asserted, *self.errored})


def failed_by_assertion(when: str, excinfo: object) -> bool:
    """A test's failure is its verdict only when its own call failed an assertion."""
    import pytest

    return when == "call" and excinfo is not None and excinfo.errisinstance((AssertionError, pytest.fail.Exception))  # type: ignore[attr-defined]


def run_tests(template_path: str, tests: list[str]) -> Outcome:
    """In this (worker) process: pytest on the tests against the template."""
    import contextlib
    import io

    import pytest

    class Failures:
        def __init__(self) -> None:
            self.asserted: set[str] = set()
            self.failed: set[str] = set()

        @pytest.hookimpl(tryfirst=True)  # before pytest's own, which ends this first-result hook
        def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> None:
            if failed_by_assertion(call.when, call.excinfo):
                self.asserted.add(item.nodeid.removeprefix("test/unit/"))

        def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
            if report.failed:
                self.failed.add(report.nodeid.removeprefix("test/unit/"))

    os.environ["RISKBATCH_TEMPLATE"] = template_path
    os.chdir(REPO_ROOT)
    failures = Failures()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = pytest.main(["-q", "-p", "no:cacheprovider", *tests], plugins=[failures])
    asserted = failures.failed & failures.asserted
    return Outcome(int(code), sorted(asserted), sorted(failures.failed - asserted))


def _of(test: str, prefixes: tuple[str, ...]) -> bool:
    return any(test == prefix or test.startswith(f"{prefix}[") for prefix in prefixes)


def judge(name: str, template: dict, workdir: str) -> Verdict:
    """In a worker: the named mutant, judged by its requirement's tests (mutations travel by name: their edits do not pickle)."""
    (mutation,) = [m for m in MUTATIONS if m.name == name]
    path = Path(workdir) / f"{mutation.name}.json"
    path.write_text(canonical(json.dumps(mutation.apply(template))), encoding="utf-8")
    prefixes = REQUIREMENT_TESTS[mutation.requirement]
    outcome = run_tests(str(path), node_ids(prefixes))
    if outcome.code not in (0, 1):
        raise RuntimeError(f"the tests of {mutation.requirement!r} could not run against {mutation.name} (exit {outcome.code})")
    killed_by = [test for test in outcome.asserted if _of(test, prefixes)]
    errored = [test for test in outcome.errored if _of(test, prefixes)]
    elsewhere: list[str] = []
    if not killed_by:
        elsewhere = run_tests(str(path), SUITE).failed
    return Verdict(mutation.name, mutation.requirement, killed_by, errored, elsewhere)


def _pool(jobs: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"), max_tasks_per_child=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--only", help="run the mutations whose name contains this text")
    parser.add_argument("--template", type=Path, default=REPO_ROOT / "lib" / "TapStack.json", help="the template to mutate (default: lib/TapStack.json)")
    args = parser.parse_args(argv)
    template = json.loads(args.template.read_text(encoding="utf-8"))
    selected = [m for m in MUTATIONS if not args.only or args.only in m.name]
    if not selected:
        print(f"no mutation's name contains {args.only!r}", file=sys.stderr)
        return 2
    requirements = sorted({m.requirement for m in selected})
    unknown = [r for r in requirements if r not in REQUIREMENT_TESTS]
    if unknown:
        print(f"REQUIREMENT_TESTS names no tests for: {unknown}", file=sys.stderr)
        return 2
    started = time.monotonic()
    # The baseline is every requirement's tests, whatever --only selects: a template that already
    # breaks one requirement would make some mutants look killed.
    baseline_tests = sorted({test for tests in REQUIREMENT_TESTS.values() for test in node_ids(tests)})
    with _pool(1) as pool:
        baseline = pool.submit(run_tests, str(args.template.resolve()), baseline_tests).result()
    if baseline.code != 0:
        print(f"baseline: the requirements' tests fail on the unmutated template (exit {baseline.code}); no mutant can be judged:", file=sys.stderr)
        print("\n".join(f"  {test}" for test in baseline.failed) or "  (no test ran: a test named in REQUIREMENT_TESTS does not exist)", file=sys.stderr)
        return 2
    print(f"baseline: {len(baseline_tests)} requirement tests pass on the unmutated template")
    survivors: list[Verdict] = []
    with tempfile.TemporaryDirectory() as directory, _pool(args.jobs) as pool:
        futures = [pool.submit(judge, mutation.name, template, directory) for mutation in selected]
        for done, future in enumerate(futures, start=1):
            verdict = future.result()
            if verdict.killed_by:
                line = f"killed   {verdict.mutation:<32} {verdict.requirement:<52} by {verdict.killed_by[0]}"
            elif verdict.errored:
                survivors.append(verdict)
                line = f"ERRORED  {verdict.mutation:<32} {verdict.requirement:<52} only errors, no assertion: {', '.join(verdict.errored)}"
            else:
                survivors.append(verdict)
                line = f"SURVIVED {verdict.mutation:<32} {verdict.requirement:<52} other failures: {', '.join(verdict.failed_elsewhere) or 'none'}"
            print(f"[{done:3}/{len(selected)}] {line[:220]}", flush=True)
    killed = len(selected) - len(survivors)
    score, seconds = 100 * killed / len(selected), time.monotonic() - started
    print(f"\nmutation score: {killed}/{len(selected)} killed by an assertion of their requirement's tests ({score:.1f} %) in {seconds:.0f} s")
    print(f"requirements mutated: {len(requirements)}")
    for verdict in survivors:
        kind = "errored (killed by errors only, not counted)" if verdict.errored else "surviving"
        print(f"{kind} mutant: {verdict.mutation} ({verdict.requirement})")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""make mutate: apply each mutation of the catalogue to a copy of the template and run the unit suite.

Prints the mutation score and every surviving mutant; exits 1 when any mutant survives.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from test.mutation.catalogue import MUTATIONS, Mutation  # noqa: E402

# Tests that read the template for its requirements: not the guard rule cases, the deploy
# script's tests, the emulator's fixes or the catalogue's own test (which cannot see a mutant, or
# would fail on one for their own reasons); the slowest to fail last: cfn-lint, then the IAM
# linters (they start cfripper).
NOT_REQUIREMENTS = {"test_deploy_script.py", "test_mutation_catalogue.py", "test_emulator_fixes.py", "test_iam_conditions.py"}
SLOWEST_LAST = ["test/unit/test_cfn_lint.py", "test/unit/test_iam_validity.py"]
_FILES = sorted(str(path.relative_to(REPO_ROOT)) for path in (REPO_ROOT / "test" / "unit").glob("test_*.py") if path.name not in NOT_REQUIREMENTS)
SUITE = [*(f for f in _FILES if f not in SLOWEST_LAST), *SLOWEST_LAST, "-k", "not test_rule_case"]


def _warm_up() -> None:
    """Import the heavy libraries once; each mutant's suite runs in a fork of this process."""
    import cfn_guard_rs.cfn_guard_rs  # noqa: F401
    import cfnlint.api  # noqa: F401
    import jsonpath_ng.ext  # noqa: F401
    import pytest  # noqa: F401
    import yaml  # noqa: F401


def _suite_in_child(template_path: Path, report_path: Path) -> int:
    """Runs in a forked child: the unit suite against the mutant, its first failure to report_path."""
    import contextlib
    import io

    import pytest

    os.environ["RISKBATCH_TEMPLATE"] = str(template_path)
    os.chdir(REPO_ROOT)
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        code = pytest.main(["-x", "-q", "-p", "no:cacheprovider", *SUITE])
    report_path.write_text(output.getvalue(), encoding="utf-8")
    return int(code)


def run_suite(mutation: Mutation, template: dict, workdir: Path) -> tuple[Mutation, bool, str]:
    path = workdir / f"{mutation.name}.json"
    report = workdir / f"{mutation.name}.out"
    path.write_text(json.dumps(mutation.apply(template), indent=2), encoding="utf-8")
    pid = os.fork()
    if pid == 0:  # child
        code = 3
        try:
            code = _suite_in_child(path, report)
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    lines = report.read_text(encoding="utf-8").splitlines() if report.exists() else []
    failed = [line for line in lines if line.startswith("FAILED")]
    if code not in (0, 1):
        raise RuntimeError(f"the suite could not run against {mutation.name} (exit {code}): {lines[-5:]}")
    return mutation, code == 1, failed[0] if failed else (lines[-1] if lines else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--only", help="run the mutations whose name contains this text")
    args = parser.parse_args(argv)
    template = json.loads((REPO_ROOT / "lib" / "TapStack.json").read_text(encoding="utf-8"))
    selected = [m for m in MUTATIONS if not args.only or args.only in m.name]
    _warm_up()
    started = time.monotonic()
    survivors: list[Mutation] = []
    with tempfile.TemporaryDirectory() as directory, ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_suite, mutation, template, Path(directory)) for mutation in selected]
        for done, future in enumerate(futures, start=1):
            mutation, killed, evidence = future.result()
            verdict = "killed  " if killed else "SURVIVED"
            print(f"[{done:3}/{len(selected)}] {verdict} {mutation.name:<32} {mutation.requirement:<52} {evidence[:110]}", flush=True)
            if not killed:
                survivors.append(mutation)
    killed_count = len(selected) - len(survivors)
    score = 100 * killed_count / len(selected)
    print(f"\nmutation score: {killed_count}/{len(selected)} killed ({score:.1f} %) in {time.monotonic() - started:.0f} s")
    requirements = sorted({m.requirement for m in selected})
    print(f"requirements mutated: {len(requirements)}")
    for mutation in survivors:
        print(f"surviving mutant: {mutation.name} ({mutation.requirement})")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())

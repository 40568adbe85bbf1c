"""make review BASE=<git ref>: what the pull request's template changes do to a running stack.

Compares lib/*.json at BASE with the working tree and writes out/review.md (the pull-request
comment) and out/review.json: resources added, removed and modified with the changed property
paths, replacement (from the resource provider schemas cfn-lint ships), the IAM delta, network
exposure, encryption, retention and deletion policy, parameters, outputs and exports, and the
cfn-lint and guard-rule counts at BASE and here. Each environment's parameter file (config/*.json)
is compared too: the template at BASE resolved with the file at BASE against the template here
resolved with the file here (riskbatch_platform.analysis.environment_review), so a value changed
in the file alone (a retention cut, a CIDR opened) is reviewed as a template change would be. Exits 1 when a change needs a security reviewer:
IAM widening, new exposure, encryption off, a stateful resource replaced or removed, an export
removed or renamed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from riskbatch.operations.aws_access import bounded
from riskbatch_platform import REPO_ROOT
from riskbatch_platform.analysis.compliance import requirements_from_old_table
from riskbatch_platform.analysis.environment_review import Values, applies, environment_review
from riskbatch_platform.analysis.guard import evaluate_all
from riskbatch_platform.analysis.lint import lint
from riskbatch_platform.analysis.review import as_json, compliance_delta, markdown, requirements_review, review_templates


def at_base(base: str, relative: str) -> dict | None:
    shown = subprocess.run(["git", "show", f"{base}:{relative}"], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    if shown.returncode != 0:
        if "does not exist" in shown.stderr or "exists on disk, but not in" in shown.stderr:
            return None
        raise SystemExit(f"git show {base}:{relative} failed: {shown.stderr.strip()}")
    return json.loads(shown.stdout)


def config_files_at(base: str) -> list[str]:
    """The environments' parameter files (config/*.json) at BASE."""
    listed = subprocess.run(["git", "ls-tree", "--name-only", base, "config/"], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    return [name for name in listed.stdout.split() if name.endswith(".json")] if listed.returncode == 0 else []


def _values(loaded: dict | None, relative: str) -> Values | None:
    from riskbatch_platform.deployment.deploy import parameters_document

    return None if loaded is None else parameters_document(loaded, Path(relative))[0]


def environments(base: str) -> dict[str, tuple[Values | None, Values | None]]:
    """Each parameter file's values at BASE and here (None where the file is not)."""
    here = sorted(path.relative_to(REPO_ROOT).as_posix() for path in (REPO_ROOT / "config").glob("*.json"))
    found = {}
    for relative in sorted(set(here) | set(config_files_at(base))):
        head = json.loads((REPO_ROOT / relative).read_text(encoding="utf-8")) if relative in here else None
        found[relative] = (_values(at_base(base, relative), relative), _values(head, relative))
    return found


def requirements_at(base: str) -> dict | None:
    """The compliance table's requirements at BASE: its requirements file, or, for a BASE from before
    that file, the table its scripts/validate.py held (so the move itself is compared, not all "added")."""
    found = at_base(base, "compliance/requirements.json")
    if found is not None:
        return found
    shown = subprocess.run(["git", "show", f"{base}:scripts/validate.py"], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    return requirements_from_old_table(shown.stdout) if shown.returncode == 0 else None


def counts(template: dict | None) -> tuple[int, int]:
    """(cfn-lint findings, guard rules failing) of one version of a template."""
    if template is None:
        return (0, 0)
    with tempfile.NamedTemporaryFile("w", suffix=".json", encoding="utf-8") as handle:
        json.dump(template, handle)
        handle.flush()
        findings = len(lint(Path(handle.name)))
    return findings, sum(1 for verdict in evaluate_all(template) if verdict.status == "FAIL")


def compliance_at(base: str) -> list[dict[str, str]]:
    """make validate's table at BASE: its own riskbatch-validate, run in a worktree of BASE."""
    with tempfile.TemporaryDirectory(prefix="riskbatch-review-") as folder:
        tree = Path(folder) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), base], cwd=REPO_ROOT, check=True, capture_output=True)
        try:
            (tree / ".tools").symlink_to(REPO_ROOT / ".tools")  # checkov's own environment
            # BASE's own code, not this checkout's installed one: its source folders first on the path.
            # A BASE from before the tooling became a package runs its scripts/validate.py.
            path = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
            if (tree / "scripts" / "validate.py").is_file():
                command = [sys.executable, "scripts/validate.py"]
                environment = {**path, "PYTHONPATH": f"{tree / 'scripts'}:{tree / 'src'}:{tree}"}
            else:
                command = [sys.executable, "-m", "riskbatch_platform.analysis.validate"]
                environment = {**path, "PYTHONPATH": f"{tree / 'src'}:{tree}"}
            subprocess.run([*command, "--out", str(tree / "out")], cwd=tree, env=environment, check=False, capture_output=True)
            return json.loads((tree / "out" / "compliance.json").read_text(encoding="utf-8"))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO_ROOT, check=False, capture_output=True)


@bounded("riskbatch-review")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base", help="the git ref the pull request merges into (origin/main)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "out")
    parser.add_argument("--no-counts", action="store_true", help="skip the cfn-lint and guard counts (faster)")
    parser.add_argument(
        "--compliance", type=Path, metavar="COMPLIANCE_JSON",
        help="make validate's table here (out/compliance.json): compare it with the table at BASE (runs BASE's validate)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    paths = sorted(path.relative_to(REPO_ROOT).as_posix() for path in (REPO_ROOT / "lib").glob("*.json"))
    reviews, tallies, configs = {}, {}, environments(args.base)
    for relative in paths:
        head = json.loads((REPO_ROOT / relative).read_text(encoding="utf-8"))
        base = at_base(args.base, relative)
        reviews[relative] = review_templates(base or {}, head)
        for config, values in configs.items():
            if applies(head, values[1]) or applies(base, values[0]):
                reviews[f"{relative} with {config}"] = environment_review(config, (base, head), values)
        if not args.no_counts:
            (base_lint, base_guard), (head_lint, head_guard) = counts(base), counts(head)
            tallies[relative] = {"cfn-lint findings": (base_lint, head_lint), "guard rules failing": (base_guard, head_guard)}
    requirements_file = "compliance/requirements.json"
    head_requirements = json.loads((REPO_ROOT / requirements_file).read_text(encoding="utf-8"))
    reviews[requirements_file] = requirements_review(requirements_at(args.base), head_requirements)
    args.out.mkdir(parents=True, exist_ok=True)
    delta = compliance_delta(compliance_at(args.base), json.loads(args.compliance.read_text(encoding="utf-8"))) if args.compliance else None
    comment = markdown(reviews, tallies or None, delta)
    (args.out / "review.md").write_text(comment, encoding="utf-8")
    (args.out / "review.json").write_text(as_json(reviews) + "\n", encoding="utf-8")
    print(comment)
    needs = any(review.needs_security_review for review in reviews.values())
    print(f"review: {'needs a security reviewer' if needs else 'no change needs a security reviewer'}; out/review.md", file=sys.stderr)
    return 1 if needs else 0


if __name__ == "__main__":
    sys.exit(main())

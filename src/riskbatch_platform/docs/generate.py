"""Write the docs' generated parts, or check the docs (--check).

Generated from what exists: the least-privilege matrix (docs/security.md) and the parameter table
(docs/design.md) from the template, the
deployer's permissions (docs/deployer-permissions.md, docs/deployer-policy.json, and the
CloudFormation service role's and the person deploying with it: docs/cloudformation-service-role-*.json,
docs/deploying-with-service-role-policy.json) from the
resource provider schemas, the scripts' source and the calls the commands were recorded making against the
emulator (docs/recorded-calls.json; --record runs them again and rewrites it). --check fails while a generated part differs,
and checks every link and every command in README.md and docs/ (riskbatch_platform/docs/check.py).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

from riskbatch.operations.aws_access import bounded
from riskbatch_platform import REPO_ROOT
from riskbatch_platform.analysis.compliance import markdown_table, requirements
from riskbatch_platform.analysis.deployer_permissions import (
    deployer_markdown,
    deployer_policy,
    deploying_person_policy,
    service_role_policy,
    service_role_trust,
    unknown_to_parliament,
)
from riskbatch_platform.analysis.parameter_table import parameter_table
from riskbatch_platform.analysis.privilege_matrix import main_template_matrix
from riskbatch_platform.docs.check import problems

DOCS = REPO_ROOT / "docs"


def _deployer_section() -> str:
    unknown = unknown_to_parliament()
    tail = "\n### Actions parliament does not know\n\n" + (", ".join(f"`{action}`" for action in unknown) or "none") + "\n"
    return deployer_markdown() + tail


# file -> {section name: its text}; a section sits between its two markers.
SECTIONS: dict[str, dict[str, Callable[[], str]]] = {
    "security.md": {"least-privilege matrix": main_template_matrix},
    "deployer-permissions.md": {"deployer permissions": _deployer_section},
    "checks.md": {"compliance requirements": lambda: "\n".join(["", *markdown_table(requirements()), ""])},
    "design.md": {"parameters": parameter_table},
}
WHOLE_FILES: dict[str, Callable[[], str]] = {
    "deployer-policy.json": lambda: json.dumps(deployer_policy(), indent=2) + "\n",
    "cloudformation-service-role-trust.json": lambda: json.dumps(service_role_trust(), indent=2) + "\n",
    "cloudformation-service-role-policy.json": lambda: json.dumps(service_role_policy(), indent=2) + "\n",
    "deploying-with-service-role-policy.json": lambda: json.dumps(deploying_person_policy(), indent=2) + "\n",
}


def _with_section(text: str, name: str, body: str) -> str:
    start, end = f"<!-- generated: {name} -->", "<!-- end generated -->"
    pattern = re.compile(re.escape(start) + r"\n.*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"no '{start}' ... '{end}' markers")
    return pattern.sub(lambda _match: f"{start}\n{body.rstrip()}\n{end}", text, count=1)


def generated() -> dict[Path, str]:
    """Every generated file's text as it should be."""
    wanted: dict[Path, str] = {}
    for name, sections in SECTIONS.items():
        text = (DOCS / name).read_text(encoding="utf-8")
        for section, make in sections.items():
            text = _with_section(text, section, make())
        wanted[DOCS / name] = text
    for name, make in WHOLE_FILES.items():
        wanted[DOCS / name] = make()
    return wanted


@bounded("riskbatch-docs")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 on a stale generated part, a broken link or a bad command")
    parser.add_argument("--verbose", action="store_true", help="print each command as it is checked")
    parser.add_argument(
        "--record", action="store_true", help="first run every command against a local emulator and write the calls it made (docs/recorded-calls.json)"
    )
    args = parser.parse_args(argv)
    if args.record:
        from riskbatch_platform.docs.record_calls import RECORDING, as_document, record

        RECORDING.write_text(as_document(record(say=lambda line: print(line, file=sys.stderr))), encoding="utf-8")
        print(f"wrote {RECORDING.relative_to(REPO_ROOT)}")
    stale = [path for path, text in generated().items() if not path.exists() or path.read_text(encoding="utf-8") != text]
    if not args.check:
        for path in stale:
            path.write_text(generated()[path], encoding="utf-8")
            print(f"wrote {path.relative_to(REPO_ROOT)}")
        return 0
    found = [f"{path.relative_to(REPO_ROOT)}: generated from the template and the scripts, and out of date: run make docs" for path in stale]
    found += problems(progress=(lambda line: print(line, file=sys.stderr)) if args.verbose else (lambda _line: None))
    for problem in found:
        print(problem)
    print(f"docs check: {len(found)} problem(s)", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

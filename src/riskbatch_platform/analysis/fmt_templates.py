"""One canonical formatting of the templates, so that a diff shows only what changed.

Two-space JSON, UTF-8 as written (no \\u escapes), a newline at the end; the sections in the
order the style guide gives (AWSTemplateFormatVersion, Description, Metadata, Parameters, Rules,
Mappings, Conditions, Resources, Outputs) and each resource's attributes in CloudFormation's
documented order (Type, Condition, DependsOn, the policies, Metadata, Properties). What is inside
Properties, Parameters and Outputs keeps the order it was written in: that order is the author's.

  riskbatch-fmt            # rewrite lib/*.json in the canonical form (make fmt)
  riskbatch-fmt --check    # list the files that are not, exit 1 (make lint)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from riskbatch.operations.aws_access import bounded
from riskbatch_platform import REPO_ROOT

SECTIONS = ("AWSTemplateFormatVersion", "Description", "Transform", "Metadata", "Parameters", "Rules", "Mappings", "Conditions", "Resources", "Outputs")
RESOURCE_ATTRIBUTES = ("Type", "Condition", "DependsOn", "DeletionPolicy", "UpdateReplacePolicy", "UpdatePolicy", "CreationPolicy", "Metadata", "Properties")


def _ordered(mapping: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    """The known keys in their order, then any other key in the order it came (never dropped)."""
    known = {key: mapping[key] for key in order if key in mapping}
    return known | {key: value for key, value in mapping.items() if key not in known}


def canonical(text: str) -> str:
    template = _ordered(json.loads(text), SECTIONS)
    if isinstance(template.get("Resources"), dict):
        template["Resources"] = {name: _ordered(body, RESOURCE_ATTRIBUTES) for name, body in template["Resources"].items()}
    return json.dumps(template, indent=2, ensure_ascii=False) + "\n"


@bounded("riskbatch-fmt")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when a template is not canonical")
    parser.add_argument("paths", nargs="*", type=Path, help="templates (default: lib/*.json)")
    args = parser.parse_args(argv)
    paths = args.paths or sorted((REPO_ROOT / "lib").glob("*.json"))
    off = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        formatted = canonical(text)
        if formatted == text:
            continue
        off.append(path)
        if not args.check:
            path.write_text(formatted, encoding="utf-8")
    for path in off:
        print(f"{'not canonical' if args.check else 'formatted'}: {path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}")
    if args.check and off:
        print("run: make fmt", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

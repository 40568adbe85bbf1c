"""Every template is in the one canonical form (make fmt writes it; make lint checks it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from riskbatch_platform.analysis.fmt_templates import canonical, main

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((REPO_ROOT / "lib").glob("*.json"))


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda path: path.name)
def test_every_template_is_canonical(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert canonical(text) == text


SCRAMBLED = {
    "Outputs": {"B": {"Value": 1}, "A": {"Value": 2}},
    "Resources": {"Queue": {"Properties": {"Zeta": 1, "Alpha": "é"}, "DeletionPolicy": "Delete", "Type": "AWS::SQS::Queue", "Custom": True}},
    "Description": "d",
    "AWSTemplateFormatVersion": "2010-09-09",
}


def test_sections_and_resource_attributes_take_their_order_and_the_authors_order_stays() -> None:
    formatted = canonical(json.dumps(SCRAMBLED))
    document = json.loads(formatted)
    assert list(document) == ["AWSTemplateFormatVersion", "Description", "Resources", "Outputs"]
    assert list(document["Resources"]["Queue"]) == ["Type", "DeletionPolicy", "Properties", "Custom"]  # an unknown key is kept, last
    assert list(document["Resources"]["Queue"]["Properties"]) == ["Zeta", "Alpha"] and list(document["Outputs"]) == ["B", "A"]
    assert '"Alpha": "é"' in formatted and formatted.endswith("}\n") and '\n  "Description"' in formatted
    assert canonical(formatted) == formatted


def test_the_check_fails_on_a_template_that_is_not_canonical_and_fmt_fixes_it(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps(SCRAMBLED, indent=4), encoding="utf-8")
    assert main(["--check", str(path)]) == 1
    assert main([str(path)]) == 0
    assert main(["--check", str(path)]) == 0

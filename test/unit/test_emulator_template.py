"""The emulator's copy of the template differs from lib/TapStack.json only where moto has a defect."""

from __future__ import annotations

import copy

from riskbatch_infra.emulator_template import emulator_template
from test.template_model import Template


def _paths(node, prefix=""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, f"{prefix}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, f"{prefix}/{index}")
    else:
        yield prefix, node


def test_the_original_is_not_touched(template: Template) -> None:
    before = copy.deepcopy(template.doc)
    emulator_template(template.doc)
    assert template.doc == before


def test_only_conditional_exports_and_key_tags_are_dropped(template: Template) -> None:
    copy_, _ = emulator_template(template.doc)
    original = dict(_paths(template.doc))
    transformed = dict(_paths(copy_))
    removed = set(original) - set(transformed)
    conditional_outputs = {name for name, body in template.doc["Outputs"].items() if "Condition" in body}
    for path in removed:
        parts = path.split("/")
        is_conditional_export = parts[1] == "Outputs" and parts[2] in conditional_outputs and parts[3] == "Export"
        is_key_tag = parts[1] == "Resources" and template.resources[parts[2]]["Type"] == "AWS::KMS::Key" and parts[4] == "Tags"
        assert is_conditional_export or is_key_tag, path
    assert {path for path in set(original) & set(transformed) if original[path] != transformed[path]} == set()


def test_every_change_is_reported(template: Template) -> None:
    _, changes = emulator_template(template.doc)
    conditional_exports = [name for name, body in template.doc["Outputs"].items() if "Condition" in body and "Export" in body]
    assert len([change for change in changes if change.startswith("output ")]) == len(conditional_exports)

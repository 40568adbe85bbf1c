"""The mutation catalogue stays in step with the template: every mutation still changes it."""

from __future__ import annotations

import pytest

from test.mutation.catalogue import MUTATIONS, Mutation
from test.template_model import Template


def test_catalogue_is_large_enough() -> None:
    assert len(MUTATIONS) >= 50
    assert len({mutation.name for mutation in MUTATIONS}) == len(MUTATIONS)


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda mutation: mutation.name)
def test_mutation_changes_the_template(template: Template, mutation: Mutation) -> None:
    mutant = mutation.apply(template.doc)
    assert mutant != template.doc


def _changed_resources(before: dict, after: dict) -> set[str]:
    resources = set(before["Resources"]) | set(after["Resources"])
    return {logical_id for logical_id in resources if before["Resources"].get(logical_id) != after["Resources"].get(logical_id)}


@pytest.mark.parametrize("mutation", [m for m in MUTATIONS if m.name.endswith(("-first", "-last"))], ids=lambda mutation: mutation.name)
def test_a_first_or_last_mutation_edits_the_first_or_last_instance(template: Template, mutation: Mutation) -> None:
    """The instances are the resources of the edited one's type that hold the edited property."""
    mutant = mutation.apply(template.doc)
    (changed,) = _changed_resources(template.doc, mutant)
    before, after = template.resources[changed], mutant["Resources"][changed]
    edited = {
        key for key in set(before.get("Properties", {})) | set(after.get("Properties", {})) if before["Properties"].get(key) != after["Properties"].get(key)
    }
    instances = [lid for lid, body in template.resources.items() if body["Type"] == before["Type"] and edited <= set(body.get("Properties", {}))]
    assert changed == (instances[0] if mutation.name.endswith("-first") else instances[-1]), instances

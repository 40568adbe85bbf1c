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

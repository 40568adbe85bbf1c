from __future__ import annotations

import os
from pathlib import Path

import pytest

from test.template_model import TEMPLATE_PATH, Template, load_template

# `make mutate` points the suite at a mutated copy of the template.
TEMPLATE_UNDER_TEST = Path(os.environ.get("RISKBATCH_TEMPLATE", TEMPLATE_PATH))

_TEMPLATE = Template(load_template(TEMPLATE_UNDER_TEST))


def the_template() -> Template:
    """The template under test, for parametrising at collection time."""
    return _TEMPLATE


@pytest.fixture(scope="session")
def template() -> Template:
    return _TEMPLATE


@pytest.fixture(scope="session")
def template_path() -> Path:
    return TEMPLATE_UNDER_TEST

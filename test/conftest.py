from __future__ import annotations

import os
from pathlib import Path

import pytest
import time_machine

from riskbatch_platform.testing.clock import pinned_instant
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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "clock: the test depends on the date or the time; it runs with its clock pinned to RISKBATCH_TEST_CLOCK, and make clock runs it at several instants",
    )


@pytest.fixture(autouse=True)
def pinned_clock(request: pytest.FixtureRequest):
    """A `clock` test runs at the pinned instant, its clock moving on from there (timeouts still expire);
    a test that needs another instant travels there itself, inside this one."""
    if request.node.get_closest_marker("clock") is None:
        yield None
        return
    instant = pinned_instant()
    with time_machine.travel(instant, tick=True):
        yield instant

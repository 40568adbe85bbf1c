"""The emulator fixes' cases run in an in-process AWS: moto's mock_aws, fresh for each case."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield

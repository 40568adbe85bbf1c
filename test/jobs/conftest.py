from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import numpy as np
import pytest
from moto import mock_aws

from riskbatch.inputs.files import Market
from riskbatch.inputs.synthetic import linear_book, market_from_covariance
from riskbatch.model.engine import Book, build_book


@pytest.fixture(scope="session")
def small_market() -> Market:
    vols = np.array([0.02, 0.015, 0.01, 0.025, 0.012])
    corr = np.full((5, 5), 0.3) + np.eye(5) * 0.7
    return market_from_covariance(corr * np.outer(vols, vols))


@pytest.fixture(scope="session")
def small_book(small_market: Market) -> Book:
    """Four portfolios with offsetting positions: a diversified firm."""
    exposures = {
        "PF1": {0: 1_000_000.0, 1: -400_000.0},
        "PF2": {1: 800_000.0, 2: 300_000.0},
        "PF3": {3: -900_000.0, 4: 200_000.0},
        "PF4": {0: -600_000.0, 4: 700_000.0},
    }
    return build_book(linear_book(exposures, small_market), small_market)


@pytest.fixture
def s3(request: pytest.FixtureRequest) -> Iterator[Any]:
    """An S3 client in moto's account with the test module's BUCKET made (a module's own s3 fixture wins)."""
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=request.module.BUCKET)
        yield client

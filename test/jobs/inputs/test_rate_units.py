"""A rate step that reads as a percentage typed as a number cannot be signed through (riskbatch accept-rates): beside a
positive rate, and beside a zero, a negative or a tiny rate (JPY and CHF from 2016 to 2022); a genuine squeeze can."""

from __future__ import annotations

import pytest

from riskbatch.inputs.rate_units import typed_percentage


@pytest.mark.parametrize(
    ("code", "rate", "other"),
    [
        ("JPY", 0.1, 0.002),  # 0.1 typed for 0.1 %, beside 0.2 %
        ("JPY", 0.07, -0.0015),  # beside a negative rate
        ("JPY", 0.05, 0.0),  # beside a zero
        ("JPY", 0.08, 0.0002),  # 400 times a tiny rate
        ("CHF", 0.05, -0.0025),  # beside the SNB's -0.25 %
        ("JPY", 0.001, 0.1),  # the correct rate the night after an accepted slip: 1/100 of it
    ],
)
def test_a_percentage_typed_as_a_number_is_named_whatever_the_sign_or_size_of_the_rate_beside_it(code: str, rate: float, other: float) -> None:
    slip = typed_percentage(code, "3M", rate, other, "its neighbour 1Y")
    assert slip is not None and slip.startswith(f"{code} 3M {rate:g} ") and "a percentage typed as a number?" in slip


@pytest.mark.parametrize(
    ("code", "rate", "other"),
    [
        ("EUR", 0.045, 0.021),  # EUR 2.1 % to 4.5 %
        ("CNH", 0.09, 0.02),  # the CNH squeeze, 2 % to 9 %
        ("CNH", 0.66, 0.04),  # CNH HIBOR overnight, January 2016
        ("RUB", 0.20, 0.095),  # Russia's key rate, 28 February 2022
        ("TRY", 0.50, 0.25),
    ],
)
def test_a_genuine_squeeze_is_not_taken_for_a_typed_percentage(code: str, rate: float, other: float) -> None:
    assert typed_percentage(code, "1W", rate, other, "its night before (2026-11-24)") is None

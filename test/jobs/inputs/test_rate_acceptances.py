"""A curve refused for its steps alone (a genuine squeeze) is used on a named sign-off of exactly that curve, and only
then; a curve refused for anything else (a percentage typed as a number, outside its band) never is.

Before, Russia's key rate of 28 February 2022 (9.5 % to 20 %) refused RUB that night with no way to use it: its FX
options were excluded whatever a risk manager knew."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from riskbatch.inputs.rate_acceptances import acceptance_record
from riskbatch.inputs.rates import PreviousCurves, RateCurves, parse_rates
from riskbatch.inputs.sample import rates_table
from test.jobs.inputs.test_rates_per_currency import DATE, USD, _policy

FRIDAY = PreviousCurves(DATE - dt.timedelta(days=1), {"USD": [[0.25, 0.043], [10.0, 0.042]], "RUB": [[0.25, 0.095], [10.0, 0.11]]})
SQUEEZED = {"USD": USD, "RUB": {"3M": 0.20, "10Y": 0.155}}  # the key rate 9.5 % to 20 %: 10.5 and 4.5 points from the night before
SIGNED = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC)


def _parsed(curves: dict[str, dict[str, float]], accepted: dict[str, dict[str, Any]] | None = None) -> RateCurves:
    policy = _policy()
    return parse_rates(rates_table(DATE, curves), "rates.csv", DATE, 0, policy.rate_bands, policy.rate_steps, FRIDAY, accepted)


def _manifest(curves: RateCurves) -> dict[str, Any]:
    """The refusing run's record as the command reads it (its rates_source as night_rates writes it)."""
    source = {"uri": "s3://in/incoming/2026-11-25/rates.csv", "sha256": "ab" * 32, "refused": curves.refused, "acceptable": curves.acceptable}
    source["mistyped"] = curves.mistyped
    return {"run_id": "2026-11-25-0123456789ab", "business_date": DATE.isoformat(), "rates_source": source}


@pytest.mark.clock
def test_a_curve_refused_for_its_steps_is_used_on_a_sign_off_of_that_curve_and_only_that_curve() -> None:
    refused = _parsed(SQUEEZED)
    assert "RUB" not in refused.points and refused.acceptable == {"RUB": [[0.25, 0.20], [10.0, 0.155]]}
    sign_off = acceptance_record(_manifest(refused), "rub", "J. Risk", "the central bank raised the key rate to 20 %", SIGNED)
    assert (sign_off["currency"], sign_off["curve"], sign_off["refused_for"]) == ("RUB", refused.acceptable["RUB"], refused.refused["RUB"])
    used = _parsed(SQUEEZED, {"RUB": [sign_off]})
    assert used.refused == {} and used.points["RUB"] == [(0.25, 0.20), (10.0, 0.155)]
    assert used.accepted["RUB"]["signed_off_by"] == "J. Risk" and used.accepted["RUB"]["overrode"] == refused.refused["RUB"]
    corrected = _parsed({**SQUEEZED, "RUB": {"3M": 0.21, "10Y": 0.155}}, {"RUB": [sign_off]})  # other numbers: another sign-off needed
    assert "RUB" not in corrected.points and corrected.refused["RUB"][-1].startswith("RUB: the sign-off by J. Risk accepted another curve")


@pytest.mark.clock
@pytest.mark.parametrize(
    "curve",
    # the squeeze (10Y 11 % to 20 %: beyond the step) beside 20 % typed as 20 (outside the band), or beside a tenor that is none
    [{"3M": 20.0, "1Y": 0.20, "10Y": 0.20}, {"3M": 0.20, "10Y": 0.20, "1Q": 0.2}],
    ids=["typed-percentage", "bad-tenor"],
)
def test_a_curve_refused_for_more_than_its_steps_is_never_signed_through(curve: dict[str, float]) -> None:
    refused = _parsed({**SQUEEZED, "RUB": curve})
    assert any("points from 0.11 the night of" in why for why in refused.refused["RUB"]) and refused.acceptable == {}
    with pytest.raises(ValueError, match="RUB's curve of 2026-11-25 cannot be accepted \\(it was refused for more than its steps: RUB"):
        acceptance_record(_manifest(refused), "RUB", "J. Risk", "the central bank raised the key rate", SIGNED)
    forged = {"RUB": [{"curve": [[0.25, 0.2], [1.0, 0.2], [10.0, 0.2]], "signed_off_by": "J. Risk", "signed_off_at": "x", "reason": "y"}]}
    assert "RUB" not in _parsed({**SQUEEZED, "RUB": curve}, forged).points  # a record written by hand signs nothing through either


@pytest.mark.clock
@pytest.mark.parametrize(
    ("currency", "by", "reason", "words"),
    [
        ("USD", "J. Risk", "a genuine move of the curve", "USD's curve of 2026-11-25 cannot be accepted (it was not refused"),
        ("RUB", "", "a genuine move of the curve", "--by names the person"),
        ("RUB", "J. Risk", "genuine", "--reason says why"),
    ],
    ids=["not-refused", "no-name", "no-reason"],
)
def test_an_acceptance_needs_a_refused_curve_a_name_and_a_reason(currency: str, by: str, reason: str, words: str) -> None:
    with pytest.raises(ValueError, match=words.replace("(", "\\(")):
        acceptance_record(_manifest(_parsed(SQUEEZED)), currency, by, reason, SIGNED)


@pytest.mark.clock
def test_a_step_about_a_hundredfold_from_the_night_before_is_never_acceptable() -> None:
    """A typed percentage the night before (JPY 3M 0.1 for 0.1 %): tonight's correct 0.001 is 1/100 of it, refused and
    not acceptable, so a sign-off cannot carry the slip on; a record written by hand is not applied either."""
    before = PreviousCurves(DATE - dt.timedelta(days=1), {"USD": [[0.25, 0.043], [10.0, 0.042]], "JPY": [[0.25, 0.1], [1.0, 0.002], [10.0, 0.009]]})
    policy = _policy()
    tonight = {"USD": USD, "JPY": {"3M": 0.001, "1Y": 0.002, "10Y": 0.009}}
    refused = parse_rates(rates_table(DATE, tonight), "rates.csv", DATE, 0, policy.rate_bands, policy.rate_steps, before)
    assert refused.acceptable == {} and refused.mistyped["JPY"] == [
        "JPY 3M 0.001 is 1/100 of its night before (2026-11-24) 0.1: a percentage typed as a number? correct the file and rerun"
    ]
    with pytest.raises(ValueError, match=r"JPY's curve of 2026-11-25 cannot be accepted: JPY 3M 0\.001 is 1/100 of its night before"):
        acceptance_record(_manifest(refused), "JPY", "J. Risk", "the vendor confirms the curve", SIGNED)
    forged = {"JPY": [{"curve": [[0.25, 0.001], [1.0, 0.002], [10.0, 0.009]], "signed_off_by": "J. Risk", "signed_off_at": "x", "reason": "y"}]}
    assert "JPY" not in parse_rates(rates_table(DATE, tonight), "rates.csv", DATE, 0, policy.rate_bands, policy.rate_steps, before, forged).points

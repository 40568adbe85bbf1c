"""The rates file checked per currency: a low rate typed as a percentage inside its band is refused by the
step to its neighbouring tenor or to its own tenor the night before, and a currency whose curve fails is
refused alone, with its reason, its options excluded, every other currency's curve kept.

Before, JPY 3M 0.1 (meant 0.1 %) beside a 10Y of 0.009 was priced as 10 %; and one currency outside the
default band (EGP 3M 0.262, a real bill rate of 2024) refused the whole file and the night with it."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from riskbatch.inputs.files import POSITION_COLUMNS, InputError
from riskbatch.inputs.quality import DataQualityPolicy, prepare_night
from riskbatch.inputs.rates import PreviousCurves, RateCurves, exclude_options_without_rates, parse_rates
from riskbatch.inputs.sample import business_days, rates_table
from riskbatch.model.settings import data_quality_policy, load_model_config

DATE = dt.date(2026, 11, 25)  # a Wednesday
USD = {"3M": 0.043, "1Y": 0.041, "10Y": 0.042}


def _policy() -> DataQualityPolicy:
    return data_quality_policy(load_model_config())


def _parsed(curves: dict[str, dict[str, float]], previous: PreviousCurves | None = None) -> RateCurves:
    policy = _policy()
    return parse_rates(rates_table(DATE, curves), "rates.csv", DATE, 0, policy.rate_bands, policy.rate_steps, previous)


@pytest.mark.parametrize(
    ("currency", "curve"),
    [
        ("JPY", {"3M": 0.1, "1Y": 0.002, "10Y": 0.009}),  # 0.1 % typed as 0.1: inside JPY's band (up to 0.10)
        ("CHF", {"1M": 0.05, "3M": 0.001, "10Y": 0.003}),  # 0.05 %
        ("GBP", {"3M": 0.1, "6M": 0.001, "10Y": 0.008}),  # Bank Rate of 2020-21, 0.1 %
        ("GBP", {"3M": 0.001, "1Y": 0.1, "10Y": 0.008}),  # one tenor inside the curve
    ],
    ids=["JPY", "CHF", "GBP", "GBP-middle"],
)
def test_a_low_rate_typed_as_a_percentage_inside_its_band_is_refused_for_its_currency_alone(currency: str, curve: dict[str, float]) -> None:
    parsed = _parsed({currency: curve, "USD": USD})
    assert currency not in parsed.points and parsed.points["USD"] == [(0.25, 0.043), (1.0, 0.041), (10.0, 0.042)]
    (problem, *_) = parsed.refused[currency]
    assert "points apart, more than the" in problem and "allowed between neighbouring tenors (a percentage typed as a number?)" in problem


@pytest.mark.parametrize(
    ("currency", "curve"),
    [
        ("USD", {"1M": 0.053, "3M": 0.054, "6M": 0.053, "1Y": 0.050, "2Y": 0.046, "5Y": 0.040, "10Y": 0.038}),  # inverted, mid 2023
        ("USD", {"3M": 0.054, "10Y": 0.038}),  # the same, its two ends only
        ("EGP", {"3M": 0.262, "2Y": 0.24}),  # a 30 % bill rate, continuously compounded
        ("EGP", {"3M": 0.30, "6M": 0.29, "1Y": 0.28, "2Y": 0.26, "10Y": 0.23}),  # 2024: bills above bonds
        ("CHF", {"1M": -0.0075, "1Y": -0.005, "10Y": 0.0}),  # from -0.75 % to 0 %
        ("TRY", {"3M": 0.40, "10Y": 0.28}),  # the end of 2023
    ],
    ids=["USD-inverted", "USD-two-ends", "EGP-2Y", "EGP-2024", "CHF-negative", "TRY"],
)
def test_real_curves_pass_the_band_and_the_step(currency: str, curve: dict[str, float]) -> None:
    other = {"EUR": {"3M": 0.021, "10Y": 0.026}} if currency == "USD" else {"USD": USD}
    parsed = _parsed({currency: curve, **other})
    assert parsed.refused == {} and [rate for _, rate in parsed.points[currency]] == list(curve.values())


@pytest.mark.clock
def test_a_whole_curve_typed_as_percentages_is_refused_by_the_night_before_and_a_real_move_is_not() -> None:
    """JPY 0.05 % and 0.06 % typed as 0.05 and 0.06: inside the band, one point apart; only the night before tells."""
    yesterday = PreviousCurves(DATE - dt.timedelta(days=1), {"JPY": [[0.25, 0.0005], [10.0, 0.0006]], "CHF": [[0.25, -0.0075], [10.0, -0.0025]]})
    tonight = {"JPY": {"3M": 0.05, "10Y": 0.06}, "CHF": {"3M": 0.0, "10Y": 0.0}, "USD": USD}  # CHF: a 75 bp hike, a real move
    parsed = _parsed(tonight, yesterday)
    assert set(parsed.points) == {"CHF", "USD"} and len(parsed.refused["JPY"]) == 4  # two steps, each 100x: a unit error, never acceptable
    assert parsed.acceptable == {} and parsed.mistyped["JPY"][1] == (
        "JPY 10Y 0.06 is 100x its night before (2026-11-24) 0.0006: a percentage typed as a number? correct the file and rerun"
    )
    assert parsed.refused["JPY"][0] == (
        "JPY 3M on 2026-11-25: 0.05, 5.0 points from 0.0005 the night of 2026-11-24, more than the 2 allowed (a percentage typed as a number?)"
    )
    weeks_ago = PreviousCurves(DATE - dt.timedelta(days=21), yesterday.points)  # no night before: nothing to compare with
    assert set(_parsed(tonight, weeks_ago).points) == {"CHF", "JPY", "USD"}


def test_a_currency_outside_its_band_is_refused_with_its_reason_and_the_others_are_kept() -> None:
    parsed = _parsed({"USD": USD, "EUR": {"3M": 0.021, "10Y": 0.026}, "GBP": {"3M": 4.0, "10Y": 0.041}})
    assert set(parsed.points) == {"USD", "EUR"}
    assert parsed.refused["GBP"][0].startswith("GBP 3M on 2026-11-25: the rate 4 is outside the plausible")
    assert parsed.refused["GBP"][1] == "GBP: a short tenor (a year or less) and a long one (beyond a year) are needed on 2026-11-25"


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda rows: {key: values for key, values in rows.items() if key != "tenor"}, "missing column tenor"),
        (lambda rows: rows | {"currency": ["US Dollar", *rows["currency"][1:]]}, "'US Dollar' is not a currency code"),
        (lambda rows: rows | {"currency": [None, *rows["currency"][1:]]}, "1 empty currency value(s)"),
        (lambda rows: rows | {"rate": [4.3, 0.041, 2.6, 0.026]}, "the rate 4.3 is outside"),  # every currency refused: nothing usable
    ],
    ids=["column", "currency", "empty-currency", "every-currency"],
)
def test_a_file_that_cannot_be_read_or_has_no_usable_curve_is_still_refused_whole(edit, problem: str) -> None:
    rows = edit(rates_table(DATE, {"USD": {"3M": 0.043, "10Y": 0.041}, "EUR": {"3M": 0.021, "10Y": 0.026}}).to_pydict())
    table = pa.table({name: pa.array(values, rates_table(DATE, {}).schema.field(name).type) for name, values in rows.items()})
    policy = _policy()
    with pytest.raises(InputError) as raised:
        parse_rates(table, "rates.csv", DATE, 0, policy.rate_bands, policy.rate_steps)
    assert any(problem in found for found in raised.value.problems), raised.value.problems


def _fx_night() -> tuple[pa.Table, str, pa.Table, str]:
    """A market of FX_EURUSD and EQ_1 and two options on them, one each."""
    dates = business_days(DATE, 261)
    market = pa.table({"date": pa.array(dates * 2, pa.date32()), "factor": ["FX_EURUSD"] * len(dates) + ["EQ_1"] * len(dates),
                       "price": [1.08 + 0.001 * (i % 7) for i in range(len(dates))] + [50.0 + 0.1 * (i % 5) for i in range(len(dates))],
                       "currency": ["USD"] * (2 * len(dates))})  # fmt: skip
    expiry = DATE + dt.timedelta(days=365)
    rows = [
        {"portfolio_id": "A", "position_id": "O1", "instrument_type": "option", "underlying": "FX_EURUSD", "quantity": 1e6,
         "strike": 1.08, "expiry": expiry, "option_type": "call", "implied_vol": 0.08},
        {"portfolio_id": "A", "position_id": "O2", "instrument_type": "option", "underlying": "EQ_1", "quantity": 100.0,
         "strike": 50.0, "expiry": expiry, "option_type": "put", "implied_vol": 0.3},
    ]  # fmt: skip
    positions = pa.table({name: pa.array([row.get(name) for row in rows], kind) for name, kind in POSITION_COLUMNS.items()})
    return market, "market.csv", positions, "positions.csv"


def test_a_refused_curve_is_a_finding_and_its_options_are_excluded_with_why() -> None:
    night = prepare_night(*_fx_night(), DATE, DataQualityPolicy(), "USD")
    curves = _parsed({"USD": USD, "EUR": {"3M": 0.08, "1Y": 0.002, "10Y": 0.008}})  # EUR 3M 0.08 % typed as 0.08
    excluded = exclude_options_without_rates(night, curves, "positions.csv")
    assert [row.position_id for row in excluded.excluded] == ["O1"] and excluded.positions["position_id"].to_pylist() == ["O2"]
    assert excluded.excluded[0].reason.startswith("no dated rate for EUR in the night's rates file (EUR's curve refused: EUR on 2026-11-25: 3M 0.08 and 1Y")
    (finding,) = [finding for finding in excluded.findings if finding.check == "rates"]
    assert (finding.factor, finding.action) == ("EUR", "exclude") and finding.detail.startswith("curve refused, its options excluded: EUR on 2026-11-25")


@pytest.mark.parametrize(
    "curves",
    [
        {"JPY": {"1D": 0.0075, "30Y": 0.033}},  # the JGB curve of December 2025, its two ends only
        {"HUF": {"3M": 0.165, "10Y": 0.095}},  # October 2022: bills far above bonds
        {"CNH": {"1D": 0.09, "10Y": 0.022}},  # an overnight squeeze (January 2017), no night before stored
    ],
    ids=["JPY-1D-30Y", "HUF-2022", "CNH-squeeze"],
)
def test_tenors_more_than_four_times_apart_are_not_compared_as_neighbours(curves: dict[str, dict[str, float]]) -> None:
    """Before, the neighbour check compared a sparse curve's far-apart ends in absolute points and refused these real curves."""
    parsed = _parsed({**curves, "USD": USD})
    assert parsed.refused == {} and set(parsed.points) == {*curves, "USD"}


def test_tenors_within_four_times_of_each_other_are_still_compared() -> None:
    parsed = _parsed({"JPY": {"3M": 0.1, "1Y": 0.002, "30Y": 0.033}, "USD": USD})  # 3M and 1Y: four times apart, compared
    assert parsed.refused["JPY"] == [
        "JPY on 2026-11-25: 3M 0.1 and 1Y 0.002 are 9.8 points apart, more than the 2 allowed between neighbouring tenors (a percentage typed as a number?)",
        "JPY 3M 0.1 is 50x its neighbour 1Y 0.002: a percentage typed as a number? correct the file and rerun",
    ]


def test_a_bad_row_of_an_earlier_date_is_flagged_and_the_last_dates_curve_used() -> None:
    """Before, EUR 3M 2.0 of three months back in a file carrying history refused tonight's good EUR curve."""
    older = DATE - dt.timedelta(days=85)
    table = pa.concat_tables([rates_table(DATE, {"USD": USD, "EUR": {"3M": 0.02, "10Y": 0.027}}), rates_table(older, {"EUR": {"3M": 2.0, "10Y": 0.027}})])
    policy = _policy()
    parsed = parse_rates(table, "rates.csv", DATE, 0, policy.rate_bands, policy.rate_steps)
    assert parsed.refused == {} and parsed.points["EUR"] == [(0.25, 0.02), (10.0, 0.027)]
    (problem,) = parsed.flagged["EUR"]
    assert problem.startswith(f"EUR 3M on {older}: the rate 2 is outside the plausible")
    bad_tonight = pa.concat_tables([rates_table(DATE, {"USD": USD, "EUR": {"3M": 2.0, "10Y": 0.027}}), rates_table(older, {"EUR": {"3M": 0.02, "10Y": 0.027}})])
    parsed = parse_rates(bad_tonight, "rates.csv", DATE, 0, policy.rate_bands, policy.rate_steps)  # the last date's problem still refuses
    assert "EUR" not in parsed.points and parsed.refused["EUR"][0].startswith(f"EUR 3M on {DATE}: the rate 2 is outside")


def test_a_flagged_earlier_row_is_a_rates_finding_that_excludes_nothing() -> None:
    night = prepare_night(*_fx_night(), DATE, DataQualityPolicy(), "USD")
    points = {"USD": [(0.25, 0.043), (10.0, 0.042)], "EUR": [(0.25, 0.02), (10.0, 0.027)]}
    curves = RateCurves({"USD": DATE, "EUR": DATE}, points, {}, {"EUR": ["EUR 3M on 2026-09-01: bad"]})
    kept = exclude_options_without_rates(night, curves, "positions.csv")
    assert kept.excluded == night.excluded and kept.positions.num_rows == night.positions.num_rows
    (finding,) = [finding for finding in kept.findings if finding.check == "rates"]
    assert (finding.factor, finding.action) == ("EUR", "flag") and finding.detail.endswith("EUR 3M on 2026-09-01: bad")


@pytest.mark.clock
def test_a_genuine_move_beyond_the_step_refuses_its_currency_for_one_night_only() -> None:
    """As documented: a refused curve is not stored, so the next night has no night before for it (RUB, 28 February 2022)."""
    friday = PreviousCurves(DATE - dt.timedelta(days=1), {"USD": [[0.25, 0.043], [10.0, 0.042]], "RUB": [[0.25, 0.095], [10.0, 0.11]]})
    moved = {"USD": USD, "RUB": {"3M": 0.20, "10Y": 0.155}}
    first = _parsed(moved, friday)
    assert "RUB" in first.refused and "RUB" not in first.points
    second = _parsed(moved, PreviousCurves(DATE - dt.timedelta(days=1), first.as_parameters()))
    assert second.refused == {} and "RUB" in second.points

"""Limits: the optional limits.csv beside the night's files, its checks, and the report's utilisation."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from riskbatch.inputs.files import InputError
from riskbatch.reporting.tiles import breach_age, held_streak
from riskbatch.validation.history import night_record
from riskbatch.validation.limits import Limit, breach_streaks, parse_limits, utilisation


def test_a_limits_file_is_read() -> None:
    text = b"scope,measure,limit\nfirm,var_99,2500000\nPF01,es_975,400000\n"
    assert parse_limits(text, "limits.csv") == [Limit("firm", "var_99", 2_500_000.0), Limit("PF01", "es_975", 400_000.0)]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (b"scope,limit\nfirm,1\n", "missing column measure"),
        (b"scope,measure,limit\nfirm,var_98,1\n", "line 2: scope must be set and measure one of var_95, var_99, es_975"),
        (b"scope,measure,limit\nfirm,var_99,-5\n", "line 2: the limit must be a positive amount"),
        (b"scope,measure,limit\nfirm,var_99,nan\n", "line 2: the limit must be a positive amount"),
        (b"scope,measure,limit\nfirm,var_99,1\nfirm,var_99,2\n", "line 3: a second var_99 limit for firm"),
    ],
)
def test_a_bad_limits_file_names_every_problem(text: bytes, problem: str) -> None:
    with pytest.raises(InputError) as refused:
        parse_limits(text, "limits.csv")
    assert any(problem in line for line in refused.value.problems), refused.value.problems


def test_utilisation_marks_breaches_warnings_and_unknown_portfolios() -> None:
    firm = {"var_95": 70.0, "var_99": 101.0, "es_975": 95.0}
    portfolios = {"PF01": {"var_95": 10.0, "var_99": 20.0, "es_975": 30.0}}
    limits = [
        {"scope": "firm", "measure": "var_99", "limit": 100.0},
        {"scope": "firm", "measure": "es_975", "limit": 100.0},
        {"scope": "PF01", "measure": "var_95", "limit": 100.0},
        {"scope": "PF99", "measure": "var_95", "limit": 100.0},
    ]
    rows = utilisation(limits, firm, portfolios)
    assert [row["status"] for row in rows] == ["breach", "warning", "ok", "no such portfolio tonight"]
    assert rows[0]["utilisation"] == pytest.approx(1.01) and rows[3]["figure"] is None


def _night(firm_var_99: float, portfolios: dict[str, float] | None = None) -> dict:
    return {"var": {"firm": {"var_99": firm_var_99}, "portfolios": {name: {"var_99": value} for name, value in (portfolios or {}).items()}}}


def test_a_breach_counts_the_nights_in_a_row_its_figure_has_been_above_tonights_limit() -> None:
    limits = [{"scope": "firm", "measure": "var_99", "limit": 100.0}, {"scope": "PF01", "measure": "var_99", "limit": 10.0}]
    tonight = utilisation(limits, {"var_99": 130.0}, {"PF01": {"var_99": 12.0}})
    earlier = [_night(150.0, {"PF01": 11.0}), _night(90.0, {"PF01": 11.0}), _night(120.0), _night(101.0, {"PF01": 9.0})]
    firm, portfolio = breach_streaks(tonight, earlier)
    assert (firm["nights_breached"], firm["new"]) == (3, False)  # tonight, 101 and 120; 90 ended the run
    assert (portfolio["nights_breached"], portfolio["new"]) == (1, True)  # within the night before
    assert breach_streaks(tonight, [])[0]["nights_breached"] == 1
    assert breach_streaks(tonight, earlier[-2:])[0]["since_history_start"] and not firm["since_history_start"]  # the run may be longer
    assert breach_streaks(tonight, [_night(150.0)])[1]["nights_breached"] == 1  # a night without the portfolio ends its run


def test_a_limit_within_carries_no_breach_age() -> None:
    (row,) = breach_streaks(utilisation([{"scope": "firm", "measure": "var_99", "limit": 100.0}], {"var_99": 50.0}, {}), [_night(150.0)])
    assert "nights_breached" not in row and row["status"] == "ok"


def _unvalued_night(firm_var_99: float, portfolios: dict[str, float], without: list[str]) -> dict:
    """A night whose `without` portfolios had no figure (every position excluded), as its record names them."""
    return {**_night(firm_var_99, portfolios), "without_figures": without}


def test_a_night_without_a_figure_neither_ends_nor_extends_a_breach_run() -> None:
    limits = [{"scope": "PF03", "measure": "var_99", "limit": 10.0}]
    tonight = utilisation(limits, {"var_99": 50.0}, {"PF03": {"var_99": 12.0}})
    earlier = [_night(40.0, {"PF03": 9.0}), _night(40.0, {"PF03": 11.0}), _unvalued_night(30.0, {}, ["PF03"]), _night(40.0, {"PF03": 13.0})]
    (row,) = breach_streaks(tonight, earlier)
    assert (row["nights_breached"], row["new"]) == (3, False)  # tonight, 13 and 11: the night without a figure does not end the run
    assert row["nights_without_figure"] == 1  # nor counts in it
    assert breach_age(row) == "3rd night, 1 night without a whole figure between, not counted"
    (alone,) = breach_streaks(tonight, earlier[-2:])  # the gap first: its run starts with the history, the gap outside it
    assert (alone["nights_breached"], alone["nights_without_figure"], alone["since_history_start"]) == (2, 0, True)


def test_a_limit_without_a_figure_tonight_keeps_its_breach_run_as_it_was() -> None:
    limits = [{"scope": "PF03", "measure": "var_99", "limit": 10.0}]
    tonight = utilisation(limits, {"var_99": 50.0}, {}, unvalued={"PF03"})
    (row,) = breach_streaks(tonight, [_night(40.0, {"PF03": 9.0}), _night(40.0, {"PF03": 11.0}), _unvalued_night(30.0, {}, ["PF03"])])
    assert row["status"] == "no figure: every position excluded" and "nights_breached" not in row
    assert row["breached_before"] == {"nights": 1, "nights_without_figure": 1}  # last night had none either
    assert held_streak(row) == "breached the 1 night before (1 night without a whole figure between); tonight neither ends nor extends it"


def test_the_firm_figure_leaving_a_portfolio_out_is_incomplete_never_ok_and_within_its_limit_ends_no_run() -> None:
    limits = [{"scope": "firm", "measure": "var_99", "limit": 100.0}, {"scope": "firm", "measure": "es_975", "limit": 100.0}]
    caveats = {"firm": "excludes PF03 (no figure: every position excluded, notional 5 USD)"}
    within, above = utilisation(limits, {"var_99": 50.0, "es_975": 120.0}, {}, unvalued={"PF03"}, caveats=caveats)
    assert (within["status"], within["incomplete"]) == ("incomplete", caveats["firm"]) and within["utilisation"] == pytest.approx(0.5)
    assert (above["status"], above["incomplete"]) == ("breach (incomplete)", caveats["firm"])  # above its limit, apart from a whole figure's breach
    tonight = utilisation(limits[:1], {"var_99": 130.0}, {})
    (row,) = breach_streaks(tonight, [_night(150.0), _unvalued_night(60.0, {}, ["PF03"])])
    assert row["nights_breached"] == 2 and row["nights_without_figure"] == 1  # the incomplete night within the limit proves nothing
    assert [r["status"] for r in utilisation(limits, {"var_99": 50.0, "es_975": 95.0}, {})] == ["ok", "warning"]  # without a caveat, as before


def _recorded(date: str, pf01_var_99: float, incomplete_scopes: list[str] | None = None) -> dict:
    """The night's history record as the report writes it, PF01's figure alone in the book (its written_at on a pinned clock)."""
    figures = {"var_95": pf01_var_99 / 2, "var_99": pf01_var_99, "es_975": pf01_var_99}
    with time_machine.travel(dt.datetime(2026, 11, 26, 7, tzinfo=dt.UTC), tick=False):
        return night_record(date, f"run-{date}", "USD", figures, {"PF01": figures}, None, incomplete_scopes=incomplete_scopes)


@pytest.mark.clock
def test_a_partly_excluded_night_within_its_limit_neither_ends_nor_extends_a_breach_run() -> None:
    """Before, the record kept only the portfolios without a figure: night 3's incomplete 90 read as within the limit of 100
    and ended the run, so night 4's 125 was a new breach."""
    limits = [{"scope": "PF01", "measure": "var_99", "limit": 100.0}]
    third = _recorded("2026-11-24", 90.0, ["PF01", "firm"])  # PF01 flagged partly excluded that night (limit_caveats' keys)
    assert third["incomplete_scopes"] == ["PF01", "firm"]
    earlier = [_recorded("2026-11-19", 80.0), _recorded("2026-11-20", 120.0), _recorded("2026-11-23", 130.0), third]
    (row,) = breach_streaks(utilisation(limits, {"var_99": 125.0}, {"PF01": {"var_99": 125.0}}), earlier)
    assert (row["status"], row["nights_breached"], row["nights_without_figure"], row["new"]) == ("breach", 3, 1, False)
    assert breach_age(row) == "3rd night, 1 night without a whole figure between, not counted"
    (whole,) = breach_streaks(utilisation(limits, {"var_99": 125.0}, {"PF01": {"var_99": 125.0}}), [*earlier[:3], _recorded("2026-11-24", 90.0)])
    assert whole["nights_breached"] == 1  # a whole figure within the limit ends the run, as before


@pytest.mark.clock
def test_a_breach_on_an_incomplete_figure_reads_apart_from_a_breach_and_its_run_says_so() -> None:
    """Before, a figure leaving part of its portfolio out read as a plain breach above its limit, counted as certain:
    what it leaves out may be a hedge."""
    limits = [{"scope": "PF01", "measure": "var_99", "limit": 100.0}]
    caveats = {"PF01": "its figure leaves out 50 % of its notional (1 position), above the 25 % flagged: the risk may be higher or lower"}
    (tonight,) = breach_streaks(utilisation(limits, {"var_99": 150.0}, {"PF01": {"var_99": 150.0}}, (), caveats), [])
    assert (tonight["status"], tonight["incomplete"], tonight["nights_incomplete"]) == ("breach (incomplete)", caveats["PF01"], 1)
    assert breach_age(tonight) == "new tonight, on an incomplete figure" and held_streak(tonight) == breach_age(tonight)
    earlier = [_recorded("2026-11-20", 80.0), _recorded("2026-11-23", 130.0), _recorded("2026-11-24", 140.0, ["PF01", "firm"])]
    (whole,) = breach_streaks(utilisation(limits, {"var_99": 125.0}, {"PF01": {"var_99": 125.0}}), earlier)
    assert (whole["status"], whole["nights_breached"], whole["nights_incomplete"]) == ("breach", 3, 1)
    assert breach_age(whole) == "3rd night in a row, 1 of them on an incomplete figure"

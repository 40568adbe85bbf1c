"""The reasons of a night of no figure are counted by the project's one summariser of reasons (riskbatch.aws.alerts.counts_by),
as ingestion's alert counts them: the most frequent first, and the reasons past the first ones counted, never dropped
without a word."""

from __future__ import annotations

from riskbatch.aws.alerts import SUMMARY_ROWS
from riskbatch.reporting.no_figure import firm_without_figures, no_figure_lines

DATE = "2026-11-25"


def _refused(reasons: int) -> dict:
    """A data-quality record whose every row is refused: `reasons` distinct reasons, the n-th one given by fewer rows than the one before."""
    rows = [
        {"position_id": f"P{reason}-{row}", "portfolio_id": "PF01", "reason": f"reason {reason}"}
        for reason in range(1, reasons + 1)
        for row in range(reasons + 1 - reason)
    ]
    return {"excluded": rows, "excluded_notional": 0.0, "excluded_notional_currency": "USD", "excluded_notional_unknown": len(rows)}


def test_a_refused_file_with_more_reasons_than_are_named_names_the_first_ones_and_counts_the_others() -> None:
    reasons = SUMMARY_ROWS + 5
    data_quality = _refused(reasons)
    why = firm_without_figures(data_quality)
    summary = {"business_date": DATE, "reporting_currency": "USD", "firm_without_figures": why, "limits": [], "backtest": {}}
    lines = no_figure_lines(summary)
    by_reason = lines[lines.index("By reason:") + 1 :][: SUMMARY_ROWS + 1]

    named = [f"- {reasons + 1 - reason:,} x reason {reason}" for reason in range(1, SUMMARY_ROWS + 1)]  # the most frequent first
    others = range(SUMMARY_ROWS + 1, reasons + 1)
    rows_of_the_others = sum(reasons + 1 - reason for reason in others)
    assert by_reason == [*named, f"- {rows_of_the_others:,} x {len(others)} other reason(s)"]  # "5 other reason(s)", none dropped unsaid
    # the report's JSON says the same in numbers a program reads: the named reasons' counts, and the others counted
    assert why["by_reason"] == {f"reason {reason}": reasons + 1 - reason for reason in range(1, SUMMARY_ROWS + 1)}
    assert why["other_reasons"] == {"reasons": len(others), "positions": rows_of_the_others}


def test_a_refused_file_with_few_reasons_names_each_of_them() -> None:
    data_quality = _refused(3)
    why = firm_without_figures(data_quality)
    assert why["by_reason"] == {"reason 1": 3, "reason 2": 2, "reason 3": 1} and why["other_reasons"] is None
    lines = no_figure_lines({"business_date": DATE, "reporting_currency": "USD", "firm_without_figures": why, "limits": [], "backtest": {}})
    after = lines[lines.index("By reason:") + 1 :][:4]
    assert after == ["- 3 x reason 1", "- 2 x reason 2", "- 1 x reason 3", "Limits: no limits file came with tonight's files."]


def test_a_report_of_an_earlier_release_re_notified_says_its_reasons_by_count() -> None:
    # a report written, but its notice not sent, is notified again by the next release (riskbatch.jobs.report_generation)
    why = firm_without_figures(_refused(3))
    earlier = {key: value for key, value in why.items() if key != "other_reasons"}  # an earlier release kept {reason: count} alone
    summary = {"business_date": DATE, "reporting_currency": "USD", "limits": [], "backtest": {}}
    assert no_figure_lines({**summary, "firm_without_figures": earlier}) == no_figure_lines({**summary, "firm_without_figures": why})

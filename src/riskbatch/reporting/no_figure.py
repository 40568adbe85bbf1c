"""The report of a night whose every position was refused: the firm has no figure, never a VaR of 0.

The positions file was read, but not one of its rows could be valued (each is in the quarantine with its
reason). A firm VaR of 0 would turn bad data into low risk, and rejecting the night would publish nothing:
the night publishes this instead. Page one says at the top that the firm has no figure tonight, how many rows
were refused and the first reasons; every limit reads "no figure"; the notice's subject says NO FIGURE. The
summary's `firm` is None and `firm_without_figures` says why (riskbatch.jobs.no_figure_night builds it)."""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from riskbatch.aws.alerts import count_lines, first_rows, top_counts
from riskbatch.inputs.quality import excluded_notional_text
from riskbatch.reporting.deadline import publication_line, verdict
from riskbatch.reporting.page_one_bounds import RESTATEMENT_CHARS, clipped
from riskbatch.reporting.tables import FIGURE_NAMES, counted, money
from riskbatch.validation.restatement import restatement_line

FIRST_REASONS = 5  # the rows named on page one and in the notice; the quarantine record holds every one


def firm_without_figures(data_quality: dict[str, Any]) -> dict[str, Any]:
    """Why the firm has no figure: the refused rows' count and notional, their reasons by count, the first rows."""
    rows = data_quality.get("excluded", [])
    by_reason, others = top_counts(row["reason"] for row in rows)
    return {
        "figures": None,  # no figure, never a VaR of 0
        "reason": "every position of the night's positions file was refused",
        "excluded_positions": len(rows),
        "excluded_notional": data_quality.get("excluded_notional", 0.0),
        "excluded_notional_currency": data_quality.get("excluded_notional_currency", ""),
        "excluded_notional_unknown": data_quality.get("excluded_notional_unknown", 0),
        "by_reason": by_reason,  # {reason: positions}, the most frequent first; a program reads numbers, page one prints lines
        "other_reasons": {"reasons": others[0], "positions": others[1]} if others else None,  # past those: counted, never dropped unsaid
        "first_reasons": [f"{row['position_id']} ({row['portfolio_id']}): {row['reason']}" for row in rows[:FIRST_REASONS]],
    }


def _by_reason(why: dict[str, Any]) -> list[str]:
    """The reasons by count as lines (a report of an earlier release has no other_reasons)."""
    others = why.get("other_reasons")
    return count_lines(why["by_reason"], (others["reasons"], others["positions"]) if others else None)


def headline(summary: dict[str, Any]) -> str:
    why = summary["firm_without_figures"]
    unknown = why["excluded_notional_unknown"]
    # no row's notional known: "unknown", never an amount of 0 beside it
    notional = excluded_notional_text(why) if why["excluded_notional"] or not unknown else f"unknown ({counted(unknown, 'position')})"
    return (
        f"The firm has NO FIGURE tonight (not a VaR of 0): all {counted(why['excluded_positions'], 'position')} of the positions file "
        f"were refused, notional {notional}. Correct the file and land it under the same name: a new run starts."
    )


def no_figure_lines(summary: dict[str, Any]) -> list[str]:
    """Page one's and the notice's words: the headline, the first reasons, the limits, the backtest."""
    why = summary["firm_without_figures"]
    lines = [headline(summary), "The first refused rows:", *(f"- {reason}" for reason in why["first_reasons"])]
    lines += ["By reason:", *_by_reason(why)]
    limits = summary["limits"]
    none = "Limits: no limits file came with tonight's files."
    lines.append(f"Limits: none known to hold, each of the {counted(len(limits), 'limit')} has no figure." if limits else none)
    tonight = summary["backtest"].get("tonight")
    if tonight and tonight.get("no_figure"):
        lines.append(f"Backtest: {tonight['no_figure']}; an exception until signed off.")
    elif tonight and tonight.get("complete", True):
        hit = "an EXCEPTION, a loss above its VaR 99 %" if tonight["exceptions"]["firm"] else "within its VaR 99 %"
        lines.append(f"Backtest: the {tonight['var_date']} book made {money(tonight['hypothetical_pnl']['firm'])} {summary['reporting_currency']}, {hit}.")
    elif tonight:
        lines.append(f"Backtest: the {tonight['var_date']} book's move is INCOMPLETE ({'; '.join(tonight['incomplete']['reasons'])}).")
    date = summary["business_date"]
    lines.append(f"Tonight's own VaR is not recorded: tomorrow's backtest has no figure to test for {date}: never a P&L of 0, an exception until signed off.")
    return lines


def no_figure_subject(summary: dict[str, Any]) -> str:
    status = summary.get("publication")
    late = f", {verdict(status)}" if status and not status["on_time"] else ""
    count = summary["firm_without_figures"]["excluded_positions"]
    return f"Risk report {summary['business_date']}: NO FIGURE (all {counted(count, 'position')} refused; not a VaR of 0){late}"


def no_figure_text(summary: dict[str, Any], report_uri: str, figures_uri: str) -> str:
    """The e-mail a person reads at 08:00."""
    status = summary.get("publication")
    lines = [f"Risk report for business date {summary['business_date']}" + (f": {verdict(status)}." if status else ".")]
    if status:
        lines.append(publication_line(status))
    body = no_figure_lines(summary)
    lines += ["", *first_rows(body, figures_uri, limit=len(body)), "", f"Report (PDF): {report_uri}", f"Figures (JSON): {figures_uri}"]
    return "\n".join(lines)


def render_no_figure_pdf(summary: dict[str, Any]) -> bytes:
    """One page: the headline first, the reasons, the limits (each "no figure"), the backtest, the inputs."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table

    styles = getSampleStyleSheet()
    story: list[Any] = [Paragraph(f"Risk report {summary['business_date']}: NO FIGURE", styles["Title"])]
    restated = restatement_line(summary)  # the night supersedes a record in force (or a later run holds it), as a report of figures says
    if restated:
        story.append(Paragraph(f"<b>{escape(clipped(restated, RESTATEMENT_CHARS, 'Audit trail'))}</b>", styles["Normal"]))
    story += [Paragraph(escape(line), styles["Normal"]) for line in no_figure_lines(summary)]
    if summary.get("publication"):
        story.append(Paragraph(escape(publication_line(summary["publication"])), styles["Normal"]))
    if summary["limits"]:
        rows = [["scope", "measure", "limit", "figure", "status"]]
        rows += [[row["scope"], FIGURE_NAMES[row["measure"]], money(row["limit"]), "-", row["status"]] for row in summary["limits"]]
        story += [Paragraph("Limits", styles["Heading2"]), Table(rows, hAlign="LEFT")]
    story.append(Paragraph("Inputs", styles["Heading2"]))
    story += [Paragraph(escape(f"{item['role']}: {item['uri']} (SHA-256 {item['sha256']})"), styles["Normal"]) for item in summary["inputs"]]
    version = (summary.get("model_config") or {}).get("version")
    story.append(Paragraph(escape(f"Run {summary['run_id']}; model settings version {version}."), styles["Normal"]))
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, title=f"Risk report {summary['business_date']}", author="riskbatch").build(story)
    return buffer.getvalue()

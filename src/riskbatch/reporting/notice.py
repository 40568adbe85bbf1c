"""The report's notice on the alert topic: words for a person, JSON for a machine, in one publish.

A person reads the e-mail: the figures with thousands separators in the reporting currency, on
time or late against 09:30 New York, the breaches, and where the report is in S3. A machine
subscribed by SQS, Lambda or HTTP(S) keeps the JSON summary it always had (riskbatch.aws.alerts.
publish_per_protocol sends both with MessageStructure=json).
"""

from __future__ import annotations

from typing import Any

from riskbatch.aws.alerts import SUMMARY_ROWS, first_rows
from riskbatch.inputs.quality import excluded_notional_text
from riskbatch.reporting.coverage import data_exclusions, expired_today, expiries_text, firm_incomplete
from riskbatch.reporting.deadline import publication_line, verdict
from riskbatch.reporting.no_figure import no_figure_subject, no_figure_text
from riskbatch.reporting.tables import FIGURE_NAMES, counted, interval, money
from riskbatch.reporting.tiles import incomplete_use
from riskbatch.validation.limits import BREACH_INCOMPLETE


def notice_summary(summary: dict[str, Any], report_uri: str, figures_uri: str) -> dict[str, Any]:
    """The machines' summary (bounded: the first breaches and held prices, with their counts)."""
    breaches = [row for row in summary["limits"] if row["status"] in ("breach", BREACH_INCOMPLETE)]  # each row says its status
    quality = summary["data_quality"]
    return {
        "run_id": summary["run_id"],
        "business_date": summary["business_date"],
        "reporting_currency": summary["reporting_currency"],
        "market_as_of": summary["market_as_of"],
        "publication": summary.get("publication"),
        "firm": summary["firm"],  # None: no figure tonight, every position refused (firm_without_figures says why)
        "firm_without_figures": summary.get("firm_without_figures"),
        "portfolios_without_figures": summary.get("portfolios_without_figures") or {},
        "portfolios_partly_excluded": summary.get("portfolios_partly_excluded") or {},
        "limits_incomplete": sum(row["status"] not in ("breach", "warning", "ok") or bool(row.get("incomplete")) for row in summary["limits"]),
        "excluded_positions": quality["excluded_positions"],
        "expired_today": expired_today(quality),
        "excluded_notional": quality["excluded_notional"],
        "excluded_notional_unknown": quality.get("excluded_notional_unknown", 0),
        "held_last_prices": quality.get("held_last_prices", [])[:SUMMARY_ROWS],
        "limit_breaches": breaches[:SUMMARY_ROWS],
        "limit_breaches_total": len(breaches),
        "report": report_uri,
        "figures": figures_uri,
    }


def notice_subject(summary: dict[str, Any]) -> str:
    if summary["firm"] is None:  # every position refused: NO FIGURE, never a VaR of 0
        return no_figure_subject(summary)
    status = summary.get("publication")
    late = f", {verdict(status)}" if status and not status["on_time"] else ""
    unvalued = summary.get("portfolios_without_figures") or {}
    partial = summary.get("portfolios_partly_excluded") or {}
    parts = [f"excludes {', '.join(unvalued)}: no figure" if unvalued else "", f"{', '.join(partial)} partly excluded" if partial else ""]
    missing = f" (INCOMPLETE: {'; '.join(filter(None, parts))})" if firm_incomplete(summary) else ""
    return f"Risk report {summary['business_date']}: VaR 99 % {money(summary['firm']['var_99'])} {summary['reporting_currency']}{missing}{late}"


def _backtest_words(summary: dict[str, Any]) -> str:
    backtest, currency = summary["backtest"], summary["reporting_currency"]
    firm, tonight = backtest["firm"], backtest.get("tonight")
    zone = f"{firm['zone']} zone (+{firm['plus_factor']:.2f}), " if firm.get("zone") else ""
    words = f"Backtest: {zone}{counted(firm['exceptions'], 'exception')} in {counted(firm['observations'], 'day')}"
    signed_off = backtest.get("excluded") or []  # days out of the count by a named sign-off (riskbatch exclude-day)
    if signed_off:
        named = signed_off[-SUMMARY_ROWS:]  # the latest: the report's JSON lists them all
        days = "; ".join(f"{item['var_date']} signed off by {item['signed_off_by']} on {item['signed_off_at']}: {item['reason']}" for item in named)
        more = f"; {len(signed_off) - len(named)} earlier in the report" if len(signed_off) > len(named) else ""
        words += f" ({counted(len(signed_off), 'day')} excluded with a sign-off: {days}{more})"
    if tonight and tonight.get("no_figure"):
        return words + f"; {tonight['no_figure']}, an exception until signed off."
    if tonight and not tonight.get("complete", True):
        return words + f"; tonight's move is INCOMPLETE, an exception until signed off ({'; '.join(tonight['incomplete']['reasons'])})."
    if tonight:
        hit = "an EXCEPTION, a loss above its VaR 99 %" if tonight["exceptions"]["firm"] else "within its VaR 99 %"
        return words + f"; tonight the {tonight['var_date']} book made {money(tonight['hypothetical_pnl']['firm'])} {currency}, {hit}."
    return words + "."


def notice_text(summary: dict[str, Any], report_uri: str, figures_uri: str) -> str:
    """The e-mail a person reads at 08:00."""
    if summary["firm"] is None:
        return no_figure_text(summary, report_uri, figures_uri)
    currency, model, firm = summary["reporting_currency"], summary["model"], summary["firm"]
    status = summary.get("publication")
    lines = [f"Risk report for business date {summary['business_date']}" + (f": {verdict(status)}." if status else ".")]
    if status:
        lines.append(publication_line(status))
    lines += [
        "",
        f"Firm-wide, in {currency}, over {counted(model['horizon_days'], 'business day')} from {model['scenarios']:,} scenarios "
        f"(market data as of {summary['market_as_of']}):",
    ]
    width = max(len(money(firm[key])) for key in FIGURE_NAMES)
    lines += [f"  {label + ':':<11}{money(firm[key]):>{width}} {currency}   (95 % interval {interval(firm, key)})" for key, label in FIGURE_NAMES.items()]
    unvalued = summary.get("portfolios_without_figures") or {}
    incomplete = firm_incomplete(summary)
    if incomplete:  # the firm figure leaves part of the book out: said beside it, and each portfolio named
        lines.append(f"  Firm figures and firm limits INCOMPLETE, {incomplete}.")
        lines += [f"  - Portfolio {name} has NO FIGURE tonight (not a VaR of 0): the first reason: {why['first_reason']}." for name, why in unvalued.items()]
    for name, flag in (summary.get("portfolios_partly_excluded") or {}).items():
        lines.append(f"  - Portfolio {name}: {flag['text']}.")
    lines.append("")
    limits = summary["limits"]
    breaches = [row for row in limits if row["status"] in ("breach", BREACH_INCOMPLETE)]
    if breaches:
        on_incomplete = sum(row["status"] == BREACH_INCOMPLETE for row in breaches)
        apart = f" ({on_incomplete} of them on an incomplete figure: breach (incomplete))" if on_incomplete else ""
        lines.append(f"Limits: {len(breaches)} of {len(limits)} BREACHED{apart}:")
        rows = [
            f"  - {row['scope']} {FIGURE_NAMES[row['measure']]}: {money(row['figure'])} {currency} against a limit of {money(row['limit'])} "
            f"({100 * row['utilisation']:.0f} %)" + (f", {BREACH_INCOMPLETE}" if row["status"] == BREACH_INCOMPLETE else "")
            for row in breaches
        ]
        lines += first_rows(rows, figures_uri)
    unknown = [row for row in limits if row["status"] not in ("breach", "warning", "ok") or row.get("incomplete")]
    if not breaches and unknown:
        lines.append(f"Limits: none breached of the {counted(len(limits) - len(unknown), 'limit')} with a whole figure.")
    elif not breaches:
        lines.append(f"Limits: none breached ({counted(len(limits), 'limit')})." if limits else "Limits: no limits file came with tonight's files.")
    if unknown:  # not known to hold: never read as within
        lines.append(f"Limits not known to hold ({len(unknown)} of {len(limits)}):")
        lines += [f"  - {', '.join(filter(None, [incomplete_use(row), row.get('incomplete')]))}" for row in unknown]
    lines.append(_backtest_words(summary))
    quality = summary["data_quality"]
    excluded = data_exclusions(quality)  # data problems only: today's expiries are counted apart
    if excluded["excluded_positions"]:
        lines.append(f"Data quality: {counted(excluded['excluded_positions'], 'position')} excluded, notional {excluded_notional_text(excluded)}.")
    if expiries_text(quality):
        lines.append(f"Expiries: {expiries_text(quality)} (no risk over the horizon).")
    held = quality.get("held_last_prices", [])
    if held:
        rows = [
            f"  - {h['factor']}: published {h['published']:,.6g} on {h['date']} (a move of {h['move']:+.1%}), held at the previous close {h['held_at']:,.6g}"
            for h in held
        ]
        lines += ["Suspect last prices held at the previous close:", *first_rows(rows, figures_uri)]
    lines += ["", f"Report (PDF): {report_uri}", f"Figures (JSON): {figures_uri}"]
    return "\n".join(lines)

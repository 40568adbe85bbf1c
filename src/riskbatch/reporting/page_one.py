"""The report's first page: the status tiles, the warnings, the backtest and limits blocks and the figures
a head of risk reads in a minute."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from riskbatch.reporting.charts import exceptions_chart, png
from riskbatch.reporting.coverage import firm_excludes, firm_incomplete
from riskbatch.reporting.deadline import publication_line, verdict
from riskbatch.reporting.figures import FIGURES, TESTS
from riskbatch.reporting.page_one_bounds import FIRM_NOTE_CHARS, LIMIT_CELL_CHARS, PAGE_ONE_LIMIT_CELL_CHARS, RESTATEMENT_CHARS, clipped
from riskbatch.reporting.page_one_warnings import budgeted_warnings, continued_warnings, least_warnings_height, stacked_height, warning_items
from riskbatch.reporting.page_one_warnings import warning_lines as warning_lines  # page one's words, where they were read before
from riskbatch.reporting.tables import STATUS_COLOURS, ZONE_STATUS, counted, interval, money, status_commands
from riskbatch.reporting.tiles import breach_age, held_streak, portfolio_zones, status_tiles
from riskbatch.validation.restatement import restatement_line


def overrides_text(config: dict[str, Any]) -> str:
    """The overrides a run was made with, for page one: a night run under another setting says so."""
    overrides = config.get("overrides") or {}
    return ", overridden: " + ", ".join(f"{name}={value}" for name, value in sorted(overrides.items())) if overrides else ", no override"


CHALLENGER_TAIL = (
    "Historical simulation and stressed VaR and ES come from a generalised Pareto tail fitted over the worst 10 % of days "
    "(the empirical figures and their intervals are in the report's JSON)."
)


def _challenger_rows(summary: dict[str, Any]) -> list[list[str]]:
    """Monte Carlo beside historical simulation and stressed VaR, firm-wide."""
    currency, challengers = summary["reporting_currency"], summary["challengers"]
    rows = [[f"firm ({currency})", *(label for _, label in FIGURES), "data"]]
    rows.append(["Monte Carlo", *(money(summary["firm"][key]) for key, _ in FIGURES), f"{summary['model']['scenarios']:,} scenarios"])
    historical = challengers["historical"]
    rows.append(["historical simulation", *(money(historical["firm"][key]) for key, _ in FIGURES), f"{historical['days']} days to {historical['window'][1]}"])
    stressed = challengers.get("stressed", {})
    if "firm" in stressed:
        window = f"{stressed['period']['name']}, {stressed['window'][0]} to {stressed['window'][1]}"
        uncovered = stressed.get("uncovered") or {}
        if uncovered.get("positions"):  # positions on a factor with neither history nor proxy in the period: said, not hidden
            window += f"; {uncovered['positions']} position(s), {money(uncovered['notional'])} {uncovered['currency']}, without a stress history"
        rows.append(["stressed", *(money(stressed["firm"][key]) for key, _ in FIGURES), window])
    elif stressed:
        rows.append(["stressed", "-", "-", "-", stressed["missing"]])
    else:
        rows.append(["stressed", "-", "-", "-", "no stress period in the model configuration"])
    return rows


def backtest_block(summary: dict[str, Any], kit: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """Exceptions of the VaR 99 % against the hypothetical P&L, the tests and the traffic light:
    (the firm's, for page one; the portfolios', for the details). A zone is a cell in its colour."""
    styles = kit["styles"]
    backtest = summary["backtest"]
    heading = kit["Paragraph"]("Backtest (one-day VaR against the next day's hypothetical P&amp;L)", styles["Heading2"])
    if not backtest["firm"]["observations"] and not (backtest.get("tonight") or {}).get("incomplete"):
        return [heading, kit["Paragraph"]("No observation yet: the backtest starts with the second night in the history.", styles["Normal"])], []

    def row(name: str, stats: dict[str, Any]) -> list[str]:
        zone = f"{stats['zone']} (+{stats['plus_factor']:.2f})" if stats["zone"] else f"after 250 ({stats['observations']} so far)"
        tests = [f"{stats[key]['statistic']:.2f} (p {stats[key]['p_value']:.2f})" if key in stats else "-" for key in TESTS]
        return [name, str(stats["observations"]), str(stats["exceptions"]), zone, *tests]

    def zones(scopes: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        """The zone cell of each row (after the header) filled in the zone's colour."""
        return [command for i, stats in enumerate(scopes, 1) if stats.get("zone") for command in status_commands((3, i), ZONE_STATUS[stats["zone"]])]

    header = ["scope", "days", "exceptions", "Basel zone", "Kupiec LR", "Christoffersen LR", "conditional coverage LR"]
    rows, scopes = [header, row("firm", backtest["firm"])], [backtest["firm"]]
    if backtest.get("firm_975", {}).get("observations"):
        rows.append([*row("firm, VaR 97.5 %", backtest["firm_975"])[:3], "(VaR 99 % only)", *row("", backtest["firm_975"])[4:]])
        scopes.append({})
    if backtest.get("firm_actual", {}).get("observations"):
        rows.append(row("firm, actual P&L", backtest["firm_actual"]))
        scopes.append(backtest["firm_actual"])
    dates = backtest["firm"]["exception_dates"]
    tonight = backtest.get("tonight")
    lines = []
    if not tonight:
        lines.append("Tonight's move is not backtested: the previous night's run is not in this bucket (a history landed with its figures only).")
    if tonight and tonight.get("no_figure"):  # never a P&L of 0: an incomplete day (riskbatch.validation.backtest_summary)
        lines.append(f"Tonight's move: {tonight['no_figure']}; counted as an exception until signed off (riskbatch exclude-day).")
    elif tonight and not tonight.get("complete", True):
        missing = tonight["incomplete"]
        shown = ", ".join(missing["positions"][:10]) + (" ..." if len(missing["positions"]) > 10 else "")
        lines.append(
            f"Tonight's move: the backtest of the {tonight['var_date']} book is {_ink('INCOMPLETE', 'warning')}, counted as an exception until signed off "
            f"(riskbatch exclude-day): {'; '.join(missing['reasons'])}. "
            f"Positions without a move: {len(missing['positions'])} ({shown or 'none'}), "
            f"notional {money(missing['notional'])} {summary['reporting_currency']}."
        )
    elif tonight:
        pnl = tonight["hypothetical_pnl"]["firm"]
        verdict = _ink("an EXCEPTION", "breach") + ": a loss above its VaR 99 %" if tonight["exceptions"]["firm"] else "within its VaR 99 %"
        lines.append(f"Tonight's move: the {tonight['var_date']} book made {money(pnl)} {summary['reporting_currency']}, {verdict}.")
    lines.append("Firm exception dates: " + (", ".join(dates[-12:]) if dates else "none") + ". Per portfolio: see Backtest by portfolio.")
    incomplete = backtest.get("incomplete", {})
    if incomplete.get("days"):
        lines.append(f"Incomplete days without a sign-off, counted as exceptions: {incomplete['days']} ({', '.join(incomplete['dates'][-12:])}).")
    for item in backtest.get("excluded", []):
        lines.append(f"Excluded {item['var_date']}, signed off by {item['signed_off_by']} on {item['signed_off_at']}: {item['reason']}.")
    for measure, level in (("hypothetical", "97.5"), ("actual", "99"), ("actual", "97.5")):  # hypothetical 99 %: the tables above
        shown = [(name, stats) for name, stats in (backtest.get("measures", {}).get(measure, {}).get(level, {}).get("portfolios") or {}).items()]
        if any(stats["observations"] for _, stats in shown):
            counts = ", ".join(f"{name} {stats['exceptions']}/{stats['observations']}" for name, stats in shown if stats["observations"])
            lines.append(f"Per portfolio, {measure} P&amp;L against VaR {level} % (exceptions/days): {counts}.")
    table = kit["table"](rows, commands=zones(scopes))
    portfolio_rows = [header, *(row(name, stats) for name, stats in backtest["portfolios"].items())]
    by_portfolio = kit["table"](portfolio_rows, "Backtest by portfolio", zones(list(backtest["portfolios"].values())))
    details = [kit["KeepTogether"]([kit["Paragraph"]("Backtest by portfolio", styles["Heading2"]), by_portfolio])]
    if backtest.get("series"):  # after page one, which keeps its warnings
        chart = kit["image"](png(exceptions_chart(backtest["series"], summary["reporting_currency"])))
        caption = f"Hypothetical P&amp;L of the last {len(backtest['series'])} backtested nights against minus VaR 99 % and 97.5 %, exceptions marked"
        heading_chart = kit["Paragraph"]("Backtest exceptions", styles["Heading2"])
        details.insert(0, kit["KeepTogether"]([heading_chart, chart, kit["Paragraph"](caption, styles["Normal"])]))
        lines.append("The exceptions chart follows the figures: see Backtest exceptions.")
    return [heading, table, *portfolio_zones(backtest, kit), *(kit["Paragraph"](line, styles["Normal"]) for line in lines)], details


def _ink(text: str, status: str) -> str:
    """Paragraph markup: the words in bold in their status's ink."""
    return f'<font color="{STATUS_COLOURS[status][1]}"><b>{text}</b></font>'


LIMIT_STATUS = {"breach": "breach", "breach (incomplete)": "breach", "warning": "warning", "ok": "ok"}  # anything else (no such portfolio tonight): a warning


PAGE_ONE_LIMITS = 5  # rows of the limits table on page one; all of them follow the figures when there are more


def limits_block(summary: dict[str, Any], kit: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """Limit utilisation, breaches first, then the limits not known to hold (incomplete, no figure), each status in its
    colour; a word when there are no limits or the file was refused: (page one's, at most PAGE_ONE_LIMITS rows; the
    whole table when it has more)."""
    styles = kit["styles"]
    source = summary.get("limits_source") or {}
    heading = kit["Paragraph"]("Limits", styles["Heading2"])
    if source.get("rejected"):
        return [heading, kit["Paragraph"](f"The limits file was {_ink('REJECTED', 'breach')}: {'; '.join(source['rejected'])}.", styles["Normal"])], []
    if not summary["limits"]:
        return [heading, kit["Paragraph"]("No limits file came with tonight's files.", styles["Normal"])], []
    # any other status (incomplete, no figure) is not known to hold: right after the breaches
    order = {"breach": 0, "breach (incomplete)": 0, "warning": 2, "ok": 3}
    header = ["scope", "measure", f"figure ({summary['reporting_currency']})", "limit", "utilisation", "status", "breached / incomplete"]
    rows, first, commands = [header], [header], []  # every limit, and page one's (its caveat shorter: in full in the warnings)
    for i, row in enumerate(sorted(summary["limits"], key=lambda r: (order.get(r["status"], 1), -(r["utilisation"] or 0))), 1):
        figure = money(row["figure"]) if row["figure"] is not None else "-"
        used = f"{100 * row['utilisation']:,.0f} %" if row["utilisation"] is not None else "-"
        status = row["status"].upper() if row["status"] in {"breach", "warning"} else row["status"]
        age = breach_age(row) if row["status"] == "breach" else held_streak(row)
        # a narrow cell, and the firm's caveat may name many portfolios: bounded, page one's the most
        cells = [row["scope"], dict(FIGURES)[row["measure"]], figure, money(row["limit"]), used, status]
        for table, most in ((rows, LIMIT_CELL_CHARS), (first, PAGE_ONE_LIMIT_CELL_CHARS)):
            words = "; ".join(filter(None, [age, clipped(row.get("incomplete", ""), most, "Warnings")]))
            table.append([*cells, kit["Paragraph"](escape(words), kit["cell"])])
        commands += status_commands((5, i), LIMIT_STATUS.get(row["status"], "warning"), bold=row["status"] != "ok")
    shown = [command for command in commands if command[1][1] <= PAGE_ONE_LIMITS]
    if len(rows) - 1 <= PAGE_ONE_LIMITS:
        return [heading, kit["table"](first, "Limits", shown)], []
    rest = len(rows) - 1 - PAGE_ONE_LIMITS
    note = kit["Paragraph"](f"... and {counted(rest, 'more limit')}, the least used: every limit is in All limits, after the figures.", styles["Normal"])
    everything = [kit["Paragraph"]("All limits", styles["Heading2"]), kit["table"](rows, "All limits", commands)]
    return [heading, kit["table"](first[: PAGE_ONE_LIMITS + 1], commands=shown), note], [kit["KeepTogether"](everything)]



def _page_one_kit(kit: dict[str, Any]) -> dict[str, Any]:
    """Page one's styles: smaller headings and text, so that its figures, limits, backtest, challengers and warnings fit one page."""
    styles, style = kit["styles"], kit["ParagraphStyle"]
    compact = {
        "Title": styles["Title"],
        "Heading2": style("page-one heading", parent=styles["Heading2"], fontSize=12, leading=14, spaceBefore=7, spaceAfter=3),
        "Normal": style("page-one text", parent=styles["Normal"], fontSize=9, leading=11),
    }
    return {**kit, "styles": compact}


PAGE_ONE_SLACK = 2.0  # points kept free at page one's foot: the measured heights are rounded by reportlab's layout


def summary_section(summary: dict[str, Any], kit: dict[str, Any]) -> list[Any]:
    """Page one: when it was published against 09:30 New York, the status row, the firm's figures with
    their intervals, the limits, the backtest, the challengers, and the warnings; then, when page one had
    no room for them, the warnings of lower priority, the backtest and the challengers in full."""
    kit = _page_one_kit(kit)
    styles = kit["styles"]
    firm, currency, model = summary["firm"], summary["reporting_currency"], summary["model"]
    firm_rows = [
        [f"firm ({currency})", *(label for _, label in FIGURES), "sum of portfolio VaR 99 %"],
        ["estimate", *(money(firm[key]) for key, _ in FIGURES), money(summary["sum_of_portfolio_var_99"])],
        ["95 % interval (Monte Carlo)", *(interval(firm, key) for key, _ in FIGURES), ""],
    ]
    excludes = firm_excludes(summary.get("portfolios_without_figures") or {})
    incomplete = firm_incomplete(summary)  # a portfolio without a figure or flagged partly excluded
    if incomplete:  # the firm row says what it leaves out, in the row a reader takes the figure from
        firm_rows[1][0] = "estimate (INCOMPLETE)"
    firm_note = []
    if incomplete and excludes:
        left_out = clipped(incomplete.removeprefix("excludes "), FIRM_NOTE_CHARS, "Warnings")
        firm_note = [kit["Paragraph"](f"The firm figures {_ink('EXCLUDE', 'warning')} {escape(left_out)}.", styles["Normal"])]
    elif incomplete:
        left_out = clipped(incomplete, FIRM_NOTE_CHARS, "Warnings")
        firm_note = [kit["Paragraph"](f"The firm figures are {_ink('INCOMPLETE', 'warning')}: {escape(left_out)}.", styles["Normal"])]
    status = summary.get("publication")
    published = []
    if status:
        line = publication_line(status).replace(verdict(status), _ink(verdict(status), "ok" if status["on_time"] else "breach"))
        published = [kit["Paragraph"](line, styles["Normal"])]
    limits = limits_block(summary, kit)[0]
    restated = restatement_line(summary)  # the operator's reason, as typed: bounded on page one
    page = [
        kit["Paragraph"](f"Market risk report, business date {summary['business_date']}", styles["Title"]),
        *published,
        *([kit["Paragraph"](f"<b>{escape(clipped(restated, RESTATEMENT_CHARS, 'Audit trail'))}</b>", styles["Normal"])] if restated else []),
        kit["Spacer"](1, 0.15 * kit["cm"]),
        status_tiles(summary, kit),
        kit["Spacer"](1, 0.15 * kit["cm"]),
        kit["Paragraph"](
            f"Run {summary['run_id']}. Monte Carlo VaR and expected shortfall over {counted(model['horizon_days'], 'business day')}, "
            f"{model['scenarios']:,} scenarios, all figures in {currency}. Market data as of {summary['market_as_of']}. "
            f"Model configuration {(summary.get('model_config') or {}).get('version', 'not recorded')}"
            f"{overrides_text(summary.get('model_config') or {})}.",
            styles["Normal"],
        ),
        kit["Paragraph"]("Firm-wide (the summed P&amp;L of every portfolio, not a sum of VaRs)", styles["Heading2"]),
        kit["table"](firm_rows),
        *firm_note,
        *change_line(summary, kit),
        *limits,
    ]
    challengers = [
        kit["Paragraph"]("Challenger models (the same book, fully revalued)", styles["Heading2"]),
        kit["table"](_challenger_rows(summary)),
        kit["Paragraph"](CHALLENGER_TAIL, styles["Normal"]),
    ]
    # one page at its normal size whatever the night brought (never shrunk to fit): the backtest and the challengers
    # keep their place unless they would leave no room for the first warnings; the warnings take the room left, the
    # most important first; whatever did not fit starts the next page, in full
    items, heading = warning_items(summary), kit["Paragraph"]("Warnings", styles["Heading2"])
    least = least_warnings_height(items, kit)
    moved: list[tuple[str, list[Any]]] = []
    for name, block in (("the backtest", backtest_block(summary, kit)[0]), ("the challenger models", challengers)):
        if stacked_height([*page, *block, heading], kit["width"], kit["height"]) + least <= kit["height"] - PAGE_ONE_SLACK:
            page += block
        else:
            moved.append((name, block))
    room = kit["height"] - stacked_height([*page, heading], kit["width"], kit["height"]) - PAGE_ONE_SLACK
    warnings, rest = budgeted_warnings(items, room, kit, [name for name, _ in moved])
    return [*page, heading, warnings, kit["PageBreak"](), *continued_warnings(rest, kit), *(flowable for _, block in moved for flowable in block)]


def noise_words(change: dict[str, Any]) -> str:
    """The sampling noise in the firm's change, in words."""
    noise = change.get("sampling_noise")
    if not noise:
        return "Its sampling noise is not estimated (too few scenarios)."
    share = f", {100 * noise['share_of_change']:.0f} % of the market and book steps" if noise["share_of_change"] is not None else ""
    return f"Sampling noise (Monte Carlo standard error of the change, common random numbers): {money(noise['standard_error'])}{share}."


def change_line(summary: dict[str, Any], kit: dict[str, Any]) -> list[Any]:
    change = summary.get("var_change")
    if not change:
        unexplained = summary.get("var_change_unexplained")
        if not unexplained:
            return [kit["Paragraph"]("No earlier night in the history: the change since the previous night starts tomorrow.", kit["styles"]["Normal"])]
        if unexplained.get("no_figure"):  # the previous night has no VaR: nothing to compare with, yet there was a night
            return [kit["Paragraph"](escape(f"No change explained: {unexplained['reason']}."), kit["styles"]["Normal"])]
        text = (
            f"VaR 99 % moved {money(unexplained['change'])} since {unexplained['var_date']} (from {money(unexplained['yesterday'])} in the history); "
            f"not split into model, market and book: {unexplained['reason']}."
        )
        return [kit["Paragraph"](escape(text), kit["styles"]["Normal"])]
    firm = change["scopes"]["firm"]
    text = (
        f"VaR 99 % moved {money(firm['change'])} since {change['var_date']}: model or data {money(firm['model_or_data'])}, "
        f"market {money(firm['market'])}, book {money(firm['book'])}. {noise_words(change)}"
    )
    return [kit["Paragraph"](text, kit["styles"]["Normal"])]

"""The report's first page: the status tiles, the warnings, the backtest and limits blocks and the figures
a head of risk reads in a minute."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from riskbatch.inputs.quality import excluded_notional_text
from riskbatch.model.monte_carlo_error import monte_carlo_error
from riskbatch.reporting.charts import exceptions_chart, png
from riskbatch.reporting.corporate_action_lines import corporate_action_lines
from riskbatch.reporting.coverage import data_exclusions, expiries_text, firm_excludes, firm_incomplete
from riskbatch.reporting.deadline import publication_line, verdict
from riskbatch.reporting.figures import FIGURES, TESTS
from riskbatch.reporting.tables import (
    STATUS_COLOURS,
    ZONE_STATUS,
    colour,
    counted,
    grid_style,
    interval,
    money,
    status_commands,
)
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


PAGE_ONE_HELD = 1  # held last prices told in full on page one; the others are named in one line


PAGE_ONE_NAMED = 5  # breached limits (or further held prices) named in a warning; the others are counted


WARNING_KINDS = {"LIMIT": "breach", "BACKTEST": "breach", "DATA": "warning", "MODEL": "note", "NOTE": "note", "OK": "ok"}  # marker: its colour


def _warning_items(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """What the reader must know before trusting the figures, each with its marker (WARNING_KINDS):
    the limits breached and tonight's backtest exception first, then the data, then the model."""
    quality, model = summary["data_quality"], summary["risk_model"]
    found: list[tuple[str, str]] = []
    currency = summary["reporting_currency"]
    breaches = [row for row in summary["limits"] if row["status"] == "breach"]
    if breaches:
        named = ", ".join(f"{row['scope']} {dict(FIGURES)[row['measure']]} ({breach_age(row)})" for row in breaches[:PAGE_ONE_NAMED])
        more = f" and {len(breaches) - PAGE_ONE_NAMED} more (see Limits)" if len(breaches) > PAGE_ONE_NAMED else ""
        found.append(("LIMIT", f"{counted(len(breaches), 'limit breach', 'limit breaches')}: {named}{more}."))
    tonight = summary.get("backtest", {}).get("tonight")
    if tonight and tonight.get("complete", True) and tonight["exceptions"]["firm"]:
        pnl = money(tonight["hypothetical_pnl"]["firm"])
        found.append(("BACKTEST", f"Backtest exception: the {tonight['var_date']} book made {pnl} {currency}, a loss above its VaR 99 %."))
    held_prices = quality.get("held_last_prices", [])
    for held in held_prices[:PAGE_ONE_HELD]:
        found.append(
            (
                "DATA",
                f"Suspect last price of {held['factor']} not used: published {held['published']:g} on {held['date']} (a move of {held['move']:+.1%}), "
                f"held at the previous close {held['held_at']:g}. The published price would have added {money(held['value_effect'])} {currency} "
                f"to the value of its {counted(held['positions'], 'position')} and entered every scenario.",
            )
        )
    if len(held_prices) > PAGE_ONE_HELD:
        others = held_prices[PAGE_ONE_HELD:]
        named = ", ".join(held["factor"] for held in others[:PAGE_ONE_NAMED]) + (", ..." if len(others) > PAGE_ONE_NAMED else "")
        found.append(("DATA", f"{counted(len(others), 'more suspect last price')} held at the previous close ({named}): see Data quality."))
    tolerance = ((summary.get("model_config") or {}).get("monte_carlo") or {}).get("var_99_relative_standard_error")
    error = monte_carlo_error(summary["firm"], tolerance)
    if not error["within"]:  # a figure too noisy to read a change in: said before anything else of the model
        found.append(
            (
                "MODEL",
                f"Monte Carlo standard error of firm VaR 99 %: {money(error['standard_error'])} {currency}, {error['relative']:.1%} of the figure, "
                f"above the {tolerance:.1%} the model configuration tolerates: run more scenarios.",
            )
        )
    unvalued = summary.get("portfolios_without_figures") or {}
    for name, why in list(unvalued.items())[:PAGE_ONE_NAMED]:
        found.append(
            (
                "DATA",
                f"Portfolio {name} has no figure tonight (not a VaR of 0): all {counted(why['excluded_positions'], 'position')} excluded, "
                f"notional {excluded_notional_text(why)}; the first: {why['first_reason']}.",
            )
        )
    if len(unvalued) > PAGE_ONE_NAMED:
        found.append(("DATA", f"{counted(len(unvalued) - PAGE_ONE_NAMED, 'more portfolio')} without a figure: see Data quality."))
    if unvalued:  # the firm figure is the summed P&L of the portfolios with one: said where it is read
        found.append(("DATA", f"Firm figures and firm limits INCOMPLETE, {firm_excludes(unvalued)}: not the whole book."))
    for name, flag in (summary.get("portfolios_partly_excluded") or {}).items():
        found.append(("DATA", f"Portfolio {name}: {flag['text']} (see Limits)."))
    excluded = data_exclusions(quality)  # data problems; an option expiring today is no data problem
    if excluded["excluded_positions"]:
        notional = excluded_notional_text(excluded)
        found.append(("DATA", f"{counted(excluded['excluded_positions'], 'position')} excluded, notional {notional}: see Data quality."))
    if expiries_text(quality):
        found.append(("NOTE", f"{expiries_text(quality)[0].upper()}{expiries_text(quality)[1:]} (no risk over the horizon): see Data quality."))
    if tonight and not tonight.get("complete", True):
        missing = tonight["incomplete"]
        found.append(
            (
                "DATA",
                f"The backtest of {tonight['var_date']} is incomplete (an exception until signed off): {'; '.join(missing['reasons'])}; "
                f"{counted(len(missing['positions']), 'position')}, notional {money(missing['notional'])} {currency}.",
            )
        )
    found += [("DATA", line) for line in corporate_action_lines(summary)]
    # a currency's curve refused by the rates file's checks: its options are excluded, the other currencies priced
    found += [("DATA", f"Rates of {f['factor']}: {f['detail']}; see Data quality.") for f in quality["findings"] if f["check"] == "rates"]
    flagged = [f for f in quality["findings"] if f["action"] == "flag" and f["check"] != "corporate_action"]  # told just above
    if flagged:
        found.append(("DATA", f"{counted(len(flagged), 'factor')} flagged ({', '.join(sorted({f['check'] for f in flagged}))}): see Data quality."))
    if summary["market_as_of"] != summary["business_date"]:
        found.append(("DATA", f"Market data is as of {summary['market_as_of']}, before the business date."))
    if model["shrinkage"] > 0:
        effect = model.get("shrinkage_effect_on_var")
        effect_text = f"; effect on the linear book's VaR {100 * effect:+.1f} %" if effect is not None else ""
        found.append(
            (
                "MODEL",
                f"The correlations are shrunk (Ledoit-Wolf intensity {model['shrinkage']:.3f}, variances kept): {model['factors']} factors, "
                f"rank {model['rank']}, smallest correlation eigenvalue {model.get('smallest_correlation_eigenvalue', 0.0):.1e}{effect_text}.",
            )
        )
    if model["jitter"] > 0:
        found.append(("MODEL", f"The covariance needed a diagonal jitter of {model['jitter']:g} to factorise."))
    return found or [("OK", "None: every position was valued, no factor was flagged.")]


def warning_lines(summary: dict[str, Any]) -> list[str]:
    """The warnings' words, without their markers."""
    return [text for _, text in _warning_items(summary)]


def _warnings_table(summary: dict[str, Any], kit: dict[str, Any]) -> Any:
    """The warnings as rows: the marker word in its colour's cell, then the words."""
    items = _warning_items(summary)
    rows = [[marker, kit["Paragraph"](text, kit["cell"])] for marker, text in items]
    commands = [("BACKGROUND", (1, 0), (1, -1), colour("#ffffff"))]  # no header row
    commands += [command for row, (marker, _) in enumerate(items) for command in status_commands((0, row), WARNING_KINDS[marker])]
    widths = [1.9 * kit["cm"], kit["width"] - 1.9 * kit["cm"]]
    return kit["Table"](rows, colWidths=widths, style=grid_style(commands), hAlign="LEFT")


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
    if tonight and not tonight.get("complete", True):
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


LIMIT_STATUS = {"breach": "breach", "warning": "warning", "ok": "ok"}  # anything else (no such portfolio tonight): a warning


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
    order = {"breach": 0, "warning": 2, "ok": 3}  # any other status (incomplete, no figure) is not known to hold: right after the breaches
    rows = [["scope", "measure", f"figure ({summary['reporting_currency']})", "limit", "utilisation", "status", "breached / incomplete"]]
    commands = []
    for i, row in enumerate(sorted(summary["limits"], key=lambda r: (order.get(r["status"], 1), -(r["utilisation"] or 0))), 1):
        figure = money(row["figure"]) if row["figure"] is not None else "-"
        used = f"{100 * row['utilisation']:,.0f} %" if row["utilisation"] is not None else "-"
        status = row["status"].upper() if row["status"] in {"breach", "warning"} else row["status"]
        age = "; ".join(filter(None, [breach_age(row) if row["status"] == "breach" else held_streak(row), row.get("incomplete", "")]))
        rows.append([row["scope"], dict(FIGURES)[row["measure"]], figure, money(row["limit"]), used, status, kit["Paragraph"](escape(age), kit["cell"])])
        commands += status_commands((5, i), LIMIT_STATUS.get(row["status"], "warning"), bold=row["status"] != "ok")
    if len(rows) - 1 <= PAGE_ONE_LIMITS:
        return [heading, kit["table"](rows, "Limits", commands)], []
    shown = [command for command in commands if command[1][1] <= PAGE_ONE_LIMITS]
    rest = len(rows) - 1 - PAGE_ONE_LIMITS
    note = kit["Paragraph"](f"... and {counted(rest, 'more limit')}, the least used: every limit is in All limits, after the figures.", styles["Normal"])
    everything = [kit["Paragraph"]("All limits", styles["Heading2"]), kit["table"](rows, "All limits", commands)]
    return [heading, kit["table"](rows[: PAGE_ONE_LIMITS + 1], commands=shown), note], [kit["KeepTogether"](everything)]


def _page_one_kit(kit: dict[str, Any]) -> dict[str, Any]:
    """Page one's styles: smaller headings and text, so that its figures, limits, backtest, challengers and warnings fit one page."""
    styles, style = kit["styles"], kit["ParagraphStyle"]
    compact = {
        "Title": styles["Title"],
        "Heading2": style("page-one heading", parent=styles["Heading2"], fontSize=12, leading=14, spaceBefore=7, spaceAfter=3),
        "Normal": style("page-one text", parent=styles["Normal"], fontSize=9, leading=11),
    }
    return {**kit, "styles": compact}


def summary_section(summary: dict[str, Any], kit: dict[str, Any]) -> list[Any]:
    """Page one: when it was published against 09:30 New York, the status row, the firm's figures with
    their intervals, the limits, the backtest, the challengers, and the warnings."""
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
        firm_note = [kit["Paragraph"](f"The firm figures {_ink('EXCLUDE', 'warning')} {escape(incomplete.removeprefix('excludes '))}.", styles["Normal"])]
    elif incomplete:
        firm_note = [kit["Paragraph"](f"The firm figures are {_ink('INCOMPLETE', 'warning')}: {escape(incomplete)}.", styles["Normal"])]
    status = summary.get("publication")
    published = []
    if status:
        line = publication_line(status).replace(verdict(status), _ink(verdict(status), "ok" if status["on_time"] else "breach"))
        published = [kit["Paragraph"](line, styles["Normal"])]
    limits = limits_block(summary, kit)[0]
    page = [
        kit["Paragraph"](f"Market risk report, business date {summary['business_date']}", styles["Title"]),
        *published,
        *([kit["Paragraph"](f"<b>{escape(restatement_line(summary))}</b>", styles["Normal"])] if restatement_line(summary) else []),
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
        *backtest_block(summary, kit)[0],
        kit["Paragraph"]("Challenger models (the same book, fully revalued)", styles["Heading2"]),
        kit["table"](_challenger_rows(summary)),
        kit["Paragraph"](CHALLENGER_TAIL, styles["Normal"]),
        kit["Paragraph"]("Warnings", styles["Heading2"]),
        _warnings_table(summary, kit),
    ]
    # one page whatever the night brought: shrunk to fit the frame rather than spilt onto a page of its own
    return [kit["KeepInFrame"](kit["width"], kit["height"], page, mode="shrink"), kit["PageBreak"]()]


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

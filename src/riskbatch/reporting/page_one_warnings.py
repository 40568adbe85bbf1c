"""Page one's warnings in priority order, and the line budget that keeps page one at its normal size:
what does not fit is counted in one line naming the page that lists it in full."""

from __future__ import annotations

from typing import Any

from riskbatch.inputs.quality import excluded_notional_text
from riskbatch.model.monte_carlo_error import monte_carlo_error
from riskbatch.reporting.corporate_action_lines import corporate_action_lines
from riskbatch.reporting.coverage import data_exclusions, expiries_text, firm_incomplete
from riskbatch.reporting.figures import FIGURES
from riskbatch.reporting.tables import colour, counted, grid_style, money, status_commands
from riskbatch.reporting.tiles import breach_age

PAGE_ONE_HELD = 1  # held last prices told in full on page one; the others are named in one line


PAGE_ONE_NAMED = 5  # breached limits (or further held prices) named in a warning; the others are counted


WARNING_KINDS = {"LIMIT": "breach", "BACKTEST": "breach", "DATA": "warning", "MODEL": "note", "NOTE": "note", "OK": "ok", "MORE": "note"}  # marker: its colour

# The order of the warnings, most important first (docs/jobs.md, "The report's first page"): a group's warnings keep
# their order within it, and when page one is full the last of them go to the page after it.
PRIORITY = (
    "breach",  # limits breached, tonight's backtest exception
    "left out",  # the firm figures INCOMPLETE, portfolios without a figure or mostly excluded
    "data",  # held last prices, positions excluded, an incomplete backtest, old market data, a too noisy Monte Carlo figure
    "corporate action",  # splits applied, records not applied, a refused file; factors flagged
    "expiry",  # options expired today
    "model",  # shrunk correlations, a jitter
)

CONTINUED = "Warnings, continued from page one"
CONTINUED_PAGE = 2  # page one holds page one alone (a page break after it): the warnings that did not fit start the next page


def _ranked_items(summary: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Each warning with its group (PRIORITY) and marker (WARNING_KINDS), in the order they are found."""
    quality, model = summary["data_quality"], summary["risk_model"]
    found: list[tuple[str, str, str]] = []
    currency = summary["reporting_currency"]
    # a breach on an incomplete figure ("breach (incomplete)") is a breach to act on as much as any
    breaches = [row for row in summary["limits"] if row["status"].startswith("breach")]
    if breaches:
        named = ", ".join(f"{row['scope']} {dict(FIGURES)[row['measure']]} ({breach_age(row)})" for row in breaches[:PAGE_ONE_NAMED])
        more = f" and {len(breaches) - PAGE_ONE_NAMED} more (see Limits)" if len(breaches) > PAGE_ONE_NAMED else ""
        found.append(("breach", "LIMIT", f"{counted(len(breaches), 'limit breach', 'limit breaches')}: {named}{more}."))
    tonight = summary.get("backtest", {}).get("tonight")
    if tonight and tonight.get("complete", True) and tonight["exceptions"]["firm"]:
        pnl = money(tonight["hypothetical_pnl"]["firm"])
        found.append(("breach", "BACKTEST", f"Backtest exception: the {tonight['var_date']} book made {pnl} {currency}, a loss above its VaR 99 %."))
    unvalued = summary.get("portfolios_without_figures") or {}
    incomplete = firm_incomplete(summary)  # a portfolio without a figure, or one flagged partly excluded
    if incomplete:  # the firm figure is the summed P&L of the portfolios valued: said first of what is left out
        found.append(("left out", "DATA", f"Firm figures and firm limits INCOMPLETE, {incomplete}: not the whole book."))
    for name, why in list(unvalued.items())[:PAGE_ONE_NAMED]:
        found.append(
            (
                "left out",
                "DATA",
                f"Portfolio {name} has no figure tonight (not a VaR of 0): all {counted(why['excluded_positions'], 'position')} excluded, "
                f"notional {excluded_notional_text(why)}; the first: {why['first_reason']}.",
            )
        )
    if len(unvalued) > PAGE_ONE_NAMED:
        found.append(("left out", "DATA", f"{counted(len(unvalued) - PAGE_ONE_NAMED, 'more portfolio')} without a figure: see Data quality."))
    for name, flag in (summary.get("portfolios_partly_excluded") or {}).items():
        found.append(("left out", "DATA", f"Portfolio {name}: {flag['text']} (see Limits)."))
    held_prices = quality.get("held_last_prices", [])
    for held in held_prices[:PAGE_ONE_HELD]:
        found.append(
            (
                "data",
                "DATA",
                f"Suspect last price of {held['factor']} not used: published {held['published']:g} on {held['date']} (a move of {held['move']:+.1%}), "
                f"held at the previous close {held['held_at']:g}. The published price would have added {money(held['value_effect'])} {currency} "
                f"to the value of its {counted(held['positions'], 'position')} and entered every scenario.",
            )
        )
    if len(held_prices) > PAGE_ONE_HELD:
        others = held_prices[PAGE_ONE_HELD:]
        named = ", ".join(held["factor"] for held in others[:PAGE_ONE_NAMED]) + (", ..." if len(others) > PAGE_ONE_NAMED else "")
        found.append(("data", "DATA", f"{counted(len(others), 'more suspect last price')} held at the previous close ({named}): see Data quality."))
    tolerance = ((summary.get("model_config") or {}).get("monte_carlo") or {}).get("var_99_relative_standard_error")
    error = monte_carlo_error(summary["firm"], tolerance)
    if not error["within"]:  # a figure too noisy to read a change in: said before anything else of the model
        found.append(
            (
                "data",
                "MODEL",
                f"Monte Carlo standard error of firm VaR 99 %: {money(error['standard_error'])} {currency}, {error['relative']:.1%} of the figure, "
                f"above the {tolerance:.1%} the model configuration tolerates: run more scenarios.",
            )
        )
    excluded = data_exclusions(quality)  # data problems; an option expiring today is no data problem
    if excluded["excluded_positions"]:
        notional = excluded_notional_text(excluded)
        found.append(("data", "DATA", f"{counted(excluded['excluded_positions'], 'position')} excluded, notional {notional}: see Data quality."))
    if expiries_text(quality):
        found.append(("expiry", "NOTE", f"{expiries_text(quality)[0].upper()}{expiries_text(quality)[1:]} (no risk over the horizon): see Data quality."))
    if tonight and not tonight.get("complete", True):
        missing = tonight["incomplete"]
        found.append(
            (
                "data",
                "DATA",
                f"The backtest of {tonight['var_date']} is incomplete (an exception until signed off): {'; '.join(missing['reasons'])}; "
                f"{counted(len(missing['positions']), 'position')}, notional {money(missing['notional'])} {currency}.",
            )
        )
    # a currency's curve refused by the rates file's checks (its options excluded, the other currencies priced), one accepted
    # by a named sign-off (riskbatch accept-rates), or a usable curve's bad rows of earlier dates: one line each
    found += [("data", "DATA", f"Rates of {f['factor']}: {f['detail']}; see Data quality.") for f in quality["findings"] if f["check"] == "rates"]
    found += [("corporate action", "DATA", line) for line in corporate_action_lines(summary)]
    # the corporate actions' and the rates' findings are told one by one just above: counted here, they were said twice
    flagged = [f for f in quality["findings"] if f["action"] == "flag" and f["check"] not in {"corporate_action", "rates"}]
    if flagged:
        checks = ", ".join(sorted({f["check"] for f in flagged}))
        found.append(("corporate action", "DATA", f"{counted(len(flagged), 'factor')} flagged ({checks}): see Data quality."))
    if summary["market_as_of"] != summary["business_date"]:
        found.append(("data", "DATA", f"Market data is as of {summary['market_as_of']}, before the business date."))
    if model["shrinkage"] > 0:
        effect = model.get("shrinkage_effect_on_var")
        effect_text = f"; effect on the linear book's VaR {100 * effect:+.1f} %" if effect is not None else ""
        found.append(
            (
                "model",
                "MODEL",
                f"The correlations are shrunk (Ledoit-Wolf intensity {model['shrinkage']:.3f}, variances kept): {model['factors']} factors, "
                f"rank {model['rank']}, smallest correlation eigenvalue {model.get('smallest_correlation_eigenvalue', 0.0):.1e}{effect_text}.",
            )
        )
    if model["jitter"] > 0:
        found.append(("model", "MODEL", f"The covariance needed a diagonal jitter of {model['jitter']:g} to factorise."))
    return found


def warning_items(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """What the reader must know before trusting the figures, each with its marker (WARNING_KINDS), most
    important first (PRIORITY)."""
    ranked = sorted(_ranked_items(summary), key=lambda item: PRIORITY.index(item[0]))  # stable: a group keeps its order
    return [(marker, text) for _, marker, text in ranked] or [("OK", "None: every position was valued, no factor was flagged.")]


def warning_lines(summary: dict[str, Any]) -> list[str]:
    """The warnings' words, without their markers."""
    return [text for _, text in warning_items(summary)]


def overflow_line(count: int, moved: list[str] | None = None) -> str:
    """The last line of page one's warnings when something did not fit: how many warnings, the blocks moved, and the page."""
    blocks = " and ".join(moved or [])
    if not count:
        return f"No room on this page for {blocks}: on page {CONTINUED_PAGE}, in full."
    also = f"; {blocks} too, in full" if blocks else ""
    return f"{counted(count, 'more warning')}, of lower priority, listed in full on page {CONTINUED_PAGE} ({CONTINUED}){also}."


def warnings_table(items: list[tuple[str, str]], kit: dict[str, Any]) -> Any:
    """The warnings as rows: the marker word in its colour's cell, then the words."""
    rows = [[marker, kit["Paragraph"](text, kit["cell"])] for marker, text in items]
    commands = [("BACKGROUND", (1, 0), (1, -1), colour("#ffffff"))]  # no header row
    commands += [command for row, (marker, _) in enumerate(items) for command in status_commands((0, row), WARNING_KINDS[marker])]
    widths = [1.9 * kit["cm"], kit["width"] - 1.9 * kit["cm"]]
    return kit["Table"](rows, colWidths=widths, style=grid_style(commands), hAlign="LEFT")


def stacked_height(flowables: list[Any], width: float, height: float) -> float:
    """The height the flowables take one under the other in a frame: each one's own, and the space
    before (but at the frame's top) and after it, as reportlab's Frame adds them."""
    total = 0.0
    for number, flowable in enumerate(flowables):
        total += flowable.wrap(width, height)[1] + flowable.getSpaceAfter() + (flowable.getSpaceBefore() if number else 0.0)
    return total


PAGE_ONE_KEPT = 4  # warnings page one keeps room for before the backtest and the challengers: the most important ones


def least_warnings_height(items: list[tuple[str, str]], kit: dict[str, Any]) -> float:
    """The height of page one's warnings at their least: the first PAGE_ONE_KEPT, and the line naming the page of the others."""
    kept = [*items[:PAGE_ONE_KEPT], ("MORE", overflow_line(max(len(items) - PAGE_ONE_KEPT, 1), ["the backtest", "the challenger models"]))]
    return stacked_height([warnings_table(kept, kit)], kit["width"], kit["height"])


def budgeted_warnings(items: list[tuple[str, str]], room: float, kit: dict[str, Any], moved: list[str]) -> tuple[Any, list[tuple[str, str]]]:
    """Page one's warnings table within `room` points, the most important first; when they do not all fit (or a block
    was moved), the last row counts the others, names the blocks moved and the page they are on: (the table, the
    warnings left for that page)."""
    for shown in range(len(items), -1, -1):
        rest = items[shown:]
        table = warnings_table(items[:shown] + ([("MORE", overflow_line(len(rest), moved))] if rest or moved else []), kit)
        if stacked_height([table], kit["width"], kit["height"]) <= room:
            return table, rest
    return table, items  # not even the line fits: every warning on the next page, the line said


def continued_warnings(rest: list[tuple[str, str]], kit: dict[str, Any]) -> list[Any]:
    """The page after page one: the warnings page one had no room for, each in full."""
    if not rest:
        return []
    return [kit["Paragraph"](CONTINUED, kit["styles"]["Heading2"]), warnings_table(rest, kit)]

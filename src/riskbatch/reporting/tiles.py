"""Page one's status row (publication, limits, backtest, data quality) and the blocks that say how each
portfolio's backtest stands and how long each limit breach has lasted."""

from __future__ import annotations

from typing import Any

from riskbatch.reporting.coverage import data_exclusions, expiries_text
from riskbatch.reporting.page_one_bounds import TILE_CHARS, clipped, named_few
from riskbatch.reporting.tables import FIGURE_NAMES, STATUS_COLOURS, ZONE_STATUS, colour, counted, grid_style, ordinal, status_commands
from riskbatch.validation.limits import BREACH_INCOMPLETE


def status_tiles(summary: dict[str, Any], kit: dict[str, Any]) -> Any:
    """Page one's first row: publication, limits, backtest and data quality, each a cell in its colour
    with its verdict in words (ON TIME, LATE, BREACHED, GREEN, ...), so a grey-scale print reads too."""
    tiles: list[tuple[str, str, str]] = []
    status = summary.get("publication")
    if status:
        detail = f"published {status['published_new_york'][11:]}, due {status['due_new_york'][11:16]}"
        late = f"{status['minutes_late']:,} min after {status['due_new_york'][11:]}"
        tiles.append(("ok", "ON TIME", detail) if status["on_time"] else ("breach", "LATE", late))
    tiles.append(limits_tile(summary["limits"], summary.get("limits_source") or {}))
    tonight = summary["backtest"].get("tonight") or {}
    tiles.append(backtest_tile(summary["backtest"], tonight))
    quality = summary["data_quality"]
    flagged = sum(f["action"] == "flag" for f in quality["findings"])
    excluded = data_exclusions(quality)["excluded_positions"]  # data problems only: today's expiries are counted apart
    unvalued = summary.get("portfolios_without_figures") or {}
    issues = [
        f"{counted(len(unvalued), 'portfolio')} without a figure ({named_few(list(unvalued))})" if unvalued else "",
        f"{counted(excluded, 'position')} excluded" if excluded else "",
        f"{counted(len(quality.get('held_last_prices', [])), 'last price')} held" if quality.get("held_last_prices") else "",
        f"{counted(flagged, 'factor')} flagged" if flagged else "",
        "backtest incomplete" if not tonight.get("complete", True) else "",
    ]
    issues = [issue for issue in issues if issue]
    expiries = expiries_text(quality)
    clean = "every position valued, no flag" + (f" ({expiries})" if expiries else "")
    tiles.append(("warning", "DATA ISSUES", "; ".join([*issues, expiries] if expiries else issues)) if issues else ("ok", "DATA CLEAN", clean))
    cells, commands = [], []
    for column, (state, word, detail) in enumerate(tiles):
        detail = clipped(detail, TILE_CHARS, "Warnings")  # a quarter of the page wide: its words bounded, page one's height with them
        fill, ink = STATUS_COLOURS[state]
        style = kit["ParagraphStyle"](f"tile{column}", parent=kit["styles"]["Normal"], fontSize=8, leading=10, textColor=colour(ink))
        cells.append(kit["Paragraph"](f"<b>{word}</b><br/>{detail}", style))
        commands.append(("BACKGROUND", (column, 0), (column, 0), colour(fill)))
    width = kit["width"] / len(cells)
    return kit["Table"]([cells], colWidths=[width] * len(cells), style=grid_style(commands), hAlign="LEFT")


def incomplete_use(row: dict[str, Any]) -> str:
    """A limit whose figure leaves part of its scope out, with how much of the limit that figure uses (what it leaves
    out may add risk or hedge it): 'firm VaR 99 %: 98 % of its limit, incomplete' (otherwise its status: breach
    (incomplete), no figure)."""
    name = f"{row['scope']} {FIGURE_NAMES[row['measure']]}"
    if row["status"] == "incomplete" and row.get("utilisation") is not None:
        return f"{name}: {100 * row['utilisation']:.0f} % of its limit, incomplete"
    return f"{name}: {row['status']}"


def limits_tile(limits: list[dict[str, Any]], source: dict[str, Any]) -> tuple[str, str, str]:
    """The limits' tile: breached (a breach on an incomplete figure counted apart), near, incomplete (a figure missing or
    leaving part of its scope out: not known to hold, the most used of them named with its utilisation), within. The
    counts and the most used limit come first and the incomplete scopes' names last: page one clips the tile's words,
    and the names are what may go (they are in full in the warnings)."""
    breached = sum(row["status"] == "breach" for row in limits)
    breached_incomplete = sum(row["status"] == BREACH_INCOMPLETE for row in limits)
    near = sum(row["status"] == "warning" for row in limits)
    # not a limit status: a limit whose figure is missing or leaves part of its scope out is not known to hold
    unknown = [row for row in limits if row["status"] not in ("breach", "warning", "ok") or row.get("incomplete")]
    used = [row for row in unknown if row["status"] == "incomplete" and row.get("utilisation") is not None]
    counted_apart = [
        (breached, "above 100 %"),
        (breached_incomplete, "above 100 % on an incomplete figure"),
        (len(unknown), "without a whole figure"),
        (near if breached or breached_incomplete or unknown else 0, "at 90 % or more"),
    ]
    counts = [f"{number} {what}" for number, what in counted_apart if number]
    counts[:1] = [count.replace(" ", f" of {len(limits)} ", 1) for count in counts[:1]]  # '30 of 36 above 100 %; 3 at 90 % or more'
    most = [most_used(max(used, key=lambda row: row["utilisation"]))] if used else []
    names = ["scopes: " + named_few(sorted({row["scope"] for row in unknown}))] if unknown else []
    detail = "; ".join([*counts, *most, *names])
    if source.get("rejected"):
        return "breach", "LIMITS REJECTED", "the limits file was refused"
    if breached or breached_incomplete:
        return "breach", "LIMITS BREACHED" if breached else "LIMITS BREACHED (INCOMPLETE)", detail
    if unknown:
        return "warning", "LIMITS INCOMPLETE", detail
    if near:
        return "warning", "LIMITS NEAR", f"{near} of {len(limits)} at 90 % or more"
    if limits:
        return "ok", "LIMITS WITHIN", f"{counted(len(limits), 'limit')} below 90 %"
    return "note", "NO LIMITS", "no limits file tonight"


def most_used(row: dict[str, Any]) -> str:
    """'the most used at 99 %: firm VaR 99 %': its utilisation before its name, which may be long and clipped."""
    return f"the most used at {100 * row['utilisation']:.0f} %: {row['scope']} {FIGURE_NAMES[row['measure']]}"


ZONE_ORDER = {"green": 0, "yellow": 1, "red": 2}


def backtest_tile(backtest: dict[str, Any], tonight: dict[str, Any]) -> tuple[str, str, str]:
    """The backtest's tile: the worst zone of the firm and its portfolios, so that a green firm beside
    yellow portfolios is not read as all green; the firm's count and the portfolios off green in words."""
    firm = backtest["firm"]
    hit = ", an exception tonight" if tonight.get("complete", True) and (tonight.get("exceptions") or {}).get("firm") else ""
    counts = f"{counted(firm['exceptions'], 'exception')} in {counted(firm['observations'], 'day')}"
    if not firm.get("zone"):
        return "note", "BACKTEST", f"firm {counts} (zone after 250){hit}"
    off_green = {name: stats["zone"] for name, stats in backtest["portfolios"].items() if stats.get("zone") not in (None, "green")}
    worst = max([firm["zone"], *off_green.values()], key=ZONE_ORDER.__getitem__)
    portfolios = "; " + ", ".join(f"{name} {zone}" for name, zone in sorted(off_green.items())) if off_green else "; every portfolio green"
    return ZONE_STATUS[worst], f"BACKTEST {worst.upper()}", f"firm {firm['zone']}, {counts}{hit}{portfolios}"


def breach_age(row: dict[str, Any]) -> str:
    """How long a limit has been breached, in words: new tonight, or the Nth night in a row; and how many of those
    nights it was above its limit on an incomplete figure (tonight's included)."""
    nights = row.get("nights_breached")
    if nights is None:
        return "age unknown"
    return _run_text(row, nights) + _incomplete_nights(row, nights)


def _run_text(row: dict[str, Any], nights: int) -> str:
    passed = row.get("nights_without_figure") or 0
    if passed:  # a night without a (whole) figure within the limit neither ends the run nor counts in it
        skipped = f", {counted(passed, 'night')} without a whole figure between, not counted"
        run = f"every night of the history with a figure, {counted(nights, 'night')}" if row.get("since_history_start") else f"{ordinal(nights)} night"
        return run + skipped
    if row.get("since_history_start"):
        return f"every night of the history, {counted(nights, 'night')}"
    return "new tonight" if nights == 1 else f"{ordinal(nights)} night in a row"


def _incomplete_nights(row: dict[str, Any], nights: int) -> str:
    """', on an incomplete figure' (tonight only) or ', 2 of them on an incomplete figure': not a certain breach."""
    incomplete = row.get("nights_incomplete") or 0
    if not incomplete:
        return ""
    if nights == 1:
        return ", on an incomplete figure"
    return ", every one on an incomplete figure" if incomplete == nights else f", {incomplete} of them on an incomplete figure"


def held_streak(row: dict[str, Any]) -> str:
    """A limit not plainly breached tonight: breached on an incomplete figure, its run (breach_age); without a
    (whole) figure, the breach run it had, neither ended nor extended."""
    if row["status"] == BREACH_INCOMPLETE:
        return breach_age(row)
    before = row.get("breached_before")
    if not before:
        return ""
    passed = f" ({counted(before['nights_without_figure'], 'night')} without a whole figure between)" if before["nights_without_figure"] else ""
    return f"breached the {counted(before['nights'], 'night')} before{passed}; tonight neither ends nor extends it"


def portfolio_zones(backtest: dict[str, Any], kit: dict[str, Any]) -> list[Any]:
    """Page one's one row of each portfolio's Basel zone and exceptions, each cell in its zone's colour."""
    portfolios = backtest.get("portfolios") or {}
    if not portfolios:
        return []
    cells, commands = [], []
    for column, (name, stats) in enumerate(portfolios.items()):
        zone = stats["zone"].upper() if stats.get("zone") else "no zone yet"
        cells.append(f"{name}\n{zone}, {stats['exceptions']:,}")
        if stats.get("zone"):
            commands += status_commands((column, 0), ZONE_STATUS[stats["zone"]])
    width = kit["width"] / len(cells)
    caption = kit["Paragraph"]("Each portfolio's Basel zone and exceptions over the same days:", kit["styles"]["Normal"])
    table = kit["Table"]([cells], colWidths=[width] * len(cells), style=grid_style([*commands, ("ALIGN", (0, 0), (-1, -1), "CENTER")]), hAlign="LEFT")
    return [caption, table]

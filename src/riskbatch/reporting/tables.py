"""The report's tables: inside the margins, never a page of a table's overflow alone, status in colour.

- Width: a table's columns take their natural width when the row fits the frame; otherwise the
  widest columns share what is left and their cells wrap (fit_columns), so no table is wider than
  the frame it is drawn in.
- Pages: a section's heading, its words and its table are kept together; a table longer than a page
  repeats its header row, and its continuation starts under "<heading> (continued)" with at least
  ORPHAN_ROWS rows (SectionTable), so that no page holds a few rows of a table and nothing else.
- Colour: a status (breach, warning, within; the Basel zones; on time or late) is a filled cell
  with its word in it, so a grey-scale print still reads it.
- The audit trail lists the model parameters the night used (parameters_in_use), not every field
  of the configuration.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Paragraph, Table, TableStyle

FONT, FONT_BOLD, FONT_SIZE = "Helvetica", "Helvetica-Bold", 8
CELL_PADDING = 6  # reportlab's default left and right padding of a cell
UNBROKEN_CHARACTERS = 12  # a cell this short is never wrapped
ORPHAN_ROWS = 4  # the fewest rows of a table on either side of a page break

# fill, text: the three colours of a status, light fills that print as distinct greys
STATUS_COLOURS = {
    "breach": ("#f6c9c4", "#8b1a1a"),
    "warning": ("#fbe3a6", "#6b4500"),
    "ok": ("#d3ecd3", "#1d5a1d"),
    "note": ("#dde4ee", "#26364f"),
}
ZONE_STATUS = {"green": "ok", "yellow": "warning", "red": "breach"}
FIGURE_NAMES = {"var_95": "VaR 95 %", "var_99": "VaR 99 %", "es_975": "ES 97.5 %"}


def money(value: float) -> str:
    """An amount in the reporting currency, whole units with thousands separators."""
    return f"{value:,.0f}"


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """A count with its noun in the right number: 1 exception, 2 exceptions, 1,250 positions, 2 breaches."""
    return f"{count:,} {singular if count == 1 else plural or singular + 's'}"


def ordinal(number: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st."""
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number:,}{suffix}"


def interval(figures: dict[str, Any], key: str) -> str:
    """A figure's 95 % Monte Carlo interval in words."""
    low, high = figures["ci_95"][key]
    return f"{money(low)} to {money(high)}"


def colour(name: str) -> Any:
    return colors.HexColor(name)


def status_commands(cell: tuple[int, int], status: str, bold: bool = True) -> list[tuple[Any, ...]]:
    """TableStyle commands that fill one cell with its status's colour and write it in the status's ink."""
    fill, ink = STATUS_COLOURS[status]
    commands: list[tuple[Any, ...]] = [("BACKGROUND", cell, cell, colour(fill)), ("TEXTCOLOR", cell, cell, colour(ink))]
    if bold:
        commands.append(("FONTNAME", cell, cell, FONT_BOLD))
    return commands


def grid_style(extra: list[tuple[Any, ...]] | None = None) -> Any:
    return TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.4, colour("#808080")),
            ("BACKGROUND", (0, 0), (-1, 0), colour("#dde4ee")),
            ("FONTSIZE", (0, 0), (-1, -1), FONT_SIZE),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            *(extra or []),
        ]
    )


def cell_style() -> Any:
    return ParagraphStyle("cell", fontName=FONT, fontSize=FONT_SIZE, leading=FONT_SIZE + 1.5)


def _natural_width(cell: Any) -> float:
    """The width a cell asks for on one line, padding included."""
    if isinstance(cell, str):
        return max((stringWidth(line, FONT_BOLD, FONT_SIZE) for line in cell.split("\n")), default=0.0) + 2 * CELL_PADDING
    text = getattr(cell, "text", None)  # a Paragraph: its whole text on one line
    if text is not None:
        return stringWidth(cell.getPlainText(), cell.style.fontName, cell.style.fontSize) + 2 * CELL_PADDING
    return float(cell.wrap(10_000, 10_000)[0]) + 2 * CELL_PADDING


def _least_width(cell: Any) -> float:
    """The width a cell needs not to split a word: its longest word, padding included; a short cell
    (a figure, VaR 99 %, a date) is one word."""
    if isinstance(cell, str) and len(cell) <= UNBROKEN_CHARACTERS:
        return _natural_width(cell)
    if isinstance(cell, str):
        return max((stringWidth(word, FONT_BOLD, FONT_SIZE) for word in cell.split()), default=0.0) + 2 * CELL_PADDING
    if getattr(cell, "text", None) is not None:
        return float(cell.minWidth()) + 2 * CELL_PADDING
    return _natural_width(cell)


def column_widths(rows: list[list[Any]], width: float) -> list[float]:
    """Each column's natural width when the row fits `width`. Otherwise water filling: a column whose
    longest word is wider than an equal share gets that word's width, a column narrower than the
    share keeps its natural width, and the others share the rest, so a figure is never wrapped while
    prose is; when the longest words alone are wider than `width`, the widest columns split theirs."""
    columns = range(len(rows[0]))
    natural = [max(_natural_width(row[c]) for row in rows) for c in columns]
    if sum(natural) <= width:
        return natural
    least = [min(natural[c], max(_least_width(row[c]) for row in rows)) for c in columns]
    if sum(least) >= width:
        least = [0.0] * len(natural)  # a word must be split: the widest columns' words, not the figures
    widths: dict[int, float] = {}
    while len(widths) < len(natural):
        open_columns = [c for c in columns if c not in widths]
        share = (width - sum(widths.values())) / len(open_columns)
        fixed = {c: least[c] for c in open_columns if least[c] > share} or {c: natural[c] for c in open_columns if natural[c] <= share}
        if not fixed:
            widths.update(dict.fromkeys(open_columns, share))
        widths.update(fixed)
    return [widths[c] for c in columns]


def fit_columns(rows: list[list[Any]], width: float, right: Collection[int] = ()) -> tuple[list[list[Any]], list[float]]:
    """The rows with the cells of narrowed columns made wrapping paragraphs (right-aligned in the
    columns `right`: a wrapped interval's figures stay under each other), and the columns' widths."""
    widths = column_widths(rows, width)
    style, right_style = cell_style(), ParagraphStyle("figure cell", parent=cell_style(), alignment=TA_RIGHT)
    narrowed = [w + 1e-6 < max(_natural_width(row[c]) for row in rows) for c, w in enumerate(widths)]

    def fitted(cell: Any, column: int) -> Any:
        if narrowed[column] and isinstance(cell, str):
            return Paragraph(cell.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"), right_style if column in right else style)
        return cell

    return [[fitted(cell, c) for c, cell in enumerate(row)] for row in rows], widths


class SectionTable(Table):
    """A table whose continuation on the next page starts under "<heading> (continued)"."""

    continued: str | None = None

    def split(self, availWidth: float, availHeight: float) -> list[Any]:
        parts = super().split(availWidth, availHeight)
        if len(parts) != 2 or not self.continued:
            return parts
        parts[1].continued = self.continued
        style = ParagraphStyle("continued", parent=getSampleStyleSheet()["Heading3"], keepWithNext=1)  # it goes where its rows go
        return [parts[0], Paragraph(f"{self.continued} (continued)", style), parts[1]]


def section_table(
    rows: list[list[Any]], width: float, heading: str | None = None, commands: list[tuple[Any, ...]] | None = None, header_rows: int = 1
) -> SectionTable:
    """A table within `width`, its header repeated on each page, continued under "<heading> (continued)"."""
    figures = figure_columns(rows, header_rows)
    data, widths = fit_columns(rows, width, figures)
    aligned = [("ALIGN", (column, 0), (column, -1), "RIGHT") for column in figures]
    # a break leaves at least ORPHAN_ROWS rows on each side (reportlab's rowSplitRange: where a split may fall)
    table = SectionTable(
        data,
        colWidths=widths,
        repeatRows=header_rows,
        style=grid_style([*aligned, *(commands or [])]),
        rowSplitRange=(header_rows + ORPHAN_ROWS, -ORPHAN_ROWS),
        hAlign="LEFT",
    )
    table.continued = heading
    return table


# A cell that is a figure: an amount (1,234,567 or -12.5), a share (45 %), an interval (1,200 to 1,350)
# or a test's statistic with its p-value (3.84 (p 0.05)); "-" and "" stand for none.
FIGURE_CELL = re.compile(r"^-?[\d,]+(\.\d+)?( %)?$|^-?[\d,]+ to -?[\d,]+$|^\d+\.\d+ \(p \d+\.\d+\)$")


def figure_columns(rows: list[list[Any]], header_rows: int = 1) -> list[int]:
    """The columns whose every cell below the header is a figure (or none): they are right-aligned, so
    that units sit under units."""
    body = rows[header_rows:]
    columns = []
    for column in range(len(rows[0]) if rows else 0):
        cells = [row[column] for row in body if not (isinstance(row[column], str) and row[column] in ("", "-"))]
        if cells and all(isinstance(cell, str) and FIGURE_CELL.match(cell) for cell in cells):
            columns.append(column)
    return columns


def parameters_in_use(model: dict[str, Any]) -> list[tuple[str, str]]:
    """The model parameters the night's figures depend on, as (name, value): the EWMA lambda under an
    EWMA covariance only, the degrees of freedom under Student-t only, the rates per currency when
    some are given (and the rate of every other currency beside them); seed and scenarios apart."""
    shown: list[tuple[str, str]] = [("covariance", str(model["covariance"]))]
    if model["covariance"] == "ewma":
        shown.append(("ewma_lambda", f"{model['ewma_lambda']:g}"))
    shown.append(("distribution", str(model["distribution"])))
    if model["distribution"] != "normal":
        shown.append(("degrees_of_freedom", f"{model['degrees_of_freedom']:g}"))
    shown.append(("horizon_days", str(model["horizon_days"])))
    rates = model.get("rates") or {}
    if rates:
        shown.append(("rates", ", ".join(f"{currency} {rate:g}" for currency, rate in sorted(rates.items()))))
        shown.append(("rate (any other currency)", f"{model['rate']:g}"))
    else:
        shown.append(("rate (every currency)", f"{model['rate']:g}"))
    curves = model.get("curves") or {}
    if curves:  # the night's dated rates by tenor (in the JSON and the manifest): the currencies they cover, one line
        shown.append(("curves (dated, by tenor)", ", ".join(sorted(curves))))
    known = {"seed", "scenarios", "covariance", "ewma_lambda", "distribution", "degrees_of_freedom", "horizon_days", "rates", "rate", "curves"}
    shown += [(key, str(value)) for key, value in model.items() if key not in known]  # block size, currency, policies
    return shown

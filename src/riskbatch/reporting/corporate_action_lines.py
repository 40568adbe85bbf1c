"""Page one's lines on the night's corporate actions: the splits cleaned tonight as recorded (and the move
a split leaves when that is itself a jump), each record not applied with its reason, the file's rows quarantined (each named by
line and reason: that split is not cleaned, the file's other records are used), and a refused corporate_actions.csv (the night then cleans no split)."""

from __future__ import annotations

import math
from typing import Any

NAMED = 5  # records not applied told in full; the others are counted


def _ratio_text(ratio: float) -> str:
    return f"a {ratio:g}:1 split" if ratio > 1 else f"a 1:{1 / ratio:g} reverse split"


def _applied_text(cleaning: dict[str, Any]) -> str:
    """A split applied tonight; when the move left once divided out is itself a jump, that move and the ratio that would leave none."""
    text = f"{cleaning['factor']} {_ratio_text(cleaning['ratio'])} effective {cleaning['date']}"
    leftover = cleaning.get("leftover_jump")
    if leftover is not None:
        text += (
            f" (the move left once divided out, {math.expm1(leftover):+.1%}, is itself a jump:"
            f" a ratio of {cleaning['ratio'] * math.exp(-leftover):.3g} would leave none; check the record's ratio)"
        )
    return text


def corporate_action_lines(summary: dict[str, Any]) -> list[str]:
    """The lines, in words (none when the night had no corporate actions to tell)."""
    quality, lines = summary["data_quality"], []
    source = summary.get("corporate_actions_source") or {}
    if source.get("rejected"):
        lines.append(
            f"Corporate actions file {source['uri']} refused ({len(source['rejected'])} problem(s), quarantined): no split is cleaned tonight; "
            "a split in the history is flagged and used as published."
        )
    rows = source.get("quarantined_rows") or []
    if rows:
        named = "; ".join(f"line {row['line']}: {row['reason']}" for row in rows[:NAMED]) + (f"; and {len(rows) - NAMED} more" if len(rows) > NAMED else "")
        lines.append(
            f"Corporate actions file {source['uri']}: {len(rows)} row(s) quarantined, not used ({named}); "
            f"its other records are used; the rows in {source.get('quarantine', 'the quarantine')}."
        )
    applied = [c for c in quality.get("cleanings", []) if c["rule"] == "split" and c["made_on"] == summary["business_date"]]
    if applied:
        named = ", ".join(_applied_text(c) for c in applied)
        lines.append(f"Corporate actions applied tonight: {named}; the prices before each divided by its ratio (see Data quality).")
    unapplied = [f for f in quality.get("findings", []) if f["check"] == "corporate_action"]
    lines += [f"Corporate action of {f['factor']} not applied: {f['detail']}." for f in unapplied[:NAMED]]
    if len(unapplied) > NAMED:
        lines.append(f"{len(unapplied) - NAMED} more corporate action record(s) not applied: see Data quality.")
    return lines

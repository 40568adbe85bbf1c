"""Page one's lines on the night's corporate actions: the splits cleaned tonight as recorded, each record
not applied with its reason, and a refused corporate_actions.csv (the night then cleans no split)."""

from __future__ import annotations

from typing import Any

NAMED = 5  # records not applied told in full; the others are counted


def _ratio_text(ratio: float) -> str:
    return f"a {ratio:g}:1 split" if ratio > 1 else f"a 1:{1 / ratio:g} reverse split"


def corporate_action_lines(summary: dict[str, Any]) -> list[str]:
    """The lines, in words (none when the night had no corporate actions to tell)."""
    quality, lines = summary["data_quality"], []
    source = summary.get("corporate_actions_source") or {}
    if source.get("rejected"):
        lines.append(
            f"Corporate actions file {source['uri']} refused ({len(source['rejected'])} problem(s), quarantined): no split is cleaned tonight; "
            "a split in the history is flagged and used as published."
        )
    applied = [c for c in quality.get("cleanings", []) if c["rule"] == "split" and c["made_on"] == summary["business_date"]]
    if applied:
        named = ", ".join(f"{c['factor']} {_ratio_text(c['ratio'])} effective {c['date']}" for c in applied)
        lines.append(f"Corporate actions applied tonight: {named}; the prices before each divided by its ratio (see Data quality).")
    unapplied = [f for f in quality.get("findings", []) if f["check"] == "corporate_action"]
    lines += [f"Corporate action of {f['factor']} not applied: {f['detail']}." for f in unapplied[:NAMED]]
    if len(unapplied) > NAMED:
        lines.append(f"{len(unapplied) - NAMED} more corporate action record(s) not applied: see Data quality.")
    return lines

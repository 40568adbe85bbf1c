"""Page one's fixed blocks at a bounded size: the status tiles, the firm figures' note and the limits table are not
budgeted like the warnings (they come first and are laid out as they are), so whatever the night brings (many
portfolios, long names, a long restatement reason, a firm caveat on every limit) each of their texts is bounded
here, and says where it is in full; the warnings then take the room those blocks leave."""

from __future__ import annotations

import re

NAMED = 5  # names a tile gives in full; the others are counted
TILE_CHARS = 120  # a status tile's words (a quarter of the page's width): in full further on
FIRM_NOTE_CHARS = 240  # the firm figures' note (what they leave out): in full in the warnings
LIMIT_CELL_CHARS = 120  # a limit's "breached / incomplete" cell (a narrow column) in All limits: in full in the warnings
PAGE_ONE_LIMIT_CELL_CHARS = 50  # the same cell on page one, where five of them stand above the warnings
RESTATEMENT_CHARS = 240  # a restatement's reason, as the operator typed it: in full in the audit trail


def named_few(names: list[str], most: int = NAMED) -> str:
    """'A, B, C' or, beyond `most`, 'A, B, C, D, E and 55 more'."""
    shown = ", ".join(names[:most])
    return f"{shown} and {len(names) - most} more" if len(names) > most else shown


def clipped(text: str, most: int, where: str) -> str:
    """The text, or its first whole words within `most` characters and where it is in full. A number whose unit or
    currency does not fit goes with it ('notional 1,234,567,890 USD' cut after 'notional'), never shown bare."""
    if len(text) <= most:
        return text
    words = text[: most + 1].split(" ")[:-1]  # the last word is whole only when a space follows it
    while words and (not words[-1].strip(",;:(") or NUMBER.fullmatch(words[-1])):
        words.pop()
    return f"{' '.join(words).rstrip(' ,;:(')} ... (in full: {where})"


NUMBER = re.compile(r"[(\[]?[-+\u2212]?\d[\d,.]*")  # a figure, a count, a percentage: its unit is the next word

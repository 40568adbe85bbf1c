"""corporate_actions.csv (optional, beside the night's files): the splits and reverse splits of the
market file's equities, the independent record without which the cleaning never back-adjusts a
history (riskbatch.inputs.cleaning: a price ratio alone proves nothing, a crash to half is a price).

Columns factor, effective_date, ratio, source: `ratio` is the new shares per old share, the number
the prices before `effective_date` are divided by (2 a two-for-one split, 0.1 a one-for-ten
reverse split); `source` where the record comes from (an exchange notice, a vendor's
corporate-actions feed), kept in the manifest beside the cleaning it confirms. A bad row (no factor,
date, ratio or source, a date that is no date, an FX factor, a ratio not positive and finite or 1,
records of a factor on a day that disagree, a row of another number of fields) is quarantined on its
own, with its line number and reason, and the good rows are used: a vendor's one typing error does not
cost the night its other splits. A row set apart confirms nothing: that split stays in the history,
flagged and used as published, never rescaled on a guess. A file that cannot be read as this CSV at
all (unreadable, a missing column) is refused whole, every problem named (as second_source.csv)."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa

from riskbatch.inputs.files import FX_FACTOR
from riskbatch.inputs.small_csv import read_rows

CORPORATE_ACTIONS_FILE = "corporate_actions.csv"
# read as text: a date that is no date or a ratio that is no number is its row's problem, not the file's
COLUMNS = {"factor": pa.string(), "effective_date": pa.string(), "ratio": pa.string(), "source": pa.string()}
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
NEEDED = "a factor, an effective_date (YYYY-MM-DD), a ratio and a source are needed"
RATIO = "the ratio is new shares per old share, positive, finite and not 1 (2 for a two-for-one split, 0.1 for one-for-ten)"


@dataclass(frozen=True)
class CorporateAction:
    """One split (ratio above 1) or reverse split (below 1) of a factor, effective on a day."""

    factor: str
    effective_date: str  # ISO: the first day quoted in the new shares
    ratio: float  # new shares per old share: the prices before the day are divided by it
    source: str


@dataclass(frozen=True)
class QuarantinedRow:
    """A row of the file not used: its line (the header is line 1), why, and its text as read."""

    line: int
    reason: str
    text: str


@dataclass(frozen=True)
class CorporateActionsRead:
    """What a readable file gives: the records used, and the rows quarantined, each on its own."""

    actions: list[CorporateAction]
    quarantined: list[QuarantinedRow]


def _text(row: dict[str, Any]) -> str:
    return ",".join(row[column] or "" for column in COLUMNS)


def _action(row: dict[str, Any]) -> CorporateAction | str:
    """The row's record, or why it cannot be one."""
    factor, day, ratio, source = ((row[column] or "").strip() for column in COLUMNS)
    if not factor or not day or not ratio or not source:
        return NEEDED
    if FX_FACTOR.match(factor):
        return f"{factor} is an exchange rate: a rate has no shares to split"
    try:
        date = dt.date.fromisoformat(day) if ISO_DATE.fullmatch(day) else None
    except ValueError:
        date = None
    if date is None:
        return f"{factor}: the effective_date {day!r} is no date (YYYY-MM-DD)"
    try:
        value = float(ratio)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0 or value == 1.0:
        return f"{factor}: {RATIO}"
    return CorporateAction(factor, date.isoformat(), value, source)


def parse_corporate_actions(data: bytes, name: str) -> CorporateActionsRead:
    """The file's records and its quarantined rows (line numbers count the header as line 1); InputError,
    naming every problem, for a file that cannot be read at all (unreadable, a missing column).

    Records of one factor on one day that give the same ratio are one record, used once (the repeats
    are quarantined, named); records that disagree are all quarantined: which ratio is right is not ours to guess."""
    misshapen: list[tuple[int, str]] = []
    rows = read_rows(data, name, COLUMNS, misshapen)
    quarantined = [QuarantinedRow(line, f"not the header's {len(COLUMNS)} fields", text) for line, text in misshapen]
    by_day: dict[tuple[str, str], list[tuple[int, CorporateAction, str]]] = {}
    for number, row in rows:
        found = _action(row)
        if isinstance(found, str):
            quarantined.append(QuarantinedRow(number, found, _text(row)))
        else:
            by_day.setdefault((found.factor, found.effective_date), []).append((number, found, _text(row)))
    actions = []
    for (factor, day), records in by_day.items():
        ratios = {action.ratio for _, action, _ in records}
        if len(ratios) == 1:
            actions.append(records[0][1])
            repeat = f"a second record for {factor} on {day}, as line {records[0][0]}'s (used once)"
            quarantined += [QuarantinedRow(line, repeat, text) for line, _, text in records[1:]]
        else:
            told = ", ".join(f"{action.ratio:g} on line {line}" for line, action, _ in records)
            quarantined += [QuarantinedRow(line, f"the records for {factor} on {day} disagree ({told}): none is used", text) for line, _, text in records]
    return CorporateActionsRead(actions, sorted(quarantined, key=lambda row: row.line))


def confirmations(actions: list[CorporateAction] | list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """factor -> {effective day: ratio}, what the cleaning takes as a split's confirmation."""
    found: dict[str, dict[str, float]] = {}
    for action in actions:
        record = asdict(action) if isinstance(action, CorporateAction) else action
        found.setdefault(record["factor"], {})[record["effective_date"]] = float(record["ratio"])
    return found


def as_records(actions: list[CorporateAction]) -> list[dict[str, Any]]:
    return [asdict(action) for action in actions]


def night_record(actions: list[CorporateAction] | None, source: dict[str, Any] | None, business_date: str) -> dict[str, Any]:
    """What the run's manifest says of the night's corporate actions: the records read, the rows quarantined, and in words what they mean."""
    quarantined = (source or {}).get("quarantined_rows", [])
    if source is None:
        note = f"no {CORPORATE_ACTIONS_FILE} for {business_date}: no corporate actions tonight; a split in the history is flagged and used as published"
    elif actions is None:
        note = f"{source['uri']} refused ({len(source.get('rejected', []))} problem(s), quarantined): the night runs without corporate actions"
    else:
        note = f"{len(actions)} corporate action(s) read from {source['uri']}: a split is cleaned only where one confirms its factor, day and ratio"
        if quarantined:
            note += f"; {len(quarantined)} row(s) quarantined, not used ({source.get('quarantine', 'see the quarantine')})"
    return {"records": as_records(actions or []), "quarantined": quarantined, "note": note}

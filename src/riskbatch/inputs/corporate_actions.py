"""corporate_actions.csv (optional, beside the night's files): the splits and reverse splits of the
market file's equities, the independent record without which the cleaning never back-adjusts a
history (riskbatch.inputs.cleaning: a price ratio alone proves nothing, a crash to half is a price).

Columns factor, effective_date, ratio, source: `ratio` is the new shares per old share, the number
the prices before `effective_date` are divided by (2 a two-for-one split, 0.1 a one-for-ten
reverse split); `source` where the record comes from (an exchange notice, a vendor's
corporate-actions feed), kept in the manifest beside the cleaning it confirms. A file with any bad
row is refused whole, every problem named (as second_source.csv): the night then runs without it,
and a split in the history is flagged and used as published, never rescaled on a guess."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa

from riskbatch.inputs.files import FX_FACTOR, InputError
from riskbatch.inputs.small_csv import read_rows

CORPORATE_ACTIONS_FILE = "corporate_actions.csv"
COLUMNS = {"factor": pa.string(), "effective_date": pa.date32(), "ratio": pa.float64(), "source": pa.string()}


@dataclass(frozen=True)
class CorporateAction:
    """One split (ratio above 1) or reverse split (below 1) of a factor, effective on a day."""

    factor: str
    effective_date: str  # ISO: the first day quoted in the new shares
    ratio: float  # new shares per old share: the prices before the day are divided by it
    source: str


def _problem(row: dict[str, Any]) -> str | None:
    factor, ratio = (row["factor"] or "").strip(), row["ratio"]
    if not factor or row["effective_date"] is None or not (row["source"] or "").strip():
        return "a factor, an effective_date (YYYY-MM-DD), a ratio and a source are needed"
    if FX_FACTOR.match(factor):
        return f"{factor} is an exchange rate: a rate has no shares to split"
    if ratio is None or not math.isfinite(ratio) or ratio <= 0 or ratio == 1.0:
        return f"{factor}: the ratio is new shares per old share, positive, finite and not 1 (2 for a two-for-one split, 0.1 for one-for-ten)"
    return None


def parse_corporate_actions(data: bytes, name: str) -> list[CorporateAction]:
    """The file's records; InputError naming every bad row (line numbers count the header as line 1)."""
    problems: list[str] = []
    found: dict[tuple[str, dt.date], CorporateAction] = {}
    for number, row in read_rows(data, name, COLUMNS):
        problem = _problem(row)
        key = ((row["factor"] or "").strip(), row["effective_date"])
        if problem is not None:
            problems.append(f"line {number}: {problem}")
        elif key in found:
            problems.append(f"line {number}: a second record for {key[0]} on {key[1]}")
        else:
            found[key] = CorporateAction(key[0], key[1].isoformat(), float(row["ratio"]), row["source"].strip())
    if problems:
        raise InputError(name, problems)
    return list(found.values())


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
    """What the run's manifest says of the night's corporate actions: the records read, and in words what they mean."""
    if source is None:
        note = f"no {CORPORATE_ACTIONS_FILE} for {business_date}: no corporate actions tonight; a split in the history is flagged and used as published"
    elif actions is None:
        note = f"{source['uri']} refused ({len(source.get('rejected', []))} problem(s), quarantined): the night runs without corporate actions"
    else:
        note = f"{len(actions)} corporate action(s) read from {source['uri']}: a split is cleaned only where one confirms its factor, day and ratio"
    return {"records": as_records(actions or []), "note": note}

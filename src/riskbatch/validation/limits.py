"""Risk limits: an optional limits.csv beside the night's files, and the report's utilisation.

limits.csv (CSV, header row): scope (`firm` or a portfolio id), measure (`var_95`, `var_99` or
`es_975`) and limit (a positive amount in the reporting currency). A limit is breached when the
figure exceeds it; utilisation is figure / limit.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa

from riskbatch.inputs.files import InputError
from riskbatch.inputs.small_csv import read_rows

MEASURES = ("var_95", "var_99", "es_975")
WARNING_UTILISATION = 0.9


@dataclass(frozen=True)
class Limit:
    scope: str
    measure: str
    limit: float


def parse_limits(data: bytes, name: str) -> list[Limit]:
    """The limits of the file, every problem listed (InputError) when it cannot be used."""
    problems: list[str] = []
    limits, seen = [], set()
    for number, row in read_rows(data, name, {"scope": pa.string(), "measure": None, "limit": pa.float64()}):
        scope, measure, value = row["scope"], row["measure"], row["limit"]
        if not scope or measure not in MEASURES:
            problems.append(f"line {number}: scope must be set and measure one of {', '.join(MEASURES)}")
        elif value is None or not math.isfinite(value) or value <= 0:
            problems.append(f"line {number}: the limit must be a positive amount, not {value}")
        elif (scope, measure) in seen:
            problems.append(f"line {number}: a second {measure} limit for {scope}")
        else:
            seen.add((scope, measure))
            limits.append(Limit(scope.strip(), measure, float(value)))
    if problems:
        raise InputError(name, problems)
    return limits


def utilisation(
    limits: list[dict[str, Any]], firm: dict[str, Any], portfolios: dict[str, dict[str, Any]], unvalued: Collection[str] = ()
) -> list[dict[str, Any]]:
    """Each limit with its figure, utilisation and status (ok, warning from 90 %, breach above 100 %). `unvalued`:
    the portfolios whose every position was excluded tonight (no figure: their limit is not known to hold)."""
    rows = []
    for limit in limits:
        figures = firm if limit["scope"] == "firm" else portfolios.get(limit["scope"])
        if figures is None:
            status = "no figure: every position excluded" if limit["scope"] in unvalued else "no such portfolio tonight"
            rows.append({**limit, "figure": None, "utilisation": None, "status": status})
            continue
        used = figures[limit["measure"]] / limit["limit"]
        status = "breach" if used > 1.0 else "warning" if used >= WARNING_UTILISATION else "ok"
        rows.append({**limit, "figure": figures[limit["measure"]], "utilisation": used, "status": status})
    return rows


def as_records(limits: list[Limit]) -> list[dict[str, Any]]:
    return [asdict(limit) for limit in limits]


def breach_streaks(rows: list[dict[str, Any]], earlier: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each breached limit with `nights_breached`: how many nights in a row, tonight's included, its
    figure has been above tonight's limit (from the history's records, oldest first; a night without
    the figure ends the run), `new`: breached tonight only, and `since_history_start`: breached on every
    night the history holds (the run may be longer). The other rows are returned as given."""
    out = []
    for row in rows:
        if row["status"] != "breach":
            out.append(row)
            continue
        nights = 1
        for record in reversed(earlier):
            figures = record.get("var", {}).get("firm") if row["scope"] == "firm" else record.get("var", {}).get("portfolios", {}).get(row["scope"])
            if not figures or figures.get(row["measure"]) is None or figures[row["measure"]] <= row["limit"]:
                break
            nights += 1
        out.append({**row, "nights_breached": nights, "new": nights == 1, "since_history_start": nights == len(earlier) + 1 and nights > 1})
    return out

"""Risk limits: an optional limits.csv beside the night's files, and the report's utilisation.

limits.csv (CSV, header row): scope (`firm` or a portfolio id), measure (`var_95`, `var_99` or
`es_975`) and limit (a positive amount in the reporting currency). A limit is breached when the
figure exceeds it; utilisation is figure / limit.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa

from riskbatch.inputs.files import InputError
from riskbatch.inputs.small_csv import read_rows

MEASURES = ("var_95", "var_99", "es_975")
WARNING_UTILISATION = 0.9
NO_FIGURE = "no figure: every position excluded"
INCOMPLETE = "incomplete"  # the figure leaves part of the scope out: not known to be within its limit
BREACH_INCOMPLETE = "breach (incomplete)"  # above its limit, but the figure leaves part of the scope out: what it leaves out may add or hedge risk


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
    limits: list[dict[str, Any]],
    firm: dict[str, Any] | None,
    portfolios: dict[str, dict[str, Any]],
    unvalued: Collection[str] = (),
    caveats: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Each limit with its figure, utilisation and status (ok, warning from 90 %, breach above 100 %). `unvalued`:
    the portfolios whose every position was excluded tonight (no figure: their limit is not known to hold).
    `caveats`, by scope: why its figure leaves part of it out (the firm's: the portfolios without a figure; a
    portfolio's: most of its notional excluded). Such a figure is no bound either way (what it leaves out may be a
    hedge): above its limit the status is `breach (incomplete)`, apart from a breach, otherwise `incomplete`, never a
    plain ok; the row carries the reason under `incomplete`. `firm` None with "firm" in `unvalued`: no position valued at all."""
    caveats = caveats or {}
    rows = []
    for limit in limits:
        figures = firm if limit["scope"] == "firm" else portfolios.get(limit["scope"])
        if figures is None:
            status = NO_FIGURE if limit["scope"] in unvalued else "no such portfolio tonight"
            rows.append({**limit, "figure": None, "utilisation": None, "status": status})
            continue
        used = figures[limit["measure"]] / limit["limit"]
        status = "breach" if used > 1.0 else "warning" if used >= WARNING_UTILISATION else "ok"
        row = {**limit, "figure": figures[limit["measure"]], "utilisation": used, "status": status}
        if limit["scope"] in caveats:
            row["incomplete"] = caveats[limit["scope"]]
            row["status"] = BREACH_INCOMPLETE if status == "breach" else INCOMPLETE
        rows.append(row)
    return rows


def as_records(limits: list[Limit]) -> list[dict[str, Any]]:
    return [asdict(limit) for limit in limits]


def _night_figure(record: dict[str, Any], scope: str, measure: str, limit: float) -> str:
    """How the night of `record` stands against the limit: `breach`, `breach (incomplete)` (above the limit on a
    figure that left part of the scope out), `within`, `skipped` (no figure for the scope that night: every
    position excluded; or an incomplete figure within the limit, so not known to be within) or `ended` (no figure
    at all, from before the record named what it left out). A figure is incomplete when the record lists its scope
    under `incomplete_scopes`; a record written before it kept them names only `without_figures`, which make the
    firm's incomplete."""
    without = record.get("without_figures") or []
    if record.get("no_figure") or (scope != "firm" and scope in without):  # no_figure: every position refused that night
        return "skipped"
    var = record.get("var") or {}
    figures = var.get("firm") if scope == "firm" else var.get("portfolios", {}).get(scope)
    if not figures or figures.get(measure) is None:
        return "ended"
    incomplete = scope in (record.get("incomplete_scopes") or []) or (scope == "firm" and bool(without))
    if figures[measure] > limit:
        return BREACH_INCOMPLETE if incomplete else "breach"
    return "skipped" if incomplete else "within"


def _streak(row: dict[str, Any], earlier: list[dict[str, Any]]) -> tuple[int, int, int, bool]:
    """The earlier nights in a row, latest first, whose figure was above tonight's limit; the nights without a
    (whole) figure within the limit between them (passed over: they neither end nor extend the run); how many of
    the run's nights were above the limit on an incomplete figure; and whether the run reaches the history's first night."""
    nights = skipped = pending = incomplete = 0
    for record in reversed(earlier):
        verdict = _night_figure(record, row["scope"], row["measure"], row["limit"])
        if verdict == "skipped":
            pending += 1
            continue
        if verdict not in ("breach", BREACH_INCOMPLETE):
            return nights, skipped, incomplete, False
        nights, skipped, pending = nights + 1, skipped + pending, 0
        incomplete += verdict == BREACH_INCOMPLETE
    return nights, skipped, incomplete, True


def breach_streaks(rows: list[dict[str, Any]], earlier: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each breached limit (`breach` or `breach (incomplete)`) with `nights_breached`: how many nights in a row,
    tonight's included, its figure has been above tonight's limit (from the history's records, oldest first; a
    night with a whole figure within the limit ends the run), `nights_without_figure`: the nights inside the run
    without a figure for the scope (every position excluded) or with an incomplete one within the limit, neither
    ending nor counted, `nights_incomplete`: the run's nights above the limit on an incomplete figure (tonight's
    included), `new`: breached tonight only, and `since_history_start`: breached on every night the history holds
    (the run may be longer). A limit without a figure tonight, or with an incomplete one within it, keeps the run
    it had under `breached_before` (nights, and the nights without a figure passed over), neither ended nor
    extended. The other rows are returned as given."""
    out = []
    for row in rows:
        if row["status"] in (NO_FIGURE, INCOMPLETE):  # tonight says nothing of the run: kept as it was
            nights, skipped, _, _ = _streak(row, earlier)
            out.append({**row, "breached_before": {"nights": nights, "nights_without_figure": skipped}} if nights else row)
            continue
        if row["status"] not in ("breach", BREACH_INCOMPLETE):
            out.append(row)
            continue
        nights, skipped, incomplete, from_start = _streak(row, earlier)
        nights += 1
        out.append(
            {
                **row,
                "nights_breached": nights,
                "nights_without_figure": skipped,
                "nights_incomplete": incomplete + (row["status"] == BREACH_INCOMPLETE),
                "new": nights == 1,
                "since_history_start": from_start and nights > 1,
            }
        )
    return out

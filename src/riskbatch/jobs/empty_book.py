"""Ingestion's side of a positions file whose every row is refused: whether the night may publish no figure (only while
no figure is published for its date), the rejection's word when it may not, and the draw order it carries forward.
Kept apart from the report's side (riskbatch.jobs.no_figure_night), which needs the report's libraries: the
ingestion image holds only what its own commands import."""

from __future__ import annotations

from typing import Any

from riskbatch.inputs.files import InputError
from riskbatch.inputs.quality import FileRejected
from riskbatch.model.engine import draw_order
from riskbatch.validation.history import record_in_force


def published_run(s3: Any, bucket: str, business_date: str) -> str | None:
    """The run whose figures are in force for the date (history/<date>.json), None when no run of it published a
    figure: only then may a positions file whose every row is refused make a night of no figure. Otherwise a bad
    file landed after publication (a rerun, a restatement) would supersede the published figures with none."""
    record, _ = record_in_force(s3, bucket, business_date)
    return None if record is None or record.get("no_figure") else record["run_id"]


def figures_stand(rejected: FileRejected, business_date: str, published: str | None) -> FileRejected:
    """A positions file refused whole because every row was refused while figures are published for its date:
    the rejection says that the published figures stand."""
    problems = rejected.error.problems
    if published is None or rejected.role != "positions" or not any(problem.startswith("no valid position") for problem in problems):
        return rejected
    stand = f"the figures published for {business_date} by run {published} stand: a file whose every row is refused never replaces them with no figure"
    return FileRejected("positions", InputError(rejected.error.file, [*problems, stand]))


def carried_draw_order(previous: list[str] | None, factors: list[str]) -> list[str]:
    """The night's draw order (riskbatch.model.engine.draw_order); a night of no figure has no factor, so it carries the
    previous order forward: the next night keeps its factors' scenarios (common random numbers) instead of starting over."""
    return draw_order(previous, factors) if factors else list(previous or [])

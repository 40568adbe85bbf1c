"""make demo's limits (riskbatch.inputs.sample.SAMPLE_LIMITS) on the demo's own book and nights: its morning is
a good one, no limit breached night after night and at most one breached for the first time; a breach is what
the tests that need one construct (test/jobs/reporting/test_report_pages.py, test/jobs/validation/test_limits.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from riskbatch.inputs.sample import SampleSpec, write_nights
from riskbatch.model.offline import run_offline
from riskbatch.model.settings import parameters_from_env
from riskbatch.validation.limits import WARNING_UTILISATION, as_records, breach_streaks, parse_limits, utilisation
from riskbatch_platform.local.demo import demo_nights

BUSINESS_DATE = dt.date(2026, 12, 4)  # the demo of Monday 7 December 2026; the book's figures barely move with the date
SCENARIOS = 5_000  # the demo's nights run 100,000: the margin below covers the difference in Monte Carlo error


def _demo_nights(folder: Path) -> list[tuple[dict, list[dict]]]:
    """(figures, limit rows) of the two nights make demo runs through the stack, the business date last."""
    first, landed, run = demo_nights(BUSINESS_DATE, 1, 251)  # make demo's defaults: one night, 251 of history
    spec = dataclasses.replace(SampleSpec(positions=3_000, factors=300), business_date=first)  # make demo's book
    folders = write_nights(folder, spec, len(landed) + len(run), first_written=len(landed))
    parameters = dataclasses.replace(parameters_from_env(0), scenarios=SCENARIOS)
    nights = []
    for night in folders:
        limits = as_records(parse_limits((night / "limits.csv").read_bytes(), "limits.csv"))
        figures = run_offline(night / "positions.csv", night / "market.csv", parameters, show_progress=False, business_date=dt.date.fromisoformat(night.name))
        nights.append((figures, utilisation(limits, figures["firm"], figures["portfolios"])))
    return nights


def test_the_demos_morning_has_no_lasting_breach_and_at_most_one_new(tmp_path: Path) -> None:
    (yesterday, _), (_, rows) = _demo_nights(tmp_path)
    earlier = [{"var": {"firm": yesterday["firm"], "portfolios": yesterday["portfolios"]}}]
    breached = [row for row in breach_streaks(rows, earlier) if row["status"] == "breach"]
    assert [row for row in breached if not row["new"]] == [], breached  # no breach that lasts from the night before
    assert len(breached) <= 1, breached
    # every limit clear of 100 % by more than the Monte Carlo error, so the demo's own figures say the same
    assert all(row["utilisation"] < 0.97 for row in rows), rows
    # and the report has something to say: a limit near its level (the warning), the rest comfortable
    assert any(row["utilisation"] >= WARNING_UTILISATION for row in rows), rows

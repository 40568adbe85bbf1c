"""The report job's summary of a night whose every position was refused: no figure, the reasons, nothing read as 0.

Ingestion ran the night with one empty unit rather than rejecting it (riskbatch.jobs.ingestion); the risk worker
wrote a result of no portfolio. The summary has `firm` None with `firm_without_figures` (the refused rows' count,
notional and first reasons: riskbatch.reporting.no_figure), each portfolio of the file without a figure, every limit
"no figure", and the backtest of the previous night's VaR in tonight's move (revalued here: tonight's units hold
no part of it). The history keeps the night without a VaR (riskbatch.validation.history.night_record)."""

from __future__ import annotations

from typing import Any

from riskbatch.model.run_inputs import load_file_market, load_run_book
from riskbatch.reporting.figures import portfolios_without_figures
from riskbatch.reporting.no_figure import firm_without_figures
from riskbatch.reporting.results import read_results
from riskbatch.reporting.summary_fields import night_summary
from riskbatch.validation.exclusions import load_exclusions
from riskbatch.validation.history import backtest_entry, night_record, no_figure_entry, records_before
from riskbatch.validation.limits import utilisation


def _backtest(s3: Any, bucket: str, manifest: dict[str, Any], previous: dict[str, Any] | None, previous_manifest: dict[str, Any] | None) -> Any:
    """The previous night's VaR against its book's P&L in tonight's move (every factor of tonight's file), or None
    when there is no previous night to test, or its run is not in this bucket."""
    if previous is None:
        return None
    if previous.get("no_figure"):
        return no_figure_entry(previous)
    moves = load_file_market(s3, bucket, manifest)
    if previous_manifest is None or moves is None:
        return None
    untrusted = manifest["data_quality"].get("untrusted_last_day", [])
    return backtest_entry(previous, load_run_book(s3, bucket, previous_manifest), moves, manifest.get("actual_pnl"), untrusted)


def no_figure_summary(
    s3: Any, bucket: str, manifest: dict[str, Any], previous: dict[str, Any] | None, previous_manifest: dict[str, Any] | None, started: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the report's summary, the night's history record) of a night without a valid position."""
    run, date, currency = manifest["run_id"], manifest["business_date"], manifest["model"]["reporting_currency"]
    unvalued = portfolios_without_figures(manifest["data_quality"], [])  # each portfolio of the file: no figure, and why
    backtest = _backtest(s3, bucket, manifest, previous, previous_manifest)
    horizon = manifest["model"].get("horizon_days", 1)
    record = night_record(date, run, currency, None, {}, backtest, horizon_days=horizon, without_figures=list(unvalued))
    earlier = records_before(s3, bucket, date)
    summary = night_summary(
        manifest,
        started,
        software_version=manifest["software_version"],
        builds=read_results(s3, bucket, manifest).builds,  # the empty unit priced nothing, yet a build wrote it: listed as every unit's
        limits=utilisation(manifest.get("limits", []), None, {}, {"firm", *unvalued}),  # no figure for any scope
        earlier=earlier,
        record=record,
        exclusions=load_exclusions(s3, bucket),
        figures={
            "firm": None,  # no figure, never a VaR of 0
            "firm_without_figures": firm_without_figures(manifest["data_quality"]),
            "portfolios": {},
            "portfolios_without_figures": unvalued,
            "portfolios_partly_excluded": {},
        },
        breakdown={},
        analysis={"var_change": None},
    )
    return summary, record

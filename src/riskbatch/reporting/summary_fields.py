"""The report's summary, built in one place for a night of figures (riskbatch.jobs.report_generation) and a night of
no figure (riskbatch.jobs.no_figure_night): the night's description from its manifest, the builds that computed it,
the limits' breach runs and the backtest over the history. The two reports differ only in what they computed, passed
in as their own fields; a field added here is in both, so the two never describe a night in different words."""

from __future__ import annotations

import time
from typing import Any

from riskbatch.model.build_record import computing_build, night_builds
from riskbatch.reporting.figures import backtest_series
from riskbatch.validation.history import backtest_summary
from riskbatch.validation.limits import breach_streaks


def night_summary(
    manifest: dict[str, Any],
    started: float,
    *,
    software_version: str,
    builds: dict[int, dict[str, Any] | None],
    limits: list[dict[str, Any]],
    earlier: list[dict[str, Any]],
    record: dict[str, Any],
    exclusions: dict[str, dict[str, Any]],
    figures: dict[str, Any],
    breakdown: dict[str, Any],
    analysis: dict[str, Any],
) -> dict[str, Any]:
    """The summary of the night `manifest` describes, whose history record is `record` (`earlier`: the records before it).
    `builds` are the units' builds (unit -> build), `limits` the limits' utilisation tonight, `exclusions` the signed-off
    backtest days. Each report's own fields keep their places: `figures` after the market date (the firm's and the
    portfolios' figures, or why there is none), `breakdown` before the limits (what the firm's figure is made of),
    `analysis` after the backtest (the change since the previous night)."""
    return {
        "run_id": manifest["run_id"],
        "business_date": manifest["business_date"],
        "reporting_currency": manifest["model"]["reporting_currency"],
        "market_as_of": manifest["data_quality"]["market_as_of"],
        **figures,
        "scenarios": manifest["model"]["scenarios"],
        "seed": manifest["model"]["seed"],
        "model": manifest["model"],
        "inputs": manifest["inputs"],
        "positions": manifest["positions"],
        "software_version": software_version,
        "computed_by": night_builds(manifest, builds, computing_build()),  # one fingerprint: one build computed the night
        "model_config": manifest.get("model_config"),
        **breakdown,
        "limits": breach_streaks(limits, earlier),
        "limits_source": manifest.get("limits_source"),
        "corporate_actions_source": manifest.get("corporate_actions_source"),  # page one tells a refused file
        "backtest": {
            **backtest_summary([*earlier, record], exclusions=exclusions),  # signed-off days: riskbatch exclude-day
            "tonight": record["backtest"],
            "series": backtest_series([*earlier, record]),
        },
        **analysis,
        "data_quality": manifest["data_quality"],
        "data_quality_policy": manifest["data_quality_policy"],
        "timings": {
            "ingested at (UTC)": manifest["created_at"],
            "report started at (UTC)": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        },
    }

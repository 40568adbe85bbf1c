"""Page one tells each rates finding once: a currency's curve refused, accepted by a named sign-off, or a usable curve's
bad rows of earlier dates flagged.

Before, a flagged earlier-date row (EUR 3M 2.0 of three months back, tonight's EUR curve used) was said twice: in its
own "Rates of EUR" line and again in the count of flagged factors ("1 factor flagged (rates)")."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from riskbatch.inputs.quality import DataQualityPolicy, PreparedNight, prepare_night
from riskbatch.inputs.rates import exclude_options_without_rates, parse_rates
from riskbatch.inputs.sample import rates_table
from riskbatch.reporting.page_one_warnings import warning_lines
from test.jobs.inputs.test_rates_per_currency import DATE, USD, _fx_night, _policy


def _page_one(night: PreparedNight) -> list[str]:
    """Page one's warnings of a night whose figures are unremarkable: only its data-quality record speaks."""
    day = DATE.isoformat()
    summary: dict[str, Any] = {
        "data_quality": night.summary(),
        "risk_model": {"shrinkage": 0.0, "jitter": 0.0},
        "reporting_currency": "USD",
        "limits": [],
        "backtest": {},
        "firm": {"var_99": 1_000.0, "ci_95": {"var_99": [999.0, 1_001.0]}},
        "business_date": day,
        "market_as_of": day,
    }
    return warning_lines(summary)


def test_a_flagged_earlier_rates_row_is_named_once_on_page_one() -> None:
    older = DATE - dt.timedelta(days=85)
    table = pa.concat_tables([rates_table(DATE, {"USD": USD, "EUR": {"3M": 0.02, "10Y": 0.027}}), rates_table(older, {"EUR": {"3M": 2.0, "10Y": 0.027}})])
    policy = _policy()
    curves = parse_rates(table, "rates.csv", DATE, 0, policy.rate_bands, policy.rate_steps)
    night = prepare_night(*_fx_night(), DATE, DataQualityPolicy(), "USD")
    night = exclude_options_without_rates(night, curves, "positions.csv")
    lines = _page_one(night)
    (named,) = [line for line in lines if "EUR" in line]
    assert named.startswith(f"Rates of EUR: rows of earlier dates set aside, its last date's curve used: EUR 3M on {older}"), lines
    # the night's other flags (its sample prices' jumps) are still counted, without the rates finding told above
    others = [finding for finding in night.findings if finding.action == "flag" and finding.check != "rates"]
    counted = [line for line in lines if "flagged (" in line]
    assert others and counted == [f"{len(others)} factors flagged ({', '.join(sorted({finding.check for finding in others}))}): see Data quality."], lines

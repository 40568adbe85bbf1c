"""Every field the report of figures shares with the report of no figure (a night whose every position was refused) is
built in one place (riskbatch.reporting.summary_fields): a field added there is in both reports' JSON, so the two never
describe a night in different words."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from riskbatch.aws.layout import report_keys
from riskbatch.aws.storage import get_json
from riskbatch.inputs.business_days import next_business_day
from riskbatch.jobs import no_figure_night, report_generation
from riskbatch.reporting import summary_fields
from test.jobs.jobs.test_portfolio_without_figures import _spoiled
from test.jobs.stack_layout import Night, mocked_night, publish, small_night

DATE = "2026-11-25"
ADDED = "a field added to the shared builder"


@pytest.fixture
def night(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with mocked_night(tmp_path, monkeypatch, "1000", 500) as night:
        yield night


def test_a_field_added_to_the_shared_builder_is_in_the_report_of_figures_and_in_the_report_of_no_figure(
    night: Night, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = summary_fields.night_summary

    def with_a_field_added(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return {**built(*args, **kwargs), ADDED: kwargs["record"]["business_date"]}

    for job in (report_generation, no_figure_night):  # each report builds its summary with the shared builder, not a copy
        monkeypatch.setattr(job, "night_summary", with_a_field_added)
    following = next_business_day(dt.date.fromisoformat(DATE)).isoformat()
    figures_run = publish(night, night.upload(small_night(tmp_path / "figures", DATE), DATE)[1])
    refused = small_night(tmp_path / "refused", following)
    _spoiled(refused, {"PF01", "PF02", "PF03"})  # every row refused: a night of no figure
    no_figure_run = publish(night, night.upload(refused, following)[1])

    bucket = night.settings.output_bucket
    with_figures = get_json(night.s3, bucket, report_keys(DATE, figures_run)[1])
    without = get_json(night.s3, bucket, report_keys(following, no_figure_run)[1])
    assert with_figures["firm"]["var_99"] > 0 and without["firm"] is None  # one report of each kind
    assert with_figures[ADDED] == DATE and without[ADDED] == following

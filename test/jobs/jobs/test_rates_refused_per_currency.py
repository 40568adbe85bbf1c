"""A night whose rates file has one bad currency runs: that currency's curve is refused with its reason (the
manifest's findings and rates_source, the report's page one), its options excluded, every other curve kept. A curve
refused for its steps alone (a genuine squeeze) is used by the night's rerun once a named person accepted it, the
report naming the acceptance, and it is the next night's night before.

Before, EUR 3M 0.08 (meant 0.08 %) was priced as 8 %, and a currency outside its band refused the whole
rates file and the night with it, even for a book with no option in that currency."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from riskbatch.inputs.sample import SAMPLE_RATES, write_rates
from riskbatch.jobs.ingestion import ingest
from test.jobs.stack_layout import mocked_night, publish, small_night

DATE = "2026-11-25"  # a Wednesday
EUR_TYPED = {"3M": 0.08, "1Y": 0.002, "10Y": 0.008}  # 0.08 % typed as 0.08: inside EUR's band (up to 0.10)


def _manifest(night, run: str) -> dict:
    return json.loads(night.s3.get_object(Bucket=night.settings.output_bucket, Key=f"runs/{run}/manifest.json")["Body"].read())


@pytest.mark.clock
def test_a_currency_typed_as_percentages_is_refused_alone_and_said_on_page_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from riskbatch.aws.layout import report_keys
    from riskbatch.reporting.page_one import warning_lines

    folder = small_night(tmp_path / "files", DATE)
    write_rates(folder, dt.date.fromisoformat(DATE), {**SAMPLE_RATES, "EUR": EUR_TYPED})
    with mocked_night(tmp_path / "night", monkeypatch, 1000, 500) as night:
        run = publish(night, night.upload(folder, DATE)[-1])
        manifest = _manifest(night, run)
        _, json_key = report_keys(DATE, run)
        figures = json.loads(night.s3.get_object(Bucket=night.settings.output_bucket, Key=json_key)["Body"].read())
    assert "EUR" not in manifest["model"]["curves"] and manifest["model"]["curves"]["USD"] == [[0.25, 0.043], [1.0, 0.041], [10.0, 0.042]]
    (step, slip) = manifest["rates_source"]["refused"]["EUR"]
    assert step.startswith("EUR on 2026-11-25: 3M 0.08 and 1Y 0.002 are 7.8 points apart, more than the 2 allowed between neighbouring tenors")
    # 40x its neighbour: a typed percentage that no sign-off can accept (riskbatch accept-rates refuses it)
    assert slip == "EUR 3M 0.08 is 40x its neighbour 1Y 0.002: a percentage typed as a number? correct the file and rerun"
    assert manifest["rates_source"]["mistyped"] == {"EUR": [slip]} and manifest["rates_source"]["acceptable"] == {}
    why = f"{step}; {slip}"
    (finding,) = [f for f in manifest["data_quality"]["findings"] if f["check"] == "rates"]
    assert (finding["factor"], finding["action"]) == ("EUR", "exclude")
    excluded = [row for row in manifest["data_quality"]["excluded"] if "EUR's curve refused" in row["reason"]]
    assert excluded and all(row["instrument_type"] == "option" for row in excluded)  # the EUR equities' and FX_EURUSD's options
    assert f"Rates of EUR: curve refused, its options excluded: {why}; see Data quality." in warning_lines(figures)


@pytest.mark.clock
def test_a_rate_far_from_its_own_the_night_before_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A JPY curve ten times the night before's (a decimal point slipped) lies inside JPY's band and is smooth: only the
    night before (the stored run's curves) tells."""
    before, tonight = "2026-11-24", DATE
    with mocked_night(tmp_path / "night", monkeypatch, 1000, 500) as night:
        first = small_night(tmp_path / "before", before)
        run = ingest(night.settings.input_bucket, night.upload(first, before)[-1], night.settings, night.s3, night.sqs, night.sns).run_id
        yesterday = dict((years, rate) for years, rate in _manifest(night, run)["model"]["curves"]["JPY"])
        folder = small_night(tmp_path / "tonight", tonight)
        write_rates(folder, dt.date.fromisoformat(tonight), {**SAMPLE_RATES, "JPY": {"3M": 0.045, "1Y": 0.06, "10Y": 0.07}})
        outcome = ingest(night.settings.input_bucket, night.upload(folder, tonight)[-1], night.settings, night.s3, night.sqs, night.sns)
        manifest = _manifest(night, outcome.run_id)
    assert outcome.status == "queued" and "JPY" not in manifest["model"]["curves"] and "USD" in manifest["model"]["curves"]
    refused = manifest["rates_source"]["refused"]["JPY"]
    assert len(refused) == 3 and all("the night of 2026-11-24, more than the 2 allowed (a percentage typed as a number?)" in why for why in refused)
    assert refused[0].startswith(f"JPY 3M on 2026-11-25: 0.045, {100 * (0.045 - yesterday[0.25]):.1f} points from {yesterday[0.25]:g}")


@pytest.mark.clock
def test_an_accepted_squeeze_is_used_by_the_rerun_named_in_its_report_and_is_the_next_nights_night_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """EUR 2.1 % to 4.5 % overnight, 2.4 points beyond EUR's step of 2 from the night before: refused, its options excluded;
    accepted by name (riskbatch accept-rates), the rerun prices them at that curve and its page one says who, when and why;
    the next night, EUR back at 2.1 % is compared with the accepted 4.5 % (before, a refused curve left no night before)."""
    import time_machine

    from riskbatch.aws.layout import report_keys
    from riskbatch.cli import main
    from riskbatch.reporting.page_one import warning_lines

    before, tonight, after = "2026-11-24", DATE, "2026-11-27"  # 26 November: Thanksgiving, the NYSE closed
    squeezed = {"3M": 0.045, "1Y": 0.046, "10Y": 0.05}
    reason = "ECB emergency hike confirmed by the vendor"
    with mocked_night(tmp_path / "night", monkeypatch, 1000, 500) as night:
        output = night.settings.output_bucket
        ingest(night.settings.input_bucket, night.upload(small_night(tmp_path / "before", before), before)[-1], night.settings, night.s3, night.sqs, night.sns)
        folder = small_night(tmp_path / "tonight", tonight)
        write_rates(folder, dt.date.fromisoformat(tonight), {**SAMPLE_RATES, "EUR": squeezed})
        key = night.upload(folder, tonight)[-1]
        refused = ingest(night.settings.input_bucket, key, night.settings, night.s3, night.sqs, night.sns)
        night.sqs.purge_queue(QueueUrl=night.settings.risk_work_queue_url)  # the refusing run's units: not needed here
        refusal = _manifest(night, refused.run_id)
        with time_machine.travel("2026-11-26T08:00:00Z", tick=False):
            assert main(["accept-rates", "--bucket", output, "--date", tonight, "--currency", "EUR", "--by", "J. Risk", "--reason", reason]) == 0
        rerun = publish(night, key, "EUR curve accepted by J. Risk")
        manifest = _manifest(night, rerun)
        figures = json.loads(night.s3.get_object(Bucket=output, Key=report_keys(tonight, rerun)[1])["Body"].read())
        folder = small_night(tmp_path / "after", after)
        next_night = ingest(night.settings.input_bucket, night.upload(folder, after)[-1], night.settings, night.s3, night.sqs, night.sns)
        following = _manifest(night, next_night.run_id)
    assert "EUR" not in refusal["model"]["curves"] and any("EUR's curve refused" in row["reason"] for row in refusal["data_quality"]["excluded"])
    assert rerun != refused.run_id and manifest["model"]["curves"]["EUR"] == [[0.25, 0.045], [1.0, 0.046], [10.0, 0.05]]
    assert not any("EUR" in row["reason"] for row in manifest["data_quality"]["excluded"])  # its options priced
    accepted = manifest["rates_source"]["accepted"]["EUR"]
    assert (accepted["signed_off_by"], accepted["signed_off_at"]) == ("J. Risk", "2026-11-26T08:00:00Z")
    assert accepted["overrode"] == refusal["rates_source"]["refused"]["EUR"]
    (line,) = [line for line in warning_lines(figures) if "EUR" in line]
    why = "; ".join(refusal["rates_source"]["refused"]["EUR"])
    signed = "curve refused for its steps, used as accepted by J. Risk on 2026-11-26T08:00:00Z"
    assert line == f"Rates of EUR: {signed}: {reason} (refused for: {why}); see Data quality."
    assert "EUR" not in following["model"]["curves"]
    assert following["rates_source"]["refused"]["EUR"][0].startswith("EUR 3M on 2026-11-27: 0.021, 2.4 points from 0.045 the night of 2026-11-25")

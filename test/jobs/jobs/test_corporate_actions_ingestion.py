"""The nightly ingestion reads corporate_actions.csv beside the night's files and gives its records to
the cleaning: a split it confirms is back-adjusted and recorded, one it does not is flagged and used
(riskbatch.jobs.ingestion, riskbatch.inputs.corporate_actions). Before, ingestion read no such file and
no split was ever cleaned in production."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow.csv as pa_csv
import pytest

from riskbatch.inputs.files import Market, run_market
from riskbatch.inputs.sample import business_days, write_rates
from riskbatch.jobs.ingestion import ingest
from riskbatch.model.engine import build_book, portfolio_pnl, risk_model
from riskbatch.model.risk_model import risk_figures
from riskbatch.reporting.corporate_action_lines import corporate_action_lines
from test.jobs.inputs.test_cleaning import DAYS, MONDAY, PARAMETERS, _book, _night, _prices, _table
from test.jobs.stack_layout import mocked_night, publish

SPLIT_DAY, RATIO = 150, 2.0  # EQ_5 splits two-for-one on day 150; the vendor leaves its history unadjusted


def split_night(folder: Path, actions: str | None) -> tuple[Path, dict, dict]:
    """The night's files (EQ_5 halved from SPLIT_DAY on), with `actions` as corporate_actions.csv when given:
    the folder and the clean history (the vendor's own adjustment) by factor."""
    prices, dates = _prices(), business_days(MONDAY, DAYS)
    raw = {**prices, "EQ_5": prices["EQ_5"].copy()}
    raw["EQ_5"][SPLIT_DAY:] /= RATIO
    folder.mkdir(parents=True)
    pa_csv.write_csv(_table(raw, dates), folder / "market.csv")
    pa_csv.write_csv(_book(raw), folder / "positions.csv")
    write_rates(folder, dates[-1])
    if actions is not None:
        (folder / "corporate_actions.csv").write_text(actions.format(day=dates[SPLIT_DAY]))
    return folder, raw, {**prices, "EQ_5": prices["EQ_5"] / RATIO}


def ingested(folder: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch, reports: dict | None = None) -> tuple[dict, Market, list[str]]:
    """The night ingested: its manifest, the market its workers read, and the quarantine's keys (`reports`: filled with their JSON)."""
    date = str(business_days(MONDAY, DAYS)[-1])
    names = tuple(name for name in ("rates.csv", "corporate_actions.csv", "positions.csv", "market.csv") if (folder / name).exists())
    with mocked_night(scratch, monkeypatch, 2000, 500) as night:
        keys = night.upload(folder, date, names)
        run = ingest(night.settings.input_bucket, keys[-1], night.settings, night.s3, night.sqs, night.sns).run_id
        output = night.settings.output_bucket
        manifest = json.loads(night.s3.get_object(Bucket=output, Key=f"runs/{run}/manifest.json")["Body"].read())
        quarantined = [item["Key"] for item in night.s3.list_objects_v2(Bucket=output, Prefix="quarantine/").get("Contents", [])]
        for key in quarantined if reports is not None else ():
            reports[key] = json.loads(night.s3.get_object(Bucket=output, Key=key)["Body"].read() or b"null")
        return manifest, run_market(night.s3, output, manifest), quarantined


def var_99(market: Market, prices: dict) -> float:
    book = build_book(_book(prices), market, PARAMETERS)
    return risk_figures(portfolio_pnl(book, market, PARAMETERS, risk_model(market, PARAMETERS)).sum(axis=0))["var_99"]


CONFIRMED = "factor,effective_date,ratio,source\nEQ_5,{day},2,exchange notice 2026-417\n"


def test_a_split_the_corporate_actions_confirm_is_cleaned_recorded_and_var_is_the_clean_figure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder, raw, clean = split_night(tmp_path / "files", CONFIRMED)
    manifest, market, _ = ingested(folder, tmp_path / "night", monkeypatch)
    dates = business_days(MONDAY, DAYS)
    (cleaning,) = manifest["data_quality"]["cleanings"]
    assert (cleaning["factor"], cleaning["date"], cleaning["rule"], cleaning["ratio"]) == ("EQ_5", str(dates[SPLIT_DAY]), "split", RATIO)
    assert cleaning["raw"] == pytest.approx(raw["EQ_5"][SPLIT_DAY - 1]) and cleaning["cleaned"] == pytest.approx(clean["EQ_5"][SPLIT_DAY - 1])
    assert cleaning["confirmed_by"] == "corporate_actions" and cleaning["made_on"] == str(dates[-1])
    checksum = hashlib.sha256((folder / "corporate_actions.csv").read_bytes()).hexdigest()
    assert manifest["corporate_actions_source"]["sha256"] == checksum and manifest["corporate_actions_source"]["uri"].endswith("corporate_actions.csv")
    assert manifest["corporate_actions"]["records"] == [
        {"factor": "EQ_5", "effective_date": str(dates[SPLIT_DAY]), "ratio": 2.0, "source": "exchange notice 2026-417"}
    ]
    assert np.allclose(market.prices[:, market.index["EQ_5"]], clean["EQ_5"], rtol=1e-12)  # the workers' history is in today's units
    figure, clean_figure = var_99(market, raw), var_99(_night(clean, dates, _book(clean)).market, clean)
    print(f"firm VaR 99 %: {figure:,.2f} with the corporate actions, {clean_figure:,.2f} on the clean history")
    assert figure == pytest.approx(clean_figure, rel=1e-9)


def test_without_the_file_the_split_is_flagged_used_and_the_record_says_no_corporate_actions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder, raw, clean = split_night(tmp_path / "files", None)
    manifest, market, quarantined = ingested(folder, tmp_path / "night", monkeypatch)
    assert manifest["data_quality"]["cleanings"] == [] and quarantined == []
    assert manifest["corporate_actions_source"] is None and "no corporate actions tonight" in manifest["corporate_actions"]["note"]
    assert np.array_equal(market.prices[:, market.index["EQ_5"]], raw["EQ_5"])  # used as published
    assert [finding["factor"] for finding in manifest["data_quality"]["findings"] if finding["check"] == "jump"] == ["EQ_5"]
    figure, clean_figure = var_99(market, raw), var_99(_night(clean, business_days(MONDAY, DAYS), _book(clean)).market, clean)
    print(f"firm VaR 99 %: {figure:,.2f} with the split used as a move, {clean_figure:,.2f} on the clean history ({figure / clean_figure:.2f} times)")
    assert figure > clean_figure  # overstated, never understated


def test_a_bad_row_is_quarantined_and_named_and_the_good_rows_are_applied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # before: the one bad row refused the whole file: EQ_5's confirmed split was not cleaned, the night ran on the unadjusted history
    folder, raw, clean = split_night(tmp_path / "files", CONFIRMED + "EQ_6,{day},0,exchange notice\n")
    reports: dict = {}
    manifest, market, _ = ingested(folder, tmp_path / "night", monkeypatch, reports)
    date = business_days(MONDAY, DAYS)[-1]
    reason = "EQ_6: the ratio is new shares per old share, positive, finite and not 1 (2 for a two-for-one split, 0.1 for one-for-ten)"
    ((key, report),) = [(key, body) for key, body in reports.items() if isinstance(body, dict) and "kept" in body]
    row = {"line": 3, "reason": reason, "text": f"EQ_6,{business_days(MONDAY, DAYS)[SPLIT_DAY]},0,exchange notice"}
    assert key.startswith(f"quarantine/{date}/corporate_actions.csv.") and report["quarantined_rows"] == [row] and report["records_used"] == 1
    assert f"riskbatch rerun --stack-name <stack> --date {date} --reason" in report["kept"]  # the arrival of an optional file starts no run
    source = manifest["corporate_actions_source"]
    assert "rejected" not in source and source["quarantined_rows"] == [row] and source["quarantine"].endswith(key)
    assert manifest["corporate_actions"]["quarantined"] == [row] and "1 row(s) quarantined, not used" in manifest["corporate_actions"]["note"]
    assert [(c["factor"], c["rule"]) for c in manifest["data_quality"]["cleanings"]] == [("EQ_5", "split")]  # the good row applied
    assert np.allclose(market.prices[:, market.index["EQ_5"]], clean["EQ_5"], rtol=1e-12)
    figure, clean_figure = var_99(market, raw), var_99(_night(clean, business_days(MONDAY, DAYS), _book(clean)).market, clean)
    print(f"firm VaR 99 %: {figure:,.2f} with the file's good row applied, {clean_figure:,.2f} on the clean history")
    assert figure == pytest.approx(clean_figure, rel=1e-9)
    (line,) = [line for line in corporate_action_lines(_page_one(manifest)) if "quarantined" in line]
    assert line.startswith(f"Corporate actions file {source['uri']}: 1 row(s) quarantined, not used (line 3: {reason})") and key in line


def test_a_file_that_cannot_be_read_is_still_refused_whole_and_the_night_runs_without_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder, raw, _ = split_night(tmp_path / "files", CONFIRMED.replace("ratio", "split_ratio"))
    reports: dict = {}
    manifest, market, quarantined = ingested(folder, tmp_path / "night", monkeypatch, reports)
    (report,) = [body for body in reports.values() if isinstance(body, dict) and "kept" in body]
    assert report["problems"] == ["missing column ratio"] and "starts a new run" not in report["kept"]
    assert f"riskbatch rerun --stack-name <stack> --date {business_days(MONDAY, DAYS)[-1]} --reason" in report["kept"]
    assert manifest["corporate_actions_source"]["rejected"] == ["missing column ratio"]
    assert {key.rsplit("/", 1)[-1].split(".")[0] for key in quarantined} == {"corporate_actions"}  # its report (and the mark that it was alerted)
    assert manifest["data_quality"]["cleanings"] == [] and "refused" in manifest["corporate_actions"]["note"]
    assert np.array_equal(market.prices[:, market.index["EQ_5"]], raw["EQ_5"])  # its rows confirm nothing: the file is refused whole
    (line,) = corporate_action_lines(_page_one(manifest))
    assert line.startswith("Corporate actions file s3://") and "refused (1 problem(s), quarantined)" in line


def _page_one(manifest: dict) -> dict:
    """What the report's page one reads of the manifest (riskbatch.jobs.report_generation)."""
    return {
        "business_date": manifest["business_date"],
        "data_quality": manifest["data_quality"],
        "corporate_actions_source": manifest["corporate_actions_source"],
    }


def test_records_applied_and_not_applied_are_in_the_manifest_and_on_page_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder, _, _ = split_night(tmp_path / "files", CONFIRMED + "EQ_6,{day},3,vendor feed\n")  # EQ_6 did not split: no move that day
    manifest, _, _ = ingested(folder, tmp_path / "night", monkeypatch)
    day = str(business_days(MONDAY, DAYS)[SPLIT_DAY])
    (unapplied,) = [f for f in manifest["data_quality"]["findings"] if f["check"] == "corporate_action"]
    assert unapplied["factor"] == "EQ_6" and day in unapplied["detail"]
    assert "the price did not move by the ratio (already adjusted by the vendor?)" in unapplied["detail"]
    applied, not_applied = corporate_action_lines(_page_one(manifest))
    assert applied == f"Corporate actions applied tonight: EQ_5 a 2:1 split effective {day}; the prices before each divided by its ratio (see Data quality)."
    assert not_applied.startswith("Corporate action of EQ_6 not applied: the record of a split of ratio 3 effective " + day)


def test_page_one_of_the_published_report_tells_the_records_not_applied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from riskbatch.aws.layout import report_keys
    from riskbatch.reporting.page_one import warning_lines
    from test.jobs.jobs.test_pipeline import _page_texts

    folder, _, _ = split_night(tmp_path / "files", CONFIRMED + "EQ_6,{day},3,vendor feed\nEQ_7,{day},,vendor feed\n")
    date = str(business_days(MONDAY, DAYS)[-1])
    with mocked_night(tmp_path / "night", monkeypatch, 2000, 500) as night:
        keys = night.upload(folder, date, ("rates.csv", "corporate_actions.csv", "positions.csv", "market.csv"))
        run = publish(night, keys[-1])
        pdf_key, json_key = report_keys(date, run)
        figures = json.loads(night.s3.get_object(Bucket=night.settings.output_bucket, Key=json_key)["Body"].read())
        page_one = _page_texts(night.s3.get_object(Bucket=night.settings.output_bucket, Key=pdf_key)["Body"].read())[0]
    lines = warning_lines(figures)
    assert any(line.startswith("Corporate actions applied tonight: EQ_5 a 2:1 split") for line in lines)
    assert any(line.startswith("Corporate action of EQ_6 not applied") for line in lines)
    assert "Corporate action of EQ_6 not applied" in " ".join(page_one.split())
    quarantined = f"Corporate actions file s3://{night.settings.input_bucket}/incoming/{date}/corporate_actions.csv: 1 row(s) quarantined, not used (line 4: "
    drawn = "".join(page_one.replace("\\", "").split())  # the page's text unescaped, its wrapped lines joined without their spaces
    assert any(line.startswith(quarantined) for line in lines) and "1row(s)quarantined,notused(line4:afactor" in drawn


def test_the_manifest_records_the_etag_read_so_a_file_replaced_after_the_read_is_named_late(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # before: the manifest named the file's checksum and version only, and the late check went by the manifest's time,
    # written minutes after the read. ListObjectsV2 lists each object's ETag, "a hash of the object" reflecting "changes only
    # to the contents" (Object, Amazon S3 API Reference: https://docs.aws.amazon.com/AmazonS3/latest/API/API_Object.html).
    from riskbatch.operations.late_inputs import landed_after_ingestion

    folder, _, _ = split_night(tmp_path / "files", CONFIRMED)
    date = str(business_days(MONDAY, DAYS)[-1])
    with mocked_night(tmp_path / "night", monkeypatch, 2000, 500) as night:
        keys = night.upload(folder, date, ("rates.csv", "corporate_actions.csv", "positions.csv", "market.csv"))
        run = ingest(night.settings.input_bucket, keys[-1], night.settings, night.s3, night.sqs, night.sns).run_id
        manifest = json.loads(night.s3.get_object(Bucket=night.settings.output_bucket, Key=f"runs/{run}/manifest.json")["Body"].read())

        def listed() -> list[dict]:
            return night.s3.list_objects_v2(Bucket=night.settings.input_bucket, Prefix=f"incoming/{date}/")["Contents"]

        (read,) = [item for item in listed() if item["Key"].endswith("/corporate_actions.csv")]
        assert manifest["corporate_actions_source"]["etag"] == read["ETag"] and landed_after_ingestion(listed(), manifest, date) == []
        night.s3.put_object(Bucket=night.settings.input_bucket, Key=read["Key"], Body=CONFIRMED.replace(",2,", ",3,").encode())
        (late,) = landed_after_ingestion(listed(), manifest, date)
    checksum = manifest["corporate_actions_source"]["sha256"]
    assert late.startswith("corporate_actions.csv landed ") and f"the night read the file it replaced (sha256 {checksum[:12]})" in late

"""The backtest counts every day: a genuine crash is used, not held; an actual-P&L observation is
never dropped; a day leaves the backtest only by a named sign-off shown in the report; hypothetical
and actual P&L are tested apart at VaR 99 % and 97.5 % per portfolio.

Each test here fails on the batch before these rules: there a market-wide fall of 12 % was held at
the previous close (the day "incomplete", no exception), the actual-P&L backtest dropped every
incomplete day, and an incomplete day simply left the count."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pyarrow as pa
import pytest
import time_machine

from riskbatch.inputs.files import POSITION_COLUMNS
from riskbatch.inputs.quality import DataQualityPolicy, prepare_night
from riskbatch.inputs.sample import business_days
from riskbatch.model.engine import build_book, portfolio_pnl, risk_model
from riskbatch.model.risk_model import ModelParameters, risk_figures
from riskbatch.model.run_inputs import RunBook
from riskbatch.validation.history import backtest_entry, backtest_summary, night_record
from test.jobs.inputs.test_cleaning import _table  # the market table of a few USD equities: one helper for both

MONDAY = dt.date(2026, 11, 16)
DAYS = 301
NAMES = [f"EQ_{i}" for i in range(10)]
PARAMETERS = ModelParameters(scenarios=20_000, block_size=5_000)


def _book(prices: dict[str, np.ndarray]) -> pa.Table:
    rows = [
        {"portfolio_id": "DESK_A" if i < 5 else "DESK_B", "position_id": f"E{i}", "instrument_type": "equity", "underlying": name,
         "quantity": 10_000.0 / prices[name][-2]}
        for i, name in enumerate(NAMES)
    ]  # fmt: skip
    return pa.table({name: pa.array([row.get(name) for row in rows], kind) for name, kind in POSITION_COLUMNS.items()})


def _night(prices: dict[str, np.ndarray], dates: list[dt.date], book: pa.Table) -> tuple[dict, RunBook, object]:
    prepared = prepare_night(_table(prices, dates), "market.csv", book, "positions.csv", dates[-1], DataQualityPolicy(), "USD")
    model = risk_model(prepared.market, PARAMETERS)
    built = build_book(prepared.positions, prepared.market, PARAMETERS)
    pnl = portfolio_pnl(built, prepared.market, PARAMETERS, model)
    portfolios = {name: risk_figures(row) for name, row in zip(built.portfolio_ids, pnl, strict=True)}
    last = dict(zip(prepared.market.factors, prepared.market.spot.tolist(), strict=True))
    record = night_record(str(dates[-1]), "run", "USD", risk_figures(pnl.sum(axis=0)), portfolios, None, factors=last)
    return record, RunBook(PARAMETERS, prepared.market, prepared.positions, built, model), prepared


def test_a_genuine_market_wide_crash_is_used_and_counted_as_an_exception() -> None:
    """Every factor falls 12 % (12 standard deviations of a 1 % a day history) on the last day.
    Before: each factor held at the previous close, yesterday's book untested (the day
    "incomplete", no exception) and tonight's VaR at pre-crash prices. After: the move is flagged
    and used, the day is an exception of the hypothetical and the actual backtest, and tonight's
    book revalues from the crash's prices."""
    rng = np.random.default_rng(5)
    dates = business_days(MONDAY, DAYS + 1)
    prices = {name: 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, DAYS + 1))) for name in NAMES}
    for series in prices.values():
        series[-1] = series[-2] * 0.88
    book = _book(prices)
    yesterday, run, _ = _night({name: series[:-1] for name, series in prices.items()}, dates[:-1], book)
    record, _, tonight = _night(prices, dates, book)
    assert tonight.held == [] and tonight.untrusted_last_day == []
    assert {f.factor for f in tonight.findings if f.check == "last_day_jump" and f.action == "flag"} == set(NAMES)
    assert np.allclose(tonight.market.spot, [prices[name][-1] for name in tonight.market.factors])  # tonight's prices are the crash's
    actual = {"DESK_A": -6_100.0, "DESK_B": -5_900.0}
    entry = backtest_entry(yesterday, run, tonight.whole_market, actual, tonight.untrusted_last_day)
    loss, var = -entry["hypothetical_pnl"]["firm"], yesterday["var"]["firm"]["var_99"]
    assert entry["complete"] and loss == pytest.approx(12_000.0, rel=1e-9) and entry["exceptions"]["firm"]
    assert loss / var > 5, f"the loss is {loss / var:.1f} times VaR 99 %"
    assert entry["exceptions_975"]["portfolios"] == {"DESK_A": True, "DESK_B": True}
    assert entry["actual"]["exceptions"]["firm"] and entry["actual"]["exceptions_975"]["portfolios"] == {"DESK_A": True, "DESK_B": True}
    summary = backtest_summary([yesterday, {**record, "backtest": entry}])
    assert summary["firm"]["exceptions"] == 1 and summary["firm"]["exception_dates"] == [str(dates[-2])] and summary["incomplete"]["days"] == 0


def _entry(var_date: str, complete: bool, loss: float, actual_loss: float | None) -> dict:
    hit = {"firm": loss > 100.0, "portfolios": {"DESK_A": loss > 100.0}}
    hit_975 = {"firm": loss > 80.0, "portfolios": {"DESK_A": loss > 80.0}}
    actual = None
    if actual_loss is not None:
        actual = {"pnl": {"firm": -actual_loss, "portfolios": {"DESK_A": -actual_loss}},
                  "exceptions": {"firm": actual_loss > 100.0, "portfolios": {"DESK_A": actual_loss > 100.0}},
                  "exceptions_975": {"firm": actual_loss > 80.0, "portfolios": {"DESK_A": actual_loss > 80.0}}}  # fmt: skip
    if not complete:
        return {"var_date": var_date, "complete": False, "actual": actual, "hypothetical_pnl": None, "exceptions": None,
                "incomplete": {"reasons": ["no move"], "factors": ["X"], "positions": ["P1"], "notional": 1.0}}  # fmt: skip
    return {"var_date": var_date, "complete": True, "actual": actual, "hypothetical_pnl": {"firm": -loss, "portfolios": {"DESK_A": -loss}},
            "exceptions": hit, "exceptions_975": hit_975}  # fmt: skip


def _records(days: list[dt.date], entries: list[dict | None]) -> list[dict]:
    figures = {"var_95": 70.0, "var_975": 80.0, "var_99": 100.0, "es_975": 110.0}
    return [night_record(str(day), f"run-{i}", "USD", figures, {"DESK_A": figures}, entry) for i, (day, entry) in enumerate(zip(days, entries, strict=True))]


def test_every_day_counts_the_actual_pnl_is_never_dropped_and_an_exclusion_needs_a_sign_off() -> None:
    days = business_days(dt.date(2026, 12, 1), 6)
    labels = [str(day) for day in days]
    entries = [
        None,
        _entry(labels[0], True, 10.0, 20.0),
        _entry(labels[1], False, 0.0, 150.0),  # incomplete, but the desk lost 150: an actual exception
        _entry(labels[2], True, 90.0, 50.0),  # beyond VaR 97.5 % only
        _entry(labels[3], False, 0.0, 30.0),  # incomplete: signed off below
        _entry(labels[4], True, 120.0, None),
    ]
    records = _records(days, entries)
    unsigned = backtest_summary(records)
    # an incomplete day without a sign-off is in the count, as an exception
    assert unsigned["firm"]["observations"] == 5 and unsigned["firm"]["exception_dates"] == [labels[1], labels[3], labels[4]]
    assert unsigned["incomplete"]["dates"] == [labels[1], labels[3]]
    # the actual P&L of the incomplete days is kept: four days brought it, two exceptions at 99 % (none dropped)
    assert unsigned["firm_actual"]["observations"] == 4 and unsigned["firm_actual"]["exception_dates"] == [labels[1]]
    sign_off = {"signed_off_by": "J. Risk", "reason": "vendor outage, no price for X", "signed_off_at": "2026-12-09T08:00:00Z"}
    signed = {labels[3]: {"var_date": labels[3], **sign_off}}
    summary = backtest_summary(records, exclusions=signed)
    assert summary["firm"]["observations"] == 4 and summary["firm"]["exception_dates"] == [labels[1], labels[4]]
    assert summary["excluded"] == [signed[labels[3]]] and summary["incomplete"]["dates"] == [labels[1]]
    measures = summary["measures"]
    assert measures["hypothetical"]["97.5"]["portfolios"]["DESK_A"]["exception_dates"] == [labels[1], labels[2], labels[4]]
    assert measures["actual"]["97.5"]["portfolios"]["DESK_A"]["exception_dates"] == [labels[1]]
    assert measures["actual"]["99"]["firm"]["observations"] == 4  # the sign-off excuses the hypothetical day only: the actual P&L stays
    from riskbatch.validation.history import as_table, firm_lines

    assert any(f"excluded {labels[3]}: signed off by J. Risk" in line for line in firm_lines(summary))
    assert "signed off by J. Risk: vendor outage" in as_table(records, signed)


def test_a_signed_off_day_leaves_the_hypothetical_backtest_only_its_actual_exception_counts() -> None:
    """Ten days, the last an exception of both measures, signed off. Before: dropped from both
    (hypothetical 0/9, actual 0/9). After: hypothetical 0/9, actual 1/10 (the desk's loss stands)."""
    days = business_days(dt.date(2026, 12, 1), 11)
    labels = [str(day) for day in days]
    entries = [None] + [_entry(label, True, 10.0, 20.0) for label in labels[:9]] + [_entry(labels[9], True, 150.0, 150.0)]
    signed = {labels[9]: {"var_date": labels[9], "signed_off_by": "J. Risk", "reason": "a genuine crash, approved", "signed_off_at": "2026-12-16T08:00:00Z"}}
    unsigned, summary = backtest_summary(_records(days, entries)), backtest_summary(_records(days, entries), exclusions=signed)
    assert (unsigned["firm"]["exceptions"], unsigned["firm"]["observations"]) == (1, 10)
    assert (summary["firm"]["exceptions"], summary["firm"]["observations"]) == (0, 9)
    assert (summary["firm_actual"]["exceptions"], summary["firm_actual"]["observations"]) == (1, 10)
    assert summary["firm_actual"]["exception_dates"] == [labels[9]]
    desk = summary["measures"]["actual"]["97.5"]["portfolios"]["DESK_A"]
    assert (desk["exceptions"], desk["observations"]) == (1, 10)


def test_riskbatch_exclude_day_records_a_named_sign_off_once_and_the_backtest_shows_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import boto3
    from moto import mock_aws

    from riskbatch.cli import main
    from riskbatch.validation.history import write_record

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    days = business_days(dt.date(2026, 12, 1), 3)
    # a sign-off's date may not be after today in New York: the clock pinned after the three nights
    with mock_aws(), time_machine.travel(dt.datetime(2026, 12, 7, 14, 0, tzinfo=dt.UTC), tick=False):
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="risk-out")
        for record in _records(days, [None, _entry(str(days[0]), False, 0.0, None), _entry(str(days[1]), True, 10.0, None)]):
            write_record(s3, "risk-out", record)
        base = ["exclude-day", "--bucket", "risk-out", "--date", str(days[0])]
        assert main([*base, "--by", "", "--reason", "vendor outage for X"]) != 0  # no name, no exclusion
        assert "names the person" in capsys.readouterr().err
        assert main([*base, "--by", "J. Risk", "--reason", "vendor outage, no price for X"]) == 0
        stored = json.loads(s3.get_object(Bucket="risk-out", Key=f"history/exclusions/{days[0]}.json")["Body"].read())
        assert stored["signed_off_by"] == "J. Risk" and stored["reason"] == "vendor outage, no price for X"
        assert main([*base, "--by", "Someone Else", "--reason", "another reason entirely"]) == 1  # the first sign-off stands
        assert main(["exclude-day", "--bucket", "risk-out", "--date", "2026-11-02", "--by", "J. Risk", "--reason", "no such backtest day"]) != 0
        capsys.readouterr()
        assert main(["backtest", "--bucket", "risk-out"]) == 0
        printed = capsys.readouterr().out
        assert f"excluded {days[0]}: signed off by J. Risk" in printed and "firm: 0 exception(s) in 1 day(s)" in printed
        assert "hypothetical 97.5 %" in printed and "actual 99 %" in printed


def test_the_year_backtest_runs_the_production_policy_and_says_so(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    """make backtest-year: the shipped configuration's data-quality policy and cleaning standard (it
    flagged every last-day jump before), and the held, cleaned and excluded days beside the light."""
    from riskbatch.model.settings import load_model_config
    from riskbatch_platform.measurement import backtest_year

    policy, _, version = backtest_year.production_policy()
    assert version == load_model_config().version and policy.last_day_jump == load_model_config().data_quality["last_day_jump"]
    (tmp_path / "exclusions").mkdir()
    arguments = ["--nights", "4", "--positions", "60", "--factors", "8", "--scenarios", "500", "--out", str(tmp_path)]
    assert backtest_year.main(arguments) == 0
    records = [json.loads(path.read_text()) for path in sorted((tmp_path / "history").glob("*.json"))]
    first_var_date = records[1]["backtest"]["var_date"]
    signed = {"var_date": first_var_date, "signed_off_by": "J. Risk", "reason": "a test of the sign-off", "signed_off_at": "2026-12-09T08:00:00Z"}
    (tmp_path / "exclusions" / f"{first_var_date}.json").write_text(json.dumps(signed))
    capsys.readouterr()
    assert backtest_year.main(arguments) == 0
    out = capsys.readouterr().out
    # 500 scenarios a night: the line says what differs from production, never that it ran production's policy
    production = load_model_config().parameters["scenarios"]
    assert f"policy: not the production policy: scenarios 500 against production's {production:,}" in out and "the production policy of" not in out
    assert f"otherwise model configuration {version}'s parameters, data-quality policy and cleaning standard: last_day_jump={policy.last_day_jump}" in out
    assert "held days: " in out and "cleaned: " in out and f"excluded days (signed off): 1: {first_var_date}" in out
    assert f"excluded {first_var_date}: signed off by J. Risk" in out and "firm: " in out
    assert out.index("held days: ") < out.index("Basel traffic light")  # beside the light, before the statistics


def test_the_report_reads_the_sign_off_and_shows_the_excluded_day(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The report job reads history/exclusions/: a signed-off incomplete day is no exception, and the
    report lists it with who signed it off and why."""
    from riskbatch.reporting.page_one import backtest_block
    from riskbatch.validation.exclusions import exclusion_record, record_exclusion
    from test.jobs.stack_layout import mocked_night
    from test.jobs.validation.test_trusted_numbers import _equity, _market_table, _positions, _run, _two_nights

    dates, prices = _two_nights(-0.30)
    usd = {"DROP": "USD", "KEEP": "USD"}
    with mocked_night(tmp_path, monkeypatch, 2000, 500) as night:
        yesterday = _positions([_equity("P-DROP", "DROP", 1_000.0), _equity("P-KEEP", "KEEP", 20.0)])
        _run(night, tmp_path / "1", str(dates[-2]), _market_table({k: v[:-1] for k, v in prices.items()}, dates[:-1], usd), yesterday)
        reason = "the vendor stopped publishing DROP: no close tonight"
        sign_off = exclusion_record(dates[-2], "J. Risk", reason, dt.datetime(2026, 11, 18, 7, 0, tzinfo=dt.UTC))
        assert record_exclusion(night.s3, night.settings.output_bucket, sign_off)
        without = {"KEEP": prices["KEEP"]}  # tonight's file no longer carries DROP: an incomplete day
        second = _run(night, tmp_path / "2", str(dates[-1]), _market_table(without, dates, usd), _positions([_equity("P-KEEP", "KEEP", 20.0)]))
    backtest = second["figures"]["backtest"]
    assert second["record"]["backtest"]["complete"] is False
    assert backtest["excluded"] == [sign_off] and backtest["firm"]["observations"] == 0 and backtest["incomplete"]["days"] == 0

    class Paragraph:
        def __init__(self, text: str, _style: object) -> None:
            self.text = text

    kit = {"styles": {"Heading2": None, "Normal": None}, "Paragraph": Paragraph, "table": lambda *args, **kwargs: None, "KeepTogether": list}
    shown, _ = backtest_block(second["figures"], kit)
    assert any(f"Excluded {dates[-2]}, signed off by J. Risk" in getattr(item, "text", "") and reason in item.text for item in shown)

"""The data-cleaning standard: a bad tick that reverts and an unadjusted split are cleaned anywhere
in the window, each cleaning recorded, and the record kept from night to night so that a correction
is made once (riskbatch.inputs.cleaning).

Each test here fails on the batch before the standard: there, on the night after an x100 tick the
last-day check held tonight's genuine price and both spike returns stayed in the covariance (firm
VaR 99 % 8.3 times the clean figure on this book), and a split was only flagged."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest

from riskbatch.inputs.cleaning import CleaningPolicy, clean_history
from riskbatch.inputs.files import POSITION_COLUMNS, Market
from riskbatch.inputs.quality import DataQualityPolicy, PreparedNight, prepare_night
from riskbatch.inputs.sample import business_days, write_rates
from riskbatch.model.engine import build_book, portfolio_pnl, risk_model
from riskbatch.model.risk_model import ModelParameters, risk_figures

MONDAY = dt.date(2026, 11, 16)
DAYS = 301
NAMES = [f"EQ_{i}" for i in range(10)]
PARAMETERS = ModelParameters(scenarios=20_000, block_size=5_000)


def _prices(days: int = DAYS, seed: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, days))) for name in NAMES}


def _table(prices: dict[str, np.ndarray], dates: list[dt.date]) -> pa.Table:
    rows = [(day, name, float(series[i])) for name, series in prices.items() for i, day in enumerate(dates)]
    return pa.table(
        {
            "date": pa.array([r[0] for r in rows], pa.date32()),
            "factor": pa.array([r[1] for r in rows], pa.string()),
            "price": pa.array([r[2] for r in rows], pa.float64()),
            "currency": pa.array(["USD"] * len(rows), pa.string()),
            "dividend_yield": pa.array([0.0] * len(rows), pa.float64()),
        }
    )


def _book(prices: dict[str, np.ndarray]) -> pa.Table:
    rows = [
        {"portfolio_id": "A", "position_id": f"E{i}", "instrument_type": "equity", "underlying": name, "quantity": 10_000.0 / prices[name][-1]}
        for i, name in enumerate(NAMES)
    ]
    return pa.table({name: pa.array([row.get(name) for row in rows], kind) for name, kind in POSITION_COLUMNS.items()})


def _night(prices: dict[str, np.ndarray], dates: list[dt.date], book: pa.Table, ledger: list | None = None, actions: dict | None = None) -> PreparedNight:
    return prepare_night(
        _table(prices, dates), "market.csv", book, "positions.csv", dates[-1], DataQualityPolicy(), "USD", ledger=ledger or [], corporate_actions=actions
    )


def _var_99(night: PreparedNight) -> float:
    book = build_book(night.positions, night.market, PARAMETERS)
    return risk_figures(portfolio_pnl(book, night.market, PARAMETERS, risk_model(night.market, PARAMETERS)).sum(axis=0))["var_99"]


def test_the_night_after_an_x100_tick_the_firm_var_is_the_clean_figure() -> None:
    """Night t: the vendor's last price is x100 (held). Night t+1: the vendor's history still holds
    it and tonight's price is genuine. Before: VaR 99 % 8.3 times the clean figure (tonight's price
    held at the day before's close, both spike returns in the covariance). After: the spike is
    cleaned, recorded once, and VaR is the clean figure within 0.5 %."""
    prices = _prices()
    dates = business_days(MONDAY, DAYS)
    book = _book(prices)
    clean = _var_99(_night(prices, dates, book))
    fat = {**prices, "EQ_3": prices["EQ_3"].copy()}
    fat["EQ_3"][-2] *= 100.0
    night_t = _night({name: series[:-1] for name, series in fat.items()}, dates[:-1], book)
    assert [held.factor for held in night_t.held] == ["EQ_3"]  # night t: contradicted by its size, held
    night_t1 = _night(fat, dates, book, night_t.cleanings)
    figure = _var_99(night_t1)
    assert figure == pytest.approx(clean, rel=0.005), f"VaR 99 % {figure:,.0f} against {clean:,.0f} clean ({figure / clean:.2f} times)"
    assert night_t1.market.spot[night_t1.market.index["EQ_3"]] == prices["EQ_3"][-1] and not night_t1.held
    (cleaning,) = night_t1.cleanings
    assert (cleaning.factor, cleaning.date, cleaning.rule, cleaning.made_on) == ("EQ_3", dates[-2].isoformat(), "spike_and_revert", dates[-1].isoformat())
    assert cleaning.raw == pytest.approx(fat["EQ_3"][-2]) and cleaning.cleaned == pytest.approx(np.sqrt(prices["EQ_3"][-3] * prices["EQ_3"][-1]))
    assert night_t1.summary()["cleanings"][0]["rule"] == "spike_and_revert"
    # the backtest's moves come from the cleaned file too: the x100 is in no move
    whole = night_t1.whole_market
    assert whole is not None and whole.prices[-2, whole.index["EQ_3"]] == pytest.approx(cleaning.cleaned)


def test_a_tick_on_the_windows_first_day_is_cleaned_as_recorded_not_rediscovered() -> None:
    """A year later the spike is the window's first price: the rule no longer sees it (no day before
    it), so without the kept record its reversal would be a jump in the covariance. The ledger
    applies the correction made when it was seen, unchanged; once the day leaves the window the
    record drops out, and a record of a tick the vendor corrected is not applied."""
    prices = _prices(DAYS + 1)
    dates = business_days(MONDAY, DAYS + 1)
    book = _book(prices)
    fat = {**prices, "EQ_3": prices["EQ_3"].copy()}
    fat["EQ_3"][1] *= 100.0
    seen = _night({name: series[:DAYS] for name, series in fat.items()}, dates[:DAYS], book)
    (record,) = seen.cleanings
    later_prices, later_dates = {name: series[1:] for name, series in fat.items()}, dates[1:]  # the spike is now the first day
    clean = _var_99(_night({name: series[1:] for name, series in prices.items()}, later_dates, book))
    forgotten = _night(later_prices, later_dates, book)
    assert forgotten.cleanings == [] and _var_99(forgotten) > 3 * clean  # the rule alone cannot see it any more
    kept = _night(later_prices, later_dates, book, seen.cleanings)
    assert kept.cleanings == [record]  # the same record, made once, on the night that saw it
    assert kept.market.prices[0, kept.market.index["EQ_3"]] == record.cleaned and _var_99(kept) == pytest.approx(clean, rel=0.05)
    corrected = _night({name: series[1:] for name, series in prices.items()}, later_dates, book, seen.cleanings)
    assert corrected.cleanings == []  # the vendor corrected its tick: the record is not applied and drops out


@pytest.mark.parametrize("ratio", [2.0, 3.0, 0.1])
def test_an_unadjusted_split_anywhere_in_the_window_is_back_adjusted_and_recorded(ratio: float) -> None:
    prices = _prices()
    dates = business_days(MONDAY, DAYS)
    raw = {**prices, "EQ_5": prices["EQ_5"].copy()}
    raw["EQ_5"][150:] /= ratio  # from day 150 on the vendor quotes the new shares
    book = _book(raw)
    night = _night(raw, dates, book, actions={"EQ_5": {dates[150].isoformat(): ratio}})  # the corporate action confirms it
    (cleaning,) = night.cleanings
    assert cleaning.confirmed_by == "corporate_actions"
    assert (cleaning.factor, cleaning.date, cleaning.rule, cleaning.ratio) == ("EQ_5", dates[150].isoformat(), "split", ratio)
    assert cleaning.raw == pytest.approx(prices["EQ_5"][149]) and cleaning.cleaned == pytest.approx(prices["EQ_5"][149] / ratio)
    adjusted = night.market.prices[:, night.market.index["EQ_5"]]
    assert np.allclose(adjusted, prices["EQ_5"] / ratio, rtol=1e-12)  # the history in today's units: its returns the true ones
    assert not [f for f in night.findings if f.check == "jump"]


def test_a_market_wide_crash_and_its_rebound_are_the_market_not_a_bad_tick() -> None:
    prices = _prices()
    dates = business_days(MONDAY, DAYS)
    crash = {name: series.copy() for name, series in prices.items()}
    for series in crash.values():
        series[200] *= 0.88  # every factor falls 12 % on day 200 and gets it back the next day
    night = _night(crash, dates, _book(crash))
    assert night.cleanings == []
    assert np.array_equal(night.market.prices[200], np.array([crash[name][200] for name in night.market.factors]))


def test_ingestion_keeps_the_ledger_from_night_to_night(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cleaning made on night t+1 is in its manifest; night t+2 carries that record (made on
    t+1), it does not make it again."""
    from riskbatch.jobs.ingestion import ingest
    from test.jobs.stack_layout import mocked_night

    prices = _prices(DAYS + 1)
    dates = business_days(MONDAY, DAYS + 1)
    fat = {**prices, "EQ_3": prices["EQ_3"].copy()}
    fat["EQ_3"][-3] *= 100.0
    book = _book(prices)
    with mocked_night(tmp_path, monkeypatch, 2000, 500) as night:
        manifests = []
        for last in (DAYS, DAYS + 1):  # nights t+1 and t+2
            folder = tmp_path / str(last)
            folder.mkdir()
            pa_csv.write_csv(_table({name: series[last - DAYS : last] for name, series in fat.items()}, dates[last - DAYS : last]), folder / "market.csv")
            pa_csv.write_csv(book, folder / "positions.csv")
            write_rates(folder, dates[last - 1])  # a required input of the night (riskbatch.inputs.rates)
            keys = night.upload(folder, str(dates[last - 1]), ("rates.csv", "positions.csv", "market.csv"))
            run = ingest(night.settings.input_bucket, keys[-1], night.settings, night.s3, night.sqs, night.sns).run_id
            manifest_object = night.s3.get_object(Bucket=night.settings.output_bucket, Key=f"runs/{run}/manifest.json")
            manifests.append(json.loads(manifest_object["Body"].read()))
    first, second = (manifest["data_quality"]["cleanings"] for manifest in manifests)
    assert len(first) == 1 and first[0]["made_on"] == str(dates[DAYS - 1]) and first[0]["date"] == str(dates[DAYS - 2])
    assert second == first  # carried as recorded, made once
    assert manifests[1]["model_config"]["version"] == manifests[1]["model_config"]["version"] and "cleaning_policy" in manifests[1]


def test_a_second_source_holds_a_plausible_jump_it_contradicts_and_confirms_an_implausible_one() -> None:
    prices = _prices()
    dates = business_days(MONDAY, DAYS)
    moved = {**prices, "EQ_3": prices["EQ_3"].copy(), "EQ_4": prices["EQ_4"].copy()}
    moved["EQ_3"][-1] = prices["EQ_3"][-2] * 0.88  # a plausible fall of 12 %
    moved["EQ_4"][-1] = prices["EQ_4"][-2] * 4.0  # a takeover at four times the price: beyond the implausible ratio
    book = _book(moved)
    alone = _night(moved, dates, book)
    assert [held.factor for held in alone.held] == ["EQ_4"]  # without a second source: the plausible one used, the x4 held
    second = {"EQ_3": float(prices["EQ_3"][-2]), "EQ_4": float(moved["EQ_4"][-1])}
    both = prepare_night(_table(moved, dates), "m", book, "p", dates[-1], DataQualityPolicy(), "USD", second_source=second)
    assert [held.factor for held in both.held] == ["EQ_3"] and both.market.spot[both.market.index["EQ_4"]] == moved["EQ_4"][-1]
    (finding,) = [f for f in both.findings if f.check == "last_day_jump" and f.factor == "EQ_3"]
    assert "contradicted: a second source has" in finding.detail


def test_ingestion_reads_the_second_source_beside_the_nights_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from riskbatch.jobs.ingestion import ingest
    from test.jobs.stack_layout import mocked_night

    prices = _prices()
    dates = business_days(MONDAY, DAYS)
    moved = {**prices, "EQ_3": prices["EQ_3"].copy()}
    moved["EQ_3"][-1] = prices["EQ_3"][-2] * 0.88
    with mocked_night(tmp_path, monkeypatch, 2000, 500) as night:
        pa_csv.write_csv(_table(moved, dates), tmp_path / "market.csv")
        pa_csv.write_csv(_book(moved), tmp_path / "positions.csv")
        (tmp_path / "second_source.csv").write_text(f"factor,price\nEQ_3,{float(prices['EQ_3'][-2])!r}\n")
        write_rates(tmp_path, dates[-1])
        keys = night.upload(tmp_path, str(dates[-1]), ("rates.csv", "positions.csv", "second_source.csv", "market.csv"))
        run = ingest(night.settings.input_bucket, keys[-1], night.settings, night.s3, night.sqs, night.sns).run_id
        manifest = json.loads(night.s3.get_object(Bucket=night.settings.output_bucket, Key=f"runs/{run}/manifest.json")["Body"].read())
    assert [held["factor"] for held in manifest["data_quality"]["held_last_prices"]] == ["EQ_3"]
    assert manifest["second_source"]["uri"].endswith("second_source.csv")


def test_the_cleaning_thresholds_are_versioned_configuration(tmp_path: Path) -> None:
    from riskbatch.inputs.cleaning import CleaningPolicy
    from riskbatch.model.settings import MODEL_CONFIG, ConfigurationError, cleaning_policy, load_model_config

    config = load_model_config()
    assert cleaning_policy(config) == CleaningPolicy(**json.loads(MODEL_CONFIG.read_text())["cleaning"]) and config.version == "2026.12-10"
    broken = json.loads(MODEL_CONFIG.read_text())
    broken["cleaning"]["implausible_ratio"] = 0.5  # a ratio is above 1: its inverse bounds a fall
    (tmp_path / "model_config.json").write_text(json.dumps(broken))
    with pytest.raises(ConfigurationError, match="malformed"):
        load_model_config(tmp_path / "model_config.json")


def test_a_configuration_that_still_lists_split_ratios_is_refused(tmp_path: Path) -> None:
    """`split_ratios` gated nothing (a split is applied on its record, whatever its ratio; no other rule read it) and
    is gone from the standard. Before: an approved configuration listing it loaded, a threshold nothing applies.
    After: refused, naming the field, not silently ignored: a validator reading it would take it for a rule."""
    from riskbatch.model.settings import MODEL_CONFIG, ConfigurationError, load_model_config

    old = json.loads(MODEL_CONFIG.read_text())
    old["cleaning"]["split_ratios"] = [2.0, 3.0, 4.0, 5.0, 10.0]
    (tmp_path / "model_config.json").write_text(json.dumps(old))
    with pytest.raises(ConfigurationError, match="cleaning names split_ratios, which no cleaning rule reads: take it out"):
        load_model_config(tmp_path / "model_config.json")


@pytest.mark.parametrize("move", [0.495, 1 / 3, 0.25, 0.2, 0.1, 2.0])
def test_a_single_name_crash_that_stays_down_is_used_not_cleaned_as_a_split(move: float) -> None:
    """A name falls 50.5 % (or 67, 75, 80, 90 %, or doubles) and stays there, nothing confirms a
    split. Before: recorded as a split, the prices before it rescaled, the crash gone from the
    covariance (firm VaR 99 % -41 % at -50.5 %). After: flagged as a jump and used, history as published."""
    prices = _prices()
    dates = business_days(MONDAY, DAYS)
    crashed = {**prices, "EQ_0": prices["EQ_0"].copy()}
    crash = DAYS - 3
    crashed["EQ_0"][crash:] *= move * prices["EQ_0"][crash - 1] / prices["EQ_0"][crash]
    night = _night(crashed, dates, _book(crashed))
    assert night.cleanings == []
    assert np.array_equal(night.market.prices[:, night.market.index["EQ_0"]], crashed["EQ_0"])
    assert [f.factor for f in night.findings if f.check == "jump"] == ["EQ_0"]
    confirmed = _night(crashed, dates, _book(crashed), actions={"EQ_0": {dates[crash].isoformat(): 1 / move}})
    ledger = [{**asdict(c), "confirmed_by": None} for c in confirmed.cleanings]  # a split recorded, unconfirmed, by the old standard
    assert ledger and _night(crashed, dates, _book(crashed), ledger).cleanings == []  # an unconfirmed recorded split is never re-applied


def test_a_split_ratio_on_the_last_day_is_used_and_an_fx_factor_never_splits() -> None:
    prices = _prices()
    dates = business_days(MONDAY, DAYS)
    halved = {**prices, "EQ_2": prices["EQ_2"].copy()}
    halved["EQ_2"][-1] = prices["EQ_2"][-2] * 0.5
    night = _night(halved, dates, _book(halved))
    assert not night.held and night.market.spot[night.market.index["EQ_2"]] == halved["EQ_2"][-1]
    rates = np.exp(np.cumsum(np.random.default_rng(5).normal(0.0, 0.005, DAYS)))
    rates[200:] *= 0.5 * rates[199] / rates[200]
    column = rates.copy()
    market = Market(dates[-1], dates, ["FX_EURUSD"], column[:, None])
    cleaned, found = clean_history(market, column[:, None], ["FX_EURUSD"], CleaningPolicy(), corporate_actions={"FX_EURUSD": {dates[200].isoformat(): 2.0}})
    assert found == [] and np.array_equal(cleaned[:, 0], rates)


def _split_night(
    ratio: float, same_day_move: float = 1.0, recorded: float | None = None, vol: float = 0.01
) -> tuple[PreparedNight, PreparedNight, dict[str, np.ndarray]]:
    """The night of a history holding an unadjusted split on day 150 (the vendor's day-150 price also moved by
    `same_day_move`; EQ_5 moving `vol` a day) with a record of it; the night of that history adjusted by hand; the true prices."""
    prices = _prices()
    dates = business_days(MONDAY, DAYS)
    true = {**prices, "EQ_5": 50.0 * np.exp(np.log(prices["EQ_5"] / 50.0) * vol / 0.01)}  # _prices' returns scaled to `vol` a day
    true["EQ_5"][150:] *= same_day_move  # the stock's own move on the split day
    raw = {**true, "EQ_5": true["EQ_5"].copy()}
    raw["EQ_5"][150:] /= ratio
    adjusted = {**true, "EQ_5": true["EQ_5"] / ratio}
    night = _night(raw, dates, _book(raw), actions={"EQ_5": {dates[150].isoformat(): recorded or ratio}})
    return night, _night(adjusted, dates, _book(adjusted)), adjusted


@pytest.mark.parametrize("move", [0.97, 1.025])
def test_a_recorded_split_is_cleaned_when_the_stock_also_moved_that_day(move: float) -> None:
    night, clean, adjusted = _split_night(2.0, move)
    assert [(c.rule, c.ratio) for c in night.cleanings] == [("split", 2.0)]
    assert np.allclose(night.market.prices[:, night.market.index["EQ_5"]], adjusted["EQ_5"], rtol=1e-12)
    assert _var_99(night) == pytest.approx(_var_99(clean), rel=1e-9)


@pytest.mark.parametrize("ratio", [1.5, 7.0, 20.0, 0.125, 0.05])
def test_a_recorded_split_of_any_ratio_is_cleaned(ratio: float) -> None:
    night, clean, _ = _split_night(ratio)
    assert [(c.rule, c.ratio) for c in night.cleanings] == [("split", ratio)]
    assert _var_99(night) == pytest.approx(_var_99(clean), rel=1e-9)


def test_a_one_for_three_typed_to_six_digits_is_cleaned() -> None:
    night, clean, _ = _split_night(1 / 3, recorded=0.333333)
    assert [(c.rule, c.ratio) for c in night.cleanings] == [("split", 0.333333)]
    assert _var_99(night) == pytest.approx(_var_99(clean), rel=1e-3)  # the record's ratio, 1e-6 from the vendor's


@pytest.mark.parametrize(("ratio", "vol"), [(1.25, 0.025), (1.1, 0.02)])
def test_a_record_on_a_history_the_vendor_already_adjusted_is_not_applied_twice(ratio: float, vol: float) -> None:
    """The vendor adjusted its history itself; the record of the split is still in the night's corporate actions.
    Before: a small ratio divided out of a volatile stock's quiet day is no jump, so the record was applied again,
    a fake move of the ratio in the history (firm VaR 99 % +5.5 % at 1.25 on a 2.5 %/day stock, +1.6 % at 1.1). After:
    the day did not move by the ratio, so the record is not applied and is reported as already adjusted."""
    night, clean, adjusted = _split_night(1.0, vol=vol, recorded=ratio)  # the history holds no split: adjusted by the vendor
    assert night.cleanings == []
    assert np.array_equal(night.market.prices[:, night.market.index["EQ_5"]], adjusted["EQ_5"])
    (finding,) = [f for f in night.findings if f.check == "corporate_action"]
    assert finding.factor == "EQ_5" and "the price did not move by the ratio (already adjusted by the vendor?)" in finding.detail
    assert _var_99(night) == pytest.approx(_var_99(clean), rel=1e-9)


@pytest.mark.parametrize(("move", "vol"), [(1.08, 0.006), (1.25, 0.02)])
def test_a_recorded_reverse_split_is_cleaned_when_a_quiet_stock_also_jumped_that_day(move: float, vol: float) -> None:
    """A 1:10 reverse split on a day the stock also made a genuine jump (+8 % on a 0.6 %/day stock, +25 % on a
    2 %/day one). Before: the move with the ratio divided out was still a jump, so the record was not applied and
    the x10 price stayed in the history (firm VaR 99 % 4.1 and 3.5 times the clean figure). After: the record explains
    most of the move, so the split is applied and the residual is the day's return, flagged as a jump like any."""
    night, clean, adjusted = _split_night(0.1, move, vol=vol)
    assert [(c.rule, c.ratio) for c in night.cleanings] == [("split", 0.1)]
    assert np.allclose(night.market.prices[:, night.market.index["EQ_5"]], adjusted["EQ_5"], rtol=1e-12)
    jumps = [(f.factor, f.detail) for f in night.findings if f.check == "jump"]
    assert ("EQ_5" in [factor for factor, _ in jumps]) and jumps == [(f.factor, f.detail) for f in clean.findings if f.check == "jump"]
    assert _var_99(night) == pytest.approx(_var_99(clean), rel=1e-9)


@pytest.mark.parametrize(
    ("true_ratio", "recorded"),
    [
        (1 / 0.2, 2.0),  # a -80 % crash recorded as a 2:1 split: further than the split from either
        (1 / 1.6, 2.0),  # a +60 % jump recorded as a 2:1 split: the wrong way
        (0.1, 10.0),  # a 1:10 reverse split typed as 10: the price went up ten times, the record says down
    ],
)
def test_a_record_whose_ratio_the_move_contradicts_is_not_applied(true_ratio: float, recorded: float) -> None:
    night, _, _ = _split_night(true_ratio, recorded=recorded)
    assert night.cleanings == []
    (finding,) = [f for f in night.findings if f.check == "corporate_action"]
    assert "the move contradicts the ratio" in finding.detail


def test_a_tick_found_before_a_recorded_split_is_kept_once_the_ledger_applies_in_the_order_made() -> None:
    """A split recorded on night t; on night t+1 the vendor's history holds a tick before the split day,
    cleaned in the split's units. The ledger applies them in the order they were made (the split first),
    so on night t+2, the tick the window's first day, the record still matches and is applied."""
    prices, dates = _prices(DAYS + 2), business_days(MONDAY, DAYS + 2)
    raw = {**prices, "EQ_5": prices["EQ_5"].copy()}
    raw["EQ_5"][150:] /= 2.0
    ticked = {**raw, "EQ_5": raw["EQ_5"].copy()}
    ticked["EQ_5"][2] *= 100.0

    def window(source: dict[str, np.ndarray], start: int) -> tuple[dict[str, np.ndarray], list[dt.date]]:
        return {name: series[start : start + DAYS] for name, series in source.items()}, dates[start : start + DAYS]

    first = _night(*window(raw, 0), _book(raw), actions={"EQ_5": {dates[150].isoformat(): 2.0}})
    second = _night(*window(ticked, 1), _book(raw), ledger=first.cleanings)
    spike = [c for c in second.cleanings if c.rule == "spike_and_revert"]
    assert [c.date for c in spike] == [dates[2].isoformat()]
    third = _night(*window(ticked, 2), _book(raw), ledger=second.cleanings)
    assert third.cleanings == second.cleanings  # found once, kept: nothing rediscovered, nothing dropped
    adjusted = {**prices, "EQ_5": prices["EQ_5"] / 2.0}
    assert _var_99(third) == pytest.approx(_var_99(_night(*window(adjusted, 2), _book(adjusted))), rel=0.05)


@pytest.mark.parametrize(
    ("factor", "day", "ratio", "reason"),
    [
        ("EQ_5", 149, 2.0, "did not move by the ratio"),  # the record a day early
        ("EQ_5", 150, 10.0, "did not move by the ratio"),  # a ratio the day's -50 % is nearer no split than
        ("EQ_5", 150, 1.5, "contradicts the ratio"),  # a ratio the day's -50 % is further than its -33 % and than no move
        ("EQ_6", 150, 2.0, "did not move by the ratio"),  # no move that day: the history does not show it
        ("EQ_5", "2030-01-02", 2.0, "after tonight"),
        ("EQ_5", "2000-01-03", 2.0, "window's first day"),
        ("EQ_99", 150, 2.0, "no factor EQ_99"),
    ],
)
def test_a_record_that_matches_no_move_is_not_applied_and_reported(factor: str, day: int | str, ratio: float, reason: str) -> None:
    prices, dates = _prices(), business_days(MONDAY, DAYS)
    raw = {**prices, "EQ_5": prices["EQ_5"] / np.where(np.arange(DAYS) >= 150, 2.0, 1.0)}
    effective = dates[day].isoformat() if isinstance(day, int) else day
    night = _night(raw, dates, _book(raw), actions={factor: {effective: ratio}})
    assert night.cleanings == []
    (finding,) = [f for f in night.findings if f.check == "corporate_action"]
    assert (finding.factor, finding.action) == (factor, "flag") and effective in finding.detail and reason in finding.detail


def test_the_cleaning_and_jump_texts_give_the_simple_move_not_the_log_return() -> None:
    night, _, _ = _split_night(2.0)
    prices, dates = _prices(), business_days(MONDAY, DAYS)
    simple = prices["EQ_5"][150] / 2.0 / prices["EQ_5"][149] - 1.0  # about -50 %, where the log return is about -69 %
    (cleaning,) = night.cleanings
    assert cleaning.detail.startswith(f"a move of {simple:+.1%} on {dates[150]}")
    unrecorded = _night({**prices, "EQ_5": prices["EQ_5"] / np.where(np.arange(DAYS) >= 150, 2.0, 1.0)}, dates, _book(prices))
    (jump,) = [f for f in unrecorded.findings if f.check == "jump"]
    assert jump.detail.startswith(f"a move of {simple:+.1%} on {dates[150]}")


@pytest.mark.parametrize("vol", [0.07, 0.10])
def test_a_recorded_split_of_a_very_volatile_stock_is_applied(vol: float) -> None:
    """A 2:1 split (log move -0.69) recorded on a stock that moves 7 % or 10 % a day: the day is 7 to 10 robust
    standard deviations, no jump. Before: a confirmed split on a day that was no jump was not applied, and the
    unadjusted halving stayed in the history. After: the record divides out more than jump_sigmas / 2 robust
    standard deviations of the day's move, so it explains the move and is applied: the history is the adjusted one."""
    night, clean, adjusted = _split_night(2.0, vol=vol)
    assert [(c.rule, c.ratio) for c in night.cleanings] == [("split", 2.0)]
    assert np.allclose(night.market.prices[:, night.market.index["EQ_5"]], adjusted["EQ_5"], rtol=1e-12)
    assert _var_99(night) == pytest.approx(_var_99(clean), rel=1e-9)


def test_a_stock_dividend_on_an_ordinary_day_of_a_two_percent_stock_is_not_applied() -> None:
    """A 5 % stock dividend (1.05) recorded on a history the vendor already adjusted, on a day the 2 %/day stock fell
    about 3 %: the move is nearer the record's -4.8 % than no move, but dividing the record out moves the day by about
    one robust standard deviation, far from the jump_sigmas / 2 a split must explain. Not applied, reported."""
    night, clean, adjusted = _split_night(1.0, 0.97, recorded=1.05, vol=0.02)
    assert night.cleanings == []
    assert np.array_equal(night.market.prices[:, night.market.index["EQ_5"]], adjusted["EQ_5"])
    (finding,) = [f for f in night.findings if f.check == "corporate_action"]
    assert finding.factor == "EQ_5" and "is not applied: the record divides out only " in finding.detail  # the move is nearer the record than no split
    assert "a split must explain more than 5" in finding.detail
    assert _var_99(night) == pytest.approx(_var_99(clean), rel=1e-9)

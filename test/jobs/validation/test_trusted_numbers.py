"""Numbers a desk can trust night after night: the backtest sees every loss of yesterday's book,
a bad last price never reaches the headline, excluded notional is in one currency and never a
silent zero, a local holiday does not drop a factor, nothing is assumed silently, and business
days come from the exchange calendar.

Each test here fails on the batch before these rules (the backtest revalued yesterday's book in
tonight's used factors only, a last-day jump was only flagged, notional was summed across
currencies with None as 0, one missing row excluded a factor, a missing currency column meant
the reporting currency, and business days were weekdays).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest

from riskbatch.aws.layout import report_keys
from riskbatch.inputs.files import POSITION_COLUMNS, InputError, Market, load_market
from riskbatch.inputs.quality import DataQualityPolicy, FileRejected, prepare_night
from riskbatch.inputs.sample import business_days, write_rates
from riskbatch.model.engine import build_book, risk_model
from riskbatch.model.risk_model import ModelParameters, black_scholes
from riskbatch.model.run_inputs import RunBook
from test.jobs.stack_layout import Night, mocked_night

MONDAY = dt.date(2026, 11, 16)  # the week before Thanksgiving: Tuesday is the next business day
DAYS = 301


def _prices(vols: dict[str, float], spots: dict[str, float], days: int = DAYS, seed: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: spots[name] * np.exp(np.cumsum(rng.normal(0.0, vol, days))) for name, vol in vols.items()}


def _market_table(
    prices: dict[str, np.ndarray], dates: list[dt.date], currencies: dict[str, str | None], dividends: dict[str, float] | None = None
) -> pa.Table:
    rows = [(day, name, float(series[i])) for name, series in prices.items() for i, day in enumerate(dates) if np.isfinite(series[i])]
    return pa.table(
        {
            "date": pa.array([r[0] for r in rows], pa.date32()),
            "factor": pa.array([r[1] for r in rows], pa.string()),
            "price": pa.array([r[2] for r in rows], pa.float64()),
            "currency": pa.array([currencies.get(r[1]) for r in rows], pa.string()),
            "dividend_yield": pa.array([(dividends or {}).get(r[1], 0.0) for r in rows], pa.float64()),
        }
    )


def _positions(rows: list[dict]) -> pa.Table:
    return pa.table({name: pa.array([row.get(name) for row in rows], kind) for name, kind in POSITION_COLUMNS.items()})


def _equity(position: str, underlying: str, quantity: float, portfolio: str = "A") -> dict:
    return {"portfolio_id": portfolio, "position_id": position, "instrument_type": "equity", "underlying": underlying, "quantity": quantity}


# --- 1. the backtest revalues yesterday's whole book ---------------------------------------------


@pytest.fixture
def night(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with mocked_night(tmp_path, monkeypatch, 2000, 500) as night:
        yield night


def _run(night: Night, folder: Path, date: str, market: pa.Table, positions: pa.Table) -> dict:
    """One night through ingestion, the workers and the report; its history record."""
    from riskbatch.jobs.ingestion import ingest
    from riskbatch.jobs.report_generation import ReportGeneration
    from riskbatch.jobs.risk_calculation import RiskCalculation
    from test.jobs.jobs.test_pipeline import drain

    folder.mkdir(parents=True, exist_ok=True)
    pa_csv.write_csv(market, folder / "market.csv")
    pa_csv.write_csv(positions, folder / "positions.csv")
    write_rates(folder, dt.date.fromisoformat(date))  # the night's rates: a required input
    keys = night.upload(folder, date, ("positions.csv", "market.csv"))
    run = ingest(night.settings.input_bucket, keys[1], night.settings, night.s3, night.sqs, night.sns).run_id
    drain(night, night.settings.risk_work_queue_url, RiskCalculation(night.s3, night.events, night.settings.event_bus_name))
    for message in night.messages(night.settings.report_queue_url):
        night.sqs.send_message(QueueUrl=night.settings.report_queue_url, MessageBody=json.dumps(message))
    drain(night, night.settings.report_queue_url, ReportGeneration(night.s3, night.sns, night.settings.alert_topic_arn))
    record = json.loads(night.s3.get_object(Bucket=night.settings.output_bucket, Key=f"history/{date}.json")["Body"].read())
    figures = json.loads(night.s3.get_object(Bucket=night.settings.output_bucket, Key=report_keys(date, run)[1])["Body"].read())
    return {"record": record, "figures": figures}


def _two_nights(fall: float, vol: float = 0.02) -> tuple[list[dt.date], dict[str, np.ndarray]]:
    """Two business days of a history of two stocks; DROP moves by `fall` on the second."""
    dates = business_days(MONDAY + dt.timedelta(days=1), DAYS + 1)
    prices = _prices({"DROP": vol, "KEEP": 0.01}, {"DROP": 100.0, "KEEP": 50.0}, DAYS + 1)
    prices["DROP"][-1] = prices["DROP"][-2] * (1.0 + fall)
    return dates, prices


def test_a_stock_that_fell_and_was_sold_today_is_still_a_loss_of_yesterdays_book(night: Night, tmp_path: Path) -> None:
    dates, prices = _two_nights(-0.15)  # seven or so standard deviations: a real move, not a suspect one
    usd = {"DROP": "USD", "KEEP": "USD"}
    yesterday_book = _positions([_equity("P-DROP", "DROP", 1_000.0), _equity("P-KEEP", "KEEP", 20.0)])
    first = _run(night, tmp_path / "1", str(dates[-2]), _market_table({k: v[:-1] for k, v in prices.items()}, dates[:-1], usd), yesterday_book)
    sold = _positions([_equity("P-KEEP", "KEEP", 20.0)])  # DROP sold today: tonight's book does not use it
    second = _run(night, tmp_path / "2", str(dates[-1]), _market_table(prices, dates, usd), sold)
    entry = second["record"]["backtest"]
    expected = 1_000.0 * (prices["DROP"][-1] - prices["DROP"][-2]) + 20.0 * (prices["KEEP"][-1] - prices["KEEP"][-2])
    var = first["record"]["var"]["firm"]["var_99"]  # a one-day horizon: the VaR the backtest tests
    assert entry["hypothetical_pnl"]["firm"] == pytest.approx(expected, rel=1e-9) and entry["complete"]
    assert first["record"]["var_1d"] == first["record"]["var"]
    assert -expected > var and entry["exceptions"]["firm"] is True  # a loss of about 17,000 against a VaR of about 5,500
    assert first["record"]["factors"] == {"DROP": pytest.approx(prices["DROP"][-2]), "KEEP": pytest.approx(prices["KEEP"][-2])}


def test_a_factor_without_a_move_tonight_makes_the_backtest_day_incomplete_never_a_zero(night: Night, tmp_path: Path) -> None:
    dates, prices = _two_nights(-0.30)
    usd = {"DROP": "USD", "KEEP": "USD"}
    yesterday_book = _positions([_equity("P-DROP", "DROP", 1_000.0), _equity("P-KEEP", "KEEP", 20.0)])
    _run(night, tmp_path / "1", str(dates[-2]), _market_table({k: v[:-1] for k, v in prices.items()}, dates[:-1], usd), yesterday_book)
    without = {"KEEP": prices["KEEP"]}  # tonight's file no longer carries DROP at all
    second = _run(night, tmp_path / "2", str(dates[-1]), _market_table(without, dates, usd), _positions([_equity("P-KEEP", "KEEP", 20.0)]))
    entry = second["record"]["backtest"]
    assert entry["hypothetical_pnl"] is None and entry["exceptions"] is None and entry["complete"] is False
    assert entry["incomplete"]["factors"] == ["DROP"] and entry["incomplete"]["positions"] == ["P-DROP"]
    assert entry["incomplete"]["notional"] == pytest.approx(1_000.0 * prices["DROP"][-2])
    backtest = second["figures"]["backtest"]
    # every day counts: without a sign-off the incomplete day is an exception (riskbatch.validation.backtest_summary)
    assert backtest["firm"]["observations"] == 1 and backtest["firm"]["exceptions"] == 1
    assert backtest["incomplete"]["days"] == 1 and backtest["incomplete"]["dates"] == [str(dates[-2])]
    from riskbatch.reporting.page_one import warning_lines

    assert any("is incomplete (an exception until signed off)" in line and "1 position," in line for line in warning_lines(second["figures"]))


def test_a_suspect_last_price_of_a_factor_sold_today_gives_no_move(night: Night, tmp_path: Path) -> None:
    """A price divided by 100 (a unit error) in a stock moving 1 % a day is contradicted by its size:
    tonight's price is not trusted, so the move of yesterday's book is unknown: an incomplete day,
    saying why. (A plausible jump is used: test_backtest_governance.)"""
    dates, prices = _two_nights(-0.99, vol=0.01)
    usd = {"DROP": "USD", "KEEP": "USD"}
    yesterday_book = _positions([_equity("P-DROP", "DROP", 1_000.0), _equity("P-KEEP", "KEEP", 20.0)])
    _run(night, tmp_path / "1", str(dates[-2]), _market_table({k: v[:-1] for k, v in prices.items()}, dates[:-1], usd), yesterday_book)
    second = _run(night, tmp_path / "2", str(dates[-1]), _market_table(prices, dates, usd), _positions([_equity("P-KEEP", "KEEP", 20.0)]))
    entry = second["record"]["backtest"]
    assert entry["complete"] is False and entry["incomplete"]["positions"] == ["P-DROP"]
    assert entry["incomplete"]["reasons"] == ["a suspect last price tonight (the last-day check held or excluded it) for 1 factor(s): DROP"]


# --- 3. the backtest is one day, whatever the horizon --------------------------------------------


def _run_book(market: Market, positions: pa.Table, parameters: ModelParameters) -> RunBook:
    return RunBook(parameters, market, positions, build_book(positions, market, parameters), risk_model(market, parameters))


def test_a_ten_day_night_is_backtested_with_its_one_day_var_and_one_day_of_time_decay() -> None:
    from riskbatch.model.engine import portfolio_pnl
    from riskbatch.model.risk_model import risk_figures
    from riskbatch.validation.history import backtest_entry

    dates = business_days(MONDAY + dt.timedelta(days=1), DAYS + 1)  # to Tuesday: Monday -> Tuesday is one calendar day
    prices = _prices({"SPX": 0.01}, {"SPX": 100.0}, DAYS + 1)
    prices["SPX"][-1] = prices["SPX"][-2] * 0.97  # a loss above the one-day VaR, below the ten-day one
    yesterday = Market(dates[-2], dates[:-1], ["SPX"], prices["SPX"][:-1, None], currencies=("USD",))
    today = Market(dates[-1], dates[1:], ["SPX"], prices["SPX"][1:, None], currencies=("USD",))
    option = {"portfolio_id": "A", "position_id": "O", "instrument_type": "option", "underlying": "SPX", "quantity": 100.0, "strike": 100.0,
              "expiry": dates[-2] + dt.timedelta(days=365), "option_type": "call", "implied_vol": 0.2}  # fmt: skip
    parameters = ModelParameters(scenarios=2_000, horizon_days=10)
    previous = _run_book(yesterday, _positions([option]), parameters)

    def kept(horizon: int) -> dict:
        figures = risk_figures(portfolio_pnl(previous.book, yesterday, ModelParameters(scenarios=2_000, horizon_days=horizon), previous.model)[0])
        values = {key: figures[key] for key in ("var_95", "var_99", "es_975")}
        return {"firm": values, "portfolios": {"A": values}}

    record = {"business_date": str(dates[-2]), "horizon_days": 10, "var": kept(10), "var_1d": kept(1)}
    entry = backtest_entry(record, previous, today)
    spot0, spot1, rate = prices["SPX"][-2], prices["SPX"][-1], parameters.rate
    one_day = 100.0 * (black_scholes(spot1, 100.0, 364 / 365, 0.2, rate, True) - black_scholes(spot0, 100.0, 365 / 365, 0.2, rate, True))
    assert entry["hypothetical_pnl"]["firm"] == pytest.approx(float(one_day), rel=1e-9)  # one day of theta, not fourteen
    # a loss between the one-day and the ten-day VaR is an exception of the one-day VaR
    loss = -entry["hypothetical_pnl"]["firm"]
    assert record["var_1d"]["firm"]["var_99"] < loss < record["var"]["firm"]["var_99"] and entry["exceptions"]["firm"] is True
    assert backtest_entry({**record, "var_1d": None}, previous, today).get("complete") is False  # a ten-day VaR is never compared with a day


def test_the_one_day_var_of_a_linear_book_is_the_ten_day_one_over_root_ten() -> None:
    from riskbatch.model.engine import portfolio_pnl
    from riskbatch.model.risk_model import risk_figures
    from riskbatch.validation.history import one_day_figures

    dates = business_days(MONDAY, DAYS)
    prices = _prices({"SPX": 0.01, "NDX": 0.015}, {"SPX": 100.0, "NDX": 200.0}, DAYS)
    market = Market(MONDAY, dates, ["NDX", "SPX"], np.column_stack([prices["NDX"], prices["SPX"]]), currencies=("USD", "USD"))
    book = _positions([_equity("E1", "SPX", 100.0), _equity("E2", "NDX", -30.0)])
    parameters = ModelParameters(scenarios=20_000, horizon_days=10)
    run = _run_book(market, book, parameters)
    ten = risk_figures(portfolio_pnl(run.book, market, parameters, run.model).sum(axis=0))
    one, portfolios = one_day_figures(run)
    assert one["var_99"] == pytest.approx(ten["var_99"] / np.sqrt(10), rel=0.02)
    from riskbatch.validation.history import night_record

    with pytest.raises(ValueError, match="one-day VaR"):
        night_record(str(MONDAY), "r", "USD", ten, {"A": ten}, None, horizon_days=10)
    record = night_record(str(MONDAY), "r", "USD", ten, {"A": ten}, None, horizon_days=10, one_day=(one, portfolios))
    assert record["var_1d"]["firm"]["var_99"] == one["var_99"] and record["var"]["firm"]["var_99"] == ten["var_99"]


# --- 2. a bad last price is held, on the first page, alerted ------------------------------------


def _book_of_ten(prices: dict[str, np.ndarray]) -> pa.Table:
    return _positions([_equity(f"E{i}", name, 10_000.0 / prices[name][-1]) for i, name in enumerate(sorted(prices))])


def test_a_fat_finger_on_the_last_price_is_held_at_the_previous_close() -> None:
    names = [f"EQ_{i}" for i in range(10)]
    prices = _prices(dict.fromkeys(names, 0.01), dict.fromkeys(names, 50.0), DAYS)
    dates = business_days(MONDAY, DAYS)
    positions = _book_of_ten(prices)
    clean = prepare_night(_market_table(prices, dates, dict.fromkeys(names, "USD")), "m", positions, "p", MONDAY, DataQualityPolicy(), "USD")
    fat = {**prices, "EQ_3": prices["EQ_3"].copy()}
    fat["EQ_3"][-1] *= 100.0
    night = prepare_night(_market_table(fat, dates, dict.fromkeys(names, "USD")), "m", positions, "p", MONDAY, DataQualityPolicy(), "USD")
    assert np.array_equal(night.market.prices[:-1], clean.market.prices[:-1])
    assert night.market.spot[night.market.index["EQ_3"]] == prices["EQ_3"][-2]  # held at the previous close
    (held,) = night.held
    assert held.factor == "EQ_3" and held.published == pytest.approx(100 * prices["EQ_3"][-1]) and held.positions == 1
    assert held.value_effect == pytest.approx(10_000.0 / prices["EQ_3"][-1] * (100 * prices["EQ_3"][-1] - prices["EQ_3"][-2]))
    assert night.summary()["untrusted_last_day"] == ["EQ_3"] and night.summary()["held_last_prices"][0]["factor"] == "EQ_3"
    (finding,) = [f for f in night.findings if f.check == "last_day_jump"]
    assert finding.action == "hold" and "held at the previous close" in finding.detail
    excluded = prepare_night(
        _market_table(fat, dates, dict.fromkeys(names, "USD")), "m", positions, "p", MONDAY, DataQualityPolicy(last_day_jump="exclude"), "USD"
    )
    assert [row.position_id for row in excluded.excluded] == ["E3"] and "EQ_3" not in excluded.market.factors
    with pytest.raises(FileRejected, match="last_day_jump; policy reject"):
        prepare_night(_market_table(fat, dates, dict.fromkeys(names, "USD")), "m", positions, "p", MONDAY, DataQualityPolicy(last_day_jump="reject"), "USD")


def test_a_held_last_price_is_on_the_first_page_and_alerted_and_keeps_the_headline(night: Night, tmp_path: Path) -> None:
    names = [f"EQ_{i}" for i in range(10)]
    dates = business_days(MONDAY, DAYS)
    prices = _prices(dict.fromkeys(names, 0.01), dict.fromkeys(names, 50.0), DAYS)
    positions = _book_of_ten(prices)
    fat = {**prices, "EQ_3": prices["EQ_3"].copy()}
    fat["EQ_3"][-1] *= 100.0
    from riskbatch.model.offline import run_offline

    (tmp_path / "clean").mkdir()
    pa_csv.write_csv(_market_table(prices, dates, dict.fromkeys(names, "USD")), tmp_path / "clean" / "market.csv")
    pa_csv.write_csv(positions, tmp_path / "clean" / "positions.csv")
    clean = run_offline(tmp_path / "clean" / "positions.csv", tmp_path / "clean" / "market.csv", ModelParameters(scenarios=2_000, block_size=500), False)
    result = _run(night, tmp_path / "fat", str(MONDAY), _market_table(fat, dates, dict.fromkeys(names, "USD")), positions)
    figures = result["figures"]
    # the held factor revalues from its previous close: the book's value and VaR are of the same size as without the fat finger
    assert figures["firm"]["var_99"] < 1.5 * clean["firm"]["var_99"]
    from riskbatch.reporting.page_one import warning_lines

    first = warning_lines(figures)[0]
    assert first.startswith("Suspect last price of EQ_3 not used") and "held at the previous close" in first
    # one SNS Publish of a text message, well under the 256 KB a message may hold
    # (https://docs.aws.amazon.com/sdkfornet/v3/apidocs/items/SNS/MPublishRequestctorStringStringString.html)
    published = night.published()
    alerts = [message for message in published if isinstance(message, str) and "suspect last price" in message.lower()]
    assert alerts and "EQ_3: published" in alerts[0]
    (summary,) = [message for message in published if isinstance(message, dict) and message.get("run_id")]
    assert summary["held_last_prices"][0]["factor"] == "EQ_3"


# --- 4. excluded notional in the reporting currency, unknown counted apart ----------------------


def test_excluded_notional_is_in_the_reporting_currency_and_an_unknown_one_is_counted() -> None:
    dates = business_days(MONDAY, DAYS)
    prices = _prices({"FX_USDJPY": 0.005, "TOYOTA": 0.01, "AAPL": 0.01, "GONE": 0.01}, {"FX_USDJPY": 150.0, "TOYOTA": 3_000.0, "AAPL": 150.0, "GONE": 20.0})
    prices["GONE"][-4:] = np.nan  # no price for longer than the gap carried forward: no last price tonight
    table = _market_table(prices, dates, {"TOYOTA": "JPY", "AAPL": "USD", "GONE": "USD"})
    twice = [
        {"portfolio_id": "A", "position_id": "FX1", "instrument_type": "fx", "underlying": "FX_USDJPY", "quantity": 1_000_000.0},
        {"portfolio_id": "A", "position_id": "FX1", "instrument_type": "fx", "underlying": "FX_USDJPY", "quantity": 1_000_000.0},
        _equity("T1", "TOYOTA", 1_000.0),
        _equity("T1", "TOYOTA", 1_000.0),
        _equity("G1", "GONE", 500.0),
        _equity("K1", "AAPL", 10.0),
    ]  # two duplicated ids: every copy excluded
    night = prepare_night(table, "m", _positions(twice), "p", MONDAY, DataQualityPolicy(), "USD")
    summary = night.summary()
    usdjpy, toyota = prices["FX_USDJPY"][-1], prices["TOYOTA"][-1]
    assert summary["excluded_notional"] == pytest.approx(2 * 1_000_000.0 + 2 * 1_000.0 * toyota / usdjpy, rel=1e-12)  # about 2.04m, not 306m
    assert summary["excluded_positions"] == 5 and summary["excluded_notional_currency"] == "USD"
    assert summary["excluded_notional_unknown"] == 1 and [row.notional for row in night.excluded if row.position_id == "G1"] == [None]
    from riskbatch.inputs.quality import excluded_notional_text

    assert excluded_notional_text(summary).endswith("USD, and 1 position of unknown notional (no last price or no rate)")


# --- 5. a local holiday is bridged, a long gap is not -------------------------------------------


def test_a_missing_day_is_bridged_as_one_return_and_a_longer_gap_excludes_the_factor() -> None:
    dates = business_days(MONDAY, DAYS)
    prices = _prices({"AAPL": 0.01, "SAP": 0.01, "LONG": 0.01}, {"AAPL": 150.0, "SAP": 100.0, "LONG": 10.0})
    holiday = 150
    published = {name: series.copy() for name, series in prices.items()}
    published["SAP"][holiday] = np.nan  # a local holiday: no row that day
    published["LONG"][100:104] = np.nan  # four dates in a row: beyond the three bridged
    table = _market_table(published, dates, {"AAPL": "USD", "SAP": "USD", "LONG": "USD"})
    positions = _positions([_equity("E1", "AAPL", 10.0), _equity("E2", "SAP", 10.0), _equity("E3", "LONG", 10.0)])
    night = prepare_night(table, "m", positions, "p", MONDAY, DataQualityPolicy(), "USD")
    assert night.positions["position_id"].to_pylist() == ["E1", "E2"] and [row.position_id for row in night.excluded] == ["E3"]
    sap = night.market.prices[:, night.market.index["SAP"]]
    assert sap[holiday] == prices["SAP"][holiday - 1]  # the price carried over the gap
    returns = np.diff(np.log(sap))
    assert returns[holiday - 1] == 0.0 and returns[holiday] == pytest.approx(np.log(prices["SAP"][holiday + 1] / prices["SAP"][holiday - 1]))
    (gap,) = [f for f in night.findings if f.factor == "SAP"]
    assert gap.check == "gap" and gap.action == "flag" and "1 gap(s) of at most 1 date(s) bridged" in gap.detail
    assert "more than the 3 bridged" in next(f for f in night.findings if f.factor == "LONG").detail
    strict = prepare_night(table, "m", positions, "p", MONDAY, DataQualityPolicy(max_gap_days=0), "USD")
    assert [row.position_id for row in strict.excluded] == ["E2", "E3"]
    # the run's stored market is the bridged one: the workers load it back complete
    stored = load_market(night.market_table, "runs/x/market.parquet", MONDAY)
    assert np.array_equal(stored.prices, night.market.prices)


# --- 10. nothing silent: a currency is declared, a dividend yield is plausible, ES by factor class


def test_a_market_file_without_a_currency_column_is_refused_and_an_undeclared_currency_excludes() -> None:
    dates = business_days(MONDAY, DAYS)
    prices = _prices({"SAP": 0.01, "AAPL": 0.01, "FX_EURUSD": 0.005}, {"SAP": 100.0, "AAPL": 150.0, "FX_EURUSD": 1.1})
    table = _market_table(prices, dates, {"SAP": "EUR", "AAPL": "USD"})
    positions = _positions([_equity("E1", "SAP", 10.0), _equity("E2", "AAPL", 10.0)])
    with pytest.raises(FileRejected, match="missing column currency"):
        prepare_night(table.drop_columns(["currency"]), "m", positions, "p", MONDAY, DataQualityPolicy(), "USD")
    blank = _market_table(prices, dates, {"SAP": None, "AAPL": "USD"})
    night = prepare_night(blank, "m", positions, "p", MONDAY, DataQualityPolicy(), "USD")
    (excluded,) = night.excluded
    assert excluded.position_id == "E1" and "the currency of SAP is not declared" in excluded.reason and excluded.notional is None
    only_fx = _market_table({"FX_EURUSD": prices["FX_EURUSD"]}, dates, {}).drop_columns(["currency"])
    fx = [{"portfolio_id": "A", "position_id": "F1", "instrument_type": "fx", "underlying": "FX_EURUSD", "quantity": 1.0}]
    assert prepare_night(only_fx, "m", _positions(fx), "p", MONDAY, DataQualityPolicy(), "USD").positions.num_rows == 1  # the quote is in the name


@pytest.mark.parametrize("dividend", [float("inf"), 5.0, -2.0])
def test_a_non_finite_or_absurd_dividend_yield_refuses_the_file(dividend: float) -> None:
    dates = business_days(MONDAY, DAYS)
    prices = _prices({"AAPL": 0.01}, {"AAPL": 150.0})
    table = _market_table(prices, dates, {"AAPL": "USD"}, {"AAPL": dividend})
    with pytest.raises(InputError, match=r"AAPL: dividend_yield .* is not a finite yield within"):
        load_market(table, "m", MONDAY)
    assert load_market(_market_table(prices, dates, {"AAPL": "USD"}, {"AAPL": 0.04}), "m", MONDAY).dividend_yields[0] == 0.04


def test_es_is_broken_down_by_factor_class_so_a_eur_stocks_fx_risk_is_fx() -> None:
    from riskbatch.model.engine import portfolio_pnl
    from riskbatch.reporting.figures import es_breakdown

    dates = business_days(MONDAY, DAYS)
    prices = _prices({"SAP": 0.002, "FX_EURUSD": 0.02}, {"SAP": 100.0, "FX_EURUSD": 1.1})
    market = Market(MONDAY, dates, ["FX_EURUSD", "SAP"], np.column_stack([prices["FX_EURUSD"], prices["SAP"]]), currencies=(None, "EUR"))
    parameters = ModelParameters(scenarios=4_000)
    run = _run_book(market, _positions([_equity("E1", "SAP", 1_000.0)]), parameters)
    firm = portfolio_pnl(run.book, market, parameters, run.model).sum(axis=0)
    breakdown = es_breakdown(run, firm)
    classes = breakdown["by_factor_class"]
    assert sum(classes.values()) == pytest.approx(breakdown["total"], rel=1e-12)
    assert classes["FX"] > 0.8 * breakdown["total"] and classes["equity"] < 0.2 * breakdown["total"] and classes["volatility"] == 0.0


# --- Also: business days from the exchange calendar, one source -------------------------------


def test_business_days_follow_the_exchange_calendar() -> None:
    """The NYSE's closures from the holidays library (https://pypi.org/project/holidays/0.19/:
    `holidays.financial_holidays("NYSE")`)."""
    from riskbatch.inputs.business_days import add_business_days, business_days_between, is_business_day, previous_business_day
    from riskbatch.model.engine import horizon_calendar_days
    from riskbatch.operations.watch import business_date_due

    thanksgiving, good_friday = dt.date(2026, 11, 26), dt.date(2026, 4, 3)
    assert not is_business_day(thanksgiving) and not is_business_day(good_friday) and is_business_day(dt.date(2026, 11, 27))
    assert add_business_days(dt.date(2026, 11, 25), 1) == dt.date(2026, 11, 27) and horizon_calendar_days(dt.date(2026, 11, 25), 1) == 2
    assert business_days_between(dt.date(2026, 11, 25), dt.date(2026, 11, 27)) == 1  # the holiday is no lag
    assert previous_business_day(dt.date(2026, 11, 27)) == dt.date(2026, 11, 25)
    new_york_morning = dt.datetime(2026, 11, 27, 13, 30, tzinfo=dt.UTC)  # 08:30 in New York, the day after Thanksgiving
    assert business_date_due(new_york_morning) == dt.date(2026, 11, 25)
    assert thanksgiving not in business_days(dt.date(2026, 11, 30), 5)
    prices = _prices({"AAPL": 0.01}, {"AAPL": 150.0})
    table = _market_table(prices, business_days(dt.date(2026, 11, 25), DAYS), {"AAPL": "USD"})
    assert load_market(table, "m", dt.date(2026, 11, 27), max_lag_business_days=1).as_of == dt.date(2026, 11, 25)


def test_the_backtest_pairs_a_night_with_the_previous_business_day_only() -> None:
    from riskbatch.validation.history import backtest_entry

    dates = business_days(dt.date(2026, 11, 27), DAYS + 1)
    assert dates[-2:] == [dt.date(2026, 11, 25), dt.date(2026, 11, 27)]
    prices = _prices({"AAPL": 0.01}, {"AAPL": 150.0}, DAYS + 1)
    yesterday = Market(dates[-2], dates[:-1], ["AAPL"], prices["AAPL"][:-1, None], currencies=("USD",))
    today = Market(dates[-1], dates[1:], ["AAPL"], prices["AAPL"][1:, None], currencies=("USD",))
    previous = _run_book(yesterday, _positions([_equity("E1", "AAPL", 10.0)]), ModelParameters(scenarios=1_000))
    var = {"firm": {"var_99": 1e9}, "portfolios": {}}
    assert backtest_entry({"business_date": "2026-11-25", "var": var}, previous, today)["complete"] is True  # Thanksgiving between
    stale = backtest_entry({"business_date": "2026-11-24", "var": var}, previous, today)
    assert stale["complete"] is False and "not the previous business day 2026-11-25" in stale["incomplete"]["reasons"][0]


def test_one_module_counts_business_days() -> None:
    """The horizon, the backtest's pairing, the market lag, the sample and the deadline check all
    ask riskbatch.inputs.business_days: no other module of the jobs counts weekdays."""
    source = Path(__file__).resolve().parents[3] / "src" / "riskbatch"
    counting = ("weekday()", "busday", "BDay", "isoweekday")
    # cron.py reads a schedule expression's day-of-week field (when AWS fires it), not business days
    readers = {"inputs/business_days.py", "operations/cron.py"}
    modules = {path.relative_to(source).as_posix(): path.read_text() for path in source.rglob("*.py")}
    offenders = [name for name, text in modules.items() if name not in readers and any(word in text for word in counting)]
    assert offenders == []
    users = {name for name, text in modules.items() if "business_days import" in text}
    assert {"model/engine.py", "inputs/files.py", "validation/history.py", "operations/watch.py", "inputs/sample.py"} <= users


def test_last_nights_fat_finger_left_in_the_history_is_cleaned_and_tonights_genuine_price_used() -> None:
    """The vendor corrects nothing: the night after a fat finger, its price is the previous close
    and tonight's true price is a jump down from it. The spike and its reversal are cleaned
    (riskbatch.inputs.cleaning): tonight's genuine price is used, never held, and the fat finger
    reaches neither the headline nor the covariance."""
    names = [f"EQ_{i}" for i in range(10)]
    prices = _prices(dict.fromkeys(names, 0.01), dict.fromkeys(names, 50.0), DAYS)
    dates = business_days(MONDAY, DAYS)
    positions = _book_of_ten(prices)
    fat = {**prices, "EQ_3": prices["EQ_3"].copy()}
    fat["EQ_3"][-2] *= 100.0  # last night's fat finger, still in the history
    night = prepare_night(_market_table(fat, dates, dict.fromkeys(names, "USD")), "m", positions, "p", MONDAY, DataQualityPolicy(), "USD")
    spot = night.market.spot[night.market.index["EQ_3"]]
    assert spot == prices["EQ_3"][-1], f"tonight's price {spot:g}, the genuine one {prices['EQ_3'][-1]:g}"
    assert not night.held and not [f for f in night.findings if f.check == "last_day_jump"]
    (cleaning,) = night.cleanings
    assert (cleaning.factor, cleaning.date, cleaning.rule) == ("EQ_3", dates[-2].isoformat(), "spike_and_revert")
    assert cleaning.raw == pytest.approx(fat["EQ_3"][-2]) and cleaning.cleaned == pytest.approx(np.sqrt(prices["EQ_3"][-3] * prices["EQ_3"][-1]))

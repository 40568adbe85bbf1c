"""Backtesting statistics and the challenger models, each against a value worked by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest
from scipy.stats import binom, norm

from riskbatch.inputs.files import POSITION_COLUMNS, Market
from riskbatch.inputs.sample import business_days
from riskbatch.model.engine import build_book
from riskbatch.model.risk_model import ModelParameters, log_returns, value_at_risk
from riskbatch.validation.backtest import basel_traffic_light, christoffersen_independence, kupiec_pof
from riskbatch.validation.challengers import challenger_figures, historical_pnl

DATE = dt.date(2026, 11, 25)


def test_kupiec_likelihood_ratio_for_five_exceptions_in_250_days() -> None:
    # 2 [245 ln(0.98 / 0.99) + 5 ln 2], worked by hand
    assert kupiec_pof(5, 250).statistic == pytest.approx(2 * (245 * np.log(0.98 / 0.99) + 5 * np.log(2.0)), rel=1e-12)
    assert kupiec_pof(5, 250).statistic == pytest.approx(1.9569, abs=1e-4)
    assert kupiec_pof(0, 250).statistic == pytest.approx(-2 * 250 * np.log(0.99), rel=1e-12)  # 5.025: no exception at all is suspect too
    assert not kupiec_pof(5, 250).rejects() and kupiec_pof(10, 250).rejects() and kupiec_pof(0, 250).rejects()


@pytest.mark.parametrize("exceptions", [1, 2, 3, 7, 12, 30])
def test_kupiec_is_the_binomial_likelihood_ratio(exceptions: int) -> None:
    expected = 2 * (binom.logpmf(exceptions, 250, exceptions / 250) - binom.logpmf(exceptions, 250, 0.01))
    assert kupiec_pof(exceptions, 250).statistic == pytest.approx(expected, rel=1e-10)


def test_christoffersen_independence_on_hand_worked_sequences() -> None:
    # transitions 00:4 01:2 10:2 11:1: an exception is as likely after one as after none
    assert christoffersen_independence([0, 0, 1, 1, 0, 0, 0, 1, 0, 0]).statistic == pytest.approx(0.0, abs=1e-12)
    # 00:5 01:1 10:1 11:2: pi0 = 1/6, pi1 = 2/3, pi = 1/3
    null = 6 * np.log(2 / 3) + 3 * np.log(1 / 3)
    alternative = 5 * np.log(5 / 6) + np.log(1 / 6) + np.log(1 / 3) + 2 * np.log(2 / 3)
    result = christoffersen_independence([0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    assert result.statistic == pytest.approx(-2 * (null - alternative), rel=1e-12) == pytest.approx(2.2314, abs=1e-4)


def test_conditional_coverage_is_the_two_likelihood_ratios_together_against_chi_square_two() -> None:
    # Christoffersen (1998), LR_cc = LR_pof + LR_ind over the T - 1 transitions, chi-square(2):
    # 0 1 1 1 0 0 0 0 0 0 has transitions 00:5 01:1 10:1 11:2, three exceptions in nine
    from scipy.stats import chi2

    from riskbatch.validation.backtest import christoffersen_conditional_coverage

    hits = [0, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    pof = -2 * (6 * np.log(0.99) + 3 * np.log(0.01) - 6 * np.log(6 / 9) - 3 * np.log(3 / 9))
    independence = -2 * ((6 * np.log(2 / 3) + 3 * np.log(1 / 3)) - (5 * np.log(5 / 6) + np.log(1 / 6) + np.log(1 / 3) + 2 * np.log(2 / 3)))
    joint = christoffersen_conditional_coverage(hits)
    assert joint.statistic == pytest.approx(pof + independence, rel=1e-12) and joint.p_value == pytest.approx(chi2.sf(pof + independence, 2))
    at_975 = christoffersen_conditional_coverage(hits, 0.975)
    assert at_975.statistic == pytest.approx(kupiec_pof(3, 9, 0.975).statistic + independence, rel=1e-12)


def test_the_generated_year_clusters_its_volatility_and_has_fat_tails() -> None:
    # make backtest-year's market: GARCH(1,1) with Student-t innovations, not the model's own
    # constant-volatility normal returns (whose backtest could only confirm the model)
    from scipy.stats import kurtosis

    from riskbatch.inputs.sample import SampleSpec, market_table

    def returns(dynamics: str) -> np.ndarray:
        table = market_table(SampleSpec(positions=10, factors=60, days=1_000, features=False, dynamics=dynamics))
        return np.diff(np.log(table["price"].to_numpy().reshape(1_000, -1)), axis=0)

    def squared_autocorrelation(r: np.ndarray) -> float:
        return float(np.median([np.corrcoef(r[1:, j] ** 2, r[:-1, j] ** 2)[0, 1] for j in range(r.shape[1])]))

    garch, gaussian = returns("garch-t"), returns("gaussian")
    assert np.median(kurtosis(garch, axis=0)) > 3.0 > 0.5 > abs(np.median(kurtosis(gaussian, axis=0)))
    assert squared_autocorrelation(garch) > 0.05 > 0.02 > abs(squared_autocorrelation(gaussian))


def test_clustered_exceptions_fail_independence_and_spread_ones_pass() -> None:
    clustered = [False] * 250
    for day in range(100, 106):
        clustered[day] = True
    spread = [day % 40 == 5 and day < 240 for day in range(250)]
    assert sum(clustered) == sum(spread) == 6
    assert christoffersen_independence(clustered).rejects() and not christoffersen_independence(spread).rejects()


@pytest.mark.parametrize(("exceptions", "zone", "plus"), [(0, "green", 0.0), (4, "green", 0.0), (5, "yellow", 0.40), (9, "yellow", 0.85), (10, "red", 1.0)])
def test_basel_zone_edges(exceptions: int, zone: str, plus: float) -> None:
    light = basel_traffic_light(exceptions)
    assert (light.zone, light.plus_factor) == (zone, plus)


def _one_position_market(returns: np.ndarray) -> Market:
    prices = 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(returns)]))[:, None]
    return Market(DATE, business_days(DATE, len(prices)), ["EQ_A"], prices)


def _long(quantity: float) -> pa.Table:
    row = {"portfolio_id": "A", "position_id": "P", "instrument_type": "equity", "underlying": "EQ_A", "quantity": quantity}
    return pa.table({name: pa.array([row.get(name)], kind) for name, kind in POSITION_COLUMNS.items()})


def test_historical_simulation_var_on_a_hand_made_history() -> None:
    returns = -0.001 * np.random.default_rng(1).permutation(299)  # the moves 0, -0.1 %, ..., -29.8 % in some order
    market = _one_position_market(returns)
    book = build_book(_long(10.0), market)
    pnl = historical_pnl(book, market, ModelParameters())[0]
    value = 10.0 * market.spot[0]
    # VaR 99 % is the third-worst of 299 days (the lower 1 % quantile: index floor(0.01 x 298) = 2)
    assert value_at_risk(pnl, 0.99) == pytest.approx(-value * np.expm1(-0.296), rel=1e-12)
    figures = challenger_figures(book, market, ModelParameters())
    assert figures["historical"]["days"] == 299 and figures["historical"]["firm"]["empirical"]["var_99"] == pytest.approx(-value * np.expm1(-0.296))


PERIOD = {"name": "test crisis", "first": "2008-09-01", "last": "2009-08-31"}


def test_stressed_var_is_the_configured_period_of_a_stress_history_apart_from_the_covariance_window() -> None:
    # Tonight's market is a calm year; the stress history (2007 to 2010) is calm but for its crisis
    # year, the configured period. Stressed VaR revalues tonight's book in that year's moves only:
    # it used to be the worst window of tonight's own year, the same as historical simulation.
    rng = np.random.default_rng(2)
    market = _one_position_market(rng.normal(0, 0.005, 299))
    book = build_book(_long(10.0), market)
    stress_dates = [day for day in business_days(dt.date(2010, 6, 30), 1_000) if day >= dt.date(2007, 7, 2)]
    crisis = np.array([dt.date(2008, 9, 1) <= day <= dt.date(2009, 8, 31) for day in stress_dates[1:]])
    moves = rng.normal(0, 0.005, len(crisis)) * np.where(crisis, 6.0, 1.0)
    stress = Market(DATE, stress_dates, ["EQ_A"], 50.0 * np.exp(np.concatenate([[0.0], np.cumsum(moves)]))[:, None])
    figures = challenger_figures(book, market, ModelParameters(), stress, PERIOD)
    stressed = figures["stressed"]
    assert stressed["days"] == int(crisis.sum()) and stressed["window"][0] >= "2008-09-01" and stressed["window"][1] <= "2009-08-31"
    pnl = historical_pnl(book, market, ModelParameters(), log_returns(stress.prices)[crisis])[0]
    assert stressed["firm"]["empirical"]["var_99"] == pytest.approx(value_at_risk(pnl, 0.99), rel=1e-12)
    assert stressed["firm"]["var_99"] > 3 * figures["historical"]["firm"]["var_99"]
    lacking = Market(DATE, stress_dates, ["EQ_B"], stress.prices)
    assert "lacks 1 of tonight's factors (EQ_A)" in challenger_figures(book, market, ModelParameters(), lacking, PERIOD)["stressed"]["missing"]
    assert "no stress history" in challenger_figures(book, market, ModelParameters(), None, PERIOD)["stressed"]["missing"]


def test_the_tail_estimate_keeps_es_975_above_var_99_on_a_few_hundred_days() -> None:
    # 299 days: the empirical ES 97.5 % (mean of the 7 worst) falls below the empirical VaR 99 %
    # (the third worst) in some histories; the fitted tail never lets it, and stays near the truth.
    from riskbatch.validation.challengers import tail_figures

    below, var_errors = 0, []
    for seed in range(200):
        pnl = np.random.default_rng(seed).standard_t(5, 299) if seed % 2 else np.random.default_rng(seed).standard_normal(299)
        figures = tail_figures(pnl)
        below += figures["empirical"]["es_975"] < figures["empirical"]["var_99"]
        assert figures["es_975"] >= figures["var_99"] >= figures["var_95"] > 0
        if seed % 2 == 0:
            var_errors.append(figures["var_99"] / norm.ppf(0.99) - 1.0)
    assert below > 0  # the case the tail estimate exists for
    assert abs(np.mean(var_errors)) < 0.05


def test_the_hypothetical_pnl_is_yesterdays_book_in_todays_move() -> None:
    from riskbatch.model.engine import risk_model
    from riskbatch.model.run_inputs import RunBook
    from riskbatch.validation.history import backtest_entry, hypothetical_pnl

    rng = np.random.default_rng(4)
    days = 301
    prices = np.column_stack([200 * np.exp(np.cumsum(rng.normal(0, 0.01, days))), 1.1 * np.exp(np.cumsum(rng.normal(0, 0.005, days)))])
    dates = business_days(dt.date(2026, 11, 26), days)
    yesterday = Market(dates[-2], dates[:-1], ["SAP", "FX_EURUSD"], prices[:-1], currencies=("EUR", None))
    today = Market(dates[-1], dates[1:], ["SAP", "FX_EURUSD"], prices[1:], currencies=("EUR", None))
    row = {"portfolio_id": "A", "position_id": "P", "instrument_type": "equity", "underlying": "SAP", "quantity": 50.0}
    positions = pa.table({name: pa.array([row.get(name)], kind) for name, kind in POSITION_COLUMNS.items()})
    parameters = ModelParameters(scenarios=1_000)
    previous = RunBook(parameters, yesterday, positions, build_book(positions, yesterday, parameters), risk_model(yesterday, parameters))
    by_portfolio, missing = hypothetical_pnl(previous, today)
    # 50 shares in EUR, worth 50 x SAP x EURUSD dollars: the change from yesterday's close to today's
    expected = 50 * (prices[-1, 0] * prices[-1, 1] - prices[-2, 0] * prices[-2, 1])
    assert by_portfolio == {"A": pytest.approx(expected, rel=1e-12)} and missing == []
    record = {"business_date": str(dates[-2]), "var": {"firm": {"var_99": abs(expected) / 2}, "portfolios": {"A": {"var_99": abs(expected) * 2}}}}
    entry = backtest_entry(record, previous, today)
    assert entry["exceptions"] == {"firm": expected < 0, "portfolios": {"A": False}}


def test_riskbatch_backtest_replays_a_range_of_the_stored_history(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    import boto3
    from moto import mock_aws

    from riskbatch.cli import main
    from riskbatch.validation.history import night_record, write_record

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="risk-out")
        days = business_days(dt.date(2026, 11, 27), 6)
        figures = {"var_95": 70.0, "var_99": 100.0, "es_975": 110.0}
        for index, day in enumerate(days):
            backtest = None
            if index:
                loss = 150.0 if index in (2, 3) else 10.0  # exceptions on two days in a row
                backtest = {"var_date": str(days[index - 1]), "hypothetical_pnl": {"firm": -loss, "portfolios": {"A": -loss}},
                            "exceptions": {"firm": loss > 100, "portfolios": {"A": loss > 100}}, "factors_without_a_move": []}  # fmt: skip
            write_record(s3, "risk-out", night_record(str(day), f"run-{index}", "USD", figures, {"A": figures}, backtest))
        assert main(["backtest", "--bucket", "risk-out", "--json"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["records"] == 6 and summary["firm"]["observations"] == 5 and summary["firm"]["exceptions"] == 2
        assert summary["firm"]["exception_dates"] == [str(days[1]), str(days[2])]
        assert summary["firm"]["kupiec"]["statistic"] == pytest.approx(kupiec_pof(2, 5).statistic)
        assert main(["backtest", "--bucket", "risk-out", "--from", str(days[3]), "--to", str(days[5])]) == 0
        printed = capsys.readouterr().out
        assert "firm: 1 exception(s) in 3 day(s); Basel traffic light none yet (3 of 250 observations)" in printed
        assert main(["backtest", "--bucket", "risk-out", "--from", "2030-01-01"]) == 1


@pytest.mark.parametrize("dynamics", ["gaussian", "garch-t"])
def test_a_year_of_the_sample_nights_fills_the_traffic_light(tmp_path, capsys: pytest.CaptureFixture[str], dynamics: str) -> None:
    """What make backtest-year shows: 250 backtested nights of the sample, each record as the
    report writes it, a Basel zone once the window is full, the conditional-coverage test, the
    VaR 97.5 % backtest and the exceptions chart. On a market drawn from the model's own (normal)
    distribution Kupiec's test must not reject; the default year (GARCH with Student-t
    innovations) is there to find out whether the model holds when the data do not oblige it."""
    import json

    from riskbatch_platform.measurement import backtest_year

    arguments = ["--nights", "251", "--positions", "400", "--factors", "30", "--scenarios", "2000", "--dynamics", dynamics, "--out", str(tmp_path)]
    assert backtest_year.main(arguments) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    firm = summary["firm"]
    assert firm["observations"] == 250 and firm["zone"] == basel_traffic_light(firm["exceptions"]).zone
    assert "conditional_coverage" in firm and summary["firm_975"]["observations"] == 250 and "conditional_coverage" in summary["firm_975"]
    if dynamics == "gaussian":
        assert not kupiec_pof(firm["exceptions"], 250).rejects(0.01)
    records = sorted(tmp_path.glob("history/*.json"))
    assert len(records) == 251 and json.loads(records[0].read_text())["backtest"] is None
    assert (tmp_path / "exceptions.png").read_bytes().startswith(b"\x89PNG")
    out = capsys.readouterr().out
    assert "Basel traffic light" in out and "conditional_coverage" in out and "firm VaR 97.5 %" in out


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (b"portfolio,pnl\nA,1\n", "missing column portfolio_id"),
        (b"portfolio_id,pnl\nA,nan\n", "line 2: a portfolio_id and a finite pnl are needed"),
        (b"portfolio_id,pnl\nA,1\nA,2\n", "line 3: a second row for A"),
    ],
)
def test_a_bad_actual_pnl_file_names_every_problem(text: bytes, problem: str) -> None:
    from riskbatch.inputs.files import InputError
    from riskbatch.validation.history import parse_actual_pnl

    assert parse_actual_pnl(b"portfolio_id,pnl\nA,-12.5\nB,3\n", "actual_pnl.csv") == {"A": -12.5, "B": 3.0}
    with pytest.raises(InputError) as refused:
        parse_actual_pnl(text, "actual_pnl.csv")
    assert any(problem in line for line in refused.value.problems), refused.value.problems

"""Stressed VaR survives a real stress history: one missing day in the crisis year, a factor listed
after it. Before, either removed the firm's stressed VaR, with "252 complete days in the period, at
least 100 are needed" as the reason."""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import pyarrow as pa
import pytest

from riskbatch.inputs.files import POSITION_COLUMNS, Market
from riskbatch.inputs.sample import business_days
from riskbatch.model.engine import build_book
from riskbatch.model.risk_model import ModelParameters
from riskbatch.validation.challengers import challenger_figures

DATE = dt.date(2026, 11, 25)
PERIOD = {"name": "test crisis", "first": "2008-09-01", "last": "2009-08-31"}
STRESS_DATES = [day for day in business_days(dt.date(2010, 6, 30), 1_000) if day >= dt.date(2007, 7, 2)]
CRISIS = np.array([dt.date(2008, 9, 1) <= day <= dt.date(2009, 8, 31) for day in STRESS_DATES])
FACTORS = ["EQ_A", "EQ_B", "IDX"]


def _histories(seed: int = 4) -> tuple[Market, Market]:
    """Tonight's calm year and a stress history whose crisis year moves six times as much; EQ_B moves with IDX."""
    rng = np.random.default_rng(seed)

    def paths(days: int, scale: np.ndarray) -> np.ndarray:
        index = rng.normal(0, 0.006, days) * scale
        moves = np.column_stack([rng.normal(0, 0.006, days) * scale, index + rng.normal(0, 0.002, days) * scale, index])
        return np.array([50.0, 80.0, 1_000.0]) * np.exp(np.vstack([np.zeros(3), np.cumsum(moves, axis=0)]))

    tonight = Market(DATE, business_days(DATE, 300), FACTORS, paths(299, np.ones(299)))
    stress = Market(DATE, STRESS_DATES, FACTORS, paths(len(STRESS_DATES) - 1, np.where(CRISIS[1:], 6.0, 1.0)))
    return tonight, stress


def _book(market: Market):
    rows = [
        {"portfolio_id": "A", "position_id": "PA", "instrument_type": "equity", "underlying": "EQ_A", "quantity": 10_000.0},
        {"portfolio_id": "B", "position_id": "PB", "instrument_type": "equity", "underlying": "EQ_B", "quantity": 20_000.0},
    ]
    table = pa.table({name: pa.array([row.get(name) for row in rows], kind) for name, kind in POSITION_COLUMNS.items()})
    return build_book(table, market)


def _stressed(stress: Market, proxies: dict[str, str] | None = None) -> dict:
    tonight, _ = _histories()
    given = {"proxies": proxies} if proxies else {}
    return challenger_figures(_book(tonight), tonight, ModelParameters(), stress, PERIOD, **given)["stressed"]


def _without(stress: Market, factor: str, rows: slice | int) -> Market:
    prices = stress.prices.copy()
    prices[rows, stress.index[factor]] = np.nan
    return Market(stress.business_date, stress.dates, stress.factors, prices)


def test_one_missing_day_in_the_crisis_year_is_bridged_and_firm_stressed_var_stays() -> None:
    _, stress = _histories()
    full = _stressed(stress)
    holiday = int(np.flatnonzero(CRISIS)[100])
    bridged = _stressed(_without(stress, "EQ_B", holiday))
    assert "missing" not in bridged and bridged["days"] == full["days"] == int(CRISIS[1:].sum())
    (repair,) = bridged["repairs"]
    assert repair["factor"] == "EQ_B" and repair["check"] == "gap" and repair["action"] == "flag"
    # one day's move folded into the next: the stressed figure is the full-data one within a few per cent
    assert bridged["firm"]["var_99"] == pytest.approx(full["firm"]["var_99"], rel=0.05)
    assert bridged["uncovered"]["positions"] == 0


def test_a_factor_listed_after_the_crisis_takes_its_proxy_or_is_reported_as_uncovered_notional() -> None:
    tonight, stress = _histories()
    listed = _without(stress, "EQ_B", slice(0, len(STRESS_DATES) - 100))  # listed in 2010
    proxied = _stressed(listed, {"EQ_B": "IDX"})
    assert "firm" in proxied and proxied["uncovered"]["positions"] == 0
    assert [repair["check"] for repair in proxied["repairs"]] == ["proxy"] and "IDX" in proxied["repairs"][0]["detail"]
    unmapped = _stressed(listed)
    assert "firm" in unmapped and unmapped["uncovered"]["factors"] == ["EQ_B"]
    value = 20_000.0 * tonight.spot[tonight.index["EQ_B"]]
    assert unmapped["uncovered"]["positions"] == 1 and unmapped["uncovered"]["notional"] == pytest.approx(value, rel=1e-12)
    # the covered desk keeps its figure; the uncovered one does not move in the period
    assert unmapped["portfolios"]["A"]["var_99"] == pytest.approx(proxied["portfolios"]["A"]["var_99"], rel=1e-12)
    assert unmapped["portfolios"]["B"]["var_99"] == pytest.approx(0.0, abs=1e-9)


def test_a_factor_absent_from_the_stress_history_moves_with_its_proxy() -> None:
    _, stress = _histories()
    absent = Market(stress.business_date, stress.dates, ["EQ_A", "IDX"], stress.prices[:, [0, 2]])
    stressed = _stressed(absent, {"EQ_B": "IDX"})
    assert "firm" in stressed and stressed["uncovered"]["positions"] == 0
    assert stressed["repairs"][0]["factor"] == "EQ_B" and stressed["repairs"][0]["check"] == "proxy"


def test_the_message_counts_the_days_in_the_period() -> None:
    _, stress = _histories()
    short = Market(stress.business_date, stress.dates[:340], stress.factors, stress.prices[:340])  # ends in late 2008
    days = sum(1 for day in short.dates[1:] if dt.date(2008, 9, 1) <= day <= dt.date(2009, 8, 31))
    assert _stressed(short)["missing"] == f"the stress history has {days} days in the period, at least 100 are needed"


def test_a_sample_factor_listed_after_the_crisis_moves_with_the_shipped_proxy_in_the_stressed_var() -> None:
    """The nightly VaR's proxy map (the shipped model configuration's) is the stressed VaR's: a listing of the
    sample's book without crisis history moves with its index, not left out as uncovered notional."""
    from riskbatch.inputs.files import load_market
    from riskbatch.inputs.history_gaps import proxy_of
    from riskbatch.inputs.quality import prepare_night
    from riskbatch.inputs.sample import SampleSpec, market_table, positions_table, stress_market_table
    from riskbatch.model.settings import data_quality_policy

    spec = SampleSpec(positions=300, factors=40, days=260, portfolios=3)
    policy = data_quality_policy()
    market = market_table(spec)
    count = len(set(market["factor"].to_pylist()))
    positions = positions_table(spec, market["factor"].to_pylist()[:count], market.slice(market.num_rows - count)["price"].to_numpy())
    night = prepare_night(market, "market.csv", positions, "positions.csv", spec.business_date, policy, "USD")
    listing = night.positions["underlying"].to_pylist()[night.positions["instrument_type"].to_pylist().index("equity")]
    stress = stress_market_table(spec)
    listed = [not (name == listing and day < dt.date(2010, 1, 4)) for name, day in zip(stress["factor"].to_pylist(), stress["date"].to_pylist(), strict=True)]
    stress_market = load_market(stress.filter(pa.array(listed)), "stress_market.csv", spec.business_date)
    book = build_book(night.positions, night.market)
    # the nightly file as published: every factor, the proxy too (the listing's beta and residuals to it are measured there)
    nightly = load_market(market, "market.csv", spec.business_date)
    figures = challenger_figures(book, night.market, ModelParameters(), stress_market, PERIOD, policy.proxies, policy.max_gap_days, nightly)
    stressed = figures["stressed"]
    assert "firm" in stressed and stressed["uncovered"] == {**stressed["uncovered"], "factors": [], "positions": 0}
    proxy = proxy_of(listing, policy.proxies)
    (repair,) = [repair for repair in stressed["repairs"] if repair["factor"] == listing]
    assert repair["check"] == "proxy" and repair["action"] == "flag" and proxy in repair["detail"]
    assert "that day's date and the window (stress)" in repair["detail"]


def _crisis_quantiles(name: str, proxy: str, days: list[dt.date]) -> np.ndarray:
    """The stated rule's uniform of each crisis day: SHA-256 of the factor, its proxy, the crisis day's date and "stress"."""
    words = [int.from_bytes(hashlib.sha256(f"{name}|{proxy}|{day.isoformat()}|stress".encode()).digest()[:8], "big") for day in days]
    return (np.array(words, dtype=float) + 0.5) / 2.0**64


@pytest.mark.clock
def test_the_stressed_fill_of_a_crisis_day_is_the_same_whatever_the_business_date() -> None:
    """The crisis history is fixed; before, its fill was drawn again each night (seeded by tonight's business
    date) and the stressed VaR of a proxied name moved 9 % from night to night with nothing changed."""
    tonight, stress = _histories()
    listed = _without(stress, "EQ_B", slice(0, len(STRESS_DATES) - 100))  # listed in 2010, no crisis history
    late = _without(stress, "EQ_B", slice(0, int(np.flatnonzero(CRISIS)[150])))  # listed during the crisis

    def on(day: dt.date, history: Market) -> np.ndarray:
        return _window(Market(day, history.dates, history.factors, history.prices), tonight).returns

    for history in (listed, late):
        assert np.array_equal(on(DATE, history), on(DATE + dt.timedelta(days=1), history))
        assert np.array_equal(on(DATE, history), on(DATE + dt.timedelta(days=30), history))


def _window(stress: Market, tonight: Market):
    from riskbatch.validation.stress_history import stress_window

    return stress_window(FACTORS, stress, dt.date(2008, 9, 1), dt.date(2009, 8, 31), {"EQ_B": "IDX"}, 3, nightly=tonight)


def test_a_factor_without_crisis_history_takes_beta_x_its_proxy_s_crisis_moves_plus_its_own_residuals_grown_as_the_proxy_s() -> None:
    """Before, a name listed after the crisis took its index's crisis moves x its volatility ratio (at least 1):
    correlation +1 with the index, a hedge with it riskless. Now beta x the index's crisis move plus one of its
    own nightly residuals x the index's crisis over nightly volatility, beta and residuals from tonight's window."""
    tonight, stress = _histories()
    listed = _without(stress, "EQ_B", slice(0, len(STRESS_DATES) - 100))  # listed in 2010
    returns = np.diff(np.log(tonight.prices), axis=0)
    own, theirs = returns[:, tonight.index["EQ_B"]], returns[:, tonight.index["IDX"]]
    beta = np.cov(own, theirs, bias=True)[0, 1] / np.var(theirs)
    residuals = (own - own.mean()) - beta * (theirs - theirs.mean())
    window = _window(listed, tonight)
    assert window.uncovered == []
    eq_b, index = window.returns[:, FACTORS.index("EQ_B")], window.returns[:, FACTORS.index("IDX")]
    growth = np.std(index) / np.std(theirs)
    leftover = (eq_b - beta * index) / growth
    assert leftover == pytest.approx(np.quantile(residuals, _crisis_quantiles("EQ_B", "IDX", window.days)), rel=0, abs=1e-12)
    # its crisis correlation with the index is tonight's measured one, not +1
    assert np.corrcoef(eq_b, index)[0, 1] == pytest.approx(np.corrcoef(own, theirs)[0, 1], abs=0.1)
    # a name with half its index's moves tonight keeps beta 0.5 in the crisis: no floor at 1
    calm = tonight.prices.copy()
    calm[:, tonight.index["EQ_B"]] = np.sqrt(calm[:, tonight.index["IDX"]])
    halved = _window(listed, Market(tonight.business_date, tonight.dates, tonight.factors, calm))
    assert halved.returns[:, FACTORS.index("EQ_B")] == pytest.approx(0.5 * index, abs=1e-12)
    (repair,) = halved.findings
    assert repair.check == "proxy" and "0.5 x IDX's return" in repair.detail


def test_a_listing_during_the_period_is_proxied_though_its_proxy_misses_a_day_and_sorts_after_it() -> None:
    """Before, the proxy's crisis holiday before the listing left EQ_B uncovered: the proxy was bridged only
    when it sorted before the factor (IDX after EQ_B here)."""
    tonight, stress = _histories()
    crisis = np.flatnonzero(CRISIS)
    late = _without(stress, "EQ_B", slice(0, int(crisis[150])))  # listed during the period, 100 crisis days of its own
    holiday = _without(late, "IDX", int(crisis[20]))
    window = _window(holiday, tonight)
    assert window.uncovered == []
    checks = {(finding.factor, finding.check) for finding in window.findings}
    assert ("EQ_B", "proxy") in checks and ("IDX", "gap") in checks
    # tonight's book without the index: its crisis column is an extra one, bridged for the listing all the same
    from riskbatch.validation.stress_history import stress_window

    alone = stress_window(["EQ_A", "EQ_B"], holiday, dt.date(2008, 9, 1), dt.date(2009, 8, 31), {"EQ_B": "IDX"}, 3, nightly=tonight)
    assert alone.uncovered == [] and [(finding.factor, finding.check) for finding in alone.findings] == [("EQ_B", "proxy")]


def test_a_factor_without_crisis_history_and_fewer_than_20_nightly_returns_beside_its_proxy_is_uncovered_with_its_notional() -> None:
    tonight, stress = _histories()
    listed = _without(stress, "EQ_B", slice(0, len(STRESS_DATES) - 100))
    short = tonight.prices.copy()
    short[:-11, tonight.index["EQ_B"]] = np.nan  # 10 returns of its own tonight: no scale can be estimated
    young = Market(tonight.business_date, tonight.dates, tonight.factors, short)
    stressed = challenger_figures(_book(tonight), tonight, ModelParameters(), listed, PERIOD, {"EQ_B": "IDX"}, 3, young)["stressed"]
    assert "firm" in stressed and stressed["uncovered"]["factors"] == ["EQ_B"]
    value = 20_000.0 * tonight.spot[tonight.index["EQ_B"]]
    assert stressed["uncovered"]["positions"] == 1 and stressed["uncovered"]["notional"] == pytest.approx(value, rel=1e-12)
    (repair,) = stressed["repairs"]
    assert repair["check"] == "short_history" and repair["action"] == "exclude" and "needs 20 common returns" in repair["detail"]

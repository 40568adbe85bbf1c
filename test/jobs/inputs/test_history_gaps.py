"""A local holiday, a window that starts on one, a new listing: each repaired by a stated rule and
flagged, never a factor silently dropped with its positions.

Before these rules, a European equity without a price on Easter Monday (New York open) was
excluded with its positions and their notional "unknown", and firm VaR 99 % fell by most of it;
the same day excluded it again a year later as the window's first date; a listing younger than
the window was always excluded."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from riskbatch.inputs.files import POSITION_COLUMNS
from riskbatch.inputs.history_gaps import proxy_of
from riskbatch.inputs.quality import DataQualityPolicy, prepare_night
from riskbatch.inputs.sample import business_days
from riskbatch.model.engine import build_book, portfolio_pnl
from riskbatch.model.risk_model import ModelParameters, value_at_risk
from test.jobs.inputs.test_proxy_policy import assert_filled_by_beta_and_own_residuals

EASTER_MONDAY = dt.date(2026, 4, 6)  # NYSE open, Frankfurt and London closed
DAYS = 261
CURRENCIES = {"AAPL": "USD", "SIE": "EUR", "IDX_EU": "EUR", "FX_EURUSD": "USD"}


def _prices(days: int = DAYS, seed: int = 11) -> dict[str, np.ndarray]:
    """A US stock, a European one, the European index it moves with (beta about 1.2), and EURUSD."""
    rng = np.random.default_rng(seed)
    index = rng.normal(0.0, 0.011, days)
    returns = {
        "AAPL": rng.normal(0.0, 0.014, days),
        "SIE": 1.2 * index + rng.normal(0.0, 0.006, days),
        "IDX_EU": index,
        "FX_EURUSD": rng.normal(0.0, 0.005, days),
    }
    spots = {"AAPL": 180.0, "SIE": 150.0, "IDX_EU": 4_000.0, "FX_EURUSD": 1.08}
    return {name: spots[name] * np.exp(np.cumsum(series)) for name, series in returns.items()}


def _table(prices: dict[str, np.ndarray], dates: list[dt.date]) -> pa.Table:
    """The vendor's file: no row where a factor has no price (NaN here)."""
    rows = [(day, name, float(series[i])) for name, series in prices.items() for i, day in enumerate(dates) if np.isfinite(series[i])]
    return pa.table(
        {
            "date": pa.array([row[0] for row in rows], pa.date32()),
            "factor": pa.array([row[1] for row in rows], pa.string()),
            "price": pa.array([row[2] for row in rows], pa.float64()),
            "currency": pa.array([CURRENCIES[row[1]] for row in rows], pa.string()),
        }
    )


def _positions() -> pa.Table:
    """A desk long 3m EUR of the European stock and 1m USD of the US one."""
    rows = [
        {"portfolio_id": "EU", "position_id": "E1", "instrument_type": "equity", "underlying": "SIE", "quantity": 20_000.0},
        {"portfolio_id": "US", "position_id": "U1", "instrument_type": "equity", "underlying": "AAPL", "quantity": 5_500.0},
    ]
    return pa.table({name: pa.array([row.get(name) for row in rows], kind) for name, kind in POSITION_COLUMNS.items()})


def _night(prices: dict[str, np.ndarray], policy: DataQualityPolicy | None = None):
    return prepare_night(_table(prices, business_days(EASTER_MONDAY, DAYS)), "m", _positions(), "p", EASTER_MONDAY, policy or DataQualityPolicy(), "USD")


def _firm_var_99(night) -> float:
    parameters = ModelParameters(scenarios=20_000, block_size=4_096)
    pnl = portfolio_pnl(build_book(night.positions, night.market, parameters), night.market, parameters)
    return value_at_risk(pnl.sum(axis=0), 0.99)


def test_easter_monday_carries_the_european_close_forward_and_firm_var_stays_within_tolerance() -> None:
    full = _prices()
    holiday = {name: series.copy() for name, series in full.items()}
    holiday["SIE"][-1] = np.nan  # Easter Monday: no European close
    night = _night(holiday)
    assert night.excluded == [] and night.summary()["excluded_notional_unknown"] == 0
    (finding,) = [finding for finding in night.findings if finding.factor == "SIE"]
    assert finding.check == "gap" and finding.action == "flag" and "carried forward" in finding.detail
    sie = night.market.prices[:, night.market.index["SIE"]]
    assert sie[-1] == full["SIE"][-2]  # revalued from Thursday's close, no move on the holiday
    # the figure with one European close missing is the full-data figure, within one day's move of the stock
    assert _firm_var_99(night) == pytest.approx(_firm_var_99(_night(full)), rel=0.03)


def test_a_holiday_on_the_window_first_date_is_carried_back_not_an_exclusion() -> None:
    prices = _prices()
    prices["SIE"][0] = np.nan  # last year's Easter Monday, now the window's first date
    night = _night(prices)
    assert night.excluded == []
    (finding,) = [finding for finding in night.findings if finding.factor == "SIE"]
    assert finding.action == "flag" and "carried back" in finding.detail
    assert night.market.prices[0, night.market.index["SIE"]] == prices["SIE"][1]


def test_a_new_listing_takes_its_configured_proxy_and_without_one_is_excluded_with_the_reason() -> None:
    prices = _prices()
    listed = 161  # a hundred returns of its own, the window has 260
    prices["SIE"][:listed] = np.nan
    unmapped = _night(prices)
    assert [row.position_id for row in unmapped.excluded] == ["E1"]
    assert "no proxy is configured" in unmapped.excluded[0].reason and unmapped.excluded[0].notional is not None
    night = _night(prices, DataQualityPolicy(proxies={"SIE": "IDX_EU"}))
    assert night.excluded == [] and "IDX_EU" not in night.market.factors  # the proxy lends its returns, not a factor of the book
    (finding,) = [finding for finding in night.findings if finding.factor == "SIE"]
    assert finding.check == "proxy" and finding.action == "flag" and "IDX_EU" in finding.detail
    filled = np.diff(np.log(night.market.prices[:, night.market.index["SIE"]]))
    index = np.diff(np.log(prices["IDX_EU"]))
    # beta x the index's return plus the stock's own residual: its beta of 1.2, measured over their common days
    assert assert_filled_by_beta_and_own_residuals(filled, index, listed, "SIE", "IDX_EU", night.market.dates) == pytest.approx(1.2, rel=0.15)
    assert filled[listed:] == pytest.approx(np.diff(np.log(prices["SIE"][listed:])), rel=1e-12)  # its own history untouched


def test_a_proxy_without_history_of_its_own_leaves_the_factor_excluded_with_the_reason() -> None:
    prices = _prices()
    prices["SIE"][:161] = np.nan
    prices["IDX_EU"][:100] = np.nan
    night = _night(prices, DataQualityPolicy(proxies={"SIE": "IDX_EU"}))
    assert [row.position_id for row in night.excluded] == ["E1"] and "its proxy IDX_EU has no complete history" in night.excluded[0].reason


def _sample_with_a_new_listing(listed: int):
    """The sample's night (its shipped model configuration's policy) with the underlying of its first equity
    position listed `listed` dates into the window: the vendor sends no row before."""
    from riskbatch.inputs.sample import SampleSpec, market_table, positions_table

    spec = SampleSpec(positions=300, factors=40, days=260, portfolios=3)
    market = market_table(spec)
    count = len(set(market["factor"].to_pylist()))
    factors = market["factor"].to_pylist()[:count]
    positions = positions_table(spec, factors, market.slice(market.num_rows - count)["price"].to_numpy())
    kinds, underlyings = positions["instrument_type"].to_pylist(), positions["underlying"].to_pylist()
    listing = underlyings[kinds.index("equity")]
    dates = market["date"].to_pylist()
    first = sorted(set(dates))[listed]
    kept = [not (name == listing and day < first) for name, day in zip(market["factor"].to_pylist(), dates, strict=True)]
    return spec, market.filter(pa.array(kept)), positions, listing


def test_a_new_listing_of_the_sample_book_takes_the_shipped_proxy_map_named_and_flagged_not_excluded() -> None:
    """Before, the approved configuration mapped no factor: the listing and its positions were excluded."""
    from riskbatch.model.settings import data_quality_policy, load_model_config

    config = load_model_config()
    spec, market, positions, listing = _sample_with_a_new_listing(listed=120)
    night = prepare_night(market, "market.csv", positions, "positions.csv", spec.business_date, data_quality_policy(config), "USD")
    assert [row.position_id for row in night.excluded if row.underlying == listing] == []
    (finding,) = [finding for finding in night.findings if finding.factor == listing]
    proxy = proxy_of(listing, data_quality_policy(config).proxies)
    assert proxy and proxy.startswith("IDX_") and proxy in set(market["factor"].to_pylist())  # a named index of the sample's market
    assert finding.check == "proxy" and finding.action == "flag" and proxy in finding.detail
    assert listing in night.market.factors and proxy not in night.market.factors  # the proxy lends its returns, not a factor of the book


def test_a_listing_with_fewer_than_20_own_days_is_excluded_with_its_notional_not_priced_on_the_unscaled_index() -> None:
    """Before, 10 own days took the equity index's returns x 1: a single name held alone priced at the index's
    calm (VaR 99 % -72 % against its full history); now it is excluded with the reason and its notional."""
    from riskbatch.inputs.history_gaps import MIN_OVERLAP
    from riskbatch.model.settings import data_quality_policy, load_model_config

    policy = data_quality_policy(load_model_config())
    spec, market, positions, listing = _sample_with_a_new_listing(listed=spec_days() - 10)
    night = prepare_night(market, "market.csv", positions, "positions.csv", spec.business_date, policy, "USD")
    excluded = [row for row in night.excluded if row.underlying == listing]
    assert excluded and all(row.notional is not None and row.notional > 0 for row in excluded)
    (finding,) = [finding for finding in night.findings if finding.factor == listing]
    assert finding.check == "short_history" and finding.action == "exclude" and f"needs {MIN_OVERLAP} common days" in finding.detail
    assert listing not in night.market.factors


def spec_days() -> int:
    from riskbatch.inputs.sample import SampleSpec

    return SampleSpec(positions=300, factors=40, days=260, portfolios=3).days


def test_a_listing_with_20_or_more_own_days_is_proxied_with_its_beta_and_its_own_residuals() -> None:
    """The sample's listing with 25 own days: each earlier return is its beta x the index's plus one of its own
    residuals, not the index's scaled (correlation +1 with it)."""
    from riskbatch.model.settings import data_quality_policy, load_model_config

    policy = data_quality_policy(load_model_config())
    spec, market, positions, listing = _sample_with_a_new_listing(listed=spec_days() - 25)
    night = prepare_night(market, "market.csv", positions, "positions.csv", spec.business_date, policy, "USD")
    assert [row for row in night.excluded if row.underlying == listing] == []
    proxy = proxy_of(listing, policy.proxies)
    full = market_prices(market)
    filled = np.diff(np.log(night.market.prices[:, night.market.index[listing]]))
    index = np.diff(np.log(full[proxy]))
    assert_filled_by_beta_and_own_residuals(filled, index, spec_days() - 25, listing, proxy, night.market.dates)
    assert abs(np.corrcoef(filled[: spec_days() - 25], index[: spec_days() - 25])[0, 1]) < 0.99  # not the index's moves rescaled


def market_prices(market: pa.Table) -> dict[str, np.ndarray]:
    """Each factor's prices on the window's dates (NaN where the vendor sent no row)."""
    dates = sorted(set(market["date"].to_pylist()))
    rows = {day: i for i, day in enumerate(dates)}
    out: dict[str, np.ndarray] = {}
    for day, name, price in zip(market["date"].to_pylist(), market["factor"].to_pylist(), market["price"].to_pylist(), strict=True):
        out.setdefault(name, np.full(len(dates), np.nan))[rows[day]] = price
    return out


def test_a_name_with_half_its_index_s_moves_keeps_beta_0_5_not_floored_at_1() -> None:
    """Before, a name measured calmer than its index took the index's returns x 1 (the floor): held against
    half the index it looked half hedged. Now its regression beta 0.5 and its own residuals."""
    rng = np.random.default_rng(5)
    prices = _prices()
    index = np.diff(np.log(prices["IDX_EU"]))
    calm = 0.5 * index + rng.normal(0.0, 0.001, DAYS - 1)
    prices["SIE"] = 150.0 * np.exp(np.concatenate([[0.0], np.cumsum(calm)]))
    listed = DAYS - 40
    prices["SIE"][:listed] = np.nan
    night = _night(prices, DataQualityPolicy(proxies={"SIE": "IDX_EU"}))
    assert night.excluded == []
    filled = np.diff(np.log(night.market.prices[:, night.market.index["SIE"]]))
    assert assert_filled_by_beta_and_own_residuals(filled, index, listed, "SIE", "IDX_EU", night.market.dates) == pytest.approx(0.5, abs=0.05)
    (finding,) = [finding for finding in night.findings if finding.factor == "SIE"]
    assert "floored" not in finding.detail and f"{float(finding.detail.split('is ')[1].split(' x ')[0]):.1f}" == "0.5"


def test_a_portfolio_holding_a_proxied_listing_hedged_with_its_proxy_is_flagged_on_the_report() -> None:
    """Before, nothing said that the EU desk's hedge of a new listing with its own index rested on days modelled
    from that index; the US desk, without the index, is not flagged."""
    prices = _prices()
    prices["SIE"][:161] = np.nan
    rows = [
        {"portfolio_id": "EU", "position_id": "E1", "instrument_type": "equity", "underlying": "SIE", "quantity": 20_000.0},
        {"portfolio_id": "EU", "position_id": "E2", "instrument_type": "equity", "underlying": "IDX_EU", "quantity": -900.0},
        {"portfolio_id": "US", "position_id": "U1", "instrument_type": "equity", "underlying": "SIE", "quantity": 5_500.0},
    ]
    positions = pa.table({name: pa.array([row.get(name) for row in rows], kind) for name, kind in POSITION_COLUMNS.items()})
    policy = DataQualityPolicy(proxies={"SIE": "IDX_EU"})
    night = prepare_night(_table(prices, business_days(EASTER_MONDAY, DAYS)), "m", positions, "p", EASTER_MONDAY, policy, "USD")
    (flag,) = [finding for finding in night.findings if finding.check == "proxy_hedge"]
    assert flag.factor == "SIE" and flag.action == "flag" and "portfolio EU holds SIE and its proxy IDX_EU" in flag.detail

"""Inputs typed in the wrong units never reach the figures: an implied vol of 20 (meant 20 %) or a strike in
cents is excluded with its reason, by the bands of the versioned model configuration, and the night's VaR is
the VaR of the book without it, never the inflated one."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from riskbatch.inputs.files import load_market
from riskbatch.inputs.quality import DataQualityPolicy, prepare_night
from riskbatch.inputs.sample import SampleSpec, market_table, positions_table
from riskbatch.model.engine import build_book, portfolio_pnl
from riskbatch.model.risk_model import ModelParameters, value_at_risk
from riskbatch.model.settings import MODEL_CONFIG, data_quality_policy

SPEC = SampleSpec(positions=300, factors=40, days=260, option_share=0.3, seed=5)


def _night(edit) -> tuple:
    market = market_table(SPEC)
    spots = load_market(market, "m", SPEC.business_date).spot
    loaded = load_market(market, "m", SPEC.business_date)
    positions = positions_table(SPEC, loaded.factors, spots)
    kinds, expiries = positions["instrument_type"].to_pylist(), positions["expiry"].to_pylist()
    # the largest live option: one the night would otherwise price
    live = [row for row, kind in enumerate(kinds) if kind == "option" and expiries[row] > SPEC.business_date]
    quantities = positions["quantity"].to_pylist()
    row = max(live, key=lambda index: abs(quantities[index]))
    positions = edit(positions, row)
    night = prepare_night(market, "m", positions, "p", SPEC.business_date, data_quality_policy(), "USD")
    return night, positions["position_id"][row].as_py()


def _set(table: pa.Table, column: str, row: int, value: float) -> pa.Table:
    values = table[column].to_pylist()
    values[row] = value
    return table.set_column(table.column_names.index(column), column, pa.array(values, table.schema.field(column).type))


def _firm_var_99(night) -> float:
    parameters = ModelParameters(scenarios=4_000)
    book = build_book(night.positions, night.market)
    pnl = portfolio_pnl(book, night.market, parameters)
    return float(value_at_risk(pnl.sum(axis=0), 0.99))


@pytest.mark.parametrize(
    ("column", "scale", "reason"),
    [("implied_vol", 100.0, "a percentage typed as a number"), ("strike", 100.0, "another unit")],
    ids=["vol-as-percentage", "strike-in-cents"],
)
def test_an_input_in_the_wrong_units_is_excluded_with_its_reason(column: str, scale: float, reason: str) -> None:
    night, position = _night(lambda table, row: _set(table, column, row, table[column][row].as_py() * scale))
    (excluded,) = [row for row in night.excluded if row.position_id == position]
    assert excluded.reason.startswith(column) and reason in excluded.reason  # for this reason alone
    clean, _ = _night(lambda table, row: table.filter(pa.array([index != row for index in range(table.num_rows)])))
    assert _firm_var_99(night) == pytest.approx(_firm_var_99(clean), rel=1e-12)  # the night runs on without it


def test_the_bands_come_from_the_model_configuration_and_are_refused_when_absurd() -> None:
    policy = data_quality_policy()
    assert policy.implied_vol_band == (0.01, 3.0) and policy.strike_to_spot_band == (0.1, 10.0)
    with pytest.raises(ValueError, match="implied_vol_band"):
        DataQualityPolicy(implied_vol_band=(0.5, 0.1))
    assert np.isfinite(policy.implied_vol_band).all()


def _market_with_dividend(factor: str, value: float) -> pa.Table:
    market = market_table(SPEC)
    factors, yields = market["factor"].to_pylist(), market["dividend_yield"].to_pylist()
    edited = [value if name == factor else given for name, given in zip(factors, yields, strict=True)]
    return market.set_column(market.column_names.index("dividend_yield"), "dividend_yield", pa.array(edited, pa.float64()))


def test_a_dividend_yield_typed_as_a_percentage_excludes_its_factor_with_the_reason() -> None:
    # 0.5 meant 0.5 %: within the +-100 % that refuses a file, so it was priced as a 50 % yield
    market = market_table(SPEC)
    loaded = load_market(market, "m", SPEC.business_date)
    positions = positions_table(SPEC, loaded.factors, loaded.spot)
    underlying = next(name for name in positions["underlying"].to_pylist() if name.startswith("EQ_"))
    night = prepare_night(_market_with_dividend(underlying, 0.5), "m", positions, "p", SPEC.business_date, data_quality_policy(), "USD")
    on_it = {row.position_id for row in night.excluded if row.underlying == underlying}
    assert on_it == {pid for pid, name in zip(positions["position_id"].to_pylist(), positions["underlying"].to_pylist(), strict=True) if name == underlying}
    (finding,) = [finding for finding in night.findings if finding.factor == underlying]
    assert finding.check == "dividend_yield" and finding.action == "exclude" and "a percentage typed as a number" in finding.detail
    assert underlying not in night.market.factors


def test_a_quantity_far_beyond_its_portfolio_usual_size_is_excluded_and_the_var_is_the_book_without_it() -> None:
    # a quantity in shares where the desk types thousands: priced, it is the firm's whole VaR
    from riskbatch.inputs.plausibility import position_notionals

    typed: list[tuple[pa.Table, int]] = []

    def typed_in_shares(table: pa.Table, row: int) -> pa.Table:
        typed.append((_set(table, "quantity", row, table["quantity"][row].as_py() * 100_000.0), row))
        return typed[0][0]

    night, position = _night(typed_in_shares)
    (excluded,) = [row for row in night.excluded if row.position_id == position]
    assert excluded.reason.startswith("quantity: a notional") and "times the median of" in excluded.reason
    # above the band the notional excluded is the typed one (a unit error there can only overstate the excluded share)
    ((table, row),) = typed
    assert excluded.notional == pytest.approx(position_notionals(table, load_market(market_table(SPEC), "m", SPEC.business_date), "USD")[row], rel=1e-9)
    clean, _ = _night(lambda table, row: table.filter(pa.array([index != row for index in range(table.num_rows)])))
    assert _firm_var_99(night) == pytest.approx(_firm_var_99(clean), rel=1e-12)


def test_a_quantity_typed_in_thousands_far_below_its_portfolio_usual_size_is_excluded_and_the_var_is_the_book_without_it() -> None:
    """250 typed for 250,000: priced, the position's risk vanishes from the figures unseen (the lower side of the band)."""
    from riskbatch.inputs.plausibility import position_notionals

    market = market_table(SPEC)
    loaded = load_market(market, "m", SPEC.business_date)
    positions = positions_table(SPEC, loaded.factors, loaded.spot)
    notionals = position_notionals(positions, loaded, "USD")
    portfolios = np.array(positions["portfolio_id"].to_pylist())
    mine = np.flatnonzero((portfolios == "PF01") & np.isfinite(notionals))
    row = int(mine[np.argmin(np.abs(notionals[mine] - np.median(notionals[mine])))])  # a position of the portfolio's usual size
    typed = _set(positions, "quantity", row, positions["quantity"][row].as_py() / 1_000.0)
    night = prepare_night(market, "m", typed, "p", SPEC.business_date, data_quality_policy(), "USD")
    position = positions["position_id"][row].as_py()
    (excluded,) = [found for found in night.excluded if found.position_id == position]
    assert excluded.reason.startswith("quantity: a notional") and "below" in excluded.reason and "of PF01's positions" in excluded.reason
    # the notional excluded is the portfolio's usual size (the median of the book as typed), never the typed thousandth that would hide it
    # from the excluded share (before: the typed notional); the reason gives both
    typed_notionals = position_notionals(typed, loaded, "USD")
    usual = float(np.median(typed_notionals[mine]))
    assert excluded.notional == pytest.approx(usual, rel=1e-9) and typed_notionals[row] < usual * data_quality_policy().quantity_to_usual_min
    assert f"at that median, {usual:,.0f} USD, not the {typed_notionals[row]:,.0f} typed" in excluded.reason
    # the quarantine record keeps the typed notional beside the presumed one (before: the median only); the totals count the presumed one
    summary = night.summary()
    (record,) = [found for found in summary["excluded"] if found["position_id"] == position]
    assert record["notional"] == pytest.approx(usual, rel=1e-9) and record["typed_notional"] == pytest.approx(typed_notionals[row], rel=1e-9)
    assert summary["excluded_notional"] == pytest.approx(sum(found["notional"] for found in summary["excluded"] if found["notional"] is not None), rel=1e-12)
    assert all(found["typed_notional"] is None for found in summary["excluded"] if found["position_id"] != position)
    clean = prepare_night(market, "m", positions.filter(pa.array(np.arange(positions.num_rows) != row)), "p", SPEC.business_date, data_quality_policy(), "USD")
    assert _firm_var_99(night) == pytest.approx(_firm_var_99(clean), rel=1e-12)
    # the book as it is keeps every position of a plausible size: the band's lower side excludes none of them
    as_is = prepare_night(market, "m", positions, "p", SPEC.business_date, data_quality_policy(), "USD")
    assert not [found for found in as_is.excluded if found.reason.startswith("quantity:")]


def test_the_yield_and_quantity_bands_are_in_the_versioned_configuration() -> None:
    policy = data_quality_policy()
    configured = json.loads(MODEL_CONFIG.read_text())["data_quality"]
    assert policy.dividend_yield_band == (0.0, 0.15) and policy.quantity_to_usual_max == configured["quantity_to_usual_max"] == 1000.0
    assert policy.quantity_to_usual_min == configured["quantity_to_usual_min"] and 0.0 < policy.quantity_to_usual_min < 1.0
    with pytest.raises(ValueError, match=r"quantity_to_usual_min in \[0, 1\)"):
        DataQualityPolicy(quantity_to_usual_min=1.5)
    with pytest.raises(ValueError, match="dividend_yield_band"):
        DataQualityPolicy(dividend_yield_band=(0.2, 0.1))

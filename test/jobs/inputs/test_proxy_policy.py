"""A short history proxied by its index: the index's own holidays bridged whatever the names' order,
and the proxied days keep the name's own risk beside the index's.

Before: one holiday of the index before the listing excluded EQ_NEW ("its proxy IDX_EQ has no complete
history before it") while ZZ_NEW, with the same data, was proxied (the index was bridged only when
the book held it and it sorted first); and the proxied days were the index's x a volatility ratio,
correlation +1 with it: long the name and short its beta in the index looked half as risky as its
true history, and a name with beta -0.5 moved with the index (+0.71 against -0.39)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from riskbatch.inputs.history_gaps import complete_histories
from riskbatch.inputs.proxy_fill import proxy_seed

DAYS = 301
DATES = [dt.date(2025, 1, 1) + dt.timedelta(days=i) for i in range(DAYS)]
LISTED = 250  # the listing's first price: 50 returns of its own


def _index_and_listing(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    index = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, DAYS)))
    listing = np.full(DAYS, np.nan)
    listing[LISTED:] = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, DAYS - LISTED)))
    return index, listing


def assert_filled_by_beta_and_own_residuals(filled: np.ndarray, index: np.ndarray, first: int) -> float:
    """Each of the `first` filled returns is beta x the index's that day plus one of the name's residuals over
    their common days (its own returns less beta x the index's, both less their means); the regression's beta."""
    own, theirs = filled[first:], index[first:]
    beta = float(np.cov(own, theirs, bias=True)[0, 1] / np.var(theirs))
    residuals = (own - own.mean()) - beta * (theirs - theirs.mean())
    leftover = filled[:first] - beta * index[:first]
    assert np.isclose(leftover[:, None], residuals[None, :], rtol=0, atol=1e-12).any(axis=1).all()
    return beta


@pytest.mark.parametrize(
    ("listing", "held"),
    [("EQ_NEW", ["EQ_NEW"]), ("EQ_NEW", ["EQ_NEW", "IDX_EQ"]), ("A_NEW", ["A_NEW", "IDX_EQ"]), ("ZZ_NEW", ["IDX_EQ", "ZZ_NEW"])],
)
def test_an_index_holiday_before_the_listing_is_bridged_whatever_the_order_and_whether_the_book_holds_the_index(listing: str, held: list[str]) -> None:
    index, own = _index_and_listing()
    index[100] = np.nan  # the index's local holiday, long before the listing
    prices = np.column_stack([own, index])
    out, findings = complete_histories(prices, DATES, {listing: 0, "IDX_EQ": 1}, held, 3, {"EQ_*": "IDX_EQ", "A_NEW": "IDX_EQ", "ZZ_NEW": "IDX_EQ"})
    (finding,) = [finding for finding in findings if finding.factor == listing]
    assert finding.check == "proxy" and finding.action == "flag" and "IDX_EQ" in finding.detail
    filled = out[:, 0]
    assert np.all(np.isfinite(filled)) and np.all(filled > 0) and filled[LISTED:] == pytest.approx(own[LISTED:], rel=1e-12)
    bridged = index.copy()
    bridged[100] = index[99]  # the index's holiday: its last price carried, one return folded into the next
    assert_filled_by_beta_and_own_residuals(np.diff(np.log(filled)), np.diff(np.log(bridged)), LISTED)

def _listing_with_beta(beta: float, rng: np.random.Generator, index_returns: np.ndarray) -> np.ndarray:
    own = beta * index_returns + rng.normal(0, 0.015, DAYS - 1)  # beta to the index plus its own risk
    return 50 * np.exp(np.concatenate([[0.0], np.cumsum(own)]))


@pytest.mark.parametrize("beta", [1.0, -0.5])
def test_a_proxied_name_hedged_with_its_index_keeps_its_own_risk_and_its_measured_correlation(beta: float) -> None:
    rng = np.random.default_rng(7)
    index_returns = rng.normal(0, 0.01, DAYS - 1)
    index = 100 * np.exp(np.concatenate([[0.0], np.cumsum(index_returns)]))
    true = _listing_with_beta(beta, rng, index_returns)
    listed = true.copy()
    listed[:LISTED] = np.nan  # 250 of its 300 returns proxied
    out, _ = complete_histories(np.column_stack([listed, index]), DATES, {"EQ_NEW": 0, "IDX_EQ": 1}, ["EQ_NEW"], 3, {"EQ_*": "IDX_EQ"})
    filled, truth = np.diff(np.log(out[:, 0])), np.diff(np.log(true))
    hedge = np.cov(truth, index_returns)[0, 1] / index_returns.var()  # the desk's hedge: short its beta in the index
    # before: 0.0069 against the true 0.0138 (beta 1), the hedge looked half as risky
    assert np.std(filled - hedge * index_returns) == pytest.approx(np.std(truth - hedge * index_returns), rel=0.2)
    true_correlation, proxied_correlation = np.corrcoef(truth, index_returns)[0, 1], np.corrcoef(filled, index_returns)[0, 1]
    assert np.sign(proxied_correlation) == np.sign(true_correlation) and proxied_correlation == pytest.approx(true_correlation, abs=0.15)


@pytest.mark.clock
def test_the_residual_draws_are_seeded_by_the_factor_and_the_business_date_recorded_and_reproduced_bit_for_bit() -> None:
    index, own = _index_and_listing(seed=3)
    prices = np.column_stack([own, index])
    night = dt.date(2025, 10, 28)

    def fill(on: dt.date):
        return complete_histories(prices, DATES, {"EQ_NEW": 0, "IDX_EQ": 1}, ["EQ_NEW"], 3, {"EQ_*": "IDX_EQ"}, on)

    (first, (finding,)), (again, _), (next_night, _) = fill(night), fill(night), fill(night + dt.timedelta(days=1))
    assert np.array_equal(first, again, equal_nan=True)  # the night re-run fills the same returns
    assert not np.array_equal(first[:LISTED, 0], next_night[:LISTED, 0])  # another night draws again
    assert f"seed {proxy_seed('EQ_NEW', night)}" in finding.detail and str(night) in finding.detail

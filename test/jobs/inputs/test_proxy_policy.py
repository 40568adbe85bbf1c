"""A short history proxied by its index: the index's own holidays bridged whatever the names' order,
and the proxied days keep the name's own risk beside the index's.

Before: one holiday of the index before the listing excluded EQ_NEW ("its proxy IDX_EQ has no complete
history before it") while ZZ_NEW, with the same data, was proxied (the index was bridged only when
the book held it and it sorted first); and the proxied days were the index's x a volatility ratio,
correlation +1 with it: long the name and short its beta in the index looked half as risky as its
true history, and a name with beta -0.5 moved with the index (+0.71 against -0.39)."""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import pytest

from riskbatch.inputs.history_gaps import complete_histories

DAYS = 301
DATES = [dt.date(2025, 1, 1) + dt.timedelta(days=i) for i in range(DAYS)]
LISTED = 250  # the listing's first price: 50 returns of its own


def _index_and_listing(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    index = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, DAYS)))
    listing = np.full(DAYS, np.nan)
    listing[LISTED:] = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, DAYS - LISTED)))
    return index, listing


def day_quantiles(name: str, proxy: str, days: list[dt.date], window: str) -> np.ndarray:
    """The stated rule's uniform of each filled day: the first 8 bytes of the SHA-256 of the factor, its proxy,
    the day's date and the window kind, in (0, 1); no business date in it."""
    words = [int.from_bytes(hashlib.sha256(f"{name}|{proxy}|{day.isoformat()}|{window}".encode()).digest()[:8], "big") for day in days]
    return (np.array(words, dtype=float) + 0.5) / 2.0**64


def assert_filled_by_beta_and_own_residuals(
    filled: np.ndarray, index: np.ndarray, first: int, name: str = "EQ_NEW", proxy: str = "IDX_EQ", days: list[dt.date] = DATES
) -> float:
    """Each of the `first` filled returns is beta x the index's that day plus the name's residuals' empirical
    quantile at that day's uniform, the residuals over their common days (its own returns less beta x the
    index's, both less their means); the regression's beta."""
    own, theirs = filled[first:], index[first:]
    beta = float(np.cov(own, theirs, bias=True)[0, 1] / np.var(theirs))
    residuals = (own - own.mean()) - beta * (theirs - theirs.mean())
    leftover = filled[:first] - beta * index[:first]
    assert leftover == pytest.approx(np.quantile(residuals, day_quantiles(name, proxy, days[1 : first + 1], "nightly")), rel=0, abs=1e-12)
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
    assert_filled_by_beta_and_own_residuals(np.diff(np.log(filled)), np.diff(np.log(bridged)), LISTED, listing)

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
    # the fill keeps the correlation measured over the listing's own days (its estimate of the true one, 50 returns)
    measured = np.corrcoef(truth[LISTED - 1 :], index_returns[LISTED - 1 :])[0, 1]
    assert np.sign(proxied_correlation) == np.sign(true_correlation) and proxied_correlation == pytest.approx(measured, abs=0.1)


@pytest.mark.clock
def test_a_re_run_of_the_night_fills_the_same_returns_bit_for_bit_and_the_finding_states_the_rule() -> None:
    index, own = _index_and_listing(seed=3)
    prices = np.column_stack([own, index])
    first, (finding,) = complete_histories(prices, DATES, {"EQ_NEW": 0, "IDX_EQ": 1}, ["EQ_NEW"], 3, {"EQ_*": "IDX_EQ"})
    again, _ = complete_histories(prices, DATES, {"EQ_NEW": 0, "IDX_EQ": 1}, ["EQ_NEW"], 3, {"EQ_*": "IDX_EQ"})
    assert np.array_equal(first, again, equal_nan=True)
    assert "SHA-256 of its name, IDX_EQ, that day's date and the window (nightly), the same every night" in finding.detail


@pytest.mark.clock
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_two_consecutive_nights_fill_each_day_they_share_with_nearly_the_same_return(seed: int) -> None:
    """Night t's window is rows 0..299, night t+1's rows 1..300: one more own return, one filled day less, so beta
    and the residuals move a little. Before, none of the 248 shared filled days kept its return (a new draw each
    night, historical VaR 99 of the name 6 % apart from seed to seed); now each moves by a fraction of the
    residuals' volatility."""
    index, own = _index_and_listing(seed=seed)
    prices = np.column_stack([own, index])
    held = {"EQ_NEW": 0, "IDX_EQ": 1}
    tonight, _ = complete_histories(prices[:-1], DATES[:-1], held, ["EQ_NEW"], 3, {"EQ_*": "IDX_EQ"})
    tomorrow, _ = complete_histories(prices[1:], DATES[1:], held, ["EQ_NEW"], 3, {"EQ_*": "IDX_EQ"})
    # the returns ending on rows 2..249, filled on both nights
    shared_tonight, shared_tomorrow = np.diff(np.log(tonight[:, 0]))[1 : LISTED - 1], np.diff(np.log(tomorrow[:, 0]))[: LISTED - 2]
    assert len(shared_tonight) == LISTED - 2
    own_returns, index_returns = np.diff(np.log(own[LISTED:])), np.diff(np.log(index[LISTED:]))
    beta = np.cov(own_returns, index_returns, bias=True)[0, 1] / np.var(index_returns)
    residual_sd = np.std(own_returns - beta * index_returns)
    moved = np.abs(shared_tonight - shared_tomorrow) / residual_sd
    # beta and the residuals are measured again on 50 returns instead of 49: a small move, never a new draw
    assert np.mean(moved <= 0.1) >= 0.9 and moved.max() <= 0.25

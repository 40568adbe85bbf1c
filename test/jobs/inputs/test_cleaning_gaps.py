"""The cleaning standard on histories with gaps and on small or mistyped ratios (riskbatch.inputs.cleaning):
a split reaches the stored copy of the market file (the backtest's moves) though the factor missed a day,
a short history's proxy is scaled on cleaned prices, a recorded split is applied only on a day that jumped,
and the reason a record is not applied is read on the prices the rule read."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from riskbatch.inputs.cleaning import CleaningPolicy, clean_history, robust_scale
from riskbatch.inputs.files import POSITION_COLUMNS, Market
from riskbatch.inputs.quality import DataQualityPolicy, PreparedNight, prepare_night
from riskbatch.inputs.sample import business_days
from riskbatch.reporting.corporate_action_lines import corporate_action_lines
from riskbatch.validation.history import market_move
from riskbatch.validation.stress_history import nightly_fit
from test.jobs.inputs.test_cleaning import DAYS, MONDAY, NAMES, _book, _night, _prices, _table

DATES = business_days(MONDAY, DAYS)


def _last_move(prices: np.ndarray, column: int) -> float:
    return float(np.log(prices[-1, column] / prices[-2, column]))


@pytest.mark.parametrize("in_tonights_book", [True, False])
def test_a_split_tonight_reaches_the_stored_copy_though_the_factor_missed_a_day(in_tonights_book: bool) -> None:
    """A 2:1 split effective tonight with its record; EQ_3 has no price 200 days back (a local holiday).
    Before: the stored copy (whole file, the backtest's moves) skipped any factor with a gap, so it kept
    the raw -0.681 log move (backtest -49.4 % on EQ_3, yesterday's book about -5,344 against VaR 99 % 689);
    and a factor outside tonight's book was never cleaned at all. After: the stored copy carries the cleaned
    move (+0.012, as tonight's market), and the holiday stays a day without a price."""
    prices = _prices()
    raw = {**prices, "EQ_3": prices["EQ_3"].copy()}
    raw["EQ_3"][-1:] /= 2.0
    raw["EQ_3"][100] = np.nan
    book = _book(raw) if in_tonights_book else _book({**raw, "EQ_3": prices["EQ_3"]}).filter(pa.array([name != "EQ_3" for name in NAMES]))
    night = _night(raw, DATES, book, actions={"EQ_3": {DATES[-1].isoformat(): 2.0}})
    stored = night.whole_market.prices[:, night.whole_market.index["EQ_3"]]
    true_move = float(np.log(prices["EQ_3"][-1] / prices["EQ_3"][-2]))
    assert [(c.factor, c.rule) for c in night.cleanings] == [("EQ_3", "split")]
    assert _last_move(night.whole_market.prices, night.whole_market.index["EQ_3"]) == pytest.approx(true_move, abs=1e-12)
    assert np.isnan(stored[100]) and np.allclose(np.delete(stored, 100), np.delete(prices["EQ_3"], 100) / 2.0, rtol=1e-12)
    unsplit = {**prices, "EQ_3": prices["EQ_3"].copy()}
    unsplit["EQ_3"][100] = np.nan
    yesterday = _night({name: series[:-1] for name, series in unsplit.items()}, DATES[:-1], _book(unsplit))
    moves, missing = market_move(yesterday.market, night.whole_market, night.untrusted_last_day)
    assert missing == [] and moves[yesterday.market.index["EQ_3"]] == pytest.approx(true_move, abs=1e-12)


def _listing_night(split: bool) -> PreparedNight:
    """IDX_EQ over the whole window; EQ_NEW listed on day 250, a 2:1 split on day 280 (recorded) or none."""
    rng = np.random.default_rng(5)
    index = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, DAYS)))
    listing = np.full(DAYS, np.nan)
    listing[250:] = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, DAYS - 250)))
    if split:
        listing[280:] /= 2.0
    rows = [{"portfolio_id": "A", "position_id": "P0", "instrument_type": "equity", "underlying": "EQ_NEW", "quantity": 100.0}]
    book = pa.table({name: pa.array([row.get(name) for row in rows], kind) for name, kind in POSITION_COLUMNS.items()})
    actions = {"EQ_NEW": {DATES[280].isoformat(): 2.0}} if split else None
    policy = DataQualityPolicy(proxies={"EQ_*": "IDX_EQ"})
    return prepare_night(_table({"IDX_EQ": index, "EQ_NEW": listing}, DATES), "m", book, "p", DATES[-1], policy, "USD", corporate_actions=actions)


def test_a_short_historys_proxy_is_scaled_on_its_cleaned_prices() -> None:
    """A new listing (50 own days) proxied by its index, with a recorded 2:1 split on its day 280. Before: the
    proxy's scale was measured before the cleaning, on the -69 % split day (x11.9 against x2.46 without the split:
    the proxied part's daily vol 0.116 against its own 0.021), and stressed VaR's scale read the uncleaned stored
    copy (11.87). After: the fill's beta and residuals (the nightly and the stressed VaR's) are the night's without a
    split, and so is every return of the history."""
    plain, split = _listing_night(False), _listing_night(True)
    assert [(c.factor, c.rule) for c in split.cleanings] == [("EQ_NEW", "split")]
    returns = [np.diff(np.log(night.market.prices[:, night.market.index["EQ_NEW"]])) for night in (plain, split)]
    assert np.allclose(returns[0], returns[1], rtol=0, atol=1e-12)
    assert [f.detail for f in split.findings if f.check == "proxy"] == [f.detail for f in plain.findings if f.check == "proxy"]
    fits = [nightly_fit("EQ_NEW", "IDX_EQ", night.whole_market) for night in (plain, split)]  # the stressed VaR's fill
    assert fits[0] is not None and fits[1] is not None and fits[1].beta == pytest.approx(fits[0].beta, rel=1e-9)
    assert np.std(fits[1].residuals) == pytest.approx(np.std(fits[0].residuals), rel=1e-9)


SPLIT_DAY = 200


def _recorded(raw: dict[str, np.ndarray], ratio: float) -> PreparedNight:
    return _night(raw, DATES, _book(raw), actions={"EQ_3": {DATES[SPLIT_DAY].isoformat(): ratio}})


def _day_return(night: PreparedNight) -> float:
    column = night.market.prices[:, night.market.index["EQ_3"]]
    return float(np.log(column[SPLIT_DAY] / column[SPLIT_DAY - 1]))


def _divided_out(series: np.ndarray, ratio: float) -> tuple[str, str]:
    """What a record of `ratio` on SPLIT_DAY divides out of the day's move, and a whole split's size, both in the
    factor's robust standard deviations, as the reason prints them."""
    returns = np.diff(np.log(series))
    median, sigma = robust_scale(returns) or (0.0, 1.0)
    move = returns[SPLIT_DAY - 1]
    return f"{(abs(move - median) - abs(move + np.log(ratio) - median)) / sigma:.1f}", f"{abs(np.log(ratio)) / sigma:.1f}"


def test_a_ratio_near_one_on_a_usual_move_is_not_applied() -> None:
    """A 5 % stock dividend (1.05) recorded on a history the vendor already adjusted, on a day the 1 %/day stock fell 3 %.
    Before: -3 % is nearer the record's -4.8 % than no move, so it was divided out again: the day became +1.8 %.
    After: dividing 1.05 out brings the day about one robust standard deviation nearer the median, not the
    jump_sigmas / 2 a split must explain: not applied, the day stays -3 %, reported with what the record divides out."""
    raw = {name: series.copy() for name, series in _prices().items()}
    raw["EQ_3"][SPLIT_DAY:] *= 0.97 * raw["EQ_3"][SPLIT_DAY - 1] / raw["EQ_3"][SPLIT_DAY]
    night = _recorded(raw, 1.05)
    assert night.cleanings == []
    assert _day_return(night) == pytest.approx(np.log(0.97), abs=1e-12)
    (finding,) = [f for f in night.findings if f.check == "corporate_action"]
    explained, whole = _divided_out(raw["EQ_3"], 1.05)
    assert finding.factor == "EQ_3" and f"the record divides out only {explained} robust standard deviations of the day's move of -3.0%" in finding.detail
    assert f"a split must explain more than 5 (a split of 1.05 is only {whole} robust standard deviations of this factor: it cannot be told" in finding.detail


@pytest.mark.parametrize(("vol", "day_move"), [(0.01, 0.695), (0.16, 0.45)])
def test_the_reason_a_split_of_two_is_not_applied_says_what_it_divides_out(vol: float, day_move: float) -> None:
    """A 2:1 record on a day that fell 30.5 % on a 1 %/day stock (nearer the split by a hair, leaving +39 %), and one on
    a day that a 16 %/day stock fell 55 % (-10 % once halved). Neither is applied: the record divides out less than jump_sigmas / 2. Before: the
    first was applied (a -30.5 % jump swapped for a +39 % one), and the second was reported as "a ratio this near 1 cannot
    be told from a move", untrue of a 2. After: the reason gives what the record divides out; a split of 2 is said to be
    indistinguishable from a move only where it is on the factor's scale (under 5 robust standard deviations of a 16 %/day stock)."""
    prices = _prices()
    raw = {**prices, "EQ_3": 50.0 * np.exp(np.log(prices["EQ_3"] / 50.0) * vol / 0.01)}
    raw["EQ_3"][SPLIT_DAY:] *= day_move * raw["EQ_3"][SPLIT_DAY - 1] / raw["EQ_3"][SPLIT_DAY]
    night = _recorded(raw, 2.0)
    assert night.cleanings == []
    (finding,) = [f for f in night.findings if f.check == "corporate_action"]
    explained, whole = _divided_out(raw["EQ_3"], 2.0)
    assert (
        f"the record divides out only {explained} robust standard deviations of the day's move of {day_move - 1:+.1%}"
        f" ({2 * day_move - 1:+.1%} once divided by 2), a split must explain more than 5" in finding.detail
    )
    assert "near 1" not in finding.detail
    indistinguishable = f"(a split of 2 is only {whole} robust standard deviations of this factor: it cannot be told from a move)"
    assert (indistinguishable in finding.detail) == (float(whole) <= 5)


def test_a_mistyped_ratio_leaves_a_jump_that_page_one_tells_with_the_ratio_that_leaves_none() -> None:
    """A 3:2 split recorded as 2:1 on a 1 %/day stock. It is applied (the day jumped, nearer the record than no
    split), and leaves +33.9 % as the day's move. Before: page one said only "a 2:1 split". After: the cleaning
    records the leftover jump, and page one names it with the ratio that would leave no move (1.49 here)."""
    raw = {name: series.copy() for name, series in _prices().items()}
    raw["EQ_3"][SPLIT_DAY:] /= 1.5
    night = _recorded(raw, 2.0)
    (cleaning,) = night.cleanings
    move = float(np.log(raw["EQ_3"][SPLIT_DAY] / raw["EQ_3"][SPLIT_DAY - 1]))
    assert cleaning.leftover_jump == pytest.approx(move + np.log(2.0), abs=1e-12)
    (line,) = corporate_action_lines({"business_date": DATES[-1].isoformat(), "data_quality": night.summary()})
    assert f"EQ_3 a 2:1 split effective {DATES[SPLIT_DAY]}" in line
    assert f"{np.expm1(move + np.log(2.0)):+.1%}, is itself a jump" in line and f"a ratio of {np.exp(-move):.3g} would leave none" in line


def test_a_split_whose_day_is_a_usual_move_once_divided_out_says_nothing_more_on_page_one() -> None:
    raw = {name: series.copy() for name, series in _prices().items()}
    raw["EQ_3"][SPLIT_DAY:] /= 2.0
    (cleaning,) = _recorded(raw, 2.0).cleanings
    assert cleaning.leftover_jump is None


def test_the_reason_a_record_is_not_applied_is_read_on_the_bridged_history() -> None:
    """A true 3:1 split recorded as 2:1 on a factor missing one day (bridged). Before: "the factor's history is
    incomplete", read on the raw file. After: the reason read where the rule read the move: it contradicts the ratio."""
    raw = {name: series.copy() for name, series in _prices().items()}
    raw["EQ_3"][SPLIT_DAY:] /= 3.0
    raw["EQ_3"][50] = np.nan
    night = _recorded(raw, 2.0)
    assert night.cleanings == []
    (finding,) = [f for f in night.findings if f.check == "corporate_action"]
    assert "the move contradicts the ratio" in finding.detail and "incomplete" not in finding.detail


@pytest.mark.parametrize("currency_holidays", [True, False])
def test_a_crash_in_ten_equities_beside_forty_quiet_currencies_is_the_markets_and_stays(currency_holidays: bool) -> None:
    """Ten equities fall 9.5 % and rise 9.3 % the next day (12-13 March 2020) in a file that also carries 40 quiet
    currencies. Before: a market-wide day needed 25 % of the file's factors to jump, 12.5 of these 50, so the crash was
    taken for ten bad ticks and cleaned out (EQ_0's stored move -0.5 % against -9.5 %: the backtest of that day's book
    would have seen no loss). After: four factors jumping make a market-wide day, whatever the file's size."""
    rng = np.random.default_rng(5)
    days = 261
    dates = [dt.date(2019, 3, 15) + dt.timedelta(days=i) for i in range(days)]
    names = [f"EQ_{i}" for i in range(10)] + [f"FX_C{i:02d}USD" for i in range(40)]
    common = rng.normal(0, 0.006, days)
    returns = np.column_stack([common + rng.normal(0, 0.004, days) for _ in range(10)] + [rng.normal(0, 0.004, days) for _ in range(40)])
    returns[250, :10], returns[251, :10] = np.log(1 - 0.095), np.log(1 + 0.093)
    prices = 100 * np.exp(np.cumsum(returns, axis=0))
    if currency_holidays:
        prices[120, 10:] = np.nan  # one local holiday each
    cleaned, cleanings = clean_history(Market(dates[-1], dates, names, prices), prices, names, CleaningPolicy())
    assert [item.factor for item in cleanings if item.factor.startswith("EQ_")] == []
    assert np.expm1(np.log(cleaned[250, 0] / cleaned[249, 0])) == pytest.approx(-0.095, abs=1e-12)

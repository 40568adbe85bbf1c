"""A realistic sample book and market history for the demo and the tests."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from riskbatch.inputs.business_days import business_days_after, business_days_ending

FX_PAIRS = ["EURUSD", "GBPUSD", "USDJPY", "AUDUSD", "USDCAD", "USDCHF", "NZDUSD", "EURGBP", "EURJPY", "USDSEK", "USDNOK", "USDMXN"]


@dataclass(frozen=True)
class SampleSpec:
    positions: int = 3_000
    factors: int = 300
    days: int = 300
    portfolios: int = 8
    option_share: float = 0.10
    business_date: dt.date = dt.date(2026, 11, 25)
    seed: int = 7
    # What the demo should show: equities in EUR beside USD ones, dividend yields, implied-vol
    # factors for some underlyings, an option expiring on the business date and a row with a
    # NaN quantity (both excluded and listed in the report).
    features: bool = True
    # How the factors' returns move: "gaussian" (constant volatility, normal: the model's own
    # assumption) or "garch-t" (GARCH(1,1) volatility clustering, Student-t innovations: fat tails).
    dynamics: str = "gaussian"


EUR_EVERY = 5  # every fifth equity is quoted in EUR (when the book has an FX_EURUSD rate)
SAMPLE_INDEX, SAMPLE_INDEX_LEVEL = "IDX_EQ", 1_000.0  # the sample's equity index (USD): the proxy of its short histories
VOL_FACTOR_EVERY = 60  # one implied-vol factor per this many factors


def business_days(end: dt.date, count: int) -> list[dt.date]:
    """The sample's history: the exchange calendar's business days up to `end`."""
    return business_days_ending(end, count)


def factor_names(spec: SampleSpec) -> tuple[list[str], list[str], list[str]]:
    """(equities, FX rates, implied-vol factors) of the sample market."""
    fx = [f"FX_{pair}" for pair in FX_PAIRS[: max(1, min(len(FX_PAIRS), spec.factors // 25))]]
    vols = [f"VOL_EQ_{i:04d}" for i in range(max(1, spec.factors // VOL_FACTOR_EVERY))] if spec.features else []
    equities = [f"EQ_{i:04d}" for i in range(spec.factors - len(fx) - len(vols))]
    return equities, fx, vols


# GARCH(1,1) of the "garch-t" dynamics: h_t = omega + alpha r_{t-1}^2 + beta h_{t-1}, omega set so
# that the long-run variance is the factor's daily variance; innovations Student-t (unit variance).
GARCH_ALPHA, GARCH_BETA, GARCH_DEGREES_OF_FREEDOM = 0.08, 0.90, 5.0


def garch_t_returns(shocks: np.ndarray, daily_vol: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Returns with GARCH(1,1) volatility per factor from correlated unit-variance normal `shocks`
    (days x factors), made Student-t by one chi-square mixing per day (a multivariate t: the
    factors' tails arrive together)."""
    nu = GARCH_DEGREES_OF_FREEDOM
    innovations = shocks * np.sqrt((nu - 2.0) / rng.chisquare(nu, size=len(shocks)))[:, None]
    long_run = daily_vol**2
    omega = long_run * (1.0 - GARCH_ALPHA - GARCH_BETA)
    variance, returns = long_run.copy(), np.empty_like(shocks)
    for day in range(len(shocks)):
        returns[day] = np.sqrt(variance) * innovations[day]
        variance = omega + GARCH_ALPHA * returns[day] ** 2 + GARCH_BETA * variance
    return returns


def market_table(spec: SampleSpec) -> pa.Table:
    """A correlated history: a few common drivers plus idiosyncratic noise, as geometric paths
    (with spec.dynamics "garch-t", volatility clusters and the tails are fat)."""
    rng = np.random.default_rng(spec.seed)
    equities, fx, vols = factor_names(spec)
    names = equities + fx
    drivers = 4
    loadings = rng.normal(0.0, 1.0, (len(names), drivers)) * np.where(np.arange(len(names)) < len(equities), 1.0, 0.3)[:, None]
    daily_vol = np.where(np.arange(len(names)) < len(equities), rng.uniform(0.01, 0.03, len(names)), rng.uniform(0.004, 0.008, len(names)))
    common = rng.normal(0.0, 1.0, (spec.days - 1, drivers)) @ loadings.T
    common /= np.sqrt(np.sum(loadings**2, axis=1) + 1.0)
    noise = rng.normal(0.0, 1.0, (spec.days - 1, len(names))) / np.sqrt(np.sum(loadings**2, axis=1) + 1.0)
    if spec.dynamics == "garch-t":
        returns = garch_t_returns(common + noise, daily_vol, rng)
    elif spec.dynamics == "gaussian":
        returns = (common + noise) * daily_vol
    else:
        raise ValueError(f"dynamics is gaussian or garch-t, not {spec.dynamics!r}")
    start = np.where(np.arange(len(names)) < len(equities), rng.uniform(20.0, 400.0, len(names)), rng.uniform(0.6, 1.6, len(names)))
    prices = start * np.exp(np.vstack([np.zeros(len(names)), np.cumsum(returns, axis=0)]))
    if vols:
        # implied volatility levels: mean-reverting in logs around 25 %, moving against their equity
        level = np.empty((spec.days, len(vols)))
        level[0] = np.log(rng.uniform(0.18, 0.35, len(vols)))
        for day in range(1, spec.days):
            shock = rng.normal(0.0, 0.04, len(vols)) - 2.0 * returns[day - 1, : len(vols)]
            level[day] = level[day - 1] + 0.05 * (np.log(0.25) - level[day - 1]) + shock
        prices = np.hstack([prices, np.exp(level)])
        names = names + vols
    # the sample's equity index: the equally weighted log return of its equities, a named factor no position
    # holds, the proxy the model configuration gives a listing younger than the window (data_quality.proxies)
    index = SAMPLE_INDEX_LEVEL * np.exp(np.concatenate([[0.0], np.cumsum(returns[:, : len(equities)].mean(axis=1))]))
    prices, names = np.column_stack([prices, index]), [*names, SAMPLE_INDEX]
    currencies = [_currency(name, spec) for name in names]
    dividends = [float(round(rng.uniform(0.0, 0.04), 4)) if name.startswith("EQ_") and spec.features else 0.0 for name in names]
    dates = business_days(spec.business_date, spec.days)
    return pa.table(
        {
            "date": pa.array(np.repeat(dates, len(names)), pa.date32()),
            "factor": pa.array(names * spec.days),
            "price": pa.array(np.round(prices.ravel(), 6)),
            "currency": pa.array(currencies * spec.days),
            "dividend_yield": pa.array(dividends * spec.days, pa.float64()),
        }
    )


# The stress history: three years around a crisis year, apart from the nightly market file. The
# crisis year is the stress period the model configuration names (src/riskbatch/model/model_config.json).
STRESS_HISTORY = (dt.date(2007, 7, 2), dt.date(2010, 6, 30))
CRISIS = (dt.date(2008, 9, 1), dt.date(2009, 8, 31))
CRISIS_VOLATILITY = 2.5  # times the sample's own daily volatilities, in the crisis year


def stress_market_table(spec: SampleSpec) -> pa.Table:
    """The sample's stress history: the same factors and dynamics as its market, dated
    STRESS_HISTORY, with CRISIS_VOLATILITY times the volatility (and the implied volatilities
    moving as much more) inside the CRISIS year."""
    dates = [day for day in business_days(STRESS_HISTORY[1], 1_000) if day >= STRESS_HISTORY[0]]
    calm = market_table(dataclasses.replace(spec, days=len(dates), business_date=dates[-1], seed=spec.seed + 1_000))
    names = calm["factor"].to_pylist()[: len(set(calm["factor"].to_pylist()))]
    prices = calm["price"].to_numpy().reshape(len(dates), len(names))
    scale = np.where([CRISIS[0] <= day <= CRISIS[1] for day in dates[1:]], CRISIS_VOLATILITY, 1.0)
    returns = np.diff(np.log(prices), axis=0) * scale[:, None]
    stressed = prices[0] * np.exp(np.vstack([np.zeros(len(names)), np.cumsum(returns, axis=0)]))
    return calm.set_column(calm.column_names.index("price"), "price", pa.array(np.round(stressed.ravel(), 6)))


def _currency(name: str, spec: SampleSpec) -> str:
    if name.startswith("FX_"):
        return name[-3:]
    if spec.features and name.startswith("EQ_") and int(name[3:]) % EUR_EVERY == 1 and "EURUSD" in FX_PAIRS[: max(1, spec.factors // 25)]:
        return "EUR"
    return "USD"


def positions_table(spec: SampleSpec, factors: list[str], spots: np.ndarray) -> pa.Table:
    rng = np.random.default_rng(spec.seed + 1)
    equities = [i for i, name in enumerate(factors) if name.startswith("EQ_")]
    fx = [i for i, name in enumerate(factors) if name.startswith("FX_")]
    vol_of = {name.removeprefix("VOL_"): name for name in factors if name.startswith("VOL_")}
    kinds = rng.choice(["equity", "fx", "option"], size=spec.positions, p=[0.85 - spec.option_share, 0.15, spec.option_share])
    rows: dict[str, list] = {
        key: []
        for key in (
            "portfolio_id",
            "position_id",
            "instrument_type",
            "underlying",
            "quantity",
            "strike",
            "expiry",
            "option_type",
            "implied_vol",
            "multiplier",
            "vol_factor",
        )
    }
    for number, kind in enumerate(kinds):
        factor = int(rng.choice(fx if kind == "fx" and fx else equities))
        spot = float(spots[factor])
        rows["portfolio_id"].append(f"PF{int(rng.integers(spec.portfolios)) + 1:02d}")
        rows["position_id"].append(f"P{number + 1:06d}")
        rows["instrument_type"].append(str(kind))
        rows["underlying"].append(factors[factor])
        notional = float(rng.lognormal(np.log(250_000), 1.0)) * (1 if rng.random() < 0.7 else -1)
        if kind == "option":
            multiplier = 100.0 if spec.features else 1.0
            rows["quantity"].append(round(notional / spot / 10.0 / multiplier) or 1)
            rows["strike"].append(round(spot * float(rng.uniform(0.8, 1.2)), 4))
            rows["expiry"].append(spec.business_date + dt.timedelta(days=int(rng.integers(14, 540))))
            rows["option_type"].append("call" if rng.random() < 0.5 else "put")
            rows["implied_vol"].append(round(float(rng.uniform(0.15, 0.55)), 4))
            rows["multiplier"].append(multiplier if spec.features else None)
            rows["vol_factor"].append(vol_of.get(factors[factor]))
        else:
            rows["quantity"].append(round(notional / spot, 2))
            for key in ("strike", "expiry", "option_type", "implied_vol", "multiplier", "vol_factor"):
                rows[key].append(None)
    if spec.features:
        options = [i for i, kind in enumerate(kinds) if kind == "option"]
        if options:
            rows["expiry"][options[0]] = spec.business_date  # expires tonight: excluded, with its reason
        rows["quantity"][-1] = float("nan")  # a bad row: excluded, named in the report
    return pa.table(
        {
            "portfolio_id": pa.array(rows["portfolio_id"]),
            "position_id": pa.array(rows["position_id"]),
            "instrument_type": pa.array(rows["instrument_type"]),
            "underlying": pa.array(rows["underlying"]),
            "quantity": pa.array(rows["quantity"], pa.float64()),
            "strike": pa.array(rows["strike"], pa.float64()),
            "expiry": pa.array(rows["expiry"], pa.date32()),
            "option_type": pa.array(rows["option_type"], pa.string()),
            "implied_vol": pa.array(rows["implied_vol"], pa.float64()),
            "multiplier": pa.array(rows["multiplier"], pa.float64()),
            "vol_factor": pa.array(rows["vol_factor"], pa.string()),
        }
    )


def write_plain_csv(table: pa.Table, path: Path) -> None:
    """CSV without quotes (identifiers here hold no commas or quotes), as the upstream systems write it."""
    buffer = io.BytesIO()
    pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(include_header=False, quoting_style="none"))
    path.write_bytes((",".join(table.column_names) + "\n").encode() + buffer.getvalue())


def write_sample(out: Path, spec: SampleSpec) -> tuple[Path, Path]:
    """positions.csv and market.csv under out/<business date>/."""
    market = market_table(spec)
    count = len(set(market["factor"].to_pylist()))
    factors = market["factor"].to_pylist()[:count]
    last = market.slice(market.num_rows - count)
    positions = positions_table(spec, factors, last["price"].to_numpy())
    folder = out / spec.business_date.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    positions_path, market_path = folder / "positions.csv", folder / "market.csv"
    for table, path in ((positions, positions_path), (market, market_path)):
        write_plain_csv(table, path)
    if spec.features:
        (folder / "limits.csv").write_text(SAMPLE_LIMITS, encoding="utf-8")
    write_plain_csv(stress_market_table(spec), folder / "stress_market.csv")
    write_rates(folder, spec.business_date)
    return positions_path, market_path


# A desk rolls its options before they expire: an option whose expiry has come is replaced by one
# on the same underlying ROLL_TENORS[i % 4] days later, struck near tonight's spot, so that a year
# of nights keeps its options alive instead of watching them expire one by one.
ROLL_TENORS = (91, 182, 273, 364)
ROLL_MONEYNESS = (0.9, 0.95, 1.0, 1.05, 1.1)


def roll_options(book: pa.Table, date: dt.date, spots: dict[str, float]) -> pa.Table:
    """The book with every option expiring on or before `date` rolled: a new expiry after `date`
    (a quarter to a year out, by the position's number) and a strike near `spots` of its underlying."""
    kinds, expiries = book["instrument_type"].to_pylist(), book["expiry"].to_pylist()
    strikes, underlyings = book["strike"].to_pylist(), book["underlying"].to_pylist()
    rolled = False
    for row, kind in enumerate(kinds):
        if kind != "option" or expiries[row] is None or expiries[row] > date:
            continue
        expiries[row] = date + dt.timedelta(days=ROLL_TENORS[row % len(ROLL_TENORS)])
        strikes[row] = round(spots[underlyings[row]] * ROLL_MONEYNESS[row % len(ROLL_MONEYNESS)], 4)
        rolled = True
    if not rolled:
        return book
    book = book.set_column(book.column_names.index("expiry"), "expiry", pa.array(expiries, pa.date32()))
    return book.set_column(book.column_names.index("strike"), "strike", pa.array(strikes, pa.float64()))


def closing_prices(window: pa.Table, count: int) -> dict[str, float]:
    """Each factor's last price in a market window of `count` factors a day."""
    last = window.slice(window.num_rows - count, count)
    return dict(zip(last["factor"].to_pylist(), last["price"].to_pylist(), strict=True))


# The sample's rates (continuously compounded) of every currency its FX pairs quote, by tenor: a short
# end and a long end apart, and foreign rates apart from domestic ones (EUR below USD, JPY near zero).
SAMPLE_RATES = {
    "USD": {"3M": 0.043, "1Y": 0.041, "10Y": 0.042},
    "EUR": {"3M": 0.021, "1Y": 0.022, "10Y": 0.026},
    "GBP": {"3M": 0.040, "1Y": 0.039, "10Y": 0.041},
    "JPY": {"3M": 0.004, "1Y": 0.006, "10Y": 0.014},
    "AUD": {"3M": 0.037, "1Y": 0.038, "10Y": 0.042},
    "CAD": {"3M": 0.030, "1Y": 0.029, "10Y": 0.032},
    "CHF": {"3M": 0.005, "1Y": 0.005, "10Y": 0.008},
    "NZD": {"3M": 0.040, "1Y": 0.038, "10Y": 0.043},
    "SEK": {"3M": 0.022, "1Y": 0.022, "10Y": 0.025},
    "NOK": {"3M": 0.040, "1Y": 0.038, "10Y": 0.036},
    "MXN": {"3M": 0.095, "1Y": 0.093, "10Y": 0.092},
}


def rates_table(business_date: dt.date, rates: dict[str, dict[str, float]] | None = None) -> pa.Table:
    """The night's rates file: one row per currency and tenor, dated the business date."""
    rows = [(currency, tenor, rate) for currency, curve in (rates or SAMPLE_RATES).items() for tenor, rate in curve.items()]
    return pa.table(
        {
            "date": pa.array([business_date] * len(rows), pa.date32()),
            "currency": pa.array([row[0] for row in rows]),
            "tenor": pa.array([row[1] for row in rows]),
            "rate": pa.array([row[2] for row in rows], pa.float64()),
        }
    )


def write_rates(folder: Path, business_date: dt.date, rates: dict[str, dict[str, float]] | None = None) -> Path:
    """rates.csv beside the night's files (a required input: riskbatch.inputs.rates)."""
    path = folder / "rates.csv"
    write_plain_csv(rates_table(business_date, rates), path)
    return path


RATE_MOVE = 0.0003  # a currency's curve moves in parallel by about 3 bp a business day


def sample_rates(spec: SampleSpec, dates: list[dt.date]) -> dict[dt.date, dict[str, dict[str, float]]]:
    """Each night's curves, dated: SAMPLE_RATES on the first date, then a seeded random walk of each
    currency's level (a parallel move, RATE_MOVE a day), as the sample's prices walk: the year study's
    (riskbatch-backtest-year) rates, a file a night as write_rates writes it. write_nights keeps SAMPLE_RATES."""
    rng = np.random.default_rng(spec.seed + 31)
    moves = rng.normal(0.0, RATE_MOVE, (len(dates), len(SAMPLE_RATES)))
    moves[0] = 0.0
    levels = np.cumsum(moves, axis=0)

    def curves(shifts: np.ndarray) -> dict[str, dict[str, float]]:
        return {
            code: {tenor: round(rate + float(shift), 6) for tenor, rate in curve.items()}
            for (code, curve), shift in zip(SAMPLE_RATES.items(), shifts, strict=True)
        }

    return {date: curves(row) for date, row in zip(dates, levels, strict=True)}


def next_business_days(first: dt.date, count: int) -> list[dt.date]:
    """`first` (a business day) and the business days after it: `count` nights."""
    return [first, *business_days_after(first, count - 1)] if count else []


def write_nights(out: Path, spec: SampleSpec, nights: int, first_written: int = 0) -> list[Path]:
    """Consecutive business nights from spec.business_date: one market history, each night's file
    the `spec.days` days up to its date (so each night adds the day the market moved), and one
    book whose quantities drift a little from night to night and whose options roll before they
    expire (roll_options). The folders, in order, of the nights
    from `first_written` on (the earlier ones are the year a demo lands as history)."""
    dates = next_business_days(spec.business_date, nights)
    long_spec = dataclasses.replace(spec, days=spec.days + nights - 1, business_date=dates[-1])
    market = market_table(long_spec)
    count = len(set(market["factor"].to_pylist()))
    factors = market["factor"].to_pylist()[:count]
    first_night_end = market.slice(count * (spec.days - 1), count)  # the first night's last day
    book = positions_table(spec, factors, first_night_end["price"].to_numpy())
    folders = []
    stress = stress_market_table(spec)
    for night, date in enumerate(dates):
        window = market.slice(count * night, count * spec.days)
        book = roll_options(book, date, closing_prices(window, count))  # the nights before first_written roll too: the same book
        if night < first_written:
            continue
        if night:
            drift = np.random.default_rng(spec.seed + 100 + night).normal(0.0, 0.02, book.num_rows)
            quantities = book["quantity"].to_numpy(zero_copy_only=False) * np.where(np.arange(book.num_rows) % 10 == night % 10, 1.0 + drift, 1.0)
            book = book.set_column(book.column_names.index("quantity"), "quantity", pa.array(np.round(quantities, 2)))
        nightly = book
        if spec.features:  # tonight's own bad row and expiring option
            options = [i for i, kind in enumerate(book["instrument_type"].to_pylist()) if kind == "option"]
            expiry = book["expiry"].to_pylist()
            if options:
                expiry[options[night % len(options)]] = date
            quantities = book["quantity"].to_pylist()
            quantities[-1] = float("nan")
            nightly = book.set_column(book.column_names.index("expiry"), "expiry", pa.array(expiry, pa.date32()))
            nightly = nightly.set_column(nightly.column_names.index("quantity"), "quantity", pa.array(quantities, pa.float64()))
        folder = out / date.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        write_plain_csv(nightly, folder / "positions.csv")
        write_plain_csv(window, folder / "market.csv")
        write_plain_csv(stress, folder / "stress_market.csv")
        write_rates(folder, date)  # the sample's curves, dated: the nights' explanation of VaR changes sees no rate move
        if spec.features:
            (folder / "limits.csv").write_text(SAMPLE_LIMITS, encoding="utf-8")
        folders.append(folder)
    return folders


# Limits for the default sample book (3,000 positions: firm VaR 99 % about 3.5 million USD, ES 97.5 %
# about 3.5 million, PF08's VaR 99 % about 1.07 million, PF01's about 0.49 million): a desk's limits
# sit above what it normally runs, so the demo's morning is a good one, with every limit kept and
# PF08 near its limit (90 % or more: the warning), none breached. A breach, new or lasting, is what
# the tests that need one construct (the report's pages, the limits' streaks).
SAMPLE_LIMITS = "scope,measure,limit\nfirm,var_99,4500000\nfirm,es_975,4500000\nPF08,var_99,1150000\nPF01,var_99,600000\n"

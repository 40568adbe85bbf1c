"""Revalue a book in every scenario: the P&L of each portfolio (or position) per scenario, in the
reporting currency.

Each step is one library call over whole blocks: positions on the same (portfolio, factor) are
aggregated into an exposure matrix before any scenario is touched, the linear book is one matrix
product per block, and options revalue in a compiled kernel over scenarios and options at once.
Scenarios are processed in blocks, so memory holds one block, not the whole run.

Currencies. A factor's price is in its currency (an FX factor FX_<BASE><QUOTE> is in QUOTE). A
value V in currency c is worth V x X in the reporting currency, X the rate of c into it, taken
from FX_<c><R> (X = its price) or FX_<R><c> (X = 1 / its price). In a scenario both move:

- an equity (or any linear holding) of today's value E = quantity x multiplier x spot x X0
  gains E (exp(r_factor + r_c) - 1), r_c the log return of X;
- an FX position of `quantity` units of BASE against QUOTE (spot, financed in QUOTE) gains
  quantity x spot0 x (exp(r) - 1) in QUOTE, worth that times X in the reporting currency:
  E (exp(r + r_QUOTE) - 1) - E (exp(r_QUOTE) - 1), a holding of the pair less the QUOTE cash;
- an option gains (price at the horizon x exp(r_c) - price today) x quantity x multiplier x X0.

The linear book therefore works on augmented returns: each factor's own return plus its
currency's, and one column per foreign currency for the cash legs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from riskbatch.inputs.business_days import horizon_calendar_days as calendar_days_to_horizon
from riskbatch.inputs.files import FX_FACTOR, Market
from riskbatch.model.engine_blocks import BlockArrays, Conversion
from riskbatch.model.engine_blocks import PreparedBlocks as PreparedBlocks  # re-exported: the workers' cache and the bench import them from here
from riskbatch.model.engine_blocks import conversion_of as conversion_of
from riskbatch.model.engine_blocks import prepared_block as prepared_block
from riskbatch.model.risk_model import (
    CALENDAR_DAYS,
    CovarianceEstimate,
    ModelParameters,
    black_scholes,
    block_count,
    cholesky_with_jitter,
    estimate_covariance,
    factor_keys,
    log_returns,
    scenario_block,
)

OPTION_BLOCK = 512  # unique options revalued together when only tail scenarios are needed


class Aborted(RuntimeError):
    """The caller asked the revaluation to stop (a worker received SIGTERM)."""


@dataclass(frozen=True)
class Book:
    """A set of positions, arranged for revaluation against one market."""

    portfolio_ids: list[str]
    position_ids: list[str]
    conversion: Conversion
    exposures: np.ndarray  # portfolios x augmented columns, in the reporting currency
    leg_position: np.ndarray  # linear legs: the position each belongs to
    leg_column: np.ndarray  # its augmented column
    leg_exposure: np.ndarray  # today's value in the reporting currency (signed)
    option_position: np.ndarray  # per option position: its position index
    option_quantity: np.ndarray  # quantity x multiplier x today's exchange rate
    # Options that share underlying, strike, expiry, volatility (and vol factor) and type are revalued once.
    unique_of_option: np.ndarray  # per option position: its unique option
    unique_factor: np.ndarray
    unique_strike: np.ndarray
    unique_years: np.ndarray  # time to expiry at the business date
    unique_vol: np.ndarray
    unique_vol_factor: np.ndarray  # -1: the volatility does not move
    unique_is_call: np.ndarray
    unique_currency: list[str]  # the rate of the option's currency comes from the run's parameters
    unique_dividend: np.ndarray  # an FX option's: the base currency's rate (Garman-Kohlhagen)
    unique_fx_factor: np.ndarray  # column of its currency's return in Conversion.extended, or -1
    unique_fx_sign: np.ndarray
    entry_start: np.ndarray  # CSR: unique option u holds entries entry_start[u]:entry_start[u+1]
    entry_portfolio: np.ndarray
    entry_quantity: np.ndarray

    @property
    def option_count(self) -> int:
        return len(self.option_position)

    @property
    def unique_option_count(self) -> int:
        return len(self.unique_factor)


def carry_yields(market: Market, factors: np.ndarray, parameters: ModelParameters, years: np.ndarray | None = None) -> np.ndarray:
    """The continuous yield an option's underlying pays: a share its dividend yield; a currency
    pair FX_<BASE><QUOTE> the BASE currency's rate at the option's expiry `years` (Garman-Kohlhagen:
    the foreign rate is the pair's dividend yield, the QUOTE currency's rate its discount rate)."""
    found = market.dividend_yields[factors].astype(float)
    for number, factor in enumerate(factors.tolist()):
        pair = FX_FACTOR.match(market.factors[factor])
        if pair:
            found[number] = parameters.rate_of(pair.group(1), None if years is None else float(years[number]))
    return found


def _column(positions: pa.Table, name: str, default: float) -> np.ndarray:
    if name not in positions.column_names:
        return np.full(positions.num_rows, default)
    values = positions[name].to_numpy(zero_copy_only=False).astype(float)
    return np.where(np.isnan(values), default, values)


def build_book(positions: pa.Table, market: Market, parameters: ModelParameters | None = None) -> Book:
    parameters = parameters or ModelParameters()
    conversion = conversion_of(market, parameters.reporting_currency)
    portfolio_ids = sorted(set(positions["portfolio_id"].to_pylist()))
    portfolio_index = {portfolio: i for i, portfolio in enumerate(portfolio_ids)}
    position_ids = positions["position_id"].to_pylist()
    kinds = np.array(positions["instrument_type"].to_pylist())
    factors = np.array([market.factor_index(name) for name in positions["underlying"].to_pylist()], dtype=np.int64)
    portfolios = np.array([portfolio_index[p] for p in positions["portfolio_id"].to_pylist()], dtype=np.int64)
    quantity = positions["quantity"].to_numpy(zero_copy_only=False).astype(float) * _column(positions, "multiplier", 1.0)
    spot = market.spot
    value = quantity * spot[factors] * conversion.rate_today[factors]  # today's value of the underlying held, reporting currency
    augmented_columns = len(market.factors) + len(conversion.currencies)

    linear = np.flatnonzero(kinds != "option")
    legs_position, legs_column, legs_exposure = [linear], [factors[linear]], [value[linear]]
    fx = linear[kinds[linear] == "fx"]
    foreign_fx = fx[conversion.factor_currency[factors[fx]] >= 0]
    if len(foreign_fx):
        # the QUOTE cash leg of each FX position whose quote currency is not the reporting one
        currency_column = {c: len(market.factors) + i for i, c in enumerate(conversion.currencies)}
        columns = [currency_column[market.currency(market.factors[f], conversion.reporting)] for f in factors[foreign_fx]]
        legs_position.append(foreign_fx)
        legs_column.append(np.array(columns, dtype=np.int64))
        legs_exposure.append(-value[foreign_fx])
    leg_position, leg_column, leg_exposure = (np.concatenate(part) for part in (legs_position, legs_column, legs_exposure))
    exposures = np.zeros((len(portfolio_ids), augmented_columns))
    np.add.at(exposures, (portfolios[leg_position], leg_column), leg_exposure)

    option = np.flatnonzero(kinds == "option")
    vol_names = positions["vol_factor"].to_pylist() if "vol_factor" in positions.column_names else [None] * positions.num_rows
    vol_factor = np.array([market.factor_index(v) if v else -1 for v in vol_names], dtype=np.int64)[option]
    expiry = positions["expiry"].to_numpy(zero_copy_only=False)[option]
    days = (expiry - np.datetime64(market.business_date, "D")).astype("timedelta64[D]").astype(float)
    strike = _column(positions, "strike", 0.0)[option]
    vol = _column(positions, "implied_vol", 0.0)[option]
    is_call = np.array(positions["option_type"].to_pylist(), dtype=object)[option] == "call"
    keys = np.column_stack([factors[option], strike, days, vol, is_call, vol_factor]).astype(float)
    if len(option):
        unique_keys, unique_of_option = np.unique(keys, axis=0, return_inverse=True)
        pairs, pair_index = np.unique(np.column_stack([unique_of_option.reshape(-1), portfolios[option]]), axis=0, return_inverse=True)
    else:
        unique_keys, unique_of_option = np.empty((0, 6)), np.empty(0, np.int64)
        pairs, pair_index = np.empty((0, 2), np.int64), np.empty(0, np.int64)
    unique_of_option = unique_of_option.reshape(-1).astype(np.int64)
    option_quantity = quantity[option] * conversion.rate_today[factors[option]]
    entry_quantity = np.zeros(len(pairs))
    np.add.at(entry_quantity, pair_index.reshape(-1), option_quantity)
    entry_start = np.searchsorted(pairs[:, 0], np.arange(len(unique_keys) + 1)) if len(pairs) else np.zeros(len(unique_keys) + 1, np.int64)
    unique_factor = unique_keys[:, 0].astype(np.int64)
    currencies = [market.currency(market.factors[f], conversion.reporting) for f in unique_factor]
    return Book(
        portfolio_ids=portfolio_ids,
        position_ids=position_ids,
        conversion=conversion,
        exposures=exposures,
        leg_position=leg_position.astype(np.int64),
        leg_column=leg_column.astype(np.int64),
        leg_exposure=leg_exposure,
        option_position=option.astype(np.int64),
        option_quantity=option_quantity,
        unique_of_option=unique_of_option,
        unique_factor=unique_factor,
        unique_strike=unique_keys[:, 1].copy(),
        unique_years=unique_keys[:, 2] / CALENDAR_DAYS,
        unique_vol=unique_keys[:, 3].copy(),
        unique_vol_factor=unique_keys[:, 5].astype(np.int64),
        unique_is_call=unique_keys[:, 4].astype(bool),
        unique_currency=currencies,
        unique_dividend=carry_yields(market, unique_factor, parameters, unique_keys[:, 2] / CALENDAR_DAYS),
        unique_fx_factor=np.where(conversion.factor_currency[unique_factor] >= 0, len(market.factors) + conversion.factor_currency[unique_factor], -1),
        unique_fx_sign=np.ones(len(unique_factor)),
        entry_start=entry_start.astype(np.int64),
        entry_portfolio=pairs[:, 1].astype(np.int64),
        entry_quantity=entry_quantity,
    )


def horizon_calendar_days(business_date: dt.date, horizon_business_days: int) -> int:
    """Calendar days from the business date to the horizon (the exchange calendar's business days)."""
    return calendar_days_to_horizon(business_date, horizon_business_days)


@dataclass(frozen=True)
class RiskModel:
    """What every worker needs to draw the run's scenarios, and how the covariance came about."""

    cholesky: np.ndarray  # in the market's factor order: a Cholesky factor in the draw order, permuted
    keys: np.ndarray
    covariance: CovarianceEstimate
    jitter: float
    draw_order: list[str] = field(default_factory=list)  # the factors in the order the Cholesky factor is built
    lower: np.ndarray | None = None  # the Cholesky factor as built: lower-triangular, in the draw order
    draw_rows: np.ndarray | None = None  # the market row of each factor in the draw order

    @property
    def triangular(self) -> tuple[np.ndarray, np.ndarray] | None:
        """What scenario_block needs for a triangular product, where the model has it."""
        return None if self.lower is None or self.draw_rows is None else (self.lower, self.draw_rows)

    def describe(self) -> dict[str, object]:
        return {**self.covariance.describe(), "jitter": self.jitter}


def draw_order(previous: list[str] | None, factors: list[str]) -> list[str]:
    """The order in which the Cholesky factor is built: the previous night's order, less the
    factors that left, then tonight's new factors by name. A factor's return is its own draws'
    combination with those of the factors before it, so a factor that joins the book comes last
    and leaves every other factor's scenarios as they were (common random numbers); sorting by
    name put AAA_NEW first and gave every factor new scenarios."""
    tonight = set(factors)
    kept = [name for name in previous or [] if name in tonight]
    return kept + sorted(tonight - set(kept))


def risk_model(market: Market, parameters: ModelParameters, order: list[str] | None = None) -> RiskModel:
    """The covariance and its Cholesky factor, built in `order` (by default the market's order)."""
    estimate = estimate_covariance(log_returns(market.prices), parameters)
    order = list(order) if order else list(market.factors)
    if sorted(order) != sorted(market.factors):
        raise ValueError("the draw order must list every factor of the market once")
    permutation = np.array([market.index[name] for name in order], dtype=np.int64)
    lower, jitter = cholesky_with_jitter(estimate.matrix[np.ix_(permutation, permutation)])
    position = np.argsort(permutation)  # each market column's row in the draw order
    return RiskModel(lower[np.ix_(position, position)], factor_keys(market.factors), estimate, jitter, order, lower, permutation)


def _kernel_inputs(book: Book, market: Market, parameters: ModelParameters) -> tuple:
    """The unique options as the kernels take them (today's price at the business date, the time
    to expiry at the horizon)."""
    underlying = market.spot[book.unique_factor]
    expiries = zip(book.unique_currency, book.unique_years.tolist(), strict=True)
    rate = np.array([parameters.rate_of(currency, years) for currency, years in expiries], dtype=float)
    base = black_scholes(underlying, book.unique_strike, book.unique_years, book.unique_vol, rate, book.unique_is_call, book.unique_dividend)
    years = book.unique_years - horizon_calendar_days(market.business_date, parameters.horizon_days) / CALENDAR_DAYS
    return (
        book.unique_factor,
        underlying,
        book.unique_strike,
        years,
        book.unique_vol,
        book.unique_vol_factor,
        book.unique_is_call,
        base,
        rate,
        book.unique_dividend,
        book.unique_fx_factor,
        book.unique_fx_sign,
    )


def portfolio_pnl(
    book: Book,
    market: Market,
    parameters: ModelParameters,
    model: RiskModel | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_abort: Callable[[], bool] | None = None,
    scenarios: Callable[[int], np.ndarray] | None = None,
    prepared: PreparedBlocks | None = None,
) -> np.ndarray:
    """P&L of each portfolio in each scenario: an array of portfolios x scenarios.

    `scenarios(block)` supplies scenario blocks of factor returns, or `prepared(block)` blocks
    as prepared_block gives them for this market (a worker's cache); by default they are drawn.
    """
    from riskbatch.model.kernels import KERNEL_CONSTANTS, linear_pnl, option_pnl_into
    model = model or risk_model(market, parameters)
    if prepared is not None:
        prepare = prepared
    else:
        arrays = BlockArrays(book.conversion, min(parameters.block_size, parameters.scenarios))
        prepare = (lambda block: arrays.copied(scenarios(block))) if scenarios else (lambda block: arrays.drawn(parameters, model, block))
    pnl = np.empty((len(book.portfolio_ids), parameters.scenarios))
    options = _kernel_inputs(book, market, parameters)
    owner, column = np.nonzero(book.exposures)  # the linear book's exposures, by portfolio (row-major order)
    exposures = (np.searchsorted(owner, np.arange(len(book.portfolio_ids) + 1)), column, book.exposures[owner, column], len(book.portfolio_ids))
    blocks = block_count(parameters)
    for block in range(blocks):
        if should_abort is not None and should_abort():
            raise Aborted(f"stopped after {block} of {blocks} scenario blocks")
        extended, growth = prepare(block)
        start = block * parameters.block_size
        rows = slice(start, start + extended.shape[1])
        block_pnl = linear_pnl(growth, *exposures)  # portfolios x scenarios
        if book.unique_option_count:
            option_pnl_into(extended, *options, book.entry_start, book.entry_portfolio, book.entry_quantity, block_pnl, KERNEL_CONSTANTS)
        pnl[:, rows] = block_pnl
        del extended, growth, block_pnl  # not alive while the next block is prepared
        if progress is not None:
            progress(block + 1, blocks)
    return pnl


def _scenario_rows(parameters: ModelParameters, model: RiskModel, rows: np.ndarray) -> np.ndarray:
    """The factor returns of the given scenarios only (in the order given)."""
    wanted = np.asarray(rows)
    order = np.argsort(wanted)
    by_block: dict[int, list[int]] = {}
    for row in wanted[order]:
        by_block.setdefault(int(row) // parameters.block_size, []).append(int(row) % parameters.block_size)
    blocks = sorted(by_block.items())
    drawn = np.vstack([scenario_block(parameters, block, model.cholesky, model.keys, triangular=model.triangular)[offsets] for block, offsets in blocks])
    result = np.empty_like(drawn)
    result[order] = drawn
    return result


def position_tail_means(
    book: Book, market: Market, parameters: ModelParameters, rows: np.ndarray, model: RiskModel, returns: np.ndarray | None = None
) -> np.ndarray:
    """Each position's mean P&L over the given scenarios (the firm's tail, for ES contributions);
    `returns`, their factor returns where the caller drew them already.

    Memory stays flat as the book grows: a linear leg's mean is its column's mean times its
    exposure, and options revalue OPTION_BLOCK unique options at a time.
    """
    from riskbatch.model.kernels import KERNEL_CONSTANTS, option_change
    returns = _scenario_rows(parameters, model, rows) if returns is None else returns
    means = np.zeros(len(book.position_ids))
    column_means = np.expm1(book.conversion.augmented(returns)).mean(axis=0)
    np.add.at(means, book.leg_position, column_means[book.leg_column] * book.leg_exposure)
    if book.unique_option_count:
        inputs = _kernel_inputs(book, market, parameters)
        extended = book.conversion.extended(returns)
        unique_means = np.empty(book.unique_option_count)
        for start in range(0, book.unique_option_count, OPTION_BLOCK):
            part = slice(start, start + OPTION_BLOCK)
            sliced = tuple(value[part] if isinstance(value, np.ndarray) else value for value in inputs)
            unique_means[part] = option_change(extended, *sliced, KERNEL_CONSTANTS).mean(axis=0)
        means[book.option_position] += unique_means[book.unique_of_option] * book.option_quantity
    return means


def position_pnl(book: Book, market: Market, parameters: ModelParameters, scenario_rows: np.ndarray, model: RiskModel) -> np.ndarray:
    """P&L of every position in the given scenarios (rows x positions): for tests and small books."""
    from riskbatch.model.kernels import KERNEL_CONSTANTS, option_change
    returns = _scenario_rows(parameters, model, scenario_rows)
    result = np.zeros((len(returns), len(book.position_ids)))
    augmented = np.expm1(book.conversion.augmented(returns))
    np.add.at(result.T, book.leg_position, (augmented[:, book.leg_column] * book.leg_exposure).T)
    if book.option_count:
        per_unit = option_change(book.conversion.extended(returns), *_kernel_inputs(book, market, parameters), KERNEL_CONSTANTS)
        result[:, book.option_position] += per_unit[:, book.unique_of_option] * book.option_quantity
    return result

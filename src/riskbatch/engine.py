"""Revalue a book in every scenario: the P&L of each portfolio (or position) per scenario.

Each step is one library call over whole blocks: positions on the same (portfolio, factor) are
aggregated into an exposure matrix before any scenario is touched, the linear book is one matrix
product per block, and options revalue vectorised over scenarios and options at once. Scenarios
are processed in blocks, so memory holds one block, not the whole run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .inputs import Market
from .kernels import option_change, option_pnl_into
from .model import (
    CALENDAR_DAYS,
    ModelParameters,
    black_scholes,
    block_count,
    cholesky_factor,
    covariance,
    log_returns,
    scenario_block,
)


class Aborted(RuntimeError):
    """The caller asked the revaluation to stop (a worker received SIGTERM)."""


@dataclass(frozen=True)
class Book:
    """A set of positions, arranged for revaluation against one market."""

    portfolio_ids: list[str]
    position_ids: list[str]
    exposures: np.ndarray  # portfolios x factors: quantity x spot of linear positions
    option_factor: np.ndarray  # per option: factor index
    option_quantity: np.ndarray
    option_strike: np.ndarray
    option_years: np.ndarray  # time to expiry at the business date
    option_vol: np.ndarray
    option_is_call: np.ndarray
    option_position: np.ndarray  # per option: position index
    linear_factor: np.ndarray  # per linear position: factor index
    linear_exposure: np.ndarray  # per linear position: quantity x spot
    linear_position: np.ndarray
    # Options that share underlying, strike, expiry, volatility and type are revalued once.
    unique_of_option: np.ndarray  # per option position: its unique option
    unique_factor: np.ndarray
    unique_strike: np.ndarray
    unique_years: np.ndarray
    unique_vol: np.ndarray
    unique_is_call: np.ndarray
    entry_start: np.ndarray  # CSR: unique option u holds entries entry_start[u]:entry_start[u+1]
    entry_portfolio: np.ndarray
    entry_quantity: np.ndarray

    @property
    def option_count(self) -> int:
        return len(self.option_factor)

    @property
    def unique_option_count(self) -> int:
        return len(self.unique_factor)


def build_book(positions: pa.Table, market: Market) -> Book:
    portfolio_ids = sorted(set(positions["portfolio_id"].to_pylist()))
    portfolio_index = {portfolio: i for i, portfolio in enumerate(portfolio_ids)}
    position_ids = positions["position_id"].to_pylist()
    kinds = np.array(positions["instrument_type"].to_pylist())
    factors = np.array([market.factor_index(name) for name in positions["underlying"].to_pylist()], dtype=np.int64)
    portfolios = np.array([portfolio_index[p] for p in positions["portfolio_id"].to_pylist()], dtype=np.int64)
    quantity = positions["quantity"].to_numpy(zero_copy_only=False).astype(float)
    spot = market.spot

    linear = kinds != "option"
    linear_exposure = quantity[linear] * spot[factors[linear]]
    exposures = np.zeros((len(portfolio_ids), len(market.factors)))
    np.add.at(exposures, (portfolios[linear], factors[linear]), linear_exposure)

    option = ~linear
    expiry = positions["expiry"].to_numpy(zero_copy_only=False)[option]
    days = (expiry - np.datetime64(market.business_date, "D")).astype("timedelta64[D]").astype(float)
    option_strike = pc.fill_null(positions["strike"], 0.0).to_numpy(zero_copy_only=False)[option].astype(float)
    option_vol = pc.fill_null(positions["implied_vol"], 0.0).to_numpy(zero_copy_only=False)[option].astype(float)
    option_is_call = np.array(positions["option_type"].to_pylist(), dtype=object)[option] == "call"
    keys = np.column_stack([factors[option], option_strike, days, option_vol, option_is_call]).astype(float)
    unique_keys, unique_of_option = np.unique(keys, axis=0, return_inverse=True) if option.any() else (np.empty((0, 5)), np.empty(0, int))
    unique_of_option = unique_of_option.reshape(-1)
    # One entry per (unique option, portfolio), quantities summed.
    pairs, pair_index = (
        np.unique(np.column_stack([unique_of_option, portfolios[option]]), axis=0, return_inverse=True)
        if option.any()
        else (np.empty((0, 2), int), np.empty(0, int))
    )
    entry_quantity = np.zeros(len(pairs))
    np.add.at(entry_quantity, pair_index.reshape(-1), quantity[option])
    entry_start = np.searchsorted(pairs[:, 0], np.arange(len(unique_keys) + 1)) if len(pairs) else np.zeros(len(unique_keys) + 1, int)
    return Book(
        portfolio_ids=portfolio_ids,
        position_ids=position_ids,
        exposures=exposures,
        option_factor=factors[option],
        option_quantity=quantity[option],
        option_strike=option_strike,
        option_years=days / CALENDAR_DAYS,
        option_vol=option_vol,
        option_is_call=option_is_call,
        option_position=np.flatnonzero(option),
        linear_factor=factors[linear],
        linear_exposure=linear_exposure,
        linear_position=np.flatnonzero(linear),
        unique_of_option=unique_of_option.astype(np.int64),
        unique_factor=unique_keys[:, 0].astype(np.int64),
        unique_strike=unique_keys[:, 1].copy(),
        unique_years=unique_keys[:, 2] / CALENDAR_DAYS,
        unique_vol=unique_keys[:, 3].copy(),
        unique_is_call=unique_keys[:, 4].astype(bool),
        entry_start=entry_start.astype(np.int64),
        entry_portfolio=pairs[:, 1].astype(np.int64),
        entry_quantity=entry_quantity,
    )


def market_cholesky(market: Market, parameters: ModelParameters) -> np.ndarray:
    return cholesky_factor(covariance(log_returns(market.prices), parameters))


def _kernel_inputs(book: Book, spot: np.ndarray, parameters: ModelParameters) -> tuple:
    """The unique options as the kernels take them: factor, today's spot, strike, time to expiry at
    the horizon, volatility, type, today's price, rate."""
    underlying = spot[book.unique_factor]
    base = black_scholes(underlying, book.unique_strike, book.unique_years, book.unique_vol, parameters.rate, book.unique_is_call)
    years = book.unique_years - parameters.horizon_days / CALENDAR_DAYS
    return (book.unique_factor, underlying, book.unique_strike, years, book.unique_vol, book.unique_is_call, base, parameters.rate)


def _option_values(book: Book, spot: np.ndarray, returns: np.ndarray, parameters: ModelParameters) -> np.ndarray:
    """Change in value of every option position (columns) in every scenario (rows)."""
    per_unit = option_change(np.ascontiguousarray(returns), *_kernel_inputs(book, spot, parameters))
    return per_unit[:, book.unique_of_option] * book.option_quantity


def portfolio_pnl(
    book: Book,
    market: Market,
    parameters: ModelParameters,
    cholesky: np.ndarray | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_abort: Callable[[], bool] | None = None,
    scenarios: Callable[[int], np.ndarray] | None = None,
) -> np.ndarray:
    """P&L of each portfolio in each scenario: an array of portfolios x scenarios.

    `scenarios(block)` supplies scenario blocks (a worker's cache); by default they are drawn.
    """
    cholesky = market_cholesky(market, parameters) if cholesky is None else cholesky
    draw = scenarios or (lambda block: scenario_block(parameters, block, cholesky))
    pnl = np.empty((len(book.portfolio_ids), parameters.scenarios))
    options = _kernel_inputs(book, market.spot, parameters)
    blocks = block_count(parameters)
    for block in range(blocks):
        if should_abort is not None and should_abort():
            raise Aborted(f"stopped after {block} of {blocks} scenario blocks")
        returns = draw(block)
        start = block * parameters.block_size
        rows = slice(start, start + returns.shape[0])
        block_pnl = np.expm1(returns) @ book.exposures.T
        if book.unique_option_count:
            option_pnl_into(returns, *options, book.entry_start, book.entry_portfolio, book.entry_quantity, block_pnl)
        pnl[:, rows] = block_pnl.T
        if progress is not None:
            progress(block + 1, blocks)
    return pnl


def position_pnl(book: Book, market: Market, parameters: ModelParameters, scenario_rows: np.ndarray, cholesky: np.ndarray) -> np.ndarray:
    """P&L of every position in the given scenarios only (rows x positions), for contributions."""
    wanted = np.sort(np.asarray(scenario_rows))
    by_block: dict[int, list[int]] = {}
    for row in wanted:
        by_block.setdefault(int(row) // parameters.block_size, []).append(int(row) % parameters.block_size)
    returns = np.vstack([scenario_block(parameters, block, cholesky)[offsets] for block, offsets in sorted(by_block.items())])
    result = np.zeros((len(wanted), len(book.position_ids)))
    result[:, book.linear_position] = np.expm1(returns[:, book.linear_factor]) * book.linear_exposure
    if book.option_count:
        result[:, book.option_position] = _option_values(book, market.spot, returns, parameters)
    order = np.argsort(np.argsort(np.asarray(scenario_rows)))
    return result[order]

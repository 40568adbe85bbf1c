"""The bound `make bench` holds the risk engine to: an independent implementation of a night's
work, written from the engine's description and sharing no kernel with it, each step as fast as
this project can write it, in blocks of scenarios whose buffers are reused from block to block.

1. normals: the engine's streams (one per factor and block, the same numbers bit for bit), drawn
   by this project's own compiled PCG64 and ziggurat on every core (independent_normals);
2. factor returns: the lower-triangular Cholesky factor (in its draw order) times the normals, a
   triangular product (BLAS dtrmm: half the flops of a full one);
3. linear P&L: the book's exposures (positions on the same portfolio and factor summed) times
   exp(r) - 1 of each factor's return plus its currency's (the currencies' returns a product with
   the few conversion columns, exp(r) - 1 one compiled pass on every core, then one product);
4. distinct options: each distinct contract (underlying, strike, expiry, type, at the implied
   volatility and vol factor the positions file gives it, deduplicated here from the positions
   themselves) revalued once per scenario by this module's own compiled kernel
   (independent_kernels.options_into: the exponentials once per factor and scenario, one division
   per option and scenario, fused multiply-adds, short passes over a chunk with their constants passed in as data),
   its change weighted into the portfolios that hold it.

test/platform/measurement/test_engine_bound.py holds the bound's P&L to the engine's, step by step.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cached_property

import numba
import numpy as np
import pyarrow as pa
from scipy.linalg.blas import dtrmm

from riskbatch.inputs.files import Market
from riskbatch.model.engine import Book, RiskModel, carry_yields, horizon_calendar_days
from riskbatch.model.risk_model import CALENDAR_DAYS, ModelParameters, black_scholes
from riskbatch_platform.measurement.independent_kernels import LANES, SERIES, growth_into, options_into
from riskbatch_platform.measurement.independent_normals import stream_normals


@dataclass(frozen=True)
class DistinctOptions:
    """The book's options as distinct contracts, with what the revaluation needs of each."""

    row: np.ndarray  # factor row of the underlying (contracts sorted by it, then by vol_row)
    spot: np.ndarray
    strike: np.ndarray
    years: np.ndarray  # time to expiry at the horizon
    vol: np.ndarray
    vol_row: np.ndarray  # factor row of the implied volatility, or -1
    is_call: np.ndarray
    today: np.ndarray  # today's price, in the underlying's currency
    rate: np.ndarray
    dividend: np.ndarray
    fx_row: np.ndarray  # row of the currency's return (after the factors), or -1
    fx_sign: np.ndarray
    start: np.ndarray  # CSR: contract c holds weights start[c]:start[c + 1]
    portfolio: np.ndarray
    weight: np.ndarray  # quantity x multiplier x today's exchange rate, summed per portfolio

    @property
    def count(self) -> int:
        return len(self.row)

    @cached_property
    def kernel_arguments(self) -> tuple:
        """options_into's arguments: the groups of contracts that share their three rows, and each
        contract's terms that no scenario changes."""
        keys = np.column_stack([self.row, self.vol_row, self.fx_row, self.fx_sign])
        change = np.flatnonzero(np.any(keys[1:] != keys[:-1], axis=1)) + 1 if self.count else np.empty(0, np.int64)
        first = np.concatenate([[0], change]).astype(np.int64)[: self.count]
        group_start = np.append(first, self.count).astype(np.int64)
        t = self.years
        root = self.vol * np.sqrt(t)
        forward = self.spot * np.exp(-self.dividend * t)
        discounted = self.strike * np.exp(-self.rate * t)
        log_ratio = np.log(self.spot / self.strike) + (self.rate - self.dividend) * t
        put = np.where(self.is_call, 0.0, 1.0)
        groups = (group_start, self.row[first], self.vol_row[first], self.fx_row[first], self.fx_sign[first])
        return (*groups, log_ratio, forward, root, discounted, put, self.today, self.start, self.portfolio, self.weight)


def distinct_options(positions: pa.Table, market: Market, book: Book, parameters: ModelParameters) -> DistinctOptions:
    """Deduplicate the option positions of `positions` (the table `book` was built from)."""
    kinds = np.array(positions["instrument_type"].to_pylist())
    option = np.flatnonzero(kinds == "option")
    table = positions.take(pa.array(option))
    factor = np.array([market.index[name] for name in table["underlying"].to_pylist()], dtype=np.int64)
    vol_names = table["vol_factor"].to_pylist() if "vol_factor" in table.column_names else [None] * table.num_rows
    vol_row = np.array([market.index[name] if name else -1 for name in vol_names], dtype=np.int64)
    days = np.array([(expiry - market.business_date).days for expiry in table["expiry"].to_pylist()], dtype=float)
    strike = table["strike"].to_numpy(zero_copy_only=False).astype(float)
    vol = table["implied_vol"].to_numpy(zero_copy_only=False).astype(float)
    is_call = np.array([kind == "call" for kind in table["option_type"].to_pylist()], dtype=float)
    keys = np.column_stack([factor, vol_row, strike, days, is_call, vol])  # sorted by underlying, then vol row: the kernel's groups
    contracts, of_position = np.unique(keys, axis=0, return_inverse=True)
    of_position = of_position.reshape(-1)
    owner = np.array([book.portfolio_ids.index(name) for name in table["portfolio_id"].to_pylist()], dtype=np.int64)
    multiplier = table["multiplier"].to_numpy(zero_copy_only=False).astype(float) if "multiplier" in table.column_names else np.ones(len(option))
    quantity = table["quantity"].to_numpy(zero_copy_only=False) * np.where(np.isnan(multiplier), 1.0, multiplier) * book.conversion.rate_today[factor]
    holdings, of_holding = np.unique(np.column_stack([of_position, owner]), axis=0, return_inverse=True)
    weight = np.zeros(len(holdings))
    np.add.at(weight, of_holding.reshape(-1), quantity)
    row = contracts[:, 0].astype(np.int64)
    spot, strikes, vols = market.spot[row], contracts[:, 2], contracts[:, 5]
    rate = np.array([parameters.rate_of(market.currency(market.factors[f], parameters.reporting_currency)) for f in row])
    dividend = carry_yields(market, row, parameters)
    expiry_years = contracts[:, 3] / CALENDAR_DAYS
    years = np.maximum(expiry_years - horizon_calendar_days(market.business_date, parameters.horizon_days) / CALENDAR_DAYS, 1e-12)
    currency = book.conversion.factor_currency[row]
    return DistinctOptions(
        row=row,
        spot=spot,
        strike=strikes,
        years=years,
        vol=vols,
        vol_row=contracts[:, 1].astype(np.int64),
        is_call=contracts[:, 4] == 1.0,
        today=black_scholes(spot, strikes, expiry_years, vols, rate, contracts[:, 4] == 1.0, dividend),
        rate=rate,
        dividend=dividend,
        fx_row=np.where(currency >= 0, len(market.factors) + currency, -1),
        fx_sign=np.ones(len(row)),
        start=np.searchsorted(holdings[:, 0], np.arange(len(contracts) + 1)).astype(np.int64),
        portfolio=holdings[:, 1].astype(np.int64),
        weight=weight,
    )


BLOCK = 8_192  # scenarios a step works on at a time, in buffers reused from block to block


@dataclass
class Buffers:
    """One block's arrays, allocated once: a fresh 400 MB array per step would spend the bound's
    time in page faults, not in the step (make bench saw the whole-array form slower than the engine)."""

    returns: np.ndarray  # factors + currencies x block: the factors' returns, then the currencies'
    growth: np.ndarray  # factors + currencies x block: exp(r) - 1 of each factor's return plus its currency's
    pnl: np.ndarray  # portfolios x block

    @classmethod
    def of(cls, book: Book, factors: int, block: int) -> Buffers:
        columns = factors + len(book.conversion.currencies)
        return cls(np.empty((columns, block)), np.empty((columns, block)), np.empty((len(book.portfolio_ids), block)))


@dataclass(frozen=True)
class Terms:
    """What a block's revaluation reads, with the factors' rows in the order the returns hold them
    (the Cholesky factor's draw order: the triangular product gives the returns in it)."""

    weights: np.ndarray  # currencies x factors: each currency's log return from the FX factors'
    added_rows: np.ndarray  # per row of the returns: the row of its factor's currency's return, or -1
    exposures: np.ndarray  # portfolios x (factors + currencies)
    options: tuple  # options_into's arguments
    has_options: bool

    @classmethod
    def of(cls, book: Book, options: DistinctOptions, order: np.ndarray | None = None) -> Terms:
        """`order`: the market row of each row of the returns (None: the market's order)."""
        factors = len(book.conversion.factor_currency)
        order = np.arange(factors) if order is None else np.asarray(order, dtype=np.int64)
        position = np.empty(factors, np.int64)
        position[order] = np.arange(factors)
        currency = book.conversion.factor_currency[order]
        foreign = np.flatnonzero(currency >= 0)
        columns = np.concatenate([order, np.arange(factors, book.exposures.shape[1])])

        def moved(rows: np.ndarray) -> np.ndarray:
            return np.where((rows >= 0) & (rows < factors), position[np.clip(rows, 0, factors - 1)], rows)

        arguments = list(options.kernel_arguments)
        arguments[1:4] = [moved(arguments[1]), moved(arguments[2]), moved(arguments[3])]
        weights = np.ascontiguousarray(book.conversion.weights[order].T)
        added = np.full(len(columns), -1, np.int64)
        added[foreign] = factors + currency[foreign]
        return cls(weights, added, np.ascontiguousarray(book.exposures[:, columns]), tuple(arguments), bool(options.count))


def _revalue_block(terms: Terms, buffers: Buffers, steps: dict[str, float] | None = None, options_step: str = "") -> np.ndarray:
    """One block's P&L (portfolios x its scenarios, in buffers.pnl), from its factors' returns
    already in buffers.returns[:factors]: the currencies' returns, the linear product, the distinct options."""
    started = time.perf_counter()
    factors = terms.weights.shape[1]
    extended, growth, pnl = buffers.returns, buffers.growth, buffers.pnl
    if terms.weights.shape[0]:
        np.matmul(terms.weights, extended[:factors], out=extended[factors:])
    growth_into(extended, terms.added_rows, growth)
    np.matmul(terms.exposures, growth, out=pnl)
    linear = time.perf_counter()
    if terms.has_options:
        options_into(extended, *terms.options, pnl, SERIES)
    if steps is not None:
        steps[LINEAR] += linear - started
        if terms.has_options:
            steps[options_step] += time.perf_counter() - linear
    return pnl


def bound_pnl(returns: np.ndarray, book: Book, options: DistinctOptions) -> np.ndarray:
    """Portfolios x scenarios P&L of the book from factor-major returns (factors x scenarios, the
    market's order), block by block as bound_seconds computes it."""
    factors, scenarios = returns.shape
    terms = Terms.of(book, options)
    sized: dict[int, Buffers] = {}
    pnl = np.empty((len(book.portfolio_ids), scenarios))
    for first in range(0, scenarios, BLOCK):
        count = min(BLOCK, scenarios - first)
        buffers = sized.setdefault(count, Buffers.of(book, factors, count))
        buffers.returns[:factors] = returns[:, first : first + count]
        pnl[:, first : first + count] = _revalue_block(terms, buffers)
    return pnl


def triangular_returns(lower: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """lower @ normals, lower-triangular (rows x rows), normals rows x scenarios in C order, written
    over the normals: BLAS's triangular product on the transposes (normals.T is Fortran-ordered, no copy)."""
    product = dtrmm(1.0, lower, normals.T, side=1, lower=1, trans_a=1, overwrite_b=1).T
    if not np.shares_memory(product, normals):  # scipy copies an operand it cannot overwrite
        normals[:] = product
    return normals


def draw_rows(model: RiskModel, market: Market) -> np.ndarray:
    """The market row of each factor in the order the model's Cholesky factor was built."""
    return np.array([market.index[name] for name in (model.draw_order or market.factors)], dtype=np.int64)


def draw_ordered(cholesky: np.ndarray, draw_rows: np.ndarray) -> np.ndarray:
    """The lower-triangular factor from the model's (the market's rows and columns), given the market
    row of each factor in the draw order."""
    lower = np.ascontiguousarray(cholesky[np.ix_(draw_rows, draw_rows)])
    if np.any(np.triu(lower, 1)):
        raise ValueError("the Cholesky factor is not lower-triangular in the draw order given")
    return lower


def warm_up(book: Book, options: DistinctOptions, factors: int) -> None:
    """Compile the kernels before anything is timed."""
    bound_pnl(np.zeros((factors, LANES + 1)), book, options)
    bound_seconds(np.eye(factors), np.arange(factors), book, options, LANES + 1, np.arange(factors, dtype=np.uint64))


NORMALS = f"normals (the engine's streams, compiled, {numba.get_num_threads()} threads)"
CHOLESKY, LINEAR = "factor returns (triangular Cholesky product)", "linear P&L (exposure product)"


def _options_step(options: DistinctOptions) -> str:
    return f"distinct options ({options.count:,}, compiled, {numba.get_num_threads()} threads)"


def bound_seconds(
    cholesky: np.ndarray, draw_rows: np.ndarray, book: Book, options: DistinctOptions, scenarios: int, keys: np.ndarray, seed: int = 1
) -> dict[str, float]:
    """Each step of the bound on the whole run, in blocks of BLOCK scenarios, timed: its seconds by
    name. `draw_rows`: the market row of each factor in the order the Cholesky factor was built;
    `keys`: each factor's stream key in the market's order (RiskModel.keys), drawn with `seed`
    as the engine draws a run of BLOCK-scenario blocks."""
    factors = cholesky.shape[0]
    drawn_keys = np.asarray(keys, dtype=np.uint64)[draw_rows]  # the streams in the draw order, as the product reads them
    lower = draw_ordered(cholesky, draw_rows)
    terms = Terms.of(book, options, draw_rows)
    options_step = _options_step(options)
    steps = dict.fromkeys([NORMALS, CHOLESKY, LINEAR, *([options_step] if options.count else [])], 0.0)
    sized: dict[int, Buffers] = {}  # a block's buffers, and the last block's (contiguous: the kernel vectorises over them)
    pnl = np.empty((len(book.portfolio_ids), scenarios))
    for first in range(0, scenarios, BLOCK):
        count = min(BLOCK, scenarios - first)
        buffers = sized.setdefault(count, Buffers.of(book, factors, count))
        started = time.perf_counter()
        stream_normals(buffers.returns[:factors], seed, first // BLOCK, drawn_keys)
        drawn = time.perf_counter()
        triangular_returns(lower, buffers.returns[:factors])
        steps[NORMALS] += drawn - started
        steps[CHOLESKY] += time.perf_counter() - drawn
        block_pnl = _revalue_block(terms, buffers, steps, options_step)
        started = time.perf_counter()
        pnl[:, first : first + count] = block_pnl
        steps[LINEAR] += time.perf_counter() - started  # the block's P&L into the run's, as the engine writes it
    return steps

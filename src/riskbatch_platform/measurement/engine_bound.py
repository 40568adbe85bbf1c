"""The bound `make bench` holds the risk engine to: a night's irreducible work, each step as fast as
this project can write it, in blocks of scenarios whose buffers are reused from block to block.

1. normals: factors x scenarios standard normal draws, one generator per core filling its rows
   (no stream per factor and block, which the engine keeps for common random numbers);
2. factor returns: the Cholesky factor times the normals (one product);
3. linear P&L: the book's exposures (positions on the same portfolio and factor summed) times
   exp(r) - 1 of each factor's return plus its currency's (one product, after the currencies'
   returns, a product with the few conversion columns);
4. distinct options: each distinct contract (underlying, strike, expiry, type, at the implied
   volatility and vol factor the positions file gives it, deduplicated here from the positions
   themselves) revalued once per scenario by the fastest revaluation this project has, the engine's
   compiled kernel (riskbatch.model.kernels.option_pnl_into: vectorised over scenarios, parallel over
   every core), its change weighted into the portfolios that hold it.

test/platform/measurement/test_engine_bound.py holds the bound's P&L to the engine's.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache

import numba
import numpy as np
import pyarrow as pa

from riskbatch.inputs.files import Market
from riskbatch.model.engine import Book, carry_yields, horizon_calendar_days
from riskbatch.model.kernels import CHUNK, option_pnl_into
from riskbatch.model.risk_model import CALENDAR_DAYS, ModelParameters, black_scholes


@dataclass(frozen=True)
class DistinctOptions:
    """The book's options as distinct contracts, with what the revaluation needs of each."""

    row: np.ndarray  # factor row of the underlying
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
    keys = np.column_stack([factor, strike, days, is_call, vol, vol_row])
    contracts, of_position = np.unique(keys, axis=0, return_inverse=True)
    of_position = of_position.reshape(-1)
    owner = np.array([book.portfolio_ids.index(name) for name in table["portfolio_id"].to_pylist()], dtype=np.int64)
    multiplier = table["multiplier"].to_numpy(zero_copy_only=False).astype(float) if "multiplier" in table.column_names else np.ones(len(option))
    quantity = table["quantity"].to_numpy(zero_copy_only=False) * np.where(np.isnan(multiplier), 1.0, multiplier) * book.conversion.rate_today[factor]
    holdings, of_holding = np.unique(np.column_stack([of_position, owner]), axis=0, return_inverse=True)
    weight = np.zeros(len(holdings))
    np.add.at(weight, of_holding.reshape(-1), quantity)
    row = contracts[:, 0].astype(np.int64)
    spot, strikes, vols = market.spot[row], contracts[:, 1], contracts[:, 4]
    rate = np.array([parameters.rate_of(market.currency(market.factors[f], parameters.reporting_currency)) for f in row])
    dividend = carry_yields(market, row, parameters)
    expiry_years = contracts[:, 2] / CALENDAR_DAYS
    years = np.maximum(expiry_years - horizon_calendar_days(market.business_date, parameters.horizon_days) / CALENDAR_DAYS, 1e-12)
    currency = book.conversion.factor_currency[row]
    return DistinctOptions(
        row=row,
        spot=spot,
        strike=strikes,
        years=years,
        vol=vols,
        vol_row=contracts[:, 5].astype(np.int64),
        is_call=contracts[:, 3] == 1.0,
        today=black_scholes(spot, strikes, expiry_years, vols, rate, contracts[:, 3] == 1.0, dividend),
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

    normals: np.ndarray  # factors x block
    returns: np.ndarray  # factors + currencies x block: the factors' returns, then the currencies'
    growth: np.ndarray  # factors + currencies x block: exp(r) - 1 of each factor's return plus its currency's
    pnl: np.ndarray  # portfolios x block

    @classmethod
    def of(cls, book: Book, factors: int, block: int) -> Buffers:
        columns = factors + len(book.conversion.currencies)
        return cls(np.empty((factors, block)), np.empty((columns, block)), np.empty((columns, block)), np.empty((len(book.portfolio_ids), block)))


def _revalue_block(book: Book, options: DistinctOptions, buffers: Buffers, steps: dict[str, float] | None = None) -> np.ndarray:
    """One block's P&L (portfolios x its scenarios, in buffers.pnl), from its factors' returns
    already in buffers.returns[:factors]: the currencies' returns, the linear product, the distinct options."""
    started = time.perf_counter()
    factors = len(book.conversion.factor_currency)
    extended, growth, pnl = buffers.returns, buffers.growth, buffers.pnl
    if book.conversion.currencies:
        np.matmul(book.conversion.weights.T, extended[:factors], out=extended[factors:])
    growth[:] = extended
    foreign = np.flatnonzero(book.conversion.factor_currency >= 0)
    growth[foreign] += extended[factors + book.conversion.factor_currency[foreign]]
    np.expm1(growth, out=growth)
    np.matmul(book.exposures, growth, out=pnl)
    linear = time.perf_counter()
    if options.count:
        option_pnl_into(extended, *_kernel_arguments(options), pnl)
    if steps is not None:
        steps[LINEAR] += linear - started
        steps[_options_step(options)] += time.perf_counter() - linear
    return pnl


def bound_pnl(returns: np.ndarray, book: Book, options: DistinctOptions) -> np.ndarray:
    """Portfolios x scenarios P&L of the book from factor-major returns (factors x scenarios),
    block by block as bound_seconds computes it."""
    factors, scenarios = returns.shape
    sized: dict[int, Buffers] = {}
    pnl = np.empty((len(book.portfolio_ids), scenarios))
    for first in range(0, scenarios, BLOCK):
        count = min(BLOCK, scenarios - first)
        buffers = sized.setdefault(count, Buffers.of(book, factors, count))
        buffers.returns[:factors] = returns[:, first : first + count]
        pnl[:, first : first + count] = _revalue_block(book, options, buffers)
    return pnl


def _kernel_arguments(options: DistinctOptions) -> tuple:
    o = options
    return (o.row, o.spot, o.strike, o.years, o.vol, o.vol_row, o.is_call, o.today, o.rate, o.dividend, o.fx_row, o.fx_sign, o.start, o.portfolio, o.weight)


def warm_up(book: Book, options: DistinctOptions, factors: int) -> None:
    """Compile the kernel before anything is timed."""
    bound_pnl(np.zeros((factors, CHUNK + 1)), book, options)
    bound_seconds(np.eye(factors), book, options, CHUNK + 1)


def _threads() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def threaded_normals(out: np.ndarray, generators: list[np.random.Generator]) -> None:
    """Fill `out` (factors x scenarios) with standard normals, one generator per core each filling
    its share of the rows in place (numpy releases the GIL while it fills): the fastest draw numpy offers."""
    shares = [share for share in np.array_split(np.arange(out.shape[0]), len(generators)) if len(share)]

    def fill(number: int) -> None:
        generators[number].standard_normal(out=out[shares[number][0] : shares[number][-1] + 1])

    list(_pool().map(fill, range(len(shares))))


@cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=_threads())


NORMALS, CHOLESKY, LINEAR = f"normals ({_threads()} generators, one per core)", "factor returns (Cholesky product)", "linear P&L (exposure product)"


def _options_step(options: DistinctOptions) -> str:
    return f"distinct options ({options.count:,}, compiled, {numba.get_num_threads()} threads)"


def bound_seconds(cholesky: np.ndarray, book: Book, options: DistinctOptions, scenarios: int) -> dict[str, float]:
    """Each step of the bound on the whole run, in blocks of BLOCK scenarios, timed: its seconds by name."""
    factors = cholesky.shape[0]
    steps = dict.fromkeys([NORMALS, CHOLESKY, LINEAR, *([_options_step(options)] if options.count else [])], 0.0)
    sized: dict[int, Buffers] = {}  # a block's buffers, and the last block's (contiguous: the kernel vectorises over them)
    generators = [np.random.Generator(np.random.PCG64(stream)) for stream in np.random.SeedSequence(1).spawn(_threads())]
    pnl = np.empty((len(book.portfolio_ids), scenarios))
    for first in range(0, scenarios, BLOCK):
        count = min(BLOCK, scenarios - first)
        buffers = sized.setdefault(count, Buffers.of(book, factors, count))
        started = time.perf_counter()
        threaded_normals(buffers.normals, generators)
        drawn = time.perf_counter()
        np.matmul(cholesky, buffers.normals, out=buffers.returns[:factors])
        steps[NORMALS] += drawn - started
        steps[CHOLESKY] += time.perf_counter() - drawn
        block_pnl = _revalue_block(book, options, buffers, steps)
        started = time.perf_counter()
        pnl[:, first : first + count] = block_pnl
        steps[LINEAR] += time.perf_counter() - started  # the block's P&L into the run's, as the engine writes it
    return steps

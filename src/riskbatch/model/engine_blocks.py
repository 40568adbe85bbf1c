"""The currencies a book's factors convert through (Conversion), and a run's scenario blocks as the
revaluation reads them: the extended returns (factor-major: the
factors' log returns, then each foreign currency's) and exp(r) - 1 of the augmented ones (each
factor's return plus its currency's, then each currency's), the two arrays the kernels take.

A whole-book call draws each block into arrays allocated once and reused (BlockArrays): the
Cholesky product writes straight into the extended returns, the currencies' rows follow in place,
and exp(r) - 1 is one compiled pass on every core. The previous block's arrays are the ones
written over, so the call holds one block's arrays and the draw's normals at a time, not the next
block's beside the last (make bench measures the memory a month-end call adds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from riskbatch.inputs.currencies import conversion_path
from riskbatch.inputs.files import Market
from riskbatch.model.risk_model import ModelParameters, scenario_block

if TYPE_CHECKING:
    from riskbatch.model.engine import RiskModel

@dataclass(frozen=True)
class Conversion:
    """How each factor's currency reaches the reporting currency."""

    reporting: str
    currencies: list[str]  # the foreign currencies the book needs, one augmented column each
    weights: np.ndarray  # factors x currencies: each currency's log return as signed FX factor returns (a cross has two)
    factor_currency: np.ndarray  # per factor: the column of its currency in `currencies`, or -1 (the reporting one)
    rate_today: np.ndarray  # per factor: today's rate of its currency into the reporting currency

    def extended(self, returns: np.ndarray) -> np.ndarray:
        """The factors' returns, then each foreign currency's: what the option kernels read, factor-major
        ((factors + currencies) x scenarios, C order) from scenarios x factors returns."""
        by_factor = np.ascontiguousarray(returns.T)
        if not self.currencies:
            return by_factor
        return np.vstack([by_factor, self.weights.T @ by_factor])

    def augmented_from(self, extended: np.ndarray) -> np.ndarray:
        """From extended returns: each factor's return plus its currency's, then one row per
        foreign currency (factor-major, as `extended`)."""
        if not self.currencies:
            return extended.copy()
        factors = len(self.factor_currency)
        foreign = np.flatnonzero(self.factor_currency >= 0)
        result = extended.copy()
        result[foreign] += extended[factors + self.factor_currency[foreign]]
        return result

    def augmented(self, returns: np.ndarray) -> np.ndarray:
        """Each factor's return plus its currency's, then one column per foreign currency (scenarios x columns)."""
        return self.augmented_from(self.extended(returns)).T


def conversion_of(market: Market, reporting: str) -> Conversion:
    factors = len(market.factors)
    factor_currency, rate_today = np.full(factors, -1, np.int64), np.ones(factors)
    currencies: list[str] = []
    paths: list[list[tuple[str, int]]] = []
    for column, name in enumerate(market.factors):
        currency = market.currency(name, reporting)
        path = conversion_path(market, currency, reporting)
        if not path:
            continue
        if currency not in currencies:
            currencies.append(currency)
            paths.append(path)
        factor_currency[column] = currencies.index(currency)
        rate_today[column] = float(np.prod([market.spot[market.index[fx]] ** sign for fx, sign in path]))
    weights = np.zeros((factors, len(currencies)))
    for number, path in enumerate(paths):
        for fx, sign in path:
            weights[market.index[fx], number] += sign
    return Conversion(reporting, currencies, weights, factor_currency, rate_today)


PreparedBlocks = Callable[[int], tuple[np.ndarray, np.ndarray]]


def currency_rows(conversion: Conversion) -> np.ndarray:
    """Per augmented row: the extended row of the currency whose return it adds, or -1."""
    factors = len(conversion.factor_currency)
    rows = np.full(factors + len(conversion.currencies), -1, np.int64)
    foreign = conversion.factor_currency >= 0
    rows[:factors][foreign] = factors + conversion.factor_currency[foreign]
    return rows


def _complete(extended: np.ndarray, conversion: Conversion, growth: np.ndarray) -> None:
    """Given the factors' returns in extended's first rows: the currencies' rows, then the growth."""
    from riskbatch.model.kernels import growth_into

    factors = len(conversion.factor_currency)
    if conversion.currencies:
        np.matmul(conversion.weights.T, extended[:factors], out=extended[factors:])
    growth_into(extended, currency_rows(conversion), growth)


def prepared_block(returns: np.ndarray, conversion: Conversion) -> tuple[np.ndarray, np.ndarray]:
    """A block of scenarios (scenarios x factors returns) as the revaluation reads it, whatever the
    book: the extended returns (factor-major) and exp(r) - 1 of the augmented ones. A worker keeps
    these between its units (they depend on the run's market and scenarios only), so that a unit
    costs its own positions' work, not a pass over every factor in every scenario."""
    scenarios, factors = returns.shape
    extended = np.empty((factors + len(conversion.currencies), scenarios))
    extended[:factors] = returns.T
    growth = np.empty_like(extended)
    _complete(extended, conversion, growth)
    return extended, growth


class BlockArrays:
    """One block's extended returns and growth, allocated once for the whole call: each block is
    drawn (or copied) into them, over the previous block's."""

    def __init__(self, conversion: Conversion, block_size: int) -> None:
        self.conversion = conversion
        rows = len(conversion.factor_currency) + len(conversion.currencies)
        self.extended, self.growth = np.empty((rows, block_size)), np.empty((rows, block_size))

    def _views(self, scenarios: int) -> tuple[np.ndarray, np.ndarray]:
        if scenarios == self.extended.shape[1]:
            return self.extended, self.growth
        # the last, shorter block: contiguous rows of its own length, in the same memory
        rows = self.extended.shape[0]
        return self.extended.reshape(-1)[: rows * scenarios].reshape(rows, scenarios), self.growth.reshape(-1)[: rows * scenarios].reshape(rows, scenarios)

    def draw(self, parameters: ModelParameters, model: RiskModel, block: int) -> tuple[np.ndarray, np.ndarray]:
        """Block `block`'s factor returns drawn into these arrays (the rest left to complete)."""
        scenarios = min(parameters.block_size, parameters.scenarios - block * parameters.block_size)
        extended, growth = self._views(scenarios)
        scenario_block(parameters, block, model.cholesky, model.keys, extended[: len(self.conversion.factor_currency)], model.triangular)
        return extended, growth

    def complete(self, extended: np.ndarray, growth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The currencies' rows and the growth, from the factors' returns drawn."""
        _complete(extended, self.conversion, growth)
        return extended, growth

    def drawn(self, parameters: ModelParameters, model: RiskModel, block: int) -> tuple[np.ndarray, np.ndarray]:
        """Block `block` of the run's scenarios, drawn into these arrays."""
        return self.complete(*self.draw(parameters, model, block))

    def copied(self, returns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A block given as scenarios x factors returns, copied into these arrays."""
        extended, growth = self._views(returns.shape[0])
        extended[: returns.shape[1]] = returns.T
        _complete(extended, self.conversion, growth)
        return extended, growth

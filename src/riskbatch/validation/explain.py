"""Day-over-day change in VaR, explained: what the book did, what the market did, what the model did.

With the previous night's run at hand (its book and its market) and tonight's, VaR 99 % moves from
yesterday's figure to tonight's in three steps, each a full revaluation on common random numbers
(a factor keeps its draws from night to night, so no step is sampling noise):

1. model or data: yesterday's book on yesterday's market, recomputed with tonight's model settings,
   less the figure yesterday published (zero unless the settings or the software changed);
2. market: yesterday's book on tonight's market (its prices, its covariance), less step 1's figure;
3. book: tonight's figure less yesterday's book on tonight's market.

The three add up to the change, firm-wide and per portfolio. Common random numbers make the
change far less noisy than two independent runs, not noise-free: the firm's change comes with
its Monte Carlo standard error, by batch means (the scenarios cut into SAMPLING_BATCHES batches,
the change computed in each), and that error's share of the change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa

from riskbatch.inputs.currencies import factors_of_position
from riskbatch.inputs.files import Market
from riskbatch.model.engine import PreparedBlocks, RiskModel, build_book, portfolio_pnl, risk_model
from riskbatch.model.risk_model import ModelParameters, value_at_risk
from riskbatch.model.run_inputs import RunBook

SAMPLING_BATCHES = 20


def change_standard_error(before: np.ndarray, after: np.ndarray, batches: int = SAMPLING_BATCHES) -> float:
    """Monte Carlo standard error of VaR 99 %(after) - VaR 99 %(before), two firm P&L vectors on the
    same scenarios: the spread of the change over contiguous batches, over the root of their count."""
    size = len(before) // batches
    if size < 100:
        raise ValueError(f"{batches} batches of at least 100 scenarios are needed, not {len(before)} scenarios")
    changes = [value_at_risk(after[k * size : (k + 1) * size], 0.99) - value_at_risk(before[k * size : (k + 1) * size], 0.99) for k in range(batches)]
    return float(np.std(changes, ddof=1) / np.sqrt(batches))


def sampling_noise(before: np.ndarray, after: np.ndarray, change: float) -> dict[str, Any] | None:
    """The change's standard error and its share of the change (None: too few scenarios to say)."""
    try:
        error = change_standard_error(before, after)
    except ValueError:
        return None
    return {"standard_error": error, "share_of_change": error / abs(change) if change else None, "batches": SAMPLING_BATCHES}


def _var_99(pnl: np.ndarray, portfolio_ids: list[str]) -> dict[str, float]:
    figures = {name: value_at_risk(row, 0.99) for name, row in zip(portfolio_ids, pnl, strict=True)}
    figures["firm"] = value_at_risk(pnl.sum(axis=0), 0.99)
    return figures


def _positions_valued_on(positions: pa.Table, market: Market, reporting: str) -> tuple[pa.Table, int]:
    """The positions whose factors tonight's market has (and how many it has not)."""
    keep = []
    for row in positions.to_pylist():
        try:
            keep.append(all(factor in market.index for factor in factors_of_position(market, row, reporting)))
        except KeyError:  # a currency tonight has no rate for
            keep.append(False)
    mask = pa.array(keep)
    return positions.filter(mask), len(keep) - sum(keep)


Abort = Callable[[], bool] | None


def revalued(
    positions: pa.Table, market: Market, parameters: ModelParameters, model: RiskModel, prepared: PreparedBlocks | None = None, should_abort: Abort = None
) -> tuple[list[str], np.ndarray]:
    """Positions in every scenario of `model` on `market`: (portfolio ids, portfolios x scenarios)."""
    if positions.num_rows == 0:
        return [], np.zeros((0, parameters.scenarios))
    book = build_book(positions, market, parameters)
    return book.portfolio_ids, portfolio_pnl(book, market, parameters, model, should_abort=should_abort, prepared=prepared)


def carried_pnl(
    positions: pa.Table, market: Market, parameters: ModelParameters, model: RiskModel, prepared: PreparedBlocks | None = None, should_abort: Abort = None
) -> tuple[list[str], np.ndarray, int]:
    """Step 2's revaluation: the positions of yesterday's book that tonight's market can value, on
    tonight's market and model; and how many it cannot."""
    carried, dropped = _positions_valued_on(positions, market, parameters.reporting_currency)
    return (*revalued(carried, market, parameters, model, prepared, should_abort), dropped)


def explain_var_change(
    previous_record: dict[str, Any], previous: RunBook, tonight: RunBook, tonight_var: dict[str, float], tonight_firm_pnl: np.ndarray | None = None
) -> dict[str, Any]:
    """The change from yesterday's published VaR 99 % to tonight's, in its three steps, from
    yesterday's whole book revalued twice; with tonight's firm P&L, the firm change's sampling
    noise. The risk workers compute the same revaluations unit by unit (riskbatch.validation.previous_night):
    explain_from."""
    parameters: ModelParameters = tonight.parameters
    recomputed_model = risk_model(previous.market, parameters, previous.model.draw_order)
    recomputed = revalued(previous.positions, previous.market, parameters, recomputed_model)
    carried = carried_pnl(previous.positions, tonight.market, parameters, tonight.model)
    return explain_from(previous_record, recomputed, carried[:2], carried[2], tonight_var, tonight_firm_pnl)


def explain_from(
    previous_record: dict[str, Any],
    recomputed: tuple[list[str], np.ndarray],
    carried: tuple[list[str], np.ndarray],
    not_carried: int,
    tonight_var: dict[str, float],
    tonight_firm_pnl: np.ndarray | None = None,
) -> dict[str, Any]:
    """The three steps from yesterday's book recomputed on tonight's settings and carried onto
    tonight's market, each as (portfolio ids, portfolios x scenarios P&L)."""
    again_by_scope, moved_by_scope = _var_99(recomputed[1], recomputed[0]), _var_99(carried[1], carried[0])
    published = {"firm": previous_record["var"]["firm"]["var_99"]}
    published.update({name: values["var_99"] for name, values in previous_record["var"]["portfolios"].items()})
    scopes = ["firm", *sorted((set(published) | set(tonight_var)) - {"firm"})]
    rows = {}
    for scope in scopes:
        before, after = published.get(scope, 0.0), tonight_var.get(scope, 0.0)
        again, moved = again_by_scope.get(scope, 0.0), moved_by_scope.get(scope, 0.0)
        rows[scope] = {
            "yesterday": before,
            "tonight": after,
            "change": after - before,
            "model_or_data": again - before,
            "market": moved - again,
            "book": after - moved,
        }
    noise = None
    if tonight_firm_pnl is not None:
        # the change past the model-or-data step (yesterday's book recomputed on tonight's settings)
        noise = sampling_noise(recomputed[1].sum(axis=0), tonight_firm_pnl, rows["firm"]["tonight"] - again_by_scope["firm"])
    return {
        "var_date": previous_record["business_date"],
        "measure": "var_99",
        "positions_not_carried": not_carried,
        "scopes": rows,
        "sampling_noise": noise,
    }

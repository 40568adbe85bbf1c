"""The previous night's revaluations that tonight's backtest and day-over-day explanation need,
done by the risk workers unit by unit beside tonight's P&L, and only summed by the report.

Ingestion names the previous night in the manifest (`previous_night`: the latest history record
before tonight, as the report finds it, and its run) and gives each of tonight's N units a
contiguous share of that run's M units (`previous_units`: unit j goes to tonight's unit
floor(j N / M); a unit may get none). For the positions of its share, a worker computes:

- the backtest's hypothetical P&L: their P&L per portfolio in tonight's one-day move of every
  factor the previous night's market held, with one day of time decay (history.hypothetical_pnl);
  the factors without a move, and the positions on them with their notional (history.positions_on);
- step 1 of the explanation: their P&L per portfolio in every scenario on the previous night's
  market with tonight's model settings, in its draw order (explain.revalued);
- step 2: those that tonight's market can value, on tonight's market and model, and how many it
  cannot (explain.carried_pnl).

Each part is a sum over positions (P&L per portfolio, counts, notional) or a list in the previous
run's order of positions, so the sums and concatenations over units are the whole book's
figures: history.backtest_from and explain.explain_from take them as the whole-book functions
(backtest_entry, explain_var_change) give them. The parts lie in the unit's result file beside
its P&L, as arrays named previous_*; the report uses them only when they cover every unit of the
very night it backtests, and revalues the whole previous book itself otherwise (logged).

The backtest's earlier prices come from the previous run's market, the prices that night's
history record keeps (`factors`: the report writes its run's market's last prices there).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from riskbatch.aws.layout import manifest_key
from riskbatch.aws.storage import get_bytes, get_json
from riskbatch.inputs.files import Market, run_market
from riskbatch.model.engine import PreparedBlocks, RiskModel, build_book, risk_model
from riskbatch.model.risk_model import ModelParameters, covariance_settings
from riskbatch.model.run_inputs import RunBook, load_file_market
from riskbatch.validation.explain import carried_pnl, explain_from, revalued
from riskbatch.validation.history import backtest_from, hypothetical_pnl, market_move, positions_on

PREFIX = "previous_"


@dataclass(frozen=True)
class PreviousNight:
    """What every unit's part needs of the previous night and of tonight, loaded once per run."""

    run_id: str
    manifest: dict[str, Any]  # the previous run's
    market: Market  # the previous run's
    parameters: ModelParameters  # the previous run's (its hypothetical P&L)
    model: RiskModel  # the previous run's
    recomputed_model: RiskModel  # the previous run's market with tonight's settings, in its draw order
    moves: Market  # tonight's whole market file: the day's move of every factor it holds
    untrusted: list[str]  # tonight's last prices the last-day check did not trust


def load_previous_night(s3: Any, bucket: str, manifest: dict[str, Any], market: Market, parameters: ModelParameters) -> PreviousNight | None:
    """The previous night tonight's manifest names (None: it names none)."""
    named = manifest.get("previous_night")
    if not named:
        return None
    previous = get_json(s3, bucket, manifest_key(named["run_id"]))
    previous_market = run_market(s3, bucket, previous)
    previous_parameters = ModelParameters(**previous["model"])
    order = previous.get("draw_order")
    model, recomputed = previous_models(previous_market, previous_parameters, parameters, order)
    return PreviousNight(
        run_id=named["run_id"],
        manifest=previous,
        market=previous_market,
        parameters=previous_parameters,
        model=model,
        recomputed_model=recomputed,
        moves=load_file_market(s3, bucket, manifest) or market,
        untrusted=list(manifest["data_quality"].get("untrusted_last_day", [])),
    )


def previous_models(market: Market, previous: ModelParameters, tonight: ModelParameters, order: list[str] | None) -> tuple[RiskModel, RiskModel]:
    """The previous night's model, and its market's with tonight's settings: the same model, built once, unless
    the covariance settings changed (a worker's start builds each covariance and its decompositions once)."""
    model = risk_model(market, previous, order)
    if covariance_settings(tonight) == covariance_settings(previous):
        return model, model
    return model, risk_model(market, tonight, order)


def previous_positions(s3: Any, bucket: str, night: PreviousNight, units: list[int]) -> pa.Table | None:
    """The positions of the previous night's units given, in order (None: no unit given)."""
    tables = [pq.read_table(io.BytesIO(get_bytes(s3, bucket, night.manifest["units"][unit]["key"]))) for unit in units]
    return pa.concat_tables(tables) if tables else None


def _strings(values: list[str]) -> np.ndarray:
    return np.array(values, dtype=str) if values else np.zeros(0, dtype="<U1")


def unit_part(
    night: PreviousNight,
    units: list[int],
    positions: pa.Table | None,
    parameters: ModelParameters,
    market: Market,
    model: RiskModel,
    prepared: PreparedBlocks | None = None,
    recomputed: PreparedBlocks | None = None,
    should_abort: Callable[[], bool] | None = None,
) -> dict[str, np.ndarray]:
    """The part of the previous night's units `units` (`positions`, None when there are none):
    arrays for the unit's result file. `prepared` and `recomputed` supply the prepared scenario
    blocks of tonight's market and model and of the recomputed one (a worker's cache)."""
    nothing = np.zeros((0, parameters.scenarios))
    if positions is None or positions.num_rows == 0:
        by_portfolio, missing, ids, notional = {}, market_move(night.market, night.moves, night.untrusted)[1], [], 0.0
        recomputed_pnl, carried = ([], nothing), ([], nothing, 0)
    else:
        run = RunBook(night.parameters, night.market, positions, build_book(positions, night.market, night.parameters), night.model)
        by_portfolio, missing = hypothetical_pnl(run, night.moves, night.untrusted)
        ids, notional = positions_on(run, missing) if missing else ([], 0.0)
        recomputed_pnl = revalued(positions, night.market, parameters, night.recomputed_model, recomputed, should_abort)
        carried = carried_pnl(positions, market, parameters, model, prepared, should_abort)
    return {
        f"{PREFIX}run_id": np.array(night.run_id),
        f"{PREFIX}units": np.array(units, dtype=np.int64),
        f"{PREFIX}backtest_portfolios": _strings(list(by_portfolio)),
        f"{PREFIX}backtest_pnl": np.array(list(by_portfolio.values()), dtype=float),
        f"{PREFIX}missing": _strings(missing),
        f"{PREFIX}missing_positions": _strings(ids),
        f"{PREFIX}missing_notional": np.array(notional),
        f"{PREFIX}recomputed_portfolios": _strings(recomputed_pnl[0]),
        f"{PREFIX}recomputed_pnl": recomputed_pnl[1],
        f"{PREFIX}carried_portfolios": _strings(carried[0]),
        f"{PREFIX}carried_pnl": carried[1],
        f"{PREFIX}not_carried": np.array(carried[2], dtype=np.int64),
    }


@dataclass
class PreviousNightSums:
    """The parts of every unit read back and summed: the previous night's whole book's figures."""

    run_id: str | None = None
    units: list[int] = field(default_factory=list)
    hypothetical: dict[str, float] = field(default_factory=dict)
    missing: list[str] | None = None
    missing_positions: list[str] = field(default_factory=list)
    missing_notional: float = 0.0
    recomputed: dict[str, np.ndarray] = field(default_factory=dict)
    carried: dict[str, np.ndarray] = field(default_factory=dict)
    not_carried: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, result: Any, unit: int) -> None:
        """Add one unit's part (the arrays of its result file, in tonight's unit order)."""
        if f"{PREFIX}run_id" not in result:
            self.problems.append(f"unit {unit} holds no part of the previous night")
            return
        run_id, missing = str(result[f"{PREFIX}run_id"]), result[f"{PREFIX}missing"].tolist()
        if self.run_id is None:
            self.run_id, self.missing = run_id, missing
        elif run_id != self.run_id or missing != self.missing:
            self.problems.append(f"unit {unit} was computed against another previous night ({run_id})")
            return
        self.units += result[f"{PREFIX}units"].tolist()
        for name, value in zip(result[f"{PREFIX}backtest_portfolios"].tolist(), result[f"{PREFIX}backtest_pnl"].tolist(), strict=True):
            self.hypothetical[name] = self.hypothetical.get(name, 0.0) + value
        self.missing_positions += result[f"{PREFIX}missing_positions"].tolist()
        self.missing_notional += float(result[f"{PREFIX}missing_notional"])
        _add_rows(self.recomputed, result[f"{PREFIX}recomputed_portfolios"].tolist(), result[f"{PREFIX}recomputed_pnl"])
        _add_rows(self.carried, result[f"{PREFIX}carried_portfolios"].tolist(), result[f"{PREFIX}carried_pnl"])
        self.not_carried += int(result[f"{PREFIX}not_carried"])

    def unusable_for(self, run_id: str, previous_units: int) -> str | None:
        """Why these sums are not the whole book of run `run_id` (None: they are)."""
        if self.problems:
            return "; ".join(self.problems[:3])
        if self.run_id != run_id:
            return f"the units revalued run {self.run_id}, the report backtests run {run_id}"
        if self.units != list(range(previous_units)):
            return f"the units cover the previous night's units {self.units}, not 0 to {previous_units - 1} once each"
        return None

    def backtest(self, previous_record: dict[str, Any], business_date: Any, actual: dict[str, float] | None, untrusted: list[str]) -> dict[str, Any]:
        missing = self.missing or []
        by_portfolio = dict(sorted(self.hypothetical.items()))  # the whole book's order: its portfolios sorted
        return backtest_from(previous_record, by_portfolio, missing, self.missing_positions, self.missing_notional, business_date, actual, untrusted)

    def explain(self, previous_record: dict[str, Any], tonight_var: dict[str, float], firm_pnl: np.ndarray) -> dict[str, Any]:
        scenarios = len(firm_pnl)
        recomputed, carried = _matrix(self.recomputed, scenarios), _matrix(self.carried, scenarios)
        return explain_from(previous_record, recomputed, carried, self.not_carried, tonight_var, firm_pnl)


def _add_rows(into: dict[str, np.ndarray], names: list[str], rows: np.ndarray) -> None:
    for name, row in zip(names, rows, strict=True):
        if name in into:
            into[name] += row
        else:
            into[name] = row.copy()


def _matrix(rows: dict[str, np.ndarray], scenarios: int) -> tuple[list[str], np.ndarray]:
    names = sorted(rows)
    return names, np.array([rows[name] for name in names]).reshape(len(names), scenarios)

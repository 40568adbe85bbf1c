"""risk-calculation: the P&L of every position of a work unit in every scenario of its run, and the
unit's part of the previous night's revaluations for tonight's backtest and explanation
(riskbatch.validation.previous_night), written together in the unit's result."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from riskbatch.aws.alerts import put_event
from riskbatch.aws.layout import result_key, results_prefix, status_key
from riskbatch.aws.storage import count_keys, exists, get_bytes, get_json, put_json_once, put_once
from riskbatch.inputs.files import Market, run_market
from riskbatch.model.build_record import computing_build
from riskbatch.model.code_fingerprint import require_night_code
from riskbatch.model.engine import Conversion, PreparedBlocks, RiskModel, build_book, conversion_of, portfolio_pnl, prepared_block, risk_model
from riskbatch.model.precompile import kernel_origins
from riskbatch.model.risk_model import ModelParameters
from riskbatch.runtime.logs import log, timed
from riskbatch.validation.history import one_day_pnl
from riskbatch.validation.previous_night import PreviousNight, load_previous_night, previous_positions, unit_part


class ScenarioCache:
    """A run's scenario blocks, drawn and prepared for revaluation once per worker and reused across
    its units while they fit the budget (engine.prepared_block: they depend on the market and the
    scenarios, not on the unit). One set per (run, model, parameters), so that tonight's scenarios,
    the one-day horizon's and those of the previous night's book recomputed on its own market are
    each drawn once. The key's last part is tonight's run: a new run's first set drops the sets of
    every other run. A set that does not fit beside the ones kept is not kept at all (each unit
    draws it again): evicting a set a unit still uses would make the units take turns evicting
    each other's sets, and would not free the memory a unit's closures hold."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget = budget_bytes
        self.sets: dict[tuple, tuple[int, dict[int, tuple[np.ndarray, np.ndarray]]]] = {}

    def source(self, key: tuple, parameters: ModelParameters, model: RiskModel, conversion: Conversion) -> PreparedBlocks | None:
        from riskbatch.model.risk_model import scenario_block

        size = 2 * parameters.scenarios * (model.cholesky.shape[0] + len(conversion.currencies)) * 8  # extended returns and growth
        if size > self.budget:
            return None  # too large to keep: each unit draws its blocks again
        key = (*key, json.dumps(dataclasses.asdict(parameters), sort_keys=True))  # parameters hold a dict: not hashable
        if key not in self.sets:
            for other in [kept for kept in self.sets if kept[-2] != key[-2]]:  # another run's (key[-2]: tonight's run id)
                del self.sets[other]
            if sum(kept for kept, _ in self.sets.values()) + size > self.budget:
                return None
            self.sets[key] = (size, {})
        blocks = self.sets[key][1]

        def block(index: int) -> tuple[np.ndarray, np.ndarray]:
            if index not in blocks:
                blocks[index] = prepared_block(scenario_block(parameters, index, model.cholesky, model.keys, triangular=model.triangular), conversion)
            return blocks[index]

        return block


def _check_finite(unit: int, portfolio_ids: list[str], arrays: dict[str, np.ndarray]) -> None:
    """Never write a result the report cannot use: fail here, next to the cause."""
    pnl = arrays["pnl"]
    if not np.all(np.isfinite(pnl)):
        bad = sorted({portfolio_ids[i] for i in np.flatnonzero(~np.all(np.isfinite(pnl), axis=1))})
        raise ValueError(f"unit {unit}: non-finite P&L in portfolio(s) {', '.join(bad)}")
    for name, values in arrays.items():
        if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
            raise ValueError(f"unit {unit}: non-finite values in {name}")


PREVIOUS_RETRY_SECONDS = 60.0  # a previous night that failed to load is tried again after this


class RiskCalculation:
    """Handles work-unit messages; keeps the run's market, Cholesky factor and scenarios between units."""

    def __init__(self, s3: Any, events: Any, event_bus: str | None, scenario_budget_mb: int | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.s3 = s3
        self.events = events
        self.event_bus = event_bus
        self.clock = clock
        self._run = lru_cache(maxsize=2)(self._load_run)
        self._previous: dict[tuple[str, str], PreviousNight] = {}  # loaded previous nights, by the run's manifest
        self._previous_failed: dict[tuple[str, str], float] = {}  # when a load last failed
        budget = scenario_budget_mb if scenario_budget_mb is not None else int(os.environ.get("RISK_SCENARIO_CACHE_MB", "2048"))
        self.scenarios = ScenarioCache(budget * 1024 * 1024)

    def _load_run(self, bucket: str, manifest_key: str) -> tuple[dict[str, Any], Market | None, ModelParameters, RiskModel | None]:
        manifest = get_json(self.s3, bucket, manifest_key)
        if not manifest["positions"]:  # every row refused: no market or model to load, the report publishes no figure
            return manifest, None, ModelParameters(**manifest["model"]), None
        market = run_market(self.s3, bucket, manifest)
        parameters = ModelParameters(**manifest["model"])
        model = risk_model(market, parameters, manifest.get("draw_order"))
        log("risk_model", run_id=manifest["run_id"], **model.describe())
        return manifest, market, parameters, model

    def _previous_night(self, bucket: str, manifest_key: str, manifest: dict[str, Any], market: Market, parameters: ModelParameters) -> PreviousNight | None:
        """The previous night, kept once loaded. A load that failed is tried again by a later unit
        once PREVIOUS_RETRY_SECONDS have passed, not given up for the worker's life: a read that
        failed once (a throttled request, a file landing late) need not cost every unit its parts."""
        key = (bucket, manifest_key)
        if key in self._previous:
            return self._previous[key]
        failed = self._previous_failed.get(key)
        if failed is not None and self.clock() - failed < PREVIOUS_RETRY_SECONDS:
            return None
        try:
            previous = load_previous_night(self.s3, bucket, manifest, market, parameters)
        except Exception as error:  # the previous night is optional: tonight's P&L must not wait on it
            # The report revalues the previous night itself when the parts are missing (or skips the backtest).
            log("previous_night_unavailable", run_id=manifest["run_id"], error=f"{type(error).__name__}: {error}", retry_seconds=PREVIOUS_RETRY_SECONDS)
            self._previous_failed[key] = self.clock()
            return None
        if previous is not None:
            self._previous = {key: previous}  # tonight's run only: an older run's is not needed again
        self._previous_failed.pop(key, None)
        return previous

    def __call__(self, message: dict[str, Any], should_abort: Callable[[], bool]) -> None:
        bucket, run, unit = message["bucket"], message["run_id"], int(message["unit"])
        key = result_key(run, unit)
        manifest, market, parameters, model = self._run(bucket, message["manifest_key"])
        if market is None or model is None:
            self._empty_unit(bucket, manifest, unit, parameters)
            return
        previous = self._previous_night(bucket, message["manifest_key"], manifest, market, parameters)
        if exists(self.s3, bucket, key):
            log("unit_already_done", run_id=run, unit=unit)
        else:
            require_night_code(manifest, f"unit {unit}")  # one build computes a night's units: retried, then dead-lettered (alarmed)
            log("unit_started", run_id=run, unit=unit)
            with timed("unit_computed", run_id=run, unit=unit) as timing:
                positions = pq.read_table(io.BytesIO(get_bytes(self.s3, bucket, message["unit_key"])))
                book = build_book(positions, market, parameters)
                cached = self.scenarios.source((run,), parameters, model, book.conversion)
                arrays = {"pnl": portfolio_pnl(book, market, parameters, model, should_abort=should_abort, prepared=cached)}
                if parameters.horizon_days != 1:  # the one-day VaR the next night's backtest tests
                    one_day = self.scenarios.source((run,), dataclasses.replace(parameters, horizon_days=1), model, book.conversion)
                    arrays["one_day_pnl"] = one_day_pnl(book, market, parameters, model, one_day, should_abort)
                if previous is not None:
                    share = manifest["units"][unit].get("previous_units", [])
                    conversion = conversion_of(previous.market, parameters.reporting_currency)  # the recomputed books': tonight's settings on its market
                    recomputed = self.scenarios.source((previous.run_id, run), parameters, previous.recomputed_model, conversion)
                    old_positions = previous_positions(self.s3, bucket, previous, share)
                    arrays |= unit_part(previous, share, old_positions, parameters, market, model, cached, recomputed, should_abort)
                    timing.update(previous_run=previous.run_id, previous_units=share)
                _check_finite(unit, book.portfolio_ids, arrays)
                buffer = io.BytesIO()
                # not compressed: P&L vectors are noise to zlib (3 % smaller), and compressing cost more than a unit's options
                # built_by: the build that computed the unit (model/build_record.py), JSON in a text array (no pickle to load)
                built_by = np.array(json.dumps(computing_build(), sort_keys=True))
                np.savez(buffer, portfolio_ids=np.array(book.portfolio_ids), unit=unit, built_by=built_by, **arrays)
                written = put_once(self.s3, bucket, key, buffer.getvalue())
                # where each kernel came from: the image's cache, or compiled by this task (make bench and the container night read it)
                timing.update(positions=positions.num_rows, scenarios=parameters.scenarios, written=written, kernels=kernel_origins())
        self._complete_if_last(bucket, manifest, unit)

    def _empty_unit(self, bucket: str, manifest: dict[str, Any], unit: int, parameters: ModelParameters) -> None:
        """The one unit of a night whose every position was refused: a result of no portfolio (no P&L, never a P&L of 0),
        then the run announced; the report revalues the previous night's book itself for its backtest."""
        require_night_code(manifest, f"unit {unit}")  # the night's own build, as for a unit of positions
        buffer = io.BytesIO()
        built_by = np.array(json.dumps(computing_build(), sort_keys=True))
        np.savez(buffer, portfolio_ids=np.array([], dtype=str), unit=unit, built_by=built_by, pnl=np.zeros((0, parameters.scenarios)))
        written = put_once(self.s3, bucket, result_key(manifest["run_id"], unit), buffer.getvalue())
        log("unit_computed", run_id=manifest["run_id"], unit=unit, positions=0, written=written)
        self._complete_if_last(bucket, manifest, unit)

    def _complete_if_last(self, bucket: str, manifest: dict[str, Any], unit: int) -> None:
        run = manifest["run_id"]
        done = count_keys(self.s3, bucket, results_prefix(run))
        if done < len(manifest["units"]):
            return
        claimed = put_json_once(self.s3, bucket, status_key(run, "completed"), {"unit": unit, "at": time.time()})
        if not claimed:
            # Another worker finished last; or this unit was redelivered after its worker claimed
            # completion and stopped before announcing it.
            completed = get_json(self.s3, bucket, status_key(run, "completed"))
            if completed.get("unit") != unit or exists(self.s3, bucket, status_key(run, "announced")):
                return
        self._announce(bucket, manifest)

    def _announce(self, bucket: str, manifest: dict[str, Any]) -> None:
        run = manifest["run_id"]
        detail = {"run_id": run, "bucket": bucket, "manifest_key": f"runs/{run}/manifest.json", "business_date": manifest["business_date"]}
        entry = {"Source": "riskbatch.risk-calculation", "DetailType": "RunCompleted", "Detail": json.dumps(detail)}
        if self.event_bus:
            entry["EventBusName"] = self.event_bus
        response = put_event(self.events, entry)
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"the completion event was refused: {response['Entries']}")
        put_json_once(self.s3, bucket, status_key(run, "announced"), {"at": time.time(), "event": detail})
        log("run_completed", run_id=run, units=len(manifest["units"]))

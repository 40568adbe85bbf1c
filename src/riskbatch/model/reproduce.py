"""riskbatch risk --manifest: a production night reproduced offline from its run record, to the last digit on its BLAS kernels.

A night's manifest (runs/<run>/manifest.json) records everything its figures depend on: the sha256 of
each file it read (positions, market, rates, a second source, corporate actions), the model parameters (the seed, the
scenarios, the dated rates curves, the model configuration's settings), the data-quality policy and
cleaning standard, the cleanings in force, the order in which the Cholesky factor was built (the
draw order, carried from night to night so that a new factor leaves the others' scenarios as they
were) and the work units. A run by name (the market's factor order, the command line's seed and
settings) draws other scenarios; this one does not:

- the manifest must hold every key the reproduction reads (an older format's gaps are never filled
  with today's defaults), and it must have been made by the running software version and by the same
  code (its fingerprint: the version is not bumped for every change, so it alone cannot tell two builds apart);
- the files given must be the very bytes the night read (their sha256), or it refuses in one line;
- the night is prepared as ingestion prepared it: the recorded policy and standard, the cleanings
  the nights before had recorded (tonight's are found again, with the corporate actions it read, and
  must be the cleanings it recorded), the second source it read, the options without a dated rate excluded;
- each work unit is revalued as a worker revalues it, on the market as the workers read it, in the
  recorded draw order and seed, and the units' P&L is summed in unit order as the report sums it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import numpy as np

from riskbatch import __version__
from riskbatch.inputs.cleaning import CleaningPolicy
from riskbatch.inputs.corporate_actions import CorporateActionsRead, confirmations, parse_corporate_actions
from riskbatch.inputs.files import MARKET_COLUMNS, POSITION_COLUMNS, load_market, read_table
from riskbatch.inputs.quality import DataQualityPolicy, prepare_night
from riskbatch.inputs.rates import RateCurves, exclude_options_without_rates
from riskbatch.inputs.second_source import parse_second_source
from riskbatch.model.build_record import computing_build
from riskbatch.model.code_fingerprint import code_fingerprint, short
from riskbatch.model.engine import build_book, portfolio_pnl, risk_model
from riskbatch.model.notional import portfolio_notional
from riskbatch.model.risk_model import ModelParameters, risk_figures


def recorded_files(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The files the night read, by role: the two nightly files, its rates file, a second source and corporate actions it used."""
    files = {item["role"]: item for item in manifest.get("inputs", [])}
    for role, key in (("rates", "rates_source"), ("second_source", "second_source"), ("corporate_actions", "corporate_actions_source")):
        source = manifest.get(key)
        if source and not source.get("rejected"):
            files[role] = source
    return files


# What the reproduction reads from a manifest: a manifest without one of them is of an older format
NEEDED = ("run_id", "business_date", "software_version", "code_fingerprint", "inputs", "model", "data_quality_policy", "cleaning_policy", "data_quality")
NEEDED += ("factors", "draw_order", "units", "portfolios", "rates_source", "second_source", "corporate_actions_source")
SETTINGS = (("model", ModelParameters), ("data_quality_policy", DataQualityPolicy), ("cleaning_policy", CleaningPolicy))


def check_manifest(manifest: dict[str, Any], running_version: str = __version__, running_code: str | None = None) -> None:
    """The manifest records everything the reproduction reads (no default of today's stands in for a
    setting of that night) and was made by the running version and code; a ValueError of one line otherwise."""
    run = manifest.get("run_id", "?")
    missing = [key for key in NEEDED if key not in manifest]
    for key, kind in SETTINGS:
        recorded = manifest.get(key)
        missing += [f"{key}.{field.name}" for field in fields(kind) if isinstance(recorded, dict) and field.name not in recorded]
        missing += [key] if key in manifest and not isinstance(recorded, dict) else []
    if isinstance(manifest.get("data_quality"), dict) and "cleanings" not in manifest["data_quality"]:
        missing.append("data_quality.cleanings")
    if missing:
        listed = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
        raise ValueError(
            f"run {run}'s manifest is of an older format: it lacks {listed}, and today's defaults would stand in for them; "
            f"reproduce it with the riskbatch version that made it ({manifest.get('software_version', 'not recorded')})"
        )
    if manifest["software_version"] != running_version:
        made = manifest["software_version"]
        raise ValueError(f"run {run} was made by riskbatch {made} and this is riskbatch {running_version}: reproduce it with riskbatch {made}")
    running_code = running_code or code_fingerprint()
    if manifest["code_fingerprint"] != running_code:
        made = str(manifest["code_fingerprint"])
        raise ValueError(
            f"run {run} was computed by code {short(made)} and this is code {short(running_code)} (both riskbatch {running_version}): "
            f"reproduce it with the build that ran it (its image, whose code is {short(made)})"
        )


def check_cleanings(manifest: dict[str, Any], found: list[dict[str, Any]]) -> None:
    """The cleanings the files give again are the ones the night recorded; a ValueError naming the first difference otherwise."""
    run, recorded, found = manifest["run_id"], manifest["data_quality"]["cleanings"], json.loads(json.dumps(found))
    if found == recorded:
        return
    by_day = [{(item["factor"], item["date"], item["rule"]): item for item in items} for items in (recorded, found)]
    difference = "they are found in another order"
    for key in sorted(set(by_day[0]) | set(by_day[1])):
        what = f"the {key[2]} of {key[0]} on {key[1]}"
        if key not in by_day[1]:
            difference = f"it recorded {what}, which the files do not give again"
        elif key not in by_day[0]:
            difference = f"the files give {what}, which it did not record"
        elif by_day[0][key] != by_day[1][key]:
            difference = f"{what} differs in {', '.join(name for name in by_day[0][key] if by_day[0][key][name] != by_day[1][key].get(name))}"
        else:
            continue
        break
    raise ValueError(f"the cleanings differ from run {run}'s: {difference}; not its night as recorded (the corporate actions it read?)")


def check_quarantined_rows(manifest: dict[str, Any], read: CorporateActionsRead | None) -> list[dict[str, Any]]:
    """The corporate-actions rows the file sets apart are the ones the night quarantined (the same bytes and code give the
    same rows: the night used the others); a ValueError of one line otherwise."""
    found = [asdict(row) for row in read.quarantined] if read else []
    recorded = (manifest.get("corporate_actions_source") or {}).get("quarantined_rows", [])
    if found != recorded:
        lines = ", ".join(map(str, sorted({row["line"] for row in found} ^ {row["line"] for row in recorded}))) or "the same lines, other reasons"
        raise ValueError(f"the corporate actions file sets apart other rows than run {manifest['run_id']} quarantined ({lines}): not its night as recorded")
    return found


def check_files(manifest: dict[str, Any], given: dict[str, Path | None]) -> None:
    """Each file given is the one the night read (its sha256), and each file the night read that the
    reproduction needs is given; a ValueError of one line otherwise."""
    run, recorded = manifest.get("run_id", "?"), recorded_files(manifest)
    for role, path in given.items():
        option = "--" + role.replace("_", "-")
        if path is None:
            if role in recorded and role not in ("rates",):  # the rates: their curves are in the manifest's model
                raise ValueError(f"run {run} read a {role.replace('_', ' ')} file ({recorded[role]['uri']}): give it with {option}")
            continue
        if role not in recorded:
            raise ValueError(f"run {run} read no {role.replace('_', ' ')} file: leave out {option}")
        checksum = hashlib.sha256(path.read_bytes()).hexdigest()
        if checksum != recorded[role]["sha256"]:
            raise ValueError(
                f"{path} is not the {role.replace('_', ' ')} file run {run} read: its sha256 is {checksum}, the manifest's "
                f"{recorded[role]['sha256']} ({recorded[role]['uri']}); give that file"
            )


def reproduce_night(
    manifest: dict[str, Any],
    positions_path: Path,
    market_path: Path,
    rates_path: Path | None = None,
    second_source_path: Path | None = None,
    show_progress: bool = False,
    corporate_actions_path: Path | None = None,
) -> dict[str, Any]:
    """The night's figures from its manifest and the files it read, as its report computed them."""
    check_manifest(manifest)
    given = {"positions": positions_path, "market": market_path, "rates": rates_path, "second_source": second_source_path}
    check_files(manifest, given | {"corporate_actions": corporate_actions_path})
    business_date = dt.date.fromisoformat(manifest["business_date"])
    parameters = ModelParameters(**manifest["model"])
    policy = DataQualityPolicy(**manifest["data_quality_policy"])
    cleaning = CleaningPolicy(**manifest["cleaning_policy"])
    # the ledger the night started from: the cleanings the nights before had made (tonight's are detected again)
    ledger = [item for item in manifest["data_quality"].get("cleanings", []) if item["made_on"] < manifest["business_date"]]
    second = parse_second_source(second_source_path.read_bytes(), second_source_path.name) if second_source_path else None
    path = corporate_actions_path
    read = parse_corporate_actions(path.read_bytes(), path.name) if path else None
    quarantined = check_quarantined_rows(manifest, read)
    actions = confirmations(read.actions) if read else None
    market_table = read_table(market_path.read_bytes(), market_path.name, MARKET_COLUMNS)
    positions_table = read_table(positions_path.read_bytes(), positions_path.name, POSITION_COLUMNS)
    files = (market_table, market_path.name, positions_table, positions_path.name, business_date)
    empty = sum(unit["positions"] for unit in manifest["units"]) == 0  # a night of no figure: every position refused, as ingestion allowed
    night = prepare_night(*files, policy, parameters.reporting_currency, cleaning, ledger, second, actions, allow_empty_book=empty)
    check_cleanings(manifest, night.summary()["cleanings"])
    curves = RateCurves({}, {currency: [(years, rate) for years, rate in points] for currency, points in parameters.curves.items()})
    night = exclude_options_without_rates(night, curves, positions_path.name, allow_empty_book=empty)
    if empty and night.positions.num_rows == 0:  # the night published no figure: its refused rows are the result, never a VaR of 0
        return {
            **{key: manifest[key] for key in ("run_id", "business_date", "data_quality_policy")},
            **{"reporting_currency": parameters.reporting_currency, "scenarios": parameters.scenarios, "seed": parameters.seed},
            "market_as_of": manifest["data_quality"]["market_as_of"],
            "firm": None,
            "portfolios": {},
            "positions": 0,
            "factors": 0,
            "draw_order": "the night's recorded",
            "blas_kernel": computing_build()["blas_kernel"],
            "model_config": (manifest.get("model_config") or {}).get("version"),
            "risk_model": None,
            "data_quality": night.summary(),
            "corporate_actions": {"records": len(read.actions) if read else 0, "quarantined_rows": quarantined},
            "valued_notional": {},
            "pnl": np.zeros((0, parameters.scenarios)),
        }
    market = load_market(night.market_table, "market", business_date)  # the market as the workers read it back
    if market.factors != manifest["factors"]:
        raise ValueError(f"the files prepare {len(market.factors)} factors, run {manifest['run_id']} ran on {len(manifest['factors'])}: not its night")
    positions = night.positions.sort_by([("portfolio_id", "ascending"), ("position_id", "ascending")])  # as ingestion splits them
    sizes = [unit["positions"] for unit in manifest["units"]]
    if sum(sizes) != positions.num_rows:
        raise ValueError(f"the files give {positions.num_rows} valid positions, run {manifest['run_id']} ran {sum(sizes)}: not its night")
    model = risk_model(market, parameters, manifest["draw_order"])
    portfolios = list(manifest["portfolios"])
    row_of = {portfolio: row for row, portfolio in enumerate(portfolios)}
    total = np.zeros((len(portfolios), parameters.scenarios))
    valued: dict[str, float] = {}  # by portfolio, as the report measures an excluded notional's share
    start = 0
    for number, size in enumerate(sizes):
        book = build_book(positions.slice(start, size), market, parameters)
        for portfolio, amount in portfolio_notional(positions.slice(start, size), market, book).items():
            valued[portfolio] = valued.get(portfolio, 0.0) + amount
        start += size
        for portfolio, values in zip(book.portfolio_ids, portfolio_pnl(book, market, parameters, model), strict=True):
            total[row_of[portfolio]] += values  # in unit order, as the report sums the units' results
        if show_progress:
            print(f"\rwork units {number + 1}/{len(sizes)}", end="" if number + 1 < len(sizes) else "\n", file=sys.stderr, flush=True)
    figures = {portfolio: risk_figures(row) for portfolio, row in zip(portfolios, total, strict=True)}
    return {
        "run_id": manifest["run_id"],
        "business_date": manifest["business_date"],
        "market_as_of": market.as_of.isoformat(),
        "reporting_currency": parameters.reporting_currency,
        "firm": risk_figures(total.sum(axis=0)),
        "portfolios": figures,
        "scenarios": parameters.scenarios,
        "seed": parameters.seed,
        "positions": positions.num_rows,
        "factors": len(market.factors),
        "draw_order": "the night's recorded",
        # to the last digit on the night's BLAS kernels (its report's computed_by.blas_kernels); on others, to about 1e-14
        "blas_kernel": computing_build()["blas_kernel"],
        "model_config": (manifest.get("model_config") or {}).get("version"),
        "risk_model": model.describe(),
        "data_quality": night.summary(),
        "corporate_actions": {"records": len(read.actions) if read else 0, "quarantined_rows": quarantined},
        "valued_notional": valued,
        "data_quality_policy": manifest["data_quality_policy"],
        "pnl": total,  # portfolios x scenarios, in the manifest's portfolio order (not printed)
    }

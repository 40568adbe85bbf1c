"""riskbatch risk: the whole engine in one process, from two local files."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa

from riskbatch.inputs.files import FX_FACTOR, MARKET_COLUMNS, POSITION_COLUMNS, read_table
from riskbatch.inputs.quality import DataQualityPolicy, prepare_night
from riskbatch.model.engine import build_book, portfolio_pnl, risk_model
from riskbatch.model.risk_model import ModelParameters, risk_figures


def business_date_of(market_path: Path, data: bytes) -> dt.date:
    """The market file's last date is the business date of a local run."""
    table = read_table(data, market_path.name, MARKET_COLUMNS)
    return max(table["date"].to_pylist())


def market_currencies(table: pa.Table) -> set[str]:
    """The currencies a market file knows: those its factors are stated in and those its FX rates quote."""
    stated = set(table["currency"].to_pylist()) if "currency" in table.column_names else set()
    quoted = {code for name in set(table["factor"].to_pylist()) if (pair := FX_FACTOR.match(str(name))) for code in pair.groups()}
    return {code for code in stated | quoted if code}


def run_offline(
    positions_path: Path,
    market_path: Path,
    parameters: ModelParameters,
    show_progress: bool = True,
    policy: DataQualityPolicy | None = None,
    business_date: dt.date | None = None,
) -> dict:
    market_bytes = market_path.read_bytes()
    business_date = business_date or business_date_of(market_path, market_bytes)
    market_table = read_table(market_bytes, market_path.name, MARKET_COLUMNS)
    known = market_currencies(market_table)
    if known and parameters.reporting_currency not in known:  # at the door: not as every position excluded
        raise ValueError(f"the market file has no {parameters.reporting_currency} (it knows {', '.join(sorted(known))}): give --currency one of those")
    night = prepare_night(
        market_table,
        market_path.name,
        read_table(positions_path.read_bytes(), positions_path.name, POSITION_COLUMNS),
        positions_path.name,
        business_date,
        policy or DataQualityPolicy(),
        parameters.reporting_currency,
    )
    market = night.market
    book = build_book(night.positions, market, parameters)
    model = risk_model(market, parameters)

    def progress(done: int, total: int) -> None:
        if show_progress:
            print(f"\rscenario blocks {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)

    pnl = portfolio_pnl(book, market, parameters, model, progress=progress)
    portfolios = {portfolio: risk_figures(row) for portfolio, row in zip(book.portfolio_ids, pnl, strict=True)}
    return {
        "business_date": business_date.isoformat(),
        "market_as_of": market.as_of.isoformat(),
        "reporting_currency": parameters.reporting_currency,
        "firm": risk_figures(pnl.sum(axis=0)),
        "portfolios": portfolios,
        "scenarios": parameters.scenarios,
        "seed": parameters.seed,
        "positions": len(book.position_ids),
        "factors": len(market.factors),
        "sum_of_portfolio_var_99": float(np.sum([figures["var_99"] for figures in portfolios.values()])),
        "risk_model": model.describe(),
        "data_quality": night.summary(),
    }

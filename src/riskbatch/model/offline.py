"""riskbatch risk: the whole engine in one process, from two local files."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import numpy as np

from riskbatch.inputs.files import MARKET_COLUMNS, POSITION_COLUMNS, read_table
from riskbatch.inputs.quality import DataQualityPolicy, prepare_night
from riskbatch.model.engine import build_book, portfolio_pnl, risk_model
from riskbatch.model.risk_model import ModelParameters, risk_figures


def business_date_of(market_path: Path, data: bytes) -> dt.date:
    """The market file's last date is the business date of a local run."""
    table = read_table(data, market_path.name, MARKET_COLUMNS)
    return max(table["date"].to_pylist())


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
    night = prepare_night(
        read_table(market_bytes, market_path.name, MARKET_COLUMNS),
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

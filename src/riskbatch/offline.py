"""riskbatch risk: the whole engine in one process, from two local files."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import numpy as np

from .engine import build_book, market_cholesky, portfolio_pnl
from .inputs import MARKET_COLUMNS, POSITION_COLUMNS, load_market, read_table, validate_positions
from .model import ModelParameters, risk_figures


def business_date_of(market_path: Path, data: bytes) -> dt.date:
    """The market file's last date is the business date of a local run."""
    table = read_table(data, market_path.name, MARKET_COLUMNS)
    return max(table["date"].to_pylist())


def run_offline(positions_path: Path, market_path: Path, parameters: ModelParameters, show_progress: bool = True) -> dict:
    market_bytes = market_path.read_bytes()
    business_date = business_date_of(market_path, market_bytes)
    market = load_market(read_table(market_bytes, market_path.name, MARKET_COLUMNS), market_path.name, business_date)
    positions = validate_positions(read_table(positions_path.read_bytes(), positions_path.name, POSITION_COLUMNS), positions_path.name, market, business_date)
    book = build_book(positions, market)

    def progress(done: int, total: int) -> None:
        if show_progress:
            print(f"\rscenario blocks {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)

    pnl = portfolio_pnl(book, market, parameters, market_cholesky(market, parameters), progress=progress)
    return {
        "business_date": business_date.isoformat(),
        "firm": risk_figures(pnl.sum(axis=0)),
        "portfolios": {portfolio: risk_figures(row) for portfolio, row in zip(book.portfolio_ids, pnl, strict=True)},
        "scenarios": parameters.scenarios,
        "seed": parameters.seed,
        "positions": len(book.position_ids),
        "factors": len(market.factors),
        "sum_of_portfolio_var_99": float(np.sum([risk_figures(row)["var_99"] for row in pnl])),
    }

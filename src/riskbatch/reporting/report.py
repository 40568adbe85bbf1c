"""report-generation: firm-wide and per-portfolio VaR and ES from the run's summed P&L, as PDF and JSON.

Over 400 lines, knowingly: the job (reading the units, the figures, the history record, the notice)
and the PDF's sections, each a function, share the summary's shape. Charts, tables, the deadline
and the notice's text are modules of their own (report_charts, report_tables, report_deadline,
report_notice); the sections are the next to move out, once the backtest's and the explanation's
revaluations leave this job for the risk workers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
import pyarrow.parquet as pq

from riskbatch import __version__
from riskbatch.aws.alerts import publish_per_protocol
from riskbatch.aws.layout import manifest_key, notified_key, report_keys, result_key
from riskbatch.aws.storage import exists, get_bytes, get_json, put_json_once, put_once
from riskbatch.inputs.files import FX_FACTOR, Market, load_market
from riskbatch.inputs.quality import excluded_notional_text
from riskbatch.model.engine import _scenario_rows, portfolio_pnl, position_tail_means
from riskbatch.model.risk_model import risk_figures
from riskbatch.model.run_inputs import RunBook, load_file_market, load_run_book
from riskbatch.operations.restatement import record_night, restated_subject, restatement_line
from riskbatch.reporting.charts import contributions_chart, exceptions_chart, png, pnl_histogram, var_trend, var_trend_chart
from riskbatch.reporting.deadline import DEADLINE, publication, publication_line, verdict
from riskbatch.reporting.notice import notice_subject, notice_summary, notice_text
from riskbatch.reporting.tables import (
    FIGURE_NAMES,
    STATUS_COLOURS,
    ZONE_STATUS,
    colour,
    grid_style,
    interval,
    money,
    parameters_in_use,
    section_table,
    status_commands,
)
from riskbatch.runtime.logs import log, timed
from riskbatch.validation.challengers import challenger_figures
from riskbatch.validation.explain import explain_var_change
from riskbatch.validation.history import (
    backtest_entry,
    backtest_summary,
    figures_of,
    load_records,
    night_record,
    one_day_figures,
    one_day_var,
    previous_record,
)
from riskbatch.validation.limits import utilisation
from riskbatch.validation.previous_night import PreviousNightSums

TOP_CONTRIBUTORS = 10
VAR_BAND = 50  # scenarios either side of the VaR quantile for component VaR
TAIL_CONFIDENCE = 0.975


@dataclass
class UnitResults:
    """The units' results summed: P&L per portfolio (a portfolio may span units), the one-day P&L
    where the horizon is longer, and the parts of the previous night's revaluations."""

    portfolios: list[str]
    pnl: np.ndarray  # portfolios x scenarios
    one_day: np.ndarray | None  # None: the horizon is one day, or a unit did not compute it
    previous: PreviousNightSums


def read_results(s3: Any, bucket: str, manifest: dict[str, Any]) -> UnitResults:
    """Every unit's result, read once and summed (VaR is not additive; P&L vectors are)."""
    run, scenarios = manifest["run_id"], manifest["model"]["scenarios"]
    portfolios = list(manifest["portfolios"])
    index = {portfolio: i for i, portfolio in enumerate(portfolios)}
    total, one_day = np.zeros((len(portfolios), scenarios)), np.zeros((len(portfolios), scenarios))
    has_one_day = manifest["model"].get("horizon_days", 1) != 1
    previous = PreviousNightSums()
    for unit, data in _fetched_in_order(s3, bucket, [result_key(run, unit["index"]) for unit in manifest["units"]], manifest["units"]):
        with np.load(io.BytesIO(data)) as result:
            rows = [index[portfolio] for portfolio in result["portfolio_ids"].tolist()]
            for row, values in zip(rows, result["pnl"], strict=True):
                total[row] += values
            has_one_day = has_one_day and "one_day_pnl" in result
            if has_one_day:
                for row, values in zip(rows, result["one_day_pnl"], strict=True):
                    one_day[row] += values
            previous.add(result, unit["index"])
    return UnitResults(portfolios, total, one_day if has_one_day else None, previous)


READ_AHEAD = 8  # results fetched at once: S3 serves parallel GETs, and the sums still run in unit order


def _fetched_in_order(s3: Any, bucket: str, keys: list[str], units: list[dict[str, Any]]):
    """(unit, bytes) in the units' order, READ_AHEAD objects fetched at a time (a unit's result is
    megabytes: one GET after the other left the report waiting on the network). One client serves
    the threads: boto3's low-level clients are thread safe
    (https://boto3.amazonaws.com/v1/documentation/api/latest/guide/clients.html#multithreading-or-multiprocessing-with-clients),
    and botocore's connection pool holds 10, more than READ_AHEAD."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=READ_AHEAD, thread_name_prefix="results") as pool:
        for start in range(0, len(keys), READ_AHEAD):
            batch = list(pool.map(lambda key: get_bytes(s3, bucket, key), keys[start : start + READ_AHEAD]))
            yield from zip(units[start : start + READ_AHEAD], batch, strict=True)


FACTOR_CLASSES = ("equity", "FX", "volatility")


def factor_class_columns(run: RunBook) -> dict[str, np.ndarray]:
    """The market's factors by class: FX rates (FX_<BASE><QUOTE>), implied volatilities (a
    position's vol_factor), and equity (every other price: shares, indices)."""
    names = run.positions.column_names
    vols = {name for name in (run.positions["vol_factor"].to_pylist() if "vol_factor" in names else []) if name}
    kinds = ["FX" if FX_FACTOR.match(name) else "volatility" if name in vols else "equity" for name in run.market.factors]
    return {kind: np.array([i for i, k in enumerate(kinds) if k == kind], dtype=np.int64) for kind in FACTOR_CLASSES}


def es_by_factor_class(run: RunBook, rows: np.ndarray, total: float, returns: np.ndarray | None = None) -> dict[str, float]:
    """The firm's ES by factor class: the firm's mean loss in its tail scenarios when only that
    class's factors move (less the time decay, which is its own line), and the interaction (the
    rest: a EUR stock's joint move of price and rate, an option's convexity across classes), so
    the lines add up to the firm's ES. `returns`: the tail's factor returns, where drawn already."""
    returns = _scenario_rows(run.parameters, run.model, rows) if returns is None else returns
    count = max(100, len(returns))  # the engine's smallest run; extra rows are ignored
    replay = dataclasses.replace(run.parameters, scenarios=count, block_size=count)

    def mean_loss(moves: np.ndarray) -> float:
        padded = np.resize(moves, (count, moves.shape[1]))
        pnl = portfolio_pnl(run.book, run.market, replay, run.model, scenarios=lambda _block: padded).sum(axis=0)
        return -float(pnl[: len(moves)].mean())

    decay = mean_loss(np.zeros_like(returns))
    shares = {}
    for kind, columns in factor_class_columns(run).items():
        only = np.zeros_like(returns)
        only[:, columns] = returns[:, columns]
        shares[kind] = mean_loss(only) - decay if len(columns) else 0.0
    shares["time decay"] = decay
    shares["interaction"] = total - sum(shares.values())
    return shares


def es_breakdown(run: RunBook, firm_pnl: np.ndarray) -> dict[str, Any]:
    """The firm's expected shortfall taken apart: each position's share is its mean P&L in the
    firm's tail scenarios (the Euler allocation of ES, so the shares add up to the firm's ES);
    summed by portfolio, and by factor class (es_by_factor_class); the largest shares, and the
    largest hedges (the most negative shares: the positions that gain when the firm loses most)."""
    tail = max(1, int(np.floor(len(firm_pnl) * (1 - TAIL_CONFIDENCE))))
    rows = np.argpartition(firm_pnl, tail - 1)[:tail]
    # Component VaR 99 % (Euler) of the largest positions: their mean loss in the scenarios whose
    # firm P&L lies at the VaR, a band of VAR_BAND scenarios either side of the quantile.
    ranked = np.argsort(firm_pnl)
    at_var = int(np.floor((len(firm_pnl) - 1) * 0.01))
    band = ranked[max(0, at_var - VAR_BAND) : at_var + VAR_BAND + 1]
    drawn = _scenario_rows(run.parameters, run.model, np.concatenate([rows, band]))  # the tail's and the band's scenarios, drawn once
    tail_returns, band_returns = drawn[: len(rows)], drawn[len(rows) :]
    shares = -position_tail_means(run.book, run.market, run.parameters, rows, run.model, tail_returns)
    kinds = run.positions["instrument_type"].to_pylist()
    underlyings = run.positions["underlying"].to_pylist()
    owners = run.positions["portfolio_id"].to_pylist()

    def entry(i: int) -> dict[str, Any]:
        return {
            "position_id": run.book.position_ids[i],
            "portfolio_id": owners[i],
            "instrument_type": kinds[i],
            "underlying": underlyings[i],
            "es_contribution": float(shares[i]),
        }

    def summed(keys: list[str]) -> dict[str, float]:
        totals: dict[str, float] = {}
        for key, share in zip(keys, shares.tolist(), strict=True):
            totals[key] = totals.get(key, 0.0) + share
        return dict(sorted(totals.items(), key=lambda item: -item[1]))

    order = np.argsort(-shares)
    near_var = -position_tail_means(run.book, run.market, run.parameters, band, run.model, band_returns)
    components = [{**entry(i), "var_99_component": float(near_var[i])} for i in order[:TOP_CONTRIBUTORS]]
    return {
        "total": float(shares.sum()),
        "var_99_components": components,
        "var_99_band": len(band),
        "by_portfolio": summed(owners),
        "by_factor_class": es_by_factor_class(run, rows, float(shares.sum()), tail_returns),
        "largest": [entry(i) for i in order[:TOP_CONTRIBUTORS]],
        "hedges": [entry(i) for i in order[::-1][:TOP_CONTRIBUTORS] if shares[i] < 0],
    }


def shrinkage_effect(run: RunBook) -> float | None:
    """The shrinkage's effect on firm VaR, relative (None: the covariance was not shrunk): the
    delta-normal VaR of the book's linear exposures under the shrunk against the sample covariance."""
    estimate = run.model.covariance
    if estimate.unshrunk is None:
        return None
    exposure = run.book.conversion.augmented(np.eye(len(run.market.factors))) @ run.book.exposures.sum(axis=0)
    shrunk, sample = (float(exposure @ matrix @ exposure) for matrix in (estimate.matrix, estimate.unshrunk))
    return float(np.sqrt(shrunk / sample) - 1.0) if sample > 0.0 else None


def stress_history(s3: Any, bucket: str, manifest: dict[str, Any]) -> Market | None:
    """The stress history that came with the run's files (None: none came)."""
    key = manifest.get("stress_market_key")
    if not key:
        return None
    table = pq.read_table(io.BytesIO(get_bytes(s3, bucket, key)))
    return load_market(table, key, dt.date.fromisoformat(manifest["business_date"]))


def backtest_series(records: list[dict[str, Any]], window: int = 250) -> list[dict[str, Any]]:
    """The last `window` backtested nights for the exceptions chart: each VaR date's hypothetical
    P&L beside its one-day VaR 99 % (and VaR 97.5 % where recorded), and whether it was exceeded."""
    by_date = {record["business_date"]: record for record in records}
    series = []
    for record in records:
        entry = record.get("backtest")
        if not entry or not entry.get("complete", True) or entry["var_date"] not in by_date:
            continue  # an incomplete day is no observation
        var = (one_day_var(by_date[entry["var_date"]]) or {}).get("firm")
        if not var:
            continue
        series.append(
            {
                "var_date": entry["var_date"],
                "pnl": entry["hypothetical_pnl"]["firm"],
                "var_99": var["var_99"],
                "var_975": var.get("var_975"),
                "exception": bool(entry["exceptions"]["firm"]),
            }
        )
    return series[-window:]


_money, _interval = money, interval
TESTS = ("kupiec", "christoffersen", "conditional_coverage")
FIGURES = tuple(FIGURE_NAMES.items())


def _overrides_text(config: dict[str, Any]) -> str:
    """The overrides a run was made with, for page one: a night run under another setting says so."""
    overrides = config.get("overrides") or {}
    return ", overridden: " + ", ".join(f"{name}={value}" for name, value in sorted(overrides.items())) if overrides else ", no override"


CHALLENGER_TAIL = (
    "Historical simulation and stressed VaR and ES come from a generalised Pareto tail fitted over the worst 10 % of days "
    "(the empirical figures and their intervals are in the report's JSON)."
)


def _challenger_rows(summary: dict[str, Any]) -> list[list[str]]:
    """Monte Carlo beside historical simulation and stressed VaR, firm-wide."""
    currency, challengers = summary["reporting_currency"], summary["challengers"]
    rows = [[f"firm ({currency})", *(label for _, label in FIGURES), "data"]]
    rows.append(["Monte Carlo", *(_money(summary["firm"][key]) for key, _ in FIGURES), f"{summary['model']['scenarios']:,} scenarios"])
    historical = challengers["historical"]
    rows.append(["historical simulation", *(_money(historical["firm"][key]) for key, _ in FIGURES), f"{historical['days']} days to {historical['window'][1]}"])
    stressed = challengers.get("stressed", {})
    if "firm" in stressed:
        window = f"{stressed['period']['name']}, {stressed['window'][0]} to {stressed['window'][1]}"
        rows.append(["stressed", *(_money(stressed["firm"][key]) for key, _ in FIGURES), window])
    elif stressed:
        rows.append(["stressed", "-", "-", "-", stressed["missing"]])
    else:
        rows.append(["stressed", "-", "-", "-", "no stress period in the model configuration"])
    return rows


PAGE_ONE_HELD = 1  # held last prices told in full on page one; the others are named in one line
PAGE_ONE_NAMED = 5  # breached limits (or further held prices) named in a warning; the others are counted
WARNING_KINDS = {"LIMIT": "breach", "BACKTEST": "breach", "DATA": "warning", "MODEL": "note", "OK": "ok"}  # marker: its colour


def _warning_items(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """What the reader must know before trusting the figures, each with its marker (WARNING_KINDS):
    the limits breached and tonight's backtest exception first, then the data, then the model."""
    quality, model = summary["data_quality"], summary["risk_model"]
    found: list[tuple[str, str]] = []
    currency = summary["reporting_currency"]
    breaches = [row for row in summary["limits"] if row["status"] == "breach"]
    if breaches:
        named = ", ".join(f"{row['scope']} {dict(FIGURES)[row['measure']]}" for row in breaches[:PAGE_ONE_NAMED])
        more = f" and {len(breaches) - PAGE_ONE_NAMED} more (see Limits)" if len(breaches) > PAGE_ONE_NAMED else ""
        found.append(("LIMIT", f"{len(breaches)} limit breach(es): {named}{more}."))
    tonight = summary.get("backtest", {}).get("tonight")
    if tonight and tonight.get("complete", True) and tonight["exceptions"]["firm"]:
        pnl = _money(tonight["hypothetical_pnl"]["firm"])
        found.append(("BACKTEST", f"Backtest exception: the {tonight['var_date']} book made {pnl} {currency}, a loss above its VaR 99 %."))
    held_prices = quality.get("held_last_prices", [])
    for held in held_prices[:PAGE_ONE_HELD]:
        found.append(
            (
                "DATA",
                f"Suspect last price of {held['factor']} not used: published {held['published']:g} on {held['date']} (a move of {held['move']:+.1%}), "
                f"held at the previous close {held['held_at']:g}. The published price would have added {_money(held['value_effect'])} {currency} "
                f"to the value of its {held['positions']} position(s) and entered every scenario.",
            )
        )
    if len(held_prices) > PAGE_ONE_HELD:
        others = held_prices[PAGE_ONE_HELD:]
        named = ", ".join(held["factor"] for held in others[:PAGE_ONE_NAMED]) + (", ..." if len(others) > PAGE_ONE_NAMED else "")
        found.append(("DATA", f"{len(others)} more suspect last price(s) held at the previous close ({named}): see Data quality."))
    if quality["excluded_positions"]:
        found.append(("DATA", f"{quality['excluded_positions']} position(s) excluded, notional {excluded_notional_text(quality)}: see Data quality."))
    if tonight and not tonight.get("complete", True):
        missing = tonight["incomplete"]
        found.append(
            (
                "DATA",
                f"The backtest of {tonight['var_date']} is incomplete (no observation): {'; '.join(missing['reasons'])}; "
                f"{len(missing['positions'])} position(s), notional {_money(missing['notional'])} {currency}.",
            )
        )
    flagged = [f for f in quality["findings"] if f["action"] == "flag"]
    if flagged:
        found.append(("DATA", f"{len(flagged)} factor(s) flagged ({', '.join(sorted({f['check'] for f in flagged}))}): see Data quality."))
    if summary["market_as_of"] != summary["business_date"]:
        found.append(("DATA", f"Market data is as of {summary['market_as_of']}, before the business date."))
    if model["shrinkage"] > 0:
        effect = model.get("shrinkage_effect_on_var")
        effect_text = f"; effect on the linear book's VaR {100 * effect:+.1f} %" if effect is not None else ""
        found.append(
            (
                "MODEL",
                f"The correlations are shrunk (Ledoit-Wolf intensity {model['shrinkage']:.3f}, variances kept): {model['factors']} factors, "
                f"rank {model['rank']}, smallest correlation eigenvalue {model.get('smallest_correlation_eigenvalue', 0.0):.1e}{effect_text}.",
            )
        )
    if model["jitter"] > 0:
        found.append(("MODEL", f"The covariance needed a diagonal jitter of {model['jitter']:g} to factorise."))
    return found or [("OK", "None: every position was valued, no factor was flagged.")]


def _warnings(summary: dict[str, Any]) -> list[str]:
    """The warnings' words, without their markers."""
    return [text for _, text in _warning_items(summary)]


def _warnings_table(summary: dict[str, Any], kit: dict[str, Any]) -> Any:
    """The warnings as rows: the marker word in its colour's cell, then the words."""
    items = _warning_items(summary)
    rows = [[marker, kit["Paragraph"](text, kit["cell"])] for marker, text in items]
    commands = [("BACKGROUND", (1, 0), (1, -1), colour("#ffffff"))]  # no header row
    commands += [command for row, (marker, _) in enumerate(items) for command in status_commands((0, row), WARNING_KINDS[marker])]
    widths = [1.9 * kit["cm"], kit["width"] - 1.9 * kit["cm"]]
    return kit["Table"](rows, colWidths=widths, style=grid_style(commands), hAlign="LEFT")


def _backtest_block(summary: dict[str, Any], kit: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """Exceptions of the VaR 99 % against the hypothetical P&L, the tests and the traffic light:
    (the firm's, for page one; the portfolios', for the details). A zone is a cell in its colour."""
    styles = kit["styles"]
    backtest = summary["backtest"]
    heading = kit["Paragraph"]("Backtest (one-day VaR against the next day's hypothetical P&amp;L)", styles["Heading2"])
    if not backtest["firm"]["observations"] and not (backtest.get("tonight") or {}).get("incomplete"):
        return [heading, kit["Paragraph"]("No observation yet: the backtest starts with the second night in the history.", styles["Normal"])], []

    def row(name: str, stats: dict[str, Any]) -> list[str]:
        zone = f"{stats['zone']} (+{stats['plus_factor']:.2f})" if stats["zone"] else f"after 250 ({stats['observations']} so far)"
        tests = [f"{stats[key]['statistic']:.2f} (p {stats[key]['p_value']:.2f})" if key in stats else "-" for key in TESTS]
        return [name, str(stats["observations"]), str(stats["exceptions"]), zone, *tests]

    def zones(scopes: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        """The zone cell of each row (after the header) filled in the zone's colour."""
        return [command for i, stats in enumerate(scopes, 1) if stats.get("zone") for command in status_commands((3, i), ZONE_STATUS[stats["zone"]])]

    header = ["scope", "days", "exceptions", "Basel zone", "Kupiec LR", "Christoffersen LR", "conditional coverage LR"]
    rows, scopes = [header, row("firm", backtest["firm"])], [backtest["firm"]]
    if backtest.get("firm_975", {}).get("observations"):
        rows.append([*row("firm, VaR 97.5 %", backtest["firm_975"])[:3], "(VaR 99 % only)", *row("", backtest["firm_975"])[4:]])
        scopes.append({})
    if backtest.get("firm_actual", {}).get("observations"):
        rows.append(row("firm, actual P&L", backtest["firm_actual"]))
        scopes.append(backtest["firm_actual"])
    dates = backtest["firm"]["exception_dates"]
    tonight = backtest.get("tonight")
    lines = []
    if not tonight:
        lines.append("Tonight's move is not backtested: the previous night's run is not in this bucket (a history landed with its figures only).")
    if tonight and not tonight.get("complete", True):
        missing = tonight["incomplete"]
        shown = ", ".join(missing["positions"][:10]) + (" ..." if len(missing["positions"]) > 10 else "")
        lines.append(
            f"Tonight's move: the backtest of the {tonight['var_date']} book is {_ink('INCOMPLETE', 'warning')}, not counted: {'; '.join(missing['reasons'])}. "
            f"Positions without a move: {len(missing['positions'])} ({shown or 'none'}), "
            f"notional {_money(missing['notional'])} {summary['reporting_currency']}."
        )
    elif tonight:
        pnl = tonight["hypothetical_pnl"]["firm"]
        verdict = _ink("an EXCEPTION", "breach") + ": a loss above its VaR 99 %" if tonight["exceptions"]["firm"] else "within its VaR 99 %"
        lines.append(f"Tonight's move: the {tonight['var_date']} book made {_money(pnl)} {summary['reporting_currency']}, {verdict}.")
    lines.append("Firm exception dates: " + (", ".join(dates[-12:]) if dates else "none") + ". Per portfolio: see Backtest by portfolio.")
    incomplete = backtest.get("incomplete", {})
    if incomplete.get("days"):
        lines.append(f"Incomplete days, not counted: {incomplete['days']} ({', '.join(incomplete['dates'][-12:])}).")
    table = kit["table"](rows, commands=zones(scopes))
    portfolio_rows = [header, *(row(name, stats) for name, stats in backtest["portfolios"].items())]
    by_portfolio = kit["table"](portfolio_rows, "Backtest by portfolio", zones(list(backtest["portfolios"].values())))
    details = [kit["KeepTogether"]([kit["Paragraph"]("Backtest by portfolio", styles["Heading2"]), by_portfolio])]
    if backtest.get("series"):  # after page one, which keeps its warnings
        chart = kit["image"](png(exceptions_chart(backtest["series"], summary["reporting_currency"])))
        caption = f"Hypothetical P&amp;L of the last {len(backtest['series'])} backtested nights against minus VaR 99 % and 97.5 %, exceptions marked"
        heading_chart = kit["Paragraph"]("Backtest exceptions", styles["Heading2"])
        details.insert(0, kit["KeepTogether"]([heading_chart, chart, kit["Paragraph"](caption, styles["Normal"])]))
        lines.append("The exceptions chart follows the figures: see Backtest exceptions.")
    return [heading, table, *(kit["Paragraph"](line, styles["Normal"]) for line in lines)], details


def _ink(text: str, status: str) -> str:
    """Paragraph markup: the words in bold in their status's ink."""
    return f'<font color="{STATUS_COLOURS[status][1]}"><b>{text}</b></font>'


LIMIT_STATUS = {"breach": "breach", "warning": "warning", "ok": "ok"}  # anything else (no such portfolio tonight): a warning


PAGE_ONE_LIMITS = 5  # rows of the limits table on page one; all of them follow the figures when there are more


def _limits_block(summary: dict[str, Any], kit: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """Limit utilisation, breaches first, each status in its colour; a word when there are no limits or
    the file was refused: (page one's, at most PAGE_ONE_LIMITS rows; the whole table when it has more)."""
    styles = kit["styles"]
    source = summary.get("limits_source") or {}
    heading = kit["Paragraph"]("Limits", styles["Heading2"])
    if source.get("rejected"):
        return [heading, kit["Paragraph"](f"The limits file was {_ink('REJECTED', 'breach')}: {'; '.join(source['rejected'])}.", styles["Normal"])], []
    if not summary["limits"]:
        return [heading, kit["Paragraph"]("No limits file came with tonight's files.", styles["Normal"])], []
    order = {"breach": 0, "warning": 1, "ok": 2}
    rows = [["scope", "measure", f"figure ({summary['reporting_currency']})", "limit", "utilisation", "status"]]
    commands = []
    for i, row in enumerate(sorted(summary["limits"], key=lambda r: (order.get(r["status"], 3), -(r["utilisation"] or 0))), 1):
        figure = _money(row["figure"]) if row["figure"] is not None else "-"
        used = f"{100 * row['utilisation']:.0f} %" if row["utilisation"] is not None else "-"
        status = row["status"].upper() if row["status"] in {"breach", "warning"} else row["status"]
        rows.append([row["scope"], dict(FIGURES)[row["measure"]], figure, _money(row["limit"]), used, status])
        commands += status_commands((5, i), LIMIT_STATUS.get(row["status"], "warning"), bold=row["status"] != "ok")
    if len(rows) - 1 <= PAGE_ONE_LIMITS:
        return [heading, kit["table"](rows, "Limits", commands)], []
    shown = [command for command in commands if command[1][1] <= PAGE_ONE_LIMITS]
    rest = len(rows) - 1 - PAGE_ONE_LIMITS
    note = kit["Paragraph"](f"... and {rest} more limit(s), the least used: every limit is in All limits, after the figures.", styles["Normal"])
    everything = [kit["Paragraph"]("All limits", styles["Heading2"]), kit["table"](rows, "All limits", commands)]
    return [heading, kit["table"](rows[: PAGE_ONE_LIMITS + 1], commands=shown), note], [kit["KeepTogether"](everything)]


def _status_tiles(summary: dict[str, Any], kit: dict[str, Any]) -> Any:
    """Page one's first row: publication, limits, backtest and data quality, each a cell in its colour
    with its verdict in words (ON TIME, LATE, BREACHED, GREEN, ...), so a grey-scale print reads too."""
    tiles: list[tuple[str, str, str]] = []
    status = summary.get("publication")
    if status:
        detail = f"published {status['published_new_york'][11:]}, due {status['due_new_york'][11:16]}"
        late = f"{status['minutes_late']:,} min after {status['due_new_york'][11:]}"
        tiles.append(("ok", "ON TIME", detail) if status["on_time"] else ("breach", "LATE", late))
    limits, source = summary["limits"], summary.get("limits_source") or {}
    breached = sum(row["status"] == "breach" for row in limits)
    near = sum(row["status"] != "breach" and row["status"] != "ok" for row in limits)
    if source.get("rejected"):
        tiles.append(("breach", "LIMITS REJECTED", "the limits file was refused"))
    elif breached:
        tiles.append(("breach", "LIMITS BREACHED", f"{breached} of {len(limits)} above 100 %"))
    elif near:
        tiles.append(("warning", "LIMITS NEAR", f"{near} of {len(limits)} at 90 % or more"))
    elif limits:
        tiles.append(("ok", "LIMITS WITHIN", f"{len(limits)} limit(s) below 90 %"))
    else:
        tiles.append(("note", "NO LIMITS", "no limits file tonight"))
    firm = summary["backtest"]["firm"]
    tonight = summary["backtest"].get("tonight") or {}
    hit = ", an exception tonight" if tonight.get("complete", True) and (tonight.get("exceptions") or {}).get("firm") else ""
    if firm.get("zone"):
        tiles.append((ZONE_STATUS[firm["zone"]], f"BACKTEST {firm['zone'].upper()}", f"{firm['exceptions']} exceptions in {firm['observations']} days{hit}"))
    else:
        tiles.append(("note", "BACKTEST", f"{firm['exceptions']} exceptions in {firm['observations']} days (zone after 250){hit}"))
    quality = summary["data_quality"]
    issues = [
        f"{quality['excluded_positions']} position(s) excluded" if quality["excluded_positions"] else "",
        f"{len(quality.get('held_last_prices', []))} last price(s) held" if quality.get("held_last_prices") else "",
        f"{sum(f['action'] == 'flag' for f in quality['findings'])} factor(s) flagged" if any(f["action"] == "flag" for f in quality["findings"]) else "",
        "backtest incomplete" if not tonight.get("complete", True) else "",
    ]
    issues = [issue for issue in issues if issue]
    tiles.append(("warning", "DATA ISSUES", "; ".join(issues)) if issues else ("ok", "DATA CLEAN", "every position valued, no flag"))
    cells, commands = [], []
    for column, (state, word, detail) in enumerate(tiles):
        fill, ink = STATUS_COLOURS[state]
        style = kit["ParagraphStyle"](f"tile{column}", parent=kit["styles"]["Normal"], fontSize=8, leading=10, textColor=colour(ink))
        cells.append(kit["Paragraph"](f"<b>{word}</b><br/>{detail}", style))
        commands.append(("BACKGROUND", (column, 0), (column, 0), colour(fill)))
    width = kit["width"] / len(cells)
    return kit["Table"]([cells], colWidths=[width] * len(cells), style=grid_style(commands), hAlign="LEFT")


def _page_one_kit(kit: dict[str, Any]) -> dict[str, Any]:
    """Page one's styles: smaller headings and text, so that its figures, limits, backtest, challengers and warnings fit one page."""
    styles, style = kit["styles"], kit["ParagraphStyle"]
    compact = {
        "Title": styles["Title"],
        "Heading2": style("page-one heading", parent=styles["Heading2"], fontSize=12, leading=14, spaceBefore=7, spaceAfter=3),
        "Normal": style("page-one text", parent=styles["Normal"], fontSize=9, leading=11),
    }
    return {**kit, "styles": compact}


def _summary_section(summary: dict[str, Any], kit: dict[str, Any]) -> list[Any]:
    """Page one: when it was published against 09:30 New York, the status row, the firm's figures with
    their intervals, the limits, the backtest, the challengers, and the warnings."""
    kit = _page_one_kit(kit)
    styles = kit["styles"]
    firm, currency, model = summary["firm"], summary["reporting_currency"], summary["model"]
    firm_rows = [
        [f"firm ({currency})", *(label for _, label in FIGURES), "sum of portfolio VaR 99 %"],
        ["estimate", *(_money(firm[key]) for key, _ in FIGURES), _money(summary["sum_of_portfolio_var_99"])],
        ["95 % interval (Monte Carlo)", *(_interval(firm, key) for key, _ in FIGURES), ""],
    ]
    status = summary.get("publication")
    published = []
    if status:
        line = publication_line(status).replace(verdict(status), _ink(verdict(status), "ok" if status["on_time"] else "breach"))
        published = [kit["Paragraph"](line, styles["Normal"])]
    limits = _limits_block(summary, kit)[0]
    page = [
        kit["Paragraph"](f"Market risk report, business date {summary['business_date']}", styles["Title"]),
        *published,
        *([kit["Paragraph"](f"<b>{escape(restatement_line(summary))}</b>", styles["Normal"])] if restatement_line(summary) else []),
        kit["Spacer"](1, 0.15 * kit["cm"]),
        _status_tiles(summary, kit),
        kit["Spacer"](1, 0.15 * kit["cm"]),
        kit["Paragraph"](
            f"Run {summary['run_id']}. Monte Carlo VaR and expected shortfall over {model['horizon_days']} business day(s), "
            f"{model['scenarios']:,} scenarios, all figures in {currency}. Market data as of {summary['market_as_of']}. "
            f"Model configuration {(summary.get('model_config') or {}).get('version', 'not recorded')}"
            f"{_overrides_text(summary.get('model_config') or {})}.",
            styles["Normal"],
        ),
        kit["Paragraph"]("Firm-wide (the summed P&amp;L of every portfolio, not a sum of VaRs)", styles["Heading2"]),
        kit["table"](firm_rows),
        *_change_line(summary, kit),
        *limits,
        *_backtest_block(summary, kit)[0],
        kit["Paragraph"]("Challenger models (the same book, fully revalued)", styles["Heading2"]),
        kit["table"](_challenger_rows(summary)),
        kit["Paragraph"](CHALLENGER_TAIL, styles["Normal"]),
        kit["Paragraph"]("Warnings", styles["Heading2"]),
        _warnings_table(summary, kit),
    ]
    # one page whatever the night brought: shrunk to fit the frame rather than spilt onto a page of its own
    return [kit["KeepInFrame"](kit["width"], kit["height"], page, mode="shrink"), kit["PageBreak"]()]


def _figures_section(summary: dict[str, Any], histogram: bytes, kit: dict[str, Any]) -> list[Any]:
    """The firm's P&L distribution, its VaR over the last nights, and the portfolios with the challengers' VaR beside Monte Carlo's."""
    styles = kit["styles"]
    currency, challengers = summary["reporting_currency"], summary["challengers"]
    stressed = challengers.get("stressed", {}).get("portfolios", {})
    portfolio_rows = [[f"portfolio ({currency})", *(label for _, label in FIGURES), "VaR 99 %: 95 % interval", "HS VaR 99 %", "stressed VaR 99 %"]]
    for name, v in summary["portfolios"].items():
        hs = challengers["historical"]["portfolios"][name]["var_99"]
        sv = _money(stressed[name]["var_99"]) if name in stressed else "-"
        portfolio_rows.append([name, *(_money(v[key]) for key, _ in FIGURES), _interval(v, "var_99"), _money(hs), sv])
    return [
        kit["KeepTogether"]([kit["Paragraph"]("Firm P&amp;L over the horizon", styles["Heading2"]), kit["image"](histogram)]),
        *_trend_section(summary, kit),
        kit["KeepTogether"]([kit["Paragraph"]("Portfolios", styles["Heading2"]), kit["table"](portfolio_rows, "Portfolios")]),
    ]


def _trend_section(summary: dict[str, Any], kit: dict[str, Any]) -> list[Any]:
    """The firm's VaR and ES over the last nights of the history, tonight's last, the firm's limits on them."""
    styles, trend = kit["styles"], summary.get("var_trend") or []
    heading = kit["Paragraph"]("Firm VaR over the last nights", styles["Heading2"])
    if len(trend) < 2:
        return [kit["KeepTogether"]([heading, kit["Paragraph"]("The trend starts with the second night in the history.", styles["Normal"])])]
    limits = {row["measure"]: row["limit"] for row in summary["limits"] if row["scope"] == "firm"}
    chart = kit["image"](png(var_trend_chart(trend, summary["reporting_currency"], limits)))
    caption = (
        f"VaR 95 %, VaR 99 % and ES 97.5 % of the last {len(trend)} nights ({trend[0]['business_date']} to {trend[-1]['business_date']}) "
        f"over {summary['model']['horizon_days']} business day(s), from the history" + (", the firm's limits dotted." if limits else ".")
    )
    return [kit["KeepTogether"]([heading, chart, kit["Paragraph"](caption, styles["Normal"])])]


def _change_line(summary: dict[str, Any], kit: dict[str, Any]) -> list[Any]:
    change = summary.get("var_change")
    if not change:
        return []
    firm = change["scopes"]["firm"]
    text = (
        f"VaR 99 % moved {_money(firm['change'])} since {change['var_date']}: model or data {_money(firm['model_or_data'])}, "
        f"market {_money(firm['market'])}, book {_money(firm['book'])}. {_noise_words(change)}"
    )
    return [kit["Paragraph"](text, kit["styles"]["Normal"])]


def _noise_words(change: dict[str, Any]) -> str:
    """The sampling noise in the firm's change, in words."""
    noise = change.get("sampling_noise")
    if not noise:
        return "Its sampling noise is not estimated (too few scenarios)."
    share = f", {100 * noise['share_of_change']:.0f} % of the market and book steps" if noise["share_of_change"] is not None else ""
    return f"Sampling noise (Monte Carlo standard error of the change, common random numbers): {_money(noise['standard_error'])}{share}."


def _change_section(summary: dict[str, Any], kit: dict[str, Any]) -> list[Any]:
    """VaR 99 % since the previous night, split into model or data, market and book."""
    change, styles = summary.get("var_change"), kit["styles"]
    title = "Change in VaR 99 % since the previous night"
    heading = kit["Paragraph"](title, styles["Heading2"])
    if not change:
        return [heading, kit["Paragraph"]("No previous night in the history to compare with.", styles["Normal"])]
    rows = [[f"scope ({summary['reporting_currency']})", f"{change['var_date']}", "tonight", "change", "model or data", "market", "book"]]
    for scope, values in change["scopes"].items():
        rows.append([scope, *(_money(values[key]) for key in ("yesterday", "tonight", "change", "model_or_data", "market", "book"))])
    note = (
        "Each step is a full revaluation on the same random numbers: yesterday's book on yesterday's market with tonight's model "
        "(model or data), then on tonight's market (market), then tonight's book (book). " + _noise_words(change)
    )
    if change["positions_not_carried"]:
        note += f" {change['positions_not_carried']} of yesterday's positions have no factor in tonight's market and count in the book step."
    return [kit["KeepTogether"]([heading, kit["table"](rows, title), kit["Paragraph"](note, styles["Normal"])])]


def _contributions_section(summary: dict[str, Any], chart: bytes, kit: dict[str, Any]) -> list[Any]:
    components = {c["position_id"]: c["var_99_component"] for c in summary["es_breakdown"]["var_99_components"]}
    rows = [["position", "portfolio", "type", "underlying", f"ES 97.5 % share ({summary['reporting_currency']})", "component VaR 99 %"]] + [
        [c["position_id"], c["portfolio_id"], c["instrument_type"], c["underlying"], _money(c["es_contribution"]), _money(components[c["position_id"]])]
        for c in summary["contributions"]
    ]
    title = "Largest contributions to ES 97.5 %"
    return [kit["KeepTogether"]([kit["Paragraph"](title, kit["styles"]["Heading2"]), kit["image"](chart), kit["table"](rows, title)])]


def _breakdown_section(summary: dict[str, Any], kit: dict[str, Any]) -> list[Any]:
    """ES 97.5 % by portfolio and by factor class, and the largest hedges."""
    styles, currency = kit["styles"], summary["reporting_currency"]
    breakdown = summary["es_breakdown"]
    total = breakdown["total"] or 1.0

    def table(title: str, shares: dict[str, float]) -> Any:
        rows = [[title, f"ES 97.5 % share ({currency})", "of the firm's ES"]]
        rows += [[name, _money(value), f"{100 * value / total:.1f} %"] for name, value in shares.items()]
        return kit["table"](rows, f"ES 97.5 % by {title}")

    hedges = [["hedge", "portfolio", "type", "underlying", f"share ({currency})"]] + [
        [h["position_id"], h["portfolio_id"], h["instrument_type"], h["underlying"], _money(h["es_contribution"])] for h in breakdown["hedges"]
    ]
    return [
        kit["KeepTogether"](
            [
                kit["Paragraph"]("Where the expected shortfall comes from", styles["Heading2"]),
                kit["Paragraph"](
                    "Each position's share is its mean loss in the firm's worst 2.5 % of scenarios; the shares add up to the firm's ES "
                    f"({_money(breakdown['total'])}). A negative share is a hedge.",
                    styles["Normal"],
                ),
                kit["Paragraph"](
                    "By factor class: the firm's mean loss in those scenarios with only that class's factors moving (equity prices, "
                    "FX rates, implied volatilities), time decay apart, and the interaction of the classes (the rest).",
                    styles["Normal"],
                ),
                table("factor class", breakdown["by_factor_class"]),
                kit["Spacer"](1, 0.2 * kit["cm"]),
                table("portfolio", breakdown["by_portfolio"]),
            ]
        ),
        kit["KeepTogether"]([kit["Paragraph"]("Largest hedges", styles["Heading3"]), kit["table"](hedges, "Largest hedges")]),
    ]


EXCLUDED_SHOWN = 25


def _data_quality_section(summary: dict[str, Any], kit: dict[str, Any]) -> list[Any]:
    """What the night left out and why, what it flagged, and how the covariance was estimated."""
    styles = kit["styles"]
    quality, model = summary["data_quality"], summary["risk_model"]
    excluded = sorted(quality["excluded"], key=lambda row: -(row["notional"] or 0.0))
    story = [
        kit["Paragraph"]("Data quality and model diagnostics", styles["Heading2"]),
        kit["Paragraph"](
            f"Market data as of {quality['market_as_of']}: {quality['returns']} daily returns, {quality['factors_used']} factors used. "
            f"Covariance: {model['estimator']}, {model['factors']} factors, rank {model['rank']}, "
            f"shrinkage intensity {model['shrinkage']:.3f}, diagonal jitter {model['jitter']:g}.",
            styles["Normal"],
        ),
        kit["Spacer"](1, 0.2 * kit["cm"]),
    ]
    excluded_part = [
        kit["Paragraph"]("Excluded positions", styles["Heading3"]),
        kit["Paragraph"](
            f"{quality['excluded_positions']} position(s), notional {excluded_notional_text(quality)} "
            f"(at tonight's rates)" + (f"; the {EXCLUDED_SHOWN} largest:" if len(excluded) > EXCLUDED_SHOWN else "."),
            styles["Normal"],
        ),
    ]
    if excluded:
        rows = [["position", "portfolio", "underlying", f"notional ({summary['reporting_currency']})", "reason"]]
        for r in excluded[:EXCLUDED_SHOWN]:
            notional = _money(r["notional"]) if r["notional"] is not None else "unknown"
            rows.append([r["position_id"], r["portfolio_id"], r["underlying"], notional, kit["Paragraph"](r["reason"], kit["checksum"])])
        excluded_part.append(kit["table"](rows, "Excluded positions"))
    findings = quality["findings"]
    if not findings:  # the one line goes with the table above it
        return [kit["KeepTogether"]([*story, *excluded_part, kit["Paragraph"]("Factor findings: none.", styles["Normal"])])]
    rows = [["factor", "check", "action", "detail"]]
    rows += [[f["factor"], f["check"], f["action"], kit["Paragraph"](f["detail"], kit["checksum"])] for f in findings]
    heading = kit["Paragraph"](f"Factor findings ({len(findings)})", styles["Heading3"])
    return [kit["KeepTogether"]([*story, *excluded_part]), kit["KeepTogether"]([heading, kit["table"](rows, "Factor findings")])]


def _methodology_section(summary: dict[str, Any], kit: dict[str, Any]) -> list[Any]:
    """The model documentation: methodology, parameters, data window, limitations, intervals."""
    styles = kit["styles"]
    model, quality, risk = summary["model"], summary["data_quality"], summary["risk_model"]
    distribution = "multivariate normal"
    if model["distribution"] != "normal":
        distribution = f"multivariate Student-t ({model['degrees_of_freedom']:g} degrees of freedom)"
    estimator = risk["estimator"] + (f", EWMA lambda {model['ewma_lambda']}" if model["covariance"] == "ewma" else "")
    historical = summary["challengers"]["historical"]
    paragraphs = [
        f"<b>Methodology.</b> Daily log returns of {quality['factors_used']} factors over {quality['returns']} days "
        f"({historical['window'][0]} to {historical['window'][1]}) give the covariance ({estimator}). {model['scenarios']:,} "
        f"scenarios of {distribution} factor returns over {model['horizon_days']} business day(s) (square-root-of-time) are drawn "
        f"with the fixed seed {model['seed']} (policy {model['seed_policy']}: nights share their random numbers). Every position is revalued "
        "in every scenario: linear holdings as exposure x (exp(r) - 1), European options by Black-Scholes-Merton with the underlying's "
        "dividend yield (FX options by Garman-Kohlhagen: the base currency's rate as the yield), the rate of their currency, "
        "their implied volatility moved by its factor where they have one, and time decay "
        f"over the calendar days of the horizon. Values in other currencies convert into {summary['reporting_currency']} at each "
        "scenario's exchange rates (a currency without a direct rate through a common one, USD first). "
        "VaR is the loss exceeded in 5 % (1 %) of scenarios; ES 97.5 % the mean loss in the worst 2.5 %. "
        "Firm figures come from the summed scenario P&amp;L of every portfolio.",
        "<b>Confidence intervals.</b> Each figure is a Monte Carlo estimate. The 95 % interval of a VaR comes from the order "
        "statistics (the number of scenarios below the true quantile is binomial); that of an ES from its asymptotic variance, "
        "(Var(L | L >= VaR) + 0.975 (ES - VaR)^2) / (n x 0.025). Intervals do not cover model error.",
        "<b>Challengers.</b> Historical simulation revalues tonight's book in each day's move of the history; stressed VaR does so "
        "over the governed stress period of the model configuration, read from the stress history (a file apart from the market "
        "history that sets the covariance). Their VaR and ES come from a generalised Pareto tail fitted to the worst 10 % of days "
        "(shape at least zero), so that ES 97.5 % is never below VaR 99 % on a few hundred days.",
        f"<b>Data.</b> Market data as of {summary['market_as_of']}; at least {summary.get('data_quality_policy', {}).get('min_returns', 250)} "
        "daily returns required; factors with gaps or without moves are excluded with their positions, stale runs and jumps flagged, "
        "as the data-quality policy in the audit trail says.",
        "<b>Limitations.</b> Zero-mean returns; constant correlations over the window; no jumps beyond those in the Student-t option; "
        "European exercise only; flat rates per currency and flat implied volatility per option (moved in parallel by a vol factor); "
        "business days follow the NYSE calendar (weekends and exchange holidays); positions the data-quality checks excluded carry no risk in these figures.",
    ]
    body = [kit["Paragraph"](text, styles["Normal"]) for text in paragraphs]
    return [kit["KeepTogether"]([kit["Paragraph"]("Model documentation", styles["Heading2"]), body[0]]), *body[1:]]


def _model_config_rows(summary: dict[str, Any]) -> list[list[str]]:
    """The model configuration the run was made with: version, hash, and any override it allowed."""
    config = summary.get("model_config")
    if not config:
        return [["model configuration", "not recorded (a run made before model configurations were versioned)"]]
    overrides = ", ".join(f"{name}={value}" for name, value in config["overrides"].items()) or "none"
    return [["model configuration", f"version {config['version']}, sha256 {config['sha256']}"], ["model overrides (allowed)", overrides]]


def _audit_section(summary: dict[str, Any], kit: dict[str, Any]) -> list[Any]:
    """What the run was made with: its identity, the model parameters in use, the data-quality policy, the inputs' checksums."""
    config = [[item, kit["Paragraph"](value.replace(", sha256 ", "<br/>sha256 "), kit["checksum"])] for item, value in _model_config_rows(summary)]
    audit = [
        ["item", "value"],
        ["run id", summary["run_id"]],
        ["software version", summary["software_version"]],
        *config,
        ["seed", str(summary["model"]["seed"])],
        ["scenarios", f"{summary['model']['scenarios']:,}"],
    ]
    audit += [[f"model: {key}", value] for key, value in parameters_in_use(summary["model"])]
    audit += [[f"data quality: {key}", str(value)] for key, value in summary.get("data_quality_policy", {}).items()]
    audit += [[f"input {item['role']} sha256", kit["Paragraph"](f"{item['sha256']}<br/>{item['uri']}", kit["checksum"])] for item in summary["inputs"]]
    audit += [[f"timing: {key}", value] for key, value in summary["timings"].items()]
    return [kit["KeepTogether"]([kit["Paragraph"]("Audit trail", kit["styles"]["Heading2"]), kit["table"](audit, "Audit trail")])]


def report_document(buffer: io.BytesIO, summary: dict[str, Any]) -> Any:
    """The PDF's A4 document, its footer drawn by render_pdf."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import cm
    from reportlab.platypus import SimpleDocTemplate

    return SimpleDocTemplate(buffer, pagesize=A4, title=f"Risk report {summary['business_date']}", author="riskbatch", bottomMargin=2 * cm)


def frame_size(document: Any) -> tuple[float, float]:
    """The width and height a flowable may take in the document's page frame: SimpleDocTemplate's one
    frame of the page less the margins, less the frame's own padding (6 points a side)."""
    from reportlab.platypus import Frame

    frame = Frame(document.leftMargin, document.bottomMargin, document.width, document.height)
    return frame._aW, frame._aH


def report_story(summary: dict[str, Any], firm_pnl: np.ndarray, width: float, height: float) -> list[Any]:
    """The report's flowables for a frame of `width` x `height`, page one first, each table and chart at most `width` wide."""
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.lib.utils import ImageReader
    from reportlab.platypus import Image, KeepInFrame, KeepTogether, PageBreak, Paragraph, Spacer, Table

    styles = getSampleStyleSheet()

    def image(data: bytes) -> Any:
        """A chart at the frame's width, its height from its aspect."""
        pixels_wide, pixels_high = ImageReader(io.BytesIO(data)).getSize()
        return Image(io.BytesIO(data), width=width, height=width * pixels_high / pixels_wide)

    kit = {
        "styles": styles,
        # a SHA-256 (64 characters) on one line of the audit table's value column
        "checksum": ParagraphStyle("checksum", parent=styles["Code"], fontSize=6.8, leading=8.5, leftIndent=0),
        "cell": ParagraphStyle("warning", parent=styles["Normal"], fontSize=8.5, leading=10),
        "PageBreak": PageBreak,
        "cm": cm,
        "width": width,
        "height": height,
        "image": image,
        "table": lambda rows, heading=None, commands=None: section_table(rows, width, heading, commands),
        "KeepInFrame": KeepInFrame,
        "KeepTogether": KeepTogether,
        "Paragraph": Paragraph,
        "ParagraphStyle": ParagraphStyle,
        "Spacer": Spacer,
        "Table": Table,
    }
    currency = summary["reporting_currency"]
    histogram = png(pnl_histogram(firm_pnl, summary["firm"], currency))
    contribution_chart = png(contributions_chart(summary["contributions"], currency))
    return (
        _summary_section(summary, kit)
        + _figures_section(summary, histogram, kit)
        + _limits_block(summary, kit)[1]
        + _change_section(summary, kit)
        + _backtest_block(summary, kit)[1]
        + _contributions_section(summary, contribution_chart, kit)
        + _breakdown_section(summary, kit)
        + _data_quality_section(summary, kit)
        + _methodology_section(summary, kit)
        + _audit_section(summary, kit)
    )


def render_pdf(summary: dict[str, Any], firm_pnl: np.ndarray) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import cm

    def footer(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(document.leftMargin, 1.2 * cm, f"Run {summary['run_id']}, business date {summary['business_date']}")
        canvas.drawRightString(A4[0] - document.rightMargin, 1.2 * cm, f"page {document.page}")
        canvas.restoreState()

    buffer = io.BytesIO()
    document = report_document(buffer, summary)
    document.build(report_story(summary, firm_pnl, *frame_size(document)), onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


class Laps:
    """Seconds since the previous lap, by name: lap("pdf rendered")."""

    def __init__(self, started: float) -> None:
        self.last, self.seconds = started, {}

    def __call__(self, name: str) -> None:
        now = time.time()
        self.seconds[name] = round(now - self.last, 2)
        self.last = now


class ReportGeneration:
    def __init__(self, s3: Any, sns: Any, topic_arn: str | None, deadline: str = DEADLINE, clock: Callable[[], float] = time.time) -> None:
        self.s3 = s3
        self.sns = sns
        self.topic_arn = topic_arn
        self.deadline = deadline  # HH:MM New York, on the business day after the business date
        self.clock = clock  # the publication time page one and the notification state

    def warm_up(self) -> dict[str, Any]:
        """What the first report would otherwise pay on the night's critical path, paid when the
        worker starts (the warm window starts it before the night): the libraries the figures and
        the PDF import, and the kernels loaded from the image's cache by a small revaluation."""
        import reportlab.platypus  # noqa: F401
        import scipy.stats  # noqa: F401

        from riskbatch.model.precompile import compile_kernels
        from riskbatch.reporting.charts import _pyplot

        started = time.time()
        _pyplot()
        kernels = compile_kernels()["kernels"]
        log("report_worker_warmed", seconds=round(time.time() - started, 2), kernels=kernels)
        return kernels

    def _previous_night(self, bucket: str, date: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The latest earlier night in the history, and its run's manifest; the manifest is None
        when it is not in this bucket (a history landed with its figures only)."""
        previous = previous_record(self.s3, bucket, date)
        if previous is None:
            return None, None
        if not exists(self.s3, bucket, manifest_key(previous["run_id"])):
            log("previous_run_not_found", run_id=previous["run_id"], business_date=previous["business_date"])
            return previous, None
        return previous, get_json(self.s3, bucket, manifest_key(previous["run_id"]))

    def _backtest_and_change(
        self,
        bucket: str,
        manifest: dict[str, Any],
        results: UnitResults,
        run_book: RunBook,
        previous: dict[str, Any],
        previous_manifest: dict[str, Any],
        tonight_var: dict[str, float],
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Tonight's backtest of the previous night and the day-over-day explanation: summed from
        the units' parts when they cover the previous night's whole book, else (a night ingested
        before the previous one was reported, or results of an earlier release) revalued here."""
        run, firm_pnl = manifest["run_id"], results.pnl.sum(axis=0)
        untrusted = manifest["data_quality"].get("untrusted_last_day", [])
        business_date = dt.date.fromisoformat(manifest["business_date"])
        unusable = results.previous.unusable_for(previous["run_id"], len(previous_manifest["units"]))
        if unusable is None:
            log("previous_night_from_units", run_id=run, previous_run=previous["run_id"], units=len(manifest["units"]))
            backtest = results.previous.backtest(previous, business_date, manifest.get("actual_pnl"), untrusted)
            return backtest, results.previous.explain(previous, tonight_var, firm_pnl)
        log("previous_night_revalued_by_the_report", run_id=run, previous_run=previous["run_id"], reason=unusable)
        previous_run = load_run_book(self.s3, bucket, previous_manifest)
        # every factor of tonight's file gives its move, used by tonight's book or not
        moves = load_file_market(self.s3, bucket, manifest) or run_book.market
        backtest = backtest_entry(previous, previous_run, moves, manifest.get("actual_pnl"), untrusted)
        return backtest, explain_var_change(previous, previous_run, run_book, tonight_var, firm_pnl)

    def __call__(self, message: dict[str, Any], should_abort: Callable[[], bool]) -> None:
        detail = message.get("detail", message)  # an EventBridge event, or its detail alone
        bucket, run = detail["bucket"], detail["run_id"]
        manifest = get_json(self.s3, bucket, detail["manifest_key"])
        pdf_key, json_key = report_keys(manifest["business_date"], run)
        if exists(self.s3, bucket, json_key):
            if self.topic_arn and not exists(self.s3, bucket, notified_key(manifest["business_date"], run)):
                # written, but its summary never reached the topic (refused, or the task stopped between the two)
                self._notify(bucket, run, manifest, get_json(self.s3, bucket, json_key), pdf_key, json_key)
            log("report_already_published", run_id=run)
            return
        started = time.time()
        with timed("report_generated", run_id=run) as timing:
            lap = Laps(started)  # where the report's time goes, in its log line
            results = read_results(self.s3, bucket, manifest)
            lap("results read")
            portfolios, pnl = results.portfolios, results.pnl
            firm_pnl = pnl.sum(axis=0)
            per_portfolio = {name: risk_figures(row) for name, row in zip(portfolios, pnl, strict=True)}
            lap("figures and intervals")
            run_book = load_run_book(self.s3, bucket, manifest)
            lap("book loaded")
            breakdown = es_breakdown(run_book, firm_pnl)
            lap("ES breakdown")
            top = breakdown["largest"]
            period = (manifest.get("model_config") or {}).get("stress_period")
            stress_market = stress_history(self.s3, bucket, manifest) if period else None
            challengers = challenger_figures(run_book.book, run_book.market, run_book.parameters, stress_market, period)
            lap("challengers")
            date, firm_figures = manifest["business_date"], risk_figures(firm_pnl)
            previous, previous_manifest = self._previous_night(bucket, date)
            backtest = change = None
            if previous is not None and previous_manifest is not None:
                tonight_var = {"firm": firm_figures["var_99"], **{name: values["var_99"] for name, values in per_portfolio.items()}}
                backtest, change = self._backtest_and_change(bucket, manifest, results, run_book, previous, previous_manifest, tonight_var)
                if backtest["complete"]:
                    hit = backtest["exceptions"]["firm"]
                    log("backtest", run_id=run, var_date=backtest["var_date"], pnl=backtest["hypothetical_pnl"]["firm"], exception=hit)
                else:
                    log("backtest_incomplete", run_id=run, var_date=backtest["var_date"], **backtest["incomplete"])
            lap("backtest and explanation")
            last_prices = {name: float(price) for name, price in zip(run_book.market.factors, run_book.market.spot.tolist(), strict=True)}
            record = night_record(
                date,
                run,
                manifest["model"]["reporting_currency"],
                firm_figures,
                per_portfolio,
                backtest,
                horizon_days=run_book.parameters.horizon_days,
                one_day=self._one_day(results, run_book),
                factors=last_prices,
            )
            earlier = [r for r in load_records(self.s3, bucket, last=manifest["business_date"]) if r["business_date"] < manifest["business_date"]]
            summary = {
                "run_id": run,
                "business_date": manifest["business_date"],
                "reporting_currency": manifest["model"]["reporting_currency"],
                "market_as_of": manifest["data_quality"]["market_as_of"],
                "firm": risk_figures(firm_pnl),
                "portfolios": per_portfolio,
                "sum_of_portfolio_var_99": float(sum(v["var_99"] for v in per_portfolio.values())),
                "scenarios": manifest["model"]["scenarios"],
                "seed": manifest["model"]["seed"],
                "model": manifest["model"],
                "inputs": manifest["inputs"],
                "positions": manifest["positions"],
                "software_version": __version__,
                "model_config": manifest.get("model_config"),
                "contributions": top,
                "es_breakdown": breakdown,
                "limits": utilisation(manifest.get("limits", []), risk_figures(firm_pnl), per_portfolio),
                "limits_source": manifest.get("limits_source"),
                "backtest": {**backtest_summary([*earlier, record]), "tonight": record["backtest"], "series": backtest_series([*earlier, record])},
                "var_trend": var_trend([*earlier, record], run_book.parameters.horizon_days, manifest["model"]["reporting_currency"]),
                "var_change": change,
                "challengers": challengers,
                "risk_model": {**run_book.model.describe(), "shrinkage_effect_on_var": shrinkage_effect(run_book)},
                "data_quality": manifest["data_quality"],
                "data_quality_policy": manifest["data_quality_policy"],
                "timings": {
                    "ingested at": manifest["created_at"],
                    "report started at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
                },
            }
            if should_abort():
                raise RuntimeError("stopping before publishing")
            summary["timings"]["report seconds"] = f"{time.time() - started:.1f}"
            # the PDF is written within seconds of this moment: its publication time, against the deadline
            summary["publication"] = publication(manifest["business_date"], dt.datetime.fromtimestamp(self.clock(), dt.UTC), self.deadline)
            # once per business date: a re-run keeps it, a later run of the date supersedes it (both kept)
            summary["restatement"] = record_night(self.s3, bucket, record, manifest)
            for row in summary["limits"]:
                if row["status"] == "breach":  # one line each: the LimitBreaches metric filter counts them
                    log("limit_breach", run_id=run, scope=row["scope"], measure=row["measure"], figure=row["figure"], limit=row["limit"])
            lap("history and summary")
            pdf = render_pdf(summary, firm_pnl)
            lap("pdf rendered")
            put_once(self.s3, bucket, pdf_key, pdf, "application/pdf")
            put_once(self.s3, bucket, json_key, json.dumps(summary, indent=2).encode(), "application/json")
            lap("written")
            timing.update(portfolios=len(portfolios), pdf=pdf_key, seconds=lap.seconds)
        if self.topic_arn:
            self._notify(bucket, run, manifest, summary, pdf_key, json_key)

    @staticmethod
    def _one_day(results: UnitResults, run_book: RunBook) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The one-day figures a longer horizon keeps for the next backtest: from the units' one-day
        P&L, or (results of an earlier release) revalued here."""
        if run_book.parameters.horizon_days == 1:
            return None
        return figures_of(results.portfolios, results.one_day) if results.one_day is not None else one_day_figures(run_book)

    def _notify(self, bucket: str, run: str, manifest: dict[str, Any], summary: dict[str, Any], pdf_key: str, json_key: str) -> None:
        """The notice on the topic, words for the e-mail and JSON for the machines (bounded: the first
        breaches, their count, the figures' key), then the mark that it went."""
        report_uri, figures_uri = f"s3://{bucket}/{pdf_key}", f"s3://{bucket}/{json_key}"
        message_id = publish_per_protocol(
            self.sns,
            self.topic_arn,
            restated_subject(notice_subject(summary), summary),
            "\n\n".join(filter(None, [restatement_line(summary), notice_text(summary, report_uri, figures_uri)])),
            json.dumps({**notice_summary(summary, report_uri, figures_uri), "restatement": restatement_line(summary)}, indent=2),
            details=figures_uri,
        )
        put_json_once(self.s3, bucket, notified_key(manifest["business_date"], run), {"message_id": message_id, "at": time.time()})

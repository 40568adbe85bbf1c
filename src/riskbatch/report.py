"""report-generation: firm-wide and per-portfolio VaR and ES from the run's summed P&L, as PDF and JSON."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from . import __version__
from .engine import build_book, position_tail_means, risk_model
from .inputs import run_market
from .layout import report_keys, result_key
from .logs import log, timed
from .model import ModelParameters, risk_figures
from .storage import exists, get_bytes, get_json, put_once

TOP_CONTRIBUTORS = 10
TAIL_CONFIDENCE = 0.975


def aggregate(s3: Any, bucket: str, manifest: dict[str, Any]) -> tuple[list[str], np.ndarray]:
    """Sum the units' P&L vectors per portfolio (a portfolio may span units): portfolios x scenarios."""
    run, scenarios = manifest["run_id"], manifest["model"]["scenarios"]
    portfolios = list(manifest["portfolios"])
    index = {portfolio: i for i, portfolio in enumerate(portfolios)}
    total = np.zeros((len(portfolios), scenarios))
    for unit in manifest["units"]:
        with np.load(io.BytesIO(get_bytes(s3, bucket, result_key(run, unit["index"])))) as result:
            for portfolio, row in zip(result["portfolio_ids"].tolist(), result["pnl"], strict=True):
                total[index[portfolio]] += row
    return portfolios, total


def contributions(s3: Any, bucket: str, manifest: dict[str, Any], firm_pnl: np.ndarray) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Each position's share of the firm's expected shortfall (its mean P&L in the firm's tail
    scenarios), the largest ones; and the risk model's diagnostics (rank, shrinkage, jitter)."""
    parameters = ModelParameters(**manifest["model"])
    tail = max(1, int(np.floor(len(firm_pnl) * (1 - TAIL_CONFIDENCE))))
    rows = np.argpartition(firm_pnl, tail - 1)[:tail]
    market = run_market(s3, bucket, manifest)
    positions = pa.concat_tables([pq.read_table(io.BytesIO(get_bytes(s3, bucket, unit["key"]))) for unit in manifest["units"]])
    book = build_book(positions, market, parameters)
    model = risk_model(market, parameters)
    shares = -position_tail_means(book, market, parameters, rows, model)
    order = np.argsort(-shares)[:TOP_CONTRIBUTORS]
    kinds = positions["instrument_type"].to_pylist()
    underlyings = positions["underlying"].to_pylist()
    owners = positions["portfolio_id"].to_pylist()
    return [
        {
            "position_id": book.position_ids[i],
            "portfolio_id": owners[i],
            "instrument_type": kinds[i],
            "underlying": underlyings[i],
            "es_contribution": float(shares[i]),
        }
        for i in order
    ], model.describe()


def _charts(firm_pnl: np.ndarray, figures: dict[str, Any], top: list[dict[str, Any]], currency: str) -> tuple[bytes, bytes]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    histogram, axis = plt.subplots(figsize=(7.0, 3.4))
    axis.hist(firm_pnl, bins=120, color="#4a6fa5")
    for label, value, style in (
        ("VaR 95 %", figures["var_95"], "--"),
        ("VaR 99 %", figures["var_99"], "-"),
        ("ES 97.5 %", figures["es_975"], ":"),
    ):
        axis.axvline(-value, color="#b22222", linestyle=style, label=f"{label}: {value:,.0f}")
    axis.set_xlabel(f"firm P&L over the horizon ({currency})")
    axis.set_ylabel("scenarios")
    axis.legend(fontsize=8)
    histogram.tight_layout()
    contributions_chart, bars = plt.subplots(figsize=(7.0, 3.0))
    bars.barh([item["position_id"] for item in top][::-1], [item["es_contribution"] for item in top][::-1], color="#6b8e23")
    bars.set_xlabel(f"contribution to ES 97.5 % ({currency})")
    contributions_chart.tight_layout()
    images = []
    for figure in (histogram, contributions_chart):
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=130)
        plt.close(figure)
        images.append(buffer.getvalue())
    return images[0], images[1]


def _money(value: float) -> str:
    return f"{value:,.0f}"


def _interval(figures: dict[str, Any], key: str) -> str:
    low, high = figures["ci_95"][key]
    return f"{_money(low)} to {_money(high)}"


FIGURES = (("var_95", "VaR 95 %"), ("var_99", "VaR 99 %"), ("es_975", "ES 97.5 %"))


def _figures_section(summary: dict[str, Any], histogram: bytes, kit: dict[str, Any]) -> list[Any]:
    """Title, the firm-wide figures with their intervals and the P&L histogram, and the portfolios."""
    styles, cm = kit["styles"], kit["cm"]
    firm, currency = summary["firm"], summary["reporting_currency"]
    firm_rows = [
        [f"firm ({currency})", *(label for _, label in FIGURES), "sum of portfolio VaR 99 %"],
        ["estimate", *(_money(firm[key]) for key, _ in FIGURES), _money(summary["sum_of_portfolio_var_99"])],
        ["95 % interval (Monte Carlo)", *(_interval(firm, key) for key, _ in FIGURES), ""],
    ]
    portfolio_rows = [[f"portfolio ({currency})", *(label for _, label in FIGURES), "VaR 99 %: 95 % interval"]] + [
        [name, *(_money(v[key]) for key, _ in FIGURES), _interval(v, "var_99")] for name, v in summary["portfolios"].items()
    ]
    model = summary["model"]
    return [
        kit["Paragraph"](f"Market risk report, business date {summary['business_date']}", styles["Title"]),
        kit["Paragraph"](
            f"Run {summary['run_id']}. Monte Carlo VaR and expected shortfall over {model['horizon_days']} business day(s), "
            f"{model['scenarios']:,} scenarios, all figures in {currency}. Market data as of {summary['market_as_of']}.",
            styles["Normal"],
        ),
        kit["Spacer"](1, 0.3 * cm),
        kit["Paragraph"]("Firm-wide (from the summed P&L of every portfolio, not the sum of VaRs)", styles["Heading2"]),
        kit["Table"](firm_rows, style=kit["grid"]),
        kit["Spacer"](1, 0.3 * cm),
        kit["Image"](io.BytesIO(histogram), width=16 * cm, height=7.8 * cm),
        kit["KeepTogether"]([kit["Paragraph"]("Portfolios", styles["Heading2"]), kit["Table"](portfolio_rows, style=kit["grid"], repeatRows=1)]),
    ]


def _contributions_section(summary: dict[str, Any], chart: bytes, kit: dict[str, Any]) -> list[Any]:
    cm = kit["cm"]
    rows = [["position", "portfolio", "type", "underlying", f"contribution ({summary['reporting_currency']})"]] + [
        [c["position_id"], c["portfolio_id"], c["instrument_type"], c["underlying"], _money(c["es_contribution"])] for c in summary["contributions"]
    ]
    return [
        kit["KeepTogether"](
            [
                kit["Paragraph"]("Largest contributions to ES 97.5 %", kit["styles"]["Heading2"]),
                kit["Image"](io.BytesIO(chart), width=16 * cm, height=6.8 * cm),
                kit["Table"](rows, style=kit["grid"], repeatRows=1),
            ]
        )
    ]


EXCLUDED_SHOWN = 25


def _data_quality_section(summary: dict[str, Any], kit: dict[str, Any]) -> list[Any]:
    """What the night left out and why, what it flagged, and how the covariance was estimated."""
    styles, cm = kit["styles"], kit["cm"]
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
        kit["Spacer"](1, 0.2 * cm),
        kit["Paragraph"](
            f"Excluded positions: {quality['excluded_positions']}, notional {_money(quality['excluded_notional'])} "
            f"(in their underlyings' currencies)" + (f"; the {EXCLUDED_SHOWN} largest:" if len(excluded) > EXCLUDED_SHOWN else "."),
            styles["Normal"],
        ),
    ]
    if excluded:
        rows = [["position", "portfolio", "underlying", "notional", "reason"]]
        for r in excluded[:EXCLUDED_SHOWN]:
            notional = _money(r["notional"]) if r["notional"] is not None else "unknown"
            rows.append([r["position_id"], r["portfolio_id"], r["underlying"], notional, kit["Paragraph"](r["reason"], styles["Code"])])
        story.append(kit["Table"](rows, style=kit["grid"], repeatRows=1, colWidths=[2.2 * cm, 1.8 * cm, 2.4 * cm, 2.4 * cm, 8.2 * cm]))
    findings = quality["findings"]
    story.append(kit["Paragraph"](f"Factor findings: {len(findings)}" + ("." if not findings else ":"), styles["Normal"]))
    if findings:
        rows = [["factor", "check", "action", "detail"]] + [
            [f["factor"], f["check"], f["action"], kit["Paragraph"](f["detail"], styles["Code"])] for f in findings
        ]
        story.append(kit["Table"](rows, style=kit["grid"], repeatRows=1, colWidths=[2.6 * cm, 2.2 * cm, 1.6 * cm, 10.6 * cm]))
    return story


def _audit_section(summary: dict[str, Any], kit: dict[str, Any]) -> list[Any]:
    styles, cm = kit["styles"], kit["cm"]
    audit = [
        ["item", "value"],
        ["run id", summary["run_id"]],
        ["software version", summary["software_version"]],
        ["seed", str(summary["model"]["seed"])],
        ["scenarios", f"{summary['model']['scenarios']:,}"],
    ]
    audit += [[f"model: {key}", str(value)] for key, value in summary["model"].items() if key not in {"seed", "scenarios"}]
    audit += [[f"data quality: {key}", str(value)] for key, value in summary.get("data_quality_policy", {}).items()]
    audit += [[f"input {item['role']} sha256", kit["Paragraph"](f"{item['sha256']}<br/>{item['uri']}", styles["Code"])] for item in summary["inputs"]]
    audit += [[f"timing: {key}", value] for key, value in summary["timings"].items()]
    return [kit["Paragraph"]("Audit trail", styles["Heading2"]), kit["Table"](audit, style=kit["grid"], colWidths=[5 * cm, 12 * cm])]


def render_pdf(summary: dict[str, Any], firm_pnl: np.ndarray) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    grid = TableStyle(
        [("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde4ee")), ("FONTSIZE", (0, 0), (-1, -1), 8)]
    )
    kit = {
        "styles": getSampleStyleSheet(),
        "cm": cm,
        "grid": grid,
        "Image": Image,
        "KeepTogether": KeepTogether,
        "Paragraph": Paragraph,
        "Spacer": Spacer,
        "Table": Table,
    }
    histogram, contribution_chart = _charts(firm_pnl, summary["firm"], summary["contributions"], summary["reporting_currency"])
    story = (
        _figures_section(summary, histogram, kit)
        + _contributions_section(summary, contribution_chart, kit)
        + _data_quality_section(summary, kit)
        + _audit_section(summary, kit)
    )
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, title=f"Risk report {summary['business_date']}", author="riskbatch").build(story)
    return buffer.getvalue()


class ReportGeneration:
    def __init__(self, s3: Any, sns: Any, topic_arn: str | None) -> None:
        self.s3 = s3
        self.sns = sns
        self.topic_arn = topic_arn

    def __call__(self, message: dict[str, Any], should_abort: Callable[[], bool]) -> None:
        detail = message.get("detail", message)  # an EventBridge event, or its detail alone
        bucket, run = detail["bucket"], detail["run_id"]
        manifest = get_json(self.s3, bucket, detail["manifest_key"])
        pdf_key, json_key = report_keys(manifest["business_date"], run)
        if exists(self.s3, bucket, json_key):
            log("report_already_published", run_id=run)
            return
        started = time.time()
        with timed("report_generated", run_id=run) as timing:
            portfolios, pnl = aggregate(self.s3, bucket, manifest)
            firm_pnl = pnl.sum(axis=0)
            per_portfolio = {name: risk_figures(row) for name, row in zip(portfolios, pnl, strict=True)}
            top, model = contributions(self.s3, bucket, manifest, firm_pnl)
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
                "contributions": top,
                "risk_model": model,
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
            put_once(self.s3, bucket, pdf_key, render_pdf(summary, firm_pnl), "application/pdf")
            put_once(self.s3, bucket, json_key, json.dumps(summary, indent=2).encode(), "application/json")
            timing.update(portfolios=len(portfolios), pdf=pdf_key)
        if self.topic_arn:
            firm = summary["firm"]
            self.sns.publish(
                TopicArn=self.topic_arn,
                Subject=f"Risk report {manifest['business_date']}: VaR99 {firm['var_99']:,.0f} {summary['reporting_currency']}"[:100],
                Message=json.dumps(
                    {
                        "run_id": run,
                        "business_date": manifest["business_date"],
                        "reporting_currency": summary["reporting_currency"],
                        "market_as_of": summary["market_as_of"],
                        "firm": firm,
                        "excluded_positions": summary["data_quality"]["excluded_positions"],
                        "report": f"s3://{bucket}/{pdf_key}",
                        "figures": f"s3://{bucket}/{json_key}",
                    },
                    indent=2,
                ),
            )

"""The report's PDF after page one: figures, trend, day-over-day change, contributions, ES breakdown, data
quality, methodology and audit trail, each section a function of the summary; and the document itself."""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

from riskbatch.inputs.quality import excluded_notional_text
from riskbatch.reporting.charts import contributions_chart, png, pnl_histogram, var_trend_chart
from riskbatch.reporting.figures import FIGURES
from riskbatch.reporting.page_one import backtest_block, limits_block, noise_words, summary_section
from riskbatch.reporting.tables import (
    counted,
    interval,
    money,
    parameters_in_use,
    section_table,
)


def _figures_section(summary: dict[str, Any], histogram: bytes, kit: dict[str, Any]) -> list[Any]:
    """The firm's P&L distribution, its VaR over the last nights, and the portfolios with the challengers' VaR beside Monte Carlo's."""
    styles = kit["styles"]
    currency, challengers = summary["reporting_currency"], summary["challengers"]
    stressed = challengers.get("stressed", {}).get("portfolios", {})
    partial = summary.get("portfolios_partly_excluded") or {}
    portfolio_rows = [[f"portfolio ({currency})", *(label for _, label in FIGURES), "VaR 99 %: 95 % interval", "HS VaR 99 %", "stressed VaR 99 %"]]
    for name, v in summary["portfolios"].items():
        hs = challengers["historical"]["portfolios"][name]["var_99"]
        sv = money(stressed[name]["var_99"]) if name in stressed else "-"
        flag = " (INCOMPLETE)" if name in partial else ""  # most of its notional excluded: a low figure, said on its row
        portfolio_rows.append([name + flag, *(money(v[key]) for key, _ in FIGURES), interval(v, "var_99"), money(hs), sv])
    for name, why in (summary.get("portfolios_without_figures") or {}).items():
        portfolio_rows.append([f"{name} (NO FIGURE)", *("-" for _ in FIGURES), f"every position excluded: {why['first_reason']}"[:60], "-", "-"])
    notes = [kit["Paragraph"](f"{name} (INCOMPLETE): {flag['text']}.", styles["Normal"]) for name, flag in partial.items()]
    return [
        kit["KeepTogether"]([kit["Paragraph"]("Firm P&amp;L over the horizon", styles["Heading2"]), kit["image"](histogram)]),
        *_trend_section(summary, kit),
        kit["KeepTogether"]([kit["Paragraph"]("Portfolios", styles["Heading2"]), kit["table"](portfolio_rows, "Portfolios"), *notes]),
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
        f"over {counted(summary['model']['horizon_days'], 'business day')}, from the history" + (", the firm's limits dotted." if limits else ".")
    )
    return [kit["KeepTogether"]([heading, chart, kit["Paragraph"](caption, styles["Normal"])])]


def _change_section(summary: dict[str, Any], kit: dict[str, Any]) -> list[Any]:
    """VaR 99 % since the previous night, split into model or data, market and book."""
    change, styles = summary.get("var_change"), kit["styles"]
    title = "Change in VaR 99 % since the previous night"
    heading = kit["Paragraph"](title, styles["Heading2"])
    if not change:
        unexplained = summary.get("var_change_unexplained")
        if not unexplained:
            return [heading, kit["Paragraph"]("No previous night in the history to compare with.", styles["Normal"])]
        if unexplained.get("no_figure"):  # the previous night has no VaR: nothing to compare with, yet there was a night
            return [heading, kit["Paragraph"](escape(f"No change explained: {unexplained['reason']}."), styles["Normal"])]
        words = (
            f"VaR 99 % moved {money(unexplained['change'])} since {unexplained['var_date']} (firm, {summary['reporting_currency']}; "
            f"{money(unexplained['yesterday'])} in the history). It is not split into model or data, market and book: {unexplained['reason']}; "
            "the split revalues that night's book, which only its run keeps."
        )
        return [heading, kit["Paragraph"](escape(words), styles["Normal"])]
    rows = [[f"scope ({summary['reporting_currency']})", f"{change['var_date']}", "tonight", "change", "model or data", "market", "book"]]
    for scope, values in change["scopes"].items():
        rows.append([scope, *(money(values[key]) for key in ("yesterday", "tonight", "change", "model_or_data", "market", "book"))])
    note = (
        "Each step is a full revaluation on the same random numbers: yesterday's book on yesterday's market with tonight's model "
        "(model or data), then on tonight's market (market), then tonight's book (book). " + noise_words(change)
    )
    if change["positions_not_carried"]:
        note += f" {change['positions_not_carried']} of yesterday's positions have no factor in tonight's market and count in the book step."
    return [kit["KeepTogether"]([heading, kit["table"](rows, title), kit["Paragraph"](note, styles["Normal"])])]


def _contributions_section(summary: dict[str, Any], chart: bytes, kit: dict[str, Any]) -> list[Any]:
    components = {c["position_id"]: c["var_99_component"] for c in summary["es_breakdown"]["var_99_components"]}
    rows = [["position", "portfolio", "type", "underlying", f"ES 97.5 % share ({summary['reporting_currency']})", "component VaR 99 %"]] + [
        [c["position_id"], c["portfolio_id"], c["instrument_type"], c["underlying"], money(c["es_contribution"]), money(components[c["position_id"]])]
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
        rows += [[name, money(value), f"{100 * value / total:.1f} %"] for name, value in shares.items()]
        return kit["table"](rows, f"ES 97.5 % by {title}")

    hedges = [["hedge", "portfolio", "type", "underlying", f"share ({currency})"]] + [
        [h["position_id"], h["portfolio_id"], h["instrument_type"], h["underlying"], money(h["es_contribution"])] for h in breakdown["hedges"]
    ]
    return [
        kit["KeepTogether"](
            [
                kit["Paragraph"]("Where the expected shortfall comes from", styles["Heading2"]),
                kit["Paragraph"](
                    "Each position's share is its mean loss in the firm's worst 2.5 % of scenarios; the shares add up to the firm's ES "
                    f"({money(breakdown['total'])}). A negative share is a hedge.",
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
            f"{counted(quality['excluded_positions'], 'position')}, notional {excluded_notional_text(quality)} "
            f"(at tonight's rates)" + (f"; the {EXCLUDED_SHOWN} largest:" if len(excluded) > EXCLUDED_SHOWN else "."),
            styles["Normal"],
        ),
    ]
    if excluded:
        rows = [["position", "portfolio", "underlying", f"notional ({summary['reporting_currency']})", "reason"]]
        for r in excluded[:EXCLUDED_SHOWN]:
            notional = money(r["notional"]) if r["notional"] is not None else "unknown"
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
        f"scenarios of {distribution} factor returns over {counted(model['horizon_days'], 'business day')} (square-root-of-time) are drawn "
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
        "(Var(L | L >= VaR) + 0.975 (ES - VaR)^2) / (n x 0.025), each end widened where a studentised bootstrap of the tail "
        "scenarios (1,000 resamples, its own fixed seed) reaches further: fat tails skew the estimate upwards. "
        "Intervals do not cover model error.",
        "<b>Challengers.</b> Historical simulation revalues tonight's book in each day's move of the history; stressed VaR does so "
        "over the governed stress period of the model configuration, read from the stress history (a file apart from the market "
        "history that sets the covariance). Their VaR and ES come from a generalised Pareto tail fitted to the worst 10 % of days "
        "(shape at least zero), so that ES 97.5 % is never below VaR 99 % on a few hundred days.",
        f"<b>Data.</b> Market data as of {summary['market_as_of']}; at least {summary.get('data_quality_policy', {}).get('min_returns', 250)} "
        "daily returns required; a local holiday is carried over (up to the gap limit), a short history takes its configured proxy, "
        "factors with longer gaps or without moves are excluded with their positions, stale runs and jumps flagged, "
        "as the data-quality policy in the audit trail says.",
        "<b>Limitations.</b> Zero-mean returns; constant correlations over the window; no jumps beyond those in the Student-t option; "
        "European exercise only; option rates from the night's curves at each expiry, not moved in the scenarios; "
        "flat implied volatility per option (moved in parallel by a vol factor); "
        "business days follow the NYSE calendar (weekends and exchange holidays); positions the data-quality checks excluded carry no risk in these figures.",
    ]
    body = [kit["Paragraph"](text, styles["Normal"]) for text in paragraphs]
    return [kit["KeepTogether"]([kit["Paragraph"]("Model documentation", styles["Heading2"]), *body])]  # no page of it without its heading


def _model_config_rows(summary: dict[str, Any]) -> list[list[str]]:
    """The model configuration the run was made with: version, hash, and any override it allowed."""
    config = summary.get("model_config")
    if not config:
        return [["model configuration", "not recorded (a run made before model configurations were versioned)"]]
    overrides = ", ".join(f"{name}={value}" for name, value in config["overrides"].items()) or "none"
    approval = config.get("approval")
    approved = f"by {approval['approved_by']} on {approval['approved_at']}" if approval else "not recorded (a version before approvals were recorded)"
    return [
        ["model configuration", f"version {config['version']}, sha256 {config['sha256']}"],
        ["model configuration approved", approved],
        ["model overrides (allowed)", overrides],
    ]


def _audit_section(summary: dict[str, Any], kit: dict[str, Any]) -> list[Any]:
    """What the run was made with: its identity, the model parameters in use, the data-quality policy, the inputs' checksums."""
    config = [[item, kit["Paragraph"](value.replace(", sha256 ", "<br/>sha256 "), kit["checksum"])] for item, value in _model_config_rows(summary)]
    audit = [
        ["item", "value"],
        ["run id", summary["run_id"]],
        ["software version", summary["software_version"]],
        *_build_rows(summary.get("computed_by"), kit),
        *config,
        ["seed", str(summary["model"]["seed"])],
        ["scenarios", f"{summary['model']['scenarios']:,}"],
    ]
    audit += [[f"model: {key}", value] for key, value in parameters_in_use(summary["model"])]
    audit += [[f"data quality: {key}", str(value) if value != {} else "none"] for key, value in summary.get("data_quality_policy", {}).items()]
    audit += [[f"input {item['role']}", kit["Paragraph"](_input_identity(item), kit["checksum"])] for item in summary["inputs"]]
    audit += _restatement_rows(summary.get("restatement"), kit)
    audit += [[f"timing: {key}", value] for key, value in summary["timings"].items()]
    audit += _publication_rows(summary.get("publication"), kit)
    return [kit["KeepTogether"]([kit["Paragraph"]("Audit trail", kit["styles"]["Heading2"]), kit["table"](audit, "Audit trail")])]


def _build_rows(computed_by: dict[str, Any] | None, kit: dict[str, Any]) -> list[list[Any]]:
    """The distinct builds and images that computed the night (each record's in the report's JSON): one fingerprint, one build."""
    if not computed_by:
        return [["computed by", "not recorded (a report made before builds were recorded)"]]
    lines = {name: "<br/>".join(escape(value) for value in computed_by.get(key, ["not recorded"])) for name, key in BUILD_ROWS}
    return [[name, kit["Paragraph"](value, kit["checksum"])] for name, value in lines.items()]


BUILD_ROWS = (
    ("code fingerprint", "code_fingerprints"),
    ("source revision", "source_revisions"),
    ("image digests", "image_digests"),
    ("BLAS kernel", "blas_kernels"),
)


def _input_identity(item: dict[str, Any]) -> str:
    """An input as a restatement can find it again: its bytes' SHA-256, its key and the S3 version read
    (a corrected file under the same key is a new version; the manifest keeps the one this run read)."""
    version = item.get("version_id") or "none (the bucket keeps no versions)"
    return f"sha256 {item['sha256']}<br/>{item['uri']}<br/>S3 version {version}"


def _restatement_rows(restatement: dict[str, Any] | None, kit: dict[str, Any]) -> list[list[Any]]:
    """The run this one restates and why, as its manifest records it (a forced rerun's reason included)."""
    if not restatement or "supersedes" not in restatement:
        return []
    source = restatement.get("reason_source", "the two runs' manifests")
    words = f"{restatement['reason']} (from {source}); supersedes {restatement['supersedes']}"
    return [["restatement", kit["Paragraph"](escape(words), kit["cell"])]]


def _publication_rows(status: dict[str, Any] | None, kit: dict[str, Any]) -> list[list[Any]]:
    """The publication in UTC, labelled so (page one gives New York time), and a replayed night's real time."""
    if not status:
        return []
    rows: list[list[Any]] = [["timing: published at (UTC)", status["published_at"]]]
    replayed = status.get("replayed")
    if replayed:
        words = (
            f"replayed night: the report was made at {replayed['made_at']} (UTC) and its publication stamped "
            f"{abs(replayed['shift_seconds']) / 3600:,.1f} hours {'earlier' if replayed['shift_seconds'] < 0 else 'later'}, "
            "as if the night had run in its night window; the on-time verdict is judged on that stamp"
        )
        rows.append(["timing: publication clock", kit["Paragraph"](words, kit["cell"])])
    return rows


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
    from reportlab.platypus import Image, KeepTogether, PageBreak, Paragraph, Spacer, Table

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
        summary_section(summary, kit)
        + _figures_section(summary, histogram, kit)
        + limits_block(summary, kit)[1]
        + _change_section(summary, kit)
        + backtest_block(summary, kit)[1]
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

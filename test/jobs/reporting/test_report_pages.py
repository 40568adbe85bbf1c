"""The report as it is read at 08:00: page one's publication time and colours, the charts' money axes,
tables inside the margins and never a page of a table's overflow alone, the audit trail's parameters,
and the notice on the topic (words for a person, JSON for a machine).

One night after a landed year runs once in an in-process AWS (the module's fixture); the variants
below re-render its summary with what another night could bring (breaches, late publication,
many limits, findings and held prices).
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import re
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from moto import mock_aws

from riskbatch.aws.alerts import ALERT_BYTES, MACHINE_PROTOCOLS, PERSON_PROTOCOLS, publish_per_protocol, sns_message_size
from riskbatch.aws.layout import report_keys
from riskbatch.inputs.business_days import business_days_ending
from riskbatch.inputs.files import EXPIRES_TODAY
from riskbatch.inputs.sample import SampleSpec, write_nights
from riskbatch.jobs.report_generation import ReportGeneration
from riskbatch.jobs.risk_calculation import RiskCalculation
from riskbatch.model.risk_model import ModelParameters
from riskbatch.reporting.charts import contributions_chart, exceptions_chart, pnl_histogram, var_trend, var_trend_chart
from riskbatch.reporting.deadline import publication
from riskbatch.reporting.notice import notice_subject, notice_text
from riskbatch.reporting.page_one_warnings import overflow_line, warning_lines
from riskbatch.reporting.pages import frame_size, render_pdf, report_document, report_story
from riskbatch.reporting.results import read_results
from riskbatch.reporting.tables import ORPHAN_ROWS, STATUS_COLOURS
from test.jobs.jobs.test_pipeline import _page_texts, drain, run_ingest
from test.jobs.stack_layout import lay_out_night

TONIGHT = dt.date(2026, 11, 25)  # the Wednesday before Thanksgiving: the report is due Friday 09:30
PUBLISHED = dt.datetime(2026, 11, 27, 12, 41, tzinfo=dt.UTC)  # 07:41 EST on that Friday
LIMITS = "scope,measure,limit\nfirm,var_99,1000\nPF01,var_99,1e12\n"  # one breached, one far within


class RecordingSNS:
    """The SNS client the report job publishes with: each request kept, then sent on to the emulator."""

    def __init__(self, sns: Any) -> None:
        self.sns, self.requests = sns, []

    def publish(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        return self.sns.publish(**request)


@pytest.fixture(scope="module")
def tonight(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """The first night after a landed year (as make demo lands it), with limits, published at 07:41 New York."""
    from riskbatch_platform.measurement.backtest_year import run_year

    out = tmp_path_factory.mktemp("report-pages")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RISK_SCENARIOS", "2000")
        env.setenv("RISKBATCH_ENVIRONMENT_CLASS", "non-production")
        env.setenv("RISK_BLOCK_SIZE", "512")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        with mock_aws():
            night = lay_out_night(out)
            bucket = night.settings.output_bucket
            history = 251
            first = business_days_ending(TONIGHT, history + 1)[0]
            spec = SampleSpec(positions=300, factors=40, days=260, portfolios=3, business_date=first)
            for record in run_year(spec, history + 1, ModelParameters(scenarios=1_000, block_size=1_000), computed=history):
                night.s3.put_object(Bucket=bucket, Key=f"history/{record['business_date']}.json", Body=json.dumps(record).encode())
            (folder,) = write_nights(out, spec, history + 1, first_written=history)
            (folder / "limits.csv").write_text(LIMITS)
            night.upload(folder, folder.name, ("limits.csv",))
            run = run_ingest(night, night.upload(folder, folder.name)[1]).run_id
            drain(night, night.settings.risk_work_queue_url, RiskCalculation(night.s3, night.events, night.settings.event_bus_name))
            for message in night.messages(night.settings.report_queue_url):
                night.sqs.send_message(QueueUrl=night.settings.report_queue_url, MessageBody=json.dumps(message))
            sns = RecordingSNS(night.sns)
            drain(night, night.settings.report_queue_url, ReportGeneration(night.s3, sns, night.settings.alert_topic_arn, clock=PUBLISHED.timestamp))
            pdf_key, json_key = report_keys(folder.name, run)
            summary = json.loads(night.s3.get_object(Bucket=bucket, Key=json_key)["Body"].read())
            manifest = json.loads(night.s3.get_object(Bucket=bucket, Key=f"runs/{run}/manifest.json")["Body"].read())
            firm_pnl = read_results(night.s3, bucket, manifest).pnl.sum(axis=0)
            return SimpleNamespace(
                run=run,
                bucket=bucket,
                pdf_key=pdf_key,
                json_key=json_key,
                summary=summary,
                firm_pnl=firm_pnl,
                pdf=night.s3.get_object(Bucket=bucket, Key=pdf_key)["Body"].read(),
                requests=sns.requests,
                delivered=night.published(),  # what the queue subscribed to the topic received
                out=out,
            )


# --- reading a PDF back ------------------------------------------------------------------------


def page_texts(pdf: bytes, folder: Path) -> list[str]:
    """The text of each page as poppler's pdftotext lays it out (pages end with a form feed)."""
    path = folder / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout
    return text.split("\f")[:-1]


def page_one_pixels(pdf: bytes, folder: Path) -> np.ndarray:
    """Page one rendered at 60 dpi by poppler's pdftoppm, as RGB pixels."""
    from PIL import Image

    path = folder / "page.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(path), str(folder / "page")], check=True)
    (png,) = folder.glob("page-*1.png")
    pixels = np.asarray(Image.open(png).convert("RGB"))
    png.unlink()
    return pixels


def fill_pixels(pixels: np.ndarray, status: str) -> int:
    """How many pixels are the fill colour of a status (within 3 of each channel: a cell's inside)."""
    fill = np.array([int(STATUS_COLOURS[status][0][i : i + 2], 16) for i in (1, 3, 5)])
    return int(np.all(np.abs(pixels.astype(int) - fill) <= 3, axis=-1).sum())


def flat(text: str) -> str:
    return " ".join(text.split())


# --- the variants ------------------------------------------------------------------------------


def clean(summary: dict[str, Any]) -> dict[str, Any]:
    """Every limit within, a green backtest, nothing excluded or flagged, on time."""
    night = copy.deepcopy(summary)
    night["limits"] = [{**row, "limit": 10 * row["figure"], "utilisation": 0.1, "status": "ok"} for row in night["limits"]]
    for row in night["limits"]:  # nothing excluded: no figure leaves part of its scope out
        row.pop("incomplete", None)
    night["portfolios_partly_excluded"] = {}
    night["backtest"]["firm"].update(zone="green", plus_factor=0.0)
    night["data_quality"].update(excluded=[], excluded_positions=0, excluded_notional=0.0, excluded_notional_unknown=0, findings=[], held_last_prices=[])
    night["publication"] = publication(night["business_date"], PUBLISHED)
    return night


def troubled(summary: dict[str, Any]) -> dict[str, Any]:
    """Late, 30 limits (long scopes among them) breached, near and within, a red backtest, ten held
    last prices, 80 flagged factors, shrunk correlations and market data a day old."""
    night = copy.deepcopy(summary)
    firm = night["firm"]["var_99"]
    statuses = [("breach", 1.3), ("warning", 0.95), ("ok", 0.4)]
    night["limits"] = [
        {"scope": f"GLOBAL-MACRO-EMERGING-MARKETS-RATES-{i:02d}", "measure": "var_99", "limit": firm / used, "figure": firm, "utilisation": used}
        | {"status": status}
        for i, (status, used) in enumerate(statuses * 10)
    ]
    night["backtest"]["firm"].update(zone="red", plus_factor=1.0, exceptions=11)
    quality = night["data_quality"]
    quality["held_last_prices"] = [
        {"factor": f"EQ_{i:04d}", "published": 5_000.0, "date": night["business_date"], "move": 99.0, "held_at": 50.0, "value_effect": 1.25e6, "positions": 2}
        for i in range(10)
    ]
    quality["findings"] = [
        {"factor": f"EQ_{i:04d}_LONG_FACTOR_NAME", "check": "stale", "action": "flag", "detail": f"price unchanged for {10 + i} business days " * 2}
        for i in range(80)
    ]
    night["risk_model"].update(shrinkage=0.2, smallest_correlation_eigenvalue=1e-5, shrinkage_effect_on_var=-0.031)
    night["market_as_of"] = "2026-11-24"
    night["publication"] = publication(night["business_date"], PUBLISHED.replace(hour=14, minute=42))  # 09:42 EST
    return night


# --- 1. page one: the publication time against 09:30 New York, breaches in colour ----------------


@pytest.mark.parametrize(
    ("business_date", "published", "on_time", "minutes_late", "due"),
    [
        ("2026-11-25", "2026-11-27T12:41:00+00:00", True, 0, "2026-11-27 09:30 EST"),  # Thanksgiving: due on the Friday
        ("2026-11-25", "2026-11-27T14:42:00+00:00", False, 12, "2026-11-27 09:30 EST"),
        ("2026-11-25", "2026-11-27T14:30:20+00:00", False, 1, "2026-11-27 09:30 EST"),  # 20 seconds late is a minute late
        ("2026-07-02", "2026-07-06T13:29:00+00:00", True, 0, "2026-07-06 09:30 EDT"),  # 3 July observed: due Monday, summer time
        ("2026-07-02", "2026-07-06T13:31:00+00:00", False, 1, "2026-07-06 09:30 EDT"),
        ("2026-11-27", "2026-11-30T13:00:00+00:00", True, 0, "2026-11-30 09:30 EST"),  # a Friday's report is due Monday
    ],
)
def test_the_publication_is_on_time_until_0930_new_york_on_the_next_business_day(
    business_date: str, published: str, on_time: bool, minutes_late: int, due: str
) -> None:
    status = publication(business_date, dt.datetime.fromisoformat(published))
    assert (status["on_time"], status["minutes_late"], status["due_new_york"]) == (on_time, minutes_late, due)


def test_page_one_says_when_the_report_was_published_in_new_york_against_0930(tonight: SimpleNamespace, tmp_path: Path) -> None:
    first = flat(page_texts(tonight.pdf, tmp_path)[0])
    assert tonight.summary["publication"]["published_at"] == "2026-11-27T12:41:00Z"
    assert "Published 2026-11-27 07:41 EST New York time, due 2026-11-27 09:30 EST: on time, 109 minutes (1 h 49 min) before the deadline." in first
    assert "ON TIME" in first
    late = flat(page_texts(render_pdf(troubled(tonight.summary), tonight.firm_pnl), tmp_path)[0])
    assert "Published 2026-11-27 09:42 EST New York time, due 2026-11-27 09:30 EST: LATE by 12 minutes." in late and "12 min after 09:30 EST" in late


def test_page_one_shows_breaches_in_colour_with_their_word_beside(tonight: SimpleNamespace, tmp_path: Path) -> None:
    """A breached limit, a red or yellow backtest, a data-quality issue and a late report are cells in
    their colour on page one; a clean night has none of those colours. The words stay (BREACH,
    BACKTEST RED, DATA ISSUES, LATE), so a grey-scale print still says it."""
    calm, bad = (render_pdf(night, tonight.firm_pnl) for night in (clean(tonight.summary), troubled(tonight.summary)))
    calm_pixels, bad_pixels = page_one_pixels(calm, tmp_path), page_one_pixels(bad, tmp_path)
    assert fill_pixels(bad_pixels, "breach") > 2_000 and fill_pixels(bad_pixels, "warning") > 500
    assert fill_pixels(calm_pixels, "breach") == 0 and fill_pixels(calm_pixels, "warning") == 0 and fill_pixels(calm_pixels, "ok") > 1_000
    words, page_two = (flat(page) for page in page_texts(bad, tmp_path)[:2])
    for marker in ("LATE", "LIMITS BREACHED", "BACKTEST RED", "DATA ISSUES", "BREACH", "LIMIT", "DATA"):
        assert marker in words, marker
    for marker in ("red (+1.00)", "MODEL"):  # the backtest's table and the model's warnings: on page two when page one has no room
        assert marker in words or ("on page 2" in words and marker in page_two), marker
    all_limits = " ".join(flat(page) for page in page_texts(bad, tmp_path)[1:] if "All limits" in page)  # the whole table follows the figures
    assert all(word in all_limits for word in ("BREACH", "WARNING", " ok "))
    assert "ON TIME" in flat(page_texts(calm, tmp_path)[0]) and "DATA CLEAN" in flat(page_texts(calm, tmp_path)[0])
    tonight_pixels = page_one_pixels(tonight.pdf, tmp_path)  # the night itself: its breached limit and its yellow (or other) zone
    assert fill_pixels(tonight_pixels, "breach") > 0 and "BREACH" in flat(page_texts(tonight.pdf, tmp_path)[0])


def _page_one_scales(pdf: bytes) -> list[float]:
    """The scales page one's content stream draws at: each transformation (a 0 0 d e f cm) that scales both axes alike."""
    import base64
    import zlib

    for stream in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.DOTALL):
        try:
            content = zlib.decompress(base64.a85decode(stream.strip().removesuffix(b"~>"))).decode("latin-1")
        except (ValueError, zlib.error):
            continue  # an image or a font
        if " Tj" in content:  # the first page's text
            return [float(a) for a, d in re.findall(r"(?:^|\s)([-\d.]+) 0 0 ([-\d.]+) [-\d.]+ [-\d.]+ cm", content) if a == d]
    return []


def everything(summary: dict[str, Any]) -> dict[str, Any]:
    """Every kind of notice at once: the troubled night's breaches, held prices, flags and shrinkage, and a restatement,
    a portfolio without a figure and one mostly excluded, positions excluded and an option expiring today, tonight's
    backtest incomplete, a split applied, a record not applied and a refused corporate actions file, a Monte Carlo
    figure above its tolerance and a jitter."""
    night = troubled(summary)
    date, quality = night["business_date"], night["data_quality"]
    night["restatement"] = {"supersedes": "20261127T110000Z-0a1b2c3d", "at": "2026-11-27T11:00:00Z", "reason": "PF03 equity quantity corrected by the desk"}
    lost = {"excluded_positions": 12, "excluded_notional": 3.4e6, "excluded_notional_currency": "USD", "first_reason": "no last price for EQ_0031"}
    night["portfolios_without_figures"] = {"PF09": lost}
    night["portfolios_partly_excluded"] = {"PF02": {"text": "partly excluded (60 % of its notional excluded, above the 25 % flag)"}}
    rows = [{"position_id": f"P{i:04d}", "portfolio_id": "PF02", "underlying": f"EQ_00{i}", "notional": 1e5, "reason": "no last price"} for i in range(3)]
    rows.append({"position_id": "P0100", "portfolio_id": "PF01", "underlying": "EQ_0007", "notional": 2e5, "reason": f"{EXPIRES_TODAY} {date}"})
    quality.update(excluded=rows, excluded_positions=len(rows), excluded_notional=5e5)
    quality["cleanings"] = [{"rule": "split", "made_on": date, "factor": "EQ_0003", "ratio": 2.0, "date": date}]
    quality["findings"].append({"factor": "EQ_0005", "check": "corporate_action", "action": "flag", "detail": "the record's ratio does not match the price"})
    night["corporate_actions_source"] = {"uri": f"s3://input/incoming/{date}/corporate_actions.csv", "rejected": ["row 2: no ratio"]}
    backtest = night["backtest"]
    incomplete = {"reasons": ["EQ_0009 held"], "positions": ["P0009"], "notional": 1e6}
    backtest["tonight"] = {**(backtest.get("tonight") or {}), "complete": False, "var_date": "2026-11-24", "incomplete": incomplete}
    night["model_config"] = {**(night.get("model_config") or {}), "monte_carlo": {"var_99_relative_standard_error": 1e-6}}
    night["risk_model"]["jitter"] = 1e-8
    return night


def test_a_night_with_every_notice_keeps_page_one_at_its_size_and_lists_the_rest_on_page_two(tonight: SimpleNamespace, tmp_path: Path) -> None:
    """Page one is never shrunk to fit: the warnings most important first (breaches, what the firm figure leaves out,
    the data, corporate actions, expiries, the model) take the room it leaves, and one line counts the others and
    names page two, which lists each of them in full."""
    summary = everything(tonight.summary)
    lines = warning_lines(summary)
    order = ["limit breaches", "Firm figures and firm limits INCOMPLETE", "Portfolio PF09 has no figure", "Portfolio PF02: partly excluded"]
    order += [
        "Suspect last price",
        "3 positions excluded, notional",
        "Corporate action of EQ_0005 not applied",
        "option expired today",
        "The correlations are shrunk",
    ]
    places = [next(number for number, line in enumerate(lines) if words in line) for words in order]
    assert places == sorted(places), list(zip(order, places, strict=True))
    pdf = render_pdf(summary, tonight.firm_pnl)
    one, two = (flat(page) for page in page_texts(pdf, tmp_path)[:2])
    # at its normal size: nothing on page one is drawn scaled down (a page shrunk to fit was drawn at 0.56), its words keep their spaces
    assert set(_page_one_scales(pdf)) <= {1.0}, sorted(set(_page_one_scales(pdf)))
    assert f"Restated, supersedes run {summary['restatement']['supersedes']}" in _page_texts(pdf)[0]
    assert f"Restated, supersedes run {summary['restatement']['supersedes']}" in one
    shown = [line for line in lines if flat(line) in one]
    rest = lines[len(shown) :]
    assert shown == lines[: len(shown)] and len(shown) >= 2, shown  # the most important, in their order
    assert shown[0].startswith("10 limit breaches") and shown[1].startswith("Firm figures and firm limits INCOMPLETE")
    assert rest and overflow_line(len(rest)).split(" (")[0] in one  # "N more warnings, of lower priority, listed in full on page 2"
    for heading in ("Backtest (one-day VaR", "Challenger models"):  # a block page one had no room for: on page two, named on page one
        assert heading in one or (heading in two and "the " + heading.split(" (")[0].lower() in one.lower()), heading
    assert two.startswith("Warnings, continued from page one")
    assert all(flat(line) in two and flat(line) not in one for line in rest), [line for line in rest if flat(line) not in two]


# --- 2. charts: money in millions with separators, the VaR trend, the exceptions ------------------


def tick_labels(figure: Any, which: str) -> tuple[list[str], list[float], str, str]:
    """The money axis's tick labels as drawn, their positions, its offset text and its label."""
    figure.canvas.draw()
    (axis,) = figure.axes
    target = axis.xaxis if which == "x" else axis.yaxis
    low, high = axis.get_xlim() if which == "x" else axis.get_ylim()
    shown = [(tick.label1.get_text(), tick.get_loc()) for tick in target.get_major_ticks() if low <= tick.get_loc() <= high]
    return [text for text, _ in shown], [loc for _, loc in shown], target.get_offset_text().get_text(), target.get_label_text()


MILLIONS = re.compile(r"-?\d{1,3}(,\d{3})*(\.\d+)?")


def _assert_millions(figure: Any, which: str) -> list[str]:
    labels, locs, offset, label = tick_labels(figure, which)
    assert offset == "" and "USD millions" in label, (offset, label)  # no "1e6" in the corner
    assert labels and all(MILLIONS.fullmatch(text) for text in labels), labels
    assert [float(text.replace(",", "")) for text in labels] == pytest.approx([loc / 1e6 for loc in locs], abs=1e-9)
    assert len(set(labels)) == len(labels)  # enough decimals to tell the ticks apart
    return labels


@pytest.mark.parametrize("scale", [1.0, 4_000.0])  # the test book's hundreds of thousands, and billions
def test_every_money_axis_is_in_millions_with_thousands_separators(tonight: SimpleNamespace, scale: float) -> None:
    summary = tonight.summary
    firm = {key: scale * value for key, value in summary["firm"].items() if key in {"var_95", "var_99", "es_975"}}
    series = [{**point, **{key: scale * point[key] for key in ("pnl", "var_99", "var_975")}} for point in summary["backtest"]["series"]]
    trend = [{**point, **{key: scale * point[key] for key in ("var_95", "var_99", "es_975")}} for point in summary["var_trend"]]
    top = [{**item, "es_contribution": scale * item["es_contribution"]} for item in summary["contributions"]]
    labels = _assert_millions(pnl_histogram(scale * tonight.firm_pnl, firm, "USD"), "x")
    _assert_millions(contributions_chart(top, "USD"), "x")
    _assert_millions(exceptions_chart(series, "USD"), "y")
    _assert_millions(var_trend_chart(trend, "USD", {"var_99": scale * 1_000.0}), "y")
    if scale > 1:
        assert any("," in text for text in labels)  # thousands of millions: 1,000 and up


def test_the_var_trend_shows_the_last_nights_of_the_history_with_tonight_last(tonight: SimpleNamespace, tmp_path: Path) -> None:
    trend, summary = tonight.summary["var_trend"], tonight.summary
    assert len(trend) == 60 and trend[-1]["business_date"] == summary["business_date"]
    assert trend[-1]["var_99"] == summary["firm"]["var_99"] and [p["business_date"] for p in trend] == sorted(p["business_date"] for p in trend)
    figure = var_trend_chart(trend, "USD", {"var_99": 1_000.0})
    (axis,) = figure.axes
    var_99 = next(line for line in axis.get_lines() if line.get_label() == "VaR 99 %")
    assert list(var_99.get_ydata()) == [point["var_99"] for point in trend]
    assert any(line.get_label().startswith("limit VaR 99 %") for line in axis.get_lines())  # the firm's limit on it
    assert b"/Height 390" in tonight.pdf  # the trend chart (7 x 3 inches at 130 dpi)
    assert any("Firm VaR over the last nights" in text for text in page_texts(tonight.pdf, tmp_path))
    # a night of another horizon is no comparison: it is left out
    figures = {"firm": {"var_95": 1.0, "var_99": 2.0, "es_975": 3.0}}
    records = [{"business_date": f"2026-01-{d:02d}", "horizon_days": 10 if d == 5 else 1, "var": figures} for d in range(1, 9)]
    kept = [point["business_date"] for point in var_trend(records, 1, "USD", nights=5)]
    assert kept == ["2026-01-03", "2026-01-04", "2026-01-06", "2026-01-07", "2026-01-08"]


def test_the_exceptions_chart_plots_pnl_against_var_with_each_exception_marked(tonight: SimpleNamespace) -> None:
    series = tonight.summary["backtest"]["series"]
    (axis,) = exceptions_chart(series, "USD").axes
    (marked,) = axis.collections  # the exceptions' markers
    hits = [(i, point["pnl"]) for i, point in enumerate(series) if point["exception"]]
    assert hits and [tuple(xy) for xy in marked.get_offsets()] == hits
    assert all(-point["pnl"] > point["var_99"] for point in series if point["exception"])
    (minus_var,) = [line for line in axis.get_lines() if line.get_label() == "VaR 99 % (as a loss)"]
    assert list(minus_var.get_ydata()) == [-point["var_99"] for point in series]


# --- 3. tables inside the margins, no page of a table's overflow, the parameters in use ----------


def _leaves(flowable: Any) -> list[Any]:
    content = getattr(flowable, "_content", None)  # KeepTogether
    return [leaf for child in content for leaf in _leaves(child)] if content is not None else [flowable]


@pytest.mark.parametrize("variant", [lambda s: s, troubled], ids=["tonight", "troubled"])
def test_every_table_and_chart_fits_the_frame(tonight: SimpleNamespace, variant: Any) -> None:
    document = report_document(io.BytesIO(), tonight.summary)
    width, height = frame_size(document)
    assert width == pytest.approx(document.width - 12)  # the frame's 6-point padding a side
    story = report_story(variant(tonight.summary), tonight.firm_pnl, width, height)
    measured = [(leaf, leaf.wrap(width, height)[0]) for flowable in story for leaf in _leaves(flowable)]
    tables = [(leaf, wide) for leaf, wide in measured if type(leaf).__name__.endswith("Table")]
    assert len(tables) >= 12
    too_wide = [(leaf.identity(60), round(wide, 1)) for leaf, wide in measured if wide > width + 0.01]
    assert too_wide == [], f"the frame is {width:.1f} points wide"


def _headings(story: list[Any]) -> list[str]:
    """The story's headings, and the "(continued)" heading of each table that has one should it break."""
    from reportlab.platypus import Paragraph

    leaves = [leaf for flowable in story for leaf in _leaves(flowable)]
    headings = [
        flat(leaf.getPlainText())
        for leaf in leaves
        if isinstance(leaf, Paragraph) and (leaf.style.name.startswith("Heading") or leaf.style.name == "page-one heading")
    ]
    return headings + [f"{leaf.continued} (continued)" for leaf in leaves if getattr(leaf, "continued", None)]


@pytest.mark.parametrize("variant", [lambda s: s, troubled], ids=["tonight", "troubled"])
def test_every_page_holds_a_heading_and_no_table_leaves_a_few_rows_alone(tonight: SimpleNamespace, variant: Any, tmp_path: Path) -> None:
    """Page one ends with its warnings; every later page holds a section's heading or the
    "(continued)" heading of the table it goes on with, its header row repeated, and at least
    ORPHAN_ROWS rows of it: never a page with a few rows of a table and nothing else."""
    summary = variant(tonight.summary)
    headings = _headings(report_story(summary, tonight.firm_pnl, *frame_size(report_document(io.BytesIO(), summary))))
    pages = page_texts(render_pdf(summary, tonight.firm_pnl), tmp_path)
    # page one kept to itself: the warnings it had no room for, then the figures, start the next page
    # (or, when every warning fit but a block did not, that block, named on page one)
    moved = "No room on this page for the backtest" in flat(pages[0]) and flat(pages[1]).startswith("Backtest (one-day VaR")
    assert "Warnings" in pages[0] and (flat(pages[1]).startswith(("Warnings, continued from page one", "Firm P&L over the horizon")) or moved)
    for number, page in enumerate(pages, 1):
        assert any(heading in flat(page) for heading in headings), f"page {number} holds no heading: {flat(page)[:200]}"
    findings = [(number, page) for number, page in enumerate(pages, 1) if "_LONG_FACTOR_NAME" in page]
    for number, page in findings:
        rows = len(re.findall(r"^\s*EQ_\d{4}_LONG_FACTOR_NAME", page, re.MULTILINE))
        assert re.search(r"^\s*factor\s+check\s+action\s+detail", page, re.MULTILINE), f"page {number}: no header row"
        assert rows >= ORPHAN_ROWS, f"page {number} holds {rows} row(s) of the findings"
    if summary["data_quality"]["findings"]:
        assert len(findings) >= 2 and all("Factor findings (continued)" in flat(page) for _, page in findings[1:])
        assert sum(len(re.findall(r"^\s*EQ_\d{4}_LONG_FACTOR_NAME", page, re.MULTILINE)) for _, page in findings) == 80


def _audit_text(pdf: bytes, folder: Path) -> str:
    """From the audit trail's heading to the end (its table may run onto a further page)."""
    text = "\n".join(page_texts(pdf, folder))
    return text[re.search(r"^\s*Audit trail\s*$", text, re.MULTILINE).start() :]


@pytest.mark.parametrize(
    ("model", "shown", "hidden"),
    [
        ({}, ["model: covariance sample", "model: distribution normal", "model: rate (every currency) 0.03"], ["ewma_lambda", "degrees_of_freedom", "rates"]),
        ({"covariance": "ewma"}, ["model: covariance ewma", "model: ewma_lambda 0.94"], ["degrees_of_freedom", "rates"]),
        ({"distribution": "student-t"}, ["model: distribution student-t", "model: degrees_of_freedom 5"], ["ewma_lambda", "rates"]),
        (
            {"rates": {"USD": 0.045, "EUR": 0.02}},
            ["model: rates EUR 0.02, USD 0.045", "model: rate (any other currency) 0.03"],
            ["ewma_lambda", "degrees_of_freedom", "{}"],
        ),
    ],
    ids=["sample-normal", "ewma", "student-t", "rates"],
)
def test_the_audit_trail_lists_the_parameters_in_use_only(tonight: SimpleNamespace, model: dict, shown: list[str], hidden: list[str], tmp_path: Path) -> None:
    summary = copy.deepcopy(tonight.summary)
    summary["model"].update(model)
    audit = flat(_audit_text(render_pdf(summary, tonight.firm_pnl), tmp_path))
    for line in shown:
        assert line in audit, line
    for word in hidden:
        assert word not in audit, word
    assert "model: seed_policy fixed" in audit and "model: block_size 512" in audit


# --- 4. the notice: words for a person, JSON for a machine ------------------------------------
# MessageStructure=json: the Message is a JSON object with a string for "default" and for each
# transport protocol that should get another; a key matching no protocol is ignored, and the
# size is the whole object's (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html,
# http://docs.aws.amazon.com/sdkfornet1/latest/apidocs/html/P_Amazon_SimpleNotificationService_Model_PublishRequest_MessageStructure.htm,
# https://sdk.amazonaws.com/kotlin/api/latest/sns/aws.sdk.kotlin.services.sns.model/-publish-request/-builder/message-structure.html).
# The protocols' names are Subscribe's: email, email-json, sqs, lambda, http, https, firehose, sms
# (https://docs.aws.amazon.com/AWSJavaScriptSDK/v3/latest/clients/client-sns/interfaces/subscribecommandinput.html).


def test_the_notice_is_formatted_words_for_the_email_and_json_for_the_machines(tonight: SimpleNamespace) -> None:
    (request,) = [r for r in tonight.requests if r["Subject"].startswith("Risk report")]
    assert request["MessageStructure"] == "json"
    assert sns_message_size(request["Subject"], request["Message"]) <= ALERT_BYTES
    message = json.loads(request["Message"])
    assert set(PERSON_PROTOCOLS) | set(MACHINE_PROTOCOLS) <= set(message) and all(isinstance(value, str) for value in message.values())
    words, summary = message["email"], tonight.summary
    assert message["default"] == words and not words.lstrip().startswith("{")
    firm, pdf = summary["firm"], f"s3://{tonight.bucket}/{tonight.pdf_key}"
    assert f"VaR 99 %:  {firm['var_99']:,.0f} USD" in words or f"VaR 99 %: {firm['var_99']:,.0f} USD" in words
    assert all(f"{firm[key]:,.0f} USD" in words for key in ("var_95", "var_99", "es_975"))
    assert f"Report (PDF): {pdf}" in words and f"s3://{tonight.bucket}/{tonight.json_key}" in words
    assert "on time" in words and "Published 2026-11-27 07:41 EST New York time" in words
    assert "Limits: 1 of 2 BREACHED" in words and "firm VaR 99 %:" in words and "against a limit of 1,000" in words
    assert not re.search(r"\d\.\d{5,}", words)  # no float written out to 16 digits
    for protocol in MACHINE_PROTOCOLS:
        figures = json.loads(message[protocol])
        assert figures["firm"] == firm and figures["report"] == pdf and figures["limit_breaches_total"] == 1
    (delivered,) = [m for m in tonight.delivered if isinstance(m, dict) and m.get("run_id") == tonight.run]
    assert delivered == json.loads(message["sqs"])  # the queue subscribed to the topic got the JSON
    assert message["sms"] == request["Subject"]


def test_a_late_notice_says_so_in_its_subject_and_words(tonight: SimpleNamespace) -> None:
    late = troubled(tonight.summary)
    words = notice_text(late, "s3://b/r.pdf", "s3://b/r.json")
    assert words.splitlines()[0] == f"Risk report for business date {late['business_date']}: LATE by 12 minutes."
    assert notice_subject(late).endswith("LATE by 12 minutes") and len(notice_subject(late)) <= 100
    assert "Limits: 10 of 30 BREACHED:" in words and "Suspect last prices held at the previous close:" in words


class _FakeSNS:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def publish(self, **request: Any) -> dict[str, str]:
        self.requests.append(request)
        return {"MessageId": "m-1"}


def test_a_long_notice_cuts_its_words_and_keeps_the_machines_json_whole() -> None:
    sns, figures = _FakeSNS(), {"firm": {"var_99": 1234567.891234}, "rows": list(range(500))}
    words = "\n".join(f'line {i}: "quoted" text that JSON escapes\t{i:,}' for i in range(20_000))
    publish_per_protocol(sns, "arn:aws:sns:us-east-1:123456789012:topic", "Risk report", words, json.dumps(figures), details="s3://b/figures.json")
    (request,) = sns.requests
    assert sns_message_size(request["Subject"], request["Message"]) <= ALERT_BYTES
    message = json.loads(request["Message"])
    assert json.loads(message["sqs"]) == figures and message["email"].endswith("the full details: s3://b/figures.json")
    assert sns_message_size(request["Subject"], request["Message"]) > ALERT_BYTES - 2_000  # cut to the bound, not far below


def _finding_rows(page: str) -> int:
    return len(re.findall(r"^\s*EQ_\d{4}_LONG_FACTOR_NAME", page, re.MULTILINE))


def test_a_table_one_row_longer_than_its_page_carries_rows_over_with_its_last(tonight: SimpleNamespace, tmp_path: Path) -> None:
    """The findings table made one row longer than its first page holds: the break moves rows back so
    that the page after it holds ORPHAN_ROWS of them under the "(continued)" heading, never the one."""
    summary = troubled(tonight.summary)
    pages = page_texts(render_pdf(summary, tonight.firm_pnl), tmp_path)
    capacity = next(_finding_rows(page) for page in pages if "Factor findings (80)" in flat(page))
    summary["data_quality"]["findings"] = summary["data_quality"]["findings"][: capacity + 1]
    pages = page_texts(render_pdf(summary, tonight.firm_pnl), tmp_path)
    counts = [_finding_rows(page) for page in pages if _finding_rows(page)]
    assert sum(counts) == capacity + 1 and len(counts) == 2
    assert counts[1] >= ORPHAN_ROWS, counts
    (continued,) = [page for page in pages if "Factor findings (continued)" in flat(page)]
    assert re.search(r"^\s*factor\s+check\s+action\s+detail", continued, re.MULTILINE)  # the header row again


# --- 6. page one at a glance: each portfolio's zone, breach ages, the change; words and figures ------


def portfolios_off_green(summary: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A green firm (one exception) beside two yellow portfolios."""
    night = copy.deepcopy(summary)
    backtest = night["backtest"]
    backtest["firm"].update(zone="green", plus_factor=0.0, exceptions=1, observations=250)
    names = sorted(backtest["portfolios"])
    for name in names:
        backtest["portfolios"][name].update(zone="yellow" if name in names[:2] else "green", plus_factor=0.0, exceptions=6 if name in names[:2] else 2)
    return night, names


def test_page_one_gives_each_portfolios_backtest_zone_and_its_tile_the_worst(tonight: SimpleNamespace, tmp_path: Path) -> None:
    from riskbatch.reporting.tiles import backtest_tile

    night, names = portfolios_off_green(tonight.summary)
    tile = backtest_tile(night["backtest"], {})
    assert tile == ("warning", "BACKTEST YELLOW", f"firm green, 1 exception in 250 days; {names[0]} yellow, {names[1]} yellow")
    first, second = (flat(page) for page in page_texts(render_pdf(night, tonight.firm_pnl), tmp_path)[:2])
    assert "BACKTEST YELLOW" in first and "BACKTEST GREEN" not in first  # the tile names the portfolios off green (above)
    zones = " ".join(f"{'YELLOW, 6' if name in names[:2] else 'GREEN, 2'}" for name in names)
    # one cell a portfolio: its name over its zone and exceptions, in the backtest block (on page two, named there, when page one is full)
    assert f"{' '.join(names)} {zones}" in first or ("the backtest" in first and "in full" in first and f"{' '.join(names)} {zones}" in second)
    pixels = page_one_pixels(render_pdf(night, tonight.firm_pnl), tmp_path)
    assert fill_pixels(pixels, "warning") > 0


def test_no_count_reads_1_exceptions_or_breach_es(tonight: SimpleNamespace, tmp_path: Path) -> None:
    night, _ = portfolios_off_green(tonight.summary)
    firm = night["firm"]
    breached = {"figure": firm["var_99"], "utilisation": 2.0, "status": "breach"}
    night["limits"] = [{"scope": "firm", "measure": "var_99", "limit": firm["var_99"] / 2, **breached, "nights_breached": 1, "new": True}]
    text = " ".join(flat(page) for page in page_texts(render_pdf(night, tonight.firm_pnl), tmp_path))
    assert "1 limit breach: firm VaR 99 % (new tonight)." in text
    assert not re.search(r"\b1 (exceptions|days|positions|limits|factors)\b|\(s\)|\(es\)", text), re.findall(r".{30}(?:\(s\)|\(es\)).{10}", text)


def test_page_one_says_how_long_each_limit_has_been_breached(tonight: SimpleNamespace, tmp_path: Path) -> None:
    night = copy.deepcopy(tonight.summary)
    firm = night["firm"]
    night["limits"] = [
        {"scope": "firm", "measure": key, "limit": firm[key] / 2, "figure": firm[key], "utilisation": 2.0, "status": "breach"}
        | {"nights_breached": nights, "new": nights == 1}
        for key, nights in (("var_99", 1), ("es_975", 3))
    ]
    first = flat(page_texts(render_pdf(night, tonight.firm_pnl), tmp_path)[0])
    assert "2 limit breaches: firm VaR 99 % (new tonight), firm ES 97.5 % (3rd night in a row)." in first
    assert "BREACH new tonight" in first and "BREACH 3rd night in a row" in first  # the limits table's last column


def test_the_change_since_the_previous_night_is_on_page_one_and_page_three_says_why_it_is_not_split(tonight: SimpleNamespace, tmp_path: Path) -> None:
    # the fixture's previous night is landed history (figures, no run): its change is told, not split
    from riskbatch.reporting.tables import money

    unexplained = tonight.summary["var_change_unexplained"]
    assert unexplained["change"] == pytest.approx(tonight.summary["firm"]["var_99"] - unexplained["yesterday"])
    pages = page_texts(tonight.pdf, tmp_path)
    assert f"VaR 99 % moved {money(unexplained['change'])} since {unexplained['var_date']}" in flat(pages[0])
    change = next(flat(page) for page in pages if "Change in VaR 99 % since the previous night" in page)
    assert "No previous night in the history" not in change and f"moved {money(unexplained['change'])}" in change and "not in this bucket" in change


def test_figures_are_right_aligned_and_words_left() -> None:
    from riskbatch.reporting.tables import section_table

    rows = [
        ["scope", "VaR 99 % (USD)", "utilisation", "Kupiec LR", "status"],
        ["firm", "1,234,567", "45 %", "3.84 (p 0.05)", "ok"],
        ["PF01", "-12", "-", "-", "BREACH"],
    ]
    table = section_table(rows, 400.0)
    alignment = [[cell.alignment for cell in row] for row in table._cellStyles]
    assert [row[1:4] for row in alignment] == [["RIGHT"] * 3] * 3
    assert [(row[0], row[4]) for row in alignment] == [("LEFT", "LEFT")] * 3
    # a column too narrow for its intervals wraps them: its cells, paragraphs now, stay right-aligned
    rows = [["firm (USD)", "VaR 99 %"], ["estimate", "3,511,284"], ["95 % interval (Monte Carlo)", "3,479,041 to 3,556,971"]]
    narrow = section_table(rows, 150.0)
    cells = [row[1] for row in narrow._cellvalues[1:]]
    assert all(getattr(cell, "style", None) is not None and cell.style.alignment == 2 for cell in cells), cells  # 2: TA_RIGHT


def test_times_are_new_york_and_the_audit_trails_utc_is_labelled(tonight: SimpleNamespace, tmp_path: Path) -> None:
    pages = page_texts(tonight.pdf, tmp_path)
    assert "New York" in flat(pages[0]) and not re.search(r"\d{2}:\d{2}(:\d{2})?Z|UTC", flat(pages[0]))
    audit = "\n".join(page for page in pages if "Audit trail" in page or "timing:" in page)
    stamped = [line for line in audit.splitlines() if re.search(r"T\d{2}:\d{2}:\d{2}Z", line)]
    assert len(stamped) >= 3 and all("(UTC)" in line for line in stamped), stamped
    assert "published at (UTC) 2026-11-27T12:41:00Z" in flat(audit)


def test_a_replayed_night_says_so_on_page_one_and_in_the_audit_trail(tonight: SimpleNamespace, tmp_path: Path) -> None:
    night = copy.deepcopy(tonight.summary)
    made = PUBLISHED + dt.timedelta(days=10)
    replayed = {"made_at": made.strftime("%Y-%m-%dT%H:%M:%SZ"), "shift_seconds": -864_000.0}
    night["publication"] = publication(night["business_date"], PUBLISHED) | {"replayed": replayed}
    pages = [flat(page) for page in page_texts(render_pdf(night, tonight.firm_pnl), tmp_path)]
    assert "on time" in pages[0] and "A replayed night: the report was made 2026-12-07 07:41 EST New York time" in pages[0]
    audit = " ".join(page for page in pages if "timing:" in page)
    assert "replayed night: the report was made at 2026-12-07T12:41:00Z (UTC)" in audit and "240.0 hours earlier" in audit


# --- 7. charts a reader tells apart ---------------------------------------------------------------


def _inside(inner: Any, outer: Any) -> bool:
    return inner.x0 < outer.x1 and inner.x1 > outer.x0 and inner.y0 < outer.y1 and inner.y1 > outer.y0


@pytest.mark.parametrize("chart", ["histogram", "exceptions"])
def test_the_legends_lie_outside_the_plotted_data(tonight: SimpleNamespace, chart: str) -> None:
    summary = tonight.summary
    figure = pnl_histogram(tonight.firm_pnl, summary["firm"], "USD") if chart == "histogram" else exceptions_chart(summary["backtest"]["series"], "USD")
    figure.canvas.draw()
    (axis,) = figure.axes
    legend = axis.get_legend().get_window_extent()
    assert not _inside(legend, axis.get_window_extent()), (legend, axis.get_window_extent())
    assert legend.y0 >= 0 and legend.x0 >= 0  # and inside the picture
    labels = [text.get_text() for text in axis.get_legend().get_texts()]
    assert labels and not any(label.lstrip().startswith("-") for label in labels), labels


def test_the_histograms_var_99_and_es_lines_differ_in_colour_and_style(tonight: SimpleNamespace) -> None:
    (axis,) = pnl_histogram(tonight.firm_pnl, tonight.summary["firm"], "USD").axes
    marks = {line.get_label().split(":")[0]: line for line in axis.get_lines()}
    var_99, es = marks["VaR 99 %"], marks["ES 97.5 %"]
    assert var_99.get_color() != es.get_color() and var_99.get_linestyle() != es.get_linestyle()
    assert len({line.get_color() for line in marks.values()}) == 3


def test_the_contributions_chart_names_each_positions_portfolio_and_instrument(tonight: SimpleNamespace) -> None:
    top = tonight.summary["contributions"]
    figure = contributions_chart(top, "USD")
    figure.canvas.draw()
    labels = [label.get_text() for label in figure.axes[0].get_yticklabels()]
    assert sorted(labels) == sorted(f"{item['portfolio_id']} {item['underlying']} {item['instrument_type']} ({item['position_id']})" for item in top)


def test_the_audit_trail_names_each_inputs_s3_version_and_a_restatements_reason(tonight: SimpleNamespace, tmp_path: Path) -> None:
    """A corrected file lands under the same key as a new version ("Retaining multiple versions of objects with S3
    Versioning": https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html): the audit trail names the
    version each input was read at, and a forced rerun's reason, so a superseded run stays reproducible."""
    night = copy.deepcopy(tonight.summary)
    for number, item in enumerate(night["inputs"]):
        item["version_id"] = f"3HL4kqtJlcpXroDTDmJ{number}"
    night["restatement"] = {
        "supersedes": "2026-11-25-0123abcd",
        "at": "2026-11-27T12:00:00Z",
        "reason": "a pricing fix in 1.0.1",
        "reason_source": "riskbatch rerun --force --reason",
    }
    audit = flat(_audit_text(render_pdf(night, tonight.firm_pnl), tmp_path))
    assert all(f"S3 version 3HL4kqtJlcpXroDTDmJ{number}" in audit for number in range(len(night["inputs"])))
    assert "restatement a pricing fix in 1.0.1 (from riskbatch rerun --force --reason); supersedes 2026-11-25-0123abcd" in audit


def worst_fixed_blocks(summary: dict[str, Any], portfolios: int) -> dict[str, Any]:
    """Every notice at once, and page one's fixed blocks at their largest: `portfolios` portfolios of long names without a
    figure and as many partly excluded (the firm note, the tiles and the firm limit name them), five limit rows on page one
    each on an incomplete figure with the firm's caveat as its status, a long restatement reason."""
    from riskbatch.reporting.coverage import firm_incomplete, partly_excluded

    night = everything(summary)
    names = [f"GLOBAL-MACRO-EMERGING-MARKETS-RATES-BOOK-{i:03d}" for i in range(2 * portfolios)]
    lost = night["portfolios_without_figures"]["PF09"]
    night["portfolios_without_figures"] = {name: lost for name in names[:portfolios]}
    flagged = names[portfolios:]
    excluded = [{"portfolio_id": name, "position_id": f"{name}-{i}", "notional": 60.0, "reason": "no last price"} for name in flagged for i in range(3)]
    night["portfolios_partly_excluded"] = partly_excluded({"excluded": excluded}, dict.fromkeys(flagged, 40.0), {})  # 60 % left out of each
    caveat = firm_incomplete(night)
    firm = night["firm"]["var_99"]
    night["limits"] = [
        {"scope": scope, "measure": "var_99", "limit": firm / 1.3, "figure": firm, "utilisation": 1.3, "status": "breach (incomplete)", "incomplete": caveat}
        for scope in ["firm", *names[:29]]
    ]
    # and limits near theirs and on an incomplete figure within them, long named: the tile's counts and most used come first
    others = [f"GLOBAL-MACRO-EMERGING-MARKETS-CREDIT-BOOK-{i:03d}" for i in range(6)]
    within = [(0.99, "incomplete", {"incomplete": caveat})] * 3 + [(0.95, "warning", {})] * 3
    night["limits"] += [
        {"scope": scope, "measure": "var_99", "limit": firm / used, "figure": firm, "utilisation": used, "status": status, **left_out}
        for scope, (used, status, left_out) in zip(others, within, strict=True)
    ]
    night["restatement"]["reason"] = "the desk corrected the quantities of every equity position of the book, typed in thousands " * 3
    return night


@pytest.mark.parametrize("portfolios", [5, 60])
def test_page_one_fixed_blocks_at_their_largest_keep_it_to_one_page_at_full_size(tonight: SimpleNamespace, tmp_path: Path, portfolios: int) -> None:
    """The warnings are budgeted in the room the fixed blocks leave (the tiles, the firm figures and their note, the limits
    table of at most five rows): those blocks at their largest still leave page one one page, drawn at full size, its
    Warnings heading on it, and the next page starts with the warnings it had no room for."""
    summary = worst_fixed_blocks(tonight.summary, portfolios)
    pdf = render_pdf(summary, tonight.firm_pnl)
    one, two = (flat(page) for page in page_texts(pdf, tmp_path)[:2])
    assert set(_page_one_scales(pdf)) <= {1.0}, sorted(set(_page_one_scales(pdf)))
    assert "Warnings" in one and "listed in full on page 2" in one and "Limits" in one
    assert two.startswith("Warnings, continued from page one"), two[:300]
    # the limits tile's word, then its counts and the most used limit before the (clipped) names: before, the names came first
    drawn = "".join(_page_texts(pdf)[0].replace("\\(", "(").replace("\\)", ")").split())  # a PDF string escapes its parentheses
    for words in ["LIMITS BREACHED (INCOMPLETE)", "above 100 % on an incomplete figure", "3 at 90 % or more", "the most used at 99 %"]:
        assert "".join(words.split()) in drawn, words

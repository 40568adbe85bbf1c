"""What the night's figures cover, said wherever a figure is read (riskbatch.reporting.coverage). One night:
every position of PF03 excluded (no figure), most of PF02's notional excluded (an unknown instrument type),
and an option of PF01 expiring on the business date. The firm row and the firm limits say they leave PF03
out, the limits tile counts it as incomplete (not near), the 08:00 e-mail names it and the partly excluded
portfolio, page one counts the expiry apart from the positions excluded for their data, and the e-mail's
backtest line names the days excluded with a sign-off."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from riskbatch.aws.layout import report_keys
from riskbatch.inputs.files import EXPIRES_TODAY
from riskbatch.inputs.quality import DataQualityPolicy
from riskbatch.jobs.ingestion import ingest
from riskbatch.jobs.queue_worker import QueueWorker, WorkerOptions
from riskbatch.jobs.report_generation import ReportGeneration
from riskbatch.jobs.risk_calculation import RiskCalculation
from riskbatch.model.settings import load_model_config
from riskbatch.reporting.coverage import firm_incomplete, limit_caveats, partly_excluded
from riskbatch.reporting.notice import notice_subject, notice_summary, notice_text
from riskbatch.reporting.page_one import LIMIT_STATUS, PAGE_ONE_LIMITS, limits_block, warning_lines
from riskbatch.reporting.pages import render_pdf
from riskbatch.reporting.tiles import limits_tile
from riskbatch.validation.exclusions import exclusion_record
from riskbatch.validation.limits import breach_streaks, utilisation
from test.jobs.jobs.test_pipeline import _page_texts
from test.jobs.stack_layout import mocked_night, small_night

DATE = "2026-11-25"
PDF, JSON = "s3://out/report.pdf", "s3://out/report.json"


def _edited(folder: Path) -> dict[str, int]:
    """PF03: every quantity NaN; PF02: every position but its first three of an unknown instrument type (their
    notional known); the options expiring on the business date moved to PF01; limits far above every figure."""
    lines = (folder / "positions.csv").read_text().splitlines()
    kept_pf02 = expiring = 0
    for number, line in enumerate(lines[1:], 1):
        cells = line.split(",")
        if cells[2] == "option" and cells[6] == DATE:
            cells[0], expiring = "PF01", expiring + 1
        elif cells[0] == "PF03":
            cells[4] = "nan"
        elif cells[0] == "PF02":
            kept_pf02 += 1
            if kept_pf02 > 3:
                cells[2] = "swap"
        lines[number] = ",".join(cells)
    (folder / "positions.csv").write_text("\n".join(lines) + "\n")
    limits = ("firm,var_99,1e12", "firm,es_975,1e12", "PF01,var_99,1e12", "PF02,var_99,1e12", "PF03,var_99,1e6")  # all well within
    (folder / "limits.csv").write_text("\n".join(["scope,measure,limit", *limits]) + "\n")
    return {"expiring": expiring}


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    tmp_path = tmp_path_factory.mktemp("coverage")
    with pytest.MonkeyPatch.context() as monkeypatch, mocked_night(tmp_path, monkeypatch, "1000", 500) as night:
        folder = small_night(tmp_path / "files", DATE)
        edits = _edited(folder)
        night.upload(folder, DATE, ("limits.csv",))  # the limits land first
        outcome = ingest(night.settings.input_bucket, night.upload(folder, DATE)[1], night.settings, night.s3, night.sqs, night.sns)
        assert outcome.status == "queued"
        options = WorkerOptions(wait_seconds=0, idle_exit_seconds=0)
        work = RiskCalculation(night.s3, night.events, night.settings.event_bus_name)
        QueueWorker(night.sqs, night.settings.risk_work_queue_url, work, night.settings.scratch, options).run()
        for message in night.messages(night.settings.report_queue_url):
            night.sqs.send_message(QueueUrl=night.settings.report_queue_url, MessageBody=json.dumps(message))
        report = ReportGeneration(night.s3, night.sns, None)
        QueueWorker(night.sqs, night.settings.report_queue_url, report, night.settings.scratch, options).run()
        pdf_key, json_key = report_keys(DATE, outcome.run_id)
        bucket = night.settings.output_bucket
        summary = json.loads(night.s3.get_object(Bucket=bucket, Key=json_key)["Body"].read())
        pdf = night.s3.get_object(Bucket=bucket, Key=pdf_key)["Body"].read()
        drawn = ["".join(page.replace("\\(", "(").replace("\\)", ")").split()) for page in _page_texts(pdf)]
        page_one, pages = drawn[0], "".join(drawn)  # a PDF string escapes its parentheses; lines wrap anywhere
        record = json.loads(night.s3.get_object(Bucket=bucket, Key=f"history/{DATE}.json")["Body"].read())
        return SimpleNamespace(summary=summary, page_one=page_one, pages=pages, record=record, **edits)


def _on_page_one(night: SimpleNamespace, words: str) -> bool:
    """Whether page one draws the words (compared without white space: its lines wrap anywhere)."""
    return "".join(words.split()) in night.page_one


def _limit(summary: dict, scope: str, measure: str = "var_99") -> dict:
    (row,) = [row for row in summary["limits"] if row["scope"] == scope and row["measure"] == measure]
    return row


def test_the_firm_row_and_the_firm_limits_say_they_leave_out_the_portfolio_without_a_figure(night: SimpleNamespace) -> None:
    summary = night.summary
    assert "PF03" in summary["portfolios_without_figures"] and "PF03" not in summary["portfolios"]
    assert summary["firm_excludes"].startswith("excludes PF03 (no figure: every position excluded, notional ")
    for measure in ("var_99", "es_975"):  # the firm's limits: a lower bound within its limit is not a plain ok
        firm = _limit(summary, "firm", measure)
        assert firm["figure"] is not None and firm["status"] in {"incomplete", "breach"} and firm["incomplete"].startswith(summary["firm_excludes"])
    assert _limit(summary, "PF01", "var_99")["status"] in {"incomplete", "breach"}  # a position of unknown notional excluded (the small night's NaN quantity)
    assert _on_page_one(night, "estimate (INCOMPLETE)") and _on_page_one(night, "The firm figures EXCLUDE PF03 (no figure: every position excluded")
    # the firm line names PF03, then any portfolio flagged partly excluded (the small night's NaN quantity flags PF01)
    (firm_line,) = [line for line in warning_lines(summary) if line.startswith("Firm figures and firm limits INCOMPLETE, ")]
    assert firm_line.startswith(f"Firm figures and firm limits INCOMPLETE, {summary['firm_excludes']}") and firm_line.endswith(": not the whole book.")


def test_the_limits_tile_counts_a_limit_without_a_whole_figure_as_incomplete_never_near(night: SimpleNamespace) -> None:
    summary = night.summary
    assert _limit(summary, "PF03")["status"] == "no figure: every position excluded"
    assert {row["status"] for row in summary["limits"]} == {"incomplete", "no figure: every position excluded"}  # none near, none breached
    assert _on_page_one(night, "LIMITS INCOMPLETE") and not _on_page_one(night, "LIMITS NEAR") and not _on_page_one(night, "LIMITS WITHIN")
    assert _on_page_one(night, "without a whole figure") and _on_page_one(night, "scopes: PF01, PF02, PF03, firm")


def test_the_email_names_the_portfolio_without_a_figure_and_the_limits_not_known_to_hold(night: SimpleNamespace) -> None:
    summary = night.summary
    text = notice_text(summary, PDF, JSON)
    assert f"  Firm figures and firm limits INCOMPLETE, {firm_incomplete(summary)}." in text and firm_incomplete(summary).startswith(summary["firm_excludes"])
    assert "Portfolio PF03 has NO FIGURE tonight (not a VaR of 0): the first reason: " + summary["portfolios_without_figures"]["PF03"]["first_reason"] in text
    assert "Limits not known to hold (5 of " in text and "  - PF03 VaR 99 %: no figure: every position excluded" in text
    used = f"{100 * _limit(summary, 'firm')['utilisation']:.0f} % of its limit"
    assert f"  - firm VaR 99 %: {used}, incomplete, {summary['firm_excludes']}; PF01 partly excluded (" in text
    assert f"(limits {len(summary['limits'])})" not in text and "none breached (" not in text  # never "none breached" over every limit
    assert "(INCOMPLETE: excludes PF03: no figure; PF01, PF02 partly excluded)" in notice_subject(summary)
    machines = notice_summary(summary, PDF, JSON)
    assert set(machines["portfolios_without_figures"]) == {"PF03"} and machines["limits_incomplete"] == 5


def test_a_portfolio_with_most_of_its_notional_excluded_is_flagged_on_its_row_its_limit_and_the_email(night: SimpleNamespace) -> None:
    summary, threshold = night.summary, load_model_config().data_quality["excluded_notional_share_flag"]
    flag = summary["portfolios_partly_excluded"]["PF02"]
    excluded = [r for r in summary["data_quality"]["excluded"] if r["portfolio_id"] == "PF02"]
    assert flag["excluded_notional"] == pytest.approx(sum(r["notional"] for r in excluded)) and flag["threshold"] == threshold
    assert flag["share"] == pytest.approx(flag["excluded_notional"] / flag["portfolio_notional"]) and flag["share"] > threshold
    # PF01: its expiries are not counted, its one excluded position of unknown notional is (its share cannot be shown under the flag)
    assert set(summary["portfolios_partly_excluded"]) == {"PF01", "PF02"} and "of unknown notional" in summary["portfolios_partly_excluded"]["PF01"]["text"]
    row = _limit(summary, "PF02")
    assert row["utilisation"] < 0.9 and row["status"] == "incomplete" and row["incomplete"] == flag["text"]
    assert flag["text"].startswith(f"its figure leaves out {100 * flag['share']:.0f} % of its notional")
    assert f"above the {100 * threshold:.0f} % flagged" in flag["text"]
    assert flag["text"].endswith(": the risk may be higher or lower") and "low" not in flag["text"].replace("lower", "")
    assert f"  - Portfolio PF02: {flag['text']}." in notice_text(summary, PDF, JSON)
    assert f"Portfolio PF02: {flag['text']} (see Limits)." in warning_lines(summary)
    assert "PF02(INCOMPLETE)" in night.pages and "PF03(NOFIGURE)" in night.pages  # their rows in the Portfolios table
    firm = _limit(summary, "firm")  # the firm's figure holds PF02's: the firm limit says so too
    assert firm["status"] == "incomplete" and f"PF02 partly excluded (its figure leaves out {100 * flag['share']:.0f} % of its notional" in firm["incomplete"]


def test_the_firm_limits_are_incomplete_when_a_portfolio_is_mostly_but_not_all_excluded() -> None:
    quality = {"excluded": [{"portfolio_id": "PF02", "position_id": str(i), "notional": 20.0, "reason": "unknown instrument type"} for i in range(3)]}
    flag = partly_excluded(quality, {"PF02": 40.0}, {"excluded_notional_share_flag": 0.25})["PF02"]
    caveats = limit_caveats({}, {"PF02": flag})
    assert caveats["PF02"] == flag["text"]
    assert flag["text"] == "its figure leaves out 60 % of its notional (3 positions), above the 25 % flagged: the risk may be higher or lower"
    assert caveats["firm"] == "PF02 partly excluded (its figure leaves out 60 % of its notional (3 positions), above the 25 % flagged)"
    assert "firm" not in limit_caveats({}, {})


def test_an_excluded_position_of_unknown_notional_flags_its_portfolio_whatever_the_known_share() -> None:
    share = load_model_config().data_quality["excluded_notional_share_flag"]
    quality = {"excluded": [{"portfolio_id": "A", "position_id": "1", "notional": None, "reason": "unknown instrument type"}]}
    (flag,) = partly_excluded(quality, {"A": 1_000.0}, {"excluded_notional_share_flag": share}).values()
    assert flag["excluded_notional_unknown"] == 1 and flag["share"] == 0.0
    # before: "at least 0% of its notional excluded ...: its figure is low"
    assert flag["text"] == "positions of unknown notional excluded (1 position), their share of its notional not known: the risk may be higher or lower"
    quality["excluded"].append({"portfolio_id": "A", "position_id": "2", "notional": 500.0, "reason": "unknown instrument type"})
    (flag,) = partly_excluded(quality, {"A": 1_000.0}, {"excluded_notional_share_flag": share}).values()
    assert flag["text"].startswith("its figure leaves out 33 % of its notional and 1 position of unknown notional (2 positions)")
    assert "firm" in limit_caveats({}, {"A": flag})


def test_the_flag_share_is_the_versioned_configurations_and_strictly_above_it() -> None:
    share = load_model_config().data_quality["excluded_notional_share_flag"]
    assert DataQualityPolicy(**load_model_config().data_quality).excluded_notional_share_flag == share
    quality = {"excluded": [{"portfolio_id": "A", "position_id": "1", "notional": 100.0 * share, "reason": "unknown instrument type"}]}
    assert partly_excluded(quality, {"A": 100.0 * (1 - share)}, {"excluded_notional_share_flag": share}) == {}  # at the share: not flagged
    quality["excluded"][0]["notional"] = 100.0 * share + 1.0
    assert set(partly_excluded(quality, {"A": 100.0 * (1 - share)}, {"excluded_notional_share_flag": share})) == {"A"}


def test_an_option_expiring_today_is_counted_apart_from_the_positions_excluded_for_their_data(night: SimpleNamespace) -> None:
    summary, quality = night.summary, night.summary["data_quality"]
    expiring = [r for r in quality["excluded"] if r["reason"].startswith(EXPIRES_TODAY)]
    assert len(expiring) == night.expiring >= 1 and all(r["portfolio_id"] == "PF01" for r in expiring)
    problems = quality["excluded_positions"] - len(expiring)
    lines = warning_lines(summary)
    assert any(line.startswith(f"{problems:,} positions excluded, notional ") for line in lines)
    assert f"{night.expiring} option{'s' if night.expiring > 1 else ''} expired today, not revalued" in " ".join(lines)
    assert f"{quality['excluded_positions']:,} positions excluded" not in " ".join(lines)
    text = notice_text(summary, PDF, JSON)
    assert f"Data quality: {problems:,} positions excluded" in text and f"Expiries: {night.expiring} option" in text
    assert _on_page_one(night, f"{problems:,} positions excluded") and _on_page_one(night, "expired today, not revalued")


def test_the_night_record_names_the_portfolios_without_a_figure(night: SimpleNamespace) -> None:
    assert night.record["without_figures"] == ["PF03"] and "PF03" not in night.record["var"]["portfolios"]


def test_the_emails_backtest_line_names_the_days_excluded_with_a_sign_off(night: SimpleNamespace) -> None:
    signed = exclusion_record(dt.date(2026, 11, 20), "J. Smith, head of market risk", "exchange outage, no close", dt.datetime(2026, 11, 24, 9, tzinfo=dt.UTC))
    summary = {**night.summary, "backtest": {**night.summary["backtest"], "excluded": [{**signed, "var_date": "2026-11-20"}]}}
    (line,) = [line for line in notice_text(summary, PDF, JSON).splitlines() if line.startswith("Backtest:")]
    assert "1 day excluded with a sign-off: 2026-11-20 signed off by J. Smith, head of market risk on 2026-11-24T09:00:00Z: exchange outage, no close" in line



def _limit_rows(count: int) -> list[dict]:
    """An incomplete firm limit 98 % used, a warning, and `count` plain ok limits more used than nothing."""
    firm = {"scope": "firm", "measure": "var_99", "limit": 100.0, "figure": 98.0, "utilisation": 0.98, "status": "incomplete"}
    firm["incomplete"] = "PF02 partly excluded"
    near = {"scope": "PF09", "measure": "var_99", "limit": 100.0, "figure": 95.0, "utilisation": 0.95, "status": "warning"}
    ok = [{"scope": f"PF{i:02d}", "measure": "es_975", "limit": 100.0, "figure": 80.0 - i, "status": "ok"} for i in range(count)]
    ok = [{**row, "utilisation": row["figure"] / row["limit"]} for row in ok]
    return [*ok, near, firm]


def test_an_incomplete_limit_is_listed_right_after_the_breaches_and_its_utilisation_named() -> None:
    """Before, page one sorted breach, warning, ok, then incomplete: a 98 % used incomplete firm limit fell
    under '... and 2 more limits, the least used'."""
    rows = _limit_rows(PAGE_ONE_LIMITS)
    breach = {"scope": "PF08", "measure": "var_99", "limit": 100.0, "figure": 120.0, "utilisation": 1.2, "status": "breach"}
    kit = {"styles": {"Heading2": None, "Normal": None}, "Paragraph": lambda text, style: text, "cell": None,
           "table": lambda rows, *_, **__: rows, "KeepTogether": lambda flowable: flowable}  # fmt: skip
    summary = {"limits": [*rows, breach], "reporting_currency": "USD", "limits_source": {}}
    page_one, everything = limits_block(summary, kit)
    table = page_one[1]
    assert [row[0] for row in table[1:4]] == ["PF08", "firm", "PF09"] and len(table) == PAGE_ONE_LIMITS + 1  # breach, incomplete, warning
    assert everything and page_one[2].startswith(f"... and {len(rows) + 1 - PAGE_ONE_LIMITS} more limits")
    state, word, detail = limits_tile(rows, {})
    assert (state, word) == ("warning", "LIMITS INCOMPLETE") and "the most used at 98 %: firm VaR 99 %" in detail


def test_the_firm_row_email_and_subject_say_incomplete_when_a_portfolio_is_only_partly_excluded(night: SimpleNamespace) -> None:
    """Before, only a portfolio without a figure made them say INCOMPLETE, while the firm limits already read incomplete."""
    summary = {**night.summary, "portfolios_without_figures": {}, "firm_excludes": None}  # PF01 and PF02 flagged partly excluded, none without a figure
    caveat = firm_incomplete(summary)
    assert caveat.startswith("PF01 partly excluded (") and "; PF02 partly excluded (its figure leaves out " in caveat
    assert f"  Firm figures and firm limits INCOMPLETE, {caveat}." in notice_text(summary, PDF, JSON)
    assert "(INCOMPLETE: PF01, PF02 partly excluded)" in notice_subject(summary)
    scenarios = np.random.default_rng(11).normal(size=summary["scenarios"])  # the P&L histogram's input: page one's text does not read it
    page_one = "".join(_page_texts(render_pdf(summary, scenarios))[0].replace("\\(", "(").replace("\\)", ")").split())
    assert "estimate(INCOMPLETE)" in page_one and "ThefirmfiguresareINCOMPLETE:PF01partlyexcluded(" in page_one
    assert firm_incomplete({**summary, "portfolios_partly_excluded": {}}) is None


def test_a_breach_on_an_incomplete_figure_shows_apart_in_the_limits_table_the_tile_and_the_email(night: SimpleNamespace) -> None:
    """Before, a figure leaving most of PF02 out read as a plain breach, as certain as any: what it leaves out may be its hedge."""
    summary = night.summary
    flag = summary["portfolios_partly_excluded"]["PF02"]
    limit = [{"scope": "PF02", "measure": "var_99", "limit": summary["portfolios"]["PF02"]["var_99"] / 2}]
    rows = breach_streaks(utilisation(limit, summary["firm"], summary["portfolios"], (), limit_caveats({}, {"PF02": flag})), [])
    assert rows[0]["status"] == "breach (incomplete)"
    state, word, detail = limits_tile(rows, {})
    assert (state, word) == ("breach", "LIMITS BREACHED (INCOMPLETE)") and detail.startswith("1 of 1 above 100 % on an incomplete figure")
    text = notice_text({**summary, "limits": rows}, PDF, JSON)
    assert "Limits: 1 of 1 BREACHED (1 of them on an incomplete figure: breach (incomplete)):" in text
    assert "  - PF02 VaR 99 %: " in text and " (200 %), breach (incomplete)" in text
    kit = {"styles": {"Heading2": None, "Normal": None}, "Paragraph": lambda text, style: text, "cell": None,
           "table": lambda rows, *_, **__: rows, "KeepTogether": lambda flowable: flowable}  # fmt: skip
    (row,) = limits_block({"limits": rows, "reporting_currency": "USD", "limits_source": {}}, kit)[0][1][1:]
    assert row[5] == "breach (incomplete)" and row[6].startswith("new tonight, on an incomplete figure; its figure leaves out ")
    # and page one: coloured as a breach in the limits table, and named among the warnings, first (a plain "breach" only, before)
    assert LIMIT_STATUS[row[5]] == "breach"
    assert warning_lines({**summary, "limits": rows})[0].startswith("1 limit breach: PF02 VaR 99 %")


def test_the_firm_caveat_never_nests_a_portfolio_caveat_its_flag_text_already_holds() -> None:
    """Before, the firm caveat wrapped the flag's text as it was: a text that held the caveat read 'PF02 partly excluded (PF02 partly excluded (...'."""
    quality = {"excluded": [{"portfolio_id": "PF02", "position_id": str(i), "notional": 20.0, "reason": "unknown instrument type"} for i in range(3)]}
    flag = partly_excluded(quality, {"PF02": 40.0}, {"excluded_notional_share_flag": 0.25})["PF02"]
    plain = limit_caveats({}, {"PF02": flag})["firm"]
    assert plain.startswith("PF02 partly excluded (its figure leaves out ")
    wrapped = {**flag, "text": f"{plain}: {flag['text'].rpartition(': ')[2]}"}  # the flag's text starting with the portfolio's caveat
    assert limit_caveats({}, {"PF02": wrapped})["firm"] == plain
    # a flag without its parts (an earlier release's record) is read from its text, any caveat it holds taken off
    for text in (wrapped["text"], f"partly excluded ({plain})", flag["text"]):
        assert limit_caveats({}, {"PF02": {"text": text}})["firm"] == plain


def test_the_firm_caveat_names_a_bounded_number_of_portfolios_and_counts_the_others() -> None:
    """It stands beside every firm limit, in the notice and on page one: before, it named every portfolio (60 named here)."""
    from riskbatch.reporting.coverage import FIRM_NAMED

    names = [f"BOOK-{i:03d}" for i in range(2 * FIRM_NAMED + 7)]
    lost = {"excluded_positions": 2, "excluded_notional": 10.0, "excluded_notional_currency": "USD", "excluded_notional_unknown": 0}
    unvalued = {name: lost for name in names[: FIRM_NAMED + 3]}
    quality = {"excluded": [{"portfolio_id": name, "position_id": name, "notional": 60.0, "reason": "no last price"} for name in names[FIRM_NAMED + 3 :]]}
    partial = partly_excluded(quality, dict.fromkeys(names[FIRM_NAMED + 3 :], 40.0), {})
    caveat = limit_caveats(unvalued, partial)["firm"]
    named = [name for name in names if f"{name} (" in caveat or f"{name} partly excluded (" in caveat]
    assert named == [*names[:FIRM_NAMED], *names[FIRM_NAMED + 3 : 2 * FIRM_NAMED + 3]]
    assert ", and 3 more portfolios without a figure (see Data quality)" in caveat
    assert caveat.endswith(f"; {len(partial) - FIRM_NAMED} more portfolios partly excluded (see Data quality)")

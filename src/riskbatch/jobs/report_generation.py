"""report-generation: firm-wide and per-portfolio VaR and ES from the run's summed P&L, as PDF and JSON.

The job: it reads the units' results (riskbatch.reporting.results), computes the figures
(riskbatch.reporting.figures), keeps the history record and its restatement, renders the PDF
(riskbatch.reporting.page_one, riskbatch.reporting.pages), publishes it and sends the notice."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Any

from riskbatch import __version__
from riskbatch.aws.alerts import publish_per_protocol
from riskbatch.aws.layout import notified_key, report_keys
from riskbatch.aws.runs import manifest_of
from riskbatch.aws.storage import exists, get_json, put_json_once, put_once
from riskbatch.jobs.no_figure_night import no_figure_summary
from riskbatch.model.code_fingerprint import require_night_code
from riskbatch.model.risk_model import risk_figures
from riskbatch.model.run_inputs import RunBook, load_file_market, load_run_book
from riskbatch.reporting.charts import var_trend
from riskbatch.reporting.coverage import firm_excludes, limit_caveats, partly_excluded, valued_notional
from riskbatch.reporting.deadline import DEADLINE, publication
from riskbatch.reporting.figures import es_breakdown, portfolios_without_figures, shrinkage_effect
from riskbatch.reporting.no_figure import render_no_figure_pdf
from riskbatch.reporting.notice import notice_subject, notice_summary, notice_text
from riskbatch.reporting.pages import render_pdf
from riskbatch.reporting.results import UnitResults, read_results, stress_history
from riskbatch.reporting.summary_fields import night_summary
from riskbatch.runtime.logs import log, timed
from riskbatch.validation.challengers import challenger_figures
from riskbatch.validation.exclusions import load_exclusions
from riskbatch.validation.explain import explain_var_change
from riskbatch.validation.history import (
    backtest_entry,
    figures_of,
    night_record,
    no_figure_entry,
    one_day_figures,
    previous_record,
    records_before,
)
from riskbatch.validation.limits import BREACH_INCOMPLETE, utilisation
from riskbatch.validation.restatement import record_night, restated_subject, restatement_line


class Laps:
    """Seconds since the previous lap, by name: lap("pdf rendered")."""

    def __init__(self, started: float) -> None:
        self.last, self.seconds = started, {}

    def __call__(self, name: str) -> None:
        now = time.time()
        self.seconds[name] = round(now - self.last, 2)
        self.last = now


class ReportGeneration:
    def __init__(
        self,
        s3: Any,
        sns: Any,
        topic_arn: str | None,
        deadline: str = DEADLINE,
        clock: Callable[[], float] = time.time,
        replay_shift: float = 0.0,
    ) -> None:
        self.s3 = s3
        self.sns = sns
        self.topic_arn = topic_arn
        self.deadline = deadline  # HH:MM New York, on the business day after the business date
        self.clock = clock  # the publication time page one and the notification state
        # Seconds added to the clock's publication time when a past night is replayed (make demo runs the
        # latest business date today): the report states it as published in that night's window and says
        # so, with the real time, on page one and in its audit trail. 0 for every real night.
        self.replay_shift = replay_shift

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
        manifest = manifest_of(self.s3, bucket, previous["run_id"])
        if manifest is None:
            log("previous_run_not_found", run_id=previous["run_id"], business_date=previous["business_date"])
        return previous, manifest

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
        require_night_code(manifest, "the report")  # figures summed and published by the build that ingested them, or none
        started = time.time()
        if not manifest["positions"]:  # every row of the positions file refused: no figure and the reasons, never a VaR of 0
            self._publish_without_figure(bucket, manifest, pdf_key, json_key, started)
            return
        with timed("report_generated", run_id=run) as timing:
            lap = Laps(started)  # where the report's time goes, in its log line
            results = read_results(self.s3, bucket, manifest)
            lap("results read")
            portfolios, pnl = results.portfolios, results.pnl
            firm_pnl = pnl.sum(axis=0)
            per_portfolio = {name: risk_figures(row) for name, row in zip(portfolios, pnl, strict=True)}
            unvalued = portfolios_without_figures(manifest["data_quality"], portfolios)  # every position excluded: no figure, the reason
            lap("figures and intervals")
            run_book = load_run_book(self.s3, bucket, manifest)
            lap("book loaded")
            partial = partly_excluded(manifest["data_quality"], valued_notional(run_book), manifest.get("data_quality_policy") or {})
            caveats = limit_caveats(unvalued, partial)  # by limit scope: why its figure leaves part of it out
            breakdown = es_breakdown(run_book, firm_pnl)
            lap("ES breakdown")
            top = breakdown["largest"]
            period = (manifest.get("model_config") or {}).get("stress_period")
            stress_market = stress_history(self.s3, bucket, manifest) if period else None
            dq = manifest.get("data_quality_policy") or {}
            nightly = load_file_market(self.s3, bucket, manifest) if stress_market is not None else None  # a proxy's beta: the file's every factor
            challengers = challenger_figures(
                run_book.book, run_book.market, run_book.parameters, stress_market, period, dq.get("proxies"), int(dq.get("max_gap_days", 3)), nightly
            )
            lap("challengers")
            date, firm_figures = manifest["business_date"], risk_figures(firm_pnl)
            previous, previous_manifest = self._previous_night(bucket, date)
            backtest = change = None
            if previous is not None and previous.get("no_figure"):  # that night's book was refused whole: no VaR to test or explain
                backtest = no_figure_entry(previous)
            elif previous is not None and previous_manifest is not None:
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
                without_figures=list(unvalued),
                incomplete_scopes=list(caveats),
            )
            earlier = records_before(self.s3, bucket, manifest["business_date"])
            summary = night_summary(
                manifest,
                started,
                software_version=__version__,
                builds=results.builds,
                limits=utilisation(manifest.get("limits", []), firm_figures, per_portfolio, set(unvalued), caveats),
                earlier=earlier,
                record=record,
                exclusions=load_exclusions(self.s3, bucket),
                figures={
                    "firm": firm_figures,  # computed once: its ES interval resamples the tail
                    "portfolios": per_portfolio,
                    "portfolios_without_figures": unvalued,
                    "firm_excludes": firm_excludes(unvalued),  # what the firm figure leaves out, in words (None: the whole book)
                    "portfolios_partly_excluded": partial,
                    "sum_of_portfolio_var_99": float(sum(v["var_99"] for v in per_portfolio.values())),
                },
                breakdown={"contributions": top, "es_breakdown": breakdown},
                analysis={
                    "var_trend": var_trend([*earlier, record], run_book.parameters.horizon_days, manifest["model"]["reporting_currency"]),
                    "var_change": change,
                    "var_change_unexplained": self._unexplained(previous, previous_manifest, firm_figures),
                    "challengers": challengers,
                    "risk_model": {**run_book.model.describe(), "shrinkage_effect_on_var": shrinkage_effect(run_book)},
                },
            )
            if should_abort():
                raise RuntimeError("stopping before publishing")
            summary["timings"]["report seconds"] = f"{time.time() - started:.1f}"
            # the PDF is written within seconds of this moment: its publication time, against the deadline
            summary["publication"] = self._publication(manifest["business_date"])
            # once per business date: a re-run keeps it, a later run of the date supersedes it (both kept)
            summary["restatement"] = record_night(self.s3, bucket, record, manifest)
            for row in summary["limits"]:
                if row["status"] in ("breach", BREACH_INCOMPLETE):  # one line each: the LimitBreaches metric filter counts them
                    breach = {"scope": row["scope"], "measure": row["measure"], "figure": row["figure"], "limit": row["limit"]}
                    log("limit_breach", run_id=run, **breach, incomplete=row["status"] == BREACH_INCOMPLETE)
            lap("history and summary")
            pdf = render_pdf(summary, firm_pnl)
            lap("pdf rendered")
            put_once(self.s3, bucket, pdf_key, pdf, "application/pdf")
            put_once(self.s3, bucket, json_key, json.dumps(summary, indent=2).encode(), "application/json")
            lap("written")
            timing.update(portfolios=len(portfolios), pdf=pdf_key, seconds=lap.seconds)
        if self.topic_arn:
            self._notify(bucket, run, manifest, summary, pdf_key, json_key)

    def _publication(self, business_date: str) -> dict[str, Any]:
        made = self.clock()
        stamp = publication(business_date, dt.datetime.fromtimestamp(made + self.replay_shift, dt.UTC), self.deadline)
        if self.replay_shift:
            made_at = dt.datetime.fromtimestamp(made, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            stamp["replayed"] = {"made_at": made_at, "shift_seconds": self.replay_shift}
        return stamp

    def _publish_without_figure(self, bucket: str, manifest: dict[str, Any], pdf_key: str, json_key: str, started: float) -> None:
        """A night whose every position was refused: the report of no figure (riskbatch.jobs.no_figure_night). Its log line
        names no VaR and no limit breach (the metric filters count report_generated and limit_breach): nothing reads as 0."""
        run = manifest["run_id"]
        with timed("report_generated", run_id=run, firm="no figure", pdf=pdf_key):
            previous = self._previous_night(bucket, manifest["business_date"])
            summary, record = no_figure_summary(self.s3, bucket, manifest, *previous, started)
            summary["publication"] = self._publication(manifest["business_date"])
            summary["restatement"] = record_night(self.s3, bucket, record, manifest)
            put_once(self.s3, bucket, pdf_key, render_no_figure_pdf(summary), "application/pdf")
            put_once(self.s3, bucket, json_key, json.dumps(summary, indent=2).encode(), "application/json")
        if self.topic_arn:
            self._notify(bucket, run, manifest, summary, pdf_key, json_key)

    @staticmethod
    def _unexplained(previous: dict[str, Any] | None, previous_manifest: dict[str, Any] | None, firm: dict[str, Any]) -> dict[str, Any] | None:
        """Why the change since the previous night is not explained, with the change itself from the
        history's figures (None: it is explained, or there is no earlier night at all). A previous night of no figure
        (every position refused) has no VaR to compare with: said as such, never as no earlier night."""
        if previous is not None and previous.get("no_figure"):
            date = previous["business_date"]
            return {"var_date": date, "no_figure": True, "reason": f"{date} published no figure (every position refused)"}
        if previous is None or previous_manifest is not None or not previous.get("var"):
            return None
        yesterday = previous["var"]["firm"]["var_99"]
        return {
            "var_date": previous["business_date"],
            "yesterday": yesterday,
            "change": firm["var_99"] - yesterday,
            "reason": f"the run of {previous['business_date']} ({previous['run_id']}) is not in this bucket, only its figures in the history",
        }

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

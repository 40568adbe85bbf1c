"""riskbatch watch: the deadline check. Before 09:30 New York, is tonight's report there?

Run by a schedule at 08:30 New York on weekdays. The schedule's cron knows weekdays only, so the
job decides by the exchange calendar (riskbatch.inputs.business_days, the risk model's own): on a weekday
the exchange does not open (Thanksgiving, Good Friday) no report is due that morning and the check
is quiet; the report of the business day before is due at the next open, and that morning's check
wants it. The business date due is the business day before today (Monday's check wants Friday's
report, the Friday after Thanksgiving Wednesday's); a date that is not a business day has no night
and no report, and is never paged for. When the report is there the check is quiet; when
it is not, it tells the alert topic how far the night got, read from what the jobs leave behind:

- the input files under incoming/<date>/ (arrived or not);
- quarantine reports under quarantine/<date>/ (a file rejected, rows excluded);
- a corporate_actions.csv that landed after the night read its inputs (riskbatch.operations.late_inputs):
  named in the alert, and told in an alert of its own when the report is there (published without it);
- the run's manifest (ingested), its unit results (done / total), its completion marks;
- the depth of the risk and report queues (work waiting or in hand).

It also stops the night's one-shot tasks that outlived their deadline (ONE_SHOT_DEADLINES: task
definition family = seconds). ECS acts on container health only for services' tasks: a hung
standalone task (an ingestion, a pre-night check) runs until something stops it. Each of those
jobs ends itself at its deadline (riskbatch.runtime.watchdog); this is the second line, for a task whose
own watchdog could not run (a frozen process). StopTask gives it a reason the task events keep.

A report of no figure (every position refused: the firm has no VaR that night) is paged as a missing one is.

Exit code 0 when the report is there with its figures, 1 when it is not or has no figure (after alerting).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from riskbatch.aws.alerts import publish_alert
from riskbatch.aws.runs import manifests_of_date
from riskbatch.aws.storage import count_keys, exists
from riskbatch.inputs.business_days import EXCHANGE, NEW_YORK, REPORT_DEADLINE, is_business_day, previous_business_day, report_due_at
from riskbatch.operations.late_inputs import landed_after_ingestion


def business_date_due(now: dt.datetime) -> dt.date:
    """The business day before `now`'s New York date: the night whose report is due this morning."""
    return previous_business_day(now.astimezone(NEW_YORK).date())


def no_report_due(business_date: dt.date | None, now: dt.datetime) -> str | None:
    """Why this check expects no report (None when one is due): the date asked for is not a business
    day, or (no date asked for) the exchange does not open this morning."""
    if business_date is not None:
        return None if is_business_day(business_date) else f"{business_date} is not an {EXCHANGE} business day: no night, no report is due"
    today = now.astimezone(NEW_YORK).date()
    if is_business_day(today):
        return None
    waiting = previous_business_day(today)
    return f"the {EXCHANGE} does not open on {today}: the report of {waiting} is due at the next open, {report_due_at(waiting):%Y-%m-%d %H:%M} New York"


@dataclass
class Progress:
    business_date: str
    report: str | None = None
    inputs: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    run: str | None = None
    ingested_at: str | None = None
    units_total: int = 0
    units_done: int = 0
    completed: bool = False
    announced: bool = False
    queues: dict[str, dict[str, int]] = field(default_factory=dict)
    stopped_tasks: list[dict[str, str]] = field(default_factory=list)
    not_due: str | None = None  # why no report is due (riskbatch.operations.watch.no_report_due)
    late_inputs: list[str] = field(default_factory=list)  # files landed after the night read its inputs, not applied
    no_figure: str | None = None  # the run in force published no figure (every position refused)

    def stage(self) -> str:
        """Where the night stopped, in one phrase."""
        if self.not_due:
            return self.not_due
        if self.report and self.no_figure:
            return f"the report is published with NO FIGURE: {self.no_figure}"
        if self.report:
            return "the report is published"
        if not self.inputs:
            return "no input file has arrived"
        if not self.run:
            return "the files arrived but no run was made" + (" (a file was rejected)" if self.quarantined else "")
        if self.units_done < self.units_total:
            return f"risk calculation: {self.units_done} of {self.units_total} units done"
        if not self.announced:
            return "every unit is done but the run's completion was not announced"
        return "the run is complete; the report has not been written"


def _items(s3: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    return [item for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix) for item in page.get("Contents", [])]


def _keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    return [item["Key"] for item in _items(s3, bucket, prefix)]


def one_shot_deadlines(settings: dict[str, str]) -> dict[str, float]:
    """ONE_SHOT_DEADLINES ("family=seconds,..."): the task definition families the check may stop, each with its deadline."""
    found = {}
    for item in filter(None, (part.strip() for part in settings.get("ONE_SHOT_DEADLINES", "").split(","))):
        family, _, seconds = item.partition("=")
        try:
            found[family.strip()] = float(seconds)
        except ValueError:
            raise ValueError(f"ONE_SHOT_DEADLINES: {item!r} is not family=seconds") from None
    return found


def stop_overdue_tasks(ecs: Any, settings: dict[str, str], now: dt.datetime) -> list[dict[str, str]]:
    """StopTask on every running task of the one-shot families older than its deadline; what was stopped."""
    cluster, deadlines = settings.get("CLUSTER"), one_shot_deadlines(settings)
    if not cluster or not deadlines:
        return []
    stopped = []
    for family, seconds in sorted(deadlines.items()):
        pages = ecs.get_paginator("list_tasks").paginate(cluster=cluster, family=family, desiredStatus="RUNNING")
        arns = [arn for page in pages for arn in page.get("taskArns", [])]
        for batch in (arns[start : start + 100] for start in range(0, len(arns), 100)):  # DescribeTasks takes 100 at most
            for task in ecs.describe_tasks(cluster=cluster, tasks=batch).get("tasks", []):
                started = task.get("startedAt") or task.get("createdAt")
                if task.get("lastStatus") == "STOPPED" or started is None:
                    continue
                age = (now - started).total_seconds()
                if age <= seconds:
                    continue
                reason = f"deadline check: {family} ran {age / 60:.0f} min, past its {seconds / 60:.0f} min deadline"
                ecs.stop_task(cluster=cluster, task=task["taskArn"], reason=reason[:255])
                stopped.append({"task": task["taskArn"], "family": family, "reason": reason})
    return stopped


def read_progress(s3: Any, sqs: Any, settings: dict[str, str], business_date: dt.date) -> Progress:
    date, output = business_date.isoformat(), settings["OUTPUT_BUCKET"]
    progress = Progress(date)
    reports = [key for key in _keys(s3, output, f"reports/{date}/") if key.endswith(".pdf")]
    progress.report = reports[-1] if reports else None
    listed = _items(s3, settings["INPUT_BUCKET"], f"{settings.get('INPUT_PREFIX', 'incoming/')}{date}/") if settings.get("INPUT_BUCKET") else []
    progress.inputs = [item["Key"].rsplit("/", 1)[-1] for item in listed]
    progress.quarantined = [key.rsplit("/", 1)[-1] for key in _keys(s3, output, f"quarantine/{date}/")]
    runs = manifests_of_date(s3, output, date)  # oldest first
    # every run of the date refused every position: the report in is one of no figure (read from the runs' manifests,
    # which the check's role may read; a run with positions publishes figures, and no figure never replaces them)
    if progress.report and runs and not any(item.get("positions", True) for item in runs):  # an older manifest: figures
        latest = runs[-1]["run_id"]
        progress.no_figure = f"run {latest} refused every position, the firm has no VaR for {date}"
    if runs:
        manifest = runs[-1]  # the latest run of the date
        run = manifest["run_id"]
        progress.run, progress.ingested_at, progress.units_total = run, manifest["created_at"], len(manifest["units"])
        progress.units_done = count_keys(s3, output, f"runs/{run}/results/")
        progress.completed = exists(s3, output, f"runs/{run}/status/completed.json")
        progress.announced = exists(s3, output, f"runs/{run}/status/announced.json")
        progress.late_inputs = landed_after_ingestion(listed, manifest, date, settings.get("STACK_NAME", "<stack>"))
    for name in ("RISK_WORK_QUEUE_URL", "REPORT_QUEUE_URL"):
        if settings.get(name):
            attributes = sqs.get_queue_attributes(
                QueueUrl=settings[name], AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            )["Attributes"]
            progress.queues[name.removesuffix("_URL").lower()] = {key: int(value) for key, value in attributes.items()}
    return progress


def alert_message(progress: Progress, environment: str, deadline: str) -> tuple[str, str]:
    """(subject, body) of the alert: what is missing and how far the night got."""
    subject = f"Risk batch {environment}: no report for {progress.business_date} before {deadline} New York"
    missing = f"There is no risk report for business date {progress.business_date} yet; it is due by {deadline} New York."
    if progress.no_figure:  # published, but without a figure: the firm has no VaR for the date
        subject = f"Risk batch {environment}: NO FIGURE for {progress.business_date} (every position refused)"
        missing = f"The risk report for business date {progress.business_date} has NO FIGURE: {progress.no_figure}."
    lines = [
        missing,
        f"The night stopped at: {progress.stage()}.",
        "",
        f"- input files: {', '.join(progress.inputs) or 'none'}",
        f"- quarantine: {', '.join(progress.quarantined) or 'nothing'}",
        f"- run: {progress.run or 'none'}" + (f", ingested at {progress.ingested_at}" if progress.ingested_at else ""),
        f"- units done: {progress.units_done} of {progress.units_total}",
        f"- completion: {'announced' if progress.announced else 'marked' if progress.completed else 'not yet'}",
    ]
    for queue, depth in progress.queues.items():
        lines.append(f"- {queue}: {depth.get('ApproximateNumberOfMessages', 0)} waiting, {depth.get('ApproximateNumberOfMessagesNotVisible', 0)} in hand")
    lines += [f"- landed late: {line}" for line in progress.late_inputs]
    for task in progress.stopped_tasks:
        lines.append(f"- stopped {task['task']}: {task['reason']}" if task["family"] else f"- {task['reason']}")
    lines += ["", "Runbook: docs/runbook.md, 'A night that did not publish'.", "", json.dumps(asdict(progress), indent=2)]
    return subject[:100], "\n".join(lines)


def check_deadline(
    s3: Any, sqs: Any, sns: Any, settings: dict[str, str], business_date: dt.date | None, ecs: Any = None, now: dt.datetime | None = None
) -> tuple[int, Progress]:
    """Stop the one-shot tasks past their deadline; quiet (0) when no report is due (by the exchange
    calendar) or it is there, otherwise alert the topic and return 1. `business_date` None: the
    report due on `now`'s New York morning."""
    now = now or dt.datetime.now(dt.UTC)
    try:
        stopped = stop_overdue_tasks(ecs, settings, now) if ecs is not None else []
    except Exception as error:  # the alert matters more: it still goes out, and says what could not be done
        stopped = [{"task": "(none)", "family": "", "reason": f"could not list or stop the overdue tasks: {type(error).__name__}: {error}"}]
    not_due = no_report_due(business_date, now)
    business_date = business_date or business_date_due(now)
    if not_due:  # no market opens on the date's report this morning: nothing to page about (overdue tasks are still stopped)
        return 0, Progress(business_date.isoformat(), stopped_tasks=stopped, not_due=not_due)
    progress = read_progress(s3, sqs, settings, business_date)
    progress.stopped_tasks = stopped
    if progress.report and not progress.no_figure:
        if progress.late_inputs and settings.get("ALERT_TOPIC_ARN"):  # published without a file that landed too late: the operator decides on a rerun
            subject = f"Risk batch {settings.get('RISKBATCH_ENVIRONMENT', '?')}: {progress.business_date} published without a file that landed late"
            body = [f"The report {progress.report} is published; a file landed after the night read its inputs:", *progress.late_inputs]
            publish_alert(sns, settings["ALERT_TOPIC_ARN"], subject[:100], "\n".join(body))
        return 0, progress
    subject, body = alert_message(progress, settings.get("RISKBATCH_ENVIRONMENT", "?"), settings.get("REPORT_DEADLINE", REPORT_DEADLINE))
    if settings.get("ALERT_TOPIC_ARN"):
        publish_alert(sns, settings["ALERT_TOPIC_ARN"], subject, body)
    return 1, progress

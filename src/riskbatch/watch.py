"""riskbatch watch: the deadline check. Before 09:30 New York, is tonight's report there?

Run by a schedule at 08:30 New York on weekdays. The business date due is the business day
before today on the exchange calendar (riskbatch.business_days: Monday's check wants Friday's
report, the Friday after Thanksgiving Wednesday's). When the report is there the check is quiet; when
it is not, it tells the alert topic how far the night got, read from what the jobs leave behind:

- the input files under incoming/<date>/ (arrived or not);
- quarantine reports under quarantine/<date>/ (a file rejected, rows excluded);
- the run's manifest (ingested), its unit results (done / total), its completion marks;
- the depth of the risk and report queues (work waiting or in hand).

Exit code 0 when the report is there, 1 when it is not (after alerting).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from .business_days import previous_business_day
from .storage import count_keys, exists, get_json

NEW_YORK = ZoneInfo("America/New_York")


def business_date_due(now: dt.datetime) -> dt.date:
    """The business day before `now`'s New York date: the night whose report is due this morning."""
    return previous_business_day(now.astimezone(NEW_YORK).date())


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

    def stage(self) -> str:
        """Where the night stopped, in one phrase."""
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


def _folders(s3: Any, bucket: str, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/")
    return [common["Prefix"] for page in pages for common in page.get("CommonPrefixes", [])]


def _keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    return [item["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix) for item in page.get("Contents", [])]


def read_progress(s3: Any, sqs: Any, settings: dict[str, str], business_date: dt.date) -> Progress:
    date, output = business_date.isoformat(), settings["OUTPUT_BUCKET"]
    progress = Progress(date)
    reports = [key for key in _keys(s3, output, f"reports/{date}/") if key.endswith(".pdf")]
    progress.report = reports[-1] if reports else None
    if settings.get("INPUT_BUCKET"):
        prefix = f"{settings.get('INPUT_PREFIX', 'incoming/')}{date}/"
        progress.inputs = [key.rsplit("/", 1)[-1] for key in _keys(s3, settings["INPUT_BUCKET"], prefix)]
    progress.quarantined = [key.rsplit("/", 1)[-1] for key in _keys(s3, output, f"quarantine/{date}/")]
    runs = []
    for folder in _folders(s3, output, f"runs/{date}-"):
        if exists(s3, output, f"{folder}manifest.json"):
            runs.append(get_json(s3, output, f"{folder}manifest.json"))
    if runs:
        manifest = max(runs, key=lambda item: item["created_at"])  # the latest run of the date
        run = manifest["run_id"]
        progress.run, progress.ingested_at, progress.units_total = run, manifest["created_at"], len(manifest["units"])
        progress.units_done = count_keys(s3, output, f"runs/{run}/results/")
        progress.completed = exists(s3, output, f"runs/{run}/status/completed.json")
        progress.announced = exists(s3, output, f"runs/{run}/status/announced.json")
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
    lines = [
        f"There is no risk report for business date {progress.business_date} yet; it is due by {deadline} New York.",
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
    lines += ["", "Runbook: docs/runbook.md, 'A night that did not publish'.", "", json.dumps(asdict(progress), indent=2)]
    return subject[:100], "\n".join(lines)


def check_deadline(s3: Any, sqs: Any, sns: Any, settings: dict[str, str], business_date: dt.date) -> tuple[int, Progress]:
    """Quiet (0) when the report is there; otherwise alert the topic and return 1."""
    progress = read_progress(s3, sqs, settings, business_date)
    if progress.report:
        return 0, progress
    subject, body = alert_message(progress, settings.get("RISKBATCH_ENVIRONMENT", "?"), settings.get("REPORT_DEADLINE", "09:30"))
    if settings.get("ALERT_TOPIC_ARN"):
        sns.publish(TopicArn=settings["ALERT_TOPIC_ARN"], Subject=subject, Message=body)
    return 1, progress

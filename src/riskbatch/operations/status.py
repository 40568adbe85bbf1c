"""riskbatch status: where a business date's night stands, read-only, from the operator's laptop.

It finds the stack's resources from its outputs and parameters (riskbatch.operations.stack_lookup) and reads:

- the input files that landed under <prefix><date>/ and when, and a corporate_actions.csv that landed after the
  night read its inputs (riskbatch.operations.late_inputs);
- the runs of the date (runs/<date>-*/manifest.json): ingested when, units done of total, the
  completion marks, and the report of each; the latest run's progress as the deadline check reads
  it (riskbatch.operations.watch.read_progress);
- the queues: work waiting and in flight, and the dead-letter queues' depth. SQS counts per queue,
  not per run, and has no read that leaves a message untouched (ReceiveMessage hides it and counts
  a receive), so dead letters are counted for the queue, never attributed to a run;
- the report in force (the run of history/<date>.json, else the latest written), its key and the
  time S3 wrote it, in New York, against the deadline: 09:30 on the next business day;
- the history record and its restatement, if any;
- the tasks running now, per job (riskbatch.operations.running_tasks);
- the tasks that failed during the night (from the previous night's deadline to this one's):
  stopped with TaskFailedToStart or a container's non-zero exit code, as the TasksFailed metric
  filter counts them, with ECS's stop reason. ECS lists a stopped task for about an hour only
  ("stopped tasks appear in the returned results for at least one hour":
  https://awscli.amazonaws.com/v2/documentation/api/2.0.33/reference/ecs/list-tasks.html), so the
  night's stopped tasks come from the task events log group (every "ECS Task State Change" event
  EventBridge delivered there), and the recent ones from ECS ListTasks and DescribeTasks
  (stopCode, stoppedReason, each container's exitCode and reason:
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTasks.html).

Every call is a read: READ_CALLS lists them, and the tests record each operation the command makes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from riskbatch.aws.runs import run_order
from riskbatch.aws.storage import get_json
from riskbatch.inputs.business_days import NEW_YORK, is_business_day, previous_business_day, report_due_at
from riskbatch.operations.running_tasks import running_lines, running_tasks
from riskbatch.operations.stack_lookup import StackResources, aws_errors
from riskbatch.operations.watch import read_progress
from riskbatch.validation.history import history_key, record_in_force

# The report's states and `riskbatch status`'s exit code for each (docs/runbook.md): a scheduler or a script acts on them.
ON_TIME, NO_NIGHT, NOT_DUE, MISSING, LATE, RESTATED, NO_FIGURE = "on time", "no night", "not due yet", "missing", "late", "restated", "no figure"
EXIT_REPORT_MISSING = 9  # not published, and its deadline has passed
EXIT_REPORT_LATE = 10  # published, after its deadline
EXIT_REPORT_NO_FIGURE = 12  # published in time, with no figure: every position was refused, the firm has no VaR that night
# Not due yet is a normal evening (a night in progress), so it exits 0: `riskbatch status || page` pages only a missing or late report.
# Restated: the date's first report was published on time and a later run replaced it (a restatement is not lateness).
REPORT_EXIT_CODES = {RESTATED: 0, ON_TIME: 0, NO_NIGHT: 0, NOT_DUE: 0, MISSING: EXIT_REPORT_MISSING, LATE: EXIT_REPORT_LATE, NO_FIGURE: EXIT_REPORT_NO_FIGURE}
# Every AWS operation `riskbatch status` makes; each one reads.
READ_CALLS = frozenset({"DescribeStacks", "ListObjectsV2", "GetObject", "GetQueueAttributes", "ListTasks", "DescribeTasks", "FilterLogEvents"})
# The IAM actions they need (ListObjectsV2 is s3:ListBucket), all the operator's credentials must allow (docs/runbook.md).
STATUS_ACTIONS = (
    "cloudformation:DescribeStacks",
    "s3:ListBucket",
    "s3:GetObject",
    "sqs:GetQueueAttributes",
    "ecs:ListTasks",
    "ecs:DescribeTasks",
    "logs:FilterLogEvents",
)


def _new_york(moment: dt.datetime) -> str:
    return moment.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M")


def _listing(s3: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [item for page in pages for item in page.get("Contents", [])]


def night_in_view(s3: Any, resources: StackResources, now: dt.datetime) -> dt.date:
    """The business date of the night in progress or last finished: today's (New York) once its files
    have begun to land, else the business day before today."""
    today = now.astimezone(NEW_YORK).date()
    if is_business_day(today) and _listing(s3, resources.input_bucket, f"{resources.input_prefix}{today.isoformat()}/"):
        return today
    return previous_business_day(today)


def task_failed(task: dict[str, Any]) -> bool:
    """A stopped task that failed: it never started, or a container exited non-zero (an exit code 0 is a
    normal completion, as the TasksFailed metric filter has it)."""
    if task.get("stopCode") == "TaskFailedToStart":
        return True
    return any(container.get("exitCode") not in (None, 0) for container in task.get("containers", []))


def _moment(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and value:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return None


def _failure(task: dict[str, Any], source: str) -> dict[str, Any]:
    stopped = _moment(task.get("stoppedAt"))
    return {
        "task": task["taskArn"],
        "family": task.get("taskDefinitionArn", "").rsplit("/", 1)[-1].rsplit(":", 1)[0],
        "group": task.get("group"),
        "stopped_at": _new_york(stopped) if stopped else None,
        "stop_code": task.get("stopCode"),
        "stopped_reason": task.get("stoppedReason"),
        "containers": [{"name": item.get("name"), "exit_code": item.get("exitCode"), "reason": item.get("reason")} for item in task.get("containers", [])],
        "source": source,
    }


def _in_window(task: dict[str, Any], start: dt.datetime, end: dt.datetime) -> bool:
    stopped = _moment(task.get("stoppedAt"))
    return stopped is None or start <= stopped <= end


def failed_tasks_logged(logs: Any, group: str, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """The failed tasks among the stopped-task events in the task events log group between start and end."""
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group, startTime=int(start.timestamp() * 1000), endTime=int(end.timestamp() * 1000))
    found = []
    for page in pages:
        for event in page.get("events", []):
            try:
                detail = json.loads(event["message"]).get("detail", {})
            except (ValueError, AttributeError):
                continue  # not an event EventBridge wrote
            if detail.get("lastStatus") == "STOPPED" and "taskArn" in detail and task_failed(detail):
                found.append(_failure(detail, "task events log"))
    return found


def failed_tasks_listed(ecs: Any, cluster: str, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """The failed tasks among the cluster's stopped tasks ECS still lists (about the last hour)."""
    pages = ecs.get_paginator("list_tasks").paginate(cluster=cluster, desiredStatus="STOPPED")
    arns = [arn for page in pages for arn in page.get("taskArns", [])]
    found = []
    for batch in (arns[index : index + 100] for index in range(0, len(arns), 100)):  # DescribeTasks takes 100 at most
        for task in ecs.describe_tasks(cluster=cluster, tasks=batch).get("tasks", []):
            if task.get("lastStatus") == "STOPPED" and _in_window(task, start, end) and task_failed(task):
                found.append(_failure(task, "ECS"))
    return found


def merged(*sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per task, the first source's where several know it (ECS's is the fresher)."""
    by_task: dict[str, dict[str, Any]] = {}
    for entries in sources:
        for entry in entries:
            by_task.setdefault(entry["task"], entry)
    return sorted(by_task.values(), key=lambda entry: (entry["stopped_at"] or "", entry["task"]))


@dataclass
class NightStatus:
    stack: str
    environment: str
    business_date: str
    read_at: str
    stage: str
    deadline: str
    inputs: list[dict[str, Any]] = field(default_factory=list)
    quarantine: list[str] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    run: str | None = None
    units: dict[str, int] = field(default_factory=dict)
    queues: dict[str, dict[str, int]] = field(default_factory=dict)
    report: dict[str, Any] | None = None
    history: dict[str, Any] | None = None
    failed_tasks: list[dict[str, Any]] = field(default_factory=list)
    failed_tasks_window: list[str] = field(default_factory=list)
    running: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    first_publication: dict[str, Any] | None = None
    report_state: str = ON_TIME
    late_inputs: list[str] = field(default_factory=list)  # landed after the night read its inputs (riskbatch.operations.late_inputs)


def report_state(
    report: dict[str, Any] | None, business_date: dt.date, due: dt.datetime, now: dt.datetime, first: dict[str, Any] | None = None, no_figure: bool = False
) -> str:
    """The report against its deadline: on time, late, not due yet, missing (the deadline passed), or no night.
    A restated date (`first`: the date's first publication) is judged on that first report, not the restatement's.
    `no_figure`: the record in force published no figure (every position refused): in time, it is NO FIGURE, never on time."""
    if not is_business_day(business_date):
        return NO_NIGHT
    if first:
        return LATE if not first["on_time"] else NO_FIGURE if no_figure else RESTATED
    if report:
        return LATE if not report["on_time"] else NO_FIGURE if no_figure else ON_TIME
    return NOT_DUE if now < due else MISSING


def exit_code(status: NightStatus) -> int:
    """riskbatch status's exit code: 0 when the report is in on time, not due yet, or no report is due; else its state's code."""
    return REPORT_EXIT_CODES[status.report_state]


def _depth(sqs: Any, url: str) -> dict[str, int]:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return {"waiting": int(attributes.get(names[0], 0)), "in_flight": int(attributes.get(names[1], 0))}


def _runs(s3: Any, bucket: str, date: str, reports: dict[str, dict[str, Any]], in_force: str | None) -> list[dict[str, Any]]:
    runs = []
    for item in _listing(s3, bucket, f"runs/{date}-"):
        if not item["Key"].endswith("/manifest.json") or item["Key"].count("/") != 2:
            continue
        manifest = get_json(s3, bucket, item["Key"])
        run = manifest["run_id"]
        done = len(_listing(s3, bucket, f"runs/{run}/results/"))
        marks = {entry["Key"].rsplit("/", 1)[-1].removesuffix(".json") for entry in _listing(s3, bucket, f"runs/{run}/status/")}
        report = reports.get(run)
        runs.append({
            "run_id": run,
            "created_at": manifest["created_at"],
            "ingested_at": _new_york(_moment(manifest["created_at"])),
            "units_done": done,
            "units_total": len(manifest["units"]),
            "completed": "completed" in marks,
            "announced": "announced" in marks,
            "report": report["key"] if report else None,
            "reason": (manifest.get("restatement_reason") or {}).get("text"),
            "in_force": run == in_force,
        })  # fmt: skip
    return sorted(runs, key=run_order)  # the order the deadline check finds the latest run by


def _reports(s3: Any, bucket: str, date: str, due: dt.datetime) -> dict[str, dict[str, Any]]:
    """Each run's report of the date: its key, when S3 wrote it and when its notification went, against the deadline."""
    notified = {item["Key"].rsplit("/", 1)[-1].removesuffix(".json"): item["LastModified"] for item in _listing(s3, bucket, f"reports/notified/{date}/")}
    found = {}
    for item in _listing(s3, bucket, f"reports/{date}/"):
        if not item["Key"].endswith(".pdf"):
            continue
        run, written = item["Key"].rsplit("/", 1)[-1].removesuffix(".pdf"), item["LastModified"]
        margin = (due - written).total_seconds() / 60
        found[run] = {
            "key": item["Key"],
            "run_id": run,
            "published_at": _new_york(written),
            "notified_at": _new_york(notified[run]) if run in notified else None,
            "on_time": margin >= 0,
            "minutes_before_deadline": round(margin),
            "written": written,
        }
    return found


def first_publication(record: dict[str, Any] | None, reports: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The date's first published report when the history record says it was restated: the report of the
    first run the supersessions chain names (newest first, riskbatch.validation.restatement), else the
    earliest report S3 wrote for the date. None for a date never restated."""
    chain = (record or {}).get("supersessions") or []
    restatement = (record or {}).get("restatement") or {}
    if not reports or not (chain or "supersedes" in restatement):
        return None
    original = chain[-1]["supersedes"] if chain else restatement["supersedes"]
    return reports.get(original) or min(reports.values(), key=lambda report: report["written"])


def read_status(client: Any, stack_name: str, business_date: dt.date | None = None, now: dt.datetime | None = None) -> NightStatus:
    """The night of `business_date` (default: the night in progress or last finished). `client`: boto3's
    client factory (a Session's .client); only the calls of READ_CALLS are made."""
    now = now or dt.datetime.now(dt.UTC)
    with aws_errors():
        resources = StackResources.of(client("cloudformation"), stack_name)
        s3, sqs = client("s3"), client("sqs")
        date = business_date or night_in_view(s3, resources, now)
        due = report_due_at(date)
        iso = date.isoformat()
        record, _ = record_in_force(s3, resources.output_bucket, iso)
        reports = _reports(s3, resources.output_bucket, iso, due)
        in_force = record["run_id"] if record and record["run_id"] in reports else None
        if in_force is None and reports:  # no record yet: the latest report written
            in_force = max(reports.values(), key=lambda report: report["written"])["run_id"]
        progress = read_progress(s3, sqs, resources.watch_settings() | {"STACK_NAME": stack_name}, date)
        if record and record.get("no_figure") and progress.report:  # the record in force, which the operator may read
            progress.no_figure = f"run {record['run_id']} refused every position, the firm has no VaR for {iso}"
        status = NightStatus(
            stack=stack_name,
            environment=resources.environment,
            business_date=iso,
            read_at=_new_york(now),
            stage=progress.stage() if is_business_day(date) else f"{iso} is not a business day: no night",
            deadline=_new_york(due),
            inputs=[{"name": item["Key"].rsplit("/", 1)[-1], "bytes": item["Size"], "landed_at": _new_york(item["LastModified"])}
                    for item in _listing(s3, resources.input_bucket, f"{resources.input_prefix}{iso}/")],
            quarantine=progress.quarantined,
            runs=_runs(s3, resources.output_bucket, iso, reports, in_force),
            run=progress.run,
            late_inputs=progress.late_inputs,
        )  # fmt: skip
        if in_force:
            status.report = {key: value for key, value in reports[in_force].items() if key != "written"}
        first = first_publication(record, reports)
        if first and first["run_id"] != in_force:
            status.first_publication = {key: value for key, value in first.items() if key != "written"}
        if progress.run:
            in_hand = progress.queues.get("risk_work_queue", {})
            status.units = {
                "total": progress.units_total,
                "done": progress.units_done,
                "waiting": in_hand.get("ApproximateNumberOfMessages", 0),  # queue-wide: every run's units
                "in_flight": in_hand.get("ApproximateNumberOfMessagesNotVisible", 0),
            }
        status.queues = {
            "risk_work": _depth(sqs, resources.risk_work_queue),
            "risk_work_dead_letter": _depth(sqs, resources.risk_work_dead_letter_queue),
            "report": _depth(sqs, resources.report_queue),
            "report_dead_letter": _depth(sqs, resources.report_dead_letter_queue),
        }
        if record:
            status.history = {"key": history_key(iso), "run_id": record["run_id"], "restatement": record.get("restatement"),
                              "supersessions": record.get("supersessions", [])}  # fmt: skip
        start, end = report_due_at(previous_business_day(date)), min(due, now)
        status.failed_tasks_window = [_new_york(start), _new_york(end)]
        no_figure = bool(record and record.get("no_figure") and status.report)
        status.report_state = report_state(status.report, date, due, now, status.first_publication, no_figure)
        status.running = running_tasks(client("ecs"), resources.cluster, resources.environment)
        if start < end:
            status.failed_tasks = merged(
                failed_tasks_listed(client("ecs"), resources.cluster, start, end),
                failed_tasks_logged(client("logs"), resources.task_events_log_group, start, end),
            )
    return status


def as_json(status: NightStatus) -> str:
    return json.dumps(dataclasses.asdict(status), indent=2, default=str)


def _minutes(value: int) -> str:
    hours, minutes = divmod(abs(value), 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def as_text(status: NightStatus) -> str:
    """The status for a person: one section a line or a few, times in New York."""
    lines = [f"riskbatch {status.environment} (stack {status.stack}), business date {status.business_date}, read {status.read_at} New York"]
    lines.append(f"  night:     {status.stage}")
    landed = ", ".join(f"{item['name']} ({item['landed_at']})" for item in status.inputs)
    lines.append(f"  inputs:    {landed or 'none landed'}")
    lines += [f"  LATE:      {line}" for line in status.late_inputs]
    if status.quarantine:
        lines.append(f"  quarantine: {', '.join(status.quarantine)}")
    for run in status.runs:
        marks = "announced" if run["announced"] else "completed" if run["completed"] else "not complete"
        tail = ", in force" if run["in_force"] else ", superseded" if run["report"] and status.report else ""
        reason = f"; reason: {run['reason']}" if run["reason"] else ""
        lines.append(f"  run:       {run['run_id']}, ingested {run['ingested_at']}, {run['units_done']} of {run['units_total']} units, {marks}{tail}{reason}")
    if not status.runs:
        lines.append("  run:       none")
    if status.units:
        units = status.units
        queue = f"the work queue holds {units['waiting']} waiting, {units['in_flight']} in flight (all runs)"
        lines.append(f"  units:     {units['done']} of {units['total']} done; {queue}")
    queues = status.queues
    lines.append(
        f"  dead letters: {queues['risk_work_dead_letter']['waiting']} unit(s) in the work queue's, "
        f"{queues['report_dead_letter']['waiting']} in the report queue's (queue-wide)"
    )
    if status.report:
        report = status.report
        margin = report["minutes_before_deadline"]
        timing = f"{_minutes(margin)} before" if margin >= 0 else f"LATE, {_minutes(margin)} after"
        first = status.first_publication
        if first:  # a restatement is judged on the date's first report
            margin = first["minutes_before_deadline"]
            side = f"{_minutes(margin)} before" if margin >= 0 else f"LATE, {_minutes(margin)} after"
            timing = f"RESTATED; first published {first['published_at']} ({first['run_id']}), {side}"
        lines.append(f"  report:    {report['key']}, published {report['published_at']} New York, {timing} the deadline {status.deadline}")
        if report["notified_at"]:
            lines.append(f"             notified {report['notified_at']}")
    else:
        missing = "MISSING, the deadline has passed: " if status.report_state == MISSING else ""
        lines.append(f"  report:    {missing}not published; due {status.deadline} New York")
    if status.history:
        restatement = status.history["restatement"] or {}
        said = f"; restated, supersedes run {restatement['supersedes']} ({restatement['reason']})" if "supersedes" in restatement else ""
        none = ", NO FIGURE (every position refused)" if status.report_state == NO_FIGURE else ""
        lines.append(f"  history:   {status.history['key']} holds run {status.history['run_id']}{none}{said}")
    lines += running_lines(status.running)
    start, end = status.failed_tasks_window
    if start >= end:
        lines.append(f"  failed tasks: none yet, the night begins {start} New York")
    else:
        lines.append(f"  failed tasks ({start} to {end} New York): {len(status.failed_tasks) or 'none'}")
    for task in status.failed_tasks:
        codes = ", ".join(f"{item['name']} exit {item['exit_code']}" + (f" ({item['reason']})" if item["reason"] else "") for item in task["containers"])
        task_id = task["task"].rsplit("/", 1)[-1]
        lines.append(f"    {task['stopped_at'] or '?'}  {task['family']}  {task_id}: {task['stop_code'] or '-'}: {task['stopped_reason']}; {codes}")
    return "\n".join(lines)

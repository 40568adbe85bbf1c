"""riskbatch logs: a business night's log events of each job, in order, read from CloudWatch Logs without
the console.

The night of business date D runs from the report deadline of the business day before (09:30 New York)
to D's own (09:30 New York on the next business day), as `riskbatch status` counts its failed tasks.
Each job's log group follows the naming rule (log-<job>-<suffix>, lib/TapStack.json); its events in
that window come from FilterLogEvents with startTime and endTime (milliseconds since the epoch), page
by page until no nextToken is returned
(https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from riskbatch.operations.stack_lookup import StackResources, aws_errors

# The jobs, and the scheduled checks, whose log groups the stack creates (log-<job>-<suffix>), in the night's order.
JOBS = ("pre-night-check", "data-ingestion", "risk-calculation", "report-generation", "deadline-check")
# The IAM actions `riskbatch logs` needs (docs/runbook.md), and kms:Decrypt on the stack's key (its log groups are encrypted with it).
LOGS_ACTIONS = ("cloudformation:DescribeStacks", "logs:FilterLogEvents")


def night_window(business_date: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The business night of the date: the previous business day's report deadline to this date's (New York)."""
    from riskbatch.inputs.business_days import previous_business_day, report_due_at  # the exchange calendar: not for `riskbatch --help`

    return report_due_at(previous_business_day(business_date)), report_due_at(business_date)


def log_group(job: str, environment: str) -> str:
    return f"log-{job}-{environment}"


def _milliseconds(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def job_events(logs: Any, group: str, start: dt.datetime, end: dt.datetime, page_size: int | None = None) -> list[dict[str, Any]] | None:
    """The log group's events from start to end, oldest first; None when the log group does not exist."""
    from botocore.exceptions import ClientError

    request: dict[str, Any] = {"logGroupName": group, "startTime": _milliseconds(start), "endTime": _milliseconds(end)}
    if page_size:
        request["limit"] = page_size
    events: list[dict[str, Any]] = []
    while True:
        try:
            page = logs.filter_log_events(**request)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None
            raise
        events += page.get("events", [])
        if not page.get("nextToken"):
            break
        request["nextToken"] = page["nextToken"]
    return sorted(events, key=lambda event: (event["timestamp"], event.get("logStreamName", ""), event.get("eventId", "")))


def _line(event: dict[str, Any]) -> str:
    from riskbatch.inputs.business_days import NEW_YORK

    moment = dt.datetime.fromtimestamp(event["timestamp"] / 1000, dt.UTC).astimezone(NEW_YORK)
    stream = event.get("logStreamName", "").rsplit("/", 1)[-1][:12]
    return f"{moment:%Y-%m-%d %H:%M:%S}  {stream:<12}  {event['message'].rstrip()}"


def night_logs(
    client: Callable[[str], Any], stack_name: str, business_date: dt.date, jobs: tuple[str, ...] = JOBS, say: Callable[[str], None] = print
) -> dict[str, int | None]:
    """Print each job's events of the night, in order (times in New York); the number of events of each (None: no log group)."""
    start, end = night_window(business_date)
    counted: dict[str, int | None] = {}
    with aws_errors():
        resources = StackResources.of(client("cloudformation"), stack_name)
        logs = client("logs")
        say(f"business date {business_date}: the night {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} New York")
        for job in jobs:
            group = log_group(job, resources.environment)
            events = job_events(logs, group, start, end)
            counted[job] = None if events is None else len(events)
            say(f"== {job} ({group}): {'no such log group' if events is None else f'{len(events)} event(s)'}")
            for event in events or []:
                say(_line(event))
    return counted

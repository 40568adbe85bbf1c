"""riskbatch logs: a business night's log events of each job, in order, from CloudWatch Logs
FilterLogEvents with the night's startTime and endTime, page by page
(https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html).
Against moto. CloudWatch Logs refuses events more than 14 days in the past of its clock (PutLogEvents:
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html): the test
runs on the morning the night's report is due."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from riskbatch.cli import main
from riskbatch.inputs.business_days import NEW_YORK
from riskbatch.operations.night_logs import job_events, log_group, night_window
from test.jobs.operations import test_status
from test.jobs.operations.test_status import STACK
from test.jobs.stack_layout import REGION

pytestmark = pytest.mark.clock
account = test_status.account  # a stack of environment "test" in moto

DATE = dt.date(2026, 11, 24)
MORNING = dt.datetime(2026, 11, 25, 9, 45, tzinfo=NEW_YORK)


def _at(hour: int, minute: int, day: int = 25) -> int:
    return int(dt.datetime(2026, 11, day, hour, minute, tzinfo=NEW_YORK).timestamp() * 1000)


def _write(logs, group: str, stream: str, events: list[tuple[int, str]]) -> None:
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[{"timestamp": t, "message": m} for t, m in sorted(events)])


def test_the_window_is_the_business_night_in_new_york() -> None:
    start, end = night_window(dt.date(2026, 11, 25))  # Wednesday before Thanksgiving: due Friday 09:30
    assert (start, end) == (dt.datetime(2026, 11, 25, 9, 30, tzinfo=NEW_YORK), dt.datetime(2026, 11, 27, 9, 30, tzinfo=NEW_YORK))


def test_each_jobs_events_of_the_night_in_order(account, capsys: pytest.CaptureFixture[str]) -> None:
    _, logs, _ = account
    with time_machine.travel(MORNING, tick=False):
        for job in ("data-ingestion", "risk-calculation"):
            logs.create_log_group(logGroupName=log_group(job, "test"))
        _write(logs, "log-data-ingestion-test", "ecs/data-ingestion/aaa", [(_at(1, 5), '{"event": "units_queued"}'), (_at(1, 2), '{"event": "inputs_read"}')])
        _write(logs, "log-data-ingestion-test", "ecs/data-ingestion/old", [(_at(8, 0, day=24), '{"event": "the night before"}')])
        _write(logs, "log-risk-calculation-test", "ecs/risk-calculation/bbb", [(_at(2, 0), '{"event": "unit_done", "unit": 0}')])
        _write(logs, "log-risk-calculation-test", "ecs/risk-calculation/ccc", [(_at(1, 30), '{"event": "unit_done", "unit": 1}')])
        code = main(["logs", "--stack-name", STACK, "--date", DATE.isoformat(), "--job", "data-ingestion", "--job", "risk-calculation", "--region", REGION])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "business date 2026-11-24: the night 2026-11-24 09:30 to 2026-11-25 09:30 New York",
        "== data-ingestion (log-data-ingestion-test): 2 event(s)",
        '2026-11-25 01:02:00  aaa           {"event": "inputs_read"}',
        '2026-11-25 01:05:00  aaa           {"event": "units_queued"}',
        "== risk-calculation (log-risk-calculation-test): 2 event(s)",
        '2026-11-25 01:30:00  ccc           {"event": "unit_done", "unit": 1}',
        '2026-11-25 02:00:00  bbb           {"event": "unit_done", "unit": 0}',
    ]


def test_every_page_is_read_and_a_missing_log_group_is_said(account, capsys: pytest.CaptureFixture[str]) -> None:
    _, logs, _ = account
    with time_machine.travel(MORNING, tick=False):
        logs.create_log_group(logGroupName="log-report-generation-test")
        _write(logs, "log-report-generation-test", "ecs/report-generation/r", [(_at(3, minute), f"line {minute}") for minute in range(7)])
        start, end = night_window(DATE)
        events = job_events(logs, "log-report-generation-test", start, end, page_size=2)
        assert [event["message"] for event in events] == [f"line {minute}" for minute in range(7)]
        assert main(["logs", "--stack-name", STACK, "--date", DATE.isoformat(), "--job", "deadline-check", "--region", REGION]) == 0
    assert "== deadline-check (log-deadline-check-test): no such log group" in capsys.readouterr().out

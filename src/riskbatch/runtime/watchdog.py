"""A one-shot task's own deadline: exit non-zero when the job outlives it.

ECS acts on a container's health only for the tasks of a service: a standalone task (RunTask, as
EventBridge and EventBridge Scheduler start the data ingestion and the scheduled checks) goes on
whatever its health says. A one-shot job that hangs (a stalled connection, a lock never released)
would run until someone stops it, and the night would wait on it in silence. So each one-shot job
arms a watchdog: when the deadline passes, it logs one line and ends the process with exit code
124 (the code of timeout(1)). An essential container's non-zero exit is what the stack's
TasksFailed metric filter counts, so a job that outlived its deadline reaches the failure-rate alarm.

The deadline is the task definition's TASK_DEADLINE_SECONDS, with a default per job.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from riskbatch.runtime.logs import log

EXIT_DEADLINE = 124
DEADLINE_VARIABLE = "TASK_DEADLINE_SECONDS"
DEFAULT_DEADLINES = {"ingest": 1800.0, "preflight": 900.0, "watch": 900.0}  # seconds


def deadline_seconds(job: str, environment: dict[str, str] | None = None) -> float:
    """The job's deadline: TASK_DEADLINE_SECONDS when set, else the job's default."""
    value = (os.environ if environment is None else environment).get(DEADLINE_VARIABLE, "").strip()
    if not value:
        return DEFAULT_DEADLINES[job]
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"{DEADLINE_VARIABLE} must be a number of seconds, not {value!r}") from None
    if seconds <= 0:
        raise ValueError(f"{DEADLINE_VARIABLE} must be positive, not {value!r}")
    return seconds


def _expire(job: str, seconds: float) -> None:
    log("deadline_exceeded", command=job, deadline_seconds=seconds, exit_code=EXIT_DEADLINE)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_DEADLINE)  # from this thread, whatever the main thread is blocked in


@contextmanager
def deadline(job: str, seconds: float) -> Iterator[None]:
    """Run the block under a deadline: past it, the process exits with EXIT_DEADLINE."""
    timer = threading.Timer(seconds, _expire, args=(job, seconds))
    timer.name = f"deadline-{job}"
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()

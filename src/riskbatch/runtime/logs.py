"""Structured logs: one JSON object a line (job, run id, unit, event, duration), queryable in CloudWatch Logs Insights."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def log(event: str, **fields: Any) -> None:
    record = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "job": os.environ.get("RISKBATCH_JOB", "local"), "event": event}
    record.update({key: value for key, value in fields.items() if value is not None})
    print(json.dumps(record, default=str), file=sys.stderr, flush=True)


@contextmanager
def timed(event: str, **fields: Any) -> Iterator[dict[str, Any]]:
    """Log `event` with its duration when the block completes; the block may add fields to the dict.
    A block that raises logs `<event>_failed` instead: metric filters count the event itself
    (ReportsPublished counts report_generated), so a failure must never be logged under its name."""
    started = time.monotonic()
    extra: dict[str, Any] = {}
    try:
        yield extra
    except BaseException as error:
        log(f"{event}_failed", duration=round(time.monotonic() - started, 3), error=f"{type(error).__name__}: {error}", **fields, **extra)
        raise
    log(event, duration=round(time.monotonic() - started, 3), **fields, **extra)

"""The liveness signal behind the container health check (`riskbatch health`).

A running job touches a file in its scratch volume at least every BEAT_SECONDS; the health check
passes while the file is younger than MAX_AGE_SECONDS. The margin (four beats) absorbs a slow
S3 call or a garbage collection; a job that stops beating for longer is stuck, and ECS replaces
the task after the health check's retries. No file at all means no job ever beat: unhealthy,
once the task definition's StartPeriod (60 s) has passed.

The health check runs every 30 s in every task, so this module imports nothing heavy (no numpy,
scipy, pyarrow or boto3): `riskbatch health` reads the file's age and nothing else.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HEARTBEAT_NAME = "riskbatch.heartbeat"
BEAT_SECONDS = 30.0  # the health check's interval in the task definitions
MAX_AGE_SECONDS = 4 * BEAT_SECONDS
# The longest a stuck job may run on before its health check marks it unhealthy: the heartbeat's age limit,
# then the task definitions' Retries checks Interval apart, the last taking up to its Timeout (test/unit/test_template_code_boundary.py).
HEALTH_ACTION_BOUND_SECONDS = 5 * 60


def scratch_directory() -> str:
    """The task's scratch volume: TMPDIR, as the images set it."""
    return os.environ.get("TMPDIR", "/tmp")


def heartbeat_path(scratch: str) -> Path:
    return Path(scratch) / HEARTBEAT_NAME


def beat(scratch: str) -> None:
    path = heartbeat_path(scratch)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    # stamped with the clock `healthy` reads, not the file system's: one clock for both ends of the age
    now = time.time()
    os.utime(path, (now, now))


def healthy(scratch: str, max_age_seconds: float | None = None) -> bool:
    limit = MAX_AGE_SECONDS if max_age_seconds is None else max_age_seconds
    path = heartbeat_path(scratch)
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return False
    return age <= limit


@contextmanager
def beating(scratch: str, every: float = BEAT_SECONDS) -> Iterator[None]:
    """Beat from a background thread while the block runs (a one-shot job with no loop of its own)."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(every):
            beat(scratch)

    beat(scratch)
    thread = threading.Thread(target=run, name="heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()

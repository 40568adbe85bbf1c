"""Job configuration from the environment the task definitions set (nothing the template decides is hard-coded)."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _optional(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def required(name: str) -> str:
    value = _optional(name)
    if value is None:
        raise SystemExit(f"configuration error: the environment variable {name} is not set")
    return value


@dataclass(frozen=True)
class Settings:
    job: str
    environment: str
    output_bucket: str | None
    input_bucket: str | None
    input_prefix: str
    risk_work_queue_url: str | None
    report_queue_url: str | None
    event_bus_name: str | None
    alert_topic_arn: str | None
    scratch: str
    unit_positions: int

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            job=os.environ.get("RISKBATCH_JOB", "local"),
            environment=os.environ.get("RISKBATCH_ENVIRONMENT", "local"),
            output_bucket=_optional("OUTPUT_BUCKET"),
            input_bucket=_optional("INPUT_BUCKET"),
            input_prefix=os.environ.get("INPUT_PREFIX", "incoming/"),
            risk_work_queue_url=_optional("RISK_WORK_QUEUE_URL"),
            report_queue_url=_optional("REPORT_QUEUE_URL"),
            event_bus_name=_optional("EVENT_BUS_NAME"),
            alert_topic_arn=_optional("ALERT_TOPIC_ARN"),
            scratch=os.environ.get("TMPDIR", "/tmp"),
            unit_positions=int(os.environ.get("RISK_UNIT_POSITIONS", "1000")),
        )

"""Job configuration from the environment the task definitions set (nothing the template decides is hard-coded)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .heartbeat import scratch_directory
from .model import ModelParameters


def _optional(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


class ConfigurationError(ValueError):
    """The task's environment lacks what the job needs (a task definition that does not match the job)."""

    def __str__(self) -> str:
        return f"configuration error: {super().__str__()}"


def required(name: str) -> str:
    value = _optional(name)
    if value is None:
        raise ConfigurationError(f"the environment variable {name} is not set")
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
            scratch=scratch_directory(),
            unit_positions=int(os.environ.get("RISK_UNIT_POSITIONS", "1000")),
        )


def parse_rates(text: str) -> dict[str, float]:
    """RISK_RATES: "USD=0.043,EUR=0.027" (continuously compounded, per currency)."""
    rates: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        currency, separator, value = item.partition("=")
        if not separator or len(currency.strip()) != 3:
            raise ConfigurationError(f"RISK_RATES takes CCY=rate pairs separated by commas, got {item!r}")
        rates[currency.strip().upper()] = float(value)
    return rates


def parameters_from_env(input_seed: int) -> ModelParameters:
    """Model parameters of a new run from the environment. The seed: RISK_SEED if set; else, under
    the default policy (fixed), 1 every night, so that nights share their random numbers; under
    RISK_SEED_POLICY=inputs, `input_seed` (derived from the input files' checksums)."""
    policy = os.environ.get("RISK_SEED_POLICY", "fixed")
    default_seed = input_seed if policy == "inputs" else 1
    return ModelParameters(
        scenarios=int(os.environ.get("RISK_SCENARIOS", "100000")),
        seed=int(os.environ.get("RISK_SEED", str(default_seed))),
        seed_policy=policy,
        reporting_currency=os.environ.get("RISK_REPORTING_CURRENCY", "USD"),
        rates=parse_rates(os.environ.get("RISK_RATES", "")),
        shrinkage=os.environ.get("RISK_SHRINKAGE", "auto"),
        covariance=os.environ.get("RISK_COVARIANCE", "sample"),
        ewma_lambda=float(os.environ.get("RISK_EWMA_LAMBDA", "0.94")),
        distribution=os.environ.get("RISK_DISTRIBUTION", "normal"),
        degrees_of_freedom=float(os.environ.get("RISK_DEGREES_OF_FREEDOM", "5")),
        horizon_days=int(os.environ.get("RISK_HORIZON_DAYS", "1")),
        rate=float(os.environ.get("RISK_RATE", "0.03")),
        block_size=int(os.environ.get("RISK_BLOCK_SIZE", "8192")),
    )

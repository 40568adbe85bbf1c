"""Job configuration from the environment the task definitions set (nothing the template decides is hard-coded)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from riskbatch.inputs.cleaning import CleaningPolicy
from riskbatch.inputs.quality import DataQualityPolicy
from riskbatch.model.risk_model import ModelParameters
from riskbatch.runtime.heartbeat import scratch_directory

MODEL_CONFIG = Path(__file__).with_name("model_config.json")
# The stack's declared class (the template's EnvironmentClass parameter): it picks the scenario floor.
ENVIRONMENT_CLASS_VARIABLE = "RISKBATCH_ENVIRONMENT_CLASS"
PRODUCTION, NON_PRODUCTION = "production", "non-production"
# Each model parameter and the environment variable that may override it, where the model
# configuration allows that parameter to be overridden; set for any other, it is refused.
PARAMETER_VARIABLES = {
    "scenarios": "RISK_SCENARIOS",
    "seed": "RISK_SEED",
    "seed_policy": "RISK_SEED_POLICY",
    "reporting_currency": "RISK_REPORTING_CURRENCY",
    "rates": "RISK_RATES",
    "shrinkage": "RISK_SHRINKAGE",
    "covariance": "RISK_COVARIANCE",
    "ewma_lambda": "RISK_EWMA_LAMBDA",
    "distribution": "RISK_DISTRIBUTION",
    "degrees_of_freedom": "RISK_DEGREES_OF_FREEDOM",
    "horizon_days": "RISK_HORIZON_DAYS",
    "rate": "RISK_RATE",
    "block_size": "RISK_BLOCK_SIZE",
    "stress_period": "RISK_STRESS_WINDOW",
}
# The data-quality policy's settings: in the configuration too, under the same rule.
POLICY_VARIABLES = {
    "min_returns": "RISK_MIN_RETURNS",
    "max_market_lag_days": "RISK_MAX_MARKET_LAG_DAYS",
    "stale_days": "RISK_STALE_DAYS",
    "zero_return_share": "RISK_ZERO_RETURN_SHARE",
    "jump_sigmas": "RISK_JUMP_SIGMAS",
    "stale": "RISK_DQ_STALE",
    "zero_returns": "RISK_DQ_ZERO_RETURNS",
    "jump": "RISK_DQ_JUMP",
    "last_day_jump": "RISK_DQ_LAST_DAY_JUMP",
    "max_gap_days": "RISK_MAX_GAP_DAYS",
    "implied_vol_band": "RISK_DQ_IMPLIED_VOL_BAND",
    "strike_to_spot_band": "RISK_DQ_STRIKE_TO_SPOT_BAND",
    "dividend_yield_band": "RISK_DQ_DIVIDEND_YIELD_BAND",
    "quantity_to_usual_max": "RISK_DQ_QUANTITY_TO_USUAL_MAX",
    "excluded_notional_share_flag": "RISK_DQ_EXCLUDED_NOTIONAL_SHARE_FLAG",  # not in `overridable`: a new version changes it
    "quantity_to_usual_min": "RISK_DQ_QUANTITY_TO_USUAL_MIN",
    "proxies": "RISK_DQ_PROXIES",  # never overridable: a proxy is a model choice, approved with the version
    "rate_bands": "RISK_DQ_RATE_BANDS",  # never overridable: the plausible rates per currency, approved with the version
    "rate_steps": "RISK_DQ_RATE_STEPS",  # never overridable: the most a rate may jump between tenors or nights, approved with the version
}


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


def parse_rates(text: str, bands: dict[str, Any] | None = None) -> dict[str, float]:
    """RISK_RATES: "USD=0.043,EUR=0.027" (continuously compounded, per currency), each within its currency's
    plausible band (the model configuration's data_quality.rate_bands, as the night's rates file)."""
    policy = DataQualityPolicy(rate_bands=bands) if bands else DataQualityPolicy()
    rates: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        currency, separator, value = item.partition("=")
        if not separator or len(currency.strip()) != 3:
            raise ConfigurationError(f"RISK_RATES takes CCY=rate pairs separated by commas, got {item!r}")
        code, rate = currency.strip().upper(), float(value)
        low, high = policy.rate_band(code)
        if not math.isfinite(rate) or not low <= rate <= high:
            raise ConfigurationError(f"RISK_RATES: {code}={value.strip()} is not a finite rate within {low:g} to {high:g} (the plausible band of {code})")
        rates[code] = rate
    return rates


@dataclass(frozen=True)
class StressPeriod:
    """The governed stressed-VaR window: named, dated, chosen once (see the configuration)."""

    name: str
    first: dt.date
    last: dt.date

    def describe(self) -> dict[str, str]:
        return {"name": self.name, "first": self.first.isoformat(), "last": self.last.isoformat()}


@dataclass(frozen=True)
class ModelConfig:
    """The versioned model configuration shipped in the package: its parameters, the stress period,
    and which parameters an environment variable may override (and why)."""

    version: str
    sha256: str
    parameters: dict[str, Any]
    stress_period: StressPeriod
    overridable: dict[str, str] = field(default_factory=dict)
    data_quality: dict[str, Any] = field(default_factory=dict)
    approval: dict[str, str] = field(default_factory=dict)  # who approved this version, and when
    # the fewest scenarios a night may run: `production`, unless the stack declares itself non-production (its floor
    # `non_production`); no stack name decides it: a production stack called live or bench is not a loophole
    scenario_floors: dict[str, Any] = field(default_factory=dict)
    cleaning: dict[str, Any] = field(default_factory=dict)  # the data-cleaning standard's thresholds (riskbatch.inputs.cleaning)
    monte_carlo: dict[str, float] = field(default_factory=dict)  # the tolerance of the VaR 99 %'s relative standard error

    def record(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """What the manifest and the report carry: version, hash, approval, the stress period, and any override applied."""
        return {
            "version": self.version,
            "sha256": self.sha256,
            "approval": dict(self.approval),
            "stress_period": self.stress_period.describe(),
            "monte_carlo": dict(self.monte_carlo),
            "overrides": dict(overrides or {}),
        }

    def scenario_floor(self, declared_class: str | None) -> int:
        """The floor of a stack that declares `declared_class` (RISKBATCH_ENVIRONMENT_CLASS); anything but non-production is production."""
        return int(self.scenario_floors["non_production" if environment_class(declared_class) == NON_PRODUCTION else "production"])


def environment_class(declared: str | None) -> str:
    """The class a stack declares (its EnvironmentClass parameter, passed to every task): non-production only when it says
    exactly that; missing, empty or anything else is production (fail safe: the higher floor)."""
    return NON_PRODUCTION if (declared or "").strip() == NON_PRODUCTION else PRODUCTION


def _scenario_floors(floors: dict[str, Any]) -> dict[str, Any]:
    """The configuration's floors: a production one and a non-production one, nothing else (no list of names: the stack declares its class)."""
    unknown = set(floors) - {"production", "non_production"}
    if unknown:
        raise ValueError(f"scenario_floors holds only the production and non_production floors, not {', '.join(sorted(unknown))}")
    found = {"production": int(floors["production"]), "non_production": int(floors["non_production"])}
    if found["non_production"] > found["production"]:
        raise ValueError("the non-production floor may not be above the production one")
    return found


def load_model_config(path: Path = MODEL_CONFIG) -> ModelConfig:
    data = path.read_bytes()
    try:
        content = json.loads(data)
        stress = content["stress_period"]
        config = ModelConfig(
            version=str(content["version"]),
            sha256=hashlib.sha256(data).hexdigest(),
            parameters=dict(content["parameters"]),
            stress_period=StressPeriod(str(stress["name"]), dt.date.fromisoformat(stress["first"]), dt.date.fromisoformat(stress["last"])),
            overridable=dict(content.get("overridable", {})),
            data_quality=dict(content.get("data_quality", {})),
            approval={key: str(content["approval"][key]) for key in ("approved_by", "approved_at")},
            scenario_floors=_scenario_floors(content["scenario_floors"]),
            cleaning=dict(content.get("cleaning", {})),
            monte_carlo={str(name): float(value) for name, value in content.get("monte_carlo", {}).items()},
        )
        thresholds = {item.name for item in fields(CleaningPolicy)}
        CleaningPolicy(**{name: value for name, value in config.cleaning.items() if name in thresholds})
        dt.date.fromisoformat(config.approval["approved_at"])
    except (ValueError, KeyError, TypeError) as error:
        raise ConfigurationError(f"the model configuration {path.name} is malformed: {error!r}") from None
    unknown = (set(config.parameters) | set(config.overridable) | set(config.data_quality)) - set(PARAMETER_VARIABLES) - set(POLICY_VARIABLES)
    if unknown:
        raise ConfigurationError(f"the model configuration {path.name} names unknown parameter(s): {', '.join(sorted(unknown))}")
    unread = set(config.cleaning) - thresholds  # refused, not ignored: a threshold in an approved configuration that no rule reads misleads its reader
    if unread:
        raise ConfigurationError(f"the model configuration {path.name}'s cleaning names {', '.join(sorted(unread))}, which no cleaning rule reads: take it out")
    return config


def _parsed(name: str, text: str, config: ModelConfig) -> Any:
    if name == "rates":
        return parse_rates(text, config.data_quality.get("rate_bands"))
    if name.endswith("_band"):  # low:high
        low, _, high = text.partition(":")
        return (float(low), float(high))
    if name in {"scenarios", "seed", "horizon_days", "block_size", "min_returns", "max_market_lag_days", "stale_days", "max_gap_days"}:
        return int(text)
    if name in {"ewma_lambda", "degrees_of_freedom", "rate", "zero_return_share", "jump_sigmas", "quantity_to_usual_max", "quantity_to_usual_min",
                "excluded_notional_share_flag"}:
        return float(text)
    return text


def environment_overrides(config: ModelConfig, variables: dict[str, str] = PARAMETER_VARIABLES) -> dict[str, Any]:
    """The settings the environment sets, each one the configuration allows to be overridden; a
    variable set for any other setting is refused (a configuration error)."""
    found: dict[str, Any] = {}
    for name, variable in variables.items():
        text = os.environ.get(variable, "").strip()
        if not text:
            continue
        if name not in config.overridable:
            raise ConfigurationError(
                f"{variable} is set, but the model configuration {config.version} does not allow {name} to be overridden: "
                f"a change of model settings is a new, approved version of {MODEL_CONFIG.name}"
            )
        try:
            found[name] = _parsed(name, text, config)
        except ValueError as error:
            raise ConfigurationError(f"{variable}={text!r}: {error}") from None
    return found


def configured_run(input_seed: int, config: ModelConfig | None = None) -> tuple[ModelParameters, dict[str, Any]]:
    """Model parameters of a new run: the model configuration's, with the overrides it allows;
    and the configuration's record for the manifest. The seed: the configuration's (1: nights
    share their random numbers) under the policy `fixed`; under `inputs`, `input_seed` (derived
    from the input files' checksums), unless the seed itself is set."""
    config = config or load_model_config()
    overrides = environment_overrides(config)
    values = {**config.parameters, **{name: value for name, value in overrides.items() if name != "stress_period"}}
    if values.get("seed_policy") == "inputs" and "seed" not in overrides:
        values["seed"] = input_seed
    environment = os.environ.get("RISKBATCH_ENVIRONMENT", "local")
    declared = os.environ.get(ENVIRONMENT_CLASS_VARIABLE)
    floor = config.scenario_floor(declared)
    if int(values["scenarios"]) < floor:
        raise ConfigurationError(
            f"RISK_SCENARIOS={values['scenarios']} is below the floor of {floor:,} scenarios that model configuration {config.version} "
            f"sets for the environment {environment!r} ({environment_class(declared)}: {ENVIRONMENT_CLASS_VARIABLE}={declared or ''}, "
            "the stack's EnvironmentClass; only non-production runs below the production floor; at 100 scenarios VaR 99 % is the single worst one)"
        )
    try:
        parameters = ModelParameters(**values)
    except (TypeError, ValueError) as error:
        raise ConfigurationError(f"model configuration {config.version}: {error}") from None
    record = config.record(overrides)
    if "stress_period" in overrides:  # RISK_STRESS_WINDOW=first:last, where the configuration allows it
        first, _, last = str(overrides["stress_period"]).partition(":")
        record["stress_period"] = {"name": "overridden window", "first": first, "last": last}
    return parameters, record


def data_quality_policy(config: ModelConfig | None = None) -> DataQualityPolicy:
    """The data-quality policy of a new run: the configuration's, with the overrides it allows."""
    config = config or load_model_config()
    try:
        return DataQualityPolicy(**{**config.data_quality, **environment_overrides(config, POLICY_VARIABLES)})
    except ConfigurationError:
        raise
    except (TypeError, ValueError) as error:
        raise ConfigurationError(f"model configuration {config.version}: {error}") from None


def cleaning_policy(config: ModelConfig | None = None) -> CleaningPolicy:
    """The data-cleaning standard of a new run: the configuration's; no environment variable changes it."""
    config = config or load_model_config()
    return CleaningPolicy(**config.cleaning)


def data_quality_overrides(config: ModelConfig | None = None) -> dict[str, Any]:
    """The data-quality settings the environment overrides (each one the configuration allows)."""
    return environment_overrides(config or load_model_config(), POLICY_VARIABLES)


def parameters_from_env(input_seed: int, config: ModelConfig | None = None) -> ModelParameters:
    return configured_run(input_seed, config)[0]

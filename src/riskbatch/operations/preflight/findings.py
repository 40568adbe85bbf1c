"""What a preflight check reads and says: the account and the night's workload it checks against (Account,
Workload, Peak, Capacity, read from the task's environment), and a check's finding (PASS, WARN or FAIL with its fix)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PASS, WARN, FAIL = "PASS", "WARN", "FAIL"


HEADROOM = 1.2  # a quota or an address pool within 20 % of the peak is a warning


@dataclass(frozen=True)
class Finding:
    check: str
    expected: str
    found: str
    status: str
    fix: str = ""


@dataclass(frozen=True)
class Capacity:
    """A capacity provider strategy: the tasks of a count that land on Fargate and on Fargate Spot."""

    on_demand_base: int = 0
    on_demand_weight: int = 1
    spot_weight: int = 0

    def expected_on_demand(self, tasks: int) -> float:
        """The tasks expected on Fargate On-Demand: the base, then the rest by weight (a fraction of a task is a share)."""
        base = min(tasks, self.on_demand_base)
        total = self.on_demand_weight + self.spot_weight
        return base + ((tasks - base) * self.on_demand_weight / total if total else tasks - base)

    def split(self, tasks: int) -> tuple[int, int]:
        base = min(tasks, self.on_demand_base)
        rest = tasks - base
        total = self.on_demand_weight + self.spot_weight
        on_demand = base + (math.ceil(rest * self.on_demand_weight / total) if total else rest)
        return on_demand, tasks - on_demand


@dataclass(frozen=True)
class Workload:
    """One job's tasks at the night's peak."""

    name: str
    tasks: int
    vcpu: float
    capacity: Capacity = Capacity()


@dataclass(frozen=True)
class Peak:
    workloads: tuple[Workload, ...]

    @property
    def tasks(self) -> int:
        return sum(w.tasks for w in self.workloads)

    def vcpu(self) -> tuple[float, float]:
        """(On-Demand vCPU, Spot vCPU) at the peak."""
        on_demand = spot = 0.0
        for workload in self.workloads:
            od, sp = workload.capacity.split(workload.tasks)
            on_demand += od * workload.vcpu
            spot += sp * workload.vcpu
        return on_demand, spot


@dataclass
class Account:
    """What the checks read: the stack's parameters and outputs, or the nightly task's environment."""

    subnets: list[str]
    peak: Peak
    input_bucket: str | None = None
    output_bucket: str | None = None
    key_arn: str | None = None
    repositories: list[str] = field(default_factory=list)
    image_tag: str | None = None
    topic_arn: str | None = None
    alarm_names: list[str] = field(default_factory=list)
    dead_letter_queues: list[str] = field(default_factory=list)  # queue URLs
    task_events_log_group_arn: str | None = None
    input_bucket_key_arn: str | None = None  # InputBucketKmsKeyArn: the customer key the input bucket may use
    output_bucket_key_arn: str | None = None  # OutputBucketKmsKeyArn: the customer key the output bucket may use
    tonight: Any = None  # riskbatch.operations.plan.Night: tonight's book size and window, when given
    risk_workload_name: str = "risk-calculation"
    # The nightly check fails on what the last nights left behind (dead letters, alarms in ALARM); a
    # deploy only warns of it, so that the deploy that fixes its cause is not refused.
    nightly: bool = False

    @property
    def risk_workload(self) -> Workload | None:
        return next((w for w in self.peak.workloads if w.name == self.risk_workload_name), None)


# What the nightly task's environment must hold (the rest is optional).
PREFLIGHT_SETTINGS = ("PEAK_WORKLOADS", "TASK_SUBNETS")


def account_from_environment(environment: dict[str, str]) -> Account:
    """The nightly task's view of the account: its task definition's environment (the template
    fills TASK_SUBNETS, JOB_REPOSITORIES, IMAGE_TAG, ALERT_TOPIC_ARN and PEAK_WORKLOADS)."""
    workloads = tuple(
        Workload(item["name"], int(item["tasks"]), float(item["vcpu"]), Capacity(int(item["base"]), int(item["on_demand_weight"]), int(item["spot_weight"])))
        for item in json.loads(environment["PEAK_WORKLOADS"])
    )
    return Account(
        subnets=[item for item in environment["TASK_SUBNETS"].split(",") if item],
        peak=Peak(workloads),
        repositories=[item for item in environment.get("JOB_REPOSITORIES", "").split(",") if item],
        image_tag=environment.get("IMAGE_TAG"),
        topic_arn=environment.get("ALERT_TOPIC_ARN"),
        alarm_names=[item for item in environment.get("ALARM_NAMES", "").split(",") if item],
        dead_letter_queues=[item for item in environment.get("DEAD_LETTER_QUEUES", "").split(",") if item],
        task_events_log_group_arn=environment.get("TASK_EVENTS_LOG_GROUP_ARN") or None,
        output_bucket=environment.get("OUTPUT_BUCKET") or None,
        input_bucket=environment.get("INPUT_BUCKET") or None,
        nightly=True,
    )


Clients = Callable[[str], Any]  # service name -> boto3 client


Check = Callable[[Clients, Account], list[Finding]]


def error_code(error: Exception) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__))

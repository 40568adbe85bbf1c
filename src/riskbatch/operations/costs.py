"""What the stack costs beyond the night's work: the warm workers of the overnight window, the VPC
endpoints, the logs and the key, each read from the templates and priced line by line.

The warm floor is the services' scheduled minimums (Application Auto Scaling's scheduled actions
in lib/TapStack.json) on the days their cron expressions name; each warm task is priced by its
task definition's size and its service's capacity provider strategy (the base on FARGATE, the rest
by weight: the expected share, ECS's own placement of a remainder is not documented to the task).
The VPC endpoints are lib/VpcEndpoints.json's interface endpoints, each billed per Availability
Zone it is in (its subnets), every hour of the month, shared by every environment in the VPC.

Prices: list prices for us-east-1 in USD, read on PRICES_READ from the AWS pricing pages in
PRICE_SOURCES (Fargate's in fargate.py). Those pages render their rate tables per region, and the
stored copies read then showed only some figures: PRICE_NOTES says, for each, where the figure
came from. Pass current prices with riskbatch plan's options. Not counted: S3 storage and
requests, data transfer, the one-shot tasks (ingestion, the two checks: minutes a night), alarms
and the dashboard, the free tiers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskbatch.operations import fargate
from riskbatch.operations.cron import parse
from riskbatch.operations.preflight.findings import Capacity

REPO_ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = REPO_ROOT / "lib" / "TapStack.json"
ENDPOINTS_TEMPLATE = REPO_ROOT / "lib" / "VpcEndpoints.json"
HOURS_A_MONTH = 730.0  # 365 days x 24 h / 12
WEEKS_A_MONTH = 365.25 / 7 / 12
REGION = "us-east-1"
PRICES_READ = "2026-12-03"
PRICE_SOURCES = {  # AWS's pricing page of each service (the Fargate one was not among the stored pages)
    "fargate": "https://aws.amazon.com/fargate/pricing/",
    "privatelink": "https://aws.amazon.com/privatelink/pricing/",
    "cloudwatch": "https://aws.amazon.com/cloudwatch/pricing/",
    "kms": "https://aws.amazon.com/kms/pricing/",
}
PRICE_NOTES = {  # what each page's stored copy showed, and where the rest is quoted for us-east-1
    "fargate": "not stored; fargate.py's rates (since 2025-01) as https://www.vantage.sh/blog/fargate-pricing quotes us-east-1",
    "privatelink": (
        "per endpoint, per Availability Zone, per hour (a partial hour is a full one); $0.01/GB for the first PB "
        "(https://aws.amazon.com/jp/privatelink/pricing/); $0.01 an hour as https://awsnegotiations.com/privatelink-cost-analysis.html quotes it"
    ),
    "cloudwatch": "the free tier only; $0.50/GB collected, $0.03/GB-month stored as https://c3x.dev/blog/cloudwatch-logs-cost-optimization quotes us-east-1",
    "kms": "$1/month a key (plus $1 for each rotation's backing key); $0.03 per 10,000 requests as https://www.wring.co/blog/aws-kms-pricing-guide quotes it",
}
PRICES = {
    "endpoint_az_hour": 0.01,  # an interface endpoint in one Availability Zone, an hour (a partial hour is a full one)
    "endpoint_gb": 0.01,  # data processed by the Region's interface endpoints, first PB of the month
    "logs_ingestion_gb": 0.50,  # CloudWatch Logs, standard class, collected
    "logs_storage_gb_month": 0.03,  # CloudWatch Logs, stored
    "kms_key_month": 1.00,  # a customer managed key (each automatic rotation adds $1/month, from the second year)
    "kms_requests_10k": 0.03,  # symmetric requests, per 10,000
}


@dataclass(frozen=True)
class WarmService:
    """A service's scheduled minimum: tasks kept warm in its window and outside it."""

    job: str
    window_tasks: int
    window_hours: float
    nights_a_week: int
    baseline_tasks: int
    cpu_units: int
    memory_mib: int
    capacity: Capacity

    @property
    def task_hours_a_week(self) -> float:
        window = self.window_hours * self.nights_a_week
        return self.window_tasks * window + self.baseline_tasks * (7 * 24 - window)

    def hourly_usd(self, tasks: int, prices: dict[str, float]) -> float:
        """The tasks' price an hour, the On-Demand and Spot shares of the strategy at their rates."""
        on_demand = self.capacity.expected_on_demand(tasks)
        vcpu, gb = self.cpu_units / 1024, self.memory_mib / 1024
        od_rate = vcpu * prices["on_demand_vcpu_hour"] + gb * prices["on_demand_gb_hour"]
        spot_rate = vcpu * prices["spot_vcpu_hour"] + gb * prices["spot_gb_hour"]
        return on_demand * od_rate + (tasks - on_demand) * spot_rate


@dataclass(frozen=True)
class CostLine:
    item: str
    quantity: str
    unit_price: str
    monthly_usd: float


def load(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise FileNotFoundError(f"{path}: not found; give the template with --template (lib/TapStack.json of this repository)")
    return dict(json.loads(path.read_text(encoding="utf-8")))


def parameter_values(template: dict[str, Any], given: dict[str, str] | None = None) -> dict[str, str]:
    """The template's defaults, with the given values (a parameters file's) on top."""
    values = {name: str(body["Default"]) for name, body in template.get("Parameters", {}).items() if "Default" in body}
    return values | {name: str(value) for name, value in (given or {}).items() if name in template.get("Parameters", {})}


def _number(node: Any, values: dict[str, str]) -> int:
    if isinstance(node, dict) and set(node) == {"Ref"}:
        return int(values[node["Ref"]])
    return int(node)


def capacity_of(strategy: list[dict[str, Any]] | None) -> Capacity:
    """A capacity provider strategy (CloudFormation's keys) as On-Demand base and weights."""
    on_demand = next((item for item in strategy or [] if item["CapacityProvider"] == "FARGATE"), None)
    spot = next((item for item in strategy or [] if item["CapacityProvider"] == "FARGATE_SPOT"), None)
    if not strategy:
        return Capacity()
    return Capacity(int((on_demand or {}).get("Base", 0)), int((on_demand or {}).get("Weight", 0)), int((spot or {}).get("Weight", 0)))


def scaled_service(resource_id: Any) -> str | None:
    """The service a scalable target scales: service/<cluster>/<GetAtt Service.Name>."""
    parts = resource_id["Fn::Join"][1] if isinstance(resource_id, dict) and "Fn::Join" in resource_id else []
    for part in parts:
        if isinstance(part, dict) and "Fn::GetAtt" in part and part["Fn::GetAtt"][1] == "Name":
            return str(part["Fn::GetAtt"][0])
    return None


def warm_services(template: dict[str, Any], values: dict[str, str]) -> list[WarmService]:
    """Every scheduled scalable target's window (its highest scheduled minimum, until the next action) and baseline."""
    resources = template["Resources"]
    found = []
    for body in resources.values():
        properties = body.get("Properties", {})
        if body["Type"] != "AWS::ApplicationAutoScaling::ScalableTarget" or not properties.get("ScheduledActions"):
            continue
        actions = sorted(
            ((parse(action["Schedule"]), _number(action["ScalableTargetAction"]["MinCapacity"], values)) for action in properties["ScheduledActions"]),
            key=lambda pair: pair[0].time,
        )
        opening = max(range(len(actions)), key=lambda index: actions[index][1])
        (opens, window_tasks), (closes, _) = actions[opening], actions[(opening + 1) % len(actions)]
        hours = ((closes.hour - opens.hour) * 60 + closes.minute - opens.minute) % (24 * 60) / 60
        service = resources[str(scaled_service(properties["ResourceId"]))]
        task = resources[service["Properties"]["TaskDefinition"]["Ref"]]["Properties"]
        found.append(
            WarmService(
                job=str(task["ContainerDefinitions"][0]["Name"]),
                window_tasks=window_tasks,
                window_hours=hours,
                nights_a_week=opens.days_a_week,
                baseline_tasks=_number(properties["MinCapacity"], values),
                cpu_units=int(task["Cpu"]),
                memory_mib=int(task["Memory"]),
                capacity=capacity_of(service["Properties"].get("CapacityProviderStrategy")),
            )
        )
    return found


def interface_endpoint_zones(endpoints_template: dict[str, Any]) -> tuple[int, int]:
    """(interface endpoints, endpoint-Availability Zones: each endpoint once per subnet it is in)."""
    interfaces = [
        body
        for body in endpoints_template["Resources"].values()
        if body["Type"] == "AWS::EC2::VPCEndpoint" and body["Properties"].get("VpcEndpointType") == "Interface"
    ]
    return len(interfaces), sum(len(body["Properties"].get("SubnetIds", [])) for body in interfaces)


@dataclass(frozen=True)
class Usage:
    """What the templates cannot say: the night's log volume and key requests, and the work beyond the warm floor."""

    log_gb_a_night: float
    kms_requests_a_night: int
    extra_task_hours_a_night: float = 0.0  # risk tasks beyond the warm floor that the night's work needs
    with_endpoints: bool = True


def monthly_lines(
    template: dict[str, Any], endpoints_template: dict[str, Any], values: dict[str, str], prices: dict[str, float], usage: Usage
) -> list[CostLine]:
    warm = warm_services(template, values)
    nights = max((service.nights_a_week for service in warm), default=5) * WEEKS_A_MONTH
    lines = []
    for service in warm:
        hourly = service.hourly_usd(service.window_tasks, prices) / max(service.window_tasks, 1)
        on_demand = service.capacity.expected_on_demand(service.window_tasks)
        quantity = f"{service.window_tasks} x {service.window_hours:g} h x {service.nights_a_week * WEEKS_A_MONTH:.2f} nights"
        if service.baseline_tasks:
            quantity += f", {service.baseline_tasks} the rest of the week"
        split = f" ({on_demand:g} On-Demand, {service.window_tasks - on_demand:g} Spot)" if service.capacity.spot_weight else " (On-Demand)"
        size = f"{service.cpu_units / 1024:g} vCPU / {service.memory_mib / 1024:g} GB"
        lines.append(
            CostLine(f"warm floor: {service.job} ({size})", quantity, f"{hourly:.4f}/task-h{split}", hourly * service.task_hours_a_week * WEEKS_A_MONTH)
        )
    if usage.extra_task_hours_a_night:
        risk = next((service for service in warm if service.job == "risk-calculation"), None)
        rate = risk.hourly_usd(1, prices) if risk else 0.0
        lines.append(
            CostLine(
                "risk tasks beyond the warm floor",
                f"{usage.extra_task_hours_a_night:.2f} task-h x {nights:.2f} nights",
                f"{rate:.4f}/task-h",
                rate * usage.extra_task_hours_a_night * nights,
            )
        )
    if usage.with_endpoints:
        endpoints, zones = interface_endpoint_zones(endpoints_template)
        price = prices["endpoint_az_hour"]
        lines.append(
            CostLine(
                "VPC interface endpoints (per VPC)",
                f"{endpoints} endpoints in {zones} AZ slots x {HOURS_A_MONTH:g} h",
                f"{price}/AZ-h",
                zones * HOURS_A_MONTH * price,
            )
        )
        gigabytes = usage.log_gb_a_night * nights  # the logs cross the logs endpoint; S3 (image layers too) goes through the free gateway
        lines.append(CostLine("VPC endpoints: data processed", f"{gigabytes:.2f} GB", f"{prices['endpoint_gb']}/GB", gigabytes * prices["endpoint_gb"]))
    ingested = usage.log_gb_a_night * nights
    retention = int(values.get("LogRetentionInDays", "30"))
    stored = usage.log_gb_a_night * nights * 12 / 365.25 * min(retention, 3653)  # the steady state: `retention` days of nights
    lines.append(CostLine("CloudWatch Logs ingestion", f"{ingested:.2f} GB", f"{prices['logs_ingestion_gb']}/GB", ingested * prices["logs_ingestion_gb"]))
    lines.append(
        CostLine(
            "CloudWatch Logs storage",
            f"{stored:.2f} GB-month ({retention} days kept)",
            f"{prices['logs_storage_gb_month']}/GB-month",
            stored * prices["logs_storage_gb_month"],
        )
    )
    keys = sum(1 for body in template["Resources"].values() if body["Type"] == "AWS::KMS::Key")
    lines.append(CostLine("KMS customer managed key", f"{keys} key-month", f"{prices['kms_key_month']}/key-month", keys * prices["kms_key_month"]))
    requests = usage.kms_requests_a_night * nights
    lines.append(CostLine("KMS requests", f"{requests:,.0f}", f"{prices['kms_requests_10k']}/10,000", requests / 10_000 * prices["kms_requests_10k"]))
    return lines


def warm_floor_a_night(template: dict[str, Any], values: dict[str, str], prices: dict[str, float]) -> float:
    """The warm workers of one business night's window, in USD."""
    return sum(service.hourly_usd(service.window_tasks, prices) * service.window_hours for service in warm_services(template, values))


def business_nights_a_month(template: dict[str, Any], values: dict[str, str]) -> float:
    return max((service.nights_a_week for service in warm_services(template, values)), default=5) * WEEKS_A_MONTH


def default_prices() -> dict[str, float]:
    """Fargate's (fargate.py) and the rest (PRICES), one mapping."""
    return {
        "on_demand_vcpu_hour": fargate.ON_DEMAND_VCPU_HOUR,
        "on_demand_gb_hour": fargate.ON_DEMAND_GB_HOUR,
        "spot_vcpu_hour": fargate.SPOT_VCPU_HOUR,
        "spot_gb_hour": fargate.SPOT_GB_HOUR,
        **PRICES,
    }

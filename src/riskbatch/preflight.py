"""Preflight: will tonight's run fit this account? Each check compares what the night needs with
what the account has, and names the fix when it does not fit.

The checks read the account only (describe, get, list calls); nothing changes. They run from
scripts/preflight.py before a deployment (and from scripts/deploy.py, before anything changes),
and the ones that can change from one day to the next (NIGHTLY) run again at the start of each
overnight window.

AWS facts relied on, each from its document:
- Fargate's vCPU quotas, service code fargate: L-3032A538 (On-Demand) and L-36FBB829 (Spot);
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html
- every Fargate task (awsvpc) takes one elastic network interface, so one IP address of its subnet;
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-networking.html
- ECS needs its service-linked role AWSServiceRoleForECS (created on first use, if the caller may);
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html
- S3 sends events to EventBridge only when the bucket's EventBridgeConfiguration is on;
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventBridge.html
- an SNS subscription is "PendingConfirmation" until its endpoint confirms it;
  https://docs.aws.amazon.com/sns/latest/api/API_Subscription.html
- an ECR lifecycle rule "imageCountMoreThan N" expires every image past the N newest.
  https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from .alerts import publish_alert

PASS, WARN, FAIL = "PASS", "WARN", "FAIL"
FARGATE_ON_DEMAND_VCPU = "L-3032A538"
FARGATE_SPOT_VCPU = "L-36FBB829"
ECS_SERVICE_LINKED_ROLE = "AWSServiceRoleForECS"
HEADROOM = 1.2  # a quota or an address pool within 20 % of the peak is a warning
BLOCKING_SEVERITIES = ("CRITICAL", "HIGH")


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
    tonight: Any = None  # riskbatch.plan.Night: tonight's book size and window, when given
    risk_workload_name: str = "risk-calculation"

    @property
    def risk_workload(self) -> Workload | None:
        return next((w for w in self.peak.workloads if w.name == self.risk_workload_name), None)


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
    )


def alert(sns: Any, topic_arn: str, environment_name: str, findings: list[Finding]) -> str:
    """Tell the alert topic, before the night, what will not fit and how to fix it."""
    problems = failed(findings)
    subject = f"Pre-night check {environment_name}: {len(problems)} check(s) failed"
    lines = [f"{f.check}: expected {f.expected}, found {f.found}. Fix: {f.fix}" for f in problems]
    message = "Tonight's run will not fit the account; fix before the files arrive:\n\n" + "\n".join(lines) + "\n\nAll checks:\n" + table(findings)
    return publish_alert(sns, topic_arn, subject, message)


Clients = Callable[[str], Any]  # service name -> boto3 client
Check = Callable[[Clients, Account], list[Finding]]


def _error_code(error: Exception) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__))


def fargate_quotas(clients: Clients, account: Account) -> list[Finding]:
    on_demand, spot = account.peak.vcpu()
    quotas = clients("service-quotas")
    findings = []
    wanted = (("Fargate On-Demand vCPU quota", FARGATE_ON_DEMAND_VCPU, on_demand), ("Fargate Spot vCPU quota", FARGATE_SPOT_VCPU, spot))
    for name, code, needed in wanted:
        expected = f">= {needed:g} vCPU (peak), {needed * HEADROOM:g} with headroom"
        fix = (
            "request an increase: aws service-quotas request-service-quota-increase --service-code fargate "
            f"--quota-code {code} --desired-value {math.ceil(needed * HEADROOM)}"
        )
        try:
            value = float(quotas.get_service_quota(ServiceCode="fargate", QuotaCode=code)["Quota"]["Value"])
        except Exception as error:  # the account's answer decides; a refused call is a finding, not a crash
            unknown = f"unknown ({_error_code(error)})"
            findings.append(Finding(name, expected, unknown, WARN, "allow servicequotas:GetServiceQuota, or check the quota in the console"))
            continue
        status = FAIL if value < needed else WARN if value < needed * HEADROOM else PASS
        findings.append(Finding(name, expected, f"{value:g} vCPU", status, fix if status != PASS else ""))
    return findings


def subnet_capacity(clients: Clients, account: Account) -> list[Finding]:
    subnets = clients("ec2").describe_subnets(SubnetIds=account.subnets)["Subnets"]
    peak = account.peak.tasks
    free = {subnet["SubnetId"]: int(subnet["AvailableIpAddressCount"]) for subnet in subnets}
    zones = {subnet["AvailabilityZone"] for subnet in subnets}
    total = sum(free.values())
    findings = [
        Finding(
            "free IP addresses in the task subnets",
            f">= {peak} (one per task at the peak), {math.ceil(peak * HEADROOM)} with headroom",
            ", ".join(f"{subnet} {count}" for subnet, count in sorted(free.items())) + f" (total {total})",
            FAIL if total < peak else WARN if total < peak * HEADROOM else PASS,
            "" if total >= peak * HEADROOM else "free addresses (delete unused ENIs) or give the stack larger subnets (PrivateSubnet1Id..3Id)",
        )
    ]
    findings.append(
        Finding(
            "task subnets in distinct Availability Zones",
            f"{len(account.subnets)} zones",
            ", ".join(sorted(zones)),
            PASS if len(zones) == len(account.subnets) else FAIL,
            "" if len(zones) == len(account.subnets) else "choose one private subnet in each of three zones",
        )
    )
    return findings


def service_linked_role(clients: Clients, account: Account) -> list[Finding]:
    iam = clients("iam")
    try:
        iam.get_role(RoleName=ECS_SERVICE_LINKED_ROLE)
        return [Finding("ECS service-linked role", "exists", "exists", PASS)]
    except Exception as error:
        if _error_code(error) != "NoSuchEntity":
            return [Finding("ECS service-linked role", "exists", f"unknown ({_error_code(error)})", WARN, "allow iam:GetRole on it")]
    fix = "aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com"
    return [Finding("ECS service-linked role", "exists (ECS creates it on first use if the deployer may)", "missing", WARN, fix)]


def input_bucket_events(clients: Clients, account: Account) -> list[Finding]:
    if not account.input_bucket:
        return []
    configuration = clients("s3").get_bucket_notification_configuration(Bucket=account.input_bucket)
    on = "EventBridgeConfiguration" in configuration
    return [
        Finding(
            "input bucket sends its events to EventBridge",
            "on",
            "on" if on else "off",
            PASS if on else FAIL,
            "" if on else f"python scripts/enable_bucket_events.py --bucket {account.input_bucket} (no file would start an ingestion task)",
        )
    ]


def output_bucket_encryption(clients: Clients, account: Account) -> list[Finding]:
    if not account.output_bucket:
        return []
    expected = "SSE-S3, or SSE-KMS with the stack's key"
    try:
        rules = clients("s3").get_bucket_encryption(Bucket=account.output_bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    except Exception as error:
        if _error_code(error) == "ServerSideEncryptionConfigurationNotFoundError":
            return [Finding("output bucket encryption", expected, "S3's default (SSE-S3)", PASS)]
        raise
    default = rules[0]["ApplyServerSideEncryptionByDefault"]
    algorithm, key = default["SSEAlgorithm"], default.get("KMSMasterKeyID")
    if algorithm == "AES256":
        return [Finding("output bucket encryption", expected, "SSE-S3", PASS)]
    if key and account.key_arn and (key == account.key_arn or account.key_arn.endswith(key.rsplit("/", 1)[-1])):
        return [Finding("output bucket encryption", expected, f"{algorithm} with the stack's key", PASS)]
    fix = "use SSE-S3 or the stack's key, or grant the task roles kms:GenerateDataKey and kms:Decrypt on this key"
    return [Finding("output bucket encryption", expected, f"{algorithm} with {key or 'the AWS managed key'}", FAIL, fix)]


def images(clients: Clients, account: Account) -> list[Finding]:
    ecr = clients("ecr")
    findings = []
    tag = account.image_tag
    for repository in account.repositories:
        name = f"image {repository}:{tag}"
        push = f"push it: make images, then docker push <registry>/{repository}:{tag} (docs/runbook.md, 'Pushing the images')"
        try:
            (detail,) = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])["imageDetails"]
        except Exception as error:
            code = _error_code(error)
            if code in ("ImageNotFoundException", "RepositoryNotFoundException"):
                findings.append(Finding(name, "present, scanned, no CRITICAL or HIGH finding", f"missing ({code})", FAIL, push))
            else:
                findings.append(Finding(name, "readable", f"unreadable ({code})", FAIL, "allow ecr:DescribeImages on the repository"))
            continue
        try:
            scan = ecr.describe_image_scan_findings(repositoryName=repository, imageId={"imageTag": tag})
            status = scan["imageScanStatus"]["status"]
            counts = scan.get("imageScanFindings", {}).get("findingSeverityCounts", {})
        except Exception as error:
            if _error_code(error) != "ScanNotFoundException":
                raise
            status, counts = "none", {}
        blocking = {severity: counts[severity] for severity in BLOCKING_SEVERITIES if counts.get(severity)}
        if status != "COMPLETE":
            pending = WARN if status == "IN_PROGRESS" else FAIL
            findings.append(Finding(name, "scan COMPLETE", f"scan {status}", pending, "aws ecr start-image-scan, and wait"))
        elif blocking:
            findings.append(Finding(name, "no CRITICAL or HIGH finding", json.dumps(blocking), FAIL, "rebuild on patched packages and push a new tag"))
        else:
            findings.append(Finding(name, "present, scanned, no CRITICAL or HIGH finding", f"{detail['imageDigest'][:19]}, scan COMPLETE, clean", PASS))
        findings.extend(_lifecycle(ecr, repository, tag, detail))
    return findings


def _lifecycle(ecr: Any, repository: str, tag: str | None, detail: dict[str, Any]) -> list[Finding]:
    """Images newer than the one the stack runs, against the lifecycle rule's count: past it, the
    image is expired; at it less one, the next push expires it."""
    try:
        policy = json.loads(ecr.get_lifecycle_policy(repositoryName=repository)["lifecyclePolicyText"])
    except Exception as error:
        if _error_code(error) == "LifecyclePolicyNotFoundException":
            return []
        raise
    counts = [rule["selection"]["countNumber"] for rule in policy.get("rules", []) if rule.get("selection", {}).get("countType") == "imageCountMoreThan"]
    if not counts:
        return []
    keep = min(counts)
    pushed = detail.get("imagePushedAt")
    newer = 0
    for page in ecr.get_paginator("describe_images").paginate(repositoryName=repository):
        newer += sum(1 for image in page["imageDetails"] if pushed is not None and image.get("imagePushedAt") and image["imagePushedAt"] > pushed)
    name = f"lifecycle of {repository}:{tag}"
    expected = f"fewer than {keep - 1} newer images (the rule keeps {keep})"
    if newer >= keep:
        return [Finding(name, expected, f"{newer} newer: expired", FAIL, "push the tag again, or deploy a newer tag")]
    if newer >= keep - 1:
        return [Finding(name, expected, f"{newer} newer: the next push expires it", WARN, "deploy a newer tag before pushing another image")]
    return [Finding(name, expected, f"{newer} newer", PASS)]


def alert_subscription(clients: Clients, account: Account) -> list[Finding]:
    if not account.topic_arn:
        return []
    subscriptions = []
    for page in clients("sns").get_paginator("list_subscriptions_by_topic").paginate(TopicArn=account.topic_arn):
        subscriptions += page["Subscriptions"]
    confirmed = [s for s in subscriptions if s["SubscriptionArn"] not in ("PendingConfirmation", "Deleted")]
    pending = len(subscriptions) - len(confirmed)
    found = f"{len(confirmed)} confirmed" + (f", {pending} pending" if pending else "")
    fix = "confirm the subscription (the link in the e-mail AWS sent), or subscribe: NotificationEmail"
    return [Finding("alert topic has a confirmed subscriber", ">= 1 confirmed", found, PASS if confirmed else FAIL, "" if confirmed else fix)]


def kms_key(clients: Clients, account: Account) -> list[Finding]:
    if not account.key_arn:
        return []
    kms = clients("kms")
    state = kms.describe_key(KeyId=account.key_arn)["KeyMetadata"]["KeyState"]
    rotation = kms.get_key_rotation_status(KeyId=account.key_arn)["KeyRotationEnabled"]
    enabled = state == "Enabled"
    return [
        Finding("stack key enabled", "Enabled", state, PASS if enabled else FAIL, "" if enabled else "aws kms enable-key (or cancel its deletion)"),
        Finding("stack key rotation", "on", "on" if rotation else "off", PASS if rotation else FAIL, "" if rotation else "aws kms enable-key-rotation"),
    ]


def alarms(clients: Clients, account: Account) -> list[Finding]:
    if not account.alarm_names:
        return []
    found = []
    cloudwatch = clients("cloudwatch")
    for start in range(0, len(account.alarm_names), 100):
        found += cloudwatch.describe_alarms(AlarmNames=account.alarm_names[start : start + 100])["MetricAlarms"]
    firing = sorted(alarm["AlarmName"] for alarm in found if alarm["StateValue"] == "ALARM")
    return [
        Finding(
            "alarms that notify are quiet",
            "OK or INSUFFICIENT_DATA",
            ", ".join(firing) + " in ALARM" if firing else f"{len(found)} quiet",
            FAIL if firing else PASS,
            "read the alarm's description and the runbook; clear its cause (a dead-letter queue: redrive or purge)" if firing else "",
        )
    ]


def _quota(clients: Clients, code: str) -> float:
    return float(clients("service-quotas").get_service_quota(ServiceCode="fargate", QuotaCode=code)["Quota"]["Value"])


def night_fits(clients: Clients, account: Account) -> list[Finding]:
    """riskbatch plan's hours for tonight's book on the risk tasks the quota leaves, against the window."""
    if account.tonight is None or account.risk_workload is None:
        return []
    from .plan import hours_with, load_calibration

    night, risk = account.tonight, account.risk_workload
    others_on_demand, others_spot = Peak(tuple(w for w in account.peak.workloads if w.name != risk.name)).vcpu()
    name = "tonight's book fits before 09:30 New York"
    try:
        spare = _quota(clients, FARGATE_ON_DEMAND_VCPU) - others_on_demand
        if risk.capacity.spot_weight:
            spare += _quota(clients, FARGATE_SPOT_VCPU) - others_spot
    except Exception as error:
        return [Finding(name, "the quota known", f"unknown ({_error_code(error)})", WARN, "allow servicequotas:GetServiceQuota")]
    tasks = max(0, min(risk.tasks, math.floor(spare / risk.vcpu)))
    window = night.window_hours * (1 - night.safety)
    expected = f"<= {window:.1f} h ({night.window_hours:.1f} h to 09:30, {100 * night.safety:.0f} % kept free)"
    if tasks == 0:
        return [Finding(name, expected, "no risk task fits in the quota", FAIL, "request a Fargate vCPU quota increase")]
    hours = hours_with(night, load_calibration(), int(risk.vcpu * 1024), tasks)
    fits = hours <= window
    found = f"{hours * 60:.1f} min on {tasks} task(s) of {risk.vcpu:g} vCPU ({night.positions:,} positions, {night.scenarios:,} scenarios)"
    fix = "" if fits else "raise RiskCalculationMaxTasks and the Fargate quota, or split the book"
    return [Finding(name, expected, found, PASS if fits else FAIL, fix)]


ALL: tuple[Check, ...] = (
    fargate_quotas, subnet_capacity, service_linked_role, input_bucket_events, output_bucket_encryption,
    images, alert_subscription, kms_key, alarms, night_fits,
)  # fmt: skip
# What can change from one day to the next: run at the start of each overnight window.
NIGHTLY: tuple[Check, ...] = (fargate_quotas, subnet_capacity, images, alert_subscription)


def run_checks(clients: Clients, account: Account, checks: tuple[Check, ...] = ALL) -> list[Finding]:
    findings = []
    for check in checks:
        try:
            findings += check(clients, account)
        except Exception as error:  # one check's failure to read is its own finding; the others still run
            said = f"error: {_error_code(error)}: {error}"
            findings.append(Finding(check.__name__.replace("_", " "), "readable", said, FAIL, "see the error; the caller may lack a read permission"))
    return findings


def failed(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.status == FAIL]


def table(findings: list[Finding]) -> str:
    rows = [("check", "expected", "found", "status", "how to fix")] + [(f.check, f.expected, f.found, f.status, f.fix) for f in findings]
    widths = [min(max(len(row[i]) for row in rows), 60) for i in range(4)]
    lines = []
    for row in rows:
        cells = [row[i][: widths[i]].ljust(widths[i]) for i in range(4)]
        lines.append("  ".join(cells) + ("  " + row[4] if row[4] else ""))
    return "\n".join(lines)


def as_json(findings: list[Finding]) -> str:
    return json.dumps([asdict(finding) for finding in findings], indent=2)

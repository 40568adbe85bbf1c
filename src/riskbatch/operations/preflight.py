"""Preflight: will tonight's run fit this account? Each check compares what the night needs with
what the account has, and names the fix when it does not fit.

The checks read the account only (describe, get, list calls); nothing changes. They run from
riskbatch-preflight before a deployment (and from riskbatch-deploy, before anything changes),
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
- CloudWatch runs an alarm's actions on state transitions only: an alarm already in ALARM (a dead
  letter nobody purged) notifies nobody of the next one, so the check lists them and what the
  dead-letter queues still hold.
  https://docs.amazonaws.cn/en_us/AmazonCloudWatch/latest/monitoring/alarm-actions.html
- EventBridge writes to a CloudWatch Logs log group only under a logs resource policy that lets
  events.amazonaws.com call logs:CreateLogStream and logs:PutLogEvents on it.
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.md
- the output bucket keeps years of reports and run records only if an overwrite or a delete keeps
  the older version (versioning), and it keeps them affordably and unalterably only with an archive
  storage class reached by a lifecycle transition, or Object Lock's default retention:
  GetBucketVersioning, GetObjectLockConfiguration and GetBucketLifecycleConfiguration (whose IAM
  actions are s3:GetBucketVersioning, s3:GetBucketObjectLockConfiguration, s3:GetLifecycleConfiguration).
  https://docs.amazonaws.cn/en_us/AmazonS3/latest/userguide/Versioning.md
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.md
  https://docs.aws.amazon.com/goto/WebAPI/s3-2006-03-01/Transition (GLACIER_IR, GLACIER, DEEP_ARCHIVE)
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html

Over 400 lines on purpose: one check a function, all reading the same Account and Workload;
the pre-night task and the deployer's preflight run this one list, so it stays in one module.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from riskbatch.aws.alerts import publish_alert

PASS, WARN, FAIL = "PASS", "WARN", "FAIL"
FARGATE_ON_DEMAND_VCPU = "L-3032A538"
FARGATE_SPOT_VCPU = "L-36FBB829"
ECS_SERVICE_LINKED_ROLE = "AWSServiceRoleForECS"
HEADROOM = 1.2  # a quota or an address pool within 20 % of the peak is a warning
BLOCKING_SEVERITIES = ("CRITICAL", "HIGH")
# Image scan statuses (ECR API reference, ImageScanStatus:
# https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageScanStatus.html). Basic scanning
# ends in COMPLETE; enhanced (Inspector) scanning reports ACTIVE while it keeps scanning the image
# continuously, with findings to judge. The waiting ones may still end well; the others never will.
SCAN_JUDGED = ("COMPLETE", "ACTIVE")
SCAN_WAITING = ("IN_PROGRESS", "PENDING")


def registry_scan_type(ecr: Any) -> str:
    """BASIC or ENHANCED: the registry's scanning configuration, which governs every repository
    (repository-level scan settings are deprecated in its favour)."""
    return str(ecr.get_registry_scanning_configuration().get("scanningConfiguration", {}).get("scanType", "BASIC"))


def scan_findings(ecr: Any, repository: str, tag: str) -> tuple[str, dict[str, int]]:
    """(scan status, findings by severity) of repository:tag. Basic scanning counts them in
    findingSeverityCounts; enhanced scanning lists enhancedFindings, each with its severity, a page at
    a time: both are read, and the larger count of a severity kept."""
    status, counts, enhanced = "", {}, {}
    token = None
    while True:
        page = ecr.describe_image_scan_findings(repositoryName=repository, imageId={"imageTag": tag}, **({"nextToken": token} if token else {}))
        status = page["imageScanStatus"]["status"]
        found = page.get("imageScanFindings", {})
        counts = {key: int(value) for key, value in found.get("findingSeverityCounts", {}).items()} or counts
        for finding in found.get("enhancedFindings", []):
            enhanced[finding.get("severity", "UNTRIAGED")] = enhanced.get(finding.get("severity", "UNTRIAGED"), 0) + 1
        token = page.get("nextToken")
        if not token:
            break
    return status, {severity: max(counts.get(severity, 0), enhanced.get(severity, 0)) for severity in {*counts, *enhanced}}


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
    tonight: Any = None  # riskbatch.operations.plan.Night: tonight's book size and window, when given
    risk_workload_name: str = "risk-calculation"
    # The nightly check fails on what the last nights left behind (dead letters, alarms in ALARM); a
    # deploy only warns of it, so that the deploy that fixes its cause is not refused.
    nightly: bool = False

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
        alarm_names=[item for item in environment.get("ALARM_NAMES", "").split(",") if item],
        dead_letter_queues=[item for item in environment.get("DEAD_LETTER_QUEUES", "").split(",") if item],
        task_events_log_group_arn=environment.get("TASK_EVENTS_LOG_GROUP_ARN") or None,
        output_bucket=environment.get("OUTPUT_BUCKET") or None,
        nightly=True,
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
            "" if on else f"riskbatch-enable-bucket-events {account.input_bucket} (no file would start an ingestion task)",
        )
    ]


def _same_key(key: str | None, key_arn: str | None) -> bool:
    """Whether a bucket's KMSMasterKeyID (a key ARN or id) names the key of this ARN."""
    return bool(key and key_arn and (key == key_arn or key_arn.endswith(key.rsplit("/", 1)[-1])))


def _bucket_default_encryption(s3: Any, bucket: str) -> tuple[str, str | None]:
    """(SSEAlgorithm, KMSMasterKeyID) of the bucket's default encryption; S3's default is SSE-S3."""
    try:
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    except Exception as error:
        if _error_code(error) == "ServerSideEncryptionConfigurationNotFoundError":
            return "AES256", None
        raise
    default = rules[0]["ApplyServerSideEncryptionByDefault"]
    return default["SSEAlgorithm"], default.get("KMSMasterKeyID")


def input_bucket_encryption(clients: Clients, account: Account) -> list[Finding]:
    """Ingestion reads the input bucket's objects: under a customer key, only the key given as
    InputBucketKmsKeyArn is one the ingestion role may decrypt with.
    https://docs.amazonaws.cn/en_us/AmazonS3/latest/userguide/UsingKMSEncryption.html"""
    if not account.input_bucket:
        return []
    algorithm, key = _bucket_default_encryption(clients("s3"), account.input_bucket)
    expected = "SSE-S3, the AWS managed key, or SSE-KMS with InputBucketKmsKeyArn"
    if algorithm == "AES256":
        return [Finding("input bucket encryption", expected, "SSE-S3", PASS)]
    if not key or key.endswith("alias/aws/s3"):
        return [Finding("input bucket encryption", expected, f"{algorithm} with the AWS managed key", PASS)]
    if _same_key(key, account.input_bucket_key_arn):
        return [Finding("input bucket encryption", expected, f"{algorithm} with InputBucketKmsKeyArn", PASS)]
    given = f" (InputBucketKmsKeyArn is {account.input_bucket_key_arn})" if account.input_bucket_key_arn else " (InputBucketKmsKeyArn not set)"
    fix = "deploy with --parameter InputBucketKmsKeyArn=<the bucket's key ARN>, and let the ingestion task role use it in the key's policy"
    return [Finding("input bucket encryption", expected, f"{algorithm} with {key}{given}", FAIL, fix)]


def output_bucket_encryption(clients: Clients, account: Account) -> list[Finding]:
    if not account.output_bucket:
        return []
    expected = "SSE-S3, or SSE-KMS with the stack's key"
    algorithm, key = _bucket_default_encryption(clients("s3"), account.output_bucket)
    if algorithm == "AES256":
        return [Finding("output bucket encryption", expected, "SSE-S3", PASS)]
    if _same_key(key, account.key_arn):
        return [Finding("output bucket encryption", expected, f"{algorithm} with the stack's key", PASS)]
    fix = "use SSE-S3 or the stack's key, or grant the task roles kms:GenerateDataKey and kms:Decrypt on this key"
    return [Finding("output bucket encryption", expected, f"{algorithm} with {key or 'the AWS managed key'}", FAIL, fix)]


# What the output bucket holds for years: the reports, the runs' manifests and results, the backtest history.
RECORD_PREFIXES = ("reports/", "runs/", "history/")
ARCHIVE_CLASSES = ("GLACIER_IR", "GLACIER", "DEEP_ARCHIVE")  # S3 Glacier Instant Retrieval, Flexible Retrieval, Deep Archive


def _rule_prefix(rule: dict[str, Any]) -> str | None:
    """The key prefix a lifecycle rule applies to ("" for the whole bucket), or None when it selects
    by tag or size too: then it covers only some of the records."""
    selection = rule.get("Filter", {"Prefix": rule.get("Prefix", "")})
    if set(selection) - {"Prefix"}:
        return selection.get("And", {}).get("Prefix") if set(selection) == {"And"} and set(selection["And"]) == {"Prefix"} else None
    return str(selection.get("Prefix", ""))


def _archived_prefixes(rules: list[dict[str, Any]]) -> dict[str, str]:
    """record prefix -> "<class> after <n> days", for each record prefix an enabled rule moves to an archive class."""
    found: dict[str, str] = {}
    for rule in rules:
        prefix = _rule_prefix(rule)
        if rule.get("Status") != "Enabled" or prefix is None:
            continue
        for transition in rule.get("Transitions", []):
            if transition.get("StorageClass") in ARCHIVE_CLASSES:
                for record in RECORD_PREFIXES:
                    if record.startswith(prefix):
                        found.setdefault(record, f"{transition['StorageClass']} after {transition.get('Days', '?')} days")
    return found


def _object_lock(s3: Any, bucket: str) -> str | None:
    """'<MODE> <n> days|years' when Object Lock with a default retention is on, else None."""
    try:
        configuration = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    except Exception as error:
        if _error_code(error) == "ObjectLockConfigurationNotFoundError":
            return None
        raise
    retention = configuration.get("Rule", {}).get("DefaultRetention", {})
    if configuration.get("ObjectLockEnabled") != "Enabled" or not retention:
        return None
    # S3 answers with Days or Years; moto with both, the unused one 0
    period = f"{retention['Days']} days" if retention.get("Days") else f"{retention.get('Years', '?')} years"
    return f"{retention.get('Mode', '?')} {period}"


def _lifecycle_rules(s3: Any, bucket: str) -> list[dict[str, Any]]:
    try:
        return list(s3.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", []))
    except Exception as error:
        if _error_code(error) == "NoSuchLifecycleConfiguration":
            return []
        raise


def output_bucket_retention(clients: Clients, account: Account) -> list[Finding]:
    """The output bucket keeps years of reports and run records: versioning on (an overwrite or a
    delete keeps the older version), and Object Lock's default retention or a lifecycle rule that
    moves reports/, runs/ and history/ to an archive storage class."""
    if not account.output_bucket:
        return []
    s3, bucket = clients("s3"), account.output_bucket
    versioning = s3.get_bucket_versioning(Bucket=bucket).get("Status", "never enabled")
    on = versioning == "Enabled"
    findings = [
        Finding(
            "output bucket versioning",
            "Enabled (an overwritten or deleted report keeps its older version)",
            versioning,
            PASS if on else FAIL,
            "" if on else f"aws s3api put-bucket-versioning --bucket {bucket} --versioning-configuration Status=Enabled",
        )
    ]
    lock, archived = _object_lock(s3, bucket), _archived_prefixes(_lifecycle_rules(s3, bucket))
    missing = [prefix for prefix in RECORD_PREFIXES if prefix not in archived]
    kept = lock is not None or not missing
    found = "; ".join(
        part
        for part in (
            f"Object Lock {lock}" if lock else "no Object Lock default retention",
            ", ".join(f"{prefix} to {how}" for prefix, how in sorted(archived.items())) if archived else "no lifecycle rule to an archive class",
        )
    )
    fix = (
        f"add a lifecycle rule moving {', '.join(missing)} to GLACIER_IR, GLACIER or DEEP_ARCHIVE, or turn on Object Lock "
        "with a default retention (docs/runbook.md, 'The output bucket: years of reports and run records')"
    )
    findings.append(
        Finding(
            "output bucket keeps the records for years",
            f"Object Lock default retention, or a lifecycle rule moving {', '.join(RECORD_PREFIXES)} to an archive class",
            found,
            PASS if kept else WARN,
            "" if kept else fix,
        )
    )
    return findings


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
            status, counts = scan_findings(ecr, repository, str(tag))
        except Exception as error:
            if _error_code(error) != "ScanNotFoundException":
                raise
            status, counts = "none", {}
        blocking = {severity: counts[severity] for severity in BLOCKING_SEVERITIES if counts.get(severity)}
        if status not in SCAN_JUDGED:
            pending = WARN if status in SCAN_WAITING else FAIL
            fix = "wait for the scan" if pending == WARN else _rescan_fix(status)
            findings.append(Finding(name, f"scan {' or '.join(SCAN_JUDGED)}", f"scan {status}", pending, fix))
        elif blocking:
            findings.append(Finding(name, "no CRITICAL or HIGH finding", json.dumps(blocking), FAIL, "rebuild on patched packages and push a new tag"))
        else:
            findings.append(Finding(name, "present, scanned, no CRITICAL or HIGH finding", f"{detail['imageDigest'][:19]}, scan {status}, clean", PASS))
        findings.extend(_lifecycle(ecr, repository, tag, detail))
    return findings


def _rescan_fix(status: str) -> str:
    """What to do about a scan that will not end well by waiting."""
    if status == "SCAN_ELIGIBILITY_EXPIRED":
        return "the enhanced scan's duration for this image ran out: push the image again or lengthen Inspector's ECR re-scan duration"
    if status in ("FINDINGS_UNAVAILABLE", "UNSUPPORTED_IMAGE"):
        return f"scan {status}: the scanner cannot judge this image; rebuild it on a supported base, or scan it another way and record the exception"
    return "aws ecr start-image-scan (basic scanning), and wait"


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


def _notifying_alarms(cloudwatch: Any, account: Account) -> list[dict[str, Any]]:
    """The alarms that notify the topic: by name (the stack's, from its template and, in the nightly
    task, its ALARM_NAMES), or else every alarm whose actions name the topic (DescribeAlarms' ActionPrefix)."""
    found: list[dict[str, Any]] = []
    if account.alarm_names:
        # one alarm a call: a role may then be granted DescribeAlarms on exactly those alarms' ARNs
        for name in account.alarm_names:
            found += cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    elif account.topic_arn:
        for page in cloudwatch.get_paginator("describe_alarms").paginate(ActionPrefix=account.topic_arn):
            found += page["MetricAlarms"]
    return found


def alarms(clients: Clients, account: Account) -> list[Finding]:
    if not account.alarm_names and not account.topic_arn:
        return []
    cloudwatch = clients("cloudwatch")
    found = _notifying_alarms(cloudwatch, account)
    firing = sorted(alarm["AlarmName"] for alarm in found if alarm["StateValue"] == "ALARM")
    return [
        Finding(
            "alarms that notify are quiet",
            "OK or INSUFFICIENT_DATA (one in ALARM notifies nobody of its next cause)",
            f"{len(firing)} in ALARM: {', '.join(firing)}" if firing else f"{len(found)} quiet",
            (FAIL if account.nightly else WARN) if firing else PASS,
            "read the alarm's description and the runbook; clear its cause (a dead-letter queue: redrive or purge)" if firing else "",
        )
    ]


def dead_letters(clients: Clients, account: Account) -> list[Finding]:
    """Dead-letter queues that still hold messages: each one is a unit, run or event the night lost."""
    if not account.dead_letter_queues:
        return []
    sqs = clients("sqs")
    held = {}
    for url in account.dead_letter_queues:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        count = sum(int(attributes.get(name, 0)) for name in names)
        if count:
            held[url.rsplit("/", 1)[-1]] = count
    found = ", ".join(f"{name} {count}" for name, count in sorted(held.items()))
    return [
        Finding(
            "dead-letter queues are empty",
            f"0 messages in {len(account.dead_letter_queues)} queues",
            found if held else "all empty",
            (FAIL if account.nightly else WARN) if held else PASS,
            "read the messages, fix the cause, then redrive them (aws sqs start-message-move-task) or purge them" if held else "",
        )
    ]


def _matches_any(value: str, patterns: Any) -> bool:
    from fnmatch import fnmatchcase

    return any(fnmatchcase(value, str(pattern)) for pattern in ([patterns] if isinstance(patterns, str) else patterns or []))


def _log_policy_allows(document: dict[str, Any], log_group_arn: str) -> bool:
    """Whether a logs resource policy lets EventBridge create streams in and write to the log group
    (IAM's wildcards * and ? honoured in actions and resources)."""
    base = log_group_arn.removesuffix(":*")
    targets = (base, f"{base}:*", f"{base}:log-stream:riskbatch-probe")
    needed = {"logs:CreateLogStream": False, "logs:PutLogEvents": False}
    statements = document.get("Statement", [])
    for statement in [statements] if isinstance(statements, dict) else statements:
        principal = statement.get("Principal", {})
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        if statement.get("Effect") != "Allow" or not (principal == "*" or _matches_any("events.amazonaws.com", services)):
            continue
        if not any(_matches_any(target, statement.get("Resource", [])) for target in targets):
            continue
        actions = statement.get("Action", [])
        allowed = [action.lower() for action in ([actions] if isinstance(actions, str) else actions)]
        for action in needed:
            needed[action] = needed[action] or _matches_any(action.lower(), allowed)
    return all(needed.values())


def _document(text: Any) -> dict[str, Any]:
    """A policy document as the API gives it: a JSON string (the emulator hands back the object
    CloudFormation was given)."""
    return text if isinstance(text, dict) else json.loads(text or "{}")


def task_events_log_policy(clients: Clients, account: Account) -> list[Finding]:
    """A logs resource policy lets EventBridge write the task state changes to the task events log
    group: the stack's own, or the account's shared one (CreateTaskEventsLogPolicy=false). Without
    it, no task failure is ever counted and the failure-rate alarm stays silent."""
    if not account.task_events_log_group_arn:
        return []
    logs = clients("logs")
    policies: list[dict[str, Any]] = []
    token = None
    while True:
        page = logs.describe_resource_policies(**({"nextToken": token} if token else {}))
        policies += page.get("resourcePolicies", [])
        token = page.get("nextToken")
        if not token:
            break
    covering = sorted(p["policyName"] for p in policies if _log_policy_allows(_document(p.get("policyDocument")), account.task_events_log_group_arn))
    name = "logs resource policy covers the task events log group"
    expected = "events.amazonaws.com may logs:CreateLogStream and logs:PutLogEvents on it"
    if covering:
        return [Finding(name, expected, f"allowed by {', '.join(covering)}", PASS)]
    fix = "put the shared policy (docs/runbook.md, 'The shared logs resource policy'), or deploy with CreateTaskEventsLogPolicy=true"
    return [Finding(name, expected, f"none of {len(policies)} policies allows it", FAIL, fix)]


def _quota(clients: Clients, code: str) -> float:
    return float(clients("service-quotas").get_service_quota(ServiceCode="fargate", QuotaCode=code)["Quota"]["Value"])


def night_fits(clients: Clients, account: Account) -> list[Finding]:
    """riskbatch plan's hours for tonight's book on the risk tasks the quota leaves, against the window."""
    if account.tonight is None or account.risk_workload is None:
        return []
    from riskbatch.operations.plan import hours_with, load_calibration

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
    fargate_quotas, subnet_capacity, service_linked_role, input_bucket_events, input_bucket_encryption, output_bucket_encryption,
    output_bucket_retention, images, alert_subscription, kms_key, alarms, dead_letters, task_events_log_policy, night_fits,
)  # fmt: skip
# What can change from one day to the next: run at the start of each overnight window.
NIGHTLY: tuple[Check, ...] = (
    fargate_quotas, subnet_capacity, output_bucket_retention, images, alert_subscription, alarms, dead_letters, task_events_log_policy,
)  # fmt: skip


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

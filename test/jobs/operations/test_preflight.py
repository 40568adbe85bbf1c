"""Preflight's checks, each with a case that passes and a case that fails with its fix named.

Against moto in-process where it models the API; Service Quotas' Fargate answers, which moto does
not model, through botocore's Stubber, whose responses are validated against the boto3 service
model (a response of the wrong shape fails the test).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from riskbatch.operations.plan import Night
from riskbatch.operations.preflight import buckets, capacity, checks, findings, images, monitoring
from riskbatch.operations.preflight.checks import run_checks
from riskbatch.operations.preflight.findings import FAIL, PASS, WARN, Account, Capacity, Peak, Workload, account_from_environment

REGION = "us-east-1"
PEAK = Peak((Workload("data-ingestion", 2, 1.0), Workload("risk-calculation", 20, 2.0, Capacity(1, 1, 3)), Workload("report-generation", 2, 1.0)))


def _quota_client(values: dict[str, float | Exception]) -> Any:
    client = boto3.client("service-quotas", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    for code, value in values.items():
        if isinstance(value, Exception):
            stubber.add_client_error("get_service_quota", service_error_code=str(value), http_status_code=403)
            continue
        quota = {"ServiceCode": "fargate", "QuotaCode": code, "QuotaName": code, "Value": value, "Adjustable": True, "GlobalQuota": False}
        stubber.add_response("get_service_quota", {"Quota": quota}, {"ServiceCode": "fargate", "QuotaCode": code})
    stubber.activate()
    return client


def test_the_peak_splits_each_service_by_its_capacity_provider_strategy() -> None:
    assert Capacity(1, 1, 3).split(20) == (6, 14)  # the base on Fargate, then one in four
    assert Capacity().split(2) == (2, 0)
    assert PEAK.tasks == 24 and PEAK.vcpu() == (2 + 12 + 2, 28)


@pytest.mark.parametrize(
    ("on_demand", "spot", "expected"),
    [(64.0, 64.0, [PASS, PASS]), (18.0, 64.0, [WARN, PASS]), (8.0, 20.0, [FAIL, FAIL]), (Exception("AccessDeniedException"), 64.0, [WARN, PASS])],
    ids=["enough", "within-headroom", "too-small", "unreadable"],
)
def test_fargate_quotas_against_the_peak(on_demand: Any, spot: Any, expected: list[str]) -> None:
    client = _quota_client({capacity.FARGATE_ON_DEMAND_VCPU: on_demand, capacity.FARGATE_SPOT_VCPU: spot})
    findings = capacity.fargate_quotas(lambda service: client, Account(subnets=[], peak=PEAK))
    assert [f.status for f in findings] == expected
    for finding in findings:
        if finding.status == FAIL:
            assert "request-service-quota-increase" in finding.fix and "--service-code fargate" in finding.fix


@pytest.fixture
def aws() -> Iterator[Any]:
    with mock_aws():
        yield lambda service: boto3.client(service, region_name=REGION)


def _subnets(clients: Any, prefix: int, zones: str, used: int = 0) -> list[str]:
    ec2 = clients("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = []
    for index, zone in enumerate(zones):
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{index}.0/{prefix}", AvailabilityZone=f"{REGION}{zone}")["Subnet"]["SubnetId"]
        for _ in range(used):
            ec2.create_network_interface(SubnetId=subnet)
        subnets.append(subnet)
    return subnets


def test_subnets_with_room_for_the_peak_in_three_zones_pass(aws: Any) -> None:
    findings = capacity.subnet_capacity(aws, Account(subnets=_subnets(aws, 24, "abc"), peak=PEAK))
    assert [f.status for f in findings] == [PASS, PASS]


def test_nearly_full_subnets_fail_and_name_the_fix(aws: Any) -> None:
    # /28: 11 addresses AWS leaves free; 7 taken in each leaves 12 for a peak of 24 tasks
    (addresses, zones) = capacity.subnet_capacity(aws, Account(subnets=_subnets(aws, 28, "abc", used=7), peak=PEAK))
    assert addresses.status == FAIL and "total 12" in addresses.found and "subnets" in addresses.fix
    assert zones.status == PASS


def test_subnets_sharing_a_zone_fail(aws: Any) -> None:
    findings = capacity.subnet_capacity(aws, Account(subnets=_subnets(aws, 24, "aab"), peak=PEAK))
    assert findings[1].status == FAIL and "three zones" in findings[1].fix


def test_the_service_linked_role_missing_is_a_warning_with_the_command(aws: Any) -> None:
    (finding,) = capacity.service_linked_role(aws, Account(subnets=[], peak=PEAK))
    assert finding.status == WARN and "create-service-linked-role --aws-service-name ecs.amazonaws.com" in finding.fix
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    aws("iam").create_role(RoleName="AWSServiceRoleForECS", Path="/aws-service-role/ecs.amazonaws.com/", AssumeRolePolicyDocument=json.dumps(trust))
    assert capacity.service_linked_role(aws, Account(subnets=[], peak=PEAK))[0].status == PASS


def test_input_bucket_events_off_fail_with_the_script_that_switches_them_on(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import shlex

    from riskbatch_platform.deployment import enable_bucket_events

    aws("s3").create_bucket(Bucket="risk-input-x")
    account = Account(subnets=[], peak=PEAK, input_bucket="risk-input-x")
    (finding,) = buckets.input_bucket_events(aws, account)
    assert finding.status == FAIL
    # the hint is a command the script takes as written: run it, and the check passes
    command = shlex.split(finding.fix.split(" (")[0])
    assert command[:1] == ["riskbatch-enable-bucket-events"]
    monkeypatch.setenv("AWS_REGION", REGION)  # the runbook's export: the script takes the region as the AWS CLI does
    assert enable_bucket_events.main(command[1:]) == 0
    # moto keeps the switch but leaves it out of its GET answer; the emulator's fix reports it
    from riskbatch_platform.local.emulator.patching import Patcher
    from riskbatch_platform.local.emulator.s3 import s3_reports_eventbridge_delivery

    patcher = Patcher()
    s3_reports_eventbridge_delivery(patcher)
    try:
        assert buckets.input_bucket_events(aws, account)[0].status == PASS
    finally:
        patcher.undo()


def _encrypted_bucket(aws: Any, bucket: str, encryption: dict | None, key_names: tuple[str, ...]) -> dict[str, str]:
    """A bucket with this default encryption (a KMSMasterKeyID names one of the keys made here); the keys' ARNs."""
    kms, s3 = aws("kms"), aws("s3")
    keys = {name: kms.create_key()["KeyMetadata"]["Arn"] for name in key_names}
    s3.create_bucket(Bucket=bucket)
    if encryption:
        rule = {**encryption, **({"KMSMasterKeyID": keys[encryption["KMSMasterKeyID"]]} if "KMSMasterKeyID" in encryption else {})}
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": rule}]})
    return keys


ARCHIVE_ALL = [{"ID": "archive", "Status": "Enabled", "Filter": {"Prefix": ""}, "Transitions": [{"Days": 90, "StorageClass": "DEEP_ARCHIVE"}]}]
ARCHIVE_REPORTS_ONLY = [{"ID": "reports", "Status": "Enabled", "Filter": {"Prefix": "reports/"}, "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}]}]
ARCHIVE_DISABLED = [{**ARCHIVE_ALL[0], "Status": "Disabled"}]
ARCHIVE_TAGGED = [{**ARCHIVE_ALL[0], "Filter": {"Tag": {"Key": "keep", "Value": "yes"}}}]  # only the tagged objects
TO_INFREQUENT_ACCESS = [{**ARCHIVE_ALL[0], "Transitions": [{"Days": 30, "StorageClass": "STANDARD_IA"}]}]  # not an archive class


@pytest.mark.parametrize(
    ("versioned", "locked", "rules", "expected"),
    [
        (True, False, ARCHIVE_ALL, [PASS, PASS]),
        (True, True, None, [PASS, PASS]),
        (False, False, ARCHIVE_ALL, [FAIL, PASS]),
        (True, False, None, [PASS, WARN]),
        (True, False, ARCHIVE_REPORTS_ONLY, [PASS, WARN]),
        (True, False, ARCHIVE_DISABLED, [PASS, WARN]),
        (True, False, ARCHIVE_TAGGED, [PASS, WARN]),
        (True, False, TO_INFREQUENT_ACCESS, [PASS, WARN]),
    ],
    ids=["versioned-and-archived", "object-lock", "unversioned", "neither", "reports-only", "rule-disabled", "tagged-only", "infrequent-access"],
)
def test_the_output_bucket_keeps_years_of_records(aws: Any, versioned: bool, locked: bool, rules: list | None, expected: list[str]) -> None:
    """Versioning (an overwrite or a delete keeps the older version:
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html), and Object Lock's default
    retention (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.md) or a lifecycle
    transition of reports/, runs/ and history/ to an archive class (GLACIER_IR, GLACIER, DEEP_ARCHIVE:
    https://docs.aws.amazon.com/goto/WebAPI/s3-2006-03-01/Transition)."""
    s3 = aws("s3")
    s3.create_bucket(Bucket="risk-output-x", ObjectLockEnabledForBucket=locked)
    if versioned and not locked:  # Object Lock turns versioning on by itself
        s3.put_bucket_versioning(Bucket="risk-output-x", VersioningConfiguration={"Status": "Enabled"})
    if locked:
        lock = {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Years": 7}}}
        s3.put_object_lock_configuration(Bucket="risk-output-x", ObjectLockConfiguration=lock)
    if rules:
        s3.put_bucket_lifecycle_configuration(Bucket="risk-output-x", LifecycleConfiguration={"Rules": rules})
    findings = buckets.output_bucket_retention(aws, Account(subnets=[], peak=PEAK, output_bucket="risk-output-x"))
    assert [finding.status for finding in findings] == expected
    for finding in findings:
        assert bool(finding.fix) == (finding.status != PASS)
    if locked:
        assert "COMPLIANCE 7 years" in findings[1].found
    if expected == [PASS, WARN] and rules == ARCHIVE_REPORTS_ONLY:
        assert "runs/" in findings[1].fix and "history/" in findings[1].fix and "reports/" not in findings[1].fix


def test_the_nightly_check_reads_the_output_bucket_it_is_given() -> None:
    environment = {"TASK_SUBNETS": "subnet-a", "PEAK_WORKLOADS": "[]", "OUTPUT_BUCKET": "risk-output-x"}
    account = account_from_environment(environment)
    assert account.output_bucket == "risk-output-x"
    assert buckets.output_bucket_retention in checks.NIGHTLY and buckets.output_bucket_retention in checks.ALL


def _manifest(number: int) -> str:
    layer = {"mediaType": "application/vnd.oci.image.layer.v1.tar", "size": 1, "digest": f"sha256:{number:064x}"}
    config = {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 1, "digest": f"sha256:{number + 1000:064x}"}
    return json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": config, "layers": [layer]})


def _repository(aws: Any, images_after_ours: int, keep: int = 10) -> Account:
    ecr = aws("ecr")
    ecr.create_repository(repositoryName="ecr-risk-calculation-x")
    rule = {"rulePriority": 1, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep}, "action": {"type": "expire"}}
    ecr.put_lifecycle_policy(repositoryName="ecr-risk-calculation-x", lifecyclePolicyText=json.dumps({"rules": [rule]}))
    for number in range(images_after_ours + 1):
        ecr.put_image(repositoryName="ecr-risk-calculation-x", imageManifest=_manifest(number), imageTag="1.0.0" if number == 0 else f"1.0.{number}")
    # moto stamps pushes to the second; ECR to the millisecond: give each push its own second, in order
    from moto.ecr.models import ecr_backends

    for number, image in enumerate(ecr_backends["123456789012"][REGION].repositories["ecr-risk-calculation-x"].images):
        image.image_pushed_at = 1_790_000_000 + number
    ecr.start_image_scan(repositoryName="ecr-risk-calculation-x", imageId={"imageTag": "1.0.0"})
    return Account(subnets=[], peak=PEAK, repositories=["ecr-risk-calculation-x"], image_tag="1.0.0")


@pytest.mark.parametrize(("newer", "expected"), [(0, PASS), (9, WARN), (10, FAIL)], ids=["kept", "next-push-expires-it", "expired"])
def test_an_image_about_to_be_expired_by_the_lifecycle_rule(aws: Any, newer: int, expected: str) -> None:
    findings = images.images(aws, _repository(aws, newer))
    (lifecycle,) = [f for f in findings if f.check.startswith("lifecycle")]
    assert lifecycle.status == expected and lifecycle.found.startswith(f"{newer} newer")


def test_a_missing_image_tag_fails_and_names_the_push(aws: Any) -> None:
    account = replace(_repository(aws, 0), image_tag="9.9.9")
    (finding,) = images.images(aws, account)
    assert finding.status == FAIL and finding.found.startswith("missing") and "push" in finding.fix


def test_an_unconfirmed_subscription_fails_and_a_confirmed_one_passes() -> None:
    client = boto3.client("sns", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    topic = f"arn:aws:sns:{REGION}:123456789012:sns-alerts-x"
    pending = {"SubscriptionArn": "PendingConfirmation", "Owner": "123456789012", "Protocol": "email", "Endpoint": "oncall@example.com", "TopicArn": topic}
    confirmed = {**pending, "SubscriptionArn": f"{topic}:0d9b1f6e"}
    stubber = Stubber(client)
    stubber.add_response("list_subscriptions_by_topic", {"Subscriptions": [pending]}, {"TopicArn": topic})
    stubber.add_response("list_subscriptions_by_topic", {"Subscriptions": [pending, confirmed]}, {"TopicArn": topic})
    stubber.activate()
    account = Account(subnets=[], peak=PEAK, topic_arn=topic)
    (unconfirmed,) = monitoring.alert_subscription(lambda service: client, account)
    assert unconfirmed.status == FAIL and unconfirmed.found == "0 confirmed, 1 pending" and "confirm the subscription" in unconfirmed.fix
    assert monitoring.alert_subscription(lambda service: client, account)[0].status == PASS


def test_a_disabled_key_without_rotation_fails_twice(aws: Any) -> None:
    kms = aws("kms")
    created = kms.create_key()["KeyMetadata"]
    key = created["Arn"]
    kms.disable_key(KeyId=created["KeyId"])
    findings = monitoring.kms_key(aws, Account(subnets=[], peak=PEAK, key_arn=key))
    assert [(f.check, f.status) for f in findings] == [("stack key enabled", FAIL), ("stack key rotation", FAIL)]


def test_a_notifying_alarm_in_alarm_fails_the_nightly_check_and_warns_a_deploy(aws: Any) -> None:
    cloudwatch = aws("cloudwatch")
    for name in ("alarm-risk-work-dlq-x", "alarm-report-dlq-x"):
        cloudwatch.put_metric_alarm(
            AlarmName=name, MetricName="m", Namespace="n", Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
        )  # fmt: skip
    account = Account(subnets=[], peak=PEAK, alarm_names=["alarm-risk-work-dlq-x", "alarm-report-dlq-x"], nightly=True)
    assert monitoring.alarms(aws, account)[0].status == PASS
    cloudwatch.set_alarm_state(AlarmName="alarm-risk-work-dlq-x", StateValue="ALARM", StateReason="a unit failed three times")
    (finding,) = monitoring.alarms(aws, account)
    assert finding.status == FAIL and finding.found == "1 in ALARM: alarm-risk-work-dlq-x"
    # a deploy is told, not refused: the deploy that fixes the cause must go through
    (finding,) = monitoring.alarms(aws, replace(account, nightly=False))
    assert finding.status == WARN


@pytest.mark.parametrize(("positions", "quota", "expected"), [(20_000, 64.0, PASS), (2_000_000_000, 8.0, FAIL)], ids=["fits", "does-not-fit"])
def test_tonights_book_against_the_window_on_the_quota_left(positions: int, quota: float, expected: str) -> None:
    client = _quota_client({capacity.FARGATE_ON_DEMAND_VCPU: quota, capacity.FARGATE_SPOT_VCPU: quota})
    night = Night(positions=positions, factors=500, scenarios=100_000, window_hours=8.5)
    (finding,) = capacity.night_fits(lambda service: client, Account(subnets=[], peak=PEAK, tonight=night))
    assert finding.status == expected
    if expected == FAIL:
        assert "RiskCalculationMaxTasks" in finding.fix


def test_a_check_that_cannot_read_is_a_failure_and_the_others_still_run() -> None:
    def clients(service: str) -> Any:
        raise PermissionError(f"no {service}")

    def readable_check(clients: Any, account: Account) -> list[findings.Finding]:
        return [findings.Finding("readable check", "x", "x", PASS)]

    listed = (capacity.subnet_capacity, readable_check, capacity.subnet_capacity)
    found = run_checks(clients, Account(subnets=["subnet-1"], peak=PEAK), listed)
    # every check has its finding, in order: the ones after a failing read ran too
    assert [(f.check, f.status) for f in found] == [("subnet capacity", FAIL), ("readable check", PASS), ("subnet capacity", FAIL)]
    assert "no ec2" in found[0].found


def test_the_table_names_every_check_its_status_and_fix() -> None:
    found = [findings.Finding("a check", "1", "0", FAIL, "do this"), findings.Finding("another", "x", "x", PASS)]
    lines = checks.table(found).splitlines()
    assert lines[0].split()[:2] == ["check", "expected"]
    assert "FAIL" in lines[1] and lines[1].endswith("do this") and lines[2].rstrip().endswith("PASS")


def test_alarms_that_notify_the_topic_are_found_by_their_action_in_the_nightly_task(aws: Any) -> None:
    # CloudWatch runs alarm actions on state transitions only: an alarm left in ALARM notifies nobody
    # of the next dead letter (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-actions.html).
    cloudwatch, topic = aws("cloudwatch"), aws("sns").create_topic(Name="sns-risk-alerts-x")["TopicArn"]
    for name, actions in (("alarm-risk-work-dlq-x", [topic]), ("alarm-report-dlq-x", [topic]), ("alarm-someone-else", [])):
        cloudwatch.put_metric_alarm(
            AlarmName=name, MetricName="m", Namespace="n", Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=0,
            ComparisonOperator="GreaterThanThreshold", AlarmActions=actions,
        )  # fmt: skip
        cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="a dead letter")
    account = account_from_environment({**NIGHTLY_ENVIRONMENT, "ALERT_TOPIC_ARN": topic})
    (finding,) = monitoring.alarms(aws, account)
    assert finding.status == FAIL and finding.found == "2 in ALARM: alarm-report-dlq-x, alarm-risk-work-dlq-x"
    assert monitoring.alarms in checks.NIGHTLY


def test_dead_letter_queues_that_hold_messages_fail_with_their_names_and_counts(aws: Any) -> None:
    sqs = aws("sqs")
    urls = [sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("sqs-risk-work-dlq-x", "sqs-report-dlq-x", "sqs-event-delivery-dlq-x")]
    account = account_from_environment({**NIGHTLY_ENVIRONMENT, "DEAD_LETTER_QUEUES": ",".join(urls)})
    (finding,) = monitoring.dead_letters(aws, account)
    assert finding.status == PASS and finding.found == "all empty"
    for _ in range(2):
        sqs.send_message(QueueUrl=urls[0], MessageBody="{}")
    sqs.send_message(QueueUrl=urls[1], MessageBody="{}")
    (finding,) = monitoring.dead_letters(aws, account)
    assert finding.status == FAIL and finding.found == "sqs-report-dlq-x 1, sqs-risk-work-dlq-x 2" and "redrive" in finding.fix
    assert monitoring.dead_letters in checks.NIGHTLY
    (finding,) = monitoring.dead_letters(aws, replace(account, nightly=False))  # at deploy time: a warning
    assert finding.status == WARN


LOG_GROUP_ARN = f"arn:aws:logs:{REGION}:123456789012:log-group:/aws/events/log-ecs-task-events-x:*"


def _log_policy(principal: Any, actions: list[str], resource: str) -> str:
    statement = {"Effect": "Allow", "Principal": principal, "Action": actions, "Resource": resource}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (None, FAIL),
        (_log_policy({"Service": ["events.amazonaws.com", "delivery.logs.amazonaws.com"]}, ["logs:CreateLogStream", "logs:PutLogEvents"], LOG_GROUP_ARN), PASS),
        (
            _log_policy(
                {"Service": "events.amazonaws.com"}, ["logs:CreateLogStream", "logs:PutLogEvents"],
                f"arn:aws:logs:{REGION}:123456789012:log-group:/aws/events/log-ecs-task-events-*",
            ),
            PASS,
        ),
        (_log_policy({"Service": "events.amazonaws.com"}, ["logs:*"], f"arn:aws:logs:{REGION}:123456789012:log-group:/aws/events/*"), PASS),
        (_log_policy({"Service": "events.amazonaws.com"}, ["logs:PutLogEvents"], LOG_GROUP_ARN), FAIL),
        (_log_policy({"Service": "delivery.logs.amazonaws.com"}, ["logs:CreateLogStream", "logs:PutLogEvents"], LOG_GROUP_ARN), FAIL),
        (
            _log_policy(
                {"Service": "events.amazonaws.com"}, ["logs:CreateLogStream", "logs:PutLogEvents"],
                f"arn:aws:logs:{REGION}:123456789012:log-group:/aws/events/log-ecs-task-events-prod:*",
            ),
            FAIL,
        ),
    ],
    ids=["none", "the-stacks-own", "shared-wildcard", "logs-star", "no-create-log-stream", "another-principal", "another-log-group"],
)  # fmt: skip
def test_a_logs_resource_policy_must_let_eventbridge_write_the_task_events(aws: Any, policy: str | None, expected: str) -> None:
    # EventBridge writes to CloudWatch Logs under the log group's resource policy alone
    # (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.md).
    logs = aws("logs")
    logs.put_resource_policy(policyName="logpolicy-unrelated", policyDocument=_log_policy({"Service": "es.amazonaws.com"}, ["logs:*"], "*"))
    if policy:
        logs.put_resource_policy(policyName="logpolicy-ecs-task-events-shared", policyDocument=policy)
    account = account_from_environment({**NIGHTLY_ENVIRONMENT, "TASK_EVENTS_LOG_GROUP_ARN": LOG_GROUP_ARN})
    (finding,) = monitoring.task_events_log_policy(aws, account)
    assert finding.status == expected, finding
    assert monitoring.task_events_log_policy in checks.NIGHTLY


NIGHTLY_ENVIRONMENT = {"PEAK_WORKLOADS": "[]", "TASK_SUBNETS": ""}


def _scan_client(scan_type: str, pages: list[dict[str, Any]]) -> Any:
    """ECR answering as a registry with this scan type would (botocore validates each response's shape)."""
    client = boto3.client("ecr", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    stubber.add_response("describe_images", {"imageDetails": [{"imageDigest": "sha256:" + "a" * 64, "imageTags": ["1.0.0"]}]})
    for page in pages:
        stubber.add_response("describe_image_scan_findings", page)
    stubber.add_client_error("get_lifecycle_policy", service_error_code="LifecyclePolicyNotFoundException")
    stubber.activate()
    return client


def _scan_page(status: str, counts: dict[str, int] | None = None, enhanced: list[str] | None = None) -> dict[str, Any]:
    findings: dict[str, Any] = {"findingSeverityCounts": counts or {}}
    if enhanced is not None:
        findings["enhancedFindings"] = [{"severity": severity, "status": "ACTIVE"} for severity in enhanced]
    return {"repositoryName": "ecr-risk-calculation-x", "imageId": {"imageTag": "1.0.0"}, "imageScanStatus": {"status": status}, "imageScanFindings": findings}


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (_scan_page("COMPLETE", {"LOW": 2}), PASS),
        (_scan_page("COMPLETE", {"HIGH": 1}), FAIL),
        (_scan_page("IN_PROGRESS"), WARN),
        (_scan_page("ACTIVE", {"MEDIUM": 1}, ["MEDIUM"]), PASS),
        (_scan_page("ACTIVE", {}, ["CRITICAL", "LOW"]), FAIL),
        (_scan_page("PENDING"), WARN),
        (_scan_page("SCAN_ELIGIBILITY_EXPIRED"), FAIL),
        (_scan_page("FINDINGS_UNAVAILABLE"), FAIL),
    ],
    ids=[
        "basic-clean", "basic-high", "basic-in-progress",
        "enhanced-active-clean", "enhanced-critical", "enhanced-pending", "enhanced-expired", "enhanced-unavailable",
    ],
)  # fmt: skip
def test_the_pre_night_image_check_judges_basic_and_enhanced_scans(page: dict[str, Any], expected: str) -> None:
    # Statuses: ECR API reference, ImageScanStatus (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageScanStatus.html):
    # enhanced scanning's ACTIVE is a judged scan, not a failure (the pre-night check used to alert on it every night).
    client = _scan_client("ENHANCED", [page])
    account = Account(subnets=[], peak=PEAK, repositories=["ecr-risk-calculation-x"], image_tag="1.0.0")
    (finding,) = images.images(lambda service: client, account)
    assert finding.status == expected, finding

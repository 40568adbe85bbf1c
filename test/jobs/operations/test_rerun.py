"""riskbatch rerun: a business date run again (or a backfill) from its files in S3, through the stack's
ingestion task started as its trigger rule starts it; twice publishes once.

ECS RunTask answers a task it could not place with `failures`
(https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html); the idempotence rests on
S3 conditional writes (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from riskbatch.aws.layout import report_keys
from riskbatch.aws.storage import list_keys
from riskbatch.cli import main
from riskbatch.jobs.queue_worker import QueueWorker, WorkerOptions
from riskbatch.jobs.report_generation import ReportGeneration
from riskbatch.jobs.risk_calculation import RiskCalculation
from riskbatch.operations.rerun import EXIT_NO_FILES, STARTED_BY
from test.jobs.operations.test_status import _stack, stack_outputs
from test.jobs.stack_layout import REGION, Night, lay_out_night, small_night, stack_properties

STACK = "riskbatch-test"
DATE = "2026-11-25"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_night(tmp_path_factory.mktemp("rerun"), DATE)


@pytest.fixture
def deployed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The night's AWS as the template lays it out, with the ingestion task definition, its trigger rule's ECS
    target (in the EventBridge API's shape) and a stack whose outputs name them."""
    from riskbatch_platform.local.emulator.ec2 import network_interfaces_have_a_private_dns_name
    from riskbatch_platform.local.emulator.patching import Patcher

    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    patcher = Patcher()
    network_interfaces_have_a_private_dns_name(patcher)  # moto's RunTask of an awsvpc task needs it
    try:
        with mock_aws():
            night = lay_out_night(tmp_path)
            properties = stack_properties()
            ecs, ec2, events = boto3.client("ecs"), boto3.client("ec2"), boto3.client("events")
            cluster = ecs.create_cluster(clusterName=properties["RiskBatchCluster"]["ClusterName"])["cluster"]
            definition = properties["DataIngestionTaskDefinition"]
            container = {"name": definition["ContainerDefinitions"][0]["Name"], "image": "data-ingestion:1", "essential": True, "memory": 4096}
            task_definition = ecs.register_task_definition(
                family=definition["Family"],
                requiresCompatibilities=["FARGATE"],
                networkMode="awsvpc",
                cpu="1024",
                memory="4096",
                containerDefinitions=[container],
            )["taskDefinition"]["taskDefinitionArn"]
            vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
            subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{index}.0/24")["Subnet"]["SubnetId"] for index in (1, 2, 3)]
            group = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)["GroupId"]
            rule = properties["DataIngestionTriggerRule"]
            events.put_rule(Name=rule["Name"], EventPattern=json.dumps(rule["EventPattern"]))
            (template_target,) = rule["Targets"]
            target = {
                "Id": template_target["Id"],
                "Arn": cluster["clusterArn"],
                "RoleArn": "arn:aws:iam::123456789012:role/role-data-ingestion-trigger-test-us-east-1",
                "EcsParameters": {
                    "TaskDefinitionArn": task_definition,
                    "TaskCount": 1,
                    "PlatformVersion": "LATEST",
                    "CapacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}],
                    "NetworkConfiguration": {"awsvpcConfiguration": {"Subnets": subnets, "SecurityGroups": [group], "AssignPublicIp": "DISABLED"}},
                },
                "InputTransformer": template_target["InputTransformer"],
            }
            events.put_targets(Rule=rule["Name"], Targets=[target])
            report_dlq = boto3.client("sqs").get_queue_url(QueueName=properties["ReportDeadLetterQueue"]["QueueName"])["QueueUrl"]
            outputs = stack_outputs(night, cluster, report_dlq, "/aws/events/log-ecs-task-events-test", task_definition, rule["Name"])
            parameters = {
                "InputBucketName": night.settings.input_bucket,
                "InputKeyPrefix": night.settings.input_prefix,
                "OutputBucketName": night.settings.output_bucket,
            }
            _stack(boto3.client("cloudformation"), STACK, outputs, parameters)
            yield night, ecs, cluster["clusterArn"], subnets, group
    finally:
        patcher.undo()


def _started(ecs: Any, cluster: str) -> list[dict[str, Any]]:
    arns = ecs.list_tasks(cluster=cluster, startedBy=STARTED_BY)["taskArns"]
    return ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []


def _run_as_ecs(night: Night, task: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """What ECS does with the started task: the container's command, in the task definition's environment."""
    (override,) = task["overrides"]["containerOverrides"]
    settings = night.settings
    environment = {"OUTPUT_BUCKET": settings.output_bucket, "INPUT_BUCKET": settings.input_bucket, "INPUT_PREFIX": settings.input_prefix,
                   "RISK_WORK_QUEUE_URL": settings.risk_work_queue_url, "ALERT_TOPIC_ARN": settings.alert_topic_arn, "RISK_UNIT_POSITIONS": "250",
                   "TMPDIR": settings.scratch, "RISK_SCENARIOS": "2000", "RISK_BLOCK_SIZE": "512",
                   "RISKBATCH_ENVIRONMENT_CLASS": "non-production"}  # fmt: skip
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    assert main(override["command"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _drain(night: Night) -> None:
    options = WorkerOptions(wait_seconds=0, idle_exit_seconds=0)
    QueueWorker(night.sqs, night.work_queue, RiskCalculation(night.s3, night.events, night.settings.event_bus_name), night.settings.scratch, options).run()
    QueueWorker(night.sqs, night.report_queue, ReportGeneration(night.s3, night.sns, night.settings.alert_topic_arn), night.settings.scratch, options).run()


def _rerun(deployed, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *options: str) -> dict[str, Any]:
    """`riskbatch rerun` of the date, the task it started run as ECS runs it, then the workers' queues drained:
    the ingestion's outcome (status, run_id, units, detail)."""
    night, ecs, cluster, _, _ = deployed
    assert main(["rerun", "--stack-name", STACK, "--date", DATE, "--region", REGION, *options]) == 0
    outcome = _run_as_ecs(night, _started(ecs, cluster)[-1], monkeypatch, capsys)
    _drain(night)
    return outcome


def test_a_rerun_starts_the_ingestion_task_as_the_trigger_rule_does(deployed, files: Path, capsys) -> None:
    night, ecs, cluster, subnets, group = deployed
    night.upload(files, DATE)
    session, requests = boto3.Session(region_name=REGION), []
    session.events.register("before-parameter-build.ecs.RunTask", lambda params, **_: requests.append(dict(params)))
    from riskbatch.operations.rerun import rerun

    started = rerun(session.client, STACK, dt.date.fromisoformat(DATE), reason="backfill after the events were off", say=lambda line: None)
    (request,) = requests
    assert request["cluster"] == cluster and request["startedBy"] == STARTED_BY and request["count"] == 1
    assert request["networkConfiguration"] == {"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [group], "assignPublicIp": "DISABLED"}}
    assert request["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}] and "launchType" not in request
    command = ["ingest", "--bucket", night.settings.input_bucket, "--key", f"incoming/{DATE}/positions.csv", "--reason", "backfill after the events were off"]
    assert request["overrides"] == {"containerOverrides": [{"name": "data-ingestion", "command": command}]} and started.command == command
    (task,) = _started(ecs, cluster)
    assert task["taskArn"] == started.task_arn


def test_two_reruns_publish_one_report(deployed, files: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    night, ecs, cluster, _, _ = deployed
    night.upload(files, DATE)  # landed, but no ingestion ran (bucket events off): a backfill
    outcomes = [_rerun(deployed, monkeypatch, capsys) for _ in range(2)]
    assert [outcome["status"] for outcome in outcomes] == ["queued", "duplicate"] and outcomes[0]["run_id"] == outcomes[1]["run_id"]
    run = outcomes[0]["run_id"]
    assert [key for key in list_keys(night.s3, night.settings.output_bucket, f"reports/{DATE}/") if key.endswith(".pdf")] == [report_keys(DATE, run)[0]]
    summaries = [message for message in night.published() if isinstance(message, dict) and message.get("run_id") == run]
    assert len(summaries) == 1 and len(_started(ecs, cluster)) == 2


def test_a_rerun_after_the_report_is_published_publishes_nothing_more(deployed, files: Path, monkeypatch, capsys) -> None:
    night = deployed[0]
    night.upload(files, DATE)
    run = _rerun(deployed, monkeypatch, capsys)["run_id"]
    before = {key: night.s3.head_object(Bucket=night.settings.output_bucket, Key=key)["ETag"] for key in list_keys(night.s3, night.settings.output_bucket, "")}
    night.published()
    assert _rerun(deployed, monkeypatch, capsys, "--reason", "checking") == {
        "status": "duplicate",
        "run_id": run,
        "units": 0,
        "detail": "this file set already made this run",
    }
    after = {key: night.s3.head_object(Bucket=night.settings.output_bucket, Key=key)["ETag"] for key in list_keys(night.s3, night.settings.output_bucket, "")}
    assert after == before and night.published() == []


def test_a_date_without_its_files_or_not_a_business_day_is_refused(deployed, files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    night, ecs, cluster, _, _ = deployed
    night.upload(files, DATE, ("market.csv",))
    assert main(["rerun", "--stack-name", STACK, "--date", DATE, "--region", REGION]) == EXIT_NO_FILES
    refusal = f"riskbatch rerun: error: no positions file under s3://{night.settings.input_bucket}/incoming/{DATE}/: nothing to run"
    assert capsys.readouterr().err.splitlines()[-1] == refusal
    assert main(["rerun", "--stack-name", STACK, "--date", "2026-11-26", "--region", REGION]) == 2
    assert "2026-11-26 is not a business day" in capsys.readouterr().err
    assert _started(ecs, cluster) == []


def test_a_forced_rerun_of_the_same_files_makes_a_new_run_that_restates_the_date_with_its_reason(deployed, files: Path, monkeypatch, capsys) -> None:
    """After a code fix: the same files, a new run, a second report, the history record superseded with the reason."""
    from riskbatch.aws.layout import manifest_key
    from riskbatch.aws.storage import get_json

    night, ecs, cluster, _, _ = deployed
    night.upload(files, DATE)
    first = _rerun(deployed, monkeypatch, capsys)["run_id"]
    reason = "option pricer fix 1.4.2: expiry in business days"
    forced = _rerun(deployed, monkeypatch, capsys, "--force", "--reason", reason)
    command = _started(ecs, cluster)[-1]["overrides"]["containerOverrides"][0]["command"]
    assert command[command.index("--force") + 1].endswith("Z") and command[command.index("--reason") + 1] == reason
    assert forced["status"] == "queued" and forced["run_id"] != first
    bucket = night.settings.output_bucket
    manifest = get_json(night.s3, bucket, manifest_key(forced["run_id"]))
    assert manifest["restatement_reason"] == {"text": reason, "source": "riskbatch rerun --force --reason"}
    assert manifest["forced_rerun"]["reason"] == reason and manifest["inputs"] == get_json(night.s3, bucket, manifest_key(first))["inputs"]
    record = get_json(night.s3, bucket, f"history/{DATE}.json")
    assert record["run_id"] == forced["run_id"] and record["restatement"]["supersedes"] == first and record["restatement"]["reason"] == reason
    pdfs = sorted(key for key in list_keys(night.s3, bucket, f"reports/{DATE}/") if key.endswith(".pdf"))
    assert pdfs == sorted(report_keys(DATE, run)[0] for run in (first, forced["run_id"]))


def test_a_forced_rerun_without_a_reason_is_refused_before_any_call(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rerun", "--stack-name", STACK, "--date", DATE, "--force"]) == 2
    assert "--force needs --reason" in capsys.readouterr().err

"""An in-process AWS (moto) laid out as the stack lays it out: buckets, queues with their redrive, bus, rule, topic.

Names, visibility timeouts, redrive counts and the completion rule's event pattern are read from
lib/TapStack.json (resolved for the suffix "test"), so the jobs' tests run against what the
template deploys, not a copy of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from riskbatch.model.settings import Settings
from riskbatch_platform.analysis.resolve import resolve
from riskbatch_platform.local.night import NIGHTLY_FILES, land_files, queue_depth
from test.template_model import load_template

REGION = "us-east-1"
PARAMETERS = {
    "EnvironmentSuffix": "test",
    "VpcId": "vpc-0123456789abcdef0",
    "PrivateSubnet1Id": "subnet-a",
    "PrivateSubnet2Id": "subnet-b",
    "PrivateSubnet3Id": "subnet-c",
    "InputBucketName": "riskbatch-input-test",
    "OutputBucketName": "riskbatch-output-test",
}


def small_night(folder: Path, business_date: str) -> Path:
    """A small sample night (300 positions, 40 factors, 3 portfolios) for the date: the folder of its files."""
    import datetime as dt

    from riskbatch.inputs.sample import SampleSpec, write_sample

    write_sample(folder, SampleSpec(positions=300, factors=40, days=260, portfolios=3, business_date=dt.date.fromisoformat(business_date)))
    return folder / business_date


def stack_properties() -> dict[str, dict[str, Any]]:
    """logical id -> the resolved properties of each resource of the template."""
    return {logical_id: resource["Properties"] for logical_id, resource in resolve(load_template(), PARAMETERS, region=REGION)["Resources"].items()}


@dataclass
class Night:
    s3: Any
    sqs: Any
    sns: Any
    events: Any
    settings: Settings
    work_queue: str
    work_dlq: str
    report_queue: str
    notifications: str  # a queue subscribed to the alert topic, to read what was published

    def upload(self, folder: Path, date: str, names: tuple[str, ...] = NIGHTLY_FILES) -> list[str]:
        return land_files(self.s3, self.settings.input_bucket, folder, date, names, self.settings.input_prefix)

    def messages(self, queue: str, limit: int = 10) -> list[dict[str, Any]]:
        found = self.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=limit, WaitTimeSeconds=0).get("Messages", [])
        return [json.loads(message["Body"]) for message in found]

    def published(self) -> list[Any]:
        """Each message on the topic: the report's summary is JSON, the alerts are text."""
        found: list[Any] = []
        for body in self.messages(self.notifications):
            message = body["Message"] if body.get("Type") == "Notification" else body
            try:
                found.append(json.loads(message) if isinstance(message, str) else message)
            except json.JSONDecodeError:
                found.append(message)
        return found

    def queue_depth(self, queue: str) -> int:
        return queue_depth(self.sqs, queue)


def _queue(sqs: Any, properties: dict[str, Any], dead_letter_arn: str | None = None) -> tuple[str, str]:
    """The queue as the template declares it (name, visibility, redrive); (url, arn)."""
    attributes = {"VisibilityTimeout": str(properties.get("VisibilityTimeout", 30))}
    if dead_letter_arn:
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": str(properties["RedrivePolicy"]["maxReceiveCount"])}
        )
    url = sqs.create_queue(QueueName=properties["QueueName"], Attributes=attributes)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def lay_out_night(scratch: Path) -> Night:
    stack = stack_properties()
    s3 = boto3.client("s3", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    sns = boto3.client("sns", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    for bucket in (PARAMETERS["InputBucketName"], PARAMETERS["OutputBucketName"]):
        s3.create_bucket(Bucket=bucket)
    dlq, dlq_arn = _queue(sqs, stack["RiskWorkDeadLetterQueue"])
    work, _ = _queue(sqs, stack["RiskWorkQueue"], dlq_arn)
    _, report_dlq_arn = _queue(sqs, stack["ReportDeadLetterQueue"])
    report, report_arn = _queue(sqs, stack["ReportQueue"], report_dlq_arn)
    bus = stack["RiskBatchEventBus"]["Name"]
    rule = stack["RunCompletedRule"]
    events.create_event_bus(Name=bus)
    events.put_rule(Name=rule["Name"], EventBusName=bus, EventPattern=json.dumps(rule["EventPattern"]))
    (target,) = rule["Targets"]
    events.put_targets(Rule=rule["Name"], EventBusName=bus, Targets=[{"Id": target["Id"], "Arn": report_arn}])
    topic = sns.create_topic(Name=stack["AlertTopic"]["TopicName"])["TopicArn"]
    notifications = sqs.create_queue(QueueName="notifications-test")["QueueUrl"]
    notifications_arn = sqs.get_queue_attributes(QueueUrl=notifications, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=notifications_arn, Attributes={"RawMessageDelivery": "false"})
    settings = Settings(
        job="test",
        environment="test",
        output_bucket=PARAMETERS["OutputBucketName"],
        input_bucket=PARAMETERS["InputBucketName"],
        input_prefix=load_template()["Parameters"]["InputKeyPrefix"]["Default"],
        risk_work_queue_url=work,
        report_queue_url=report,
        event_bus_name=bus,
        alert_topic_arn=topic,
        scratch=str(scratch),
        unit_positions=250,
    )
    return Night(s3, sqs, sns, events, settings, work, dlq, report, notifications)


@contextmanager
def mocked_night(scratch: Path, monkeypatch: Any, scenarios: int | str = 2000, block_size: int = 512) -> Iterator[Night]:
    """A night laid out in moto, with the run's scenarios few (the jobs read them from the environment)."""
    from moto import mock_aws

    monkeypatch.setenv("RISK_SCENARIOS", str(scenarios))
    monkeypatch.setenv("RISKBATCH_ENVIRONMENT_CLASS", "non-production")  # a test stack: its small nights are below the production floor
    monkeypatch.setenv("RISK_BLOCK_SIZE", str(block_size))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield lay_out_night(scratch)


def drain(night: Night, queue: str, handler: Any) -> None:
    """Work a queue until it is empty, as a worker does, without waiting on an empty receive."""
    from riskbatch.jobs.queue_worker import QueueWorker, WorkerOptions

    QueueWorker(night.sqs, queue, handler, night.settings.scratch, WorkerOptions(wait_seconds=0, idle_exit_seconds=0)).run()


def publish(night: Night, key: str, reason: str | None = None) -> str:
    """A landed night through the jobs' code: ingestion of `key` (`reason`: a rerun's), the risk workers, then the report. Its run id."""
    from riskbatch.jobs.ingestion import ingest
    from riskbatch.jobs.report_generation import ReportGeneration
    from riskbatch.jobs.risk_calculation import RiskCalculation

    settings = night.settings
    run = ingest(settings.input_bucket, key, settings, night.s3, night.sqs, night.sns, reason).run_id
    drain(night, settings.risk_work_queue_url, RiskCalculation(night.s3, night.events, settings.event_bus_name))
    for message in night.messages(settings.report_queue_url):  # read off the queue by the test: put back for the report
        night.sqs.send_message(QueueUrl=settings.report_queue_url, MessageBody=json.dumps(message))
    drain(night, settings.report_queue_url, ReportGeneration(night.s3, night.sns, settings.alert_topic_arn))
    return run

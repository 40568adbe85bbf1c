"""An in-process AWS (moto) laid out like the stack: buckets, queues with redrive, bus, rule, topic."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from riskbatch.settings import Settings

REGION = "us-east-1"


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

    def upload(self, folder: Path, date: str, names: tuple[str, ...] = ("positions.csv", "market.csv")) -> list[str]:
        keys = []
        for name in names:
            key = f"incoming/{date}/{name}"
            self.s3.put_object(Bucket=self.settings.input_bucket, Key=key, Body=(folder / name).read_bytes())
            keys.append(key)
        return keys

    def messages(self, queue: str, limit: int = 10) -> list[dict[str, Any]]:
        found = self.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=limit, WaitTimeSeconds=0).get("Messages", [])
        return [json.loads(message["Body"]) for message in found]

    def published(self) -> list[dict[str, Any]]:
        return [json.loads(body["Message"]) if body.get("Type") == "Notification" else body for body in self.messages(self.notifications)]

    def queue_depth(self, queue: str) -> int:
        attributes = self.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
        return sum(int(value) for value in attributes["Attributes"].values())


def lay_out_night(scratch: Path) -> Night:
    s3 = boto3.client("s3", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    sns = boto3.client("sns", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    for bucket in ("riskbatch-input-test", "riskbatch-output-test"):
        s3.create_bucket(Bucket=bucket)
    dlq = sqs.create_queue(QueueName="sqs-risk-work-dlq-test")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    work = sqs.create_queue(
        QueueName="sqs-risk-work-test",
        Attributes={"VisibilityTimeout": "900", "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})},
    )["QueueUrl"]
    report = sqs.create_queue(QueueName="sqs-report-test")["QueueUrl"]
    report_arn = sqs.get_queue_attributes(QueueUrl=report, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.create_event_bus(Name="bus-riskbatch-test")
    events.put_rule(
        Name="rule-run-completed-test",
        EventBusName="bus-riskbatch-test",
        EventPattern=json.dumps({"source": ["riskbatch.risk-calculation"], "detail-type": ["RunCompleted"]}),
    )
    events.put_targets(Rule="rule-run-completed-test", EventBusName="bus-riskbatch-test", Targets=[{"Id": "report-queue", "Arn": report_arn}])
    topic = sns.create_topic(Name="sns-risk-alerts-test")["TopicArn"]
    notifications = sqs.create_queue(QueueName="notifications-test")["QueueUrl"]
    notifications_arn = sqs.get_queue_attributes(QueueUrl=notifications, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=notifications_arn, Attributes={"RawMessageDelivery": "false"})
    settings = Settings(
        job="test",
        environment="test",
        output_bucket="riskbatch-output-test",
        input_bucket="riskbatch-input-test",
        input_prefix="incoming/",
        risk_work_queue_url=work,
        report_queue_url=report,
        event_bus_name="bus-riskbatch-test",
        alert_topic_arn=topic,
        scratch=str(scratch),
        unit_positions=250,
    )
    return Night(s3, sqs, sns, events, settings, work, dlq, report, notifications)

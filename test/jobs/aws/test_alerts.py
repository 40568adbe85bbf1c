"""Every alert and event fits its service's limit: SNS 256 KiB with the attributes
(https://docs.aws.amazon.com/sns/latest/dg/large-message-payloads.md), a PutEvents entry 256 KB
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/events/CalculatePutEventsEntrySize.html)."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from riskbatch.aws.alerts import ALERT_BYTES, EVENT_ENTRY_LIMIT, checked_entry, event_entry_size, fitted, publish_alert, sns_message_size


def test_a_message_over_the_bound_is_cut_at_a_line_end_and_names_the_details() -> None:
    message = "\n".join(f"line {row}: prix négatif — {'é' * 40}" for row in range(20_000))  # multi-byte characters
    subject = "Risk batch: rejected input for 2026-11-25"
    cut = fitted(subject, message, "s3://out/quarantine/2026-11-25/x.errors.json")
    assert len(message.encode()) > 4 * ALERT_BYTES and sns_message_size(subject, cut) <= ALERT_BYTES
    assert cut.endswith("the full details: s3://out/quarantine/2026-11-25/x.errors.json")
    kept = cut.rsplit("\n", 1)[0]
    assert message.startswith(kept) and message[len(kept)] == "\n"  # whole lines only
    assert fitted(subject, "short", None) == "short"


def test_attributes_count_toward_the_bound() -> None:
    attributes = {"details": {"DataType": "String", "StringValue": "x" * 1000}}
    assert sns_message_size("s", "m", attributes) == 1 + 1 + len("details") + len("String") + 1000
    cut = fitted("s", "y\n" * ALERT_BYTES, None, attributes=attributes)
    assert sns_message_size("s", cut, attributes) <= ALERT_BYTES


def test_a_published_alert_is_within_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        sns, sqs = boto3.client("sns"), boto3.client("sqs")
        topic = sns.create_topic(Name="alerts")["TopicArn"]
        inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
        publish_alert(sns, topic, "S" * 300, "row\n" * 200_000, details="s3://out/k")  # 800 KB: SNS alone would refuse it
        (delivered,) = sqs.receive_message(QueueUrl=inbox)["Messages"]
        body = json.loads(delivered["Body"])
        assert len(body["Subject"]) == 100 and sns_message_size(body["Subject"], body["Message"]) <= ALERT_BYTES


def test_an_event_entry_is_measured_as_eventbridge_measures_it() -> None:
    entry = {"Source": "riskbatch.risk-calculation", "DetailType": "RunCompleted", "Detail": json.dumps({"run_id": "r"}), "Resources": ["arn:x"]}
    assert event_entry_size(entry) == len("riskbatch.risk-calculation") + len("RunCompleted") + len('{"run_id": "r"}') + len("arn:x")
    assert event_entry_size({**entry, "Time": 1}) == event_entry_size(entry) + 14
    assert checked_entry(entry) is entry
    with pytest.raises(ValueError, match="RunCompleted"):
        checked_entry({**entry, "Detail": json.dumps({"run_id": "r" * EVENT_ENTRY_LIMIT})})

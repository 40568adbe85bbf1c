"""The SNS fixes (src/riskbatch_platform/local/emulator/sns.py): each defect or missing rule is there in moto as shipped, and gone with the fix.

SNS and EventBridge authorised on their topic and bus, an email subscription pending until confirmed, and a topic policy from a template.
Runs moto in-process (mock_aws); IAM is enforced only inside `enforced()`.
"""

from __future__ import annotations

import json

import boto3

from riskbatch_platform.local import emulator
from test.platform.local.emulator.support import REGION, _code, _deploy, _user, enforced, patched


def _publish_and_put(session: boto3.Session, topic: str) -> tuple[str, str]:
    entry = {"Source": "x", "DetailType": "x", "Detail": "{}", "EventBusName": "bus-x"}
    return _code(lambda: session.client("sns").publish(TopicArn=topic, Message="m")), _code(lambda: session.client("events").put_events(Entries=[entry]))


def _topic_and_bus_user() -> tuple[boto3.Session, str]:
    topic = boto3.client("sns", region_name=REGION).create_topic(Name="sns-x")["TopicArn"]
    bus = boto3.client("events", region_name=REGION).create_event_bus(Name="bus-x")["EventBusArn"]
    return _user(
        "publisher", [{"Effect": "Allow", "Action": "sns:Publish", "Resource": topic}, {"Effect": "Allow", "Action": "events:PutEvents", "Resource": bus}]
    ), topic


def test_moto_authorises_sns_and_eventbridge_against_star(aws: None) -> None:
    session, topic = _topic_and_bus_user()
    with enforced():
        assert _publish_and_put(session, topic) == ("denied", "denied")


def test_sns_and_eventbridge_are_authorised_on_their_topic_and_bus(aws: None) -> None:
    session, topic = _topic_and_bus_user()
    other = boto3.client("sns", region_name=REGION).create_topic(Name="sns-other")["TopicArn"]
    with patched(emulator.sns.sns_and_eventbridge_authorised_on_their_resource), enforced():
        assert _publish_and_put(session, topic) == ("OK", "OK")
        assert _publish_and_put(session, other)[0] == "denied"


def _subscription_arns() -> dict[str, str]:
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    topic = sns.create_topic(Name="sns-x")["TopicArn"]
    queue = sqs.get_queue_attributes(QueueUrl=sqs.create_queue(QueueName="q-x")["QueueUrl"], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="risk-oncall@example.com")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue)
    return {item["Protocol"]: item["SubscriptionArn"] for item in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]}


def test_moto_confirms_an_email_subscription_at_once(aws: None) -> None:
    assert _subscription_arns()["email"].startswith("arn:aws:sns:")


def test_an_email_subscription_is_pending_until_confirmed(aws: None) -> None:
    with patched(emulator.sns.sns_email_subscriptions_wait_for_confirmation):
        arns = _subscription_arns()
    assert arns["email"] == "PendingConfirmation" and arns["sqs"].startswith("arn:aws:sns:")


TLS_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "TlsOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sns:Publish",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ],
}


def _deployed_topic_policy() -> dict:
    outputs = _deploy(
        {
            "Resources": {
                "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "sns-x"}},
                "Policy": {"Type": "AWS::SNS::TopicPolicy", "Properties": {"Topics": [{"Ref": "Topic"}], "PolicyDocument": TLS_ONLY}},
            },
            "Outputs": {"Topic": {"Value": {"Ref": "Topic"}}},
        }
    )
    attributes = boto3.client("sns", region_name=REGION).get_topic_attributes(TopicArn=outputs["Topic"])["Attributes"]
    return json.loads(attributes["Policy"])


def test_moto_keeps_the_topics_default_policy(aws: None) -> None:
    assert _deployed_topic_policy() != TLS_ONLY


def test_a_topic_policy_from_a_template_is_the_topics_policy(aws: None) -> None:
    with patched(emulator.sns.topic_policies_from_cloudformation):
        assert _deployed_topic_policy() == TLS_ONLY
        boto3.client("cloudformation", region_name=REGION).delete_stack(StackName="s")
        assert boto3.client("sns", region_name=REGION).list_topics()["Topics"] == []

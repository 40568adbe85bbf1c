"""The SQS fix (src/riskbatch_platform/local/emulator/sqs.py): the defect is there in moto as shipped, and gone with the fix.

A batch call needs the single call's action, as AWS asks. Runs moto in-process (mock_aws); IAM is enforced only inside `enforced()`.
"""

from __future__ import annotations

import json

import boto3

from riskbatch_platform.local import emulator
from test.platform.local.emulator.support import ACCOUNT, REGION, _code, _deploy, _user, enforced, patched


def _send_batch() -> str:
    queue = boto3.client("sqs", region_name=REGION).create_queue(QueueName="sqs-x")["QueueUrl"]
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:sqs-x"
    session = _user("sender", [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": arn}])
    with enforced():
        return _code(lambda: session.client("sqs").send_message_batch(QueueUrl=queue, Entries=[{"Id": "1", "MessageBody": "m"}]))


def test_moto_asks_for_a_batch_permission_that_does_not_exist(aws: None) -> None:
    assert _send_batch() == "denied"


def test_a_batch_call_needs_the_single_action(aws: None) -> None:
    with patched(emulator.sqs.sqs_batch_calls_need_the_single_action):
        assert _send_batch() == "OK"


TLS_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    ],
}


def _deployed_queue_policy() -> dict | None:
    _deploy(
        {
            "Resources": {
                "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "sqs-x"}},
                "Policy": {"Type": "AWS::SQS::QueuePolicy", "Properties": {"Queues": [{"Ref": "Queue"}], "PolicyDocument": TLS_ONLY}},
            }
        }
    )
    sqs = boto3.client("sqs", region_name=REGION)
    attributes = sqs.get_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName="sqs-x")["QueueUrl"], AttributeNames=["Policy"]).get("Attributes", {})
    return json.loads(attributes["Policy"]) if "Policy" in attributes else None


def test_moto_deploys_no_queue_policy(aws: None) -> None:
    assert _deployed_queue_policy() is None


def test_a_queue_policy_from_a_template_is_the_queues_policy_until_the_stack_is_deleted(aws: None) -> None:
    with patched(emulator.sqs.queue_policies_from_cloudformation):
        assert _deployed_queue_policy() == TLS_ONLY
        boto3.client("cloudformation", region_name=REGION).delete_stack(StackName="s")
        assert boto3.client("sqs", region_name=REGION).list_queues().get("QueueUrls") in (None, [])

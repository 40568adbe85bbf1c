"""The SQS fix (src/riskbatch_platform/local/emulator/sqs.py): the defect is there in moto as shipped, and gone with the fix.

A batch call needs the single call's action, as AWS asks. Runs moto in-process (mock_aws); IAM is enforced only inside `enforced()`.
"""

from __future__ import annotations

import boto3

from riskbatch_platform.local import emulator
from test.platform.local.emulator.support import ACCOUNT, REGION, _code, _user, enforced, patched


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

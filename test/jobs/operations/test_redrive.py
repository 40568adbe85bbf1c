"""riskbatch redrive: a queue's dead letters moved back to it after a fix, each one counted and logged, and
a queue that is not one of the stack's dead-letter queues refused. Against moto, with the queues as the
template declares them (their RedrivePolicy and maxReceiveCount).

The move is ReceiveMessage, SendMessage, DeleteMessage (the API references:
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html,
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html,
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteMessage.html), not
StartMessageMoveTask, which is asynchronous and counts approximately
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html).
"""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from riskbatch.cli import main
from riskbatch.operations.redrive import EXIT_LEFT_BEHIND, EXIT_NOT_OURS, redrive
from riskbatch.operations.stack_lookup import OperatorError
from test.jobs.operations import test_status
from test.jobs.operations.test_status import STACK
from test.jobs.stack_layout import REGION, stack_properties

account = test_status.account  # the stack's queues in moto, and a stack whose outputs name them


def _dead_letter(night, units: list[int]) -> None:
    """Units that failed maxReceiveCount times: SQS moves each to the dead-letter queue at its next receive."""
    tries = int(stack_properties()["RiskWorkQueue"]["RedrivePolicy"]["maxReceiveCount"])
    for unit in units:
        body = {"run_id": "2026-11-24-aaaaaaaaaaaa", "unit": unit, "unit_key": f"runs/2026-11-24-aaaaaaaaaaaa/units/{unit:05d}.parquet"}
        night.sqs.send_message(
            QueueUrl=night.work_queue, MessageBody=json.dumps(body),
            MessageAttributes={"riskbatch-interruptions": {"DataType": "Number", "StringValue": "2"}, "origin": {"DataType": "String", "StringValue": "x"}},
        )  # fmt: skip
    for _ in range(tries + 1):
        night.sqs.receive_message(QueueUrl=night.work_queue, MaxNumberOfMessages=10, VisibilityTimeout=0)
    assert night.queue_depth(night.work_dlq) == len(units) and night.queue_depth(night.work_queue) == 0


def test_dead_letters_go_back_to_their_queue_counted_and_logged(account, capsys: pytest.CaptureFixture[str]) -> None:
    night, _, _ = account
    _dead_letter(night, [3, 7])
    assert main(["redrive", "--stack-name", STACK, "--queue", "risk-work", "--region", REGION]) == 0
    captured = capsys.readouterr()
    assert "2 of 2 message(s) moved from sqs-risk-work-dlq-test back to sqs-risk-work-test" in captured.out
    logged = [json.loads(line) for line in captured.err.splitlines() if line.startswith("{")]
    assert sorted((entry["event"], entry["run_id"], entry["unit"]) for entry in logged) == [
        ("dead_letter_redriven", "2026-11-24-aaaaaaaaaaaa", 3),
        ("dead_letter_redriven", "2026-11-24-aaaaaaaaaaaa", 7),
    ]
    assert night.queue_depth(night.work_dlq) == 0
    back = night.sqs.receive_message(QueueUrl=night.work_queue, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["All"])["Messages"]
    assert sorted(json.loads(message["Body"])["unit"] for message in back) == [3, 7]
    # a new message: its receives start again (three tries after the fix), and a fix starts the interruption count afresh
    assert all(message["Attributes"]["ApproximateReceiveCount"] == "1" for message in back)
    assert all(set(message["MessageAttributes"]) == {"origin"} for message in back)


def test_an_empty_dead_letter_queue_moves_nothing(account, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["redrive", "--stack-name", STACK, "--queue", "report", "--region", REGION]) == 0
    assert "0 of 0 message(s) moved from sqs-report-dlq-test back to sqs-report-test" in capsys.readouterr().out


def test_a_queue_that_is_not_a_dead_letter_queue_of_the_stack_is_refused(account, capsys: pytest.CaptureFixture[str]) -> None:
    night, _, _ = account
    _dead_letter(night, [1])
    assert main(["redrive", "--stack-name", STACK, "--queue", "notifications-test", "--region", REGION]) == EXIT_NOT_OURS
    assert "riskbatch redrive: error: notifications-test is not a dead-letter queue of stack riskbatch-test: give one of risk-work" in capsys.readouterr().err
    assert main(["redrive", "--stack-name", STACK, "--queue", night.work_queue, "--region", REGION]) == EXIT_NOT_OURS  # the work queue itself
    # the stack's outputs name it, but its source queue no longer dead-letters to it
    night.sqs.set_queue_attributes(QueueUrl=night.work_queue, Attributes={"RedrivePolicy": ""})
    assert main(["redrive", "--stack-name", STACK, "--queue", "sqs-risk-work-dlq-test", "--region", REGION]) == EXIT_NOT_OURS
    assert "does not dead-letter to" in capsys.readouterr().err
    assert night.queue_depth(night.work_dlq) == 1  # nothing moved


class _SendRefused:
    """An SQS client whose SendMessage AWS refuses (a KMS key disabled, say); every other call goes through."""

    def __init__(self, sqs) -> None:
        self._sqs = sqs

    def __getattr__(self, name: str):
        return getattr(self._sqs, name)

    def send_message(self, **_: object) -> None:
        raise ClientError({"Error": {"Code": "KmsDisabled", "Message": "the key is disabled"}}, "SendMessage")


def test_a_refused_send_still_prints_the_count_and_leaves_the_message_in_the_dead_letter_queue(account, capsys: pytest.CaptureFixture[str]) -> None:
    night, _, _ = account
    _dead_letter(night, [5])
    session = boto3.Session(region_name=REGION)
    client = lambda name: _SendRefused(session.client(name)) if name == "sqs" else session.client(name)  # noqa: E731
    with pytest.raises(OperatorError):
        redrive(client, STACK, "risk-work")
    assert "0 of 1 message(s) moved from sqs-risk-work-dlq-test back to sqs-risk-work-test" in capsys.readouterr().out
    # the received message is in flight in the dead-letter queue, not lost: ApproximateNumberOfMessagesNotVisible counts it
    # (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueAttributes.html)
    assert night.queue_depth(night.work_dlq) == 1 and night.queue_depth(night.work_queue) == 0


def test_messages_left_in_flight_in_the_dead_letter_queue_exit_non_zero(account, capsys: pytest.CaptureFixture[str]) -> None:
    """ApproximateNumberOfMessages leaves out the messages in flight
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueAttributes.html): one hidden by a
    reader is not moved, and the command says so with its exit code instead of reporting success."""
    night, _, _ = account
    _dead_letter(night, [1, 2])
    night.sqs.receive_message(QueueUrl=night.work_dlq, MaxNumberOfMessages=1, VisibilityTimeout=600)  # someone reading it
    assert main(["redrive", "--stack-name", STACK, "--queue", "risk-work", "--region", REGION]) == EXIT_LEFT_BEHIND
    out = capsys.readouterr().out
    assert "1 of 1 message(s) moved" in out and "1 message(s) still in sqs-risk-work-dlq-test" in out

"""riskbatch redrive: move the dead-lettered messages of one of the stack's queues back to that queue,
once the cause is fixed, each one counted and logged.

SQS offers StartMessageMoveTask for a dead-letter queue's redrive, but it is asynchronous: it answers
with a task handle and its progress is an approximate count (ListMessageMoveTasks'
ApproximateNumberOfMessagesMoved), so it cannot say which units went back
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html).
This command moves them itself, one at a time: ReceiveMessage from the dead-letter queue, SendMessage
of the same body to its source queue, DeleteMessage from the dead-letter queue only after the send
succeeded (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html,
API_SendMessage.html, API_DeleteMessage.html). A failure between the send and the delete leaves the
message in both queues, which the jobs tolerate: a unit's result and a run's report are written once.
The message sent is a new message: its receive count starts again, so it has the queue's three tries.
The SIGTERM interruption counter (riskbatch.jobs.queue_worker) is not carried over: a fix starts afresh.

ApproximateNumberOfMessages is approximate and leaves out the messages in flight
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueAttributes.html), so it
does not bound the loop: it receives until a receive comes back empty, and stops at a message it has
seen already (one that failed again on its way back cannot keep it going). The count is printed however
it ends; at the end it reads ApproximateNumberOfMessages and ApproximateNumberOfMessagesNotVisible of
the dead-letter queue again, and exits EXIT_LEFT_BEHIND when any remain. It refuses a queue that is not one of the stack's dead-letter queues, or
whose source queue's RedrivePolicy does not name it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from riskbatch.operations.stack_lookup import OperatorError, StackResources, aws_errors
from riskbatch.runtime.logs import log

EXIT_NOT_OURS = 2  # a bad input: the queue named is not a dead-letter queue of this stack
EXIT_LEFT_BEHIND = 11  # the dead-letter queue still holds messages (waiting or in flight) after the move
LEASE_SECONDS = 120  # a message being moved is hidden this long; if the command dies, it reappears in the dead-letter queue
DROPPED_ATTRIBUTES = ("riskbatch-interruptions",)
# The IAM actions `riskbatch redrive` needs (docs/runbook.md), and kms:Decrypt and kms:GenerateDataKey on the stack's key.
REDRIVE_ACTIONS = ("cloudformation:DescribeStacks", "sqs:GetQueueAttributes", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:SendMessage")


@dataclass
class Redriven:
    dead_letter_queue: str
    queue: str
    waiting: int  # in the dead-letter queue when the command started (approximate)
    moved: list[dict[str, Any]] = field(default_factory=list)
    left: int = 0  # in the dead-letter queue at the end, waiting or in flight (approximate)


def queue_pair(resources: StackResources, queue: str) -> tuple[str, str]:
    """(dead-letter queue URL, its source queue URL) for `queue`: risk-work or report, or the dead-letter queue's name or URL."""
    pairs = {
        "risk-work": (resources.risk_work_dead_letter_queue, resources.risk_work_queue),
        "report": (resources.report_dead_letter_queue, resources.report_queue),
    }
    for name, pair in pairs.items():
        if queue in (name, pair[0], pair[0].rsplit("/", 1)[-1]):
            return pair
    names = ", ".join(f"{name} ({pair[0].rsplit('/', 1)[-1]})" for name, pair in pairs.items())
    raise OperatorError(f"{queue} is not a dead-letter queue of stack {resources.stack_name}: give one of {names}", EXIT_NOT_OURS)


def _attribute(sqs: Any, url: str, name: str) -> str | None:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[name]).get("Attributes", {}).get(name)


def _check_redrive_policy(sqs: Any, dead_letters: str, source: str) -> None:
    policy = json.loads(_attribute(sqs, source, "RedrivePolicy") or "{}")
    if policy.get("deadLetterTargetArn") != _attribute(sqs, dead_letters, "QueueArn"):
        raise OperatorError(f"{source} does not dead-letter to {dead_letters} (its RedrivePolicy: {policy or 'none'}): nothing moved", EXIT_NOT_OURS)


def _unit(body: str) -> dict[str, Any]:
    """What the message is about, from its claim check (a work unit) or its event (a completed run)."""
    try:
        document = json.loads(body)
    except ValueError:
        return {}
    detail = document.get("detail", document) if isinstance(document, dict) else {}
    return {key: detail.get(key) for key in ("run_id", "unit") if isinstance(detail, dict) and detail.get(key) is not None}


def _carried(attributes: dict[str, Any]) -> dict[str, Any]:
    """The message attributes to send again: their type and value, without the interruption counter."""
    kept = {}
    for name, value in attributes.items():
        if name not in DROPPED_ATTRIBUTES:
            kept[name] = {key: value[key] for key in ("DataType", "StringValue", "BinaryValue") if key in value}
    return kept


def _move(sqs: Any, done: Redriven) -> None:
    """Receive from the dead-letter queue until a receive comes back empty or brings a message seen already."""
    seen: set[str] = set()
    while True:
        messages = sqs.receive_message(
            QueueUrl=done.dead_letter_queue, MaxNumberOfMessages=10, WaitTimeSeconds=1,
            VisibilityTimeout=LEASE_SECONDS, MessageAttributeNames=["All"], AttributeNames=["ApproximateReceiveCount"],
        ).get("Messages", [])  # fmt: skip
        if not messages or any(message["MessageId"] in seen for message in messages):
            return
        for message in messages:
            seen.add(message["MessageId"])
            attributes = _carried(message.get("MessageAttributes", {}))
            sent = sqs.send_message(QueueUrl=done.queue, MessageBody=message["Body"], MessageAttributes=attributes)
            seen.add(sent["MessageId"])  # if it fails again, it comes back to the dead-letter queue under this id
            sqs.delete_message(QueueUrl=done.dead_letter_queue, ReceiptHandle=message["ReceiptHandle"])
            entry = {**_unit(message["Body"]), "message": message["MessageId"], "sent_as": sent["MessageId"]}
            entry["receives"] = int(message.get("Attributes", {}).get("ApproximateReceiveCount", 0))
            done.moved.append(entry)
            log("dead_letter_redriven", queue=done.queue.rsplit("/", 1)[-1], **entry)


def redrive(client: Callable[[str], Any], stack_name: str, queue: str, say: Callable[[str], None] = print) -> Redriven:
    """Move the messages of the stack's dead-letter queue `queue` back to its source queue."""
    with aws_errors():
        resources = StackResources.of(client("cloudformation"), stack_name)
        dead_letters, source = queue_pair(resources, queue)
        sqs = client("sqs")
        _check_redrive_policy(sqs, dead_letters, source)
        done = Redriven(dead_letters, source, int(_attribute(sqs, dead_letters, "ApproximateNumberOfMessages") or 0))
        try:
            _move(sqs, done)
        finally:  # the count, however the move ended
            say(f"{len(done.moved)} of {done.waiting} message(s) moved from {dead_letters.rsplit('/', 1)[-1]} back to {source.rsplit('/', 1)[-1]}")
        done.left = sum(int(_attribute(sqs, dead_letters, name) or 0) for name in ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"))
        if done.left:
            say(f"{done.left} message(s) still in {dead_letters.rsplit('/', 1)[-1]} (waiting or in flight): run riskbatch redrive again in {LEASE_SECONDS} s")
    return done

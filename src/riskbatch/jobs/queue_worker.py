"""A queue worker for an ECS service: one message at a time, protected from scale-in while in flight.

While a message is in flight the worker holds ECS task scale-in protection (through the ECS agent
endpoint, when it runs on ECS), keeps extending the message's visibility, and touches its
heartbeat for the container health check. On SIGTERM it finishes the message in hand, or, when
that would outlast the stop timeout, hands it back for another worker, and exits.

Handing back is a re-queue, not a release: SQS counts every receive toward the queue's
maxReceiveCount, whatever the consumer does after it, so a unit released at each of three
interruptions (FARGATE_SPOT reclaims, scale-in, AZ rebalancing) would be dead-lettered healthy.
The worker sends the same body as a fresh message, whose receive count starts again, with the
interruptions counted in a message attribute, and only then deletes the message it received.
Send first, then delete: if the worker dies between the two, the unit is there twice, never
lost; a unit's result is written once (put_once) and the run's completion is claimed once, so a
second copy does no harm. The interruptions have their own bound (max_interruptions): past it the
unit is released as before, so its receives count again and a unit that keeps the worker from
finishing still ends in the dead-letter queue.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from riskbatch.model.engine import Aborted
from riskbatch.runtime.heartbeat import BEAT_SECONDS, beat
from riskbatch.runtime.logs import log

Handler = Callable[[dict[str, Any], Callable[[], bool]], None]
INTERRUPTIONS_ATTRIBUTE = "riskbatch-interruptions"  # how often a unit was handed back on SIGTERM


def set_task_protection(enabled: bool, minutes: int = 60) -> bool:
    """Ask the ECS agent to protect this task from scale-in; False when not running on ECS."""
    agent = os.environ.get("ECS_AGENT_URI")
    if not agent:
        return False
    body = json.dumps({"ProtectionEnabled": enabled, **({"ExpiresInMinutes": minutes} if enabled else {})}).encode()
    request = urllib.request.Request(f"{agent}/task-protection/v1/state", data=body, method="PUT", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5):
            return True
    except OSError as error:
        log("task_protection_failed", enabled=enabled, error=str(error))
        return False


def is_probe(body: str) -> bool:
    """A message the integration suite's probes sent to prove a role may send (riskbatch probe)."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return False
    return isinstance(parsed, dict) and set(parsed) == {"probe"}


@dataclass
class WorkerOptions:
    visibility_seconds: int = 900
    wait_seconds: int = 20
    abort_after_seconds: float = 90.0  # after SIGTERM, give up the message in hand after this long
    idle_exit_seconds: float | None = None  # stop after this long without messages (local runs)
    max_messages: int | None = None
    max_interruptions: int = 10  # re-queues on SIGTERM before an interrupted unit counts toward the redrive again


class QueueWorker:
    def __init__(self, sqs: Any, queue_url: str, handler: Handler, scratch: str, options: WorkerOptions) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.handler = handler
        self.options = options
        self.scratch = scratch
        self.stop_requested_at: float | None = None
        self.processed = 0

    def request_stop(self, *_: Any) -> None:
        if self.stop_requested_at is None:
            self.stop_requested_at = time.monotonic()
            log("stop_requested")

    def should_abort(self) -> bool:
        return self.stop_requested_at is not None and time.monotonic() - self.stop_requested_at >= self.options.abort_after_seconds

    def touch(self) -> None:
        beat(self.scratch)

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)

    def run(self) -> int:
        idle_since = time.monotonic()
        log("worker_started", queue=self.queue_url)
        while self.stop_requested_at is None:
            self.touch()
            if self.options.max_messages is not None and self.processed >= self.options.max_messages:
                break
            response = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=1,
                WaitTimeSeconds=self.options.wait_seconds,
                VisibilityTimeout=self.options.visibility_seconds,
                AttributeNames=["ApproximateReceiveCount"],
                MessageAttributeNames=[INTERRUPTIONS_ATTRIBUTE],
            )
            messages = response.get("Messages", [])
            if not messages:
                if self.options.idle_exit_seconds is not None and time.monotonic() - idle_since >= self.options.idle_exit_seconds:
                    break
                continue
            self._process(messages[0])
            idle_since = time.monotonic()
        log("worker_stopped", processed=self.processed)
        return 0

    def _extend_visibility(self, receipt: str, done: threading.Event) -> None:
        """While a message is in hand: beat for the health check, and extend the visibility every third of it."""
        extend_every = max(1.0, self.options.visibility_seconds / 3)
        last_extension = time.monotonic()
        while not done.wait(min(BEAT_SECONDS, extend_every)):
            self.touch()
            if time.monotonic() - last_extension < extend_every:
                continue
            last_extension = time.monotonic()
            try:
                self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=receipt, VisibilityTimeout=self.options.visibility_seconds)
            except Exception as error:
                log("visibility_extension_failed", error=str(error))

    def _release(self, receipt: str) -> None:
        self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=receipt, VisibilityTimeout=0)

    def _hand_back(self, message: dict[str, Any], interruptions: int) -> None:
        """An interrupted unit back on the queue without using up one of its receives (see the module's doc)."""
        receipt = message["ReceiptHandle"]
        if interruptions >= self.options.max_interruptions:
            log("message_released", reason="interrupted too often: this receive counts toward the redrive", interruptions=interruptions)
            self._release(receipt)
            return
        try:
            attribute = {"DataType": "Number", "StringValue": str(interruptions + 1)}
            self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=message["Body"], MessageAttributes={INTERRUPTIONS_ATTRIBUTE: attribute})
        except Exception as error:
            log("requeue_failed", error=f"{type(error).__name__}: {error}")
            self._release(receipt)  # not lost: the receive counts, as before
            return
        self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=receipt)
        log("message_requeued", interruptions=interruptions + 1)

    def _process(self, message: dict[str, Any]) -> None:
        receipt = message["ReceiptHandle"]
        if is_probe(message["Body"]):  # the integration suite's least-privilege probe: no work, no retry
            log("probe_message_discarded")
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=receipt)
            return
        receives = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        interruptions = int(message.get("MessageAttributes", {}).get(INTERRUPTIONS_ATTRIBUTE, {}).get("StringValue", "0"))
        done = threading.Event()
        extender = threading.Thread(target=self._extend_visibility, args=(receipt, done), daemon=True)
        set_task_protection(True)
        extender.start()
        try:
            self.handler(json.loads(message["Body"]), self.should_abort)
        except Aborted as error:
            log("message_interrupted", reason=str(error), receives=receives, interruptions=interruptions)
            self._hand_back(message, interruptions)
            self.request_stop()
            return
        except Exception as error:
            log("message_failed", error=f"{type(error).__name__}: {error}", receives=receives)
            self._release(receipt)  # retried at once; after three receives the queue dead-letters it
            return
        finally:
            done.set()
            extender.join()
            set_task_protection(False)
        self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=receipt)
        self.processed += 1


def warm_up(handler: Any) -> None:
    """A worker's warm-up before the night (the report worker's libraries and kernels): beating, so
    that the health check sees a live task however long it takes, and guarded, so that a warm-up
    that fails costs the first message its time, never the worker."""
    from riskbatch.runtime.heartbeat import beating, scratch_directory

    with beating(scratch_directory()):
        try:
            handler.warm_up()
        except Exception as error:
            log("worker_warm_up_failed", error=f"{type(error).__name__}: {error}")

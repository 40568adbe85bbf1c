"""Record every AWS operation a command makes: botocore's before-call event, on every session.

A command builds its own sessions (boto3.Session in riskbatch_platform.aws.Target, the operator's in
riskbatch.operations.stack_lookup), so the hook is registered on each botocore session created while
the recording runs, and on botocore's default session. before-call is emitted once for each API call a
client makes, before it is signed and sent (waiters and paginators call the client's methods, so their
calls are recorded too; a retry of the same call is not a new call). What is recorded is the SDK's
service name and the API operation's name: (cloudformation, DescribeStacks).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.session

Call = tuple[str, str]


class CallRecorder:
    """The (service, operation) pairs seen while recording, in the order first seen."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.active = True  # a session made in the block may live on: what it calls after the block is not recorded

    def __call__(self, model: Any, **_: Any) -> None:
        if not self.active:
            return
        call = (model.service_model.service_name, model.name)
        if call not in self.calls:
            self.calls.append(call)

    def register(self, session: botocore.session.Session) -> None:
        session.register("before-call", self, unique_id=f"riskbatch-call-recorder-{id(self)}")


@contextmanager
def recording() -> Iterator[CallRecorder]:
    """Every botocore session created inside the block (and the default one) reports its calls to the recorder."""
    recorder = CallRecorder()
    original_init = botocore.session.Session.__init__

    def init(self: botocore.session.Session, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        recorder.register(self)

    botocore.session.Session.__init__ = init  # type: ignore[method-assign]
    try:
        import boto3

        if boto3.DEFAULT_SESSION is not None:
            recorder.register(boto3.DEFAULT_SESSION._session)
        yield recorder
    finally:
        recorder.active = False
        botocore.session.Session.__init__ = original_init  # type: ignore[method-assign]

"""SQS: batch calls authorised as the single action they batch.

Each fix says which kind it is (a defect, a missing rule, a stand-in): see the package's first lines."""

from __future__ import annotations

from typing import Any

from .patching import Patcher, fix


@fix
def sqs_batch_calls_need_the_single_action(patch: Patcher) -> None:
    """Defect. AWS authorises SendMessageBatch, DeleteMessageBatch and ChangeMessageVisibilityBatch
    with the permission of the single action (sqs:SendMessage, ...; SQS developer guide, "Amazon SQS
    API permissions"); moto asks for an action named after the batch call, which no policy grants."""
    from moto.iam.access_control import IAMRequestBase

    original = IAMRequestBase.__init__
    single = {
        "sqs:SendMessageBatch": "sqs:SendMessage",
        "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    }

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self._action = single.get(self._action, self._action)

    patch.set(IAMRequestBase, "__init__", init)

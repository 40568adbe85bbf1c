"""SQS: batch calls authorised as the single action they batch; queue policies from a template.

Each fix says which kind it is (a defect, a missing rule, a stand-in): see the package's first lines."""

from __future__ import annotations

import json
from typing import Any

from .patching import CreatedResource, Patcher, StandInType, add_cloudformation_types, fix


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


@fix
def queue_policies_from_cloudformation(patch: Patcher) -> None:
    """Defect. moto's CloudFormation does not model AWS::SQS::QueuePolicy: a stack "created" it and
    left every queue without its policy, so the TLS-only and source-limited statements were never
    deployed locally. The resource sets the policy document as the Policy attribute of each queue
    it lists (template reference, AWS::SQS::QueuePolicy:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sqs-queuepolicy.html),
    which GetQueueAttributes returns; deleting it removes the policy. The fix does the same."""
    from moto.sqs import models as sqs

    def queues(properties: dict[str, Any], account_id: str, region_name: str) -> list[Any]:
        """The policy's queues that exist (one deleted before its policy, as a stack deletion may, has none to remove)."""
        backend = sqs.sqs_backends[account_id][region_name]
        names = [url.rstrip("/").rsplit("/", 1)[-1] for url in properties.get("Queues", [])]
        return [backend.queues[name] for name in names if name in backend.queues]

    class QueuePolicyFromCloudFormation(StandInType):
        TYPE = "AWS::SQS::QueuePolicy"

        @classmethod
        def create(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> str:
            document = json.dumps(properties["PolicyDocument"])
            for queue in queues(properties, account_id, region_name):
                queue.policy = document
            return name

        @classmethod
        def remove(cls, resource: CreatedResource, account_id: str, region_name: str) -> None:
            for queue in queues(resource.properties, account_id, region_name):
                queue.policy = None

    add_cloudformation_types(patch, {QueuePolicyFromCloudFormation.TYPE: QueuePolicyFromCloudFormation})

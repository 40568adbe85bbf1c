"""EventBridge: ECS targets in the API's shape, a bus's and a rule's Ref, delivery to an encrypted queue.

Each fix says which kind it is (a defect, a missing rule, a stand-in): see the package's first lines."""

from __future__ import annotations

import json
from typing import Any

from .patching import Patcher, fix


@fix
def events_ecs_targets_in_the_api_shape(patch: Patcher) -> None:
    """Defect. An ECS target's parameters are cased differently in CloudFormation
    (NetworkConfiguration.AwsVpcConfiguration, CapacityProvider, Weight, Base) and in the EventBridge
    API (awsvpcConfiguration, capacityProvider, weight, base). moto stores the CloudFormation keys,
    and a client then reads a target without network configuration or capacity provider strategy.
    The fix stores the target in the API's shape, as CloudFormation passes it to EventBridge."""
    from moto.events import models as events

    original = events.EventsBackend.put_targets

    def put_targets(self: Any, name: str, event_bus_arn: str | None, targets: list[dict[str, Any]]) -> Any:
        return original(self, name, event_bus_arn, [ecs_target_in_the_api_shape(target) for target in targets])

    patch.set(events.EventsBackend, "put_targets", put_targets)


def ecs_target_in_the_api_shape(target: dict[str, Any]) -> dict[str, Any]:
    """An ECS target of a rule or schedule as the EventBridge and Scheduler APIs spell it: CloudFormation
    writes AwsVpcConfiguration (rules) or AwsvpcConfiguration (schedules) and CapacityProvider, the
    APIs awsvpcConfiguration and capacityProvider."""
    parameters = target.get("EcsParameters")
    if not parameters:
        return target
    parameters = dict(parameters)
    network = dict(parameters.get("NetworkConfiguration", {}))
    for spelling in ("AwsVpcConfiguration", "AwsvpcConfiguration"):
        if spelling in network:
            network["awsvpcConfiguration"] = network.pop(spelling)
            parameters["NetworkConfiguration"] = network
    if "CapacityProviderStrategy" in parameters:
        parameters["CapacityProviderStrategy"] = [
            {key[:1].lower() + key[1:]: value for key, value in item.items()} for item in parameters["CapacityProviderStrategy"]
        ]
    return {**target, "EcsParameters": parameters}


@fix
def events_bus_ref_is_its_name(patch: Patcher) -> None:
    """Defect. CloudFormation's Ref of an AWS::Events::EventBus returns the bus's name (CloudFormation
    user guide, AWS::Events::EventBus, "Return values"); moto's model
    has no physical id, so Ref returned the Python object (every property built from it broke) and
    the stack's resource list showed the bus without an id. The fix gives the bus its name as id."""
    from moto.events import models as events

    patch.set(events.EventBus, "physical_resource_id", property(lambda self: self.name))


@fix
def events_rule_ref_on_a_custom_bus(patch: Patcher) -> None:
    """Defect. CloudFormation's Ref of an AWS::Events::Rule on a custom event bus returns
    "busname|rulename" (cloudformation-coverage-roadmap#1131); moto returns the rule name, which hid
    outputs and alarm dimensions that took a rule's name from its Ref. The fix returns what
    CloudFormation returns, and deletes by the rule's name."""
    from moto.events import models as events

    def physical_resource_id(self: Any) -> str:
        bus = (self.event_bus_name or "default").rsplit("/", 1)[-1]
        return self.name if bus == "default" else f"{bus}|{self.name}"

    original_delete = events.Rule.delete_from_cloudformation_json.__func__

    def delete(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> None:
        original_delete(cls, resource_name.rsplit("|", 1)[-1], cloudformation_json, account_id, region_name)

    patch.set(events.Rule, "physical_resource_id", property(physical_resource_id))
    patch.set(events.Rule, "delete_from_cloudformation_json", classmethod(delete))


@fix
def eventbridge_delivery_to_an_encrypted_queue_needs_the_key(patch: Patcher) -> None:
    """Missing rule. To put an event in a queue encrypted with a customer key, EventBridge needs
    kms:GenerateDataKey from the key policy, and its KMS request carries no aws:SourceAccount,
    aws:SourceArn or aws:SourceOrgID (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html),
    so a statement conditioned on them never applies and the event is dropped (the rule's
    FailedInvocations counts it; nothing reaches the queue). moto delivers to any queue. The fix
    decides the key policy as AWS does (riskbatch_platform/analysis/key_policy.py) and drops what AWS drops."""
    import warnings

    from moto.events.models import Rule
    from moto.kms import kms_backends
    from moto.sqs import sqs_backends

    from riskbatch_platform.analysis.key_policy import EVENTS, request_context, service_may_use_key

    original = Rule._send_to_sqs_queue

    def key_allows(rule: Any, queue_name: str) -> bool:
        queue = sqs_backends[rule.account_id][rule.region_name].get_queue(queue_name)
        key_id = getattr(queue, "kms_master_key_id", None)
        if not key_id or key_id.startswith("alias/aws/"):
            return True  # SQS-managed encryption or the AWS managed key: nothing for the key policy to grant
        kms = kms_backends[rule.account_id][rule.region_name]
        key = kms.describe_key(kms.any_id_to_key_id(key_id))
        context = request_context(EVENTS, rule.account_id, rule.arn)
        return service_may_use_key(json.loads(key.policy), EVENTS, "kms:GenerateDataKey", context)

    def send_to_sqs_queue(self: Any, resource_id: str, event: dict[str, Any], group_id: str | None = None) -> None:
        if not key_allows(self, resource_id):
            warnings.warn(f"EventBridge may not use the key of {resource_id}: event dropped (FailedInvocations)", stacklevel=2)
            return
        original(self, resource_id, event, group_id)

    patch.set(Rule, "_send_to_sqs_queue", send_to_sqs_queue)

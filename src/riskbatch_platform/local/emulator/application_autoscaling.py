"""Application Auto Scaling: scalable targets, their scheduled actions and scaling policies from a template.

Each fix says which kind it is (a defect, a missing rule, a stand-in): see the package's first lines."""

from __future__ import annotations

from typing import Any

from .patching import CreatedResource, Patcher, StandInType, add_cloudformation_types, fix


def _target_of(properties: dict[str, Any]) -> tuple[str, str, str]:
    """(resource id, scalable dimension, namespace): from ScalingTargetId (what Ref of the target
    returns, "resource|dimension|namespace") or from the three properties."""
    if properties.get("ScalingTargetId"):
        resource_id, dimension, namespace = str(properties["ScalingTargetId"]).split("|")
        return resource_id, dimension, namespace
    return properties["ResourceId"], properties["ScalableDimension"], properties["ServiceNamespace"]


@fix
def scalable_targets_from_cloudformation(patch: Patcher) -> None:
    """Defect. moto's CloudFormation models neither AWS::ApplicationAutoScaling::ScalableTarget nor
    AWS::ApplicationAutoScaling::ScalingPolicy: the services were deployed without their capacity
    bounds, their window schedule and their CPU and backlog policies. The target is the API's
    RegisterScalableTarget with its ScheduledActions (PutScheduledAction each), and Ref of it returns
    "resource id|dimension|namespace"; a policy is PutScalingPolicy on that target, and Ref of it
    returns its ARN (template reference, AWS::ApplicationAutoScaling::ScalableTarget:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-applicationautoscaling-scalabletarget.html,
    and AWS::ApplicationAutoScaling::ScalingPolicy:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-applicationautoscaling-scalingpolicy.html).
    Deleting them deregisters the target, its actions and policies. The fix does the same
    (moto records them; nothing scales)."""
    from moto.applicationautoscaling import models as autoscaling

    def backend(account_id: str, region_name: str) -> Any:
        return autoscaling.applicationautoscaling_backends[account_id][region_name]

    class ScalableTargetFromCloudFormation(StandInType):
        TYPE = "AWS::ApplicationAutoScaling::ScalableTarget"

        @classmethod
        def create(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> str:
            resource_id, dimension, namespace = _target_of(properties)
            scaling = backend(account_id, region_name)
            scaling.register_scalable_target(
                namespace,
                resource_id,
                dimension,
                min_capacity=int(properties["MinCapacity"]),
                max_capacity=int(properties["MaxCapacity"]),
                role_arn=properties.get("RoleARN"),
                suspended_state=properties.get("SuspendedState"),
            )
            for action in properties.get("ScheduledActions", []):
                written = action.get("ScalableTargetAction", {})
                scaling.put_scheduled_action(
                    namespace,
                    action["Schedule"],
                    action.get("Timezone"),
                    action["ScheduledActionName"],
                    resource_id,
                    dimension,
                    action.get("StartTime"),
                    action.get("EndTime"),
                    {key: int(value) for key, value in written.items()},
                )
            # Ref of a scalable target (CloudFormation template reference, AWS::ApplicationAutoScaling::ScalableTarget,
            # "Return values", Ref: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-applicationautoscaling-scalabletarget.html):
            # "the CloudFormation-generated ID of the resource", for example
            # "service/ecsStack-MyECSCluster-AB12CDE3F4GH/ecsStack-MyECSService-AB12CDE3F4GH|ecs:service:DesiredCount|ecs", in the format
            # "service/resource_ID|scalable_dimension|service_namespace": the ResourceId property (already "service/<cluster>/<service>"),
            # the dimension and the namespace, joined by "|".
            return f"{resource_id}|{dimension}|{namespace}"

        @classmethod
        def remove(cls, resource: CreatedResource, account_id: str, region_name: str) -> None:
            resource_id, dimension, namespace = _target_of(resource.properties)
            scaling = backend(account_id, region_name)
            for action in resource.properties.get("ScheduledActions", []):
                scaling.delete_scheduled_action(namespace, action["ScheduledActionName"], resource_id, dimension)
            if scaling._scalable_target_exists(resource_id, dimension):
                scaling.deregister_scalable_target(namespace, resource_id, dimension)

    class ScalingPolicyFromCloudFormation(StandInType):
        TYPE = "AWS::ApplicationAutoScaling::ScalingPolicy"

        @classmethod
        def create(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> str:
            resource_id, dimension, namespace = _target_of(properties)
            kind = properties["PolicyType"]
            body = properties.get("TargetTrackingScalingPolicyConfiguration" if kind == "TargetTrackingScaling" else "StepScalingPolicyConfiguration", {})
            policy = backend(account_id, region_name).put_scaling_policy(properties.get("PolicyName") or name, namespace, resource_id, dimension, body, kind)
            return policy.policy_arn

        @classmethod
        def remove(cls, resource: CreatedResource, account_id: str, region_name: str) -> None:
            resource_id, dimension, namespace = _target_of(resource.properties)
            name = resource.physical_resource_id.rsplit(":policyName/", 1)[-1]
            scaling = backend(account_id, region_name)
            if autoscaling.FakeApplicationAutoscalingPolicy.formulate_key(namespace, resource_id, dimension, name) in scaling.policies:
                scaling.delete_scaling_policy(name, namespace, resource_id, dimension)

    add_cloudformation_types(
        patch, {ScalableTargetFromCloudFormation.TYPE: ScalableTargetFromCloudFormation, ScalingPolicyFromCloudFormation.TYPE: ScalingPolicyFromCloudFormation}
    )

"""The Application Auto Scaling fix (src/riskbatch_platform/local/emulator/application_autoscaling.py): the defect is there in
moto as shipped, and gone with the fix.

A scalable target, its scheduled action and its scaling policies from a template are registered, and deregistered with the stack.
Runs moto in-process (mock_aws).
"""

from __future__ import annotations

from typing import Any

import boto3

from riskbatch_platform.local import emulator
from test.platform.local.emulator.support import REGION, _deploy, patched

RESOURCE_ID = "service/cluster-x/service-x"
TRACKING = {
    "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
    "TargetValue": 70,
    "ScaleInCooldown": 300,
    "ScaleOutCooldown": 300,
}
STEPS = {"AdjustmentType": "ChangeInCapacity", "Cooldown": 120, "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]}


def _template() -> dict[str, Any]:
    target = {
        "ServiceNamespace": "ecs",
        "ScalableDimension": "ecs:service:DesiredCount",
        "ResourceId": RESOURCE_ID,
        "MinCapacity": 0,
        "MaxCapacity": 8,
        "ScheduledActions": [
            {
                "ScheduledActionName": "window-open",
                "Schedule": "cron(0 0 ? * MON-FRI *)",
                "Timezone": "America/New_York",
                "ScalableTargetAction": {"MinCapacity": 2, "MaxCapacity": 8},
            }
        ],
    }
    return {
        "Resources": {
            "Target": {"Type": "AWS::ApplicationAutoScaling::ScalableTarget", "Properties": target},
            "Cpu": {
                "Type": "AWS::ApplicationAutoScaling::ScalingPolicy",
                "Properties": {
                    "PolicyName": "cpu-x",
                    "PolicyType": "TargetTrackingScaling",
                    "ScalingTargetId": {"Ref": "Target"},
                    "TargetTrackingScalingPolicyConfiguration": TRACKING,
                },
            },
            "Backlog": {
                "Type": "AWS::ApplicationAutoScaling::ScalingPolicy",
                "Properties": {
                    "PolicyName": "backlog-x",
                    "PolicyType": "StepScaling",
                    "ScalingTargetId": {"Ref": "Target"},
                    "StepScalingPolicyConfiguration": STEPS,
                },
            },
        },
        "Outputs": {"Target": {"Value": {"Ref": "Target"}}, "Backlog": {"Value": {"Ref": "Backlog"}}},
    }


def _deployed() -> tuple[list[dict], list[dict], list[dict], dict[str, str]]:
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="cluster-x")
    ecs.create_service(cluster="cluster-x", serviceName="service-x", desiredCount=0)
    outputs = _deploy(_template())
    scaling = boto3.client("application-autoscaling", region_name=REGION)
    targets = scaling.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[RESOURCE_ID])["ScalableTargets"]
    policies = scaling.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=RESOURCE_ID)["ScalingPolicies"]
    actions = scaling.describe_scheduled_actions(ServiceNamespace="ecs", ResourceId=RESOURCE_ID)["ScheduledActions"]
    return targets, policies, actions, outputs


def test_moto_registers_no_scalable_target(aws: None) -> None:
    assert _deployed()[:3] == ([], [], [])


def test_a_scalable_target_and_its_policies_from_a_template_are_registered_until_the_stack_is_deleted(aws: None) -> None:
    with patched(emulator.application_autoscaling.scalable_targets_from_cloudformation):
        (target,), policies, (action,), outputs = _deployed()
        assert (target["MinCapacity"], target["MaxCapacity"]) == (0, 8)
        assert action["ScalableTargetAction"] == {"MinCapacity": 2, "MaxCapacity": 8} and action["Timezone"] == "America/New_York"
        by_name = {policy["PolicyName"]: policy for policy in policies}
        assert by_name["cpu-x"]["TargetTrackingScalingPolicyConfiguration"] == TRACKING
        assert by_name["backlog-x"]["StepScalingPolicyConfiguration"] == STEPS
        assert outputs["Backlog"] == by_name["backlog-x"]["PolicyARN"]  # Ref of a policy is its ARN, what an alarm's action names
        # Ref of a scalable target is "service/resource_ID|scalable_dimension|service_namespace", for example
        # "service/ecsStack-MyECSCluster-AB12CDE3F4GH/ecsStack-MyECSService-AB12CDE3F4GH|ecs:service:DesiredCount|ecs"
        # (CloudFormation template reference, AWS::ApplicationAutoScaling::ScalableTarget, "Return values", Ref:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-applicationautoscaling-scalabletarget.html)
        assert outputs["Target"] == f"{RESOURCE_ID}|ecs:service:DesiredCount|ecs"
        boto3.client("cloudformation", region_name=REGION).delete_stack(StackName="s")
        scaling = boto3.client("application-autoscaling", region_name=REGION)
        assert scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"] == []
        assert scaling.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"] == []

"""What the local emulator does not create or carry, for the moto version it runs (MOTO_VERSION).

Two lists, read from that version: the resource types its CloudFormation does not create
(NOT_CREATED) and the properties it does not carry (EMULATOR_GAPS). The integration suite skips a
check only for a gap listed here and fails when a gap no longer exists; taskcat's verdict names
every resource the emulator did not create and fails on one whose type is not listed.
"""

from __future__ import annotations

from riskbatch_platform.local.emulator.patching import MOTO_VERSION

# The emulator version the gap lists were read from.
GAPS_OF = MOTO_VERSION
# resource type -> why the local emulator's CloudFormation does not create it
NOT_CREATED = {
    "AWS::ECS::ClusterCapacityProviderAssociations": "moto does not model AWS::ECS::ClusterCapacityProviderAssociations",
    "AWS::KinesisFirehose::DeliveryStream": "moto does not model AWS::KinesisFirehose::DeliveryStream in CloudFormation",
    "AWS::Logs::SubscriptionFilter": "moto does not model AWS::Logs::SubscriptionFilter in CloudFormation",
}
# (resource type, property) -> why the local emulator cannot show it
EMULATOR_GAPS = {
    ("AWS::ECS::Cluster", "containerInsights"): "moto's ECS cluster ignores ClusterSettings from CloudFormation",
    ("AWS::ECS::Cluster", "CapacityProviders"): "moto does not model AWS::ECS::ClusterCapacityProviderAssociations",
    ("AWS::ECS::Service", "DeploymentCircuitBreaker"): "moto's service handler drops DeploymentConfiguration",
    ("AWS::ECS::Service", "MinimumHealthyPercent"): "moto's service handler drops DeploymentConfiguration",
    ("AWS::ECS::Service", "HealthCheckGracePeriodSeconds"): "moto's service handler drops HealthCheckGracePeriodSeconds",
    ("AWS::ECS::Service", "CapacityProviderStrategy"): "moto's service handler drops CapacityProviderStrategy",
    ("AWS::ECS::Service", "LaunchType"): "moto's service handler reports launch type EC2 for every service",
    ("AWS::ECS::Service", "Subnets (count)"): "moto's service handler drops NetworkConfiguration",
    ("AWS::ECS::Service", "AssignPublicIp"): "moto's service handler drops NetworkConfiguration",
    ("AWS::ECS::Service", "AvailabilityZoneRebalancing"): "moto's service handler drops AvailabilityZoneRebalancing",
}

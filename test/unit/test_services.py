"""ECS services and the RunTask target: Fargate strategies, three private subnets, safe deployments, scaling."""

from __future__ import annotations

import pytest

from test.conftest import the_template
from test.template_model import Resource, Template, as_list, container_environment, referenced_id, run_task_targets

TEMPLATE = the_template()
SERVICES = TEMPLATE.of_type("AWS::ECS::Service")
SUBNET_PARAMETERS = {"PrivateSubnet1Id", "PrivateSubnet2Id", "PrivateSubnet3Id"}


def _run_task_targets() -> list[dict]:
    return [target["EcsParameters"] for _, target in run_task_targets(TEMPLATE)]


def _placements() -> list[tuple[str, dict]]:
    """Everything that places tasks: services and RunTask targets."""
    return [(service.logical_id, service.props) for service in SERVICES] + [
        (f"run-task:{index}", parameters) for index, parameters in enumerate(_run_task_targets())
    ]


def _network(placement: dict) -> dict:
    configuration = placement["NetworkConfiguration"]
    return configuration.get("AwsvpcConfiguration") or configuration["AwsVpcConfiguration"]


def _task_definition(service: Resource) -> Resource:
    return TEMPLATE.get(referenced_id(service.props["TaskDefinition"]))


def test_there_are_services_and_a_run_task_target() -> None:
    assert SERVICES and _run_task_targets()


@pytest.mark.parametrize(("name", "placement"), _placements(), ids=[name for name, _ in _placements()])
def test_uses_a_fargate_capacity_provider_strategy_and_never_a_launch_type(name: str, placement: dict) -> None:
    assert "LaunchType" not in placement
    strategy = placement["CapacityProviderStrategy"]
    assert strategy and {item["CapacityProvider"] for item in strategy} <= {"FARGATE", "FARGATE_SPOT"}


@pytest.mark.parametrize(("name", "placement"), _placements(), ids=[name for name, _ in _placements()])
def test_runs_in_the_three_private_subnets_without_public_ip(name: str, placement: dict) -> None:
    network = _network(placement)
    assert {referenced_id(subnet) for subnet in network["Subnets"]} == SUBNET_PARAMETERS
    assert network["AssignPublicIp"] == "DISABLED"
    assert [TEMPLATE.get(referenced_id(group)).type for group in network["SecurityGroups"]] == ["AWS::EC2::SecurityGroup"]


@pytest.mark.parametrize(("name", "placement"), _placements(), ids=[name for name, _ in _placements()])
def test_has_no_placement_constraints_or_strategies(name: str, placement: dict) -> None:
    # Fargate rejects both; spread across zones comes from the three subnets.
    assert not {"PlacementConstraints", "PlacementStrategies", "PlacementStrategy"} & set(placement)


@pytest.mark.parametrize(("name", "placement"), _placements(), ids=[name for name, _ in _placements()])
def test_platform_version_is_1_4_0_or_latest(name: str, placement: dict) -> None:
    assert placement.get("PlatformVersion") in {"LATEST", "1.4.0"}


@pytest.mark.parametrize("service", SERVICES, ids=repr)
def test_service_rebalances_across_zones(service: Resource) -> None:
    assert service.props["AvailabilityZoneRebalancing"] == "ENABLED"


@pytest.mark.parametrize("service", SERVICES, ids=repr)
def test_service_rolls_back_failed_deployments_without_dropping_capacity(service: Resource) -> None:
    deployment = service.props["DeploymentConfiguration"]
    assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert deployment["MinimumHealthyPercent"] == 100
    assert deployment["MaximumPercent"] >= 200


@pytest.mark.parametrize("service", SERVICES, ids=repr)
def test_service_grace_period_is_backed_by_a_container_health_check(service: Resource) -> None:
    assert service.props["HealthCheckGracePeriodSeconds"] == 120
    assert "LoadBalancers" not in service.props
    for container in _task_definition(service).props["ContainerDefinitions"]:
        assert container["HealthCheck"]["Command"]


@pytest.mark.parametrize("service", SERVICES, ids=repr)
def test_service_leaves_desired_count_to_scaling(service: Resource) -> None:
    assert "DesiredCount" not in service.props


@pytest.mark.parametrize("service", SERVICES, ids=repr)
def test_service_waits_for_images_and_capacity_providers(template: Template, service: Resource) -> None:
    assert service.body.get("Condition") == "ShouldDeployServices", "a service must wait for its images (DeployServices)"
    assert template.doc["Conditions"]["ShouldDeployServices"] == {"Fn::Equals": [{"Ref": "DeployServices"}, "true"]}
    associations = {association.logical_id for association in template.of_type("AWS::ECS::ClusterCapacityProviderAssociations")}
    assert associations <= set(as_list(service.body.get("DependsOn", [])))


@pytest.mark.parametrize("service", SERVICES, ids=repr)
def test_service_spot_share_only_for_interruptible_work(service: Resource) -> None:
    providers = {item["CapacityProvider"] for item in service.props["CapacityProviderStrategy"]}
    if "FARGATE_SPOT" in providers:
        # Spot tasks may be interrupted: only idempotent, redelivered queue work goes there,
        # and an on-demand base keeps the service making progress.
        assert any(item["CapacityProvider"] == "FARGATE" and item.get("Base", 0) >= 1 for item in service.props["CapacityProviderStrategy"])
        assert _task_definition(service).props["RuntimePlatform"]["CpuArchitecture"] == "X86_64"


@pytest.mark.parametrize("service", SERVICES, ids=repr)
def test_service_consumes_a_queue_that_redrives_to_a_dead_letter_queue(template: Template, service: Resource) -> None:
    environment = container_environment(_task_definition(service).props["ContainerDefinitions"][0])
    consumed = [name for name in environment if name.endswith("_QUEUE_URL")]
    assert len(consumed) == 1
    queue = template.get(referenced_id(environment[consumed[0]]))
    assert queue.type == "AWS::SQS::Queue" and "RedrivePolicy" in queue.props


def _scalable_targets_of(template: Template, service: Resource) -> list[Resource]:
    found = []
    for target in template.of_type("AWS::ApplicationAutoScaling::ScalableTarget"):
        parts = target.props["ResourceId"]["Fn::Join"][1]
        if parts[0] == "service" and referenced_id(parts[2]) == service.logical_id:
            assert referenced_id(parts[1]) == referenced_id(service.props["Cluster"])
            found.append(target)
    return found


@pytest.mark.parametrize("service", SERVICES, ids=repr)
def test_service_has_one_scalable_target_on_desired_count(template: Template, service: Resource) -> None:
    targets = _scalable_targets_of(template, service)
    assert len(targets) == 1
    target = targets[0]
    assert target.props["ServiceNamespace"] == "ecs"
    assert target.props["ScalableDimension"] == "ecs:service:DesiredCount"
    assert target.body["Condition"] == service.body["Condition"]
    assert "RoleARN" not in target.props, "the ECS service-linked role is used"


def _policies_of(template: Template, target: Resource) -> list[Resource]:
    return [
        policy
        for policy in template.of_type("AWS::ApplicationAutoScaling::ScalingPolicy")
        if referenced_id(policy.props["ScalingTargetId"]) == target.logical_id
    ]


@pytest.mark.parametrize("service", SERVICES, ids=repr)
def test_service_tracks_70_percent_cpu_with_300_second_cooldowns(template: Template, service: Resource) -> None:
    (target,) = _scalable_targets_of(template, service)
    tracking = [
        policy.props["TargetTrackingScalingPolicyConfiguration"]
        for policy in _policies_of(template, target)
        if policy.props["PolicyType"] == "TargetTrackingScaling"
    ]
    assert tracking == [
        {
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
            "TargetValue": 70,
            "ScaleInCooldown": 300,
            "ScaleOutCooldown": 300,
        }
    ]


@pytest.mark.parametrize("service", SERVICES, ids=repr)
def test_service_starts_from_zero_on_its_queue_backlog(template: Template, service: Resource) -> None:
    (target,) = _scalable_targets_of(template, service)
    environment = container_environment(_task_definition(service).props["ContainerDefinitions"][0])
    queue = next(referenced_id(value) for name, value in environment.items() if name.endswith("_QUEUE_URL"))
    step_policies = [policy for policy in _policies_of(template, target) if policy.props["PolicyType"] == "StepScaling"]
    assert step_policies
    for policy in step_policies:
        adjustments = policy.props["StepScalingPolicyConfiguration"]["StepAdjustments"]
        assert all(step["ScalingAdjustment"] > 0 for step in adjustments)
        alarms = [
            alarm
            for alarm in template.of_type("AWS::CloudWatch::Alarm")
            if policy.logical_id in {referenced_id(action) for action in alarm.props.get("AlarmActions", [])}
        ]
        assert alarms, "a step policy acts only when an alarm calls it"
        for alarm in alarms:
            assert alarm.props["Namespace"] == "AWS/SQS"
            assert alarm.props["MetricName"] == "ApproximateNumberOfMessagesVisible"
            assert [referenced_id(dimension["Value"]) for dimension in alarm.props["Dimensions"]] == [queue]
            assert alarm.props["Threshold"] == 0 and alarm.props["ComparisonOperator"] == "GreaterThanThreshold"


@pytest.mark.parametrize("service", SERVICES, ids=repr)
def test_service_scales_up_for_the_overnight_window_in_new_york_time(template: Template, service: Resource) -> None:
    (target,) = _scalable_targets_of(template, service)
    actions = target.props["ScheduledActions"]
    assert len(actions) >= 2
    assert all(action["Timezone"] == "America/New_York" for action in actions)
    schedules = {action["Schedule"] for action in actions}
    # Application Auto Scaling's cron: [Minutes] [Hours] [Day_of_Month] [Month] [Day_of_Week] [Year]
    # (https://docs.aws.amazon.com/autoscaling/application/userguide/scheduled-scaling-using-cron-expressions.html).
    # The window opens at midnight and closes at market open, 09:30 New York, on the weekday mornings a
    # report is due: no warm workers on Saturday and Sunday.
    assert schedules == {"cron(0 0 ? * MON-FRI *)", "cron(30 9 ? * MON-FRI *)"}
    bounds = target.props
    for action in actions:
        assert action["ScalableTargetAction"]["MaxCapacity"] == bounds["MaxCapacity"]


def _everything_that_starts_tasks() -> list[tuple[str, dict]]:
    """Services, RunTask targets of rules, and the Scheduler schedules' ECS targets."""
    schedules = [
        (f"schedule:{schedule.logical_id}", schedule.props["Target"]["EcsParameters"])
        for schedule in TEMPLATE.of_type("AWS::Scheduler::Schedule")
        if "EcsParameters" in schedule.props.get("Target", {})
    ]
    return _placements() + schedules


@pytest.mark.parametrize(("name", "placement"), _everything_that_starts_tasks(), ids=[name for name, _ in _everything_that_starts_tasks()])
def test_no_task_is_started_with_ecs_exec(name: str, placement: dict) -> None:
    # ECS Exec opens an interactive shell in the task through SSM, outside the audited jobs
    # (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html): nothing here enables it.
    assert placement.get("EnableExecuteCommand", False) is False, f"{name} enables ECS Exec"

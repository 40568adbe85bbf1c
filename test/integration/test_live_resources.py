"""What the deployed stack really holds, read back with describe calls.

Against the local emulator, what the emulator does not carry is skipped with the exact reason,
and only from the two gap lists of riskbatch_platform/local/emulator/gaps.py, which belong to one emulator version: a property it does
not carry (EMULATOR_GAPS), a resource type its CloudFormation does not create (NOT_CREATED). A
gap that no longer exists fails, so the lists cannot go stale and no check passes vacuously; a
missing resource of any other type fails. Against a live stack every check runs.
"""

from __future__ import annotations

import pytest

from riskbatch_platform.analysis.resolve import resolve
from riskbatch_platform.deployment.stack import current_parameters, physical_ids
from riskbatch_platform.local.emulator.gaps import EMULATOR_GAPS, GAPS_OF, NOT_CREATED
from riskbatch_platform.testing.live_checks import Check, live_checks
from test.integration.conftest import DeployedStack, emulator_gap


def _checks(stack: DeployedStack) -> list[Check]:
    return live_checks(stack.target, stack.stack_name, stack.template, stack.outputs)


@pytest.fixture(scope="module")
def checks(stack: DeployedStack) -> list[Check]:
    found = _checks(stack)
    assert len(found) > 50, "the stack's resources were not found"
    return found


KINDS = sorted(
    {(kind, prop) for kind, prop in EMULATOR_GAPS}
    | {
        ("AWS::ECR::Repository", "ScanOnPush"),
        ("AWS::ECR::Repository", "ImageTagMutability"),
        ("AWS::ECR::Repository", "EncryptionType"),
        ("AWS::Logs::LogGroup", "RetentionInDays"),
        ("AWS::Logs::LogGroup", "KmsKeyId"),
        ("AWS::ECS::TaskDefinition", "Memory"),
        ("AWS::ECS::TaskDefinition", "ReadonlyRootFilesystem"),
        ("AWS::ECS::TaskDefinition", "User"),
        ("AWS::ECS::TaskDefinition", "StopTimeout"),
        ("AWS::ECS::TaskDefinition", "HealthCheck.Command"),
        ("AWS::SQS::Queue", "KmsMasterKeyId (set)"),
        ("AWS::SQS::Queue", "RedrivePolicy.maxReceiveCount"),
        ("AWS::SQS::Queue", "VisibilityTimeout"),
        ("AWS::SNS::Topic", "KmsMasterKeyId (set)"),
        ("AWS::Events::Rule", "Targets (count)"),
        ("AWS::Events::Rule", "EcsParameters.CapacityProviderStrategy"),
        ("AWS::Events::Rule", "InputTransformer"),
        ("AWS::Events::Rule", "DeadLetterConfig (set)"),
        ("AWS::Events::Rule", "RetryPolicy"),
    }
)


@pytest.mark.parametrize(("kind", "prop"), KINDS, ids=[f"{kind.split('::')[-1]}.{prop}" for kind, prop in KINDS])
def test_every_deployed_instance_holds_the_template_value(stack: DeployedStack, checks: list[Check], kind: str, prop: str) -> None:
    found = [check for check in checks if check.resource_type == kind and check.prop == prop]
    assert found, f"no deployed {kind} reports {prop}"
    failing = [f"{check.logical_id}: template {check.expected!r}, deployed {check.actual!r}" for check in found if not check.holds]
    gap = EMULATOR_GAPS.get((kind, prop))
    if stack.on_emulator and gap:
        assert failing, f"the emulator now carries {kind} {prop}: remove it from EMULATOR_GAPS"
        emulator_gap(stack, gap)
    assert not failing


def test_the_gap_lists_belong_to_the_running_emulator(stack: DeployedStack) -> None:
    import moto

    if stack.on_emulator:
        assert moto.__version__ == GAPS_OF, f"the gap lists were read from moto {GAPS_OF}: read them again for {moto.__version__}"


def _expected_and_deployed(stack: DeployedStack) -> tuple[dict[str, str], dict[str, str]]:
    cfn = stack.target.client("cloudformation")
    expected = resolve(stack.template, current_parameters(cfn, stack.stack_name), region=stack.target.region)["Resources"]
    deployed = physical_ids(cfn, stack.stack_name)
    return {logical_id: body["Type"] for logical_id, body in expected.items()}, {logical_id: kind for logical_id, (kind, _) in deployed.items()}


def test_the_deployed_resources_are_the_templates_once_its_conditions_apply(stack: DeployedStack) -> None:
    expected, deployed = _expected_and_deployed(stack)
    assert set(deployed) - set(expected) == set(), "deployed resources the template does not declare"
    missing = {logical_id: kind for logical_id, kind in expected.items() if logical_id not in deployed}
    if stack.on_emulator:
        assert {kind for kind in missing.values()} <= set(NOT_CREATED), f"missing: {missing}"
        created = {kind for logical_id, kind in expected.items() if kind in NOT_CREATED and logical_id in deployed}
        assert not created, f"the emulator now creates {created}: remove them from NOT_CREATED"
    else:
        assert missing == {}


CHECKED_TYPES = sorted({kind for kind, _ in KINDS})


@pytest.mark.parametrize("kind", CHECKED_TYPES)
def test_every_deployed_instance_of_a_checked_type_is_checked(stack: DeployedStack, checks: list[Check], kind: str) -> None:
    _, deployed = _expected_and_deployed(stack)
    instances = {logical_id for logical_id, deployed_kind in deployed.items() if deployed_kind == kind}
    assert instances and instances <= {check.logical_id for check in checks if check.resource_type == kind}


def _not_created_locally(stack: DeployedStack, kind: str) -> None:
    if stack.on_emulator:
        emulator_gap(stack, NOT_CREATED[kind])


def test_scalable_targets_and_policies(stack: DeployedStack) -> None:
    autoscaling = stack.target.client("application-autoscaling")
    services = [stack.outputs["RiskCalculationServiceName"], stack.outputs["ReportGenerationServiceName"]]
    resource_ids = [f"service/{stack.outputs['ClusterName']}/{service}" for service in services]
    targets = autoscaling.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=resource_ids)["ScalableTargets"]
    if not targets:  # only the gap list may excuse this (and the test above fails once the emulator creates them)
        _not_created_locally(stack, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert {target["ResourceId"] for target in targets} == set(resource_ids)
    # the stack's own services only: other services of the account have policies of their own
    policies = []
    for resource_id in resource_ids:
        policies += autoscaling.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=resource_id)["ScalingPolicies"]
    tracking = [p for p in policies if p["PolicyType"] == "TargetTrackingScaling"]
    assert {p["ResourceId"] for p in tracking} == set(resource_ids)
    for policy in tracking:
        configuration = policy["TargetTrackingScalingPolicyConfiguration"]
        assert configuration["TargetValue"] == 70 and configuration["ScaleInCooldown"] == 300 and configuration["ScaleOutCooldown"] == 300


def test_alarms_notify_the_topic(stack: DeployedStack) -> None:
    suffix = stack.outputs["EnvironmentSuffix"]
    alarms = stack.target.client("cloudwatch").describe_alarms(AlarmNamePrefix="alarm-")["MetricAlarms"]
    mine = [alarm for alarm in alarms if alarm["AlarmName"].endswith(f"-{suffix}")]
    assert mine
    failure_rate = [alarm for alarm in mine if alarm["AlarmName"] == f"alarm-task-failure-rate-{suffix}"]
    assert failure_rate and failure_rate[0]["Threshold"] == 5
    for alarm in mine:
        if "backlog" not in alarm["AlarmName"]:
            assert stack.outputs["AlertTopicArn"] in alarm["AlarmActions"]


def test_ingestion_rule_runs_the_task_on_the_cluster(stack: DeployedStack) -> None:
    events = stack.target.client("events")
    (target,) = events.list_targets_by_rule(Rule=stack.outputs["DataIngestionTriggerRuleName"])["Targets"]
    assert target["Arn"] == stack.outputs["ClusterArn"]
    assert target["EcsParameters"]["TaskDefinitionArn"] == stack.outputs["DataIngestionTaskDefinitionArn"]


def test_completion_rule_delivers_to_the_report_queue(stack: DeployedStack) -> None:
    events = stack.target.client("events")
    (target,) = events.list_targets_by_rule(Rule=stack.outputs["RunCompletedRuleName"], EventBusName=stack.outputs["EventBusName"])["Targets"]
    queue_arn = stack.target.client("sqs").get_queue_attributes(QueueUrl=stack.outputs["ReportQueueUrl"], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert target["Arn"] == queue_arn

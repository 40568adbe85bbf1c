"""The deploy script's own logic: parameters, the image and scan gate, the template-size rule."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from deploy import parse_parameters
from riskbatch_infra.aws import Target
from riskbatch_infra.images import repository_names, stand_in_manifest
from riskbatch_infra.phases import ImagesNeeded, ParametersRefused, check_images
from riskbatch_infra.stack import TEMPLATE_BODY_LIMIT, DeployError, deploy
from test.template_model import REQUIRED_VALUES

REGION = "us-east-1"


def test_parameters_from_file_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "parameters.json"
    path.write_text(json.dumps({"EnvironmentSuffix": "dev", "RiskCalculationMaxTasks": 20}))
    assert parse_parameters(path, ["EnvironmentSuffix=prod"]) == {"EnvironmentSuffix": "prod", "RiskCalculationMaxTasks": "20"}


def test_parameters_in_the_cli_list_form(tmp_path: Path) -> None:
    path = tmp_path / "parameters.json"
    path.write_text(json.dumps([{"ParameterKey": "ImageTag", "ParameterValue": "2.0.0"}]))
    assert parse_parameters(path, []) == {"ImageTag": "2.0.0"}


def test_override_without_equals_is_refused() -> None:
    with pytest.raises(ParametersRefused, match="KEY=VALUE"):
        parse_parameters(None, ["ImageTag"])


def test_repository_names_come_from_the_uri_outputs() -> None:
    outputs = {"DataIngestionRepositoryUri": "1.dkr.ecr.us-east-1.amazonaws.com/ecr-data-ingestion-dev", "ClusterName": "c"}
    assert repository_names(outputs) == ["ecr-data-ingestion-dev"]


@pytest.fixture
def registry():
    with mock_aws():
        ecr = boto3.client("ecr", region_name=REGION)
        ecr.create_repository(repositoryName="ecr-risk-calculation-dev", imageScanningConfiguration={"scanOnPush": True})
        yield ecr


OUTPUTS = {"RiskCalculationRepositoryUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/ecr-risk-calculation-dev"}


def _push(ecr, tag: str) -> None:
    ecr.put_image(repositoryName="ecr-risk-calculation-dev", imageManifest=stand_in_manifest(), imageTag=tag)
    ecr.start_image_scan(repositoryName="ecr-risk-calculation-dev", imageId={"imageTag": tag})


def _findings(severities: dict[str, int]) -> None:
    import requests

    result = {
        "imageScanFindings": {"findings": [], "findingSeverityCounts": severities},
        "registryId": "123456789012",
        "repositoryName": "ecr-risk-calculation-dev",
        "imageId": {"imageTag": "1.0.0"},
        "imageScanStatus": {"status": "COMPLETE", "description": "done"},
    }
    requests.post("http://motoapi.amazonaws.com/moto-api/static/ecr/scan-finding-results", json={"results": [result], "region": REGION})


def test_gate_stops_when_an_image_is_missing(registry) -> None:
    with pytest.raises(ImagesNeeded, match=r"ecr-risk-calculation-dev:1\.0\.0"):
        check_images(Target(region=REGION), OUTPUTS, "1.0.0", allow_findings=False)


def test_gate_refuses_high_findings(registry) -> None:
    _push(registry, "1.0.0")
    _findings({"HIGH": 2, "LOW": 5})
    with pytest.raises(PermissionError, match="HIGH"):
        check_images(Target(region=REGION), OUTPUTS, "1.0.0", allow_findings=False)


def test_gate_lets_high_findings_through_when_told(registry) -> None:
    _push(registry, "1.0.0")
    _findings({"HIGH": 2})
    check_images(Target(region=REGION), OUTPUTS, "1.0.0", allow_findings=True)


def test_gate_passes_a_clean_image(registry) -> None:
    _push(registry, "1.0.0")
    _findings({"LOW": 3, "MEDIUM": 1})
    check_images(Target(region=REGION), OUTPUTS, "1.0.0", allow_findings=False)


def test_large_template_needs_a_bucket() -> None:
    template = {"Resources": {f"Topic{i}": {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": "x" * 100}} for i in range(TEMPLATE_BODY_LIMIT // 100)}}
    with mock_aws(), pytest.raises(DeployError, match="--template-bucket"):
        deploy(Target(region=REGION), "big", template, {}, template_bucket=None)


def test_bucket_events_are_switched_on_and_other_notifications_kept() -> None:
    from riskbatch_infra.buckets import enable_eventbridge

    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        s3.create_bucket(Bucket="risk-input-bucket")
        queue = sqs.create_queue(QueueName="existing-consumer")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        existing = {"QueueConfigurations": [{"Id": "archive", "QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]}
        s3.put_bucket_notification_configuration(Bucket="risk-input-bucket", NotificationConfiguration=existing)
        assert enable_eventbridge(s3, "risk-input-bucket") is True
        configuration = s3.get_bucket_notification_configuration(Bucket="risk-input-bucket")
        assert [item["Id"] for item in configuration["QueueConfigurations"]] == ["archive"]
        # moto stores EventBridge delivery but leaves it out of its GET answer: read its model.
        from moto.s3.models import s3_backends

        bucket = s3_backends["123456789012"]["aws"].buckets["risk-input-bucket"]
        assert bucket.notification_configuration.event_bridge == {}


# --- parameters refused before anything changes ------------------------------------------------------


def test_parameters_breaking_a_rule_or_an_ordering_are_refused_before_anything_changes() -> None:
    from riskbatch_infra.phases import ParametersRefused, check_parameters

    template = json.loads((Path(__file__).resolve().parents[2] / "lib" / "TapStack.json").read_text(encoding="utf-8"))
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        other = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24")["Subnet"]["SubnetId"] for i in range(3)]
        stray = ec2.create_subnet(VpcId=other, CidrBlock="10.1.0.0/24")["Subnet"]["SubnetId"]
        good = {"VpcId": vpc, "InputBucketName": "risk-in", "OutputBucketName": "risk-out"} | {f"PrivateSubnet{i + 1}Id": s for i, s in enumerate(subnets)}
        check_parameters(Target(region=REGION), template, good)
        with pytest.raises(ParametersRefused, match="PrivateSubnetsInTheVpc"):
            check_parameters(Target(region=REGION), template, {**good, "PrivateSubnet3Id": stray})
        with pytest.raises(ParametersRefused, match="RiskCalculationWindowMinTasks=30 exceeds RiskCalculationMaxTasks=20"):
            check_parameters(Target(region=REGION), template, {**good, "RiskCalculationWindowMinTasks": "30"})
        assert boto3.client("cloudformation", region_name=REGION).list_stacks()["StackSummaries"] == []


# --- an update inside the overnight window keeps the window's minimum ---------------------------------


def _registered_minimum(resource_id: str) -> int:
    (target,) = boto3.client("application-autoscaling", region_name=REGION).describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource_id])[
        "ScalableTargets"
    ]
    return target["MinCapacity"]


@pytest.mark.parametrize(
    ("new_york_time", "risk_minimum", "report_minimum"),
    [
        ("2026-11-27T03:00", 2, 1),  # inside the window: the window's minimums
        ("2026-11-27T00:00", 2, 1),  # the window opens
        ("2026-11-27T09:29", 2, 1),
        ("2026-11-27T09:30", 0, 0),  # the window closes: the parameters' minimums
        ("2026-11-27T14:00", 0, 0),
        ("2026-07-01T05:00", 2, 1),  # summer time
    ],
)
def test_an_update_puts_back_the_minimum_of_the_scheduled_action_in_force(new_york_time: str, risk_minimum: int, report_minimum: int) -> None:
    """A scheduled action sets MinCapacity only at its scheduled time ("How scheduled scaling for
    Application Auto Scaling works":
    https://docs.aws.amazon.com/autoscaling/application/userguide/scheduled-scaling-policy-overview.html),
    so a stack update's MinCapacity stands until the next action unless the deployer puts it back."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from riskbatch_infra.scaling import restore_scheduled_minimums

    template = json.loads((Path(__file__).resolve().parents[2] / "lib" / "TapStack.json").read_text(encoding="utf-8"))
    parameters = {**REQUIRED_VALUES, "DeployServices": "true", "EnvironmentSuffix": "dev"}
    risk, report = "service/cluster-riskbatch-dev/svc-risk-calculation-dev", "service/cluster-riskbatch-dev/svc-report-generation-dev"
    now = dt.datetime.fromisoformat(new_york_time).replace(tzinfo=ZoneInfo("America/New_York"))
    with mock_aws():
        ecs = boto3.client("ecs", region_name=REGION)
        ecs.create_cluster(clusterName="cluster-riskbatch-dev")
        for service in ("svc-risk-calculation-dev", "svc-report-generation-dev"):
            ecs.create_service(cluster="cluster-riskbatch-dev", serviceName=service, desiredCount=0)
        scaling = boto3.client("application-autoscaling", region_name=REGION)
        for resource_id in (risk, report):  # as a stack update leaves them: the parameters' minimums
            scaling.register_scalable_target(
                ServiceNamespace="ecs", ResourceId=resource_id, ScalableDimension="ecs:service:DesiredCount", MinCapacity=0, MaxCapacity=20
            )
        lines = restore_scheduled_minimums(Target(region=REGION), template, parameters, now)
        assert (_registered_minimum(risk), _registered_minimum(report)) == (risk_minimum, report_minimum), lines


def test_a_schedule_that_is_not_daily_is_refused() -> None:
    from riskbatch_infra.scaling import daily_time

    assert str(daily_time("cron(30 9 * * ? *)")) == "09:30:00"
    with pytest.raises(ValueError, match="daily"):
        daily_time("cron(0 0 ? * MON-FRI *)")


def test_the_vpc_endpoints_template_deploys_in_one_step() -> None:
    """Through change sets, as the deploy script deploys: with the emulator's fixes (moto's change sets set no outputs)."""
    from riskbatch_infra.emulator_server import apply_fixes
    from riskbatch_infra.phases import deploy_in_phases

    template = json.loads((Path(__file__).resolve().parents[2] / "lib" / "VpcEndpoints.json").read_text(encoding="utf-8"))
    fixes = apply_fixes()
    try:
        with mock_aws():
            ec2 = boto3.client("ec2", region_name=REGION)
            vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
            subnets = [
                ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{z}")["Subnet"]["SubnetId"] for i, z in enumerate("abc")
            ]
            table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
            parameters = {"VpcId": vpc, "ClientCidr": "10.0.0.0/16", "PrivateRouteTableIds": table} | {
                f"PrivateSubnet{i + 1}Id": s for i, s in enumerate(subnets)
            }
            outputs = deploy_in_phases(Target(region=REGION), "riskbatch-endpoints", template, parameters, template_bucket=None)
            assert outputs["EndpointSecurityGroupId"].startswith("sg-") and outputs["S3GatewayEndpointId"].startswith("vpce-")
            assert len(outputs["InterfaceEndpointIds"].split(",")) == 9
            endpoints = ec2.describe_vpc_endpoints()["VpcEndpoints"]
            assert {e["ServiceName"].rsplit(".", 1)[-1] for e in endpoints} >= {"s3", "sqs", "kms", "events", "logs", "sns", "servicequotas", "ec2"}
    finally:
        fixes.undo()


# --- the plan: a change set described and deleted, never executed ------------------------------------

QUEUE = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "sqs-plan-x", "VisibilityTimeout": 30}}}}


def test_a_plan_describes_the_change_and_changes_nothing() -> None:
    """Against the emulator (moto with its fixes): the stack, its queue and its change sets are as before."""
    from riskbatch_infra.emulator_server import apply_fixes
    from riskbatch_infra.stack import plan

    fixes = apply_fixes()
    try:
        with mock_aws():
            target = Target(region=REGION)
            deploy(target, "riskbatch-plan", QUEUE, {})
            changed = json.loads(json.dumps(QUEUE))
            changed["Resources"]["Queue"]["Properties"]["VisibilityTimeout"] = 900
            changes = plan(target, "riskbatch-plan", changed, {}, log=lambda line: None)
            assert [(c.action, c.logical_id, c.resource_type) for c in changes] == [("Modify", "Queue", "AWS::SQS::Queue")]
            sqs = boto3.client("sqs", region_name=REGION)
            url = sqs.get_queue_url(QueueName="sqs-plan-x")["QueueUrl"]
            assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]["VisibilityTimeout"] == "30"
            cfn = boto3.client("cloudformation", region_name=REGION)
            # the plan's change set is gone (moto also keeps the executed deploy's, which AWS removes)
            assert [c["ChangeSetName"] for c in cfn.list_change_sets(StackName="riskbatch-plan")["Summaries"] if c["ChangeSetName"].startswith("plan-")] == []
            created = plan(target, "riskbatch-new", QUEUE, {}, log=lambda line: None)
            assert [(c.action, c.logical_id) for c in created] == [("Add", "Queue")]
            assert "riskbatch-new" not in {s["StackName"] for s in cfn.list_stacks()["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"}
    finally:
        fixes.undo()


def test_the_plan_shows_replacement_scope_and_what_forces_recreation() -> None:
    """moto's change sets carry no Replacement, Scope or Details: a DescribeChangeSet response of the
    API's shape (Stubber checks it against the boto3 service model) stands in for AWS's answer."""
    from botocore.stub import Stubber

    from riskbatch_infra.stack import planned_changes

    cfn = boto3.client("cloudformation", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    response = {
        "ChangeSetName": "plan-1",
        "StackName": "riskbatch-prod",
        "Status": "CREATE_COMPLETE",
        "Changes": [
            {
                "Type": "Resource",
                "ResourceChange": {
                    "Action": "Modify",
                    "LogicalResourceId": "RiskBatchKey",
                    "PhysicalResourceId": "1234abcd-12ab-34cd-56ef-1234567890ab",
                    "ResourceType": "AWS::KMS::Key",
                    "Replacement": "True",
                    "Scope": ["Properties"],
                    "Details": [
                        {
                            "Target": {"Attribute": "Properties", "Name": "KeySpec", "RequiresRecreation": "Always"},
                            "Evaluation": "Static",
                            "ChangeSource": "DirectModification",
                        }
                    ],
                },
            },
            {
                "Type": "Resource",
                "ResourceChange": {
                    "Action": "Modify",
                    "LogicalResourceId": "RiskWorkQueue",
                    "ResourceType": "AWS::SQS::Queue",
                    "Replacement": "Conditional",
                    "Scope": ["Properties"],
                    "Details": [{"Target": {"Attribute": "Properties", "Name": "QueueName", "RequiresRecreation": "Conditionally"}, "Evaluation": "Dynamic"}],
                },
            },
        ],
    }
    with Stubber(cfn) as stubber:
        stubber.add_response("describe_change_set", response, {"StackName": "riskbatch-prod", "ChangeSetName": "plan-1"})
        described = cfn.describe_change_set(StackName="riskbatch-prod", ChangeSetName="plan-1")["Changes"]
    key, queue = planned_changes(described)
    assert (key.replacement, key.scope, key.details) == ("True", ("Properties",), ("Properties.KeySpec (recreation: Always)",))
    assert queue.replacement == "Conditional" and queue.details == ("Properties.QueueName (recreation: Conditionally)",)
    assert "RiskBatchKey" in key.row() and "True" in key.row()

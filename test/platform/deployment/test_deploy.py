"""The deploy script's own logic: parameters, the image and scan gate, the template-size rule."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from riskbatch_platform.aws import Target
from riskbatch_platform.deployment.deploy import parse_parameters
from riskbatch_platform.deployment.image_gate import repository_names, stand_in_manifest
from riskbatch_platform.deployment.phases import ImagesNeeded, ParametersRefused, ScanRefused, check_images
from riskbatch_platform.deployment.stack import TEMPLATE_BODY_LIMIT, DeployError, deploy
from test.template_model import REPO_ROOT, REQUIRED_VALUES

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
    with pytest.raises(ScanRefused, match="HIGH"):
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
    from riskbatch_platform.deployment.bucket_events import enable_eventbridge

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


def test_bucket_events_skip_validating_the_customers_other_destinations() -> None:
    """One stale destination among the bucket's notifications must not block EventBridge delivery:
    the request skips S3's destination validation (PutBucketNotificationConfiguration,
    SkipDestinationValidation: https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketNotificationConfiguration.html).
    The stub checks the request against botocore's S3 model."""
    from botocore.stub import Stubber

    from riskbatch_platform.deployment.bucket_events import enable_eventbridge

    s3 = boto3.client("s3", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stale = {"TopicConfigurations": [{"Id": "gone", "TopicArn": "arn:aws:sns:us-east-1:123456789012:deleted-topic", "Events": ["s3:ObjectCreated:*"]}]}
    with Stubber(s3) as stubber:
        stubber.add_response("get_bucket_notification_configuration", dict(stale), {"Bucket": "risk-input-bucket"})
        sent = {"Bucket": "risk-input-bucket", "NotificationConfiguration": {**stale, "EventBridgeConfiguration": {}}, "SkipDestinationValidation": True}
        stubber.add_response("put_bucket_notification_configuration", {}, sent)
        assert enable_eventbridge(s3, "risk-input-bucket") is True
        stubber.assert_no_pending_responses()


# --- parameters refused before anything changes ------------------------------------------------------


def test_parameters_breaking_a_rule_or_an_ordering_are_refused_before_anything_changes() -> None:
    from riskbatch_platform.deployment.phases import ParametersRefused, check_parameters

    template = json.loads((REPO_ROOT / "lib" / "TapStack.json").read_text(encoding="utf-8"))
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
        ("2026-11-28T03:00", 0, 0),  # a Saturday: the window does not open at the weekend
        ("2026-11-30T03:00", 2, 1),  # Monday morning: Monday's window, not Friday's close
    ],
)
def test_an_update_puts_back_the_minimum_of_the_scheduled_action_in_force(new_york_time: str, risk_minimum: int, report_minimum: int) -> None:
    """A scheduled action sets MinCapacity only at its scheduled time ("How scheduled scaling for
    Application Auto Scaling works":
    https://docs.aws.amazon.com/autoscaling/application/userguide/scheduled-scaling-policy-overview.html),
    so a stack update's MinCapacity stands until the next action unless the deployer puts it back."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from riskbatch_platform.deployment.scaling import restore_scheduled_minimums

    template = json.loads((REPO_ROOT / "lib" / "TapStack.json").read_text(encoding="utf-8"))
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


def test_a_schedule_is_read_with_its_days_of_the_week_and_anything_else_is_refused() -> None:
    from riskbatch.operations.cron import parse

    daily, weekdays = parse("cron(30 9 * * ? *)"), parse("cron(0 0 ? * MON-FRI *)")
    assert (str(daily.time), daily.days_a_week) == ("09:30:00", 7)
    assert (str(weekdays.time), weekdays.weekdays) == ("00:00:00", frozenset(range(5)))
    assert parse("cron(0 1 ? * SAT,SUN *)").weekdays == {5, 6} and parse("cron(0 1 ? * FRI-MON *)").weekdays == {4, 5, 6, 0}
    for unknown in ("cron(0/15 * * * ? *)", "cron(0 8 1 * ? *)", "cron(0 0 * * * *)", "cron(0 0 ? * MONDAY *)", "rate(5 minutes)"):
        with pytest.raises(ValueError):
            parse(unknown)


def test_the_vpc_endpoints_template_deploys_in_one_step() -> None:
    """Through change sets, as the deploy script deploys: with the emulator's fixes (moto's change sets set no outputs)."""
    from riskbatch_platform.deployment.phases import deploy_in_phases
    from riskbatch_platform.local.emulator.patching import apply_fixes

    template = json.loads((REPO_ROOT / "lib" / "VpcEndpoints.json").read_text(encoding="utf-8"))
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
            assert sorted(key for key in outputs if key.endswith("EndpointId") and key != "S3GatewayEndpointId") == sorted(
                f"{logical_id}Id" for logical_id, body in template["Resources"].items() if body["Properties"].get("VpcEndpointType") == "Interface"
            )
            endpoints = ec2.describe_vpc_endpoints()["VpcEndpoints"]
            expected = {"s3", "sqs", "kms", "events", "logs", "sns", "servicequotas", "ec2", "monitoring"}
            assert {e["ServiceName"].rsplit(".", 1)[-1] for e in endpoints} >= expected
    finally:
        fixes.undo()


# --- the plan: a change set described and deleted, never executed ------------------------------------

QUEUE = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "sqs-plan-x", "VisibilityTimeout": 30}}}}


def test_a_plan_describes_the_change_and_changes_nothing() -> None:
    """Against the emulator (moto with its fixes): the stack, its queue and its change sets are as before."""
    from riskbatch_platform.deployment.stack import plan
    from riskbatch_platform.local.emulator.patching import apply_fixes

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

    from riskbatch_platform.deployment.stack import planned_changes

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


# --- updates keep what they do not name; files, tags, role, events, refusals ------------------------

SMALL = {
    "Parameters": {
        "EnvironmentSuffix": {"Type": "String", "Description": "suffix"},
        "ImageTag": {"Type": "String", "Default": "1.0.0", "Description": "tag"},
        "VpcId": {"Type": "String", "Description": "no default: an update without it must keep it"},
    },
    "Resources": {
        "Topic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {"TopicName": {"Fn::Sub": "sns-x-${EnvironmentSuffix}"}, "DisplayName": {"Fn::Sub": "${ImageTag} ${VpcId}"}},
        }
    },
}


def _small_stack(**parameters: str) -> Target:
    target = Target(region=REGION)
    deploy(target, "small", SMALL, {"EnvironmentSuffix": "dev", "ImageTag": "2.0.0", "VpcId": "vpc-1", **parameters}, log=lambda line: None, delay=0)
    return target


def _stack(target: Target) -> dict:
    return target.client("cloudformation").describe_stacks(StackName="small")["Stacks"][0]


def test_an_update_keeps_every_parameter_it_does_not_name() -> None:
    # CloudFormation takes the default of an omitted parameter unless UsePreviousValue says otherwise
    # (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Parameter.html).
    from riskbatch_platform.deployment.stack import change_set_parameters

    assert change_set_parameters(SMALL, {"ImageTag": "3.0.0"}, {"EnvironmentSuffix": "dev", "ImageTag": "2.0.0", "VpcId": "vpc-1", "Gone": "x"}) == [
        {"ParameterKey": "ImageTag", "ParameterValue": "3.0.0"},
        {"ParameterKey": "EnvironmentSuffix", "UsePreviousValue": True},
        {"ParameterKey": "VpcId", "UsePreviousValue": True},
    ]  # a parameter the template no longer declares is not sent; a new one takes its default
    with mock_aws():
        target = _small_stack()
        deploy(target, "small", SMALL, {"ImageTag": "3.0.0"}, log=lambda line: None, delay=0)
        values = {item["ParameterKey"]: item["ParameterValue"] for item in _stack(target)["Parameters"]}
        assert values == {"EnvironmentSuffix": "dev", "ImageTag": "3.0.0", "VpcId": "vpc-1"}


def test_the_image_gate_reads_the_stacks_current_tag_never_the_templates_default() -> None:
    from riskbatch_platform.deployment.phases import image_tag

    template = {"Parameters": {"ImageTag": {"Type": "String", "Default": "1.0.0"}}}
    assert image_tag(template, {}, {"ImageTag": "2.3.0"}) == "2.3.0"
    assert image_tag(template, {"ImageTag": "2.4.0"}, {"ImageTag": "2.3.0"}) == "2.4.0"
    assert image_tag(template, {}, {}) == "1.0.0"  # a new stack: what CloudFormation will use


def test_checks_on_an_update_see_the_values_the_stack_keeps() -> None:
    from riskbatch_platform.deployment.phases import check_parameters

    with mock_aws():
        _small_stack()
        check_parameters(Target(region=REGION), SMALL, {"ImageTag": "3.0.0"}, "small")  # VpcId kept: no refusal
        with pytest.raises(ParametersRefused, match=r"VpcId has no value.*not-yet does not exist yet.*--parameter VpcId=\.\.\."):
            check_parameters(Target(region=REGION), SMALL, {"EnvironmentSuffix": "dev"}, "not-yet")
        with pytest.raises(ParametersRefused, match="declares no parameter Typo"):
            check_parameters(Target(region=REGION), SMALL, {"Typo": "1"}, "small")


@pytest.mark.parametrize(
    "content",
    [
        [{"ParameterKey": "ImageTag", "ParameterValue": "2.0.0"}, {"ParameterKey": "VpcId", "ParameterValue": "vpc-1"}],
        ["ImageTag=2.0.0", "VpcId=vpc-1"],
        {"Parameters": {"ImageTag": "2.0.0", "VpcId": "vpc-1"}, "Tags": {"cost-centre": "risk-42"}},
    ],
    ids=["cloudformation-list", "key-value-list", "configuration-file"],
)
def test_a_parameters_file_in_each_form_the_cli_reads_with_the_command_line_winning(tmp_path: Path, content: object) -> None:
    # aws cloudformation deploy --parameter-overrides file://... formats (https://github.com/aws/aws-cli/pull/5443)
    from riskbatch_platform.deployment.deploy import parse_tags

    path = tmp_path / "prod.json"
    path.write_text(json.dumps(content))
    assert parse_parameters(path, ["ImageTag=2.1.0"]) == {"ImageTag": "2.1.0", "VpcId": "vpc-1"}
    expected_tags = {"cost-centre": "risk-42"} if isinstance(content, dict) else {}
    assert parse_tags(path, ["owner=risk-platform"]) == {**expected_tags, "owner": "risk-platform"}


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "cannot be read"), ('[{"ParameterKey": "ImageTag"}]', "ParameterKey and ParameterValue"), ('{"Parameters": {}, "Stack": 1}', "not Stack")],
    ids=["not-json", "no-value", "unknown-section"],
)
def test_a_bad_parameters_file_is_a_refusal_with_exit_5(tmp_path: Path, capsys: pytest.CaptureFixture, content: str, message: str) -> None:
    from riskbatch_platform.deployment import deploy as deploy_script

    path = tmp_path / "prod.json"
    path.write_text(content)
    with mock_aws():
        assert deploy_script.main(["--stack-name", "small", "--parameters-file", str(path)]) == deploy_script.EXIT_PARAMETERS_REFUSED
    printed = capsys.readouterr().err
    assert message in printed and "Traceback" not in printed


def test_every_example_parameters_file_reads_and_names_only_declared_parameters() -> None:
    from riskbatch_platform.deployment.deploy import read_parameters_file

    root = REPO_ROOT
    template = json.loads((root / "lib" / "TapStack.json").read_text(encoding="utf-8"))
    examples = sorted((root / "config").glob("*.json"))
    assert examples
    for path in examples:
        parameters, tags = read_parameters_file(path)
        assert parameters.get("EnvironmentSuffix") == path.stem, path
        assert set(parameters) <= set(template["Parameters"]), path
        assert tags.get("environment") == path.stem, path


def test_tags_reach_the_stack_and_an_update_keeps_them() -> None:
    # Stack tags propagate to the stack's resources that support tags
    # (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide//aws-properties-resource-tags.html).
    from riskbatch_platform.deployment.stack import StackOptions
    from riskbatch_platform.local.emulator.cloudformation import change_sets_update_outputs_and_exports
    from riskbatch_platform.local.emulator.patching import Patcher

    patcher = Patcher()
    change_sets_update_outputs_and_exports(patcher)  # the emulator's fix: moto kept a stack's first tags
    try:
        with mock_aws():
            target = Target(region=REGION)
            first = {"EnvironmentSuffix": "dev", "VpcId": "vpc-1"}
            deploy(target, "small", SMALL, first, log=lambda line: None, options=StackOptions(tags={"cost-centre": "risk-42"}), delay=0)
            deploy(target, "small", SMALL, {"ImageTag": "3.0.0"}, log=lambda line: None, options=StackOptions(tags={"owner": "risk-platform"}), delay=0)
            tags = {tag["Key"]: tag["Value"] for tag in _stack(target)["Tags"]}
            assert tags == {"cost-centre": "risk-42", "owner": "risk-platform", "riskbatch:stack": "small"}
    finally:
        patcher.undo()


def test_reserved_tag_keys_are_refused() -> None:
    from riskbatch_platform.deployment.deploy import parse_tags

    with pytest.raises(ParametersRefused, match="aws:"):
        parse_tags(None, ["aws:cloudformation:stack-name=x"])


def test_the_service_role_is_passed_to_the_change_set() -> None:
    from botocore.stub import ANY, Stubber

    from riskbatch_platform.deployment.stack import StackOptions, _create_change_set

    cfn = Target(region=REGION, credentials={"aws_access_key_id": "x", "aws_secret_access_key": "x"}).client("cloudformation")
    stubber = Stubber(cfn)
    stubber.add_client_error("describe_stacks", service_error_code="ValidationError", service_message="Stack with id small does not exist")
    expected = {
        "StackName": "small", "ChangeSetName": ANY, "ChangeSetType": "CREATE", "Parameters": [{"ParameterKey": "VpcId", "ParameterValue": "vpc-1"}],
        "Capabilities": ["CAPABILITY_NAMED_IAM"], "Tags": [{"Key": "riskbatch:stack", "Value": "small"}],
        "RoleARN": "arn:aws:iam::123456789012:role/role-cloudformation-riskbatch", "TemplateBody": ANY,
    }  # fmt: skip
    stubber.add_response("create_change_set", {"Id": "arn:aws:cloudformation:us-east-1:123456789012:changeSet/x/1"}, expected)
    stubber.activate()
    target = type("StubbedTarget", (), {"region": REGION, "client": staticmethod(lambda service: cfn)})()
    options = StackOptions(role_arn="arn:aws:iam::123456789012:role/role-cloudformation-riskbatch")
    _create_change_set(target, "small", SMALL, {"VpcId": "vpc-1"}, None, "deploy", lambda line: None, options)
    stubber.assert_no_pending_responses()


def test_the_deploy_shows_each_new_stack_event_once_while_it_waits() -> None:
    lines: list[str] = []
    with mock_aws():
        target = _small_stack()
        deploy(target, "small", SMALL, {"ImageTag": "3.0.0"}, log=lines.append, delay=0)
    events = [line for line in lines if line.startswith("  ")]
    assert events and any("UPDATE_COMPLETE" in line and "small (AWS::CloudFormation::Stack)" in line for line in events)
    assert not any("CREATE_" in line for line in events)  # the earlier creation's events are not shown again
    assert len(events) == len(set(events))


# --- the scan gate under the registry's basic and enhanced scanning ----------------------------------


def _ecr_answering(scan_type: str, statuses: list[str], enhanced: list[str] | None = None) -> object:
    """ECR as a registry with this scan type answers (botocore's Stubber validates each response's shape)."""
    from botocore.stub import Stubber

    ecr = boto3.client("ecr", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(ecr)
    stubber.add_response("get_registry_scanning_configuration", {"registryId": "123456789012", "scanningConfiguration": {"scanType": scan_type, "rules": []}})
    for status in statuses:
        findings: dict = {"findingSeverityCounts": {}}
        if enhanced is not None and status == "ACTIVE":
            findings = {"findingSeverityCounts": {}, "enhancedFindings": [{"severity": severity} for severity in enhanced]}
        page = {"repositoryName": "ecr-x", "imageId": {"imageTag": "1.0.0"}, "imageScanStatus": {"status": status}, "imageScanFindings": findings}
        stubber.add_response("describe_image_scan_findings", page)
    stubber.activate()
    return ecr


def test_an_enhanced_scan_is_judged_when_active_after_waiting_while_pending() -> None:
    # ECR API reference, ImageScanStatus: enhanced scanning reports ACTIVE, never the COMPLETE the
    # ImageScanComplete waiter waits for (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageScanStatus.html).
    from riskbatch_platform.deployment.image_gate import scan_verdict

    waits: list[float] = []
    verdict = scan_verdict(_ecr_answering("ENHANCED", ["PENDING", "ACTIVE"], ["HIGH", "LOW", "HIGH"]), "ecr-x", "1.0.0", sleep=waits.append)
    assert (verdict.status, verdict.blocking, waits) == ("ACTIVE", {"HIGH": 2}, [10])


def test_a_basic_scan_is_judged_when_complete() -> None:
    from riskbatch_platform.deployment.image_gate import scan_verdict

    verdict = scan_verdict(_ecr_answering("BASIC", ["IN_PROGRESS", "COMPLETE"]), "ecr-x", "1.0.0", sleep=lambda seconds: None)
    assert (verdict.status, verdict.blocking) == ("COMPLETE", {})


ENDED_STATUSES = [
    "SCAN_ELIGIBILITY_EXPIRED", "FINDINGS_UNAVAILABLE", "UNSUPPORTED_IMAGE", "FAILED", "LIMIT_EXCEEDED", "IMAGE_ARCHIVED", "IMAGE_SIZE_EXCEEDED",
]  # fmt: skip


@pytest.mark.parametrize("status", ENDED_STATUSES)
def test_a_scan_that_cannot_be_judged_is_refused_at_once_with_that_status_s_own_advice(status: str) -> None:
    # ECR API reference, ImageScanStatus (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageScanStatus.html);
    # each status's meaning and remedy, with its document: riskbatch.operations.preflight.scan_statuses
    from riskbatch.operations.preflight.scan_statuses import SCAN_ADVICE, scan_advice
    from riskbatch_platform.deployment.image_gate import ScanNotFinished, scan_verdict

    with pytest.raises(ScanNotFinished, match=f"ENHANCED scan of ecr-x:1.0.0 ended {status}") as refused:
        scan_verdict(_ecr_answering("ENHANCED", [status]), "ecr-x", "1.0.0", sleep=lambda seconds: pytest.fail("no wait"))
    assert str(refused.value).endswith(scan_advice(status, "ecr-x", "1.0.0")) and SCAN_ADVICE[status][0] in str(refused.value)


def test_a_scan_that_never_starts_names_the_registry_s_rules() -> None:
    """Under enhanced scanning a repository no rule covers is never scanned: DescribeImageScanFindings keeps
    answering ScanNotFoundException ("Filters to choose which repositories are scanned in Amazon ECR",
    https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning-filters.html)."""
    from botocore.stub import Stubber

    from riskbatch_platform.deployment.image_gate import ScanNotFinished, scan_verdict

    ecr = boto3.client("ecr", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(ecr)
    stubber.add_response("get_registry_scanning_configuration", {"registryId": "123456789012", "scanningConfiguration": {"scanType": "ENHANCED", "rules": []}})
    stubber.add_client_error("describe_image_scan_findings", service_error_code="ScanNotFoundException")
    stubber.activate()
    with pytest.raises(ScanNotFinished, match=r"still not started after 0 s \(no scanning rule may cover the repository: riskbatch-preflight"):
        scan_verdict(ecr, "ecr-x", "1.0.0", max_wait_seconds=0, sleep=lambda seconds: pytest.fail("no wait"))


def test_a_scan_still_pending_after_the_bounded_wait_is_a_clear_refusal_with_exit_8(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from riskbatch_platform.deployment import deploy as deploy_script
    from riskbatch_platform.deployment import image_gate as images
    from riskbatch_platform.deployment.image_gate import ScanNotFinished, scan_verdict

    clock = iter(range(0, 10_000, 10))
    monkeypatch.setattr(images.time, "monotonic", lambda: next(clock))
    with pytest.raises(ScanNotFinished, match="still PENDING after 30 s"):
        scan_verdict(_ecr_answering("ENHANCED", ["PENDING"] * 3), "ecr-x", "1.0.0", max_wait_seconds=30, sleep=lambda seconds: None)

    def pending(*args: object, **kwargs: object) -> dict:
        raise ScanNotFinished("the ENHANCED scan of ecr-x:1.0.0 is still PENDING after 900 s; run the same command again once it is done")

    monkeypatch.setattr(deploy_script, "deploy_in_phases", pending)
    monkeypatch.setattr(deploy_script, "preflight_passes", lambda *args: True)
    with mock_aws():
        parameters = ["--parameter", "EnvironmentSuffix=dev", "--parameter", "VpcId=v"]
        code = deploy_script.main(["--stack-name", "small", "--region", "us-east-1", "--template", str(_small_template()), *parameters])
    printed = capsys.readouterr().err
    assert code == deploy_script.EXIT_SCAN_NOT_FINISHED == 8 and "still PENDING after 900 s" in printed and "Traceback" not in printed


def _small_template() -> Path:
    import tempfile

    path = Path(tempfile.mkdtemp()) / "small.json"
    path.write_text(json.dumps({**SMALL, "Parameters": {**SMALL["Parameters"], "DeployServices": {"Type": "String", "Default": "false"}}}))
    return path


def test_aws_refusing_a_call_of_the_deploy_exits_11_as_documented(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """An AccessDenied (on CreateChangeSet, say) is "AWS refused a call" of the docstring and the runbook, not a failed deployment."""
    from botocore.exceptions import ClientError

    from riskbatch_platform.deployment import deploy as deploy_script

    def denied(*args: object, **kwargs: object) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized"}}, "CreateChangeSet")

    monkeypatch.setattr(deploy_script, "check_parameters", denied)
    with mock_aws():
        assert deploy_script.main(["--stack-name", "small", "--plan", "--region", "us-east-1"]) == 11
    assert "AWS refused CreateChangeSet: AccessDenied: not authorized" in capsys.readouterr().err


def _deploy_raising(error: BaseException, monkeypatch: pytest.MonkeyPatch) -> int:
    """The deploy with its phases raising error (a stub: the emulator's sessions never expire and its stacks do not
    vanish mid-wait), preflight passed."""
    from riskbatch_platform.deployment import deploy as deploy_script

    def phases(*args: object, **kwargs: object) -> dict:
        raise error

    monkeypatch.setattr(deploy_script, "deploy_in_phases", phases)
    monkeypatch.setattr(deploy_script, "preflight_passes", lambda *args: True)
    with mock_aws():
        parameters = ["--parameter", "EnvironmentSuffix=dev", "--parameter", "VpcId=v"]
        return deploy_script.main(["--stack-name", "small", "--region", "us-east-1", "--template", str(_small_template()), *parameters])


# An expired session's token is refused with ExpiredTokenException ("STS / Client / exceptions / ExpiredTokenException",
# https://docs.aws.amazon.com/botocore/latest/reference/services/sts/client/exceptions/ExpiredTokenException.html); other services say ExpiredToken.
@pytest.mark.parametrize("code", ["ExpiredToken", "ExpiredTokenException"])
def test_a_session_expiring_during_the_wait_is_the_credentials_code(code: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from botocore.exceptions import ClientError

    expired = ClientError({"Error": {"Code": code, "Message": "The security token included in the request is expired"}}, "DescribeStackEvents")
    assert _deploy_raising(expired, monkeypatch) == 9
    printed = capsys.readouterr().err
    assert "aws sso login" in printed and "AWS refused" not in printed


# DescribeStacks on a stack that does not exist: ValidationError "Stack with id X does not exist"
# (AWS CloudFormation API reference, DescribeStacks: https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html).
def test_a_stack_gone_during_the_wait_is_the_no_such_stack_code(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from botocore.exceptions import ClientError

    gone = ClientError({"Error": {"Code": "ValidationError", "Message": "Stack with id small does not exist"}}, "DescribeStacks")
    assert _deploy_raising(gone, monkeypatch) == 10
    assert "no stack: Stack with id small does not exist" in capsys.readouterr().err


def test_an_unreadable_file_is_a_bad_input_never_a_scan_refusal(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from riskbatch_platform.deployment import deploy as deploy_script

    code = _deploy_raising(PermissionError(13, "Permission denied", "/home/ops/.docker/config.json"), monkeypatch)
    assert code == 2 != deploy_script.EXIT_SCAN_REFUSED
    assert "cannot read /home/ops/.docker/config.json: Permission denied" in capsys.readouterr().err

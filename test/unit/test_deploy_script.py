"""The deploy script's own logic: parameters, the image and scan gate, the template-size rule."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from deploy import ImagesNeeded, check_images, parse_parameters
from riskbatch_infra.aws import Target
from riskbatch_infra.images import repository_names, stand_in_manifest
from riskbatch_infra.stack import TEMPLATE_BODY_LIMIT, DeployError, deploy

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
    with pytest.raises(SystemExit):
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
    from enable_bucket_events import enable_eventbridge

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

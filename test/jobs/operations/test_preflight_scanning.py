"""Will each image be scanned, and what each scan status asks of the operator.

The registry's scanning configuration against the stack's repositories (moto models
Get/PutRegistryScanningConfiguration); Inspector's account status and the scan statuses moto cannot
produce through botocore's Stubber, whose responses are checked against the service model.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from riskbatch.operations.preflight import checks, images, scanning
from riskbatch.operations.preflight.findings import FAIL, PASS, WARN, Account, Peak
from riskbatch.operations.preflight.scan_statuses import SCAN_ADVICE, SCAN_JUDGED, SCAN_WAITING, scan_advice

REGION = "us-east-1"
REPOSITORIES = ["ecr-data-ingestion-dev", "ecr-report-generation-dev", "ecr-risk-calculation-dev"]
ACCOUNT = Account(subnets=[], peak=Peak(()), repositories=REPOSITORIES, image_tag="1.0.0")


# "Filters to choose which repositories are scanned in Amazon ECR", its table of filter wildcards
# (https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning-filters.html): a filter with
# no wildcard matches every name that contains it; * stands for zero or more characters.
FILTER_TABLE = {
    "prod": (True, True, True, True, True),
    "*prod": (True, True, False, False, False),
    "prod*": (True, False, True, False, True),
    "*prod*": (True, True, True, True, True),
    "prod*repo": (False, False, True, False, True),
}


@pytest.mark.parametrize(("pattern", "expected"), sorted(FILTER_TABLE.items()))
def test_repository_filters_match_as_the_ecr_user_guide_tabulates(pattern: str, expected: tuple[bool, ...]) -> None:
    names = ("prod", "repo-prod", "prod-repo", "repo-prod-repo", "prodrepo")
    assert tuple(scanning.filter_matches(pattern, name) for name in names) == expected


@pytest.fixture
def aws() -> Iterator[Any]:
    with mock_aws():
        yield lambda service: boto3.client(service, region_name=REGION)


def _rules(*rules: tuple[str, list[str]]) -> list[dict[str, Any]]:
    return [{"scanFrequency": frequency, "repositoryFilters": [{"filter": f, "filterType": "WILDCARD"} for f in filters]} for frequency, filters in rules]


@pytest.mark.parametrize(
    ("scan_type", "rules", "expected"),
    [
        ("BASIC", [], PASS),
        ("ENHANCED", _rules(("CONTINUOUS_SCAN", ["*"])), PASS),
        ("ENHANCED", _rules(("SCAN_ON_PUSH", ["ecr-*-dev"])), PASS),
        ("ENHANCED", _rules(("CONTINUOUS_SCAN", ["ecr-risk-calculation-dev", "ecr-report"])), FAIL),
        ("ENHANCED", _rules(("CONTINUOUS_SCAN", ["*-prod"])), FAIL),
        ("BASIC", _rules(("SCAN_ON_PUSH", ["ecr-risk*"])), FAIL),
        ("BASIC", _rules(("SCAN_ON_PUSH", ["dev"])), PASS),
    ],
    ids=["basic-no-rules", "enhanced-all", "enhanced-suffix", "enhanced-ingestion-uncovered", "enhanced-other-stack", "basic-partial", "basic-contains"],
)
def test_every_repository_of_the_stack_is_covered_by_a_scanning_rule(aws: Any, scan_type: str, rules: list[dict[str, Any]], expected: str) -> None:
    # ECR user guide (as above): under enhanced scanning a repository no filter matches "will have scanning
    # disabled", and under basic scanning with rules one no scan-on-push filter matches "will be set to the manual
    # scan frequency": either way the deploy's gate waited its 900 s for a scan that never started.
    aws("ecr").put_registry_scanning_configuration(scanType=scan_type, rules=rules)
    (finding,) = scanning.registry_scanning(aws, ACCOUNT)
    assert finding.status == expected, finding
    if expected == FAIL:
        assert "ecr-data-ingestion-dev" in finding.fix and "900 s" in finding.fix
        assert finding.fix.count(f"put-registry-scanning-configuration --scan-type {scan_type}") == 1
        assert '"filter":"ecr-data-ingestion-dev"' in finding.fix and all(rule["repositoryFilters"][0]["filter"] in finding.fix for rule in rules)
    assert scanning.registry_scanning in checks.ALL


def test_continuous_scanning_wins_over_scan_on_push_where_both_match() -> None:
    configuration = {"rules": _rules(("SCAN_ON_PUSH", ["ecr-*"]), ("CONTINUOUS_SCAN", ["risk"]))}
    assert scanning.scan_frequency(configuration, "ecr-risk-calculation-dev") == "CONTINUOUS_SCAN"
    assert scanning.scan_frequency(configuration, "ecr-report-generation-dev") == "SCAN_ON_PUSH"
    assert scanning.scan_frequency(configuration, "other") == "MANUAL"


def _inspector(answer: dict[str, Any] | str) -> Any:
    client = boto3.client("inspector2", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    if isinstance(answer, str):
        stubber.add_client_error("batch_get_account_status", service_error_code=answer, http_status_code=403)
    else:
        stubber.add_response("batch_get_account_status", answer)
    stubber.activate()
    return client


def _state(status: str) -> dict[str, str]:
    return {"status": status, "errorCode": "ALREADY_ENABLED", "errorMessage": "none"}  # the model makes both required


def _status(ecr: str) -> dict[str, Any]:
    resources = {"ec2": _state("DISABLED"), "ecr": _state(ecr)}
    return {"accounts": [{"accountId": "123456789012", "state": _state("ENABLED"), "resourceState": resources}]}


@pytest.mark.parametrize(
    ("answer", "expected"),
    [(_status("ENABLED"), PASS), (_status("DISABLED"), FAIL), (_status("ENABLING"), WARN), ({"accounts": []}, FAIL), ("AccessDeniedException", WARN)],
    ids=["enabled", "disabled", "enabling", "no-status", "refused"],
)
def test_under_enhanced_scanning_inspector_must_scan_ecr(aws: Any, answer: Any, expected: str) -> None:
    # Inspector API reference, BatchGetAccountStatus (https://docs.aws.amazon.com/inspector/v2/APIReference/API_BatchGetAccountStatus.html):
    # resourceState.ecr.status ENABLED is Inspector scanning the account's ECR images.
    aws("ecr").put_registry_scanning_configuration(scanType="ENHANCED", rules=_rules(("CONTINUOUS_SCAN", ["*"])))
    inspector = _inspector(answer)
    (finding,) = scanning.inspector_scans_ecr(lambda service: inspector if service == "inspector2" else aws(service), ACCOUNT)
    assert finding.status == expected, finding
    assert ("aws inspector2 enable --resource-types ECR" in finding.fix) == (expected == FAIL)


def test_basic_scanning_asks_nothing_of_inspector(aws: Any) -> None:
    assert scanning.inspector_scans_ecr(lambda service: pytest.fail("no Inspector call") if service == "inspector2" else aws(service), ACCOUNT) == []


# --- the scan statuses: one piece of advice each ---------------------------------------------------------

# Every status of ECR's service model (API reference, ImageScanStatus:
# https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageScanStatus.html; botocore's model
# carries the newest list, IMAGE_SIZE_EXCEEDED included) that waiting will not turn into a verdict.
MODEL_STATUSES = botocore.session.get_session().get_service_model("ecr").shape_for("ScanStatus").enum
ENDED = sorted(set(MODEL_STATUSES) - set(SCAN_JUDGED) - set(SCAN_WAITING))


def test_every_status_of_the_ecr_model_that_never_ends_well_has_its_own_advice() -> None:
    assert {"LIMIT_EXCEEDED", "IMAGE_ARCHIVED", "IMAGE_SIZE_EXCEEDED", "SCAN_ELIGIBILITY_EXPIRED", "UNSUPPORTED_IMAGE", "FINDINGS_UNAVAILABLE"} <= set(ENDED)
    assert set(ENDED) <= set(SCAN_ADVICE)
    advice = [SCAN_ADVICE[status] for status in ENDED]
    assert len({meaning for meaning, _ in advice}) == len({action for _, action in advice}) == len(ENDED)


EXPECTED_REMEDY = {
    "FAILED": "aws ecr start-image-scan",
    "UNSUPPORTED_IMAGE": "supports",
    "FINDINGS_UNAVAILABLE": "aws inspector2 batch-get-account-status",
    "SCAN_ELIGIBILITY_EXPIRED": "rescanDuration",
    "LIMIT_EXCEEDED": "24 hours",
    "IMAGE_ARCHIVED": "--target-storage-class STANDARD",
    "IMAGE_SIZE_EXCEEDED": "smaller",
}


def _scan_client(status: str) -> Any:
    client = boto3.client("ecr", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    stubber.add_response("describe_images", {"imageDetails": [{"imageDigest": "sha256:" + "a" * 64, "imageTags": ["1.0.0"]}]})
    page = {"repositoryName": "ecr-risk-calculation-dev", "imageId": {"imageTag": "1.0.0"}, "imageScanStatus": {"status": status}, "imageScanFindings": {}}
    stubber.add_response("describe_image_scan_findings", page)
    stubber.add_client_error("get_lifecycle_policy", service_error_code="LifecyclePolicyNotFoundException")
    stubber.activate()
    return client


@pytest.mark.parametrize("status", ENDED)
def test_the_pre_night_image_check_names_each_status_and_its_remedy(status: str) -> None:
    # ECR user guide, "Troubleshooting image scanning in Amazon ECR"
    # (https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning-troubleshooting.html) and "Archiving an
    # image" (https://docs.aws.amazon.com/AmazonECR/latest/userguide/archive-image.html): each status asks for its own fix.
    client = _scan_client(status)
    account = Account(subnets=[], peak=Peak(()), repositories=["ecr-risk-calculation-dev"], image_tag="1.0.0")
    (finding,) = images.images(lambda service: client, account)
    assert finding.status == FAIL
    assert finding.fix == scan_advice(status, "ecr-risk-calculation-dev", "1.0.0")
    assert EXPECTED_REMEDY[status] in finding.fix and SCAN_ADVICE[status][0] in finding.fix
    assert images.images in checks.NIGHTLY


def test_an_image_never_scanned_says_how_to_start_its_scan_or_cover_its_repository() -> None:
    advice = scan_advice("none", "ecr-x", "1.0.0")
    assert "aws ecr start-image-scan --repository-name ecr-x --image-id imageTag=1.0.0" in advice and "scanning rule" in advice


def test_before_the_first_deployment_the_templates_repositories_are_checked(aws: Any) -> None:
    """The first deploy's image gate comes after phase 1: the rules are checked on the names the template gives."""
    aws("ecr").put_registry_scanning_configuration(scanType="ENHANCED", rules=_rules(("CONTINUOUS_SCAN", ["prod"])))
    (finding,) = scanning.registry_scanning(aws, Account(subnets=[], peak=Peak(()), planned_repositories=REPOSITORIES))
    assert finding.status == FAIL and all(repository in finding.found for repository in REPOSITORIES)

"""The ECR fixes (src/riskbatch_platform/local/emulator/ecr.py): each defect is there in moto as shipped, and gone with the fix.

A repository's scan-on-push, lifecycle policy and EmptyOnDelete from a template, an image named by its manifest's
digest, and ECR authorised on the repository. Runs moto in-process (mock_aws); IAM is enforced only inside `enforced()`.
"""

from __future__ import annotations

import contextlib
import json

import boto3

from riskbatch_platform.local import emulator
from test.platform.local.emulator.support import REGION, _code, _deploy, _user, enforced, patched

LIFECYCLE = '{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":10},"action":{"type":"expire"}}]}'


REPOSITORY = {
    "Resources": {
        "Repo": {
            "Type": "AWS::ECR::Repository",
            "Properties": {
                "RepositoryName": "ecr-x",
                "EmptyOnDelete": True,
                "ImageScanningConfiguration": {"ScanOnPush": True},
                "LifecyclePolicy": {"LifecyclePolicyText": LIFECYCLE},
            },
        }
    }
}


def _repository_after_push_and_delete() -> tuple[bool, str | None, str]:
    from riskbatch_platform.deployment.image_gate import stand_in_manifest

    _deploy(REPOSITORY)
    ecr = boto3.client("ecr", region_name=REGION)
    scan_on_push = ecr.describe_repositories(repositoryNames=["ecr-x"])["repositories"][0]["imageScanningConfiguration"].get("scanOnPush", False)
    lifecycle = None
    with contextlib.suppress(ecr.exceptions.LifecyclePolicyNotFoundException):
        lifecycle = ecr.get_lifecycle_policy(repositoryName="ecr-x")["lifecyclePolicyText"]
    ecr.put_image(repositoryName="ecr-x", imageManifest=stand_in_manifest(), imageTag="1.0.0")
    deleted = _code(lambda: boto3.client("cloudformation", region_name=REGION).delete_stack(StackName="s"))
    return scan_on_push, lifecycle, deleted if deleted != "OK" else ",".join(r["repositoryName"] for r in ecr.describe_repositories()["repositories"]) or "gone"


def test_moto_loses_scan_on_push_lifecycle_and_empty_on_delete(aws: None) -> None:
    assert _repository_after_push_and_delete() == (False, None, "RepositoryNotEmptyException")


def test_repositories_scan_on_push_keep_their_lifecycle_and_empty_on_delete(aws: None) -> None:
    with patched(emulator.ecr.ecr_repository_properties_from_cloudformation):
        assert _repository_after_push_and_delete() == (True, LIFECYCLE, "gone")


# ECR API reference, ImageIdentifier: imageDigest is "The sha256 digest of the image manifest".
# https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageIdentifier.html
PUSHED_MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2, "digest": "sha256:" + "c" * 64},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar", "size": 3, "digest": "sha256:" + "a" * 64}],
    },
    indent=3,
)


def _pushed_digest() -> str:
    ecr = boto3.client("ecr", region_name=REGION)
    ecr.create_repository(repositoryName="ecr-digest-x")
    return ecr.put_image(repositoryName="ecr-digest-x", imageManifest=PUSHED_MANIFEST, imageTag="1.0.0")["image"]["imageId"]["imageDigest"]


def test_moto_does_not_name_an_image_by_its_manifest_digest(aws: None) -> None:
    import hashlib

    assert _pushed_digest() != "sha256:" + hashlib.sha256(PUSHED_MANIFEST.encode()).hexdigest()


def test_an_image_is_named_by_the_sha256_of_its_manifest_as_pushed(aws: None) -> None:
    import hashlib

    with patched(emulator.ecr.ecr_image_digest_is_the_manifest_digest):
        assert _pushed_digest() == "sha256:" + hashlib.sha256(PUSHED_MANIFEST.encode()).hexdigest()


def _describe_images_on_two_repositories() -> tuple[str, str, str]:
    ecr = boto3.client("ecr", region_name=REGION)
    mine = ecr.create_repository(repositoryName="ecr-mine-x")["repository"]["repositoryArn"]
    ecr.create_repository(repositoryName="ecr-other-x")
    session = _user("reader", [{"Effect": "Allow", "Action": ["ecr:DescribeImages", "ecr:GetAuthorizationToken"], "Resource": [mine]}])
    reader = session.client("ecr")
    with enforced():
        return (
            _code(lambda: reader.describe_images(repositoryName="ecr-mine-x")),
            _code(lambda: reader.describe_images(repositoryName="ecr-other-x")),
            _code(lambda: reader.get_authorization_token()),
        )


def test_moto_authorises_ecr_against_star(aws: None) -> None:
    assert _describe_images_on_two_repositories()[0] == "denied"  # a policy naming the repository is refused


def test_ecr_is_authorised_on_its_repository(aws: None) -> None:
    # GetAuthorizationToken is authorised on "*" (it has no resource type): the policy names none
    with patched(emulator.ecr.ecr_authorised_on_its_repository):
        assert _describe_images_on_two_repositories() == ("OK", "denied", "denied")


# "IAM permissions required for enhanced scanning in Amazon ECR" (ECR user guide): under enhanced scanning
# DescribeImageScanFindings also needs inspector2:ListFindings.
# https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning-enhanced-iam.html
def _scan_findings_read(scan_type: str) -> tuple[str, str]:
    """DescribeImageScanFindings by a caller without inspector2:ListFindings, then by one with it."""
    from riskbatch_platform.deployment.image_gate import stand_in_manifest

    ecr = boto3.client("ecr", region_name=REGION)
    repository = ecr.create_repository(repositoryName="ecr-scanned-x")["repository"]["repositoryArn"]
    ecr.put_image(repositoryName="ecr-scanned-x", imageManifest=stand_in_manifest(), imageTag="1.0.0")
    ecr.start_image_scan(repositoryName="ecr-scanned-x", imageId={"imageTag": "1.0.0"})
    ecr.put_registry_scanning_configuration(scanType=scan_type, rules=[])
    ecr_only = [{"Effect": "Allow", "Action": "ecr:DescribeImageScanFindings", "Resource": repository}]
    with_inspector = [*ecr_only, {"Effect": "Allow", "Action": "inspector2:ListFindings", "Resource": "*"}]
    answers = []
    for name, statements in (("ecr-only", ecr_only), ("with-inspector", with_inspector)):
        reader = _user(name, statements).client("ecr")
        with enforced():
            answers.append(_code(lambda reader=reader: reader.describe_image_scan_findings(repositoryName="ecr-scanned-x", imageId={"imageTag": "1.0.0"})))
    return answers[0], answers[1]


def test_moto_reads_enhanced_scan_findings_without_inspector_list_findings(aws: None) -> None:
    with patched(emulator.ecr.ecr_authorised_on_its_repository):
        assert _scan_findings_read("ENHANCED") == ("OK", "OK")


def test_enhanced_scan_findings_are_refused_without_inspector_list_findings(aws: None) -> None:
    with patched(emulator.ecr.ecr_authorised_on_its_repository, emulator.ecr.ecr_enhanced_scan_findings_need_inspector_list_findings):
        assert _scan_findings_read("ENHANCED") == ("denied", "OK")


def test_basic_scan_findings_need_no_inspector_permission(aws: None) -> None:
    with patched(emulator.ecr.ecr_authorised_on_its_repository, emulator.ecr.ecr_enhanced_scan_findings_need_inspector_list_findings):
        assert _scan_findings_read("BASIC") == ("OK", "OK")

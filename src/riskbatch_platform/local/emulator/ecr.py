"""ECR: repository properties, image digests and authorisation on the repository.

Each fix says which kind it is (a defect, a missing rule, a stand-in): see the package's first lines."""

from __future__ import annotations

from typing import Any

from .patching import Patcher, caller_may, fix


@fix
def ecr_repository_properties_from_cloudformation(patch: Patcher) -> None:
    """Defect. moto's CloudFormation handler passes ImageScanningConfiguration and
    EncryptionConfiguration with CloudFormation's capitalised keys where its API model reads the
    API's camel-case keys, so scan-on-push and the KMS key were lost; it ignores EmptyOnDelete,
    so a stack whose repositories hold images could not be deleted; and it ignores LifecyclePolicy,
    so no lifecycle rule applied. The fix passes the four on."""
    from moto.ecr import models as ecr

    original = ecr.Repository.create_from_cloudformation_json.__func__

    def camel(mapping: dict[str, Any] | None) -> dict[str, Any] | None:
        return {key[:1].lower() + key[1:]: value for key, value in mapping.items()} if mapping else mapping

    def create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        properties = dict(cloudformation_json.get("Properties", {}))
        for key in ("ImageScanningConfiguration", "EncryptionConfiguration"):
            if key in properties:
                properties[key] = camel(properties[key])
        repository = original(cls, resource_name, {**cloudformation_json, "Properties": properties}, account_id, region_name, **kwargs)
        repository.empty_on_delete = bool(properties.get("EmptyOnDelete", False))
        lifecycle = properties.get("LifecyclePolicy", {}).get("LifecyclePolicyText")
        if lifecycle:
            backend = ecr.ecr_backends[account_id][region_name]
            backend.put_lifecycle_policy(registry_id=account_id, repository_name=repository.name, lifecycle_policy_text=lifecycle)
        return repository

    def delete(self: Any, account_id: str, region_name: str) -> None:
        ecr.ecr_backends[account_id][region_name].delete_repository(self.name, force=getattr(self, "empty_on_delete", False))

    patch.set(ecr.Repository, "create_from_cloudformation_json", classmethod(create))
    patch.set(ecr.Repository, "delete", delete)


@fix
def ecr_image_digest_is_the_manifest_digest(patch: Patcher) -> None:
    """Defect. ECR names an image by the SHA-256 digest of its manifest, as every registry does
    (ECR API reference, ImageIdentifier: "The sha256 digest of the image manifest"); moto hashes
    the concatenated layer digests instead, so the digest a service would pull by was not the
    image's. The fix computes the digest from the manifest's bytes, as pushed."""
    import hashlib

    from moto.ecr import models as ecr

    def create_digest(self: Any) -> None:
        self._image_digest = "sha256:" + hashlib.sha256(self.image_manifest.encode("utf-8")).hexdigest()

    patch.set(ecr.Image, "_create_digest", create_digest)


@fix
def ecr_authorised_on_its_repository(patch: Patcher) -> None:
    """Defect. moto authorises ECR requests against Resource "*" (it determines no resource for
    them), so a policy that names its repositories (ecr:DescribeImages on the job repositories)
    was denied. The fix names the request's repository, as AWS evaluates it (Service Authorization
    Reference, Amazon ECR: the repository resource type); GetAuthorizationToken stays on "*"."""
    from moto.ecr.responses import ECRResponse

    def repository(self: Any) -> str:
        name = self._get_param("repositoryName")
        if not name:
            return "*"
        account = self._get_param("registryId") or self.current_account
        return f"arn:aws:ecr:{self.region}:{account}:repository/{name}"

    patch.set(ECRResponse, "_determine_resource", repository)


@fix
def ecr_enhanced_scan_findings_need_inspector_list_findings(patch: Patcher) -> None:
    """Missing rule. Under the registry's enhanced scanning, ECR's DescribeImageScanFindings reads Amazon
    Inspector's findings with the caller's permissions, so the caller also needs inspector2:ListFindings
    ("IAM permissions required for enhanced scanning in Amazon ECR", ECR user guide:
    https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning-enhanced-iam.html; without it AWS
    answers AccessDenied, "not authorized to perform: inspector2:ListFindings"). moto has no Inspector and
    checks only ecr:DescribeImageScanFindings. The fix: while the registry's scanning configuration is
    ENHANCED (PutRegistryScanningConfiguration), DescribeImageScanFindings is refused unless the caller's
    policies allow inspector2:ListFindings (on "*": the action has no resource type). Under BASIC scanning
    nothing changes. This is the one dependent action the emulator evaluates; it models no other."""
    from moto.core.exceptions import AccessDeniedError
    from moto.ecr.responses import ECRResponse
    from moto.iam.access_control import IAMRequest

    original = ECRResponse.describe_image_scan_findings

    def describe_image_scan_findings(self: Any) -> Any:
        enhanced = self.ecr_backend.get_registry_scanning_configuration().get("scanType") == "ENHANCED"
        if enhanced and not caller_may(self, IAMRequest, "inspector2:ListFindings", "*"):
            raise AccessDeniedError(user_arn="the caller", action="inspector2:ListFindings")
        return original(self)

    patch.set(ECRResponse, "describe_image_scan_findings", describe_image_scan_findings)

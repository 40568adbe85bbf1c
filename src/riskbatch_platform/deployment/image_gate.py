"""Images for the services: present in their repositories, scanned, and free of serious findings."""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from riskbatch.operations.preflight.images import BLOCKING_SEVERITIES, registry_scan_type, scan_findings
from riskbatch.operations.preflight.scan_statuses import SCAN_JUDGED, SCAN_WAITING, scan_advice


class ScanNotFinished(RuntimeError):
    """An image's scan did not reach a status that can be judged: still waiting after the bounded
    wait, or in a status that never ends well (FAILED, UNSUPPORTED_IMAGE, LIMIT_EXCEEDED, IMAGE_ARCHIVED, ...),
    each said with its own advice (riskbatch.operations.preflight.scan_statuses)."""


@dataclass(frozen=True)
class ScanVerdict:
    repository: str
    tag: str
    status: str
    severity_counts: dict[str, int]

    @property
    def blocking(self) -> dict[str, int]:
        return {severity: count for severity, count in self.severity_counts.items() if severity in BLOCKING_SEVERITIES and count}


def stand_in_manifest() -> str:
    """An image manifest with no layers: what the local emulator holds in place of a built image."""
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 0, "digest": "sha256:" + "0" * 64},
            "layers": [],
        }
    )


def repository_names(outputs: dict[str, str]) -> list[str]:
    """Repository names from the stack outputs (<registry>/<name> URIs)."""
    return sorted(uri.split("/", 1)[1] for key, uri in outputs.items() if key.endswith("RepositoryUri"))


def missing_images(ecr: Any, repositories: list[str], tag: str) -> list[str]:
    missing = []
    for repository in repositories:
        try:
            ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])
        except ClientError as error:
            if error.response["Error"]["Code"] in {"ImageNotFoundException", "RepositoryNotFoundException"}:
                missing.append(repository)
            else:
                raise
    return missing


def scan_verdict(
    ecr: Any, repository: str, tag: str, max_wait_seconds: float = 900, delay: float = 10, sleep: Callable[[float], None] = time.sleep
) -> ScanVerdict:
    """The scan of repository:tag once it can be judged, with its findings counted by severity.

    Under basic scanning that is COMPLETE; under the registry's enhanced (Inspector) scanning it is
    ACTIVE (or COMPLETE), and ECR's ImageScanComplete waiter, which waits for COMPLETE alone, would
    never end. So DescribeImageScanFindings is polled, at most max_wait_seconds."""
    scan_type = registry_scan_type(ecr)
    deadline = time.monotonic() + max_wait_seconds
    status = "not started"
    while True:
        try:
            status, counts = scan_findings(ecr, repository, tag)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ScanNotFoundException":
                raise
            status, counts = "not started", {}
        if status in SCAN_JUDGED:
            return ScanVerdict(repository, tag, status, counts)
        if status not in (*SCAN_WAITING, "not started"):
            raise ScanNotFinished(f"the {scan_type} scan of {repository}:{tag} ended {status}: it cannot be judged; {scan_advice(status, repository, tag)}")
        if time.monotonic() + delay > deadline:
            # A scan that never started under enhanced scanning is a repository no scanning rule covers.
            hint = " (no scanning rule may cover the repository: riskbatch-preflight checks the registry's rules)" if status == "not started" else ""
            raise ScanNotFinished(
                f"the {scan_type} scan of {repository}:{tag} is still {status} after {max_wait_seconds:.0f} s{hint}; run the same command again once it is done"
            )
        sleep(delay)


def manifest_of(local_reference: str) -> str:
    """The image's manifest as a registry receives it: podman writes the image out (OCI layout in a
    folder) and the manifest's bytes are what a push sends; their SHA-256 is the image's digest."""
    from riskbatch_platform.local.podman import podman

    with tempfile.TemporaryDirectory(prefix="riskbatch-push-") as folder:
        podman("push", "--quiet", "--format", "oci", local_reference, f"dir:{folder}")
        return (Path(folder) / "manifest.json").read_text(encoding="utf-8")


def push_image(ecr: Any, repository: str, local_reference: str, tag: str) -> str:
    """PutImage of the local image's manifest under the tag; the digest ECR names it by.
    The layers stay on this machine: the runner starts the local image that has this digest."""
    manifest = manifest_of(local_reference)
    media_type = json.loads(manifest)["mediaType"]
    image = ecr.put_image(repositoryName=repository, imageManifest=manifest, imageManifestMediaType=media_type, imageTag=tag)["image"]
    digest = image["imageId"]["imageDigest"]
    expected = "sha256:" + hashlib.sha256(manifest.encode("utf-8")).hexdigest()
    if digest != expected:
        raise RuntimeError(f"{repository}:{tag} was stored as {digest}, but its manifest's digest is {expected}")
    return digest


def local_image_with_digest(digest: str) -> str | None:
    """The id of the local image whose manifest has this digest (what pulling by digest finds)."""
    from riskbatch_platform.local.podman import podman

    for line in podman("images", "--no-trunc", "--format", "{{.Id}} {{.Digest}}").stdout.splitlines():
        image_id, _, image_digest = line.partition(" ")
        if image_digest.strip() == digest:
            return image_id
    return None

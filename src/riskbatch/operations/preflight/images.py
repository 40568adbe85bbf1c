"""The jobs' images: in their repositories, scanned, free of blocking findings, and safe from the lifecycle rule.

- an ECR lifecycle rule "imageCountMoreThan N" expires every image past the N newest.
  https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html"""

from __future__ import annotations

import json
from typing import Any

from riskbatch.operations.preflight.findings import FAIL, PASS, WARN, Account, Clients, Finding, error_code
from riskbatch.operations.preflight.scan_statuses import NOT_SCANNED, SCAN_JUDGED, SCAN_WAITING, scan_advice

BLOCKING_SEVERITIES = ("CRITICAL", "HIGH")


def registry_scan_type(ecr: Any) -> str:
    """BASIC or ENHANCED: the registry's scanning configuration, which governs every repository
    (repository-level scan settings are deprecated in its favour)."""
    return str(ecr.get_registry_scanning_configuration().get("scanningConfiguration", {}).get("scanType", "BASIC"))


def scan_findings(ecr: Any, repository: str, tag: str) -> tuple[str, dict[str, int]]:
    """(scan status, findings by severity) of repository:tag. Basic scanning counts them in
    findingSeverityCounts; enhanced scanning lists enhancedFindings, each with its severity, a page at
    a time: both are read, and the larger count of a severity kept."""
    status, counts, enhanced = "", {}, {}
    token = None
    while True:
        page = ecr.describe_image_scan_findings(repositoryName=repository, imageId={"imageTag": tag}, **({"nextToken": token} if token else {}))
        status = page["imageScanStatus"]["status"]
        found = page.get("imageScanFindings", {})
        counts = {key: int(value) for key, value in found.get("findingSeverityCounts", {}).items()} or counts
        for finding in found.get("enhancedFindings", []):
            enhanced[finding.get("severity", "UNTRIAGED")] = enhanced.get(finding.get("severity", "UNTRIAGED"), 0) + 1
        token = page.get("nextToken")
        if not token:
            break
    return status, {severity: max(counts.get(severity, 0), enhanced.get(severity, 0)) for severity in {*counts, *enhanced}}


def images(clients: Clients, account: Account) -> list[Finding]:
    ecr = clients("ecr")
    findings = []
    tag = account.image_tag
    for repository in account.repositories:
        name = f"image {repository}:{tag}"
        push = f"push it: make images, then docker push <registry>/{repository}:{tag} (docs/runbook.md, 'Pushing the images')"
        try:
            (detail,) = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])["imageDetails"]
        except Exception as error:
            code = error_code(error)
            if code in ("ImageNotFoundException", "RepositoryNotFoundException"):
                findings.append(Finding(name, "present, scanned, no CRITICAL or HIGH finding", f"missing ({code})", FAIL, push))
            else:
                findings.append(Finding(name, "readable", f"unreadable ({code})", FAIL, "allow ecr:DescribeImages on the repository"))
            continue
        try:
            status, counts = scan_findings(ecr, repository, str(tag))
        except Exception as error:
            if error_code(error) != "ScanNotFoundException":
                raise
            status, counts = NOT_SCANNED, {}
        blocking = {severity: counts[severity] for severity in BLOCKING_SEVERITIES if counts.get(severity)}
        if status not in SCAN_JUDGED:
            pending = WARN if status in SCAN_WAITING else FAIL
            fix = "wait for the scan" if pending == WARN else scan_advice(status, repository, str(tag))
            findings.append(Finding(name, f"scan {' or '.join(SCAN_JUDGED)}", f"scan {status}", pending, fix))
        elif blocking:
            findings.append(Finding(name, "no CRITICAL or HIGH finding", json.dumps(blocking), FAIL, "rebuild on patched packages and push a new tag"))
        else:
            findings.append(Finding(name, "present, scanned, no CRITICAL or HIGH finding", f"{detail['imageDigest'][:19]}, scan {status}, clean", PASS))
        findings.extend(_lifecycle(ecr, repository, tag, detail))
    return findings


def _lifecycle(ecr: Any, repository: str, tag: str | None, detail: dict[str, Any]) -> list[Finding]:
    """Images newer than the one the stack runs, against the lifecycle rule's count: past it, the
    image is expired; at it less one, the next push expires it."""
    try:
        policy = json.loads(ecr.get_lifecycle_policy(repositoryName=repository)["lifecyclePolicyText"])
    except Exception as error:
        if error_code(error) == "LifecyclePolicyNotFoundException":
            return []
        raise
    counts = [rule["selection"]["countNumber"] for rule in policy.get("rules", []) if rule.get("selection", {}).get("countType") == "imageCountMoreThan"]
    if not counts:
        return []
    keep = min(counts)
    pushed = detail.get("imagePushedAt")
    newer = 0
    for page in ecr.get_paginator("describe_images").paginate(repositoryName=repository):
        newer += sum(1 for image in page["imageDetails"] if pushed is not None and image.get("imagePushedAt") and image["imagePushedAt"] > pushed)
    name = f"lifecycle of {repository}:{tag}"
    expected = f"fewer than {keep - 1} newer images (the rule keeps {keep})"
    if newer >= keep:
        return [Finding(name, expected, f"{newer} newer: expired", FAIL, "push the tag again, or deploy a newer tag")]
    if newer >= keep - 1:
        return [Finding(name, expected, f"{newer} newer: the next push expires it", WARN, "deploy a newer tag before pushing another image")]
    return [Finding(name, expected, f"{newer} newer", PASS)]

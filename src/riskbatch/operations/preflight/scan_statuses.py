"""What each image scan status means for the night, and what to do about it: one table, read by the
preflight and pre-night image check and by the deploy's and the push's scan gate.

The statuses are ECR's (API reference, ImageScanStatus, whose list botocore's service model for ECR
carries, IMAGE_SIZE_EXCEEDED included:
https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageScanStatus.html). Basic scanning
ends in COMPLETE; enhanced (Amazon Inspector) scanning reports ACTIVE while it keeps the image's
findings up to date. The waiting ones may still end well; every other one never will by waiting, so
each has its own advice, with the document it comes from:

- FAILED, UNSUPPORTED_IMAGE, FINDINGS_UNAVAILABLE, SCAN_ELIGIBILITY_EXPIRED: their meanings are in the
  ImageScanStatus list of the ECR Public API reference
  (https://docs.aws.amazon.com/AmazonECRPublic/latest/APIReference/API_ImageScanStatus.html) and in
  "Troubleshooting image scanning in Amazon ECR"
  (https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning-troubleshooting.html);
- SCAN_ELIGIBILITY_EXPIRED: Inspector's ECR re-scan duration lapsed for the image ("Configuring the
  Amazon ECR re-scan duration", https://docs.aws.amazon.com/inspector/latest/user/scanning_resources_configure_duration_setting_ecr.html;
  Inspector API reference, ScanStatus: "The configured scan duration has lapsed for this image",
  https://docs.aws.amazon.com/inspector/v2/APIReference/API_ScanStatus.html);
- LIMIT_EXCEEDED: a scan quota was reached (StartImageScan: one basic scan per image per 24 hours,
  100,000 a day: https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_StartImageScan.html);
- IMAGE_ARCHIVED: an archived image cannot be pulled or scanned, and is restored by
  UpdateImageStorageClass or a new push ("Archiving an image",
  https://docs.aws.amazon.com/AmazonECR/latest/userguide/archive-image.html; ImageArchivedException:
  "The specified image is archived and cannot be scanned");
- IMAGE_SIZE_EXCEEDED: the image is larger than the scanner takes (Inspector's ScanStatus reason of the
  same name, which its API reference still marks reserved for future use: AWS names no limit)."""

from __future__ import annotations

# The scan can be judged: its findings decide.
SCAN_JUDGED = ("COMPLETE", "ACTIVE")


# The scan may still end well: wait for it.
SCAN_WAITING = ("IN_PROGRESS", "PENDING")


RESCAN_DURATIONS = "LIFETIME, DAYS_180, DAYS_90, DAYS_60, DAYS_30, DAYS_14, DAYS_7 or DAYS_3"


# DescribeImageScanFindings answered ScanNotFoundException: no scan of the image was ever started.
NOT_SCANNED = "none"


# status -> (what it means, what to do); {repository} and {tag} are filled in.
SCAN_ADVICE: dict[str, tuple[str, str]] = {
    NOT_SCANNED: (
        "no scan of the image was started",
        "under basic scanning start one: aws ecr start-image-scan --repository-name {repository} --image-id imageTag={tag}; "
        "under enhanced scanning a registry scanning rule must cover {repository} (riskbatch-preflight checks the rules)",
    ),
    "FAILED": (
        "the scan failed",
        "start it again: aws ecr start-image-scan --repository-name {repository} --image-id imageTag={tag} "
        "(basic scanning, once per image per 24 hours); under enhanced scanning, push a new build under a new tag (a new image is scanned on push)",
    ),
    "UNSUPPORTED_IMAGE": (
        "the scanner does not support the image's operating system, package manager or media type",
        "rebuild {repository}:{tag} on a base the scanner supports (Debian, Ubuntu, Alpine, Amazon Linux, RHEL; never scratch) "
        "and push it under a new tag, or scan it another way and record the exception",
    ),
    "FINDINGS_UNAVAILABLE": (
        "ECR has no findings to give for the image",
        "check that Amazon Inspector scans ECR in this account and Region (aws inspector2 batch-get-account-status), "
        "and that a scanning rule covers {repository}, then push a new build under a new tag so that it is scanned",
    ),
    "SCAN_ELIGIBILITY_EXPIRED": (
        "Amazon Inspector stopped re-scanning the image: its ECR re-scan duration since the push or the last pull lapsed",
        "lengthen the duration (aws inspector2 update-configuration --ecr-configuration rescanDuration=DAYS_180; "
        + RESCAN_DURATIONS
        + "), then push a new build of {repository} under a new tag: a new image starts a new duration",
    ),
    "LIMIT_EXCEEDED": (
        "ECR refused the scan for a quota (one basic scan per image per 24 hours, 100,000 scans a day)",
        "wait for the quota's 24 hours to pass, then aws ecr start-image-scan --repository-name {repository} --image-id imageTag={tag}; "
        "if it is the registry's daily count, ask for a quota increase (Service Quotas, Amazon ECR)",
    ),
    "IMAGE_ARCHIVED": (
        "the image is in ECR's archive storage class: it can be neither scanned nor pulled, so no task could start on it",
        "restore it: aws ecr update-image-storage-class --repository-name {repository} --image-id imageTag={tag} --target-storage-class STANDARD "
        "(or push it again), and keep the lifecycle rule from archiving the tags the stack runs",
    ),
    "IMAGE_SIZE_EXCEEDED": (
        "the image is larger than the scanner takes",
        "make {repository}:{tag} smaller (a slimmer base, fewer and smaller layers: make images builds each job with only what it imports) "
        "and push it under a new tag",
    ),
}


def scan_advice(status: str, repository: str, tag: str) -> str:
    """What the status means and what to do, in one line."""
    meaning, action = SCAN_ADVICE.get(status, ("a status this check does not know", "read the image's scan in the ECR console, then rebuild or rescan it"))
    return f"scan {status}: {meaning}; {action.format(repository=repository, tag=tag)}"

"""Preflight: will tonight's run fit this account? Each check compares what the night needs with
what the account has, and names the fix when it does not fit.

The checks read the account only (describe, get, list calls); nothing changes. They run from
riskbatch-preflight before a deployment (and from riskbatch-deploy, before anything changes),
and the ones that can change from one day to the next (NIGHTLY) run again at the start of each
overnight window (the pre-night check); the VPC endpoints' template has its own (NETWORK). This module
holds the lists and runs them; the checks live beside it by what they read (capacity, buckets, scanning,
images, monitoring, network), each module citing the AWS documents it relies on."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from riskbatch.aws.alerts import publish_alert
from riskbatch.operations.preflight.arrivals import landed_files_started_a_run
from riskbatch.operations.preflight.buckets import (
    input_bucket_encryption,
    input_bucket_events,
    input_bucket_versioning,
    output_bucket_encryption,
    output_bucket_retention,
)
from riskbatch.operations.preflight.capacity import fargate_quotas, night_fits, service_linked_role, subnet_capacity
from riskbatch.operations.preflight.findings import FAIL, Account, Check, Clients, Finding, error_code
from riskbatch.operations.preflight.images import images
from riskbatch.operations.preflight.monitoring import alarms, alert_subscription, dead_letters, kms_key, task_events_log_policy
from riskbatch.operations.preflight.network import endpoint_services_in_zones, existing_private_dns_endpoints, fargate_zones, vpc_dns_attributes
from riskbatch.operations.preflight.scanning import inspector_scans_ecr, registry_scanning


def alert(sns: Any, topic_arn: str, environment_name: str, findings: list[Finding]) -> str:
    """Tell the alert topic, before the night, what will not fit and how to fix it."""
    problems = failed(findings)
    subject = f"Pre-night check {environment_name}: {len(problems)} check(s) failed"
    lines = [f"{f.check}: expected {f.expected}, found {f.found}. Fix: {f.fix}" for f in problems]
    message = "Tonight's run will not fit the account; fix before the files arrive:\n\n" + "\n".join(lines) + "\n\nAll checks:\n" + table(findings)
    return publish_alert(sns, topic_arn, subject, message)


ALL: tuple[Check, ...] = (
    fargate_quotas, subnet_capacity, fargate_zones, service_linked_role, input_bucket_events, input_bucket_encryption, input_bucket_versioning,
    output_bucket_encryption, output_bucket_retention, registry_scanning, inspector_scans_ecr, images, alert_subscription, kms_key, alarms,
    dead_letters, task_events_log_policy, night_fits,
)  # fmt: skip


# What can change from one day to the next: run at the start of each overnight window. The buckets'
# default encryption is the customer's to change at any time: a switch to the stack's key is refused nightly.
NIGHTLY: tuple[Check, ...] = (
    fargate_quotas, subnet_capacity, input_bucket_encryption, input_bucket_versioning, output_bucket_encryption, output_bucket_retention, images,
    alert_subscription, alarms, dead_letters, task_events_log_policy, landed_files_started_a_run,
)  # fmt: skip


# The VPC endpoints' template (lib/VpcEndpoints.json, once per VPC): what its endpoints need of the VPC.
NETWORK: tuple[Check, ...] = (endpoint_services_in_zones, vpc_dns_attributes, existing_private_dns_endpoints)


def run_checks(clients: Clients, account: Account, checks: tuple[Check, ...] = ALL) -> list[Finding]:
    findings = []
    for check in checks:
        try:
            findings += check(clients, account)
        except Exception as error:  # one check's failure to read is its own finding; the others still run
            said = f"error: {error_code(error)}: {error}"
            findings.append(Finding(check.__name__.replace("_", " "), "readable", said, FAIL, "see the error; the caller may lack a read permission"))
    return findings


def failed(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.status == FAIL]


def table(findings: list[Finding]) -> str:
    rows = [("check", "expected", "found", "status", "how to fix")] + [(f.check, f.expected, f.found, f.status, f.fix) for f in findings]
    widths = [min(max(len(row[i]) for row in rows), 60) for i in range(4)]
    lines = []
    for row in rows:
        cells = [row[i][: widths[i]].ljust(widths[i]) for i in range(4)]
        lines.append("  ".join(cells) + ("  " + row[4] if row[4] else ""))
    return "\n".join(lines)


def as_json(findings: list[Finding]) -> str:
    return json.dumps([asdict(finding) for finding in findings], indent=2)

"""The IAM policies of the templates, checked against the field's databases: parliament and cfripper.

parliament knows every IAM action, resource ARN format and condition key; it reads each policy
of a template resolved with placeholder values (riskbatch_platform/analysis/resolve.py), so that ARNs have
their real shape. cfripper reads the templates themselves, with its own rules. A finding this
project keeps is justified where the tool's configuration lives: tools/parliament.yaml and
tools/cfripper/filters.py.

Trust policies are left out of parliament: they have no Resource, and parliament reads every
document as an identity policy (the unit suite and the guard rules cover trust policies).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from riskbatch_platform import REPO_ROOT
from riskbatch_platform.analysis.resolve import as_list, placeholder_values, resolve

PARLIAMENT_CONFIG = REPO_ROOT / "tools" / "parliament.yaml"
CFRIPPER_FILTERS = REPO_ROOT / "tools" / "cfripper"
# Values that switch every optional resource on, so that every policy is read.
EVERYTHING_ON = {
    "DeployServices": "true",
    "CreateTaskEventsLogPolicy": "true",
    "NotificationEmail": "risk-ops@example.com",
    "PrivateRouteTableIds": "rtb-0123456789abcdef0",
    # the input bucket under a customer key (the KMS documents' example key id)
    "InputBucketKmsKeyArn": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    # the output bucket under a customer key of its own (the KMS documents' other example key id)
    "OutputBucketKmsKeyArn": "arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321",
    # the probes' grant of the integration suite's stacks (a production stack has none)
    "EnableAccessProbes": "true",
}


@dataclass(frozen=True)
class Finding:
    tool: str
    where: str
    issue: str
    detail: str

    def __str__(self) -> str:
        return f"{self.tool}: {self.where}: {self.issue}: {self.detail}"


def _parameters(template: dict[str, Any]) -> dict[str, str]:
    return placeholder_values(template, EVERYTHING_ON)


def policy_documents(template: dict[str, Any], template_path: str) -> list[tuple[str, dict[str, Any]]]:
    """(location, document) for every identity and resource policy, resolved; trust policies excluded."""
    resolved = resolve(template, _parameters(template))
    found = []
    for logical_id, resource in resolved["Resources"].items():
        properties = resource["Properties"]
        for policy in properties.get("Policies", []):
            found.append((f"{template_path}#{logical_id}.Policies.{policy['PolicyName']}", policy["PolicyDocument"]))
        for key in ("KeyPolicy", "PolicyDocument"):
            if isinstance(properties.get(key), dict):
                found.append((f"{template_path}#{logical_id}.{key}", properties[key]))
    return found


def _kept_by_config(issue: str, location: dict[str, Any], config: dict[str, Any]) -> bool:
    """parliament's ignore_locations, matched as its documentation says (every field of an entry matches
    as a regular expression). parliament's own matcher expects its JSON parser's nodes, so YAML entries
    never match there."""
    for entry in (config.get(issue) or {}).get("ignore_locations", []):
        if all(
            any(re.fullmatch(str(pattern).lower(), str(location.get(field, "")).lower()) for pattern in as_list(patterns)) for field, patterns in entry.items()
        ):
            return True
    return False


def parliament_findings(template: dict[str, Any], template_path: str) -> tuple[list[Finding], list[Finding]]:
    """(findings, findings kept by a justified entry of tools/parliament.yaml) for one template."""
    import parliament

    config = yaml.safe_load(PARLIAMENT_CONFIG.read_text(encoding="utf-8")) or {}
    findings, justified = [], []
    for location, document in policy_documents(template, template_path):
        policy = parliament.analyze_policy_string(json.dumps(document), filepath=location, ignore_private_auditors=True)
        for finding in policy.findings:
            found = Finding("parliament", location, finding.issue, str(finding.detail))
            (justified if _kept_by_config(finding.issue, finding.location, config) else findings).append(found)
    return findings, justified


@dataclass(frozen=True)
class CfripperReport:
    unjustified: list[Finding]
    justified: list[Finding]  # allowed by a filter of tools/cfripper/filters.py, which states the reason
    unread: list[str]  # resources whose policy cfripper could not read (its own limits)


def _run_cfripper(template_path: Path, parameters_file: str, filters: bool) -> tuple[dict[str, Any], str]:
    command = [str(Path(sys.executable).with_name("cfripper")), str(template_path), "--format", "json", "--resolve", "--resolve-parameters", parameters_file]
    command += ["--aws-account-id", "123456789012", "--logging", "WARNING"]
    if filters:
        command += ["--rules-filters-folder", str(CFRIPPER_FILTERS)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode not in (0, 2):
        raise RuntimeError(f"cfripper failed on {template_path.name} ({completed.returncode}): {completed.stderr.strip()[-2000:]}")
    return json.loads(completed.stdout), completed.stderr


def cfripper_findings(template_path: Path) -> CfripperReport:
    template = json.loads(template_path.read_text(encoding="utf-8"))
    where = template_path.name

    def findings(report: dict[str, Any]) -> list[Finding]:
        found = [
            Finding("cfripper", f"{where}#{','.join(sorted(item.get('resource_ids') or []))}", item["rule"], item["reason"])
            for item in report.get("failures", [])
        ]
        return found + [Finding("cfripper", where, "exception", str(item)) for item in report.get("exceptions", [])]

    with tempfile.NamedTemporaryFile("w", suffix=".json", encoding="utf-8") as values:
        json.dump(_parameters(template), values)
        values.flush()
        filtered, log = _run_cfripper(template_path, values.name, filters=True)
        everything, _ = _run_cfripper(template_path, values.name, filters=False)
    unjustified = findings(filtered)
    justified = [finding for finding in findings(everything) if finding not in unjustified]
    unread = sorted(set(re.findall(r"Could not process the PolicyDocument .*? on (\w+)", log)))
    return CfripperReport(unjustified, justified, unread)

"""Will each image the stack runs be scanned? The registry's scanning configuration against the stack's
repositories, and, under enhanced scanning, Amazon Inspector's ECR scanning in the account.

- The registry's scanning rules choose the repositories by filter: "When enhanced scanning is used ...
  Any repositories not matching an enhanced scanning filter will have scanning disabled", and under basic
  scanning "Any repositories not matching a basic scanning scan on push filter will be set to the manual
  scan frequency"; where a continuous and a scan-on-push filter both match, continuous scanning applies.
  "A filter with no wildcard will match all repository names that contain the filter. A filter with a
  wildcard (*) matches on any repository name where the wildcard replaces zero or more characters."
  ("Filters to choose which repositories are scanned in Amazon ECR",
  https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning-filters.html; the API's
  GetRegistryScanningConfiguration and RegistryScanningRule:
  https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_RegistryScanningRule.html)
  A repository no rule covers is never scanned after a push, under enhanced scanning (disabled) and under
  basic scanning with rules (manual): either way the deploy's gate would wait its 900 s for a scan that
  never starts.
- Enhanced scanning is Amazon Inspector's: BatchGetAccountStatus says whether its ECR scanning is
  ENABLED in the account (Inspector API reference,
  https://docs.aws.amazon.com/inspector/v2/APIReference/API_BatchGetAccountStatus.html)."""

from __future__ import annotations

import json
import re
from typing import Any

from riskbatch.operations.preflight.findings import FAIL, PASS, WARN, Account, Clients, Finding, error_code

SCANNING_FREQUENCIES = {"ENHANCED": ("CONTINUOUS_SCAN", "SCAN_ON_PUSH"), "BASIC": ("SCAN_ON_PUSH",)}


def filter_matches(pattern: str, repository: str) -> bool:
    """Whether a WILDCARD repository filter matches a repository name, as ECR's user guide says."""
    if "*" not in pattern:
        return pattern in repository
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), repository) is not None


def scan_frequency(configuration: dict[str, Any], repository: str) -> str:
    """The frequency the registry's rules give a repository: CONTINUOUS_SCAN over SCAN_ON_PUSH, MANUAL when none matches."""
    matched = {
        rule.get("scanFrequency", "MANUAL")
        for rule in configuration.get("rules", [])
        if any(filter_matches(str(item.get("filter", "")), repository) for item in rule.get("repositoryFilters", []))
    }
    return next((frequency for frequency in ("CONTINUOUS_SCAN", "SCAN_ON_PUSH") if frequency in matched), "MANUAL")


def _fix(configuration: dict[str, Any], scan_type: str, uncovered: list[str]) -> str:
    """The command that adds a rule for the uncovered repositories and keeps the registry's other rules
    (PutRegistryScanningConfiguration replaces them all)."""
    frequency = "CONTINUOUS_SCAN" if scan_type == "ENHANCED" else "SCAN_ON_PUSH"
    rules = [*configuration.get("rules", []), {"scanFrequency": frequency, "repositoryFilters": [{"filter": r, "filterType": "WILDCARD"} for r in uncovered]}]
    return f"aws ecr put-registry-scanning-configuration --scan-type {scan_type} --rules '{json.dumps(rules, separators=(',', ':'))}'"


def _repositories(account: Account) -> list[str]:
    """The stack's repositories, or before its first deployment the ones its template names."""
    return account.repositories or account.planned_repositories


def registry_scanning(clients: Clients, account: Account) -> list[Finding]:
    """Every repository of the stack covered by a scanning rule of the registry's scan type: checked
    before the first deployment too, since the first image gate comes after it."""
    repositories = _repositories(account)
    if not repositories:
        return []
    configuration = clients("ecr").get_registry_scanning_configuration().get("scanningConfiguration", {})
    scan_type = str(configuration.get("scanType", "BASIC"))
    check = "registry scanning rules cover the stack's repositories"
    if scan_type == "BASIC" and not configuration.get("rules"):
        # No registry rule: the repositories' own ScanOnPush (the template sets it) starts each basic scan.
        return [Finding(check, "each repository scanned on push", "BASIC, no registry rules: the repositories' own scan on push", PASS)]
    frequencies = {repository: scan_frequency(configuration, repository) for repository in repositories}
    uncovered = sorted(repository for repository, frequency in frequencies.items() if frequency not in SCANNING_FREQUENCIES.get(scan_type, ()))
    found = f"{scan_type}: " + ", ".join(f"{repository} {frequency}" for repository, frequency in sorted(frequencies.items()))
    expected = f"each repository matched by a {' or '.join(SCANNING_FREQUENCIES.get(scan_type, ()))} rule"
    if not uncovered:
        return [Finding(check, expected, found, PASS)]
    if scan_type == "ENHANCED":
        said = f"no rule matches {', '.join(uncovered)}: Inspector never scans their images and the deploy's scan gate would wait 900 s for nothing; "
        return [Finding(check, expected, found, FAIL, said + _fix(configuration, scan_type, uncovered))]
    # under BASIC with rules, the rules override the repositories' own scan on push: no rule, MANUAL, no scan after a push
    said = f"{', '.join(uncovered)} would scan only when asked (MANUAL): no push starts a scan and the deploy's scan gate would wait 900 s for nothing; "
    return [Finding(check, expected, found, FAIL, said + _fix(configuration, scan_type, uncovered))]


def inspector_scans_ecr(clients: Clients, account: Account) -> list[Finding]:
    """Under enhanced scanning, Inspector's ECR scanning ENABLED in the account (else no scan ever starts)."""
    if not _repositories(account):
        return []
    configuration = clients("ecr").get_registry_scanning_configuration().get("scanningConfiguration", {})
    if configuration.get("scanType") != "ENHANCED":
        return []
    check, expected = "Amazon Inspector scans ECR (enhanced scanning)", "ENABLED"
    try:
        accounts = clients("inspector2").batch_get_account_status().get("accounts", [])
    except Exception as error:  # an account answer decides; a refused read is a warning, not a crash
        return [Finding(check, expected, f"unknown ({error_code(error)})", WARN, "allow inspector2:BatchGetAccountStatus, or check Inspector's console")]
    status = accounts[0].get("resourceState", {}).get("ecr", {}).get("status", "DISABLED") if accounts else "DISABLED (no Inspector status)"
    if status == "ENABLED":
        return [Finding(check, expected, status, PASS)]
    if status == "ENABLING":
        return [Finding(check, expected, status, WARN, "wait for ENABLED, then push the images")]
    fix = "aws inspector2 enable --resource-types ECR (or switch the registry back to basic scanning), then wait for ENABLED"
    return [Finding(check, expected, status, FAIL, fix)]

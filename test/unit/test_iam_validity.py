"""Every IAM policy is valid against the field's databases: parliament (actions, ARN formats,
condition keys and their types) and cfripper, with zero findings that are not justified in the
tool's own configuration (tools/parliament.yaml, tools/cfripper/filters.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from riskbatch_platform.analysis.iam_audit import CFRIPPER_FILTERS, PARLIAMENT_CONFIG, cfripper_findings, parliament_findings
from test.template_model import REPO_ROOT, load_template

ENDPOINTS = REPO_ROOT / "lib" / "VpcEndpoints.json"


def test_parliament_finds_nothing_in_the_environment_template(template_path: Path) -> None:
    findings, _ = parliament_findings(load_template(template_path), "lib/TapStack.json")
    assert [str(finding) for finding in findings] == []


def test_parliament_finds_nothing_in_the_vpc_endpoints_template() -> None:
    findings, _ = parliament_findings(load_template(ENDPOINTS), "lib/VpcEndpoints.json")
    assert [str(finding) for finding in findings] == []


def test_every_kept_parliament_finding_is_the_key_policys_or_the_task_listings_resource_star(template_path: Path) -> None:
    """In a key policy "Resource": "*" is the key itself; beside it only the deadline check's ListTasks (on "*"
    under ecs:cluster: test_one_shot_deadlines.py) is waved through."""
    _, justified = parliament_findings(load_template(template_path), "lib/TapStack.json")
    kept = {(finding.where.split(".Policies.")[0], finding.issue) for finding in justified}
    assert kept == {("lib/TapStack.json#RiskBatchKey.KeyPolicy", "RESOURCE_STAR"), ("lib/TapStack.json#DeadlineCheckTaskRole", "RESOURCE_STAR")}
    assert all("ecs:ListTasks" in str(finding) for finding in justified if "DeadlineCheckTaskRole" in finding.where)
    text = PARLIAMENT_CONFIG.read_text(encoding="utf-8")
    entries = [line for line in text.splitlines() if line.strip().startswith("- ")]
    assert entries and text.count("\n    #") >= len(entries), "every ignore entry carries its reason as a comment"


@pytest.mark.parametrize(
    ("statement", "issue"),
    [
        ({"Effect": "Allow", "Action": "sqs:ReceiveMessages", "Resource": "arn:aws:sqs:us-east-1:123456789012:q"}, "UNKNOWN_ACTION"),
        ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket"}, "RESOURCE_MISMATCH"),
        (
            {
                "Effect": "Allow",
                "Action": "ecs:RunTask",
                "Resource": "arn:aws:ecs:us-east-1:123456789012:task-definition/t:1",
                "Condition": {"StringEquals": {"ecs:clusters": "x"}},
            },
            "UNKNOWN_CONDITION_FOR_ACTION",
        ),
    ],
)
def test_parliament_catches_an_invalid_policy(template_path: Path, statement: dict, issue: str) -> None:
    """The check can fail: a misspelt action, an object action on a bucket ARN, an unknown condition key."""
    template = copy.deepcopy(load_template(template_path))
    role = template["Resources"]["RiskCalculationTaskRole"]["Properties"]
    role["Policies"][0]["PolicyDocument"]["Statement"].append(statement)
    findings, _ = parliament_findings(template, "mutant.json")
    assert issue in {finding.issue for finding in findings}


def test_cfripper_finds_nothing_unjustified(template_path: Path) -> None:
    for path in (template_path, ENDPOINTS):
        report = cfripper_findings(path)
        assert [str(finding) for finding in report.unjustified] == [], path.name
        # cfripper's resolver leaves Fn::GetAtt as a marker in a Logs resource policy and then cannot
        # read the document; parliament reads it (above). A new unread policy must be noticed.
        assert report.unread == (["TaskEventsLogResourcePolicy"] if path != ENDPOINTS else [])


def test_cfripper_allows_only_the_key_policy_the_quota_read_and_the_task_listing(template_path: Path) -> None:
    report = cfripper_findings(template_path)
    assert {(finding.where, finding.issue) for finding in report.justified} == {
        ("TapStack.json#RiskBatchKey", "GenericResourceWildcardPolicyRule"),
        ("TapStack.json#PreNightCheckTaskRole", "WildcardResourceRule"),  # servicequotas:GetServiceQuota: no resource type exists
        ("TapStack.json#DeadlineCheckTaskRole", "WildcardResourceRule"),  # ecs:ListTasks under ecs:cluster: Fargate has no container instance
    }
    assert "reason=" in (CFRIPPER_FILTERS / "filters.py").read_text(encoding="utf-8")


def test_cfripper_catches_a_wildcard_action_in_a_role(template_path: Path, tmp_path: Path) -> None:
    template = copy.deepcopy(load_template(template_path))
    statements = template["Resources"]["ReportGenerationTaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    statements.append({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    mutant = tmp_path / "TapStack.json"
    mutant.write_text(json.dumps(template), encoding="utf-8")
    report = cfripper_findings(mutant)
    assert {finding.issue for finding in report.unjustified} & {"GenericWildcardPolicyRule", "IAMRoleWildcardActionOnPolicyRule", "WildcardResourceRule"}


def test_the_parliament_config_is_yaml_with_known_issues() -> None:
    config = yaml.safe_load(PARLIAMENT_CONFIG.read_text(encoding="utf-8"))
    import parliament

    assert set(config) <= set(parliament.config)

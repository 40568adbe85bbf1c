"""The documented policies hold every call the commands really make (docs/recorded-calls.json, recorded against
the emulator by riskbatch-docs --record), each call with the actions it depends on (the one table:
riskbatch_platform/analysis/operation_actions.py, one Service Authorization Reference page per service).

Dependent actions, by their documents: under enhanced scanning ecr:DescribeImageScanFindings needs
inspector2:ListFindings ("IAM permissions required for enhanced scanning in Amazon ECR",
https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning-enhanced-iam.html); Scheduler's
UpdateSchedule needs iam:PassRole of the schedule's role to scheduler.amazonaws.com (Service Authorization
Reference, Amazon EventBridge Scheduler: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridgescheduler.html);
CreateChangeSet with a service role needs iam:PassRole of it ("AWS CloudFormation service role",
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-iam-servicerole.html); RunTask needs
iam:PassRole of the task's roles ("Amazon ECS task IAM role", https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html).
"""

from __future__ import annotations

import json

import pytest

from riskbatch.operations.rerun import RERUN_ACTIONS
from riskbatch.operations.status import STATUS_ACTIONS
from riskbatch_platform import REPO_ROOT
from riskbatch_platform.analysis.deployer_permissions import DEPLOYER_RECORDED, recorded_calls, script_calls
from riskbatch_platform.analysis.operation_actions import SAR, TABLE, has_row, needs
from riskbatch_platform.analysis.policy_coverage import missing
from test.conftest import the_template
from test.template_model import as_list, role_statements

RECORDED = recorded_calls()
DEPLOYER_POLICIES = ("deployer-policy.json", "deploying-with-service-role-policy.json")


def _document(name: str) -> dict:
    return json.loads((REPO_ROOT / "docs" / name).read_text(encoding="utf-8"))


def _operator_policy(actions: tuple[str, ...]) -> dict:
    """The runbook's operator policy: the command's actions (riskbatch.operations), on "*"."""
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}


def test_every_command_was_recorded_making_calls() -> None:
    assert set(RECORDED) == {"enable-bucket-events", "deploy", "preflight", "pre-night check", "status", "rerun", "teardown"}
    assert all(RECORDED.values()), {command: calls for command, calls in RECORDED.items() if not calls}


def test_every_recorded_or_scanned_call_has_a_row_of_the_table() -> None:
    calls = {call for found in RECORDED.values() for call in found} | set(script_calls())
    assert sorted(call for call in calls if not has_row(*call.split(":", 1))) == []


def test_every_service_of_the_table_cites_its_service_authorization_reference_page() -> None:
    assert all(reference.startswith(SAR) and reference.endswith(".html") for reference, _operations in TABLE.values())


@pytest.mark.parametrize("policy", DEPLOYER_POLICIES)
@pytest.mark.parametrize("command", DEPLOYER_RECORDED)
def test_a_deployer_policy_allows_every_call_its_commands_made(policy: str, command: str) -> None:
    """Teardown disables the schedules (GetSchedule, then UpdateSchedule with the schedule's role): the person
    deploying with a service role needs both and PassRole of the schedule roles, or teardown stops at AccessDenied."""
    assert missing(_document(policy), RECORDED[command]) == {}


@pytest.mark.parametrize(("command", "actions"), [("status", STATUS_ACTIONS), ("rerun", RERUN_ACTIONS)], ids=["status", "rerun"])
def test_the_operator_policy_allows_every_call_its_command_made(command: str, actions: tuple[str, ...]) -> None:
    assert missing(_operator_policy(actions), RECORDED[command]) == {}


def test_the_pre_night_check_role_is_granted_every_action_its_recorded_calls_need() -> None:
    """The pre-night check task (riskbatch preflight --nightly) runs under PreNightCheckTaskRole; the template names its
    resources, so the check here is by action (test/unit/test_iam.py checks the resources)."""
    role = the_template().get("PreNightCheckTaskRole")
    granted = {action for statement in role_statements(role) if statement.get("Effect", "Allow") == "Allow" for action in as_list(statement["Action"])}
    needed = {need.action for call in RECORDED["pre-night check"] for need in needs(*call.split(":", 1))}
    assert "inspector2:ListFindings" in needed
    assert sorted(needed - granted) == []


def test_the_check_finds_what_a_policy_lacks() -> None:
    """The check itself: a policy without the schedule's PassRole lacks it for UpdateSchedule, and one that passes the
    schedule roles to another service lacks it too."""
    schedules = {"Effect": "Allow", "Action": ["scheduler:GetSchedule", "scheduler:UpdateSchedule"], "Resource": "*"}
    passing = {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::*:role/role-*-sched-*"}
    to_ecs = {**passing, "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}}
    to_scheduler = {**passing, "Condition": {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}}
    calls = ["scheduler:GetSchedule", "scheduler:UpdateSchedule"]
    assert list(missing({"Statement": [schedules]}, calls)) == ["scheduler:UpdateSchedule"]
    assert list(missing({"Statement": [schedules, to_ecs]}, calls)) == ["scheduler:UpdateSchedule"]
    assert missing({"Statement": [schedules, to_scheduler]}, calls) == {}

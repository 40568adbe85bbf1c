"""The EventBridge Scheduler fix (src/riskbatch_platform/local/emulator/scheduler.py): the defect is there in moto as shipped, and gone with the fix.

Schedules created from a template, in the API's shape, and deleted with their stack. Runs moto in-process (mock_aws).
"""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.exceptions import ClientError

from riskbatch_platform.local import emulator
from test.platform.local.emulator.support import ACCOUNT, REGION, patched


def _schedule_of_a_stack() -> dict[str, Any] | None:
    schedule = {
        "Type": "AWS::Scheduler::Schedule",
        "Properties": {
            "Name": "schedule-check-x",
            "ScheduleExpression": "cron(30 0 * * ? *)",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {
                "Arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/cluster-x",
                "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/role-x",
                "EcsParameters": {
                    "TaskDefinitionArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/task-x:1",
                    "CapacityProviderStrategy": [{"CapacityProvider": "FARGATE", "Weight": 1}],
                    "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-1"]}},
                },
            },
        },
    }
    boto3.client("cloudformation", region_name=REGION).create_stack(StackName="stack-schedule-x", TemplateBody=json.dumps({"Resources": {"Check": schedule}}))
    try:
        return boto3.client("scheduler", region_name=REGION).get_schedule(Name="schedule-check-x")
    except ClientError:
        return None


def test_moto_cloudformation_skips_schedules(aws: None) -> None:
    assert _schedule_of_a_stack() is None


def test_scheduler_schedules_from_cloudformation(aws: None) -> None:
    with patched(emulator.scheduler.scheduler_schedules_from_cloudformation):
        schedule = _schedule_of_a_stack()
        assert schedule is not None and schedule["State"] == "ENABLED"
        parameters = schedule["Target"]["EcsParameters"]
        assert parameters["CapacityProviderStrategy"] == [{"capacityProvider": "FARGATE", "weight": 1}]
        assert parameters["NetworkConfiguration"]["awsvpcConfiguration"]["Subnets"] == ["subnet-1"]
        boto3.client("cloudformation", region_name=REGION).delete_stack(StackName="stack-schedule-x")
        assert boto3.client("scheduler", region_name=REGION).list_schedules()["Schedules"] == []


# Service Authorization Reference, Amazon EventBridge Scheduler (API operations table): CreateSchedule and
# UpdateSchedule need iam:PassRole of the target's role, iam:PassedToService scheduler.amazonaws.com.
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridgescheduler.html
SCHEDULE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/role-check-sched-x-us-east-1"


def _disable_as(statements_by_caller: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
    """Teardown's disable_schedule (GetSchedule, then UpdateSchedule with the whole schedule) by each caller."""
    from riskbatch_platform.deployment.teardown import disable_schedule
    from test.platform.local.emulator.support import _code, _user, enforced

    boto3.client("scheduler", region_name=REGION).create_schedule(
        Name="schedule-check-x",
        ScheduleExpression="cron(30 0 * * ? *)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/cluster-x", "RoleArn": SCHEDULE_ROLE},
    )
    sessions = {name: _user(name, statements) for name, statements in statements_by_caller.items()}
    with enforced():
        return {name: _code(lambda session=session: disable_schedule(session.client("scheduler"), "schedule-check-x")) for name, session in sessions.items()}


SCHEDULES = {"Effect": "Allow", "Action": ["scheduler:GetSchedule", "scheduler:UpdateSchedule"], "Resource": "*"}
PASS = {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::*:role/role-*-sched-*"}
CALLERS = {
    "no-pass-role": [SCHEDULES],
    "pass-to-ecs": [SCHEDULES, {**PASS, "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}}],
    "pass-to-scheduler": [SCHEDULES, {**PASS, "Condition": {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}}],
}
IAM_FIXES = (emulator.iam.signatures_of_requests_without_a_body, emulator.iam.policy_conditions_evaluated)


def test_moto_updates_a_schedule_without_pass_role(aws: None) -> None:
    with patched(*IAM_FIXES):
        assert _disable_as(CALLERS) == {"no-pass-role": "OK", "pass-to-ecs": "OK", "pass-to-scheduler": "OK"}


def test_updating_a_schedule_needs_pass_role_of_its_role_to_scheduler(aws: None) -> None:
    with patched(*IAM_FIXES, emulator.scheduler.scheduler_schedule_writes_need_pass_role):
        assert _disable_as(CALLERS) == {"no-pass-role": "denied", "pass-to-ecs": "denied", "pass-to-scheduler": "OK"}

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

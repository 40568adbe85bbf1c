"""EventBridge Scheduler: schedules from a template.

Each fix says which kind it is (a defect, a missing rule, a stand-in): see the package's first lines."""

from __future__ import annotations

from typing import Any

from .events import ecs_target_in_the_api_shape
from .patching import SCHEDULER, Patcher, caller_may, fix


@fix
def scheduler_schedules_from_cloudformation(patch: Patcher) -> None:
    """Defect. moto models EventBridge Scheduler (CreateSchedule, GetSchedule, UpdateSchedule) but its
    CloudFormation skips AWS::Scheduler::Schedule, so a deployed stack had no schedule to read or to
    disable (teardown disables them first). The fix creates each schedule through moto's own model,
    its ECS target in the API's shape; the physical id is the schedule's name, as CloudFormation's
    (AWS::Scheduler::Schedule, "Return values"). moto runs no schedule: the local runner does."""
    from moto.cloudformation import parsing
    from moto.scheduler import models as scheduler

    class ScheduleFromCloudFormation:
        """The CloudFormation face of moto's schedule model (found through the patched model map)."""

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Scheduler::Schedule"

        @staticmethod
        def cloudformation_name_type() -> str:
            return "Name"

        @staticmethod
        def has_cfn_attr(attribute: str) -> bool:
            return attribute == "Arn"

        @classmethod
        def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
            p = cloudformation_json["Properties"]
            schedule = scheduler.scheduler_backends[account_id][region_name].create_schedule(
                description=p.get("Description"),
                end_date=p.get("EndDate"),
                flexible_time_window=p["FlexibleTimeWindow"],
                group_name=p.get("GroupName"),
                kms_key_arn=p.get("KmsKeyArn"),
                name=p.get("Name", resource_name),
                schedule_expression=p["ScheduleExpression"],
                schedule_expression_timezone=p.get("ScheduleExpressionTimezone"),
                start_date=p.get("StartDate"),
                state=p.get("State"),
                target=ecs_target_in_the_api_shape(dict(p["Target"])),
                action_after_completion=None,
            )
            schedule.physical_resource_id = schedule.name
            schedule.get_cfn_attribute = lambda attribute: schedule.arn
            schedule.is_created = lambda: True  # what CloudFormation asks of every resource it made
            return schedule

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> None:
            group = cloudformation_json.get("Properties", {}).get("GroupName")
            scheduler.scheduler_backends[account_id][region_name].delete_schedule(group, resource_name)

    original_map = parsing.get_model_map

    def model_map() -> dict[str, Any]:
        return {**original_map(), "AWS::Scheduler::Schedule": ScheduleFromCloudFormation}

    patch.set(parsing, "get_model_map", model_map)


@fix
def scheduler_schedule_writes_need_pass_role(patch: Patcher) -> None:
    """Missing rule. CreateSchedule and UpdateSchedule hand the schedule's target role to EventBridge
    Scheduler: the caller needs iam:PassRole on that role, with iam:PassedToService
    scheduler.amazonaws.com (Service Authorization Reference, Amazon EventBridge Scheduler, the API
    operations table: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridgescheduler.html).
    moto checks only scheduler:CreateSchedule or scheduler:UpdateSchedule. The fix refuses either call
    unless the caller may pass the Target's RoleArn to Scheduler (teardown's UpdateSchedule, which
    disables a schedule, sends its role back)."""
    from moto.core.exceptions import AccessDeniedError
    from moto.iam.access_control import IAMRequest
    from moto.scheduler.responses import EventBridgeSchedulerResponse

    def checked(original: Any) -> Any:
        def call(self: Any) -> Any:
            role = (self._get_param("Target") or {}).get("RoleArn")
            if role and not caller_may(self, IAMRequest, "iam:PassRole", role, {"iam:PassedToService": [SCHEDULER]}):
                raise AccessDeniedError(user_arn="the caller", action=f"iam:PassRole on {role}")
            return original(self)

        return call

    for name in ("create_schedule", "update_schedule"):
        patch.set(EventBridgeSchedulerResponse, name, checked(getattr(EventBridgeSchedulerResponse, name)))

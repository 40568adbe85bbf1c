"""ECS: clusters deleted with their stack, task definitions kept whole, tasks' start times, RunTask authorised as AWS does,
tasks that run until stopped, exit codes the agent reports.

Each fix says which kind it is (a defect, a missing rule, a stand-in): see the package's first lines."""

from __future__ import annotations

import json
from typing import Any

from .patching import ECS_TASKS, Patcher, caller_may, fix


@fix
def ecs_cluster_deleted_with_its_stack(patch: Patcher) -> None:
    """Defect. moto's CloudFormation model of a cluster has no delete, so deleting the stack left the
    cluster behind. The fix deletes it, as CloudFormation does."""
    from moto.ecs import models as ecs

    def delete(self: Any, account_id: str, region_name: str) -> None:
        ecs.ecs_backends[account_id][region_name].delete_cluster(self.arn)

    patch.set(ecs.Cluster, "delete", delete)


@fix
def task_definitions_keep_their_properties(patch: Patcher) -> None:
    """Defect. moto's CloudFormation handler registers a task definition with its family,
    containers, volumes and memory only: the task and execution roles, CPU, network mode,
    compatibilities and runtime platform were lost, so RunTask could check no PassRole and the
    live checks saw none of them. The fix registers every property the template gives (on update,
    a new revision, as CloudFormation makes one)."""
    from moto.core.utils import pascal_to_camelcase, remap_nested_keys
    from moto.ecs import models as ecs

    def register(properties: dict[str, Any], account_id: str, region_name: str) -> Any:
        backend = ecs.ecs_backends[account_id][region_name]
        return backend.register_task_definition(
            family=properties.get("Family") or f"task-definition-{abs(hash(json.dumps(properties, sort_keys=True, default=str))) % 10**6}",
            container_definitions=remap_nested_keys(properties.get("ContainerDefinitions", []), pascal_to_camelcase),
            volumes=remap_nested_keys(properties.get("Volumes", []), pascal_to_camelcase),
            network_mode=properties.get("NetworkMode"),
            requires_compatibilities=properties.get("RequiresCompatibilities"),
            cpu=properties.get("Cpu"),
            memory=properties.get("Memory"),
            task_role_arn=properties.get("TaskRoleArn"),
            execution_role_arn=properties.get("ExecutionRoleArn"),
            runtime_platform=remap_nested_keys(properties["RuntimePlatform"], pascal_to_camelcase) if "RuntimePlatform" in properties else None,
            tags=remap_nested_keys(properties.get("Tags", []), pascal_to_camelcase) or None,
        )

    def create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        return register(cloudformation_json["Properties"], account_id, region_name)

    def update(cls: Any, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> Any:
        ecs.ecs_backends[account_id][region_name].deregister_task_definition(original_resource.arn)
        return register(cloudformation_json["Properties"], account_id, region_name)

    patch.set(ecs.TaskDefinition, "create_from_cloudformation_json", classmethod(create))
    patch.set(ecs.TaskDefinition, "update_from_cloudformation_json", classmethod(update))


@fix
def ecs_tasks_carry_their_start_time(patch: Patcher) -> None:
    """Missing rule. DescribeTasks returns when each task was created and started (the ECS API's Task
    shape, createdAt and startedAt, in botocore's ECS model); moto's tasks carry neither, so nothing
    can tell how long a task has run (the deadline check stops one-shot tasks past their deadline).
    The fix stamps both when moto creates the task (moto's tasks start RUNNING at once)."""
    from moto.core.utils import utcnow
    from moto.ecs.models import Task

    original = Task.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.created_at = self.started_at = utcnow()

    patch.set(Task, "__init__", __init__)


@fix
def ecs_run_task_authorised_on_its_task_definition_with_pass_role(patch: Patcher) -> None:
    """Missing rule. AWS authorises ecs:RunTask on the task definition (with the ecs:cluster
    condition key), and requires iam:PassRole, with iam:PassedToService ecs-tasks.amazonaws.com, on
    the task and execution roles the task will get (ECS developer guide, "Amazon ECS task execution
    IAM role" and "Task IAM role"; service authorization reference, Amazon ECS). moto authorises
    RunTask against "*" and checks no PassRole. The fix does both, and authorises StopTask and
    DescribeTasks on the task they name, as the service authorization reference lists them."""
    from moto.core.exceptions import AccessDeniedError
    from moto.ecs.responses import EC2ContainerServiceResponse
    from moto.iam.access_control import IAMRequest

    def task_definition_arn(self: Any) -> str:
        if self._get_action() in {"StopTask", "DescribeTasks"}:
            return task_arn(self)
        if self._get_action() not in {"RunTask", "StartTask"}:
            return "*"
        try:
            return self.ecs_backend.describe_task_definition(self._get_param("taskDefinition")).arn
        except Exception:
            return "*"

    def task_arn(self: Any) -> str:
        """StopTask and DescribeTasks are authorised on the task (its long ARN names the cluster); one
        resource a request here, so DescribeTasks is judged on its first task (ours ask for one cluster's)."""
        task = self._get_param("task") or (self._get_param("tasks") or ["*"])[0]
        if task.startswith("arn:") or task == "*":
            return task
        cluster = (self._get_param("cluster") or "default").rsplit("/", 1)[-1]
        return f"arn:aws:ecs:{self.region}:{self.current_account}:task/{cluster}/{task}"

    original = EC2ContainerServiceResponse.run_task

    def run_task(self: Any) -> Any:
        try:
            definition = self.ecs_backend.describe_task_definition(self._get_param("taskDefinition"))
        except Exception:
            return original(self)
        overrides = self._get_param("overrides") or {}
        roles = {getattr(definition, "task_role_arn", None), getattr(definition, "execution_role_arn", None)}
        roles |= {overrides.get("taskRoleArn"), overrides.get("executionRoleArn")}
        for role in sorted(role for role in roles if role):
            if not caller_may(self, IAMRequest, "iam:PassRole", role, {"iam:PassedToService": [ECS_TASKS]}):
                raise AccessDeniedError(user_arn="the caller", action=f"iam:PassRole on {role}")
        return original(self)

    patch.set(EC2ContainerServiceResponse, "_determine_resource", task_definition_arn)
    patch.set(EC2ContainerServiceResponse, "run_task", run_task)


@fix
def ecs_agent_reports_container_exit_codes(patch: Patcher) -> None:
    """Stand-in. ECS learns a container's exit code from the agent that ran it, which reports it with
    SubmitContainerStateChange (ECS API reference, SubmitContainerStateChange, "This action is only
    used by the Amazon ECS agent": https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_SubmitContainerStateChange.html);
    DescribeTasks then shows it as the container's exitCode. moto has no such action and reports exit
    code 0 for every container, so a task that failed looked as if it had succeeded. The fix gives a
    container no exit code until one is reported, and records the exit code and status the local
    agent (riskbatch_platform/local/ecs_agent.py) reports."""
    from moto.ecs.models import Container
    from moto.ecs.responses import EC2ContainerServiceResponse

    original_init = Container.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.exitCode = None  # none until the container has exited and its agent said so

    def submit_container_state_change(self: Any) -> str:
        cluster = self.ecs_backend._get_cluster(self._get_param("cluster") or "default")
        task_id = str(self._get_param("task")).rsplit("/", 1)[-1]
        name = self._get_param("containerName")
        for arn, task in self.ecs_backend.tasks.get(cluster.name, {}).items():
            if arn.endswith(task_id):
                for container in task.containers:
                    if name in (None, container.name):
                        container.exitCode = self._get_param("exitCode")
                        container.last_status = self._get_param("status") or container.last_status
                return json.dumps({"acknowledgment": "ACK"})
        raise Exception(f"Could not find task {task_id} on cluster {cluster.name}")  # moto's own answer for an unknown task

    patch.set(Container, "__init__", init)
    patch.set(EC2ContainerServiceResponse, "submit_container_state_change", submit_container_state_change)


@fix
def ecs_tasks_run_until_stopped(patch: Patcher) -> None:
    """Defect. A task runs until its essential container exits or StopTask stops it (ECS developer
    guide, "Amazon ECS task lifecycle": https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html).
    moto moves a task one state towards STOPPED at every DescribeTasks that names it, so a caller
    waiting for the task to stop (the tasks-stopped waiter) saw it stopped after four describes,
    whatever its container was doing. The fix keeps the task's state until StopTask sets it."""
    from moto.ecs.models import Task

    patch.set(Task, "advance", lambda self: None)

"""The ECS fixes (src/riskbatch_platform/local/emulator/ecs.py): each defect or missing rule is there in moto as shipped, and gone with the fix.

RunTask authorised on its task definition and cluster with PassRole, StopTask and DescribeTasks on the cluster's
tasks, the tasks' start times, task definitions from a template kept whole, a cluster deleted with its stack, and the exit
code the agent reports.
Runs moto in-process (mock_aws); IAM is enforced only inside `enforced()`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

import boto3
import pytest

from riskbatch_platform.local import emulator
from test.platform.local.emulator.support import ACCOUNT, REGION, _code, _deploy, _fargate_task, _run, _trigger_policy, _user, enforced, patched


def test_moto_authorises_run_task_against_star(aws: None) -> None:
    """Unpatched, a policy that names the task definition cannot run it at all."""
    definition, subnets, groups = _fargate_task()
    session = _user("trigger", _trigger_policy(definition))
    with patched(emulator.ec2.network_interfaces_have_a_private_dns_name, emulator.iam.policy_conditions_evaluated), enforced():
        assert _run(session, "c1", definition, subnets, groups) == "denied"


def test_run_task_is_allowed_on_its_cluster_only_and_passes_only_its_roles_to_ecs_tasks(aws: None) -> None:
    definition, subnets, groups = _fargate_task()
    fixes = (
        emulator.ec2.network_interfaces_have_a_private_dns_name,
        emulator.iam.policy_conditions_evaluated,
        emulator.ecs.ecs_run_task_authorised_on_its_task_definition_with_pass_role,
    )
    trigger = _user("trigger", _trigger_policy(definition))
    no_pass = _user("no-pass", _trigger_policy(definition)[:1])
    to_lambda = _user("to-lambda", _trigger_policy(definition, pass_to="lambda.amazonaws.com"))
    with patched(*fixes), enforced():
        assert _run(trigger, "c1", definition, subnets, groups) == "OK"
        assert _run(trigger, "c2", definition, subnets, groups) == "denied"
        assert _run(no_pass, "c1", definition, subnets, groups) == "denied"
        assert _run(to_lambda, "c1", definition, subnets, groups) == "denied"


def _running_task(cluster: str) -> str:
    definition, subnets, groups = _fargate_task()
    network = {"awsvpcConfiguration": {"subnets": subnets, "securityGroups": groups}}
    ecs = boto3.client("ecs", region_name=REGION)
    return ecs.run_task(cluster=cluster, taskDefinition=definition, launchType="FARGATE", networkConfiguration=network)["tasks"][0]["taskArn"]


def test_moto_tasks_carry_no_start_time(aws: None) -> None:
    with patched(emulator.ec2.network_interfaces_have_a_private_dns_name):
        task = _running_task("c1")
        (described,) = boto3.client("ecs", region_name=REGION).describe_tasks(cluster="c1", tasks=[task])["tasks"]
    assert "startedAt" not in described and "createdAt" not in described


@pytest.mark.clock  # a task is stamped with the time RunTask started it
def test_tasks_carry_the_time_they_were_created_and_started(aws: None) -> None:
    with patched(emulator.ec2.network_interfaces_have_a_private_dns_name, emulator.ecs.ecs_tasks_carry_their_start_time):
        task = _running_task("c1")
        (described,) = boto3.client("ecs", region_name=REGION).describe_tasks(cluster="c1", tasks=[task])["tasks"]
    assert described["createdAt"] == described["startedAt"]
    assert abs((dt.datetime.now(dt.UTC) - described["startedAt"]).total_seconds()) < 60


def test_stop_and_describe_tasks_are_authorised_on_the_task_and_its_cluster(aws: None) -> None:
    """The deadline check's grant: ListTasks on "*" under ecs:cluster, DescribeTasks and StopTask on the cluster's tasks."""
    fixes = (
        emulator.ec2.network_interfaces_have_a_private_dns_name,
        emulator.iam.policy_conditions_evaluated,
        emulator.ecs.ecs_run_task_authorised_on_its_task_definition_with_pass_role,
    )
    with patched(*fixes):
        mine, other = _running_task("c1"), _running_task("c2")
    on_c1 = {"ArnEquals": {"ecs:cluster": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/c1"}}
    checker = _user("checker", [
        {"Effect": "Allow", "Action": "ecs:ListTasks", "Resource": "*", "Condition": on_c1},
        {"Effect": "Allow", "Action": ["ecs:DescribeTasks", "ecs:StopTask"], "Resource": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/c1/*", "Condition": on_c1},
    ])  # fmt: skip
    ecs = checker.client("ecs")
    with patched(*fixes), enforced():
        assert _code(lambda: ecs.list_tasks(cluster="c1")) == "OK"
        assert _code(lambda: ecs.list_tasks(cluster="c2")) == "denied"
        assert _code(lambda: ecs.describe_tasks(cluster="c1", tasks=[mine])) == "OK"
        assert _code(lambda: ecs.describe_tasks(cluster="c2", tasks=[other])) == "denied"
        assert _code(lambda: ecs.stop_task(cluster="c2", task=other, reason="r")) == "denied"
        assert _code(lambda: ecs.stop_task(cluster="c1", task=mine.rsplit("/", 1)[-1], reason="r")) == "OK"  # a short id is its cluster's task


TASK_DEFINITION = {
    "Resources": {
        "Task": {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                "Family": "task-x",
                "Cpu": "256",
                "Memory": "512",
                "NetworkMode": "awsvpc",
                "RequiresCompatibilities": ["FARGATE"],
                "TaskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/task",
                "ExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/exec",
                "RuntimePlatform": {"CpuArchitecture": "X86_64", "OperatingSystemFamily": "LINUX"},
                "ContainerDefinitions": [{"Name": "job", "Image": "image", "Memory": 512}],
            },
        }
    }
}


def _task_definition() -> dict[str, Any]:
    return boto3.client("ecs", region_name=REGION).describe_task_definition(taskDefinition="task-x")["taskDefinition"]


def test_moto_drops_task_definition_properties(aws: None) -> None:
    _deploy(TASK_DEFINITION)
    assert "taskRoleArn" not in _task_definition()


def test_task_definitions_keep_roles_cpu_network_and_platform(aws: None) -> None:
    with patched(emulator.ecs.task_definitions_keep_their_properties):
        _deploy(TASK_DEFINITION)
        found = _task_definition()
    assert found["taskRoleArn"].endswith("role/task") and found["executionRoleArn"].endswith("role/exec")
    assert (found["cpu"], found["networkMode"], found["requiresCompatibilities"]) == ("256", "awsvpc", ["FARGATE"])
    assert found["runtimePlatform"]["cpuArchitecture"] == "X86_64"


def _cluster_after_delete() -> list[str]:
    _deploy({"Resources": {"Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "cluster-x"}}}})
    boto3.client("cloudformation", region_name=REGION).delete_stack(StackName="s")
    ecs = boto3.client("ecs", region_name=REGION)
    return [c["status"] for c in ecs.describe_clusters(clusters=["cluster-x"])["clusters"] if c["status"] != "INACTIVE"]


def test_moto_keeps_the_cluster_of_a_deleted_stack(aws: None) -> None:
    assert _cluster_after_delete() == ["ACTIVE"]


def test_the_cluster_is_deleted_with_its_stack(aws: None) -> None:
    with patched(emulator.ecs.ecs_cluster_deleted_with_its_stack):
        assert _cluster_after_delete() == []


def _reported_exit_code() -> Any:
    definition, subnets, groups = _fargate_task()
    ecs = boto3.client("ecs", region_name=REGION)
    network = {"awsvpcConfiguration": {"subnets": subnets, "securityGroups": groups}}
    (task,) = ecs.run_task(cluster="c1", taskDefinition=definition, launchType="FARGATE", networkConfiguration=network)["tasks"]
    with contextlib.suppress(Exception):  # moto as shipped has no such action
        ecs.submit_container_state_change(cluster="c1", task=task["taskArn"], containerName="job", exitCode=3, status="STOPPED")
    ecs.stop_task(cluster="c1", task=task["taskArn"], reason="Essential container in task exited")
    (stopped,) = ecs.describe_tasks(cluster="c1", tasks=[task["taskArn"]])["tasks"]
    return stopped["containers"][0].get("exitCode")


def _status_after_describes(times: int) -> str:
    definition, subnets, groups = _fargate_task()
    ecs = boto3.client("ecs", region_name=REGION)
    network = {"awsvpcConfiguration": {"subnets": subnets, "securityGroups": groups}}
    (task,) = ecs.run_task(cluster="c1", taskDefinition=definition, launchType="FARGATE", networkConfiguration=network)["tasks"]
    for _ in range(times):
        (described,) = ecs.describe_tasks(cluster="c1", tasks=[task["taskArn"]])["tasks"]
    return described["lastStatus"]


def test_moto_stops_a_task_that_is_only_described(aws: None) -> None:
    with patched(emulator.ec2.network_interfaces_have_a_private_dns_name):
        assert _status_after_describes(8) == "STOPPED"


def test_a_task_runs_until_it_is_stopped(aws: None) -> None:
    with patched(emulator.ec2.network_interfaces_have_a_private_dns_name, emulator.ecs.ecs_tasks_run_until_stopped):
        assert _status_after_describes(8) == "RUNNING"


def test_moto_reports_exit_code_0_for_every_container(aws: None) -> None:
    with patched(emulator.ec2.network_interfaces_have_a_private_dns_name):
        assert _reported_exit_code() == 0  # whatever the container did


def test_a_container_stops_with_the_exit_code_its_agent_reports(aws: None) -> None:
    with patched(emulator.ec2.network_interfaces_have_a_private_dns_name, emulator.ecs.ecs_agent_reports_container_exit_codes):
        assert _reported_exit_code() == 3

"""Every task definition: Fargate, awsvpc, a valid size with no oversubscription, hardened container, logs to its own group."""

from __future__ import annotations

import pytest

from riskbatch.operations.fargate import is_valid_size as is_valid_fargate_size
from test.conftest import the_template
from test.template_model import Resource, Template, container_environment, referenced_id

TASK_DEFINITIONS = the_template().of_type("AWS::ECS::TaskDefinition")


def containers(task: Resource) -> list[dict]:
    return task.props["ContainerDefinitions"]


def test_fargate_size_table_rejects_invalid_pairs() -> None:
    assert is_valid_fargate_size(1024, 4096)
    assert not is_valid_fargate_size(1024, 1024)
    assert not is_valid_fargate_size(3072, 8192)


@pytest.mark.parametrize("task", TASK_DEFINITIONS, ids=repr)
def test_task_runs_on_fargate_only_with_awsvpc(task: Resource) -> None:
    assert task.props["RequiresCompatibilities"] == ["FARGATE"]
    assert task.props["NetworkMode"] == "awsvpc"


@pytest.mark.parametrize("task", TASK_DEFINITIONS, ids=repr)
def test_task_size_is_a_valid_fargate_pair(task: Resource) -> None:
    assert is_valid_fargate_size(int(task.props["Cpu"]), int(task.props["Memory"]))


@pytest.mark.parametrize("task", TASK_DEFINITIONS, ids=repr)
def test_containers_have_cpu_and_hard_memory_within_the_task(task: Resource) -> None:
    for container in containers(task):
        assert "Cpu" in container and "Memory" in container, "container-level CPU and hard memory limit"
    assert sum(container["Cpu"] for container in containers(task)) <= int(task.props["Cpu"])
    assert sum(container["Memory"] for container in containers(task)) <= int(task.props["Memory"])


@pytest.mark.parametrize("task", TASK_DEFINITIONS, ids=repr)
def test_task_has_one_essential_container(task: Resource) -> None:
    # The failure-rate metric filter reads containers[0].exitCode: it must be the essential one.
    assert len(containers(task)) == 1
    assert containers(task)[0]["Essential"] is True


@pytest.mark.parametrize("task", TASK_DEFINITIONS, ids=repr)
def test_container_is_hardened(task: Resource) -> None:
    for container in containers(task):
        assert container["ReadonlyRootFilesystem"] is True
        assert container.get("Privileged", False) is False
        user = str(container.get("User", "root")).split(":")[0]
        assert user not in {"root", "0", ""}, "containers run as a non-root user"
        assert container["StopTimeout"] == 120


@pytest.mark.parametrize("task", TASK_DEFINITIONS, ids=repr)
def test_read_only_container_has_a_writable_scratch_volume(task: Resource) -> None:
    volumes = {volume["Name"] for volume in task.props.get("Volumes", [])}
    for container in containers(task):
        writable = [mount for mount in container.get("MountPoints", []) if mount["SourceVolume"] in volumes and not mount.get("ReadOnly", False)]
        assert writable
        tmpdir = container_environment(container).get("TMPDIR")
        assert tmpdir in {mount["ContainerPath"] for mount in writable}


@pytest.mark.parametrize("task", TASK_DEFINITIONS, ids=repr)
def test_container_logs_to_its_own_log_group(template: Template, task: Resource) -> None:
    groups = []
    for container in containers(task):
        logging = container["LogConfiguration"]
        assert logging["LogDriver"] == "awslogs"
        assert logging["Options"]["awslogs-region"] == {"Ref": "AWS::Region"}
        group = referenced_id(logging["Options"]["awslogs-group"])
        assert template.get(group).type == "AWS::Logs::LogGroup"
        groups.append(group)
    others = [
        referenced_id(container["LogConfiguration"]["Options"]["awslogs-group"])
        for other in TASK_DEFINITIONS
        if other.logical_id != task.logical_id
        for container in containers(other)
    ]
    assert not set(groups) & set(others)


@pytest.mark.parametrize("task", TASK_DEFINITIONS, ids=repr)
def test_task_has_its_own_task_and_execution_roles(task: Resource) -> None:
    task_role = referenced_id(task.props["TaskRoleArn"])
    execution_role = referenced_id(task.props["ExecutionRoleArn"])
    assert task_role and execution_role and task_role != execution_role
    for other in TASK_DEFINITIONS:
        if other.logical_id != task.logical_id:
            assert {task_role, execution_role}.isdisjoint({referenced_id(other.props["TaskRoleArn"]), referenced_id(other.props["ExecutionRoleArn"])})


@pytest.mark.parametrize("task", TASK_DEFINITIONS, ids=repr)
def test_image_comes_from_the_repository_at_the_deployed_tag(template: Template, task: Resource) -> None:
    for container in containers(task):
        image = container["Image"]["Fn::Sub"]
        assert image.endswith(":${ImageTag}")
        assert ".RepositoryUri}" in image
        repository = template.referenced_resource(container["Image"])
        assert template.get(repository).type == "AWS::ECR::Repository"


@pytest.mark.parametrize("task", TASK_DEFINITIONS, ids=repr)
def test_task_runs_x86_64_linux_so_fargate_spot_can_take_it(task: Resource) -> None:
    assert task.props["RuntimePlatform"] == {"CpuArchitecture": "X86_64", "OperatingSystemFamily": "LINUX"}


@pytest.mark.parametrize("task", TASK_DEFINITIONS, ids=repr)
def test_container_health_check_runs_the_health_command(task: Resource) -> None:
    for container in containers(task):
        check = container["HealthCheck"]
        assert check["Command"][0] in {"CMD", "CMD-SHELL"} and "health" in check["Command"]
        assert check["StartPeriod"] <= 120, "grace period covers the health check's start period"


@pytest.mark.parametrize("task", TASK_DEFINITIONS, ids=repr)
def test_container_drops_every_linux_capability_and_adds_none(task: Resource) -> None:
    # Drop ALL leaves the container only what Add names; Fargate would accept SYS_PTRACE there, and no
    # job needs it (KernelCapabilities, https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_KernelCapabilities.html).
    for container in containers(task):
        capabilities = container.get("LinuxParameters", {}).get("Capabilities", {})
        assert capabilities.get("Drop") == ["ALL"], f"{task.logical_id}: drop every Linux capability"
        assert not capabilities.get("Add"), f"{task.logical_id}: adds {capabilities.get('Add')}"


@pytest.mark.parametrize("task", TASK_DEFINITIONS, ids=repr)
def test_every_task_carries_the_class_the_stack_declares(task: Resource) -> None:
    # The scenario floor follows the stack's declared EnvironmentClass, never its suffix: each task reads it from its
    # container environment ("Pass an individual environment variable to an Amazon ECS container",
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/taskdef-envfiles.html).
    for container in containers(task):
        assert container_environment(container).get("RISKBATCH_ENVIRONMENT_CLASS") == {"Ref": "EnvironmentClass"}, f"{task.logical_id}: the stack's class"

"""A task definition as the local runner reads it (DescribeTaskDefinition's first container), and the
environment a run's container overrides give it."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TaskSpec:
    family: str
    container: str
    command: list[str]
    environment: dict[str, str]
    task_role: str  # role name
    mount_paths: list[str] = field(default_factory=list)  # the container's writable volume paths
    task_definition_arn: str = ""
    image: str = ""  # <registry>/<repository>:<tag>, as the task definition names it
    cpu_units: int = 1024  # the task's CPU
    memory_mib: int = 2048  # the container's hard limit (the task's memory when the container sets none)
    user: str | None = None
    read_only: bool = False
    stop_timeout: int = 30  # ECS's default for Fargate when the container sets none
    health_check: dict[str, Any] | None = None
    capabilities_dropped: tuple[str, ...] = ()
    capabilities_added: tuple[str, ...] = ()
    entry_point: list[str] = field(default_factory=list)  # the container definition's entryPoint (none: the image's ENTRYPOINT, riskbatch)


def task_spec_of(described: dict[str, Any]) -> TaskSpec:
    """What the runner needs of a task definition, as DescribeTaskDefinition returns it (its first container)."""
    container = described["containerDefinitions"][0]
    environment = {item["name"]: item["value"] for item in container.get("environment", [])}
    mounts = [mount["containerPath"] for mount in container.get("mountPoints", []) if not mount.get("readOnly", False)]
    return TaskSpec(
        described["family"],
        container["name"],
        list(container.get("command", [])),
        environment,
        described["taskRoleArn"].rsplit("/", 1)[-1],
        mounts,
        task_definition_arn=described["taskDefinitionArn"],
        image=container["image"],
        cpu_units=int(described.get("cpu") or container.get("cpu") or 1024),
        memory_mib=int(container.get("memory") or described.get("memory") or 2048),
        user=container.get("user"),
        read_only=bool(container.get("readonlyRootFilesystem", False)),
        capabilities_dropped=tuple(container.get("linuxParameters", {}).get("capabilities", {}).get("drop", [])),
        capabilities_added=tuple(container.get("linuxParameters", {}).get("capabilities", {}).get("add", [])),
        stop_timeout=int(container.get("stopTimeout", 30)),
        health_check=container.get("healthCheck"),
        entry_point=list(container.get("entryPoint") or []),
    )


def process_entry_point(entry_point: list[str]) -> list[str]:
    """What a process runs for the container's entry point: the image's ENTRYPOINT (riskbatch) unless the task
    definition names another; python is this interpreter (the image's python, as far as a process can be)."""
    if not entry_point or entry_point == ["riskbatch"]:
        return [sys.executable, "-m", "riskbatch"]
    if entry_point[0] in ("python", "python3"):
        return [sys.executable, *entry_point[1:]]
    raise ValueError(f"a process cannot stand in for the entry point {entry_point!r}: run the task as a container")


# What a task inherits from the host: the machine's own settings (the search path, the locale,
# the BLAS kernel this processor needs), never the job's configuration.
HOST_SETTINGS = ("PATH", "LANG", "LC_ALL", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def overridden_environment(spec: TaskSpec, overrides: dict[str, Any] | None) -> dict[str, str]:
    """The environment a run's containerOverrides give the task's container (RunTask, ContainerOverride:
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerOverride.html)."""
    for override in (overrides or {}).get("containerOverrides", []):
        if override.get("name") == spec.container:
            return {item["name"]: item["value"] for item in override.get("environment", [])}
    return {}

"""The local runner starts every task as Fargate would, read from the deployed task definition.

Fargate's behaviour, each from the ECS documents cited beside the test:
- bind-mount volumes: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/bind-mounts.html
- container definition (user, readonlyRootFilesystem, memory, stopTimeout):
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html
- health checks: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html
- task state change events: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_task_events.html
- stop codes and the OOM reason: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from moto.core.utils import pascal_to_camelcase, remap_nested_keys

from riskbatch_platform.analysis.metric_filter import matches
from riskbatch_platform.analysis.resolve import resolve
from riskbatch_platform.local.containers import HealthCheck, Mount, create_arguments, scratch_mount, stop_details, task_state_change
from riskbatch_platform.local.eventbridge import pattern_matches
from riskbatch_platform.local.runner import LocalEcs
from riskbatch_platform.local.task_spec import TaskSpec, task_spec_of
from test.conftest import the_template
from test.template_model import REQUIRED_VALUES, Template

TASK_DEFINITIONS = the_template().of_type("AWS::ECS::TaskDefinition")


def _described(template: Template, logical_id: str) -> dict[str, Any]:
    """The task definition as DescribeTaskDefinition returns it after the stack is deployed."""
    properties = resolve(template.doc, REQUIRED_VALUES)["Resources"][logical_id]["Properties"]
    return {
        "family": properties["Family"],
        "taskDefinitionArn": f"arn:aws:ecs:us-east-1:123456789012:task-definition/{properties['Family']}:1",
        "cpu": str(properties["Cpu"]),
        "memory": str(properties["Memory"]),
        "taskRoleArn": properties["TaskRoleArn"],
        "containerDefinitions": remap_nested_keys(properties["ContainerDefinitions"], pascal_to_camelcase),
    }


def _arguments(spec: TaskSpec, mounts: list[Mount] | None = None, environment: dict[str, str] | None = None) -> list[str]:
    return create_arguments(
        name="t", image="sha256:abc", command=spec.command, environment=environment or {}, user=spec.user, read_only=spec.read_only,
        memory_mib=spec.memory_mib, cpu_units=spec.cpu_units, stop_timeout=spec.stop_timeout, mounts=mounts or [], cgroup_parent="/riskbatch-tasks/t",
    )  # fmt: skip


def _value(arguments: list[str], flag: str) -> str | None:
    return arguments[arguments.index(flag) + 1] if flag in arguments else None


@pytest.mark.parametrize("definition", TASK_DEFINITIONS, ids=lambda resource: resource.logical_id)
def test_every_task_runs_with_its_definitions_user_limits_stop_timeout_and_command(template: Template, definition: Any) -> None:
    spec = task_spec_of(_described(template, definition.logical_id))
    (container,) = definition.props["ContainerDefinitions"]
    arguments = _arguments(spec)
    assert _value(arguments, "--user") == container["User"]
    assert ("--read-only" in arguments) == container["ReadonlyRootFilesystem"] is True
    # podman adds tmpfs on /tmp, /var/tmp and /run to a read-only container; Fargate adds none
    assert "--read-only-tmpfs=false" in arguments
    memory = container.get("Memory", definition.props["Memory"])
    assert _value(arguments, "--memory") == f"{memory}m" and _value(arguments, "--memory-swap") == f"{memory}m"  # a hard limit, no swap
    assert float(_value(arguments, "--cpus") or 0) == int(definition.props["Cpu"]) / 1024
    assert _value(arguments, "--stop-timeout") == str(container["StopTimeout"])
    assert arguments[-len(container["Command"]) :] == container["Command"] and arguments[-len(container["Command"]) - 1] == "sha256:abc"
    assert "--entrypoint" not in arguments  # the image's ENTRYPOINT, as the task definition sets none


@pytest.mark.parametrize("definition", TASK_DEFINITIONS, ids=lambda resource: resource.logical_id)
def test_every_task_runs_its_definitions_health_check(template: Template, definition: Any) -> None:
    spec = task_spec_of(_described(template, definition.logical_id))
    (container,) = definition.props["ContainerDefinitions"]
    check = HealthCheck.from_definition(spec.health_check or {})
    expected = container["HealthCheck"]
    assert ["CMD", *check.command] == expected["Command"] and not check.shell
    assert (check.interval, check.timeout, check.retries, check.start_period) == (
        expected["Interval"], expected["Timeout"], expected["Retries"], expected["StartPeriod"],
    )  # fmt: skip


def test_a_definitions_entry_point_replaces_the_images_and_none_keeps_it() -> None:
    """ContainerDefinition "entryPoint" (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html)."""
    common = {"name": "t", "image": "sha256:abc", "command": ["x"], "environment": {}, "user": None, "read_only": False}
    limits = {"memory_mib": 512, "cpu_units": 256, "stop_timeout": 30, "mounts": [], "cgroup_parent": None}
    replaced = create_arguments(**common, **limits, entry_point=["python", "-c", "pass"])
    assert _value(replaced, "--entrypoint") == '["python", "-c", "pass"]' and replaced.index("--entrypoint") < replaced.index("sha256:abc")
    assert replaced[-2:] == ["sha256:abc", "x"]  # the command follows the image, as arguments of the entry point
    assert "--entrypoint" not in create_arguments(**common, **limits)


def test_a_shell_health_check_runs_through_the_shell() -> None:
    check = HealthCheck.from_definition({"command": ["CMD-SHELL", "test -f /x || exit 1"]})
    assert check.exec_command() == ["/bin/sh", "-c", "test -f /x || exit 1"]
    assert (check.interval, check.timeout, check.retries, check.start_period) == (30, 5, 3, 0)  # ECS's defaults


def test_a_task_sees_only_what_ecs_passes_and_nothing_of_the_host(template: Template, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKBATCH_HOST_SECRET", "leak")
    spec = task_spec_of(_described(template, TASK_DEFINITIONS[0].logical_id))
    ecs = LocalEcs.__new__(LocalEcs)
    ecs.environment_overrides = {"RISK_SCENARIOS": "5"}
    ecs.credentials_for = lambda role: {"AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "S", "AWS_SESSION_TOKEN": "T"}  # type: ignore[method-assign]
    ecs.target = type("T", (), {"endpoint_url": "http://127.0.0.1:1", "region": "us-east-1"})()  # type: ignore[assignment]
    environment = ecs._task_environment(spec)
    assert set(environment) == set(spec.environment) | {
        "RISK_SCENARIOS", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION",
    }  # fmt: skip
    arguments = _arguments(spec, environment=environment)
    passed = {arguments[i + 1].split("=", 1)[0] for i, flag in enumerate(arguments) if flag == "--env"}
    assert passed == set(environment) and "RISKBATCH_HOST_SECRET" not in passed and "PATH" not in passed


def test_a_volume_the_image_declares_is_filled_from_the_image(tmp_path: Path) -> None:
    mount = scratch_mount("/scratch", ["/scratch"], "task-1", tmp_path)
    assert (mount.kind, mount.target) == ("volume", "/scratch")  # podman copies the image's directory into a new volume
    assert not (tmp_path / "task-1").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="the empty volume is owned by root: only root can make one")
def test_a_volume_the_image_does_not_declare_is_empty_and_root_owned_0755(tmp_path: Path) -> None:
    mount = scratch_mount("/scratch", [], "task-1", tmp_path)
    folder = Path(mount.source)
    assert (mount.kind, mount.target) == ("bind", "/scratch")
    assert list(folder.iterdir()) == []
    info = folder.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (0, 0, 0o755)


def test_the_mount_argument_names_the_kind_source_and_target() -> None:
    assert Mount("bind", "/host/x", "/scratch").argument() == "type=bind,source=/host/x,destination=/scratch"


@pytest.mark.parametrize(
    ("exit_code", "oom", "by", "expected"),
    [
        (0, False, None, ("EssentialContainerExited", "Essential container in task exited", None)),
        (137, True, None, ("EssentialContainerExited", "Essential container in task exited", "OutOfMemoryError: Container killed due to memory usage")),
        (137, False, "health", ("ServiceSchedulerInitiated", "Task failed container health checks", None)),
        (0, False, "user", ("UserInitiated", "Task stopped by user", None)),
    ],
)
def test_each_end_of_a_task_has_ecs_stop_code_and_reason(exit_code: int, oom: bool, by: str | None, expected: tuple) -> None:
    assert stop_details(exit_code, oom, by) == expected


def _event(exit_code: int | None, stop_code: str = "EssentialContainerExited", reason: str | None = None) -> dict[str, Any]:
    detail = task_state_change(
        task_arn="arn:aws:ecs:us-east-1:123456789012:task/c/1", cluster_arn="arn:aws:ecs:us-east-1:123456789012:cluster/cluster-riskbatch-sfx",
        task_definition_arn="arn:td", container="risk-calculation", group="service:svc", exit_code=exit_code, stop_code=stop_code,
        stopped_reason="r", container_reason=reason, image="repo:1.0.0", image_digest="sha256:" + "0" * 64, started=0.0, stopped=1.0,
    )  # fmt: skip
    return {"version": "0", "source": "aws.ecs", "detail-type": "ECS Task State Change", "detail": detail}


def _filters(template: Template) -> dict[str, str]:
    return {f.props["MetricTransformations"][0]["MetricName"]: f.props["FilterPattern"] for f in template.of_type("AWS::Logs::MetricFilter")}


@pytest.mark.parametrize(
    ("event", "failed"),
    [
        (_event(0), False),
        (_event(1), True),
        (_event(137, reason="OutOfMemoryError: Container killed due to memory usage"), True),
        (_event(137, "ServiceSchedulerInitiated"), True),
        (_event(None, "TaskFailedToStart"), True),
    ],
    ids=["exit-0", "exit-1", "out-of-memory", "unhealthy-killed", "failed-to-start"],
)
def test_the_runners_stop_events_reach_the_task_rule_and_are_counted_by_the_failure_filters(template: Template, event: dict, failed: bool) -> None:
    (rule,) = [r for r in template.of_type("AWS::Events::Rule") if r.props["EventPattern"].get("detail-type") == ["ECS Task State Change"]]
    pattern = resolve(template.doc, REQUIRED_VALUES, stack_name="riskbatch-sfx")["Resources"][rule.logical_id]["Properties"]["EventPattern"]
    pattern["detail"]["clusterArn"] = [event["detail"]["clusterArn"]]  # GetAtt of the cluster: the emulator's ARN
    assert pattern_matches(pattern, event)
    filters = _filters(template)
    message = json.dumps(event)
    assert matches(filters["TasksStopped"], message)
    assert matches(filters["TasksFailed"], message) is failed


@pytest.mark.parametrize(
    ("exit_code", "stopped_by", "peak", "expected"),
    [
        (137, None, 512 * 2**20, True),  # killed, nobody stopped it, memory at the hard limit: the kernel's OOM kill
        (137, None, 100 * 2**20, False),  # killed below its limit: a SIGKILL from elsewhere
        (137, "health", 512 * 2**20, False),  # the runner's own stop, after the stop timeout
        (1, None, 512 * 2**20, False),
        (137, None, None, False),
    ],
)
def test_an_out_of_memory_kill_is_a_sigkill_nobody_sent_at_the_hard_limit(exit_code: int, stopped_by: str | None, peak: int | None, expected: bool) -> None:
    from riskbatch_platform.local.containers import killed_at_its_limit

    assert killed_at_its_limit(exit_code, stopped_by, peak, 512) is expected

"""A local task sees what its container would see, and nothing of the host's configuration."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from riskbatch_platform.aws import Target
from riskbatch_platform.images.dockerfile import dockerfile_of, parse_dockerfile
from riskbatch_platform.local.runner import LocalEcs
from riskbatch_platform.local.task_spec import HOST_SETTINGS, TaskSpec, process_entry_point, task_spec_of

SPEC = TaskSpec(
    family="task-risk-calculation-dev",
    container="risk-calculation",
    command=["worker", "risk"],
    environment={"RISK_WORK_QUEUE_URL": "https://queue", "TMPDIR": "/scratch"},
    task_role="role-risk-calculation-task-dev-us-east-1",
    mount_paths=["/scratch"],
)


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalEcs:
    ecs = LocalEcs(Target(endpoint_url="http://127.0.0.1:1"), Target(endpoint_url="http://127.0.0.1:1"), "stack", tmp_path)
    keys = {"AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token"}
    monkeypatch.setattr(ecs, "credentials_for", lambda role: keys)
    return ecs


def test_the_host_environment_does_not_reach_the_task(runner: LocalEcs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTPUT_BUCKET", "from-the-host")
    monkeypatch.setenv("RISK_SCENARIOS", "123")
    environment = runner._process_environment(SPEC, tmp_path / "scratch")
    assert "OUTPUT_BUCKET" not in environment and "RISK_SCENARIOS" not in environment
    image = parse_dockerfile(dockerfile_of("risk-calculation")).environment
    allowed = (
        set(image)
        | set(SPEC.environment)
        | set(HOST_SETTINGS)
        | {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION"}
    )
    assert set(environment) <= allowed


def test_the_volume_path_is_the_tasks_own_scratch_folder(runner: LocalEcs, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    environment = runner._process_environment(SPEC, scratch)
    assert environment["TMPDIR"] == str(scratch)
    assert environment["NUMBA_CACHE_DIR"] == str(scratch / "numba")  # from the image's ENV
    assert environment["RISK_WORK_QUEUE_URL"] == "https://queue"


def test_run_overrides_reach_the_task_as_on_ecs(runner: LocalEcs, tmp_path: Path) -> None:
    runner.environment_overrides["RISK_SCENARIOS"] = "2000"
    assert runner._process_environment(SPEC, tmp_path)["RISK_SCENARIOS"] == "2000"


def test_a_runs_container_overrides_reach_that_task_alone(runner: LocalEcs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []
    monkeypatch.setattr(runner, "_start", lambda spec, *_: seen.append(runner._process_environment(spec, tmp_path)))
    overrides = {"containerOverrides": [{"name": SPEC.container, "environment": [{"name": "WATCH_BUSINESS_DATE", "value": "2026-12-07"}]}]}
    runner.start(SPEC, overrides)
    runner.start(SPEC, None)
    assert seen[0]["WATCH_BUSINESS_DATE"] == "2026-12-07" and "WATCH_BUSINESS_DATE" not in seen[1]


def test_a_task_definitions_entry_point_replaces_the_images(runner: LocalEcs) -> None:
    """ECS runs a container definition's entryPoint instead of the image's ENTRYPOINT (riskbatch); a RunTask
    override cannot change it, a task definition can (ContainerDefinition "entryPoint":
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html)."""
    container = {
        "name": SPEC.container,
        "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/ecr-risk-calculation-dev:1.0.0",
        "entryPoint": ["python", "-c", "import sys; sys.exit(7)"],
        "command": [],
    }
    described = {
        "family": SPEC.family,
        "taskDefinitionArn": f"arn:aws:ecs:us-east-1:123456789012:task-definition/{SPEC.family}:2",
        "taskRoleArn": f"arn:aws:iam::123456789012:role/{SPEC.task_role}",
        "containerDefinitions": [container],
    }
    spec = task_spec_of(described)
    assert spec.entry_point == ["python", "-c", "import sys; sys.exit(7)"]
    assert runner.start(spec).wait(timeout=60) == 7  # the entry point ran, not riskbatch
    assert process_entry_point([]) == process_entry_point(["riskbatch"]) == [sys.executable, "-m", "riskbatch"]
    with pytest.raises(ValueError, match="run the task as a container"):
        process_entry_point(["/bin/sh", "-c", "sleep 1"])


SEES_A_KERNEL = ["python", "-c", "import os, sys; sys.exit(0 if os.path.isfile(os.path.join(os.environ['NUMBA_CACHE_DIR'], 'kernel.nbi')) else 3)"]


@pytest.mark.parametrize(("job", "carries"), [("risk-calculation", True), ("report-generation", True), ("data-ingestion", False)])
def test_a_process_task_starts_with_the_kernels_its_image_carries(runner: LocalEcs, tmp_path: Path, job: str, carries: bool) -> None:
    """The risk and report images compile the kernels when built, into /scratch/numba, a VOLUME that Fargate fills
    with the image's directory at start ("To expose a path and its contents from a Dockerfile":
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/bind-mounts.html); a process task of those jobs starts
    with the runner's compiled kernels in its NUMBA_CACHE_DIR, the ingestion's (its image compiles none) without."""
    runner.kernels = tmp_path / "kernels"
    runner.kernels.mkdir()
    (runner.kernels / "kernel.nbi").write_bytes(b"index")
    described = {
        "family": f"task-{job}-dev",
        "taskDefinitionArn": f"arn:aws:ecs:us-east-1:123456789012:task-definition/task-{job}-dev:1",
        "taskRoleArn": f"arn:aws:iam::123456789012:role/role-{job}-task-dev-us-east-1",
        "containerDefinitions": [
            {
                "name": job,
                "image": f"123456789012.dkr.ecr.us-east-1.amazonaws.com/ecr-{job}-dev:1.0.0",
                "entryPoint": SEES_A_KERNEL,
                "command": [],
                "mountPoints": [{"sourceVolume": "scratch", "containerPath": "/scratch", "readOnly": False}],
            }
        ],
    }
    assert runner.start(task_spec_of(described), name=job).wait(timeout=60) == (0 if carries else 3)

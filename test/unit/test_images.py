"""Every path a non-root container writes is a volume its image declares, prepared for its user.

Fargate's rule (ECS developer guide, "Use bind mounts with Amazon ECS",
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/bind-mounts.html; containers-roadmap
issue 938): a task-definition volume with no host path is an empty directory owned by root,
mode 0755, unless the image declares VOLUME for the mount path, in which case the image's
directory (ownership and contents) is copied in. A container running as 10001 with a read-only
root filesystem therefore writes nothing unless its image declares the VOLUME and owns the path.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from riskbatch_platform.images.dockerfile import dockerfile_of, parse_dockerfile
from test.conftest import the_template
from test.template_model import Resource, Template, container_environment


def _dockerfile_of(template: Template, task: Resource) -> Path:
    (container,) = task.props["ContainerDefinitions"]
    repository = template.get(template.referenced_resource(container["Image"]))
    name = repository.props["RepositoryName"]["Fn::Sub"]
    return dockerfile_of(re.fullmatch(r"ecr-(.+)-\$\{EnvironmentSuffix\}", name).group(1))


def _writable_mounts(task: Resource) -> list[tuple[str, str]]:
    (container,) = task.props["ContainerDefinitions"]
    return [(container["User"], mount["ContainerPath"]) for mount in container.get("MountPoints", []) if not mount.get("ReadOnly", False)]


TASKS = the_template().of_type("AWS::ECS::TaskDefinition")


@pytest.mark.parametrize("task", TASKS, ids=repr)
def test_every_writable_mount_of_a_non_root_container_is_a_volume_of_its_image(template: Template, task: Resource) -> None:
    image = parse_dockerfile(_dockerfile_of(template, task))
    mounts = _writable_mounts(task)
    assert mounts, "a read-only container needs a writable scratch path"
    for user, path in mounts:
        assert user.split(":")[0] not in {"0", "root"}
        assert path in image.volumes, f"{path} is not declared VOLUME: on Fargate it would be root-owned 0755, unwritable by {user}"
        assert image.owned_before_volume.get(path) == user, f"{path} must be chowned to {user} before its VOLUME instruction"


@pytest.mark.parametrize("task", TASKS, ids=repr)
def test_the_image_runs_as_the_task_definitions_user(template: Template, task: Resource) -> None:
    (container,) = task.props["ContainerDefinitions"]
    assert parse_dockerfile(_dockerfile_of(template, task)).user == container["User"]


@pytest.mark.parametrize("task", TASKS, ids=repr)
def test_every_path_the_jobs_write_lies_in_a_writable_volume(template: Template, task: Resource) -> None:
    """TMPDIR (the heartbeat, temporary files), numba's and matplotlib's caches."""
    (container,) = task.props["ContainerDefinitions"]
    image = parse_dockerfile(_dockerfile_of(template, task))
    environment = {**image.environment, **{name: value for name, value in container_environment(container).items() if isinstance(value, str)}}
    writable = [path for _, path in _writable_mounts(task)]
    for variable in ("TMPDIR", "NUMBA_CACHE_DIR", "MPLCONFIGDIR"):
        assert variable in environment
        assert any(environment[variable] == path or environment[variable].startswith(path.rstrip("/") + "/") for path in writable), variable


def test_the_parser_sees_a_missing_volume(tmp_path: Path) -> None:
    """The check can fail: the first version's Dockerfile (no VOLUME) is caught."""
    dockerfile = tmp_path / "x.Dockerfile"
    dockerfile.write_text("FROM base\nRUN mkdir -p /scratch \\\n    && chown 10001:10001 /scratch\nUSER 10001:10001\n", encoding="utf-8")
    assert parse_dockerfile(dockerfile).volumes == []
    dockerfile.write_text('FROM base\nVOLUME ["/scratch"]\nRUN chown 10001:10001 /scratch\n', encoding="utf-8")
    assert parse_dockerfile(dockerfile).owned_before_volume == {}


def test_every_dockerfile_passes_hadolint_with_no_finding() -> None:
    """hadolint's rules (pinned versions, no cache, one process per container...) on every Dockerfile:
    an ignore must sit inline with its reason, and there are none today."""
    from riskbatch_platform.images.build import hadolint
    from riskbatch_platform.images.dockerfile import DOCKER_DIR

    dockerfiles = sorted(DOCKER_DIR.glob("*.Dockerfile"))
    assert len(dockerfiles) == 3
    result = hadolint(dockerfiles)
    assert (result.returncode, result.stdout.strip()) == (0, "")


def test_hadolint_finds_what_it_is_run_for(tmp_path: Path) -> None:
    from riskbatch_platform.images.build import hadolint

    bad = tmp_path / "bad.Dockerfile"
    bad.write_text("FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\n", encoding="utf-8")
    result = hadolint([bad])
    assert result.returncode != 0 and "DL3008" in result.stdout  # an unpinned apt package

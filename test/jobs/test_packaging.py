"""The pins agree: the images install exactly what the project pins for its runtime."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[_normal(name)] = version
    return pins


def _normal(name: str) -> str:
    return name.split("[")[0].lower().replace("_", "-")


def test_runtime_pins_are_the_projects_pins() -> None:
    everything = _pins(REPO_ROOT / "requirements.lock")
    runtime = _pins(REPO_ROOT / "requirements-runtime.lock")
    assert {name: everything.get(name) for name in runtime} == runtime


def test_every_declared_dependency_is_pinned_in_both_files() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = _pins(REPO_ROOT / "requirements-runtime.lock")
    everything = _pins(REPO_ROOT / "requirements.lock")
    for requirement in project["dependencies"]:
        name, version = requirement.split("==")
        assert runtime[_normal(name)] == version and everything[_normal(name)] == version
    for requirement in project["optional-dependencies"]["dev"]:
        name, version = requirement.split("==")
        assert everything[_normal(name)] == version


def test_each_job_has_an_image_that_runs_as_non_root_with_its_command() -> None:
    for job, command in (
        ("data-ingestion", '["ingest"]'),
        ("risk-calculation", '["worker", "risk"]'),
        ("report-generation", '["worker", "report"]'),
    ):
        text = (REPO_ROOT / "docker" / f"{job}.Dockerfile").read_text(encoding="utf-8")
        assert "USER 10001:10001" in text and 'ENTRYPOINT ["riskbatch"]' in text and f"CMD {command}" in text
        assert f"requirements-runtime-{job}.lock" in text and "--require-hashes" in text  # its own lock (test/platform/images/test_image_contents.py)
        # the pinned public base by default; make images passes the local one built from Debian's packages
        assert "ARG BASE_IMAGE=docker.io/library/python:3.11" in text and "FROM ${BASE_IMAGE}" in text

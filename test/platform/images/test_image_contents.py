"""Each job's image holds what its commands import and nothing more, installed by hash, from a base
pinned by digest, labelled, and (where it revalues options) with its kernels compiled in.

The import graph decides (src/riskbatch_platform/images/import_graph.py): the commands of every task
definition that runs the image, resolved by the riskbatch parser to the functions they run, and the
closure of those functions over the package's source. The container night runs each job in its
image, so an import the graph missed fails there (ModuleNotFoundError).
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from riskbatch_platform.images.build import JOBS, image_labels, undigested_bases
from riskbatch_platform.images.dockerfile import DOCKER_DIR, parse_dockerfile
from riskbatch_platform.images.image_locks import INSTALLER_LOCK, RUNTIME_LOCK, job_lock_path, job_pins, read_pins
from riskbatch_platform.images.import_graph import closure, job_closure, job_commands, parse_package, with_dependencies
from test.conftest import the_template

REPO_ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = json.loads((REPO_ROOT / "lib" / "TapStack.json").read_text(encoding="utf-8"))
COMMANDS = job_commands(TEMPLATE)


def test_every_job_image_of_the_template_has_commands_and_a_lock() -> None:
    repositories = [resource for resource in the_template().of_type("AWS::ECR::Repository")]
    assert len(COMMANDS) == len(repositories) and set(COMMANDS) == set(JOBS)
    for job in COMMANDS:
        assert job_lock_path(job).exists(), f"{job_lock_path(job).name} is missing: make lock-images"


@pytest.mark.parametrize("job", sorted(COMMANDS))
def test_each_images_lock_holds_exactly_what_its_commands_import_with_their_requirements(job: str) -> None:
    locked = {name: pin[0] for name, pin in read_pins(job_lock_path(job)).items()}
    wanted = job_pins(job, TEMPLATE)
    found = job_closure(COMMANDS[job])
    lacking = {name: " <- ".join(reversed(found.path_to(name.replace("-", "_")))) for name in wanted.keys() - locked.keys()}
    assert not lacking, f"{job} imports what its image lacks (make lock-images): {lacking}"
    assert locked == wanted, f"{job_lock_path(job).name} holds more than its commands import: {sorted(locked.keys() - wanted.keys())}"


@pytest.mark.parametrize("job", sorted(COMMANDS))
def test_every_pin_of_an_image_lock_is_the_runtime_locks_and_carries_its_wheels_sha256(job: str) -> None:
    runtime = read_pins(RUNTIME_LOCK)
    for name, (version, hashes) in read_pins(job_lock_path(job)).items():
        assert runtime[name][0] == version, name
        assert hashes and all(re.fullmatch(r"[0-9a-f]{64}", digest) for digest in hashes), name
    ((version, hashes),) = read_pins(INSTALLER_LOCK).values()
    assert version and hashes


def test_the_ingestion_image_carries_neither_the_compiler_nor_scipy_nor_the_report_libraries() -> None:
    """The point of one image per job: ingestion needs pyarrow, numpy and boto3, and nothing of
    numba, scipy, matplotlib or reportlab."""
    locked = read_pins(job_lock_path("data-ingestion"))
    assert {"pyarrow", "numpy", "boto3", "holidays"} <= locked.keys()
    assert not {"numba", "llvmlite", "scipy", "matplotlib", "reportlab"} & locked.keys()
    assert not {"matplotlib", "reportlab"} & read_pins(job_lock_path("risk-calculation")).keys()


def test_an_import_the_image_lacks_fails_the_check() -> None:
    """A module-level `import scipy.stats` in the ingestion's own module puts scipy in its closure,
    and the lock (without scipy) no longer matches."""
    modules = parse_package()
    modules["riskbatch.jobs.ingestion"].top.imports.add("scipy.stats")
    from riskbatch.cli import all_handlers, entry_functions

    entries = {function.__name__ for command in COMMANDS["data-ingestion"] for function in entry_functions(list(command))}
    found = closure(entries, {function.__name__ for function in all_handlers()} - entries, modules, entry_module="riskbatch.commands")
    assert "scipy" in found.external and found.path_to("scipy")[-2:] == ["riskbatch.jobs.ingestion", "scipy"]
    assert "scipy" in with_dependencies({"scipy"}) and "scipy" not in read_pins(job_lock_path("data-ingestion"))


def test_a_lazy_import_counts_only_when_its_function_is_reached(tmp_path: Path) -> None:
    package = tmp_path / "riskbatch"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "cli.py").write_text(
        textwrap.dedent("""
            from .tools import used
            def cmd_a(args):
                return used()
            def cmd_b(args):
                import reportlab
        """)
    )
    (package / "tools.py").write_text(
        textwrap.dedent("""
            import numpy
            def used():
                import pyarrow
                return helper()
            def helper():
                return 1
            def unused():
                import scipy
            class Book:
                def __init__(self):
                    import boto3
        """)
    )
    found = closure(["cmd_a"], ["cmd_b"], parse_package(package))
    assert found.external == {"numpy", "pyarrow", "boto3"}  # not scipy (unused is never named), not reportlab (the other command)
    assert "riskbatch.tools:helper" in found.functions and "riskbatch.tools:unused" not in found.functions


def test_each_command_runs_in_the_image_of_its_task_definition() -> None:
    assert ("ingest",) in COMMANDS["data-ingestion"] and ("preflight", "--nightly") in COMMANDS["data-ingestion"]
    assert ("worker", "risk") in COMMANDS["risk-calculation"] and ("worker", "report") in COMMANDS["report-generation"]
    assert all(("health",) in commands and commands[-1][0] == "probe" for commands in COMMANDS.values())
    risk, report = job_closure(COMMANDS["risk-calculation"]), job_closure(COMMANDS["report-generation"])
    assert "riskbatch.jobs.report_generation" not in risk.modules and "riskbatch.jobs.risk_calculation" not in report.modules
    # The health check imports nothing heavy. The one third-party module its closure reaches is botocore,
    # which the error boundary imports only to classify a failure (the closure counts a function's imports
    # whatever its branches do); test_heartbeat.py runs the health check and finds no heavy import at all.
    assert job_closure([("health",)]).external <= {"botocore"}


@pytest.mark.parametrize("job", JOBS)
def test_each_dockerfile_installs_its_own_lock_by_hash_with_pip_outside_the_image(job: str) -> None:
    text = (DOCKER_DIR / f"{job}.Dockerfile").read_text(encoding="utf-8")
    assert f"COPY {job_lock_path(job).name} /tmp/" in text and f"-r /tmp/{job_lock_path(job).name}" in text
    assert "--require-hashes" in text and "--no-index" in text
    assert "venv --without-pip" in text and "/installer/pip.whl/pip install" in text


def test_every_dockerfile_base_is_pinned_by_digest() -> None:
    """A tag can be moved to other content; a digest cannot. The pinned digest is the one of the
    python:3.11.14-slim-bookworm multi-architecture index (as public Dockerfiles pin it): a pull
    of anything else fails, so a wrong digest fails the build rather than changing the base."""
    for dockerfile in sorted(DOCKER_DIR.glob("*.Dockerfile")):
        assert undigested_bases(dockerfile) == [], dockerfile.name
        assert "python:3.11.14-slim-bookworm@sha256:" in dockerfile.read_text(encoding="utf-8")


def test_the_digest_check_refuses_a_tag(tmp_path: Path) -> None:
    dockerfile = tmp_path / "x.Dockerfile"
    dockerfile.write_text("ARG BASE_IMAGE=docker.io/library/python:3.11.14-slim-bookworm\nFROM ${BASE_IMAGE}\nFROM debian:bookworm AS other\n")
    assert undigested_bases(dockerfile) == ["docker.io/library/python:3.11.14-slim-bookworm", "debian:bookworm"]


@pytest.mark.parametrize("job", JOBS)
def test_each_image_is_labelled_with_its_source_revision_version_and_time(job: str) -> None:
    text = (DOCKER_DIR / f"{job}.Dockerfile").read_text(encoding="utf-8")
    for label, argument in (("source", "SOURCE"), ("revision", "REVISION"), ("version", "VERSION"), ("created", "CREATED")):
        assert f'org.opencontainers.image.{label}="${{{argument}}}"' in text and f"ARG {argument}=" in text
    # the labels come last: a new revision changes no layer
    assert text.index("LABEL org.opencontainers") > text.index("CMD [")
    # and the process sees the revision, which the night's manifest records (test/jobs/jobs/test_night_code.py): an ENV
    # may take an ARG's value, and the ENV persists in the image (Dockerfile reference, "ARG" and "Using ARG variables",
    # https://docs.docker.com/reference/dockerfile/#using-arg-variables); ECS keeps an image's ENV unless the task
    # definition's environment overrides it ("Amazon ECS task definition parameters", environment,
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html)
    assert 'ENV RISKBATCH_SOURCE_REVISION="${REVISION}"' in text and text.index("ENV RISKBATCH_SOURCE_REVISION") > text.index("CMD [")


def test_the_label_arguments_name_the_commit_and_its_time() -> None:
    import subprocess

    labels = image_labels("1.0.0")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip()
    assert labels["VERSION"] == "1.0.0" and labels["REVISION"].removesuffix("-dirty") == head
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", labels["CREATED"])


@pytest.mark.parametrize("job", JOBS)
def test_an_image_that_carries_the_compiler_ships_its_kernels_compiled_for_every_cpu_a_task_may_pick(job: str) -> None:
    """Where the lock holds numba, the build compiles the kernels into the scratch volume's
    directory before VOLUME (Fargate copies the image's directory into the task's volume: "Use bind
    mounts with Amazon ECS", https://docs.aws.amazon.com/AmazonECS/latest/developerguide/bind-mounts.html), for each CPU a task
    may pick at run time (src/riskbatch/model/precompile.py cites numba's cache key, src/riskbatch/model/kernel_cpu.py the choice)."""
    text = (DOCKER_DIR / f"{job}.Dockerfile").read_text(encoding="utf-8")
    image = parse_dockerfile(DOCKER_DIR / f"{job}.Dockerfile")
    compiles = 'RUN ["python", "-m", "riskbatch.model.precompile", "--every-target"]' in text
    assert compiles == ("numba" in read_pins(job_lock_path(job)))
    assert image.environment["RISKBATCH_KERNEL_CPU"] == "auto" and "NUMBA_CPU_NAME" not in image.environment
    if compiles:
        assert image.environment["NUMBA_CACHE_DIR"].startswith("/scratch/") and "/scratch" in image.volumes
        assert text.index("riskbatch.model.precompile") < text.index('VOLUME ["/scratch"]')
        assert text.index("USER 10001:10001") < text.index("riskbatch.model.precompile")  # the cache is the task user's, writable in its volume


def test_an_import_of_the_command_line_itself_reaches_every_image() -> None:
    """Every container runs riskbatch.cli's main and parser before its handler: what they import, each image must hold."""
    modules = parse_package()
    modules["riskbatch.cli"].top.imports.add("reportlab")
    from riskbatch.cli import all_handlers, entry_functions

    def named(function) -> str:
        return f"{function.__module__}:{function.__name__}"

    for job in ("data-ingestion", "risk-calculation"):
        entries = {named(function) for command in COMMANDS[job] for function in entry_functions(list(command))}
        found = closure({"main", "build_parser", *entries}, {named(function) for function in all_handlers()} - entries, modules)
        assert "reportlab" in found.external and "riskbatch.cli" in found.modules, job

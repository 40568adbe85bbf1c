"""Build the three job images: a Debian base (cached), the wheels on the host, then docker/*.Dockerfile.

No public container registry is reachable from these machines, so the base is made from Debian's
own packages (mmdebstrap) and imported; the Dockerfiles take it as BASE_IMAGE, and build FROM the
pinned public python image wherever a registry is reachable. The wheels are downloaded by the
host's pip (its index, its certificates) into build/wheels, so the image build needs no network.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from riskbatch_platform import REPO_ROOT
from riskbatch_platform.images.dockerfile import DOCKER_DIR
from riskbatch_platform.local.podman import image_exists, inspect_image, podman

BUILD_DIR = REPO_ROOT / "build"
JOBS = ("data-ingestion", "risk-calculation", "report-generation")
BASE_IMAGE = "localhost/riskbatch-base:bookworm-python3.11"
# Debian 12 (bookworm) carries Python 3.11, the version of the public base and of the wheels.
BASE_RECIPE = ("mmdebstrap", "--variant=minbase", "--include=python3,python3-venv,ca-certificates", "bookworm")
RECIPE_LABEL = "riskbatch.base.recipe"
# The wheels of requirements-runtime.lock for the images' Python: CPython 3.11 on x86_64 (the
# task definitions' RuntimePlatform), manylinux up to glibc 2.28 (bookworm has 2.36).
PLATFORM_TAGS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "any")
WHEEL_PLATFORM = ("--python-version=3.11", "--implementation=cp", "--abi=cp311", "--only-binary=:all:", *(f"--platform={tag}" for tag in PLATFORM_TAGS))

Say = Callable[[str], None]


@dataclass(frozen=True)
class BuiltImage:
    job: str
    reference: str  # localhost/ecr-<job>:<tag>
    image_id: str
    size_bytes: int
    seconds: float


def default_image_tag() -> str:
    """The tag every job runs unless the deployer says otherwise: the template's ImageTag default."""
    template = json.loads((REPO_ROOT / "lib" / "TapStack.json").read_text(encoding="utf-8"))
    return str(template["Parameters"]["ImageTag"]["Default"])


def job_of_repository(repository: str) -> str:
    """ecr-<job>-<suffix> (or a URI ending in it, with or without a tag) -> <job>."""
    name = repository.rsplit("/", 1)[-1].split(":")[0]
    return next(job for job in JOBS if name.startswith(f"ecr-{job}-"))


def local_reference(job: str, tag: str) -> str:
    """The local tag of a job's image: named like its ECR repository, without the environment suffix."""
    return f"localhost/ecr-{job}:{tag}"


def recipe_digest() -> str:
    return hashlib.sha256(" ".join(BASE_RECIPE).encode()).hexdigest()[:16]


def base_image(say: Say, rebuild: bool = False) -> tuple[str, float, bool]:
    """The base image, built once per recipe: (reference, seconds, built now)."""
    if not rebuild and image_exists(BASE_IMAGE) and (inspect_image(BASE_IMAGE).get("Labels") or {}).get(RECIPE_LABEL) == recipe_digest():
        return BASE_IMAGE, 0.0, False
    say(f"building the base image {BASE_IMAGE} from Debian's packages (about a minute)")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="riskbatch-base-") as folder:
        rootfs = Path(folder) / "rootfs.tar"
        subprocess.run([*BASE_RECIPE, str(rootfs)], check=True, capture_output=True, text=True)
        podman("import", "--change", f"LABEL {RECIPE_LABEL}={recipe_digest()}", "--change", 'CMD ["/usr/bin/python3"]', str(rootfs), BASE_IMAGE)
    return BASE_IMAGE, time.monotonic() - started, True


def wheelhouse(say: Say) -> None:
    """build/wheels: the runtime pins; build/project: the riskbatch wheel itself."""
    wheels, project = BUILD_DIR / "wheels", BUILD_DIR / "project"
    wheels.mkdir(parents=True, exist_ok=True)
    say("downloading the runtime wheels (requirements-runtime.lock) into build/wheels")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    lock = str(REPO_ROOT / "requirements-runtime.lock")
    subprocess.run([*pip, "download", "--no-deps", *WHEEL_PLATFORM, "-r", lock, "-d", str(wheels)], check=True, capture_output=True, text=True)
    for old in project.glob("*.whl"):
        old.unlink()
    # A fixed timestamp inside the wheel: the same source gives the same bytes, so the image layer
    # that copies it stays cached and an unchanged tree rebuilds to the same image digest.
    environment = {**os.environ, "SOURCE_DATE_EPOCH": "315532800"}
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(project), str(jobs_tree())], check=True, capture_output=True, text=True, env=environment)


def jobs_tree() -> Path:
    """build/jobs-tree: the project with the jobs' package alone, so the images' wheel holds no tooling.

    The same pyproject.toml, less the tooling's commands (their modules are not in this tree).
    """
    tree = BUILD_DIR / "jobs-tree"
    shutil.rmtree(tree, ignore_errors=True)
    shutil.copytree(REPO_ROOT / "src" / "riskbatch", tree / "src" / "riskbatch", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    lines = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8").splitlines(keepends=True)
    (tree / "pyproject.toml").write_text("".join(line for line in lines if '"riskbatch_platform.' not in line), encoding="utf-8")
    shutil.copy(REPO_ROOT / "LICENSE", tree / "LICENSE")
    return tree


def build_job_image(job: str, tag: str, base: str) -> BuiltImage:
    reference = local_reference(job, tag)
    started = time.monotonic()
    podman(
        "build", "--quiet", "--pull=never", "--network", "none", "--build-arg", f"BASE_IMAGE={base}",
        "-f", str(DOCKER_DIR / f"{job}.Dockerfile"), "-t", reference, str(REPO_ROOT),
    )  # fmt: skip
    seconds = time.monotonic() - started
    image = inspect_image(reference)
    return BuiltImage(job, reference, image["Id"], int(image["Size"]), seconds)


def hadolint(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    """hadolint on the Dockerfiles: zero findings, or an inline ignore with its reason."""
    binary = Path(sys.executable).with_name("hadolint")
    return subprocess.run([str(binary), "--no-color", *map(str, paths)], capture_output=True, text=True, check=False)


def build_all(tag: str, say: Say, jobs: tuple[str, ...] = JOBS) -> list[BuiltImage]:
    linted = hadolint([DOCKER_DIR / f"{job}.Dockerfile" for job in jobs])
    if linted.returncode != 0:
        raise RuntimeError("hadolint found problems in the Dockerfiles:\n" + linted.stdout + linted.stderr)
    say(f"hadolint: {len(jobs)} Dockerfiles, no findings")
    base, seconds, built = base_image(say)
    say(f"base image {base}: " + (f"built in {seconds:.0f} s" if built else "cached"))
    wheelhouse(say)
    images = []
    for job in jobs:
        say(f"building {local_reference(job, tag)}")
        images.append(build_job_image(job, tag, base))
    return images

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
import re
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
# Slim as Debian's own slim images are: no manual pages, translations or documentation (the
# copyright files stay), and /usr merged by mmdebstrap's hook rather than by the usrmerge package,
# which would bring the whole of perl with it.
BASE_RECIPE = (
    "mmdebstrap", "--variant=minbase", "--include=python3,python3-venv,ca-certificates",
    "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr",
    "--dpkgopt=path-exclude=/usr/share/man/*", "--dpkgopt=path-exclude=/usr/share/locale/*",
    "--dpkgopt=path-include=/usr/share/locale/locale.alias", "--dpkgopt=path-exclude=/usr/share/doc/*",
    "--dpkgopt=path-include=/usr/share/doc/*/copyright", "--dpkgopt=path-exclude=/usr/share/info/*",
    "bookworm",
)  # fmt: skip
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


def wheelhouse(say: Say, jobs: tuple[str, ...] = JOBS) -> None:
    """build/wheels: each job's pins, checked against their hashes; build/installer/pip.whl: the
    installer the builds run; build/project: the riskbatch wheel itself."""
    from riskbatch_platform.images.image_locks import INSTALLER_LOCK, job_lock_path

    wheels, installer, project = BUILD_DIR / "wheels", BUILD_DIR / "installer", BUILD_DIR / "project"
    for folder in (wheels, installer):
        folder.mkdir(parents=True, exist_ok=True)
    locks = [job_lock_path(job) for job in jobs]
    say(f"downloading the runtime wheels ({', '.join(lock.name for lock in locks)}) into build/wheels, hashes checked")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    for lock in (*locks, INSTALLER_LOCK):
        subprocess.run(
            [*pip, "download", "--no-deps", "--require-hashes", *WHEEL_PLATFORM, "-r", str(lock), "-d", str(wheels)], check=True, capture_output=True, text=True
        )
    (version,) = [pin[0] for name, pin in _read_pins(INSTALLER_LOCK).items() if name == "pip"]
    shutil.copyfile(wheels / f"pip-{version}-py3-none-any.whl", installer / "pip.whl")
    for old in project.glob("*.whl"):
        old.unlink()
    # A fixed timestamp inside the wheel: the same source gives the same bytes, so the image layer
    # that copies it stays cached and an unchanged tree rebuilds to the same image digest.
    environment = {**os.environ, "SOURCE_DATE_EPOCH": "315532800"}
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(project), str(jobs_tree())], check=True, capture_output=True, text=True, env=environment)


# A command of the tooling in pyproject.toml's [project.scripts]: `riskbatch-x = "riskbatch_platform.…:main"`.
TOOLING_COMMAND = re.compile(r'^riskbatch-[\w-]+ = "riskbatch_platform\.')


def jobs_tree() -> Path:
    """build/jobs-tree: the project with the jobs' package alone, so the images' wheel holds no tooling.

    The same pyproject.toml, less the tooling's commands (their modules are not in this tree).
    """
    tree = BUILD_DIR / "jobs-tree"
    shutil.rmtree(tree, ignore_errors=True)
    shutil.copytree(REPO_ROOT / "src" / "riskbatch", tree / "src" / "riskbatch", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    lines = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8").splitlines(keepends=True)
    (tree / "pyproject.toml").write_text("".join(line for line in lines if not TOOLING_COMMAND.match(line)), encoding="utf-8")
    shutil.copy(REPO_ROOT / "LICENSE", tree / "LICENSE")
    return tree


def _read_pins(path: Path) -> dict[str, tuple[str, list[str]]]:
    from riskbatch_platform.images.image_locks import read_pins

    return read_pins(path)


def _git(*args: str) -> str:
    result = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def image_labels(tag: str) -> dict[str, str]:
    """The OCI labels' build arguments: the version (the image tag), the commit, its time (so that
    an unchanged tree rebuilds to the same image), and the source repository (RISKBATCH_IMAGE_SOURCE,
    as the images workflow sets it, else the origin remote)."""
    revision = _git("rev-parse", "HEAD") or "unknown"
    if revision != "unknown" and _git("status", "--porcelain", "--untracked-files=no"):
        revision += "-dirty"
    created = _git("log", "-1", "--format=%cI") or "unknown"
    source = os.environ.get("RISKBATCH_IMAGE_SOURCE") or _git("remote", "get-url", "origin") or "unknown"
    return {"VERSION": tag, "REVISION": revision, "CREATED": created, "SOURCE": source}


def undigested_bases(dockerfile: Path) -> list[str]:
    """The base references of a Dockerfile that are not pinned by digest: each FROM, and the default
    of each ARG a FROM names (a tag can be moved to other content; a digest cannot)."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text(encoding="utf-8"))
    defaults = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, flags=re.MULTILINE))
    refused = []
    for reference in re.findall(r"^FROM\s+(\S+)", text, flags=re.MULTILINE):
        variable = re.fullmatch(r"\$\{?(\w+)\}?", reference)
        resolved = defaults.get(variable.group(1), "") if variable else reference
        if not re.search(r"@sha256:[0-9a-f]{64}$", resolved):
            refused.append(resolved or reference)
    return refused


def build_job_image(job: str, tag: str, base: str | None, labels: dict[str, str] | None = None) -> BuiltImage:
    """One job's image, FROM the given base, or (None) FROM the Dockerfile's own: the public image
    pinned by digest, pulled when missing (the RUN steps have no network either way)."""
    reference = local_reference(job, tag)
    started = time.monotonic()
    arguments = [f"--build-arg={key}={value}" for key, value in (labels or {}).items()]
    # and as labels of the build itself: buildah's layer cache keeps a LABEL step whose arguments changed
    arguments += [f"--label=org.opencontainers.image.{key.lower()}={value}" for key, value in (labels or {}).items()]
    arguments += ["--pull=never", "--build-arg", f"BASE_IMAGE={base}"] if base else ["--pull=missing", "--platform=linux/amd64"]
    podman(
        "build", "--quiet", "--network", "none", *arguments,
        "-f", str(DOCKER_DIR / f"{job}.Dockerfile"), "-t", reference, str(REPO_ROOT),
    )  # fmt: skip
    seconds = time.monotonic() - started
    image = inspect_image(reference)
    return BuiltImage(job, reference, image["Id"], int(image["Size"]), seconds)


def hadolint(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    """hadolint on the Dockerfiles: zero findings, or an inline ignore with its reason."""
    binary = Path(sys.executable).with_name("hadolint")
    return subprocess.run([str(binary), "--no-color", *map(str, paths)], capture_output=True, text=True, check=False)


def build_all(tag: str, say: Say, jobs: tuple[str, ...] = JOBS, public_base: bool = False) -> list[BuiltImage]:
    """hadolint, the base (the local one from Debian's packages, or with public_base the Dockerfiles'
    own, refused unless pinned by digest), the wheels, the images, their SBOMs."""
    dockerfiles = [DOCKER_DIR / f"{job}.Dockerfile" for job in jobs]
    linted = hadolint(dockerfiles)
    if linted.returncode != 0:
        raise RuntimeError("hadolint found problems in the Dockerfiles:\n" + linted.stdout + linted.stderr)
    say(f"hadolint: {len(jobs)} Dockerfiles, no findings")
    base: str | None = None
    if public_base:
        undigested = {path.name: undigested_bases(path) for path in dockerfiles if undigested_bases(path)}
        if undigested:
            raise RuntimeError(f"a base image not pinned by digest is refused: {undigested}")
        say("base image: the Dockerfiles' own, pinned by digest")
    else:
        base, seconds, built = base_image(say)
        say(f"base image {base}: " + (f"built in {seconds:.0f} s" if built else "cached"))
    wheelhouse(say, jobs)
    labels = image_labels(tag)
    images = []
    for job in jobs:
        say(f"building {local_reference(job, tag)}")
        images.append(build_job_image(job, tag, base, labels))
    from riskbatch_platform.images.sbom import write_sbom

    for image in images:
        say(f"SBOM of {image.reference}: {write_sbom(image.job, image.reference).relative_to(REPO_ROOT)}")
    return images

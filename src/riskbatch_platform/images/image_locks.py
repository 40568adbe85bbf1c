"""Each job image's lock: the pins of requirements-runtime.lock that the job's import closure needs
(import_graph.py), each with the SHA-256 of the wheel the image installs (pip --require-hashes).

The hashes are those of the wheels pip downloads from the index for the images' platform (CPython
3.11, manylinux x86_64); pip checks them again at every download and every install, so a wheel
that changed on the index, or in build/wheels, stops the build.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from packaging.utils import parse_wheel_filename

from riskbatch_platform.images.import_graph import REPO_ROOT, job_commands, job_distributions, normal_name

RUNTIME_LOCK = REPO_ROOT / "requirements-runtime.lock"
# The installer the image builds run (from its wheel, so that pip itself never lands in an image).
INSTALLER_LOCK = REPO_ROOT / "requirements-installer.lock"


def job_lock_path(job: str) -> Path:
    return REPO_ROOT / f"requirements-runtime-{job}.lock"


def read_pins(path: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, [sha256 hashes]) of a lock file, with or without hashes."""
    pins: dict[str, tuple[str, list[str]]] = {}
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement, *options = line.split()
        name, _, version = requirement.partition("==")
        hashes = [option.removeprefix("--hash=sha256:") for option in options if option.startswith("--hash=sha256:")]
        pins[normal_name(name)] = (version, hashes)
    return pins


def job_pins(job: str, template: dict | None = None) -> dict[str, str]:
    """The runtime lock's pins of the distributions the job's commands import (with their requirements)."""
    template = template or json.loads((REPO_ROOT / "lib" / "TapStack.json").read_text(encoding="utf-8"))
    needed = job_distributions(job_commands(template)[job])
    runtime = read_pins(RUNTIME_LOCK)
    unpinned = sorted(needed - runtime.keys())
    if unpinned:
        raise LookupError(f"{job} imports {', '.join(unpinned)}, which requirements-runtime.lock does not pin")
    return {name: runtime[name][0] for name in sorted(needed)}


def wheel_hashes(wheels: Path, pins: dict[str, str]) -> dict[str, list[str]]:
    """The SHA-256 of every wheel in the folder for each pin (name and version)."""
    found: dict[str, list[str]] = {name: [] for name in pins}
    for path in sorted(wheels.glob("*.whl")):
        name, version, _, _ = parse_wheel_filename(path.name)
        if pins.get(normal_name(name)) == str(version):
            found[normal_name(name)].append(hashlib.sha256(path.read_bytes()).hexdigest())
    missing = sorted(name for name, hashes in found.items() if not hashes)
    if missing:
        raise LookupError(f"no wheel in {wheels} for {', '.join(f'{name}=={pins[name]}' for name in missing)}")
    return found


def render_lock(header: str, pins: dict[str, str], hashes: dict[str, list[str]]) -> str:
    lines = [f"# {line}" for line in header.splitlines()]
    for name, version in pins.items():
        lines.append(f"{name}=={version} \\")
        lines.extend(f"    --hash=sha256:{digest}" + (" \\" if index < len(hashes[name]) - 1 else "") for index, digest in enumerate(hashes[name]))
    return "\n".join(lines) + "\n"


def job_lock_header(job: str) -> str:
    return (
        f"The {job} image's runtime: the pins of requirements-runtime.lock its commands import, and their requirements.\n"
        "Written by riskbatch-lock-images from the import graph (src/riskbatch_platform/images/import_graph.py); do not edit."
    )

"""podman, called the one way that works on these machines, and the look-ups the runner needs.

podman's default OCI runtime, crun, refuses the hybrid cgroup v1/v2 layout these machines have
("cgroups in hybrid mode not supported"); runc with podman's own cgroupfs manager works, and is
as good anywhere else. The ulimits are Fargate's open-file default and a bound on processes, set
explicitly because the host's own limits are above what the runtime may grant a container.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from typing import Any

from riskbatch.operations.aws_access import EXIT_PODMAN_FAILED
from riskbatch.operations.stack_lookup import OperatorError

PODMAN = ("podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs")
ULIMITS = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096")
CONTAINER_TOOLS = ("podman", "runc", "mmdebstrap")  # what make images and the container night need
DEBIAN_PACKAGES = ("podman", "runc", "mmdebstrap", "uidmap", "fuse-overlayfs")


class PodmanError(OperatorError):
    """podman failed: the call and podman's own words, then what to do. An OperatorError, so every command's error
    boundary says it in one line with its documented code (EXIT_PODMAN_FAILED), never as an internal error."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_PODMAN_FAILED)


def missing_tools() -> list[str]:
    return [tool for tool in CONTAINER_TOOLS if shutil.which(tool) is None]


# Another podman sharing the storage (two checkouts building, a removal) can remove or re-tag an image while a
# listing or an inspection reads it: the read fails though nothing is wrong with ours. The messages are the
# storage's own errors for an image removed (or partly removed) meanwhile, the ones podman's own listing skips
# (libimage.ErrorIsImageUnknown), and podman 4's wrapping of a label read that hit one. Only calls that read
# images are read again; a build, a run or a removal is never repeated.
STORAGE_RACES = ("retrieving label for image", "image not known", "layer not known", "size is not known", "identifier is not an image")
IMAGE_READS = (("images",), ("image", "ls"), ("image", "list"), ("image", "inspect"), ("image", "exists"))
READ_ATTEMPTS = 3


NAMED_READS = (("image", "inspect"), ("image", "exists"))  # a read of images the caller names


def missing_named_image(args: tuple[str, ...], said: str) -> str | None:
    """The image a named read asked for that the storage does not hold (podman: "<reference>: image not known"), or None."""
    if not any(args[: len(call)] == call for call in NAMED_READS):
        return None
    return next((reference for reference in args[2:] if not reference.startswith("-") and f"{reference}: image not known" in said), None)


def raced_a_removal(args: tuple[str, ...], result: subprocess.CompletedProcess[str]) -> str | None:
    """The race message an image read failed with; None for a success, any other failure, any other call, or an image
    the caller named that is not there (reading again cannot find it)."""
    said = result.stderr or ""
    if result.returncode == 0 or not any(args[: len(call)] == call for call in IMAGE_READS) or missing_named_image(args, said):
        return None
    return next((message for message in STORAGE_RACES if message in said), None)


def podman(
    *args: str, check: bool = True, timeout: float | None = None, capture: bool = True, input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run podman; on failure raise with its own words (the last lines it printed). An image read that lost
    a race with another podman's removal is read again, and says so on stderr."""
    for attempt in range(1, READ_ATTEMPTS + 1):
        result = subprocess.run([*PODMAN, *args], capture_output=capture, text=True, timeout=timeout, check=False, input=input_text)
        raced = raced_a_removal(args, result)
        if raced is None or attempt == READ_ATTEMPTS:
            break
        print(
            f"podman {' '.join(args[:2])}: another podman changed the images meanwhile ({raced}); reading again in {attempt}s"
            f" (attempt {attempt + 1} of {READ_ATTEMPTS})",
            file=sys.stderr,
        )
        time.sleep(attempt)
    if check and result.returncode != 0:
        raise failure(args, result)
    return result


# What to do, by the call that failed; podman's own words (printed before it) say why.
LOGIN_ADVICE = "check that this machine reaches the registry named (DNS, a proxy, the VPC's endpoints), then run the command again"
# the stack's repositories have immutable tags: ECR refuses a push of a tag already there (ImageTagAlreadyExistsException)
REGISTRY_PUSH_ADVICE = (
    "a tag the repository holds is refused (immutable tags: build and push a new --tag); else fix what podman said, then run the command again"
)
STORAGE_ADVICE = "podman could not read its image storage: run podman images to see it fail, fix what it says, then run the command again"
OTHER_ADVICE = "fix what podman said (run the call by hand to see all it prints), then run the command again"


MISSING_IMAGE_ADVICE = "no image of that name is built here: build it (make images, or riskbatch-images), then run the command again"


def advice(args: tuple[str, ...], said: str = "") -> str:
    """What to do after this call failed (a push to a folder is not a registry's: it gets the general advice)."""
    if missing_named_image(args, said):
        return MISSING_IMAGE_ADVICE
    if any(args[: len(call)] == call for call in IMAGE_READS):
        return STORAGE_ADVICE
    if args[:1] == ("login",):
        return LOGIN_ADVICE
    if args[:1] == ("push",) and args[-1].startswith("docker://"):
        return REGISTRY_PUSH_ADVICE
    return OTHER_ADVICE


def failure(args: tuple[str, ...], result: subprocess.CompletedProcess[str]) -> PodmanError:
    said = ((result.stderr or "") + (result.stdout or "")).strip().splitlines()[-5:]
    return PodmanError(f"podman {' '.join(args[:3])} ... exited {result.returncode}: " + " | ".join(said) + f": {advice(args, result.stderr or '')}")


def image_exists(reference: str) -> bool:
    """podman image exists answers 0 (found) or 1 (not found); 125 is a storage it could not read, raised
    rather than taken for an absent image."""
    args = ("image", "exists", reference)
    result = podman(*args, check=False)
    if result.returncode not in (0, 1):
        raise failure(args, result)
    return result.returncode == 0


def inspect_image(reference: str) -> dict[str, Any]:
    return json.loads(podman("image", "inspect", reference).stdout)[0]


def inspect_container(name: str) -> dict[str, Any]:
    return json.loads(podman("container", "inspect", name).stdout)[0]


def image_volumes(reference: str) -> list[str]:
    """The paths the image declares with VOLUME, from the built image's own configuration."""
    config = inspect_image(reference).get("Config") or {}
    return sorted((config.get("Volumes") or {}).keys())

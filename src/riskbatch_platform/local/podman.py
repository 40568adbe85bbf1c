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
import time
from typing import Any

PODMAN = ("podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs")
ULIMITS = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096")
CONTAINER_TOOLS = ("podman", "runc", "mmdebstrap")  # what make images and the container night need
DEBIAN_PACKAGES = ("podman", "runc", "mmdebstrap", "uidmap", "fuse-overlayfs")


class PodmanError(RuntimeError):
    pass


def missing_tools() -> list[str]:
    return [tool for tool in CONTAINER_TOOLS if shutil.which(tool) is None]


# A listing of every image reads each one's labels; an image another podman removes or re-tags meanwhile
# (two checkouts building in one storage) fails the whole listing with this, though nothing is wrong with ours.
LISTING_RACE = "retrieving label for image"
LISTING_ATTEMPTS = 3


def podman(
    *args: str, check: bool = True, timeout: float | None = None, capture: bool = True, input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run podman; on failure raise with its own words (the last lines it printed). A listing of the
    images that lost a race with another podman's removal is listed again (it only reads)."""
    for attempt in range(1, LISTING_ATTEMPTS + 1):
        result = subprocess.run([*PODMAN, *args], capture_output=capture, text=True, timeout=timeout, check=False, input=input_text)
        raced = args[:1] == ("images",) and result.returncode != 0 and LISTING_RACE in (result.stderr or "")
        if not raced or attempt == LISTING_ATTEMPTS:
            break
        time.sleep(attempt)
    if check and result.returncode != 0:
        said = ((result.stderr or "") + (result.stdout or "")).strip().splitlines()[-5:]
        raise PodmanError(f"podman {' '.join(args[:3])} ... exited {result.returncode}: " + " | ".join(said))
    return result


def image_exists(reference: str) -> bool:
    return podman("image", "exists", reference, check=False).returncode == 0


def inspect_image(reference: str) -> dict[str, Any]:
    return json.loads(podman("image", "inspect", reference).stdout)[0]


def inspect_container(name: str) -> dict[str, Any]:
    return json.loads(podman("container", "inspect", name).stdout)[0]


def image_volumes(reference: str) -> list[str]:
    """The paths the image declares with VOLUME, from the built image's own configuration."""
    config = inspect_image(reference).get("Config") or {}
    return sorted((config.get("Volumes") or {}).keys())

"""What a job's Dockerfile states: its volumes, its environment, its user, and which paths it
prepares (chown) before declaring them volumes. Read by the unit suite (Fargate's volume rule)
and by the local runner (a task gets its image's environment, as a container does)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from riskbatch_platform import REPO_ROOT

DOCKER_DIR = REPO_ROOT / "docker"


@dataclass
class Image:
    volumes: list[str] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    owned_before_volume: dict[str, str] = field(default_factory=dict)  # path -> owner given by chown before its VOLUME


def dockerfile_of(job: str) -> Path:
    """docker/<job>.Dockerfile: the image of the job (data-ingestion, risk-calculation, report-generation)."""
    return DOCKER_DIR / f"{job}.Dockerfile"


def parse_dockerfile(path: Path) -> Image:
    image = Image()
    owners: dict[str, str] = {}
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, argument = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "RUN":
            for owner, target in re.findall(r"chown\s+(?:-R\s+)?(\S+)\s+(\S+)", argument):
                owners[target] = owner
        elif instruction == "VOLUME":
            paths = [item.strip(' "') for item in argument.strip("[]").split(",")] if argument.startswith("[") else argument.split()
            for volume in paths:
                image.volumes.append(volume)
                if volume in owners:
                    image.owned_before_volume[volume] = owners[volume]
        elif instruction == "ENV":
            for item in shlex.split(argument):
                key, _, value = item.partition("=")
                image.environment[key] = value
        elif instruction == "USER":
            image.user = argument.strip()
    return image

"""An SBOM per image (CycloneDX JSON), read from the image's own virtual environment.

cyclonedx-py (the CycloneDX project's Python tool, `cyclonedx-bom` on PyPI, in .tools/cyclonedx)
runs inside a container of the image, with the image's own interpreter, and lists every
distribution installed in /opt/riskbatch: what pip installed from the job's lock, and riskbatch
itself. The tool's own packages reach the container on PYTHONPATH; the environment it describes
is the venv's interpreter started without that variable, so they are not in the SBOM.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from riskbatch_platform import REPO_ROOT
from riskbatch_platform.local.podman import ULIMITS, podman

# make images installs it from tools/cyclonedx.lock; RISKBATCH_SBOM_TOOL names another virtual environment of it
TOOL_VENV = Path(os.environ.get("RISKBATCH_SBOM_TOOL") or REPO_ROOT / ".tools" / "cyclonedx")
SBOM_DIR = REPO_ROOT / "build" / "sbom"
VENV_PYTHON = "/opt/riskbatch/bin/python"
# The interpreter the tool describes: the venv's, without the tool's PYTHONPATH.
CLEAN_PYTHON = f'#!/bin/sh\nexec env -u PYTHONPATH {VENV_PYTHON} "$@"\n'


def tool_site_packages() -> Path:
    found = sorted(TOOL_VENV.glob("lib/python3*/site-packages"))
    if not found:
        raise FileNotFoundError(f"cyclonedx-py is not installed in {TOOL_VENV}: make images installs it (tools/cyclonedx.lock)")
    return found[0]


def image_sbom(reference: str) -> dict[str, Any]:
    """The CycloneDX document of the image's Python environment."""
    with tempfile.TemporaryDirectory(prefix="riskbatch-sbom-") as folder:
        wrapper = Path(folder) / "python"
        wrapper.write_text(CLEAN_PYTHON, encoding="utf-8")
        wrapper.chmod(0o755)
        result = podman(
            "run", "--rm", "--network", "none", *ULIMITS, "--user", "10001:10001", "--entrypoint", VENV_PYTHON,
            "--volume", f"{tool_site_packages()}:/sbom/tool:ro", "--volume", f"{wrapper}:/sbom/python:ro", "--env", "PYTHONPATH=/sbom/tool",
            reference, "-m", "cyclonedx_py", "environment", "--output-format", "JSON", "--output-file", "-", "/sbom/python",
        )  # fmt: skip
    return json.loads(result.stdout)


def components(document: dict[str, Any]) -> dict[str, str]:
    """name -> version of the SBOM's components."""
    return {component["name"].lower(): component.get("version", "") for component in document.get("components", [])}


def write_sbom(job: str, reference: str, folder: Path = SBOM_DIR) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{job}.cdx.json"
    path.write_text(json.dumps(image_sbom(reference), indent=2) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    print(json.dumps(components(image_sbom(sys.argv[1])), indent=2))

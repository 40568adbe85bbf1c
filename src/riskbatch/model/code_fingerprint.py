"""The fingerprint of the code that computes a night's figures, recorded in its manifest beside the version.

`riskbatch.__version__` is not bumped for every change, so two builds that compute different figures
can both say 1.0.0. The fingerprint is a SHA-256 over the source of the packages that determine the
numbers (the files read and prepared, the model, the validation, the report's sums and the jobs that
run them), each file's path relative to the package and its bytes, in sorted path order. Code that
cannot change a figure (the operator's commands, AWS access, logging, the platform's tooling, which is
another package) is left out, so a change there does not make last night irreproducible.

The images install the riskbatch wheel, which holds the .py files (pip adds compiled .pyc beside them
in __pycache__, which is not read here): for the same sources the image and a checkout give the same value.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

# The subpackages whose code determines the figures of a night
FIGURE_PACKAGES = ("inputs", "jobs", "model", "reporting", "validation")
SHORT = 12  # characters of the short form in messages: enough to tell two builds apart


def source_fingerprint(root: Path) -> str:
    """The SHA-256 of the figure-determining .py files under root (an installed or checked-out riskbatch package)."""
    sources = sorted((path.relative_to(root).as_posix(), path) for package in FIGURE_PACKAGES for path in (root / package).rglob("*.py"))
    if not sources:  # e.g. a build that ships only bytecode: no fingerprint rather than the fingerprint of nothing
        raise RuntimeError(f"no .py sources of {', '.join(FIGURE_PACKAGES)} under {root}: the package is installed without its sources")
    digest = hashlib.sha256()
    for relative, path in sources:
        content = path.read_bytes()
        # the path and the length before the bytes: moving code between files changes the fingerprint too
        digest.update(f"{relative}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


@functools.cache
def code_fingerprint() -> str:
    """The running riskbatch's fingerprint, computed once per process."""
    return source_fingerprint(Path(__file__).resolve().parent.parent)  # riskbatch/, this module's package's parent


def short(fingerprint: str) -> str:
    """The fingerprint as messages name it."""
    return fingerprint[:SHORT]


class OtherCode(RuntimeError):
    """A task's code is not the code that ingested the night it was given."""


def require_night_code(manifest: dict, task: str, running: str | None = None) -> None:
    """Refuse (OtherCode, one line) to compute for a night ingested by other code than this task's.

    An image pushed while a night runs (a deploy, a rollback) would otherwise have some units, or the
    report, computed by one build and the rest by another, and publish figures neither build makes;
    the night is run again instead, by one build from its ingestion on."""
    running = running or code_fingerprint()
    recorded = manifest.get("code_fingerprint")
    if recorded == running:
        return
    made = f"code {short(str(recorded))}" if recorded else "code that did not record its fingerprint"
    raise OtherCode(
        f"{task} of run {manifest.get('run_id', '?')} refused: the night was ingested by {made} and this task runs code {short(running)}; "
        "run the night again (riskbatch rerun --reason ...) once every task runs one image"
    )

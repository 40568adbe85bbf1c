"""make lock-images: write each job image's lock (requirements-runtime-<job>.lock) from the import graph,
with the SHA-256 of each wheel, and the installer's lock (requirements-installer.lock).

The versions come from requirements-runtime.lock; the distributions from the import closure of the
commands the job's task definitions run; the hashes from the wheels pip downloads from the index for
the images' platform into build/wheels. --check compares the written locks with the import graph
(names and versions, no network) and exits 1 when they differ.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from riskbatch.operations.aws_access import bounded
from riskbatch_platform.images.build import BUILD_DIR, JOBS, WHEEL_PLATFORM
from riskbatch_platform.images.image_locks import INSTALLER_LOCK, RUNTIME_LOCK, job_lock_header, job_lock_path, job_pins, read_pins, render_lock, wheel_hashes

# The installer of the image builds: pip, run from its wheel.
INSTALLER = {"pip": "25.3"}


def download(lock_text: str, folder: str) -> None:
    """The wheels of these pins for the images' platform, from the index, into the folder."""
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "download", "--no-deps", *WHEEL_PLATFORM, "-r", "/dev/stdin", "-d", folder], input=lock_text, text=True, check=True)


@bounded("riskbatch-lock-images")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare the locks with the import graph; write nothing")
    args = parser.parse_args(argv)
    wanted = {job: job_pins(job) for job in JOBS}
    if args.check:
        stale = [job for job in JOBS if {name: pin[0] for name, pin in read_pins(job_lock_path(job)).items()} != wanted[job]]
        for job in stale:
            print(f"{job_lock_path(job).name} differs from the import graph: run make lock-images", file=sys.stderr)
        return 1 if stale else 0
    wheels = BUILD_DIR / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    print(f"downloading the wheels of {RUNTIME_LOCK.name} and the installer into {wheels}", file=sys.stderr)
    download(RUNTIME_LOCK.read_text(encoding="utf-8") + "".join(f"{name}=={version}\n" for name, version in INSTALLER.items()), str(wheels))
    for job, pins in wanted.items():
        job_lock_path(job).write_text(render_lock(job_lock_header(job), pins, wheel_hashes(wheels, pins)), encoding="utf-8")
        print(f"{job_lock_path(job).name}: {len(pins)} pins ({', '.join(pins)})")
    header = "The installer the image builds run from its wheel (pip never lands in an image). Written by riskbatch-lock-images."
    INSTALLER_LOCK.write_text(render_lock(header, INSTALLER, wheel_hashes(wheels, INSTALLER)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

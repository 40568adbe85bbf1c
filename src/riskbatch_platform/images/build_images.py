"""make images: hadolint, the base image (cached), and the three job images, with sizes, build times and SBOMs.

The images are tagged like their ECR repositories, without the environment suffix
(localhost/ecr-<job>:<tag>); the deploy pushes them to the repositories of the stack.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from riskbatch.operations.aws_access import bounded
from riskbatch_platform.images.build import JOBS, build_all, default_image_tag
from riskbatch_platform.local.podman import DEBIAN_PACKAGES, missing_tools


@bounded("riskbatch-images")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tag", default=default_image_tag(), help="image tag (default: the template's ImageTag default)")
    parser.add_argument("--job", action="append", choices=JOBS, help="build only this job's image (repeatable)")
    parser.add_argument(
        "--public-base", action="store_true", help="build FROM the Dockerfiles' public base, pinned by digest (needs its registry), not the local one"
    )
    args = parser.parse_args(argv)
    missing = missing_tools()
    if missing:
        print(f"missing: {', '.join(missing)}; install with: apt-get install -y {' '.join(DEBIAN_PACKAGES)}", file=sys.stderr)
        return 2
    started = time.monotonic()

    def say(line: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {line}", file=sys.stderr, flush=True)

    images = build_all(args.tag, say, tuple(args.job or JOBS), public_base=args.public_base)
    print(f"\n{'image':<48} {'id':<14} {'size':>9} {'build':>8}")
    for image in images:
        print(f"{image.reference:<48} {image.image_id[:12]:<14} {image.size_bytes / 2**20:>6.0f} MiB {image.seconds:>6.1f} s")
    print(json.dumps({"images": [{"reference": i.reference, "size_bytes": i.size_bytes, "build_seconds": round(i.seconds, 1)} for i in images]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

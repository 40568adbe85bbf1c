"""Switch on EventBridge delivery for existing buckets, keeping their other notification settings.

The stack receives the input bucket by name and cannot change it; without this switch S3
sends no "Object Created" events and the nightly ingestion never starts.
"""

from __future__ import annotations

import argparse
import sys

from riskbatch_platform.aws import DEFAULT_REGION, Target
from riskbatch_platform.deployment.bucket_events import enable_eventbridge


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("buckets", nargs="+")
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument("--profile")
    parser.add_argument("--endpoint-url")
    args = parser.parse_args(argv)
    s3 = Target(region=args.region, endpoint_url=args.endpoint_url, profile=args.profile).client("s3")
    for bucket in args.buckets:
        changed = enable_eventbridge(s3, bucket)
        print(f"{bucket}: EventBridge delivery {'switched on' if changed else 'already on'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

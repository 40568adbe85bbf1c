"""Switch on EventBridge delivery for existing buckets, keeping their other notification settings.

The stack receives the input bucket by name and cannot change it; without this switch S3
sends no "Object Created" events and the nightly ingestion never starts.

The region and credentials are found as the AWS CLI finds them (--region, AWS_REGION,
AWS_DEFAULT_REGION, the profile's region); the account and region are printed first. Exit codes:
0 switched on (or already on), 2 a bad option, 3 no AWS region or credentials, or AWS unreachable,
5 AWS refused a call (no such bucket, access denied).
"""

from __future__ import annotations

import argparse
import sys

from riskbatch.operations.aws_access import CommandParser, add_aws_options, guarded
from riskbatch_platform.aws import command_target
from riskbatch_platform.deployment.bucket_events import enable_eventbridge


def main(argv: list[str] | None = None) -> int:
    parser = CommandParser(prog="riskbatch-enable-bucket-events", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("buckets", nargs="+", help="the input bucket (and any other bucket whose files start a night)")
    add_aws_options(parser, endpoint=True)
    args = parser.parse_args(argv)
    return guarded(parser.prog, lambda: _enable(args), profile=args.profile)


def _enable(args: argparse.Namespace) -> int:
    s3 = command_target(args.region, args.profile, args.endpoint_url, "riskbatch-enable-bucket-events").client("s3")
    for bucket in args.buckets:
        changed = enable_eventbridge(s3, bucket)
        print(f"{bucket}: EventBridge delivery {'switched on' if changed else 'already on'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""riskbatch accept-rates: a named person accepts a currency's curve that the night refused for its steps alone
(a genuine squeeze), written once where the night's rerun reads it (riskbatch.inputs.rate_acceptances).

Through the commands' error boundary: a date that never ran, a currency not refused for its steps alone (a rate
outside its plausible band stays refused), a step that looks like a typed percentage (a hundredth of the larger rate sitting beside the
other: riskbatch.inputs.rate_units), a missing name or reason is a bad input (exit 2) and writes nothing; the name, the reason and the
date are checked first, before any AWS client is made (riskbatch.inputs.sign_off, as riskbatch exclude-day checks them);
a second acceptance of the same currency, date and curve exits 1, the first one stands; a corrected curve (other
numbers) refused again is accepted by a record of its own."""

from __future__ import annotations

import argparse
import datetime as dt
import sys


def cmd_accept_rates(args: argparse.Namespace) -> int:
    """Accept the curve: the record, then the rerun that uses it."""
    # imported here: the command line loads nothing heavy for the commands that need none (riskbatch health)
    from riskbatch.inputs.rate_acceptances import WORDS, acceptance_key, acceptance_record, latest_run_record, record_acceptance
    from riskbatch.inputs.sign_off import check_sign_off
    from riskbatch.operations.aws_access import announce
    from riskbatch.operations.stack_lookup import session

    now = dt.datetime.now(dt.UTC)
    check_sign_off(args.date, args.by, args.reason, now, WORDS)  # before any AWS client: a typo in --by costs no round trip

    # Its permissions (docs/runbook.md): s3:ListBucket (prefix runs/*), s3:GetObject on runs/*, s3:PutObject on
    # history/rate-acceptances/*, and kms:Decrypt and kms:GenerateDataKey under a customer key. Existence is asked with
    # ListObjectsV2, never HeadObject, which answers a missing key with 403 without an unconditioned s3:ListBucket
    # ("HeadObject", https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html); writing or reading an
    # SSE-KMS object needs kms:GenerateDataKey and kms:Decrypt on the key ("Using server-side encryption with AWS KMS
    # keys (SSE-KMS) in directory buckets", https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-express-UsingKMSEncryption.html).
    aws = session(args.region, args.profile)
    announce(aws.client, aws.region_name, "riskbatch accept-rates")
    s3, date = aws.client("s3"), args.date.isoformat()
    manifest = latest_run_record(s3, args.bucket, date)
    if manifest is None:
        raise ValueError(f"no run of {date} under s3://{args.bucket}/runs/: a curve is accepted after the night refused it")
    record = acceptance_record(manifest, args.currency, args.by, args.reason, now)
    key = acceptance_key(date, record["currency"], record["curve"])
    if not record_acceptance(s3, args.bucket, record):
        print(f"{record['currency']}'s curve of {date} was accepted already, these numbers: s3://{args.bucket}/{key} stands, unchanged", file=sys.stderr)
        return 1
    curve = ", ".join(f"{years:g}y {rate:g}" for years, rate in record["curve"])
    print(f"accepted {record['currency']}'s curve of {date} ({curve}), signed off by {record['signed_off_by']}: s3://{args.bucket}/{key}")
    print(f'run the night again to use it: riskbatch rerun --stack-name <stack> --date {date} --reason "..."; its report names the acceptance')
    return 0

"""The night's files that landed and started no run: paged at the pre-night check (00:30 New York) when the
later of the two landed more than ARRIVAL_GRACE before it, i.e. before 00:00; a later file is still within the
grace then, passes, and is caught only by the 08:30 deadline check.

A landed file reaches ingestion through the trigger rule's ECS target (RunTask). The EventBridge documents
promise retries only for "retriable errors" ("How EventBridge retries delivering events":
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html; re:Post: "EventBridge
retries responses sent with a 5xx or 429 HTTP status code ... EventBridge doesn't retry other 4xx HTTP
errors": https://repost.aws/knowledge-center/eventbridge-resolve-failedinvocation-errors). RunTask answers
a task it cannot place, "Capacity is unavailable at this time", inside a successful response, in its
`failures` (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html), and AWS's own
advice for RunTask from EventBridge is to put Step Functions in between "to automate your retries"
(https://repost.aws/knowledge-center/ecs-fargate-runtask-capacity). No document says such an answer counts
as a failed invocation: it may reach neither the retry policy, nor the dead-letter queue, nor the
FailedInvocations alarm. So the check reads the effect instead: both files of the night in view landed
(the input prefix) more than ARRIVAL_GRACE ago, and the output bucket holds no run of that date
(runs/<date>-*) and no quarantine record (quarantine/<date>/, a set ingestion refused). Then nothing
started ingestion, and `riskbatch rerun` does, hours before the 08:30 deadline check would notice.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from riskbatch.inputs.business_days import NEW_YORK, previous_business_day
from riskbatch.operations.preflight.findings import FAIL, PASS, WARN, Account, Clients, Finding

# An ingestion task starts within a minute or two of its file and writes the run's first objects within
# minutes; half an hour without any is no longer a slow start.
ARRIVAL_GRACE = dt.timedelta(minutes=30)
CHECK = "landed files started a run"
# The night's two files, as riskbatch.inputs.files.FILE_NAME names them (that module is not imported here: it
# would bring the readers' object reads into what the deployer's credentials are scanned for).
FILE_NAME = re.compile(r"^(positions|market)\.(csv|parquet)$")


def _role(key: str, folder: str) -> str | None:
    match = FILE_NAME.match(key[len(folder) :]) if key.startswith(folder) else None
    return match.group(1) if match else None


def _any_key(s3: Any, bucket: str, prefix: str) -> bool:
    return bool(s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1).get("KeyCount", 0))


def night_in_view(now: dt.datetime) -> dt.date:
    """The business date whose report is due next: the business day before today, New York."""
    return previous_business_day(now.astimezone(NEW_YORK).date())


def landed_files_started_a_run(clients: Clients, account: Account) -> list[Finding]:
    if not (account.input_bucket and account.output_bucket and account.input_prefix is not None and account.now is not None):
        return []
    s3, date = clients("s3"), night_in_view(account.now).isoformat()
    folder = f"{account.input_prefix}{date}/"
    listing = s3.list_objects_v2(Bucket=account.input_bucket, Prefix=folder).get("Contents", [])
    landed = {role: item["LastModified"] for item in listing if (role := _role(item["Key"], folder))}
    expected = f"a run (runs/{date}-*) or a quarantine record once both files of {date} have landed"
    if len(landed) < 2:
        found = f"{', '.join(sorted(landed)) or 'no file'} of {date} landed"
        return [Finding(CHECK, expected, found, PASS if not landed else WARN, "" if not landed else "the 08:30 deadline check reports the missing file")]
    newest = max(landed.values())
    at = newest.astimezone(NEW_YORK).strftime("%H:%M New York")
    if account.now - newest < ARRIVAL_GRACE:
        return [Finding(CHECK, expected, f"both files landed at {at}, ingestion may still be starting", PASS)]
    if _any_key(s3, account.output_bucket, f"runs/{date}-") or _any_key(s3, account.output_bucket, f"quarantine/{date}/"):
        return [Finding(CHECK, expected, f"both files landed by {at}; ingestion ran", PASS)]
    found = f"both files landed by {at}, and no run and no quarantine record: no ingestion task started (RunTask may have found no capacity)"
    fix = f"riskbatch rerun --stack-name <stack> --date {date} starts it now; then read the trigger rule's FailedInvocations and the task events"
    return [Finding(CHECK, expected, found, FAIL, fix)]

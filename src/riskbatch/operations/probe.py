"""riskbatch probe: a task tries, with its own role's credentials, what its role must allow and must deny.

A task role can be exercised only from inside a task: it trusts ecs-tasks.amazonaws.com alone
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html). The integration
suite therefore starts one probe task per job with RunTask, the stack's own task definition and a
command override (`riskbatch probe --expect s3://... --verdict s3://...`); the same code runs in
the local emulator's runner and in an account.

The expectations are a JSON document of calls: {"calls": [{"name", "service", "operation",
"parameters", "expect": "allowed" | "denied"}]}. Each call is made with boto3 and judged:

- allowed: the call returned;
- denied: it was refused with an access-denied error code (ACCESS_DENIED). Any other error, a
  403 included (an expired token, a bad signature, a missing object behind a 403), is an error,
  so a probe never passes for the wrong reason.

The verdict (one result a call, and whether every call went as expected) is printed as one JSON
line and written to the output bucket. Exit 0 when every call went as expected, 1 when one did not,
2 when the expectations cannot be read.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.exceptions import ClientError

# The error codes AWS answers a refused authorisation with, per service protocol: S3, STS and SQS's
# AccessDenied, the JSON services' AccessDeniedException (EventBridge, KMS, ECS, CloudWatch Logs),
# SNS's AuthorizationError, EC2's UnauthorizedOperation.
ACCESS_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "AuthorizationError", "UnauthorizedOperation"})
EXPECTATIONS = ("allowed", "denied")


@dataclass(frozen=True)
class Call:
    name: str
    service: str
    operation: str
    parameters: dict[str, Any]
    expect: str


@dataclass(frozen=True)
class Result:
    name: str
    expect: str
    outcome: str  # allowed, denied or error
    code: str | None
    message: str | None

    @property
    def holds(self) -> bool:
        return self.outcome == self.expect


def parse_calls(document: dict[str, Any]) -> list[Call]:
    calls = []
    for index, item in enumerate(document.get("calls", [])):
        missing = [key for key in ("name", "service", "operation", "expect") if key not in item]
        if missing or item["expect"] not in EXPECTATIONS:
            raise ValueError(f"call {index}: needs name, service, operation and expect (allowed or denied); missing {missing or ['a valid expect']}")
        calls.append(Call(item["name"], item["service"], item["operation"], dict(item.get("parameters", {})), item["expect"]))
    if not calls:
        raise ValueError("the expectations list no call")
    return calls


def outcome_of(error: ClientError | None) -> tuple[str, str | None, str | None]:
    """(outcome, error code, message) of one call."""
    if error is None:
        return "allowed", None, None
    code = str(error.response.get("Error", {}).get("Code", ""))
    message = str(error.response.get("Error", {}).get("Message", ""))[:300]
    return ("denied" if code in ACCESS_DENIED else "error"), code, message


def try_call(session: Any, call: Call) -> Result:
    client = session.client(call.service)
    try:
        getattr(client, call.operation)(**call.parameters)
    except ClientError as error:
        return Result(call.name, call.expect, *outcome_of(error))
    return Result(call.name, call.expect, *outcome_of(None))


def probe(session: Any, calls: list[Call]) -> dict[str, Any]:
    results = [try_call(session, call) for call in calls]
    return {"holds": all(result.holds for result in results), "results": [asdict(result) | {"holds": result.holds} for result in results]}


def _s3_location(url: str) -> tuple[str, str]:
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
        raise ValueError(f"{url}: expected s3://bucket/key")
    return parsed.netloc, parsed.path.lstrip("/")


def read_document(session: Any, where: str) -> dict[str, Any]:
    if where.startswith("s3://"):
        bucket, key = _s3_location(where)
        return json.loads(session.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    return json.loads(Path(where).read_text(encoding="utf-8"))


def run(expect: str, verdict_at: str | None, session: Any | None = None) -> int:
    session = session or boto3.Session()
    try:
        calls = parse_calls(read_document(session, expect))
        verdict_location = _s3_location(verdict_at) if verdict_at else None
    except (ValueError, OSError, ClientError, json.JSONDecodeError) as error:
        print(f"probe: cannot read the expectations {expect}: {error}", file=sys.stderr)
        return 2
    verdict = probe(session, calls) | {"expectations": expect}
    print("probe verdict: " + json.dumps(verdict, sort_keys=True), flush=True)
    for result in verdict["results"]:
        mark = "ok  " if result["holds"] else "FAIL"
        print(f"{mark} expected {result['expect']:<7} got {result['outcome']:<7} {result['name']}" + (f" ({result['code']})" if result["code"] else ""))
    if verdict_location:
        bucket, key = verdict_location
        session.client("s3").put_object(Bucket=bucket, Key=key, Body=json.dumps(verdict, indent=2).encode(), ContentType="application/json")
    return 0 if verdict["holds"] else 1

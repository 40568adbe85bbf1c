"""What EventBridge does with an event, for the local runner: S3's Object Created event, a rule's
event pattern matched against it, and a target's input transformer applied to it."""

from __future__ import annotations

import json
import re
import time
from typing import Any

_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.-]+)>")


def json_path(document: Any, path: str) -> Any:
    """The value at a simple JSONPath ($.a.b.c), as EventBridge input paths use them."""
    node = document
    for part in path.removeprefix("$").strip(".").split("."):
        if not part:
            continue
        node = node[part]
    return node


def transform_input(event: dict[str, Any], transformer: dict[str, Any]) -> Any:
    """EventBridge's input transformer: placeholders outside quotes become JSON values."""
    values = {name: json_path(event, path) for name, path in transformer.get("InputPathsMap", {}).items()}
    rendered = _PLACEHOLDER.sub(lambda match: json.dumps(values[match.group(1)]), transformer["InputTemplate"])
    return json.loads(rendered)


def s3_object_created_event(bucket: str, key: str, size: int, region: str, account: str) -> dict[str, Any]:
    """The event S3 sends to EventBridge when an object is created (EventBridge delivery on)."""
    return {
        "version": "0",
        "id": f"local-{time.time_ns()}",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": account,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": region,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {"version": "0", "bucket": {"name": bucket}, "object": {"key": key, "size": size}, "reason": "PutObject"},
    }


def pattern_matches(pattern: Any, event: Any) -> bool:
    """EventBridge pattern matching for the forms the stack uses: values, prefix, nested fields."""
    if isinstance(pattern, dict):
        return isinstance(event, dict) and all(key in event and pattern_matches(value, event[key]) for key, value in pattern.items())
    for candidate in pattern:
        if isinstance(candidate, dict) and "prefix" in candidate:
            if isinstance(event, str) and event.startswith(candidate["prefix"]):
                return True
        elif candidate == event or (isinstance(event, list) and candidate in event):
            return True
    return False

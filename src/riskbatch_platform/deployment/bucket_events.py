"""EventBridge delivery for an existing bucket, switched on without touching its other notifications."""

from __future__ import annotations

from typing import Any


def enable_eventbridge(s3: Any, bucket: str) -> bool:
    """Add EventBridge delivery to the bucket's notifications; True when it was off before."""
    current = s3.get_bucket_notification_configuration(Bucket=bucket)
    current.pop("ResponseMetadata", None)
    if "EventBridgeConfiguration" in current:
        return False
    current["EventBridgeConfiguration"] = {}
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=current)
    return True

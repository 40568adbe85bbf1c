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
    # The customer's other destinations are sent back as they are: S3 would otherwise test each
    # one again, and a single stale queue, topic or function would refuse the whole change
    # (PutBucketNotificationConfiguration, SkipDestinationValidation:
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketNotificationConfiguration.html).
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=current, SkipDestinationValidation=True)
    return True

"""An alert sent once for a quarantine record: the record in S3 first, the mark that it alerted after."""

from __future__ import annotations

import time
from typing import Any

from riskbatch.aws.alerts import publish_alert
from riskbatch.aws.layout import alerted_key
from riskbatch.aws.storage import exists, put_json_once


def alert_once(s3: Any, sns: Any, bucket: str, topic_arn: str | None, details_key: str, subject: str, message: str) -> None:
    """Alert about a quarantine record (`details_key` in `bucket`) unless that alert went out already.

    The record is written first (write-once) and the mark only after the publish: a task that fails
    between the two publishes again on its retry (a second alert, never none). Several arrivals of
    the same night find the same bad file; once the mark is there, they stay quiet.
    """
    if not topic_arn or exists(s3, bucket, alerted_key(details_key)):
        return
    message_id = publish_alert(sns, topic_arn, subject, message, details=f"s3://{bucket}/{details_key}")
    put_json_once(s3, bucket, alerted_key(details_key), {"message_id": message_id, "at": time.time()})

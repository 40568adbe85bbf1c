"""S3: EventBridge delivery and the answer for a missing key.

Each fix says which kind it is (a defect, a missing rule, a stand-in): see the package's first lines."""

from __future__ import annotations

from typing import Any

from .patching import Patcher, caller_may, fix


@fix
def s3_reports_eventbridge_delivery(patch: Patcher) -> None:
    """Defect. moto stores a bucket's EventBridgeConfiguration (and sends its events) but leaves it
    out of GetBucketNotificationConfiguration, so a reader could not tell that delivery is on (S3
    API reference, GetBucketNotificationConfiguration: EventBridgeConfiguration, "Enables delivery
    of events to Amazon EventBridge"). The fix adds it to the answer when it is on."""
    from moto.s3 import responses as s3

    original = s3.S3Response.get_bucket_notification

    def get_bucket_notification(self: Any) -> Any:
        answer = original(self)
        configuration = self.backend.get_bucket_notification_configuration(self.bucket_name)
        if configuration is None or configuration.event_bridge is None:
            return answer
        status, headers, body = answer if isinstance(answer, tuple) else (200, {}, answer)
        text = body.decode() if isinstance(body, bytes) else str(body)
        marker = "</NotificationConfiguration>"
        if "<EventBridgeConfiguration" in text:
            return answer
        if marker in text:
            text = text.replace(marker, "<EventBridgeConfiguration></EventBridgeConfiguration>" + marker)
        else:  # moto answered with an empty result: the document is the EventBridge element alone
            text = '<?xml version="1.0" encoding="UTF-8"?><NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            text += "<EventBridgeConfiguration></EventBridgeConfiguration>" + marker
        return status, {key: value for key, value in headers.items() if key.lower() != "content-length"}, text

    patch.set(s3.S3Response, "get_bucket_notification", get_bucket_notification)


@fix
def s3_missing_key_is_forbidden_without_list_bucket(patch: Patcher) -> None:
    """Missing rule. S3 answers HeadObject and GetObject of a missing key with 404 only when the
    caller has s3:ListBucket on the bucket, and with 403 otherwise; that check carries no s3:prefix,
    so a ListBucket granted under a prefix condition does not count (S3 API reference, HeadObject
    and GetObject, "Permissions": https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html).
    moto always answers 404. The fix answers 403 unless the caller may ListBucket without a prefix."""
    from moto.iam.access_control import S3IAMRequest
    from moto.s3.exceptions import BucketAccessDeniedError, MissingKey
    from moto.s3.responses import S3Response

    def may_list(response: Any, bucket: str) -> bool:
        return caller_may(response, S3IAMRequest, "s3:ListBucket", f"arn:aws:s3:::{bucket}", {})

    original_head = S3Response.head_object

    def head_object(self: Any, bucket_name: str, query: dict[str, Any], key_name: str, headers: dict[str, Any]) -> Any:
        status, response_headers, body = original_head(self, bucket_name, query, key_name, headers)
        if status == 404 and not may_list(self, bucket_name):
            return 403, {}, ""
        return status, response_headers, body

    original_get = S3Response.get_object

    def get_object(self: Any) -> Any:
        try:
            return original_get(self)
        except MissingKey:
            if may_list(self, self.bucket_name):
                raise
            raise BucketAccessDeniedError(bucket=self.bucket_name) from None

    patch.set(S3Response, "head_object", head_object)
    patch.set(S3Response, "get_object", get_object)


# The bucket configurations moto's action map lacks: (query-string subresource, method) -> the IAM action that
# authorises the operation (Service Authorization Reference, Amazon S3:
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html).
BUCKET_CONFIGURATION_ACTIONS = {
    ("object-lock", "GET"): "GetBucketObjectLockConfiguration",  # GetObjectLockConfiguration
    ("object-lock", "PUT"): "PutBucketObjectLockConfiguration",  # PutObjectLockConfiguration
    ("encryption", "GET"): "GetEncryptionConfiguration",  # GetBucketEncryption
    ("encryption", "PUT"): "PutEncryptionConfiguration",  # PutBucketEncryption
}


@fix
def s3_bucket_configuration_authorised_as_its_action(patch: Patcher) -> None:
    """Defect. GetObjectLockConfiguration and PutObjectLockConfiguration (GET and PUT /?object-lock)
    are authorised as s3:GetBucketObjectLockConfiguration and s3:PutBucketObjectLockConfiguration, and
    GetBucketEncryption and PutBucketEncryption (GET and PUT /?encryption) as
    s3:GetEncryptionConfiguration and s3:PutEncryptionConfiguration (BUCKET_CONFIGURATION_ACTIONS).
    moto's action map lacks "object-lock" and "encryption", so it authorises each read as s3:ListBucket
    and each write as s3:CreateBucket. The fix names the request by its action."""
    from moto.s3.responses import S3Response

    original = S3Response._set_action

    def set_action(self: Any, action_resource_type: str, method: str, querystring: dict[str, Any]) -> None:
        original(self, action_resource_type, method, querystring)
        if action_resource_type != "BUCKET":
            return
        for (subresource, verb), action in BUCKET_CONFIGURATION_ACTIONS.items():
            if subresource in querystring and method == verb:
                self.data["Action"] = action

    patch.set(S3Response, "_set_action", set_action)

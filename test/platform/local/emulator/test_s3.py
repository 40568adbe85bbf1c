"""The S3 fixes (src/riskbatch_platform/local/emulator/s3.py): each defect or missing rule is there in moto as shipped, and gone with the fix.

The 403 for a missing key without ListBucket on the bucket, EventBridge delivery reported, and the object-lock
and default-encryption configurations authorised as their own actions. Runs moto in-process (mock_aws); IAM is enforced only inside `enforced()`.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from riskbatch_platform.local import emulator
from test.platform.local.emulator.support import LIST_RUNS_ONLY, REGION, _code, _user, enforced, patched

READ_RUNS = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::out/runs/*"}


def _status(call: Any) -> int:
    try:
        return call()["ResponseMetadata"]["HTTPStatusCode"]
    except ClientError as error:
        return error.response["ResponseMetadata"]["HTTPStatusCode"]


def _missing(session: boto3.Session) -> tuple[int, str]:
    """HeadObject's status (a HEAD answer has no body, so no error code) and GetObject's error code."""
    s3 = session.client("s3")
    return _status(lambda: s3.head_object(Bucket="out", Key="runs/none")), _code(lambda: s3.get_object(Bucket="out", Key="runs/none"))


def test_moto_answers_404_for_a_missing_key_whatever_the_caller_may_list(aws: None) -> None:
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="out")
    session = _user("reader", [READ_RUNS, *LIST_RUNS_ONLY])
    with patched(emulator.iam.policy_conditions_evaluated), enforced():
        assert _missing(session) == (404, "NoSuchKey")  # the defect: AWS answers 403


@pytest.mark.parametrize(
    ("listing", "expected"),
    [
        ([], (403, "denied")),
        (LIST_RUNS_ONLY, (403, "denied")),  # the ListBucket check carries no s3:prefix
        ([{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::out"}], (404, "NoSuchKey")),
    ],
    ids=["no ListBucket", "ListBucket under a prefix", "ListBucket on the bucket"],
)
def test_a_missing_key_is_403_unless_the_caller_may_list_the_bucket(aws: None, listing: list, expected: tuple[int, str]) -> None:
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="out")
    session = _user("reader", [READ_RUNS, *listing])
    with patched(emulator.iam.policy_conditions_evaluated, emulator.s3.s3_missing_key_is_forbidden_without_list_bucket), enforced():
        assert _missing(session) == expected


def test_storage_exists_works_where_head_object_is_forbidden(aws: None) -> None:
    """The jobs' existence check (a listing under the key) under the task roles' prefix-scoped ListBucket."""
    from riskbatch.aws.storage import exists

    boto3.client("s3", region_name=REGION).create_bucket(Bucket="out")
    boto3.client("s3", region_name=REGION).put_object(Bucket="out", Key="runs/here", Body=b"x")
    session = _user("reader", [READ_RUNS, *LIST_RUNS_ONLY])
    with patched(emulator.iam.policy_conditions_evaluated, emulator.s3.s3_missing_key_is_forbidden_without_list_bucket), enforced():
        s3 = session.client("s3")
        assert exists(s3, "out", "runs/here") and not exists(s3, "out", "runs/none")


def _eventbridge_delivery_reported() -> bool:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="bucket-events-x")
    s3.put_bucket_notification_configuration(Bucket="bucket-events-x", NotificationConfiguration={"EventBridgeConfiguration": {}})
    return "EventBridgeConfiguration" in s3.get_bucket_notification_configuration(Bucket="bucket-events-x")


def test_moto_does_not_report_eventbridge_delivery(aws: None) -> None:
    assert _eventbridge_delivery_reported() is False


def test_eventbridge_delivery_is_reported_when_on(aws: None) -> None:
    with patched(emulator.s3.s3_reports_eventbridge_delivery):
        assert _eventbridge_delivery_reported() is True
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="bucket-quiet-x")
        assert "EventBridgeConfiguration" not in s3.get_bucket_notification_configuration(Bucket="bucket-quiet-x")


# Each bucket configuration read is authorised as its own action, not as s3:ListBucket (Service Authorization
# Reference, Amazon S3: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html).
# The pre-night check reads both buckets' default encryption with s3:GetEncryptionConfiguration alone.
BUCKET_CONFIGURATION_READS = [
    pytest.param(
        {"ObjectLockEnabledForBucket": True},
        "s3:GetBucketObjectLockConfiguration",
        "get_object_lock_configuration",
        id="GetObjectLockConfiguration is authorised as s3:GetBucketObjectLockConfiguration",
    ),
    pytest.param({}, "s3:GetEncryptionConfiguration", "get_bucket_encryption", id="GetBucketEncryption is authorised as s3:GetEncryptionConfiguration"),
]


def _bucket_with_reader(bucket_options: dict[str, Any], action: str) -> boto3.Session:
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="out-x", **bucket_options)
    return _user("configuration-reader", [{"Effect": "Allow", "Action": action, "Resource": "arn:aws:s3:::out-x"}])


@pytest.mark.parametrize(("bucket_options", "action", "read"), BUCKET_CONFIGURATION_READS)
def test_moto_authorises_reading_a_bucket_configuration_as_list_bucket(aws: None, bucket_options: dict[str, Any], action: str, read: str) -> None:
    session = _bucket_with_reader(bucket_options, action)
    with enforced():
        assert _code(lambda: getattr(session.client("s3"), read)(Bucket="out-x")) == "denied"


@pytest.mark.parametrize(("bucket_options", "action", "read"), BUCKET_CONFIGURATION_READS)
def test_reading_a_bucket_configuration_needs_its_own_action(aws: None, bucket_options: dict[str, Any], action: str, read: str) -> None:
    session = _bucket_with_reader(bucket_options, action)
    lister = _user("configuration-lister", [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::out-x"}])
    with patched(emulator.s3.s3_bucket_configuration_authorised_as_its_action), enforced():
        # authorised: answered, with the configuration or with its absence (a bucket without default encryption)
        assert _code(lambda: getattr(session.client("s3"), read)(Bucket="out-x")) != "denied"
        assert _code(lambda: getattr(lister.client("s3"), read)(Bucket="out-x")) == "denied"


"""Preflight refuses an input or output bucket encrypted with the stack's own key.

The key is deleted with the stack (its deletion scheduled, 7 or 30 days), and "After a KMS key is
deleted, you can no longer decrypt the data that was encrypted under that KMS key" (KMS developer
guide, "Deleting AWS KMS keys": https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys.html).
The jobs' writes carry no encryption header, so the bucket's default encryption decides (S3 user
guide, "Setting default server-side encryption behavior":
https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-encryption.html). Against moto in-process.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from riskbatch.operations.preflight.buckets import input_bucket_encryption, output_bucket_encryption
from riskbatch.operations.preflight.findings import FAIL, PASS, Account, Peak, account_from_environment

REGION = "us-east-1"
PEAK = Peak(())


@pytest.fixture
def aws() -> Iterator[Any]:
    with mock_aws():
        yield lambda service: boto3.client(service, region_name=REGION)


def _bucket(aws: Any, bucket: str, encryption: dict | None, keys: dict[str, str]) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket=bucket)
    if encryption:
        rule = {**encryption, **({"KMSMasterKeyID": keys[encryption["KMSMasterKeyID"]]} if "KMSMasterKeyID" in encryption else {})}
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": rule}]})


def _keys(aws: Any) -> dict[str, str]:
    kms = aws("kms")
    keys = {name: kms.create_key()["KeyMetadata"]["Arn"] for name in ("STACK", "CUSTOMER", "OTHER")}
    kms.create_alias(AliasName="alias/kms-riskbatch-dev", TargetKeyId=keys["STACK"])
    keys["STACK_ALIAS"] = "alias/kms-riskbatch-dev"
    return keys


# (bucket role, its check, the parameter that names its customer key, the Account fields)
BUCKETS = {
    "input": (input_bucket_encryption, "InputBucketKmsKeyArn", "input_bucket", "input_bucket_key_arn"),
    "output": (output_bucket_encryption, "OutputBucketKmsKeyArn", "output_bucket", "output_bucket_key_arn"),
}


@pytest.mark.parametrize("role", sorted(BUCKETS))
@pytest.mark.parametrize(
    ("encryption", "given", "expected"),
    [
        (None, None, PASS),
        ({"SSEAlgorithm": "AES256"}, None, PASS),
        ({"SSEAlgorithm": "aws:kms"}, None, PASS),  # the AWS managed key aws/s3
        ({"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "CUSTOMER"}, "CUSTOMER", PASS),
        ({"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "STACK"}, None, FAIL),
        ({"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "STACK_ALIAS"}, None, FAIL),
        ({"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "STACK"}, "STACK", FAIL),  # given as the parameter: still the stack's
        ({"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "CUSTOMER"}, None, FAIL),
        ({"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "CUSTOMER"}, "OTHER", FAIL),
    ],
    ids=["s3-default", "sse-s3", "aws-managed-key", "the-given-key", "stack-key", "stack-key-alias", "stack-key-given", "key-not-given", "another-given"],
)
def test_a_bucket_takes_no_key_that_dies_with_the_stack_and_a_customer_key_only_when_given(
    aws: Any, role: str, encryption: dict | None, given: str | None, expected: str
) -> None:
    """Both buckets by one rule. A customer-managed key decrypts only for principals its key policy and their IAM
    policy allow (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html): the roles
    can use the bucket's objects only when the stack is given its key."""
    check, parameter, bucket_field, key_field = BUCKETS[role]
    keys = _keys(aws)
    _bucket(aws, f"risk-{role}-x", encryption, keys)
    account = Account(subnets=[], peak=PEAK, key_arn=keys["STACK"], **{bucket_field: f"risk-{role}-x", key_field: keys[given] if given else None})
    (finding,) = check(aws, account)
    assert finding.status == expected
    if expected == FAIL and "STACK" in (encryption or {}).get("KMSMasterKeyID", ""):
        assert "stack's own key" in finding.found and "SSE-S3" in finding.fix and parameter in finding.fix
    elif expected == FAIL:
        assert keys["CUSTOMER"] in finding.found and parameter in finding.fix


@pytest.mark.parametrize("role", sorted(BUCKETS))
def test_the_nightly_check_refuses_a_bucket_switched_to_the_stacks_key_after_the_deploy(aws: Any, role: str) -> None:
    """The customer may change a bucket's default encryption any day after the deploy's preflight passed: the
    pre-night check runs the same check, from its task's environment (the template's STACK_KEY_ARN,
    INPUT_BUCKET and the two bucket key parameters), and fails the night on it."""
    from riskbatch.operations.preflight.checks import NIGHTLY, failed, run_checks

    check = BUCKETS[role][0]
    keys = _keys(aws)
    _bucket(aws, "risk-input-x", {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "STACK" if role == "input" else "CUSTOMER"}, keys)
    _bucket(aws, "risk-output-x", {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "STACK_ALIAS" if role == "output" else "CUSTOMER"}, keys)
    environment = {
        "PEAK_WORKLOADS": "[]",
        "TASK_SUBNETS": "",
        "INPUT_BUCKET": "risk-input-x",
        "OUTPUT_BUCKET": "risk-output-x",
        "STACK_KEY_ARN": keys["STACK"],
        "INPUT_BUCKET_KMS_KEY_ARN": keys["CUSTOMER"],
        "OUTPUT_BUCKET_KMS_KEY_ARN": keys["CUSTOMER"],
    }
    account = account_from_environment(environment)
    assert check in NIGHTLY
    (refused,) = failed(run_checks(aws, account, (BUCKETS["input"][0], BUCKETS["output"][0])))
    assert refused.check == f"{role} bucket encryption" and "stack's own key" in refused.found


@pytest.mark.parametrize(("status", "expected"), [(None, FAIL), ("Suspended", FAIL), ("Enabled", PASS)], ids=["never-enabled", "suspended", "enabled"])
def test_the_input_bucket_must_keep_versions_so_that_a_restated_night_stays_reproducible(aws: Any, status: str | None, expected: str) -> None:
    """Corrected files overwrite the originals under the same key; only versioning keeps the bytes the earlier run
    read, which its manifest names by version ID ("Retaining multiple versions of objects with S3 Versioning":
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html)."""
    from riskbatch.operations.preflight.buckets import input_bucket_versioning
    from riskbatch.operations.preflight.checks import ALL, NIGHTLY
    from riskbatch.operations.preflight.findings import account_from_environment

    _bucket(aws, "risk-input-x", None, {})
    if status:
        aws("s3").put_bucket_versioning(Bucket="risk-input-x", VersioningConfiguration={"Status": status})
    (finding,) = input_bucket_versioning(aws, Account(subnets=[], peak=PEAK, input_bucket="risk-input-x"))
    assert finding.check == "input bucket versioning" and finding.status == expected
    assert finding.fix == ("" if expected == PASS else "aws s3api put-bucket-versioning --bucket risk-input-x --versioning-configuration Status=Enabled")
    assert input_bucket_versioning in ALL and input_bucket_versioning in NIGHTLY  # before a deployment, and each night
    nightly = account_from_environment({"PEAK_WORKLOADS": "[]", "TASK_SUBNETS": "subnet-a", "INPUT_BUCKET": "risk-input-x"})
    assert nightly.input_bucket == "risk-input-x"  # the pre-night task reads the bucket from its environment

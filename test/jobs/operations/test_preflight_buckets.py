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
from riskbatch.operations.preflight.findings import FAIL, PASS, Account, Peak

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
def test_the_output_bucket_takes_no_key_that_dies_with_the_stack(aws: Any, encryption: dict | None, given: str | None, expected: str) -> None:
    keys = _keys(aws)
    _bucket(aws, "risk-output-x", encryption, keys)
    account = Account(subnets=[], peak=PEAK, output_bucket="risk-output-x", key_arn=keys["STACK"], output_bucket_key_arn=keys[given] if given else None)
    (finding,) = output_bucket_encryption(aws, account)
    assert finding.status == expected
    if expected == FAIL and "STACK" in (encryption or {}).get("KMSMasterKeyID", ""):
        assert "stack's own key" in finding.found and "SSE-S3" in finding.fix and "OutputBucketKmsKeyArn" in finding.fix
    elif expected == FAIL:
        assert "OutputBucketKmsKeyArn" in finding.fix


@pytest.mark.parametrize("given", [None, "STACK"])
def test_the_input_bucket_takes_no_key_that_dies_with_the_stack(aws: Any, given: str | None) -> None:
    keys = _keys(aws)
    _bucket(aws, "risk-input-x", {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "STACK"}, keys)
    account = Account(subnets=[], peak=PEAK, input_bucket="risk-input-x", key_arn=keys["STACK"], input_bucket_key_arn=keys[given] if given else None)
    (finding,) = input_bucket_encryption(aws, account)
    assert finding.status == FAIL and "stack's own key" in finding.found


def test_the_input_bucket_keeps_its_own_check_otherwise(aws: Any) -> None:
    keys = _keys(aws)
    _bucket(aws, "risk-input-x", {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "CUSTOMER"}, keys)
    account = Account(subnets=[], peak=PEAK, input_bucket="risk-input-x", key_arn=keys["STACK"], input_bucket_key_arn=keys["CUSTOMER"])
    assert [f.status for f in input_bucket_encryption(aws, account)] == [PASS]


@pytest.mark.parametrize(
    ("encryption", "given", "expected"),
    [
        (None, None, PASS),
        ({"SSEAlgorithm": "AES256"}, None, PASS),
        ({"SSEAlgorithm": "aws:kms"}, None, PASS),  # the AWS managed key aws/s3
        ({"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "CUSTOMER"}, "CUSTOMER", PASS),
        ({"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "CUSTOMER"}, None, FAIL),
        ({"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "CUSTOMER"}, "OTHER", FAIL),
    ],
    ids=["s3-default", "sse-s3", "aws-managed-key", "the-given-key", "customer-key-not-given", "another-key-given"],
)
def test_an_input_bucket_under_a_customer_key_needs_that_key_given(aws: Any, encryption: dict | None, given: str | None, expected: str) -> None:
    # A customer-managed key decrypts only for principals its key policy and their IAM policy allow
    # (https://docs.amazonaws.cn/en_us/AmazonS3/latest/userguide/UsingKMSEncryption.html): the ingestion
    # role can read the files only when the stack is given the key (InputBucketKmsKeyArn).
    keys = _keys(aws)
    _bucket(aws, "risk-input-x", encryption, keys)
    account = Account(subnets=[], peak=PEAK, input_bucket="risk-input-x", key_arn=keys["STACK"], input_bucket_key_arn=keys[given] if given else None)
    (finding,) = input_bucket_encryption(aws, account)
    assert finding.status == expected
    if expected == FAIL:
        assert keys["CUSTOMER"] in finding.found and "InputBucketKmsKeyArn" in finding.fix

"""Preflight's bucket-encryption checks for a stack: nothing that outlives the stack may be
encrypted with the stack's own key.

The input and output buckets outlive the stack; its key does not. Deleting the stack (or a change
that replaces the key) schedules the key's deletion, and once it is deleted "you can no longer
decrypt the data that was encrypted under that KMS key" (KMS developer guide, "Deleting AWS KMS
keys": https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys.html). The jobs' writes
send no encryption header, so the bucket's default encryption decides each object's key (S3 user
guide, "Setting default server-side encryption behavior":
https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-encryption.html). So a bucket whose
default is the stack's key is refused, before the other checks of its encryption:
- the output bucket: SSE-S3, the AWS managed key aws/s3, or the customer key given as
  OutputBucketKmsKeyArn (the roles that write it may use that key, through S3 only);
- the input bucket: its own check (InputBucketKmsKeyArn), after the same refusal.
"""

from __future__ import annotations

from typing import Any

from riskbatch.preflight import ALL, FAIL, NIGHTLY, PASS, Account, Check, Clients, Finding, input_bucket_encryption, output_bucket_encryption
from riskbatch.preflight import _bucket_default_encryption as bucket_default_encryption
from riskbatch.preflight import _same_key as same_key

STACKS_KEY_FIX = (
    "encrypt the bucket with SSE-S3 (aws s3api put-bucket-encryption --bucket {bucket} --server-side-encryption-configuration "
    '\'{{"Rules":[{{"ApplyServerSideEncryptionByDefault":{{"SSEAlgorithm":"AES256"}}}}]}}\') or a customer key the stack does not own'
    "{parameter}, and copy the objects already written under the stack's key onto themselves so that they take the new default"
)


def _key_arn(clients: Clients, key: str | None) -> str | None:
    """A bucket's KMSMasterKeyID as a key ARN: an alias (alias/... or its ARN) is resolved by KMS."""
    if key and "alias/" in key and not key.endswith("alias/aws/s3"):
        try:
            return str(clients("kms").describe_key(KeyId=key)["KeyMetadata"]["Arn"])
        except Exception:  # an alias the caller cannot read: compared as written
            return key
    return key


def _on_the_stacks_key(clients: Clients, account: Account, check: str, bucket: str, parameter: str) -> list[Finding]:
    algorithm, key = bucket_default_encryption(clients("s3"), bucket)
    if algorithm == "AES256" or not account.key_arn or not same_key(_key_arn(clients, key), account.key_arn):
        return []
    found = f"{algorithm} with the stack's own key {account.key_arn}"
    expected = "not the stack's key: the stack's deletion deletes it, and every object under it becomes unreadable"
    return [Finding(check, expected, found, FAIL, STACKS_KEY_FIX.format(bucket=bucket, parameter=f" (given as {parameter})" if parameter else ""))]


def stack_input_bucket_encryption(clients: Clients, account: Account) -> list[Finding]:
    if not account.input_bucket:
        return []
    return _on_the_stacks_key(clients, account, "input bucket encryption", account.input_bucket, "InputBucketKmsKeyArn") or input_bucket_encryption(
        clients, account
    )


def output_bucket_check(output_bucket_key_arn: str | None) -> Check:
    """The output bucket's check, for a stack deployed with this OutputBucketKmsKeyArn ("" or None: none)."""

    def stack_output_bucket_encryption(clients: Clients, account: Account) -> list[Finding]:
        if not account.output_bucket:
            return []
        refused = _on_the_stacks_key(clients, account, "output bucket encryption", account.output_bucket, "OutputBucketKmsKeyArn")
        if refused:
            return refused
        expected = "SSE-S3, the AWS managed key, or SSE-KMS with OutputBucketKmsKeyArn"
        algorithm, key = bucket_default_encryption(clients("s3"), account.output_bucket)
        if algorithm == "AES256":
            return [Finding("output bucket encryption", expected, "SSE-S3", PASS)]
        if not key or key.endswith("alias/aws/s3"):
            return [Finding("output bucket encryption", expected, f"{algorithm} with the AWS managed key", PASS)]
        if same_key(_key_arn(clients, key), output_bucket_key_arn):
            return [Finding("output bucket encryption", expected, f"{algorithm} with OutputBucketKmsKeyArn", PASS)]
        given = f" (OutputBucketKmsKeyArn is {output_bucket_key_arn})" if output_bucket_key_arn else " (OutputBucketKmsKeyArn not set)"
        fix = (
            "deploy with --parameter OutputBucketKmsKeyArn=<the bucket's key ARN>, "
            "and let the task roles and the audit copy's delivery role use it in the key's policy"
        )
        return [Finding("output bucket encryption", expected, f"{algorithm} with {key}{given}", FAIL, fix)]

    return stack_output_bucket_encryption


def stack_checks(nightly: bool, output_bucket_key_arn: str | None) -> tuple[Check, ...]:
    """Preflight's checks for a stack, its bucket-encryption checks replaced by the ones above."""
    replaced: dict[Any, Check] = {input_bucket_encryption: stack_input_bucket_encryption, output_bucket_encryption: output_bucket_check(output_bucket_key_arn)}
    return tuple(replaced.get(check, check) for check in (NIGHTLY if nightly else ALL))

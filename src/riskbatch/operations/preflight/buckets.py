"""The buckets the stack does not own: events to EventBridge from the input bucket, both buckets' default
encryption, the input bucket's versioning (restatements stay reproducible), and the output bucket's
retention of years of records.

- S3 sends events to EventBridge only when the bucket's EventBridgeConfiguration is on;
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventBridge.html
- the output bucket keeps years of reports and run records only if an overwrite or a delete keeps
  the older version (versioning), and it keeps them affordably and unalterably only with an archive
  storage class reached by a lifecycle transition, or Object Lock's default retention:
  GetBucketVersioning, GetObjectLockConfiguration and GetBucketLifecycleConfiguration (whose IAM
  actions are s3:GetBucketVersioning, s3:GetBucketObjectLockConfiguration, s3:GetLifecycleConfiguration).
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.md
  https://docs.aws.amazon.com/goto/WebAPI/s3-2006-03-01/Transition (GLACIER_IR, GLACIER, DEEP_ARCHIVE)
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html"""

from __future__ import annotations

from typing import Any

from riskbatch.operations.preflight.findings import FAIL, PASS, WARN, Account, Clients, Finding, error_code


def input_bucket_events(clients: Clients, account: Account) -> list[Finding]:
    if not account.input_bucket:
        return []
    configuration = clients("s3").get_bucket_notification_configuration(Bucket=account.input_bucket)
    on = "EventBridgeConfiguration" in configuration
    return [
        Finding(
            "input bucket sends its events to EventBridge",
            "on",
            "on" if on else "off",
            PASS if on else FAIL,
            "" if on else f"riskbatch-enable-bucket-events {account.input_bucket} (no file would start an ingestion task)",
        )
    ]


def _same_key(key: str | None, key_arn: str | None) -> bool:
    """Whether a bucket's KMSMasterKeyID (a key ARN or id) names the key of this ARN."""
    return bool(key and key_arn and (key == key_arn or key_arn.endswith(key.rsplit("/", 1)[-1])))


def _bucket_default_encryption(s3: Any, bucket: str) -> tuple[str, str | None]:
    """(SSEAlgorithm, KMSMasterKeyID) of the bucket's default encryption; S3's default is SSE-S3."""
    try:
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    except Exception as error:
        if error_code(error) == "ServerSideEncryptionConfigurationNotFoundError":
            return "AES256", None
        raise
    default = rules[0]["ApplyServerSideEncryptionByDefault"]
    return default["SSEAlgorithm"], default.get("KMSMasterKeyID")


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
    """The input and output buckets outlive the stack; its key does not. Deleting the stack (or a change that
    replaces the key) schedules the key's deletion, and once it is deleted "you can no longer decrypt the data
    that was encrypted under that KMS key" (https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys.html).
    The jobs' writes send no encryption header, so the bucket's default decides each object's key
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-encryption.html)."""
    algorithm, key = _bucket_default_encryption(clients("s3"), bucket)
    if algorithm == "AES256" or not account.key_arn or not _same_key(_key_arn(clients, key), account.key_arn):
        return []
    found = f"{algorithm} with the stack's own key {account.key_arn}"
    expected = "not the stack's key: the stack's deletion deletes it, and every object under it becomes unreadable"
    return [Finding(check, expected, found, FAIL, STACKS_KEY_FIX.format(bucket=bucket, parameter=f" (given as {parameter})"))]


def _bucket_encryption(clients: Clients, account: Account, role: str, bucket: str, given: str | None, parameter: str, fix: str) -> list[Finding]:
    check = f"{role} bucket encryption"
    refused = _on_the_stacks_key(clients, account, check, bucket, parameter)
    if refused:
        return refused
    expected = f"SSE-S3, the AWS managed key, or SSE-KMS with {parameter}"
    algorithm, key = _bucket_default_encryption(clients("s3"), bucket)
    if algorithm == "AES256":
        return [Finding(check, expected, "SSE-S3", PASS)]
    if not key or key.endswith("alias/aws/s3"):
        return [Finding(check, expected, f"{algorithm} with the AWS managed key", PASS)]
    if _same_key(_key_arn(clients, key), given):
        return [Finding(check, expected, f"{algorithm} with {parameter}", PASS)]
    said = f" ({parameter} is {given})" if given else f" ({parameter} not set)"
    return [Finding(check, expected, f"{algorithm} with {key}{said}", FAIL, fix)]


def input_bucket_encryption(clients: Clients, account: Account) -> list[Finding]:
    """Ingestion reads the input bucket's objects: under a customer key, only the key given as
    InputBucketKmsKeyArn is one the ingestion role may decrypt with; never the stack's own key.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html"""
    if not account.input_bucket:
        return []
    fix = "deploy with --parameter InputBucketKmsKeyArn=<the bucket's key ARN>, and let the ingestion task role use it in the key's policy"
    return _bucket_encryption(clients, account, "input", account.input_bucket, account.input_bucket_key_arn, "InputBucketKmsKeyArn", fix)


def output_bucket_encryption(clients: Clients, account: Account) -> list[Finding]:
    """The jobs write the output bucket: SSE-S3, the AWS managed key, or the customer key given as
    OutputBucketKmsKeyArn (the roles that write it may use that key, through S3 only); never the stack's key."""
    if not account.output_bucket:
        return []
    fix = "deploy with --parameter OutputBucketKmsKeyArn=<the bucket's key ARN>, and let the writers' roles use it in the key's policy"
    return _bucket_encryption(clients, account, "output", account.output_bucket, account.output_bucket_key_arn, "OutputBucketKmsKeyArn", fix)


# What the output bucket holds for years: the reports, the runs' manifests and results, the backtest history.
RECORD_PREFIXES = ("reports/", "runs/", "history/")


ARCHIVE_CLASSES = ("GLACIER_IR", "GLACIER", "DEEP_ARCHIVE")  # S3 Glacier Instant Retrieval, Flexible Retrieval, Deep Archive


def _rule_prefix(rule: dict[str, Any]) -> str | None:
    """The key prefix a lifecycle rule applies to ("" for the whole bucket), or None when it selects
    by tag or size too: then it covers only some of the records."""
    selection = rule.get("Filter", {"Prefix": rule.get("Prefix", "")})
    if set(selection) - {"Prefix"}:
        return selection.get("And", {}).get("Prefix") if set(selection) == {"And"} and set(selection["And"]) == {"Prefix"} else None
    return str(selection.get("Prefix", ""))


def _archived_prefixes(rules: list[dict[str, Any]]) -> dict[str, str]:
    """record prefix -> "<class> after <n> days", for each record prefix an enabled rule moves to an archive class."""
    found: dict[str, str] = {}
    for rule in rules:
        prefix = _rule_prefix(rule)
        if rule.get("Status") != "Enabled" or prefix is None:
            continue
        for transition in rule.get("Transitions", []):
            if transition.get("StorageClass") in ARCHIVE_CLASSES:
                for record in RECORD_PREFIXES:
                    if record.startswith(prefix):
                        found.setdefault(record, f"{transition['StorageClass']} after {transition.get('Days', '?')} days")
    return found


def _object_lock(s3: Any, bucket: str) -> str | None:
    """'<MODE> <n> days|years' when Object Lock with a default retention is on, else None."""
    try:
        configuration = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    except Exception as error:
        if error_code(error) == "ObjectLockConfigurationNotFoundError":
            return None
        raise
    retention = configuration.get("Rule", {}).get("DefaultRetention", {})
    if configuration.get("ObjectLockEnabled") != "Enabled" or not retention:
        return None
    # S3 answers with Days or Years; moto with both, the unused one 0
    period = f"{retention['Days']} days" if retention.get("Days") else f"{retention.get('Years', '?')} years"
    return f"{retention.get('Mode', '?')} {period}"


def _lifecycle_rules(s3: Any, bucket: str) -> list[dict[str, Any]]:
    try:
        return list(s3.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", []))
    except Exception as error:
        if error_code(error) == "NoSuchLifecycleConfiguration":
            return []
        raise


def input_bucket_versioning(clients: Clients, account: Account) -> list[Finding]:
    """Corrected files land under the same key as the originals: only versioning keeps the superseded run's
    inputs, which its manifest names by version ID, so that a restated night can be reproduced
    ("you can use versioning to preserve, retrieve, and restore every version of every object":
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html)."""
    if not account.input_bucket:
        return []
    bucket = account.input_bucket
    versioning = clients("s3").get_bucket_versioning(Bucket=bucket).get("Status", "never enabled")
    on = versioning == "Enabled"
    fix = f"aws s3api put-bucket-versioning --bucket {bucket} --versioning-configuration Status=Enabled"
    expected = "Enabled (a corrected file keeps the original the earlier run used)"
    return [Finding("input bucket versioning", expected, versioning, PASS if on else FAIL, "" if on else fix)]


def output_bucket_retention(clients: Clients, account: Account) -> list[Finding]:
    """The output bucket keeps years of reports and run records: versioning on (an overwrite or a
    delete keeps the older version), and Object Lock's default retention or a lifecycle rule that
    moves reports/, runs/ and history/ to an archive storage class."""
    if not account.output_bucket:
        return []
    s3, bucket = clients("s3"), account.output_bucket
    versioning = s3.get_bucket_versioning(Bucket=bucket).get("Status", "never enabled")
    on = versioning == "Enabled"
    findings = [
        Finding(
            "output bucket versioning",
            "Enabled (an overwritten or deleted report keeps its older version)",
            versioning,
            PASS if on else FAIL,
            "" if on else f"aws s3api put-bucket-versioning --bucket {bucket} --versioning-configuration Status=Enabled",
        )
    ]
    lock, archived = _object_lock(s3, bucket), _archived_prefixes(_lifecycle_rules(s3, bucket))
    missing = [prefix for prefix in RECORD_PREFIXES if prefix not in archived]
    kept = lock is not None or not missing
    found = "; ".join(
        part
        for part in (
            f"Object Lock {lock}" if lock else "no Object Lock default retention",
            ", ".join(f"{prefix} to {how}" for prefix, how in sorted(archived.items())) if archived else "no lifecycle rule to an archive class",
        )
    )
    fix = (
        f"add a lifecycle rule moving {', '.join(missing)} to GLACIER_IR, GLACIER or DEEP_ARCHIVE, or turn on Object Lock "
        "with a default retention (docs/runbook.md, 'The output bucket: years of reports and run records')"
    )
    findings.append(
        Finding(
            "output bucket keeps the records for years",
            f"Object Lock default retention, or a lifecycle rule moving {', '.join(RECORD_PREFIXES)} to an archive class",
            found,
            PASS if kept else WARN,
            "" if kept else fix,
        )
    )
    return findings

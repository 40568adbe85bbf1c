"""The CloudWatch Logs fix (src/riskbatch_platform/local/emulator/logs.py): the defect is there in moto as shipped, and gone with the fix.

A log group from a template keeps its key. Runs moto in-process (mock_aws).
"""

from __future__ import annotations

import boto3

from riskbatch_platform.local import emulator
from test.platform.local.emulator.support import REGION, _deploy, patched


def _log_group_key() -> str | None:
    key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
    _deploy({"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "log-x", "KmsKeyId": key}}}})
    (group,) = boto3.client("logs", region_name=REGION).describe_log_groups(logGroupNamePrefix="log-x")["logGroups"]
    return group.get("kmsKeyId")


def test_moto_loses_the_log_groups_key(aws: None) -> None:
    assert _log_group_key() is None


def test_log_groups_keep_their_key(aws: None) -> None:
    with patched(emulator.logs.log_group_key_from_cloudformation):
        assert _log_group_key().startswith("arn:aws:kms:")

"""The KMS fix (src/riskbatch_platform/local/emulator/kms.py): the defects are there in moto as shipped, and gone with the fix.

A key from a template: its tags read, and the key described. Runs moto in-process (mock_aws).
"""

from __future__ import annotations

import boto3
import pytest

from riskbatch_platform.local import emulator
from test.platform.local.emulator.support import REGION, _deploy, patched

TAGGED_KEY = {"Resources": {"Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Statement": []}, "Tags": [{"Key": "Name", "Value": "kms-x"}]}}}}


def test_moto_cannot_read_a_keys_tags_from_cloudformation(aws: None) -> None:
    with pytest.raises(KeyError, match="TagKey"):  # inside moto: the server answers 500
        _deploy(TAGGED_KEY)


def test_a_keys_tags_are_read_from_cloudformation(aws: None) -> None:
    with patched(emulator.kms.kms_key_tags_from_cloudformation):
        _deploy(TAGGED_KEY)
    kms = boto3.client("kms", region_name=REGION)
    (key,) = kms.list_keys()["Keys"]
    assert kms.list_resource_tags(KeyId=key["KeyId"])["Tags"] == [{"TagKey": "Name", "TagValue": "kms-x"}]


ALLOWING_KEY = {
    "Resources": {
        "Key": {
            "Type": "AWS::KMS::Key",
            "Properties": {
                "KeyPolicy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}]}
            },
        }
    }
}


def _described_key_state() -> str:
    _deploy(ALLOWING_KEY)
    kms = boto3.client("kms", region_name=REGION)
    (key,) = kms.list_keys()["Keys"]
    try:
        return str(kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"])
    except TypeError as error:  # inside moto: the server answers 500
        return type(error).__name__


def test_moto_cannot_describe_a_key_whose_policy_came_from_cloudformation(aws: None) -> None:
    assert _described_key_state() == "TypeError"


def test_a_key_from_cloudformation_is_described(aws: None) -> None:
    with patched(emulator.kms.kms_key_tags_from_cloudformation):
        assert _described_key_state() == "Enabled"

"""The Inspector fix (src/riskbatch_platform/local/emulator/inspector2.py): BatchGetAccountStatus without
account IDs answers for the caller, as AWS does. Runs moto in-process (mock_aws)."""

from __future__ import annotations

import boto3
import pytest

from riskbatch_platform.local import emulator
from test.platform.local.emulator.support import ACCOUNT, REGION, patched


def test_moto_fails_without_account_ids_once_an_account_has_a_status(aws: None) -> None:
    # Inspector API reference, BatchGetAccountStatus: accountIds is optional
    # (https://docs.aws.amazon.com/inspector/v2/APIReference/API_BatchGetAccountStatus.html)
    inspector = boto3.client("inspector2", region_name=REGION)
    inspector.enable(accountIds=[ACCOUNT], resourceTypes=["ECR"])
    with pytest.raises(TypeError):  # moto tests membership in None
        inspector.batch_get_account_status()


def test_without_account_ids_the_caller_s_account_is_answered(aws: None) -> None:
    with patched(emulator.inspector2.inspector_account_status_of_the_caller):
        inspector = boto3.client("inspector2", region_name=REGION)
        assert inspector.batch_get_account_status()["accounts"] == []  # never enabled: moto keeps no status
        inspector.enable(accountIds=[ACCOUNT], resourceTypes=["ECR"])
        (account,) = inspector.batch_get_account_status()["accounts"]
        assert (account["accountId"], account["resourceState"]["ecr"]["status"]) == (ACCOUNT, "ENABLED")
        assert inspector.batch_get_account_status(accountIds=["210987654321"])["accounts"] == []  # moto's own answer stays

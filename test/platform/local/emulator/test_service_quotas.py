"""The Service Quotas stand-in (src/riskbatch_platform/local/emulator/service_quotas.py): moto knows no Fargate quota,
the local account has its vCPU quotas with the fix. Runs moto in-process (mock_aws).
"""

from __future__ import annotations

import boto3
import pytest

from riskbatch_platform.local import emulator
from test.platform.local.emulator.support import REGION, _code, patched


def _fargate_quota() -> str:
    return _code(lambda: boto3.client("service-quotas", region_name=REGION).get_service_quota(ServiceCode="fargate", QuotaCode="L-3032A538"))


def test_moto_knows_no_fargate_quota(aws: None) -> None:
    assert _fargate_quota() == "NoSuchResourceException"


def test_the_local_account_has_fargate_vcpu_quotas(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(emulator.service_quotas.FARGATE_VCPU_QUOTA_VARIABLE, "12")
    with patched(emulator.service_quotas.service_quotas_answer_for_fargate):
        assert _fargate_quota() == "OK"
        quotas = boto3.client("service-quotas", region_name=REGION)
        spot = quotas.get_service_quota(ServiceCode="fargate", QuotaCode="L-36FBB829")["Quota"]
        assert (spot["QuotaName"], spot["Value"]) == ("Fargate Spot vCPU resource count", 12.0)
        vpc = quotas.get_service_quota(ServiceCode="vpc", QuotaCode="L-F678F1CE")["Quota"]  # moto's own answers stay
        assert vpc["ServiceCode"] == "vpc"

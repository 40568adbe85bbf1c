"""Service Quotas: Fargate's vCPU quotas, as a fresh account answers.

Each fix says which kind it is (a defect, a missing rule, a stand-in): see the package's first lines."""

from __future__ import annotations

from typing import Any

from .patching import Patcher, fix

# The local account's Fargate vCPU quotas (each account has its own; AWS adjusts them on request).
FARGATE_VCPU_QUOTA_VARIABLE = "RISKBATCH_FARGATE_VCPU_QUOTA"


FARGATE_QUOTAS = {"L-3032A538": "Fargate On-Demand vCPU resource count", "L-36FBB829": "Fargate Spot vCPU resource count"}


@fix
def service_quotas_answer_for_fargate(patch: Patcher) -> None:
    """Stand-in. moto's Service Quotas knows the VPC's quotas only, so GetServiceQuota for
    Fargate's vCPU quotas (service code fargate, ECS developer guide "Amazon ECS service quotas")
    found nothing. The fix answers for the two with the local account's value, 64 vCPU unless the
    emulator is started with RISKBATCH_FARGATE_VCPU_QUOTA, in the shape of the Service Quotas API."""
    import os

    from moto.servicequotas import models as quotas

    original = quotas.ServiceQuotasBackend.get_service_quota

    def get_service_quota(self: Any, service_code: str, quota_code: str) -> dict[str, Any]:
        if service_code == "fargate" and quota_code in FARGATE_QUOTAS:
            return {
                "ServiceCode": "fargate",
                "ServiceName": "AWS Fargate",
                "QuotaArn": f"arn:aws:servicequotas:{self.region_name}:{self.account_id}:fargate/{quota_code}",
                "QuotaCode": quota_code,
                "QuotaName": FARGATE_QUOTAS[quota_code],
                "Value": float(os.environ.get(FARGATE_VCPU_QUOTA_VARIABLE, "64")),
                "Unit": "None",
                "Adjustable": True,
                "GlobalQuota": False,
            }
        return original(self, service_code, quota_code)

    patch.set(quotas.ServiceQuotasBackend, "get_service_quota", get_service_quota)

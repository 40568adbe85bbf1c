"""Will the night's tasks start? Fargate's vCPU quotas, the subnets' free addresses, ECS's service-linked role,
and whether tonight's book fits before 09:30 New York.

- Fargate's vCPU quotas, service code fargate: L-3032A538 (On-Demand) and L-36FBB829 (Spot);
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html
- every Fargate task (awsvpc) takes one elastic network interface, so one IP address of its subnet;
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-networking.html
- ECS needs its service-linked role AWSServiceRoleForECS (created on first use, if the caller may);
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html"""

from __future__ import annotations

import math

from riskbatch.operations.preflight.findings import FAIL, HEADROOM, PASS, WARN, Account, Clients, Finding, Peak, error_code

FARGATE_ON_DEMAND_VCPU = "L-3032A538"


FARGATE_SPOT_VCPU = "L-36FBB829"


ECS_SERVICE_LINKED_ROLE = "AWSServiceRoleForECS"


def fargate_quotas(clients: Clients, account: Account) -> list[Finding]:
    on_demand, spot = account.peak.vcpu()
    quotas = clients("service-quotas")
    findings = []
    wanted = (("Fargate On-Demand vCPU quota", FARGATE_ON_DEMAND_VCPU, on_demand), ("Fargate Spot vCPU quota", FARGATE_SPOT_VCPU, spot))
    for name, code, needed in wanted:
        expected = f">= {needed:g} vCPU (peak), {needed * HEADROOM:g} with headroom"
        fix = (
            "request an increase: aws service-quotas request-service-quota-increase --service-code fargate "
            f"--quota-code {code} --desired-value {math.ceil(needed * HEADROOM)}"
        )
        try:
            value = float(quotas.get_service_quota(ServiceCode="fargate", QuotaCode=code)["Quota"]["Value"])
        except Exception as error:  # the account's answer decides; a refused call is a finding, not a crash
            unknown = f"unknown ({error_code(error)})"
            findings.append(Finding(name, expected, unknown, WARN, "allow servicequotas:GetServiceQuota, or check the quota in the console"))
            continue
        status = FAIL if value < needed else WARN if value < needed * HEADROOM else PASS
        findings.append(Finding(name, expected, f"{value:g} vCPU", status, fix if status != PASS else ""))
    return findings


def subnet_capacity(clients: Clients, account: Account) -> list[Finding]:
    if not account.subnets:  # DescribeSubnets with no SubnetIds describes every subnet of the account, not none
        return [Finding("task subnets", "PrivateSubnet1Id..3Id", "none given", FAIL, "give the stack's three private subnets (PrivateSubnet1Id..3Id)")]
    subnets = clients("ec2").describe_subnets(SubnetIds=account.subnets)["Subnets"]
    peak = account.peak.tasks
    free = {subnet["SubnetId"]: int(subnet["AvailableIpAddressCount"]) for subnet in subnets}
    zones = {subnet["AvailabilityZone"] for subnet in subnets}
    total = sum(free.values())
    findings = [
        Finding(
            "free IP addresses in the task subnets",
            f">= {peak} (one per task at the peak), {math.ceil(peak * HEADROOM)} with headroom",
            ", ".join(f"{subnet} {count}" for subnet, count in sorted(free.items())) + f" (total {total})",
            FAIL if total < peak else WARN if total < peak * HEADROOM else PASS,
            "" if total >= peak * HEADROOM else "free addresses (delete unused ENIs) or give the stack larger subnets (PrivateSubnet1Id..3Id)",
        )
    ]
    findings.append(
        Finding(
            "task subnets in distinct Availability Zones",
            f"{len(account.subnets)} zones",
            ", ".join(sorted(zones)),
            PASS if len(zones) == len(account.subnets) else FAIL,
            "" if len(zones) == len(account.subnets) else "choose one private subnet in each of three zones",
        )
    )
    return findings


def service_linked_role(clients: Clients, account: Account) -> list[Finding]:
    iam = clients("iam")
    try:
        iam.get_role(RoleName=ECS_SERVICE_LINKED_ROLE)
        return [Finding("ECS service-linked role", "exists", "exists", PASS)]
    except Exception as error:
        if error_code(error) != "NoSuchEntity":
            return [Finding("ECS service-linked role", "exists", f"unknown ({error_code(error)})", WARN, "allow iam:GetRole on it")]
    fix = "aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com"
    return [Finding("ECS service-linked role", "exists (ECS creates it on first use if the deployer may)", "missing", WARN, fix)]


def _quota(clients: Clients, code: str) -> float:
    return float(clients("service-quotas").get_service_quota(ServiceCode="fargate", QuotaCode=code)["Quota"]["Value"])


def night_fits(clients: Clients, account: Account) -> list[Finding]:
    """riskbatch plan's hours for tonight's book on the risk tasks the quota leaves, against the window."""
    if account.tonight is None or account.risk_workload is None:
        return []
    from riskbatch.operations.plan import hours_with, load_calibration

    night, risk = account.tonight, account.risk_workload
    others_on_demand, others_spot = Peak(tuple(w for w in account.peak.workloads if w.name != risk.name)).vcpu()
    name = "tonight's book fits before 09:30 New York"
    try:
        spare = _quota(clients, FARGATE_ON_DEMAND_VCPU) - others_on_demand
        if risk.capacity.spot_weight:
            spare += _quota(clients, FARGATE_SPOT_VCPU) - others_spot
    except Exception as error:
        return [Finding(name, "the quota known", f"unknown ({error_code(error)})", WARN, "allow servicequotas:GetServiceQuota")]
    tasks = max(0, min(risk.tasks, math.floor(spare / risk.vcpu)))
    window = night.window_hours * (1 - night.safety)
    expected = f"<= {window:.1f} h ({night.window_hours:.1f} h to 09:30, {100 * night.safety:.0f} % kept free)"
    if tasks == 0:
        return [Finding(name, expected, "no risk task fits in the quota", FAIL, "request a Fargate vCPU quota increase")]
    hours = hours_with(night, load_calibration(), int(risk.vcpu * 1024), tasks)
    fits = hours <= window
    found = f"{hours * 60:.1f} min on {tasks} task(s) of {risk.vcpu:g} vCPU ({night.positions:,} positions, {night.scenarios:,} scenarios)"
    fix = "" if fits else "raise RiskCalculationMaxTasks and the Fargate quota, or split the book"
    return [Finding(name, expected, found, PASS if fits else FAIL, fix)]

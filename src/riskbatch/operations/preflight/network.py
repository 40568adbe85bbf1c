"""Will the network carry the night? Fargate in the task subnets' zones; and, for the VPC endpoints'
template, each endpoint service offered in those zones, the VPC's DNS able to serve private DNS, and no
other private-DNS endpoint of the same service already in the VPC.

- Fargate runs Linux tasks in some Regions only in some Availability Zones, named by zone ID
  (riskbatch.operations.preflight.fargate_zones, from the ECS developer guide's "AWS Fargate Regions").
- An endpoint service is offered in the zones DescribeVpcEndpointServices lists for it (ServiceDetail,
  AvailabilityZones: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ServiceDetail.html); an
  interface endpoint cannot place its network interface in a subnet of any other zone.
- "To use a private hosted zone, you must set the following VPC attributes to true: enableDnsHostnames
  and enableDnsSupport" (EC2 API reference, CreateVpcEndpoint, PrivateDnsEnabled:
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVpcEndpoint.html).
- Private DNS associates with the VPC a private hosted zone for the service's default name: a second
  private-DNS endpoint of the same service in the VPC claims the same name and is refused ("conflicting
  DNS domain"), so the template leaves out each endpoint the VPC already has (its Create*Endpoint parameters)."""

from __future__ import annotations

from typing import Any

from riskbatch.operations.preflight.fargate_zones import FARGATE_LINUX_ZONE_IDS, SOURCE
from riskbatch.operations.preflight.findings import FAIL, PASS, Account, Clients, Finding, error_code

# Endpoints in these states no longer hold the service's private DNS name.
GONE = ("deleted", "deleting", "failed", "rejected", "expired")


def _subnet_zones(ec2: Any, subnets: list[str]) -> dict[str, tuple[str, str]]:
    """subnet -> (zone name, zone ID)."""
    found = ec2.describe_subnets(SubnetIds=subnets)["Subnets"]
    return {subnet["SubnetId"]: (subnet["AvailabilityZone"], subnet.get("AvailabilityZoneId", "?")) for subnet in found}


def fargate_zones(clients: Clients, account: Account) -> list[Finding]:
    """The task subnets in zones where Fargate runs Linux tasks."""
    if not account.subnets:
        return []
    ec2 = clients("ec2")
    region = ec2.meta.region_name
    zones = _subnet_zones(ec2, account.subnets)
    found = ", ".join(f"{subnet} {name} ({zone_id})" for subnet, (name, zone_id) in sorted(zones.items()))
    check = "Fargate runs tasks in the task subnets' zones"
    supported = FARGATE_LINUX_ZONE_IDS.get(region)
    if supported is None:
        return [Finding(check, f"any zone of {region} (the ECS guide limits none)", found, PASS)]
    outside = sorted(f"{subnet} ({zone_id})" for subnet, (_, zone_id) in zones.items() if zone_id not in supported)
    expected = f"zone IDs {', '.join(supported)} ({region})"
    if not outside:
        return [Finding(check, expected, found, PASS)]
    fix = f"Fargate places no task in {', '.join(outside)}: give the stack private subnets in {', '.join(supported)} ({SOURCE})"
    return [Finding(check, expected, found, FAIL, fix)]


def _offered_zones(ec2: Any, service: str) -> list[str] | None:
    """The zones an endpoint service is offered in; None when the Region does not offer it."""
    try:
        details = ec2.describe_vpc_endpoint_services(ServiceNames=[service])["ServiceDetails"]
    except Exception as error:
        if error_code(error) == "InvalidServiceName":
            return None
        raise
    return sorted({zone for detail in details if detail.get("ServiceName") == service for zone in detail.get("AvailabilityZones", [])}) if details else None


def endpoint_services_in_zones(clients: Clients, account: Account) -> list[Finding]:
    """Each interface endpoint's service offered in every task subnet's zone."""
    if not account.interface_endpoints or not account.subnets:
        return []
    ec2 = clients("ec2")
    zones = _subnet_zones(ec2, account.subnets)
    problems = []
    for service, parameter in sorted(account.interface_endpoints.items()):
        offered = _offered_zones(ec2, service)
        if offered is None:
            problems.append((f"{service} not offered in this Region", parameter))
            continue
        missing = sorted(f"{name} ({subnet})" for subnet, (name, _) in zones.items() if name not in offered)
        if missing:
            problems.append((f"{service} not in {', '.join(missing)}", parameter))
    check = "endpoint services offered in the subnets' zones"
    expected = f"{len(account.interface_endpoints)} services in {', '.join(sorted(name for name, _ in zones.values()))}"
    if not problems:
        return [Finding(check, expected, "all offered", PASS)]
    leave_out = ", ".join(f"{parameter}=false" for _, parameter in problems)
    fix = f"choose subnets in zones every service is offered in (aws ec2 describe-vpc-endpoint-services), or deploy with {leave_out} and use a NAT for them"
    return [Finding(check, expected, "; ".join(problem for problem, _ in problems), FAIL, fix)]


def vpc_dns_attributes(clients: Clients, account: Account) -> list[Finding]:
    """The VPC's enableDnsSupport and enableDnsHostnames, without which private DNS cannot be used."""
    if not account.interface_endpoints or not account.vpc_id:
        return []
    ec2 = clients("ec2")
    values = {
        attribute: bool(ec2.describe_vpc_attribute(VpcId=account.vpc_id, Attribute=attribute)[key]["Value"])
        for attribute, key in (("enableDnsSupport", "EnableDnsSupport"), ("enableDnsHostnames", "EnableDnsHostnames"))
    }
    found = ", ".join(f"{attribute} {'true' if value else 'false'}" for attribute, value in values.items())
    check, expected = "VPC DNS for private-DNS endpoints", "enableDnsSupport true, enableDnsHostnames true"
    off = [attribute for attribute, value in values.items() if not value]
    if not off:
        return [Finding(check, expected, found, PASS)]
    flags = " && ".join(f"aws ec2 modify-vpc-attribute --vpc-id {account.vpc_id} --{_option(attribute)} '{{\"Value\":true}}'" for attribute in off)
    return [Finding(check, expected, found, FAIL, f"{flags} (the endpoints' private DNS needs both)")]


def _option(attribute: str) -> str:
    """enableDnsHostnames -> enable-dns-hostnames, the CLI's option."""
    return "".join(f"-{character.lower()}" if character.isupper() else character for character in attribute)


def existing_private_dns_endpoints(clients: Clients, account: Account) -> list[Finding]:
    """No private-DNS interface endpoint of a service the template is about to create already in the VPC."""
    if not account.interface_endpoints or not account.vpc_id:
        return []
    existing: dict[str, list[str]] = {}
    for page in clients("ec2").get_paginator("describe_vpc_endpoints").paginate(Filters=[{"Name": "vpc-id", "Values": [account.vpc_id]}]):
        for endpoint in page["VpcEndpoints"]:
            service, endpoint_id = endpoint.get("ServiceName", ""), endpoint["VpcEndpointId"]
            this_stacks_or_elsewhere = endpoint_id in account.own_endpoint_ids or endpoint.get("VpcId", account.vpc_id) != account.vpc_id
            live = str(endpoint.get("State", "")).lower() not in GONE
            if endpoint.get("PrivateDnsEnabled") and service in account.interface_endpoints and live and not this_stacks_or_elsewhere:
                existing.setdefault(service, []).append(endpoint_id)
    check, expected = "no private-DNS endpoint of the same service in the VPC", "none (one per service per VPC)"
    if not existing:
        return [Finding(check, expected, "none", PASS)]
    found = "; ".join(f"{service}: {', '.join(sorted(ids))}" for service, ids in sorted(existing.items()))
    leave_out = " ".join(f"--parameter {account.interface_endpoints[service]}=false" for service in sorted(existing))
    fix = f"the VPC already answers these services' private DNS names, and a second endpoint is refused: deploy with {leave_out}"
    return [Finding(check, expected, found, FAIL, fix)]

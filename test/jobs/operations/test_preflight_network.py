"""Preflight's network checks: Fargate's zones for the task subnets, and, for the VPC endpoints' template,
each endpoint service offered in the subnets' zones, the VPC's DNS attributes and no second private-DNS
endpoint of a service.

Against moto in-process where it models the answer; zones and endpoint services moto cannot produce
(an unsupported Fargate zone, a service missing from a zone) through botocore's Stubber, whose responses
are checked against EC2's service model.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from riskbatch.operations.preflight import checks, network
from riskbatch.operations.preflight.fargate_zones import FARGATE_LINUX_ZONE_IDS, SOURCE
from riskbatch.operations.preflight.findings import FAIL, PASS, Account, Peak

REGION = "us-east-1"
SERVICES = {f"com.amazonaws.{REGION}.ecr.api": "CreateEcrApiEndpoint", f"com.amazonaws.{REGION}.logs": "CreateLogsEndpoint"}


@pytest.fixture
def aws() -> Iterator[Any]:
    with mock_aws():
        yield lambda service: boto3.client(service, region_name=REGION)


def _network(clients: Any, zones: str = "abc") -> tuple[str, list[str]]:
    ec2 = clients("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.8.{i}.0/24", AvailabilityZone=f"{REGION}{z}")["Subnet"]["SubnetId"] for i, z in enumerate(zones)]
    return vpc, subnets


def _subnets_client(region: str, zones: list[tuple[str, str]]) -> Any:
    """EC2 describing one subnet per (zone name, zone ID)."""
    client = boto3.client("ec2", region_name=region, aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    subnets = [
        {"SubnetId": f"subnet-{i}", "AvailabilityZone": name, "AvailabilityZoneId": zone_id, "VpcId": "vpc-1", "AvailableIpAddressCount": 250}
        for i, (name, zone_id) in enumerate(zones)
    ]
    stubber.add_response("describe_subnets", {"Subnets": subnets})
    stubber.activate()
    return client


# ECS developer guide, "Supported Regions for Amazon ECS on AWS Fargate", Linux containers
# (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/AWS_Fargate-Regions.html): ap-northeast-1
# apne1-az1, az2 and az4 only; us-west-1 usw1-az1 and az3 only; other Regions note no zone.
@pytest.mark.parametrize(
    ("region", "zones", "expected"),
    [
        ("ap-northeast-1", [("ap-northeast-1a", "apne1-az4"), ("ap-northeast-1c", "apne1-az1"), ("ap-northeast-1d", "apne1-az2")], PASS),
        ("ap-northeast-1", [("ap-northeast-1a", "apne1-az4"), ("ap-northeast-1b", "apne1-az3"), ("ap-northeast-1d", "apne1-az2")], FAIL),
        ("us-west-1", [("us-west-1a", "usw1-az3"), ("us-west-1b", "usw1-az1"), ("us-west-1c", "usw1-az2")], FAIL),
        ("us-east-1", [("us-east-1a", "use1-az6"), ("us-east-1e", "use1-az3"), ("us-east-1b", "use1-az1")], PASS),
    ],
    ids=["tokyo-supported", "tokyo-az3", "n-california-az2", "virginia-any"],
)
def test_the_task_subnets_are_in_zones_where_fargate_runs_linux_tasks(region: str, zones: list[tuple[str, str]], expected: str) -> None:
    client = _subnets_client(region, zones)
    (finding,) = network.fargate_zones(lambda service: client, Account(subnets=[f"subnet-{i}" for i in range(3)], peak=Peak(())))
    assert finding.status == expected, finding
    if expected == FAIL:
        outside = [zone_id for _, zone_id in zones if zone_id not in FARGATE_LINUX_ZONE_IDS[region]]
        assert all(zone_id in finding.fix for zone_id in outside) and SOURCE in finding.fix
        assert all(zone_id in finding.fix for zone_id in FARGATE_LINUX_ZONE_IDS[region])
    assert network.fargate_zones in checks.ALL


def test_the_zone_table_keeps_its_source_and_names_zone_ids_of_its_own_region() -> None:
    assert SOURCE.startswith("https://docs.aws.amazon.com/AmazonECS/") and "us-east-1" not in FARGATE_LINUX_ZONE_IDS
    prefixes = {"us-west-1": "usw1-az", "ap-northeast-1": "apne1-az", "cn-north-1": "cnn1-az"}
    assert all(zone.startswith(prefixes[region]) for region, zones in FARGATE_LINUX_ZONE_IDS.items() for zone in zones)


def test_moto_s_subnets_pass_the_zone_check(aws: Any) -> None:
    _, subnets = _network(aws)
    (finding,) = network.fargate_zones(aws, Account(subnets=subnets, peak=Peak(())))
    assert finding.status == PASS and "use1-az" in finding.found


def _endpoint(vpc: str, subnets: list[str]) -> Account:
    return Account(subnets=subnets, peak=Peak(()), vpc_id=vpc, interface_endpoints=dict(SERVICES))


def test_endpoint_services_offered_in_every_subnet_zone_pass(aws: Any) -> None:
    vpc, subnets = _network(aws)
    (finding,) = network.endpoint_services_in_zones(aws, _endpoint(vpc, subnets))
    assert finding.status == PASS, finding
    assert network.endpoint_services_in_zones in checks.NETWORK


def test_an_endpoint_service_missing_from_a_subnet_zone_fails_and_names_its_parameter() -> None:
    # EC2 API reference, ServiceDetail.AvailabilityZones: the zones the service is offered in
    # (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ServiceDetail.html)
    client = boto3.client("ec2", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    zones = [f"{REGION}{z}" for z in "abc"]
    stubber.add_response("describe_subnets", {"Subnets": [{"SubnetId": f"subnet-{z}", "AvailabilityZone": z, "AvailabilityZoneId": "x"} for z in zones]})
    offered = {"ecr.api": zones, "logs": zones[:2]}
    for service in sorted(offered):
        detail = {"ServiceName": f"com.amazonaws.{REGION}.{service}", "AvailabilityZones": offered[service]}
        stubber.add_response("describe_vpc_endpoint_services", {"ServiceDetails": [detail]}, {"ServiceNames": [detail["ServiceName"]]})
    stubber.activate()
    account = _endpoint("vpc-1", [f"subnet-{z}" for z in zones])
    (finding,) = network.endpoint_services_in_zones(lambda service: client, account)
    assert finding.status == FAIL and f"logs not in {REGION}c (subnet-{REGION}c)" in finding.found
    assert "CreateLogsEndpoint=false" in finding.fix and "CreateEcrApiEndpoint" not in finding.fix


def test_a_service_the_region_does_not_offer_fails(aws: Any) -> None:
    vpc, subnets = _network(aws)
    account = Account(subnets=subnets, peak=Peak(()), vpc_id=vpc, interface_endpoints={f"com.amazonaws.{REGION}.no-such-service": "CreateNoSuchEndpoint"})
    (finding,) = network.endpoint_services_in_zones(aws, account)
    assert finding.status == FAIL and "not offered in this Region" in finding.found and "CreateNoSuchEndpoint=false" in finding.fix


@pytest.mark.parametrize(("support", "hostnames", "expected"), [(True, True, PASS), (True, False, FAIL), (False, True, FAIL)])
def test_private_dns_needs_both_vpc_dns_attributes(aws: Any, support: bool, hostnames: bool, expected: str) -> None:
    # EC2 API reference, CreateVpcEndpoint, PrivateDnsEnabled: "To use a private hosted zone, you must set the
    # following VPC attributes to true: enableDnsHostnames and enableDnsSupport"
    # (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVpcEndpoint.html)
    vpc, subnets = _network(aws)
    ec2 = aws("ec2")
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": support})
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": hostnames})
    (finding,) = network.vpc_dns_attributes(aws, _endpoint(vpc, subnets))
    assert finding.status == expected, finding
    off = [option for option, on in (("--enable-dns-support", support), ("--enable-dns-hostnames", hostnames)) if not on]
    assert all(f"aws ec2 modify-vpc-attribute --vpc-id {vpc} {option}" in finding.fix for option in off)
    assert network.vpc_dns_attributes in checks.NETWORK


def test_a_vpc_whose_dns_attributes_were_never_set_fails(aws: Any) -> None:
    vpc, subnets = _network(aws)  # a new VPC: enableDnsHostnames false (as EC2 creates a non-default VPC)
    (finding,) = network.vpc_dns_attributes(aws, _endpoint(vpc, subnets))
    assert finding.status == FAIL and "enableDnsHostnames false" in finding.found


def test_a_private_dns_endpoint_already_in_the_vpc_fails_and_says_which_parameter_leaves_ours_out(aws: Any) -> None:
    # Private DNS is one endpoint per service per VPC (EC2 API reference, CreateVpcEndpoint, PrivateDnsEnabled:
    # a private hosted zone for the service's default name is associated with the VPC)
    vpc, subnets = _network(aws)
    ec2 = aws("ec2")
    logs = ec2.create_vpc_endpoint(
        VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.logs", VpcEndpointType="Interface", PrivateDnsEnabled=True, SubnetIds=subnets[:1]
    )["VpcEndpoint"]["VpcEndpointId"]
    api = f"com.amazonaws.{REGION}.ecr.api"
    ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=api, VpcEndpointType="Interface", PrivateDnsEnabled=False, SubnetIds=subnets[:1])
    other_vpc, other_subnets = _network(aws, "d")
    ec2.create_vpc_endpoint(
        VpcId=other_vpc, ServiceName=f"com.amazonaws.{REGION}.ecr.api", VpcEndpointType="Interface", PrivateDnsEnabled=True, SubnetIds=other_subnets
    )
    (finding,) = network.existing_private_dns_endpoints(aws, _endpoint(vpc, subnets))
    assert finding.status == FAIL and finding.found == f"com.amazonaws.{REGION}.logs: {logs}"
    assert "--parameter CreateLogsEndpoint=false" in finding.fix and "CreateEcrApiEndpoint" not in finding.fix
    assert network.existing_private_dns_endpoints in checks.NETWORK


def test_the_stack_s_own_endpoints_are_not_a_clash(aws: Any) -> None:
    """An update of the endpoints' stack finds its own endpoints in the VPC."""
    vpc, subnets = _network(aws)
    own = aws("ec2").create_vpc_endpoint(
        VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.logs", VpcEndpointType="Interface", PrivateDnsEnabled=True, SubnetIds=subnets
    )["VpcEndpoint"]["VpcEndpointId"]
    account = Account(subnets=subnets, peak=Peak(()), vpc_id=vpc, interface_endpoints=dict(SERVICES), own_endpoint_ids=[own])
    (finding,) = network.existing_private_dns_endpoints(aws, account)
    assert finding.status == PASS, finding


def test_the_environment_stack_has_no_endpoint_checks(aws: Any) -> None:
    account = Account(subnets=["subnet-1"], peak=Peak(()), vpc_id="vpc-1")
    checked = [each(aws, account) for each in checks.NETWORK]
    assert checked == [[], [], []]

"""The EC2 fixes (src/riskbatch_platform/local/emulator/ec2.py): each defect or missing rule is there in moto as shipped, and gone with the fix.

Network interfaces without a private DNS name (a Fargate task cannot run; the fix's cases are the ECS ones), and
the character set EC2 allows in security-group and rule descriptions. Runs moto in-process (mock_aws).
"""

from __future__ import annotations

import json

import boto3
import pytest

from riskbatch_platform.local import emulator
from test.platform.local.emulator.support import REGION, _code, _fargate_task, _run, patched


def test_moto_cannot_run_a_fargate_task(aws: None) -> None:
    definition, subnets, groups = _fargate_task()
    with pytest.raises(AttributeError, match="private_dns_name"):
        _run(boto3.Session(region_name=REGION), "c1", definition, subnets, groups)


# EC2 refuses security-group and rule descriptions outside a-zA-Z0-9 ._-:/()#,@[]+=&;{}!$*
# (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IpRange.html) with InvalidParameterValue.
_APOSTROPHE = "HTTPS from the private subnets' tasks"


def _security_group_calls() -> tuple[str, str, str, str]:
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName="secgroup-fine-x", Description="fine", VpcId=vpc)["GroupId"]
    rule = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/16", "Description": _APOSTROPHE}]}
    return (
        _code(lambda: ec2.create_security_group(GroupName="secgroup-bad-x", Description=_APOSTROPHE, VpcId=vpc)),
        _code(lambda: ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[rule])),
        _code(lambda: ec2.authorize_security_group_egress(GroupId=group, IpPermissions=[rule])),
        _code(lambda: ec2.create_security_group(GroupName="secgroup-good-x", Description="HTTPS from the tasks in the private subnets", VpcId=vpc)),
    )


def _stack_with_rule_description(description: str) -> str:
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    vpc = boto3.client("ec2", region_name=REGION).create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    group = {
        "Type": "AWS::EC2::SecurityGroup",
        "Properties": {
            "GroupDescription": "endpoints",
            "VpcId": vpc,
            "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.1.0.0/16", "Description": description}],
        },
    }
    # moto creates the stack within the call: the resource's error is the call's
    created = _code(lambda: cloudformation.create_stack(StackName="stack-sg-x", TemplateBody=json.dumps({"Resources": {"Group": group}})))
    return cloudformation.describe_stacks(StackName="stack-sg-x")["Stacks"][0]["StackStatus"] if created == "OK" else created


def test_moto_accepts_any_security_group_description(aws: None) -> None:
    assert _security_group_calls() == ("OK", "OK", "OK", "OK")
    assert _stack_with_rule_description(_APOSTROPHE) == "CREATE_COMPLETE"


def test_ec2_refuses_descriptions_outside_its_character_set(aws: None) -> None:
    with patched(emulator.ec2.ec2_refuses_descriptions_outside_its_character_set):
        assert _security_group_calls() == ("InvalidParameterValue", "InvalidParameterValue", "InvalidParameterValue", "OK")
        assert _stack_with_rule_description(_APOSTROPHE) == "InvalidParameterValue"


def test_ec2_accepts_the_endpoints_stack_rule_descriptions(aws: None) -> None:
    with patched(emulator.ec2.ec2_refuses_descriptions_outside_its_character_set):
        assert _stack_with_rule_description("HTTPS from the tasks in the private subnets") == "CREATE_COMPLETE"


def _offers(service: str) -> str:
    return _code(lambda: boto3.client("ec2", region_name=REGION).describe_vpc_endpoint_services(ServiceNames=[f"com.amazonaws.{REGION}.{service}"]))


def test_moto_does_not_offer_the_service_quotas_endpoint_service(aws: None) -> None:
    assert (_offers("servicequotas"), _offers("logs")) == ("InvalidServiceName", "OK")


def test_ec2_offers_the_service_quotas_endpoint_service_in_every_zone(aws: None) -> None:
    # "AWS services that integrate with AWS PrivateLink": com.amazonaws.<region>.servicequotas
    # (https://docs.aws.amazon.com/vpc/latest/privatelink/aws-services-privatelink-support.html)
    with patched(emulator.ec2.ec2_offers_the_service_quotas_endpoint_service):
        ec2 = boto3.client("ec2", region_name=REGION)
        (detail,) = ec2.describe_vpc_endpoint_services(ServiceNames=[f"com.amazonaws.{REGION}.servicequotas"])["ServiceDetails"]
        zones = [zone["ZoneName"] for zone in ec2.describe_availability_zones()["AvailabilityZones"]]
        assert sorted(detail["AvailabilityZones"]) == sorted(zones) and detail["ServiceType"] == [{"ServiceType": "Interface"}]
        assert _offers("logs") == "OK"
    assert _offers("servicequotas") == "InvalidServiceName"  # undone with the fix

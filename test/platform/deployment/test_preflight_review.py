"""riskbatch-preflight on a stack that only holds a change set under review (REVIEW_IN_PROGRESS), and the subnet
check with no subnets: never every subnet of the account."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from riskbatch.operations.preflight import capacity
from riskbatch.operations.preflight.findings import FAIL, Account, Peak, Workload
from riskbatch_platform.deployment import preflight

REGION = "us-east-1"
TEMPLATE = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}


# A change set of ChangeSetType CREATE leaves the stack REVIEW_IN_PROGRESS, with no resources and no parameters
# (API reference, CreateChangeSet, ChangeSetType: https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html).
def test_a_stack_under_review_is_not_deployed_and_no_subnet_of_the_account_is_read(capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws():
        cfn = boto3.client("cloudformation", region_name=REGION)
        cfn.create_change_set(StackName="riskbatch-new", ChangeSetName="first", TemplateBody=json.dumps(TEMPLATE), ChangeSetType="CREATE")
        assert cfn.describe_stacks(StackName="riskbatch-new")["Stacks"][0]["StackStatus"] == "REVIEW_IN_PROGRESS"
        ec2 = boto3.client("ec2", region_name=REGION)
        ec2.create_subnet(VpcId=ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"], CidrBlock="10.1.1.0/24")  # none is looked at
        assert preflight.main(["--stack-name", "riskbatch-new", "--region", REGION]) == 4
    assert capsys.readouterr().err.splitlines()[-1].startswith("riskbatch-preflight: error: no stack riskbatch-new in us-east-1: check --stack-name")


class _NoSubnetCall:
    def __call__(self, service: str) -> object:
        raise AssertionError(f"{service} called: DescribeSubnets with no SubnetIds describes every subnet of the account")


# EC2 API reference, DescribeSubnets, SubnetIds: "Default: Describes all your subnets."
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSubnets.html
def test_no_subnets_is_a_failure_without_describing_every_subnet() -> None:
    (finding,) = capacity.subnet_capacity(_NoSubnetCall(), Account(subnets=[], peak=Peak((Workload("risk-calculation", 2, 1.0),))))
    assert finding.status == FAIL and "PrivateSubnet1Id" in finding.fix

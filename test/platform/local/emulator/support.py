"""What the emulator fixes' cases share: the account and Region, applying fixes, enforcing IAM, a user with a
policy, a call's answer, a deployed template's outputs, and the cases used by more than one service's file
(ListBucket under a prefix, a Fargate task run with RunTask, the trigger's RunTask and PassRole policy).

Importing it imports every service's module of the emulator, so that FIXES holds every fix and
emulator.<service> is there to name one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.exceptions import ClientError
from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin

from riskbatch_platform.local.emulator import patching
from riskbatch_platform.local.emulator.patching import Patcher

# every service's module, so that FIXES holds every fix and emulator.<service> is there to name one
patching.import_module_of_each_service()

REGION = "us-east-1"
ACCOUNT = "123456789012"


@contextmanager
def patched(*fixes: Any) -> Iterator[None]:
    patcher = Patcher()
    for each in fixes:
        each(patcher)
    try:
        yield
    finally:
        patcher.undo()


@contextmanager
def enforced() -> Iterator[None]:
    previous = settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count
    settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = 0, 0
    try:
        yield
    finally:
        settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = previous


def _user(name: str, statements: list[dict[str, Any]]) -> boto3.Session:
    iam = boto3.client("iam", region_name=REGION)
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return boto3.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], region_name=REGION)


def _code(call: Any) -> str:
    """OK, "denied" for any 403 answer, or the error code."""
    try:
        call()
    except ClientError as error:
        if error.response["ResponseMetadata"]["HTTPStatusCode"] == 403:
            return "denied"
        return str(error.response["Error"]["Code"])
    return "OK"


def _deploy(template: dict[str, Any]) -> dict[str, str]:
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_stack(StackName="s", TemplateBody=json.dumps(template))
    (stack,) = cfn.describe_stacks(StackName="s")["Stacks"]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


LIST_RUNS_ONLY = [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::out", "Condition": {"StringLike": {"s3:prefix": "runs/*"}}}]


def _fargate_task(with_roles: bool = True) -> tuple[str, list[str], list[str]]:
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)["GroupId"]
    ecs = boto3.client("ecs", region_name=REGION)
    for name in ("c1", "c2"):
        ecs.create_cluster(clusterName=name)
    roles = {"taskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/task", "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/exec"} if with_roles else {}
    definition = ecs.register_task_definition(
        family="ingest",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "job", "image": "image", "essential": True, "memory": 512, "cpu": 256}],
        **roles,
    )["taskDefinition"]["taskDefinitionArn"]
    return definition, [subnet], [group]


def _run(session: boto3.Session, cluster: str, definition: str, subnets: list[str], groups: list[str]) -> str:
    network = {"awsvpcConfiguration": {"subnets": subnets, "securityGroups": groups, "assignPublicIp": "DISABLED"}}
    return _code(
        lambda: session.client("ecs").run_task(
            cluster=cluster, taskDefinition=definition, capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}], networkConfiguration=network
        )
    )


def _trigger_policy(definition: str, pass_to: str = "ecs-tasks.amazonaws.com") -> list[dict[str, Any]]:
    return [
        {
            "Effect": "Allow",
            "Action": "ecs:RunTask",
            "Resource": definition,
            "Condition": {"ArnEquals": {"ecs:cluster": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/c1"}},
        },
        {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": [f"arn:aws:iam::{ACCOUNT}:role/task", f"arn:aws:iam::{ACCOUNT}:role/exec"],
            "Condition": {"StringEquals": {"iam:PassedToService": pass_to}},
        },
    ]

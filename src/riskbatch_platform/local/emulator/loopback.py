"""An AWS emulator (moto's server) on loopback, and stand-ins for what the stack expects to exist."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from riskbatch_platform import REPO_ROOT
from riskbatch_platform.aws import Target

# Requests the emulator serves before it starts enforcing IAM: exactly the bootstrap below
# (for each of two users: create it, give it its policy, create its key).
BOOTSTRAP_REQUESTS = 6
DEPLOYER_POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
# The local stand-in for ECS may only assume roles (and only those that trust ECS tasks: see
# local/emulator/iam.py, local_runner_assumes_roles_as_ecs_or_eventbridge).
# What the runbook asks of a real output bucket's lifecycle, applied to the stand-in bucket too.
OUTPUT_BUCKET_LIFECYCLE = REPO_ROOT / "docs" / "output-bucket-lifecycle.json"
ECS_AGENT_POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::*:role/*"}]}'


@dataclass
class Emulator:
    endpoint_url: str
    region: str
    process: subprocess.Popen | None = None
    deployer: dict[str, str] = field(default_factory=dict)
    ecs_agent: dict[str, str] = field(default_factory=dict)

    @property
    def target(self) -> Target:
        """The emulator, called as the deployer (its root account before IAM enforcement)."""
        return Target(region=self.region, endpoint_url=self.endpoint_url, credentials=self.deployer)

    def client(self, service: str):
        return self.target.client(service)

    @property
    def agent_target(self) -> Target:
        """The emulator, called as the local stand-in for ECS (assumes task roles)."""
        return Target(region=self.region, endpoint_url=self.endpoint_url, credentials=self.ecs_agent)


def _wait_until_serving(port_file: Path, process: subprocess.Popen, log_path: Path, timeout: float = 60.0) -> str:
    """The emulator's URL, once it answers: on the port it bound itself and wrote to port_file (a port chosen
    here and bound later by the server could be taken in between by another server, which would answer instead)."""
    deadline = time.monotonic() + timeout
    url = ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the emulator exited with {process.returncode}; see {log_path}")
        if not url and port_file.exists():
            url = f"http://127.0.0.1:{int(port_file.read_text(encoding='utf-8'))}"
        if url:
            try:
                with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=2):
                    return url
            except OSError:
                pass
        time.sleep(0.2)
    raise RuntimeError(f"the emulator did not answer on {url or 'its port'} within {timeout:.0f} s; see {log_path}")


@contextmanager
def running_emulator(
    region: str = "us-east-1", enforce_iam: bool = True, log_dir: Path = Path("out"), settings: dict[str, str] | None = None
) -> Iterator[Emulator]:
    """Start moto's server (with the emulator's fixes) on a loopback port it binds itself; stop it on exit. `settings`:
    environment variables for this emulator's process only (RISKBATCH_FARGATE_VCPU_QUOTA and the like)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "emulator.log"
    port_file = Path(tempfile.mkdtemp(prefix="emulator-port-", dir=log_dir)) / "port"  # its own: two emulators of one log_dir never read each other's
    environment = {**os.environ, **(settings or {})}
    if enforce_iam:
        environment["INITIAL_NO_AUTH_ACTION_COUNT"] = str(BOOTSTRAP_REQUESTS)
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "riskbatch_platform.local.emulator.server", "--port-file", str(port_file), "-H", "127.0.0.1"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
        )
    emulator = Emulator(endpoint_url="", region=region, process=process)
    try:
        emulator.endpoint_url = _wait_until_serving(port_file, process, log_path)
        if enforce_iam:
            emulator.deployer, emulator.ecs_agent = bootstrap_users(emulator)
        yield emulator
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(port_file.parent, ignore_errors=True)


def bootstrap_users(emulator: Emulator) -> tuple[dict[str, str], dict[str, str]]:
    """The deployer (deploys and operates the stack) and the local ECS agent, created before enforcement starts."""
    from riskbatch_platform.local.emulator.patching import LOCAL_ECS_AGENT

    iam = emulator.target.client("iam")
    keys = []
    for user, policy in (("riskbatch-deployer", DEPLOYER_POLICY), (LOCAL_ECS_AGENT, ECS_AGENT_POLICY)):
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName="permissions", PolicyDocument=policy)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        keys.append({"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]})
    return keys[0], keys[1]


def set_scan_findings(emulator: Emulator, repositories: list[str], tag: str, severity_counts: dict[str, int]) -> None:
    """What the emulator's ECR reports for the next scans of repository:tag (it scans nothing itself)."""
    results = [
        {
            "imageScanFindings": {"findings": [], "findingSeverityCounts": severity_counts},
            "registryId": "123456789012",
            "repositoryName": repository,
            "imageId": {"imageTag": tag},
            "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed successfully."},
        }
        for repository in repositories
    ]
    body = json.dumps({"results": results, "region": emulator.region}).encode()
    request = urllib.request.Request(
        f"{emulator.endpoint_url}/moto-api/static/ecr/scan-finding-results",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


@dataclass(frozen=True)
class StandIns:
    vpc_id: str
    subnet_ids: list[str]
    input_bucket: str
    output_bucket: str
    template_bucket: str
    route_table_id: str = ""
    vpc_cidr: str = "10.42.0.0/16"

    def stack_parameters(self, suffix: str) -> dict[str, str]:
        """The stack's parameters that name these stand-ins (the customer's VPC, subnets and buckets)."""
        subnets = {f"PrivateSubnet{index}Id": subnet for index, subnet in enumerate(self.subnet_ids[:3], start=1)}
        return {"EnvironmentSuffix": suffix, "VpcId": self.vpc_id, **subnets, "InputBucketName": self.input_bucket, "OutputBucketName": self.output_bucket}


def create_stand_ins(emulator: Emulator, suffix: str) -> StandIns:
    """The existing VPC (three private subnets in three zones) and buckets that the stack receives as parameters."""
    ec2 = emulator.client("ec2")
    s3 = emulator.client("s3")
    vpc_id = ec2.create_vpc(CidrBlock=StandIns.vpc_cidr)["Vpc"]["VpcId"]
    subnet_ids = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.42.{index}.0/24", AvailabilityZone=f"{emulator.region}{zone}")["Subnet"]["SubnetId"]
        for index, zone in enumerate("abc")
    ]
    route_table = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    for subnet in subnet_ids:
        ec2.associate_route_table(RouteTableId=route_table, SubnetId=subnet)
    names = StandIns(vpc_id, subnet_ids, f"riskbatch-input-{suffix}", f"riskbatch-output-{suffix}", f"riskbatch-templates-{suffix}", route_table)
    iam = emulator.client("iam")
    try:  # an account that has run ECS before has its service-linked role (moto's own call misnames it)
        iam.get_role(RoleName="AWSServiceRoleForECS")
    except iam.exceptions.NoSuchEntityException:
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
        iam.create_role(RoleName="AWSServiceRoleForECS", Path="/aws-service-role/ecs.amazonaws.com/", AssumeRolePolicyDocument=json.dumps(trust))
    for bucket in (names.input_bucket, names.output_bucket, names.template_bucket):
        if emulator.region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": emulator.region})
    # The buckets as the runbook asks of real ones: both versioned (the input keeps a restated night's originals),
    # the output's records moved to an archive class.
    for bucket in (names.input_bucket, names.output_bucket):
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_lifecycle_configuration(Bucket=names.output_bucket, LifecycleConfiguration=json.loads(OUTPUT_BUCKET_LIFECYCLE.read_text(encoding="utf-8")))
    return names

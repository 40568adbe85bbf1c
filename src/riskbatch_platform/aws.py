"""boto3 clients for a real account or for the local emulator, and the Target of a command's --region,
--profile and --endpoint-url (resolved as the AWS CLI does: riskbatch.operations.aws_access)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

DEFAULT_REGION = "us-east-1"  # the emulator's and the tests' region; a command never falls back to it
_RETRIES = Config(retries={"max_attempts": 8, "mode": "adaptive"})


@dataclass(frozen=True)
class Target:
    """Where the AWS calls go (a real account when endpoint_url is None) and as whom."""

    region: str = DEFAULT_REGION
    endpoint_url: str | None = None
    profile: str | None = None
    credentials: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def is_emulator(self) -> bool:
        return self.endpoint_url is not None

    def as_principal(self, credentials: dict[str, str]) -> Target:
        """The same place, called with other credentials (an assumed role, a deployer user)."""
        return dataclasses.replace(self, credentials=dict(credentials))

    def session(self) -> boto3.Session:
        if self.credentials:
            return boto3.Session(region_name=self.region, **self.credentials)
        if self.is_emulator and "AWS_ACCESS_KEY_ID" not in os.environ:
            # The emulator's own account; real credentials are never sent to loopback.
            return boto3.Session(region_name=self.region, aws_access_key_id="testing", aws_secret_access_key="testing")
        return boto3.Session(region_name=self.region, profile_name=self.profile)

    def client(self, service: str, config: Config | None = None) -> Any:
        return self.session().client(service, endpoint_url=self.endpoint_url, config=_RETRIES.merge(config) if config else _RETRIES)


def command_target(region: str | None, profile: str | None, endpoint_url: str | None, prog: str) -> Target:
    """Where a command's calls go: the region as the AWS CLI finds it (flag, AWS_REGION, AWS_DEFAULT_REGION,
    the profile's), or OperatorError; the account and region are printed before anything changes."""
    from riskbatch.operations.aws_access import announce, resolve_region

    target = Target(region=resolve_region(region, profile), endpoint_url=endpoint_url, profile=profile)
    announce(target.client, target.region, prog)
    return target

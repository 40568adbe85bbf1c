"""boto3 clients for a real account or for the local emulator."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

DEFAULT_REGION = "us-east-1"
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

    def client(self, service: str) -> Any:
        return self.session().client(service, endpoint_url=self.endpoint_url, config=_RETRIES)

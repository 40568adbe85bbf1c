"""The deployed stack as an operator's laptop finds it: its outputs and parameters, read with the
operator's own credentials (riskbatch status, riskbatch rerun). Nothing here needs a task's
environment: the region and credentials come from --region/--profile or the usual AWS settings.

A problem of the operator's setup (no region, no credentials, no such stack, a read refused) is
one message and an exit code, never a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

EXIT_NO_AWS = 3  # no region or no credentials, or AWS cannot be reached
EXIT_NO_STACK = 4  # no such stack, or not a stack of this template (its outputs are missing)
EXIT_REFUSED = 5  # AWS refused a call (the operation and AWS's code and message are printed)


# A ClientError that means the credentials' session ended, not that the call was refused.
EXPIRED_TOKEN = frozenset({"ExpiredToken", "ExpiredTokenException"})


class OperatorError(Exception):
    """What went wrong, for the operator, with the command's exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class SessionExpired(OperatorError):
    """The credentials' session ended: `aws sso login` for a profile. The profile is the one given (aws_errors(profile=...),
    or the command's --profile, filled in by the error boundary: named()), else AWS_PROFILE when said; never one kept
    from an earlier call in the same process."""

    def __init__(self, detail: str, profile: str | None = None) -> None:
        self.detail, self.profile = detail, profile
        super().__init__(f"the AWS session has expired ({detail}): {self._login()}", EXIT_NO_AWS)

    def _login(self) -> str:
        named = self.profile or os.environ.get("AWS_PROFILE") or "<your profile>"
        return f"renew it with aws sso login --profile {named} (or fresh keys), then run the command again"

    def __str__(self) -> str:  # AWS_PROFILE as it is when said, not when raised
        return f"the AWS session has expired ({self.detail}): {self._login()}"

    def named(self, profile: str | None) -> SessionExpired:
        """The same expiry, naming profile unless it names one already."""
        return self if self.profile or not profile else SessionExpired(self.detail, profile)


def session(region: str | None, profile: str | None) -> Any:
    """A boto3 session with a region, or OperatorError (the endpoint comes from AWS_ENDPOINT_URL when set)."""
    import boto3
    from botocore.exceptions import ProfileNotFound

    # botocore reads AWS_DEFAULT_REGION and the profile's region; AWS_REGION (what the AWS CLI v2 and the SDKs read) too
    region = region or os.environ.get("AWS_REGION") or None
    try:
        made = boto3.Session(region_name=region, profile_name=profile)
    except ProfileNotFound as error:
        raise OperatorError(f"{error}: pass an existing --profile, or none", EXIT_NO_AWS) from None
    if not made.region_name:
        raise OperatorError("no AWS region: pass --region, or set AWS_REGION or AWS_DEFAULT_REGION (or a region in your profile)", EXIT_NO_AWS)
    return made


@contextmanager
def aws_errors(profile: str | None = None) -> Iterator[None]:
    """Turn botocore's exceptions into OperatorError: what the operator can fix, and its exit code. The `aws sso login`
    hint names profile, else the command's --profile (the error boundary's), else AWS_PROFILE."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
        SSOTokenLoadError,
        TokenRetrievalError,
        UnauthorizedSSOTokenError,
    )

    try:
        yield
    except (NoCredentialsError, PartialCredentialsError) as error:
        raise OperatorError(f"no AWS credentials ({error}): set AWS_PROFILE or pass --profile, or export the keys", EXIT_NO_AWS) from None
    except NoRegionError:
        raise OperatorError("no AWS region: pass --region, or set AWS_REGION", EXIT_NO_AWS) from None
    except (SSOTokenLoadError, UnauthorizedSSOTokenError, TokenRetrievalError) as error:
        raise SessionExpired(str(error), profile) from None
    except ClientError as error:
        code, message = error.response.get("Error", {}).get("Code", "?"), error.response.get("Error", {}).get("Message", "")
        operation = getattr(error, "operation_name", "?")
        if code in EXPIRED_TOKEN:
            raise SessionExpired(f"{operation}: {code}", profile) from None
        if operation == "DescribeStacks" and code == "ValidationError" and "does not exist" in message:
            raise OperatorError(f"no stack: {message}", EXIT_NO_STACK) from None
        raise OperatorError(f"AWS refused {operation}: {code}: {message}", EXIT_REFUSED) from None
    except BotoCoreError as error:  # an endpoint that cannot be reached, an expired SSO token, ...
        raise OperatorError(f"cannot reach AWS: {error}: check the network, the region and AWS_ENDPOINT_URL", EXIT_NO_AWS) from None


# The outputs (and parameters) of lib/TapStack.json the operator's commands use.
OUTPUTS = {
    "environment": "EnvironmentSuffix",
    "cluster": "ClusterName",
    "cluster_arn": "ClusterArn",
    "risk_work_queue": "RiskWorkQueueUrl",
    "risk_work_dead_letter_queue": "RiskWorkDeadLetterQueueUrl",
    "report_queue": "ReportQueueUrl",
    "report_dead_letter_queue": "ReportDeadLetterQueueUrl",
    "task_events_log_group": "TaskEventsLogGroupName",
    "ingestion_task_definition": "DataIngestionTaskDefinitionArn",
    "ingestion_rule": "DataIngestionTriggerRuleName",
}
PARAMETERS = {"input_bucket": "InputBucketName", "input_prefix": "InputKeyPrefix", "output_bucket": "OutputBucketName"}


@dataclass(frozen=True)
class StackResources:
    stack_name: str
    environment: str
    cluster: str
    cluster_arn: str
    risk_work_queue: str
    risk_work_dead_letter_queue: str
    report_queue: str
    report_dead_letter_queue: str
    task_events_log_group: str
    ingestion_task_definition: str
    ingestion_rule: str
    input_bucket: str
    input_prefix: str
    output_bucket: str

    @classmethod
    def of(cls, cfn: Any, stack_name: str) -> StackResources:
        """The stack's resources from DescribeStacks: its outputs and parameters (OperatorError when it is not one of ours)."""
        with aws_errors():
            (stack,) = cfn.describe_stacks(StackName=stack_name)["Stacks"]
        outputs = {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}
        parameters = {item["ParameterKey"]: item.get("ParameterValue", "") for item in stack.get("Parameters", [])}
        missing = [key for key in OUTPUTS.values() if key not in outputs] + [key for key in PARAMETERS.values() if key not in parameters]
        if missing:
            raise OperatorError(
                f"stack {stack_name} ({stack.get('StackStatus')}) is not a risk batch stack of this version: it lacks {', '.join(missing)}", EXIT_NO_STACK
            )
        values = {field: outputs[key] for field, key in OUTPUTS.items()} | {field: parameters[key] for field, key in PARAMETERS.items()}
        return cls(stack_name=stack_name, **values)

    def watch_settings(self) -> dict[str, str]:
        """The settings the deadline check reads its progress with (riskbatch.operations.watch.read_progress)."""
        return {
            "OUTPUT_BUCKET": self.output_bucket,
            "INPUT_BUCKET": self.input_bucket,
            "INPUT_PREFIX": self.input_prefix,
            "RISK_WORK_QUEUE_URL": self.risk_work_queue,
            "REPORT_QUEUE_URL": self.report_queue,
        }

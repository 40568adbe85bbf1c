"""The error boundary: bad input (what the code refuses on purpose) is exit 2 in one line; a defect keeps its
traceback and exits 1; an expired session is a credentials problem (3) with the way to renew it."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, SSOTokenLoadError, UnauthorizedSSOTokenError
from botocore.stub import Stubber
from moto import mock_aws

from riskbatch.cli import main
from riskbatch.inputs.files import InputError
from riskbatch.inputs.quality import FileRejected
from riskbatch.operations import aws_access
from riskbatch.operations.aws_access import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_NO_AWS, guarded
from riskbatch.operations.stack_lookup import OperatorError, StackResources


def _raising(error: BaseException) -> int:
    raise error


@pytest.mark.parametrize(
    "error",
    [InputError("positions.csv", ["no notional column"]), FileRejected("positions", InputError("positions.csv", ["empty"])), ValueError("--date: not a date")],
    ids=["input-error", "file-rejected", "argument-check"],
)
def test_what_the_code_refuses_on_purpose_is_a_bad_input_in_one_line(capsys: pytest.CaptureFixture[str], error: Exception) -> None:
    assert guarded("riskbatch", lambda: _raising(error)) == EXIT_BAD_INPUT
    printed = capsys.readouterr().err
    assert printed.startswith("riskbatch: error: ") and printed.count("\n") == 1 and "Traceback" not in printed


@pytest.mark.parametrize("make", [lambda: json.loads("{not json"), lambda: {}["notional"]], ids=["json-decode-error", "key-error"])
def test_a_defect_keeps_its_traceback_and_exits_1(capsys: pytest.CaptureFixture[str], make: object) -> None:
    assert guarded("riskbatch", make) == EXIT_INTERNAL == 1  # type: ignore[arg-type]
    printed = capsys.readouterr().err
    assert "Traceback (most recent call last)" in printed
    assert printed.splitlines()[-1].startswith("riskbatch: internal error: ") and printed.splitlines()[-1].endswith("report it with the traceback above")


# An expired IAM Identity Center session: botocore's SSO token errors, or the ExpiredToken(Exception) code of a call.
# AWS CLI Command Reference, aws sso login ("Retrieves and caches an AWS IAM Identity Center access token"):
# https://docs.aws.amazon.com/cli/latest/reference/sso/login.html
@pytest.mark.parametrize(
    "error",
    [
        SSOTokenLoadError(error_msg="the SSO session has expired"),
        UnauthorizedSSOTokenError(),
        ClientError({"Error": {"Code": "ExpiredToken", "Message": "The security token included in the request is expired"}}, "GetCallerIdentity"),
        ClientError({"Error": {"Code": "ExpiredTokenException", "Message": "expired"}}, "DescribeStacks"),
    ],
    ids=["sso-token-load", "unauthorized-sso-token", "expired-token", "expired-token-exception"],
)
def test_an_expired_session_is_a_credentials_problem_with_the_login_to_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], error: Exception
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "risk-ops")
    assert guarded("riskbatch", lambda: _raising(error)) == EXIT_NO_AWS
    printed = capsys.readouterr().err
    assert "aws sso login --profile risk-ops" in printed and "check the network" not in printed


KEYS = "aws_access_key_id = testing\naws_secret_access_key = testing\n"
PROFILES = "".join(f"[profile {name}]\nregion = us-east-1\n{KEYS}" for name in ("risk-night", "risk-ops"))
EXPIRED = ClientError({"Error": {"Code": "ExpiredToken", "Message": "expired"}}, "DescribeStacks")


@pytest.fixture
def two_profiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """Two profiles in the config file; read_status records the profile its session was made for, then finds the session expired."""
    config = tmp_path / "config"
    config.write_text(PROFILES)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    reached: list[str | None] = []

    def read_status(client: Any, stack_name: str, business_date: object) -> None:
        reached.append(client.__self__.profile_name)  # the boto3 session the command's clients come from
        raise EXPIRED

    monkeypatch.setattr("riskbatch.operations.status.read_status", read_status)
    return reached


def test_the_login_names_the_profile_the_command_resolved_not_aws_profile(
    two_profiles: list[str | None], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--profile risk-night wins over AWS_PROFILE (as the AWS CLI resolves it): the session to renew is that profile's."""
    monkeypatch.setenv("AWS_PROFILE", "risk-ops")
    with mock_aws():
        assert main(["status", "--stack-name", "riskbatch-dev", "--profile", "risk-night"]) == EXIT_NO_AWS
    assert two_profiles == ["risk-night"]
    assert "aws sso login --profile risk-night " in capsys.readouterr().err


def test_two_calls_in_one_process_each_reach_and_name_their_own_profile(
    two_profiles: list[str | None], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing of one call's profile is kept for the next: each command's session is its own profile's, each expired
    session names its own profile, and a library call after them (no profile given, AWS_PROFILE=risk-ops) names risk-ops,
    not the risk-night of the command before it."""
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    said = []
    with mock_aws():
        for profile in ("risk-ops", "risk-night"):
            assert main(["status", "--stack-name", "riskbatch-dev", "--profile", profile]) == EXIT_NO_AWS
            said.append(capsys.readouterr().err.splitlines()[-1])
    assert two_profiles == ["risk-ops", "risk-night"]
    assert "aws sso login --profile risk-ops " in said[0] and "aws sso login --profile risk-night " in said[1]

    cfn = boto3.client("cloudformation", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    monkeypatch.setenv("AWS_PROFILE", "risk-ops")  # after the client: no such profile in this machine's AWS config
    with Stubber(cfn) as stubbed:
        stubbed.add_client_error("describe_stacks", service_error_code="ExpiredToken", service_message="expired")
        with pytest.raises(OperatorError) as raised:
            StackResources.of(cfn, "riskbatch-dev")
    assert "aws sso login --profile risk-ops " in str(raised.value) and raised.value.exit_code == EXIT_NO_AWS


@pytest.mark.parametrize("name", sorted(aws_access.DELIBERATE_INPUT_ERRORS | {aws_access.MISSING_RATE}))
def test_every_deliberate_input_error_the_boundary_names_is_a_class_of_that_name(name: str) -> None:
    """The boundary knows them by name (importing them would pull numpy into the health check): a renamed or
    moved class would silently turn a bad input into an internal error."""
    module, _, qualname = name.rpartition(".")
    kind = getattr(importlib.import_module(module), qualname)
    assert isinstance(kind, type) and issubclass(kind, Exception) and f"{kind.__module__}.{kind.__qualname__}" == name

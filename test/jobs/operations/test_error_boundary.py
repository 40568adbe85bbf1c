"""The error boundary: bad input (what the code refuses on purpose) is exit 2 in one line; a defect keeps its
traceback and exits 1; an expired session is a credentials problem (3) with the way to renew it."""

from __future__ import annotations

import importlib
import json

import pytest
from botocore.exceptions import ClientError, SSOTokenLoadError, UnauthorizedSSOTokenError

from riskbatch.inputs.files import InputError
from riskbatch.inputs.quality import FileRejected
from riskbatch.operations import aws_access
from riskbatch.operations.aws_access import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_NO_AWS, guarded


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


def test_the_login_names_the_profile_the_command_resolved_not_aws_profile(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--profile risk-night wins over AWS_PROFILE (as the AWS CLI resolves it): the session to renew is that profile's."""
    from pathlib import Path

    from riskbatch.operations.stack_lookup import session

    config = Path(str(tmp_path)) / "config"
    config.write_text("[profile risk-night]\nregion = us-east-1\n[profile risk-ops]\nregion = us-east-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "risk-ops")
    expired = ClientError({"Error": {"Code": "ExpiredToken", "Message": "expired"}}, "DescribeStacks")

    def command() -> int:
        session(None, "risk-night")
        return _raising(expired)

    assert guarded("riskbatch", command) == EXIT_NO_AWS
    assert "aws sso login --profile risk-night " in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(aws_access.DELIBERATE_INPUT_ERRORS | {aws_access.MISSING_RATE}))
def test_every_deliberate_input_error_the_boundary_names_is_a_class_of_that_name(name: str) -> None:
    """The boundary knows them by name (importing them would pull numpy into the health check): a renamed or
    moved class would silently turn a bad input into an internal error."""
    module, _, qualname = name.rpartition(".")
    kind = getattr(importlib.import_module(module), qualname)
    assert isinstance(kind, type) and issubclass(kind, Exception) and f"{kind.__module__}.{kind.__qualname__}" == name

"""Every command finds its region and credentials as the AWS CLI does: --region, then AWS_REGION, then
AWS_DEFAULT_REGION, then the profile's region (--profile or AWS_PROFILE); never a default of ours.

The order: https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-envvars.html ("AWS_REGION ...
overrides AWS_DEFAULT_REGION") and https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-files.html
(the region of a profile); the SDK's endpoint per region:
https://docs.aws.amazon.com/general/latest/gr/cfn.html (cloudformation.<region>.amazonaws.com).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from moto import mock_aws

from riskbatch.operations.aws_access import EXIT_NO_AWS, EXIT_NO_STACK, resolve_region
from riskbatch.operations.stack_lookup import OperatorError
from riskbatch_platform.aws import command_target

REGION_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE")
# a named profile with its own keys (a profile given by name takes its credentials from the files, not the environment)
PROFILE = "[profile risk-ops]\nregion = ap-southeast-2\naws_access_key_id = testing\naws_secret_access_key = testing\n"


@pytest.fixture
def no_region(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No region anywhere: no variable, an empty config file (returned, for a test to fill)."""
    for name in REGION_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "config"
    config.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    return config


def _cloudformation(region: str | None, profile: str | None = None):
    with mock_aws():
        target = command_target(region, profile, None, "riskbatch-test")
        client = target.client("cloudformation")
    return target, client


def test_aws_region_reaches_that_region(no_region: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    target, client = _cloudformation(None)
    assert target.region == client.meta.region_name == "eu-west-1"
    assert client.meta.endpoint_url == "https://cloudformation.eu-west-1.amazonaws.com"
    # the account and region are said before anything is done
    assert capsys.readouterr().err == "riskbatch-test: account 123456789012 (arn:aws:sts::123456789012:user/moto), region eu-west-1\n"


def test_aws_region_wins_over_aws_default_region(no_region: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    assert resolve_region(None, None) == "us-west-2"
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert resolve_region(None, None) == "eu-west-1"


def test_a_profiles_region_from_the_config_file(no_region: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    no_region.write_text(PROFILE)
    assert _cloudformation(None, "risk-ops")[1].meta.region_name == "ap-southeast-2"  # --profile
    monkeypatch.setenv("AWS_PROFILE", "risk-ops")
    assert _cloudformation(None)[1].meta.region_name == "ap-southeast-2"  # AWS_PROFILE


def test_the_flag_wins_over_the_environment_and_the_profile(no_region: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    no_region.write_text(PROFILE)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    target, client = _cloudformation("eu-central-1", "risk-ops")
    assert target.region == client.meta.region_name == "eu-central-1"


def test_no_region_anywhere_is_one_line_and_exit_3_never_us_east_1(no_region: Path) -> None:
    with pytest.raises(OperatorError) as raised:
        resolve_region(None, None)
    assert raised.value.exit_code == EXIT_NO_AWS == 3
    assert str(raised.value) == "no AWS region: pass --region, or set AWS_REGION or AWS_DEFAULT_REGION (or a region in your profile)"


@pytest.mark.parametrize(
    "command",
    [
        ["riskbatch-deploy", "--stack-name", "riskbatch-dev"],
        ["riskbatch-preflight", "--stack-name", "riskbatch-dev"],
        ["riskbatch-teardown", "--stack-name", "riskbatch-dev", "--suffix", "dev"],
        ["riskbatch-enable-bucket-events", "risk-input"],
        ["riskbatch-push-images", "--stack-name", "riskbatch-dev"],
        ["riskbatch", "status", "--stack-name", "riskbatch-dev"],
        ["riskbatch", "backtest", "--bucket", "risk-output"],
    ],
    ids=lambda command: " ".join(command[:2]),
)
def test_every_command_without_a_region_says_how_to_give_one(command: list[str], tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("")
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    environment |= {"AWS_CONFIG_FILE": str(empty), "AWS_SHARED_CREDENTIALS_FILE": str(empty), "AWS_EC2_METADATA_DISABLED": "true"}
    program = Path(sys.executable).parent / command[0]
    done = subprocess.run([str(program), *command[1:]], capture_output=True, text=True, env=environment, timeout=120, check=False)
    codes = {"riskbatch-deploy": 9, "riskbatch-push-images": 9}  # their own codes came first (RENUMBERED)
    assert done.returncode == codes.get(command[0], EXIT_NO_AWS), done.stderr
    assert done.stderr.count("\n") == 1 and "no AWS region: pass --region, or set AWS_REGION" in done.stderr


def test_aws_region_reaches_the_emulator_in_that_region(tmp_path: Path) -> None:
    """Against the emulator on loopback: the stack exists in eu-west-1 only; AWS_REGION=eu-west-1 finds it, the flag
    --region us-east-1 (over the variable) does not. The emulator's log names the region each request was signed
    for (its credential scope: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html)."""
    import boto3

    from riskbatch_platform.local.emulator.loopback import running_emulator

    with running_emulator(region="eu-west-1", enforce_iam=False, log_dir=tmp_path) as emulator:
        keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        cfn = boto3.client("cloudformation", region_name="eu-west-1", endpoint_url=emulator.endpoint_url, **keys)
        cfn.create_stack(StackName="riskbatch-euw", TemplateBody='{"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}')
        environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
        environment |= {"AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL": emulator.endpoint_url}
        environment |= {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        riskbatch = str(Path(sys.executable).parent / "riskbatch")

        def status(*extra: str) -> subprocess.CompletedProcess:
            command = [riskbatch, "status", "--stack-name", "riskbatch-euw", *extra]
            return subprocess.run(command, capture_output=True, text=True, env=environment, timeout=120, check=False)

        log = tmp_path / "emulator.log"
        before = len(log.read_text(encoding="utf-8").splitlines())
        found = status()
        between = len(log.read_text(encoding="utf-8").splitlines())
        elsewhere = status("--region", "us-east-1")
        lines = log.read_text(encoding="utf-8").splitlines()
    signed = [[line for line in part if line.startswith("request ")] for part in (lines[before:between], lines[between:])]
    # every request of the first command went to eu-west-1, every request of the second to us-east-1
    assert signed[0] and set(signed[0]) <= {"request region=eu-west-1 service=cloudformation", "request region=eu-west-1 service=sts"}, signed[0]
    assert "request region=eu-west-1 service=cloudformation" in signed[0]
    assert signed[1] and {line.split()[1] for line in signed[1]} == {"region=us-east-1"}, signed[1]
    announced, error = found.stderr.splitlines()
    assert announced.endswith("region eu-west-1")
    # found in eu-west-1: a stack, though not one of this template
    assert found.returncode == EXIT_NO_STACK and "riskbatch-euw (CREATE_COMPLETE) is not a risk batch stack" in error
    assert elsewhere.stderr.splitlines()[0].endswith("region us-east-1")
    assert elsewhere.returncode == EXIT_NO_STACK and "Stack with id riskbatch-euw does not exist" in elsewhere.stderr

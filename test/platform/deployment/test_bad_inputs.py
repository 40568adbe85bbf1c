"""Every command's documented bad inputs end in one line on stderr and a documented exit code, never a
traceback: run as a user runs them, in a process of their own, with no credentials (empty credentials and
config files, no key variables) or with AWS unreachable (AWS_ENDPOINT_URL on a closed loopback port).

The settings these environments use: https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-envvars.html
(AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE, AWS_EC2_METADATA_DISABLED) and
https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html (AWS_ENDPOINT_URL).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from riskbatch.operations.aws_access import EXIT_BAD_INPUT, EXIT_NO_AWS, EXIT_REFUSED, RENUMBERED, problem

BIN = Path(sys.executable).parent
NO_AWS_RENUMBERED = RENUMBERED[EXIT_NO_AWS]
NO_CREDENTIALS = "no AWS credentials"
UNREACHABLE = 'cannot reach AWS: Could not connect to the endpoint URL: "http://127.0.0.1:9/'
FILES = "{files}"  # replaced by the folder of a sample night (positions.csv, market.csv)

# (command line, exit code, what the one line says); every command's documented bad inputs
CASES = [
    ("riskbatch plan --positions -5 --factors 0", EXIT_BAD_INPUT, "argument --positions: '-5': give a whole number of at least 1"),
    ("riskbatch plan --positions 5 --factors 0", EXIT_BAD_INPUT, "argument --factors: '0': give a whole number of at least 1"),
    ("riskbatch plan --positions 5 --factors 3 --start 25:99", EXIT_BAD_INPUT, "'25:99' is not a time of day: give HH:MM between 00:00 and 23:59"),
    ("riskbatch plan --positions 5 --factors 3 --start noon", EXIT_BAD_INPUT, "'noon' is not a time of day"),
    ("riskbatch plan --positions 5 --factors 3 --safety 1.5", EXIT_BAD_INPUT, "'1.5': give a share from 0 up to (not including) 1"),
    ("riskbatch status --stack-name riskbatch-dev --date yesterday", EXIT_BAD_INPUT, "'yesterday' is not a date: give YYYY-MM-DD"),
    ("riskbatch rerun --stack-name riskbatch-dev --date 2026-11-26", EXIT_BAD_INPUT, "2026-11-26 is not a business day"),
    ("riskbatch rerun --stack-name riskbatch-dev --date 2026-11-24 --force", EXIT_BAD_INPUT, "--force needs --reason: a forced run restates the date"),
    ("riskbatch logs --stack-name riskbatch-dev --date yesterday", EXIT_BAD_INPUT, "'yesterday' is not a date: give YYYY-MM-DD"),
    ("riskbatch logs --stack-name riskbatch-dev --date 2026-11-26", EXIT_BAD_INPUT, "2026-11-26 is not a business day: there is no night to read"),
    ("riskbatch logs --stack-name riskbatch-dev --date 2026-11-24 --job nightly", EXIT_BAD_INPUT, "argument --job: invalid choice: 'nightly'"),
    ("riskbatch redrive --stack-name riskbatch-dev", EXIT_BAD_INPUT, "the following arguments are required: --queue"),
    ("riskbatch watch --date yesterday", EXIT_BAD_INPUT, "'yesterday' is not a date"),
    ("riskbatch watch --date 2026-11-24", EXIT_BAD_INPUT, "OUTPUT_BUCKET, INPUT_BUCKET not set: this is the stack's scheduled deadline check"),
    ("riskbatch preflight", EXIT_BAD_INPUT, "PEAK_WORKLOADS, TASK_SUBNETS not set: this is the stack's scheduled pre-night check"),
    ("riskbatch backtest --bucket risk-output --from 2026-12-01 --to 2026-11-02", EXIT_BAD_INPUT, "--from 2026-12-01 is after --to 2026-11-02"),
    ("riskbatch sample --out /tmp/none --option-share 2", EXIT_BAD_INPUT, "'2': give a share from 0"),
    (
        "riskbatch risk --positions /nonexistent/positions.csv --market /nonexistent/market.csv --rates r.csv",
        EXIT_BAD_INPUT,
        "no such file: /nonexistent/market.csv",
    ),
    (
        f"riskbatch risk --positions {FILES}/market.csv --market {FILES}/positions.csv --rates {FILES}/rates.csv",
        EXIT_BAD_INPUT,
        "is --positions the positions file and --market",
    ),
    (
        f"riskbatch risk --positions {FILES}/positions.csv --market {FILES}/market.csv --rates {FILES}/rates.csv --date 2026-11-26",
        EXIT_BAD_INPUT,
        "2026-11-26 is not a business day",
    ),
    (
        f"riskbatch risk --positions {FILES}/positions.csv --market {FILES}/market.csv --rates {FILES}/rates.csv --currency XYZ",
        EXIT_BAD_INPUT,
        "the market file has no XYZ",
    ),
    (
        f"riskbatch risk --positions {FILES}/positions.csv --market {FILES}/market.csv",
        EXIT_BAD_INPUT,
        "--rates is required: the night prices options at the dated rates",
    ),
    (
        f"riskbatch risk --positions {FILES}/positions.csv --market {FILES}/market.csv --manifest {FILES}/positions.csv",
        EXIT_BAD_INPUT,
        "is not a run's manifest (not JSON",
    ),
    ("riskbatch risk --positions p.csv --market m.csv --currency 12", EXIT_BAD_INPUT, "'12' is not a currency: give an ISO 4217 code"),
    ("riskbatch status --stack-name riskbatch-dev", EXIT_NO_AWS, NO_CREDENTIALS),
    ("riskbatch rerun --stack-name riskbatch-dev --date 2026-11-24", EXIT_NO_AWS, NO_CREDENTIALS),
    ("riskbatch backtest --bucket risk-output", EXIT_NO_AWS, NO_CREDENTIALS),
    ("riskbatch logs --stack-name riskbatch-dev --date 2026-11-24", EXIT_NO_AWS, NO_CREDENTIALS),
    ("riskbatch redrive --stack-name riskbatch-dev --queue risk-work", EXIT_NO_AWS, NO_CREDENTIALS),
    ("riskbatch-deploy --stack-name riskbatch-dev", NO_AWS_RENUMBERED, NO_CREDENTIALS),
    ("riskbatch-deploy --stack-name riskbatch-dev --parameters-file /nonexistent.json", 5, "the parameters file /nonexistent.json cannot be read"),
    ("riskbatch-deploy --stack-name riskbatch-dev --parameter ImageTag", 5, "--parameter takes KEY=VALUE, got 'ImageTag'"),
    ("riskbatch-preflight --stack-name riskbatch-dev", EXIT_NO_AWS, NO_CREDENTIALS),
    ("riskbatch-preflight --stack-name riskbatch-dev --parameter ImageTag", EXIT_BAD_INPUT, "--parameter takes KEY=VALUE, got 'ImageTag'"),
    ("riskbatch-preflight --stack-name riskbatch-dev --template /nonexistent.json", EXIT_BAD_INPUT, "no such file: /nonexistent.json"),
    ("riskbatch-preflight --stack-name riskbatch-dev --start noon", EXIT_BAD_INPUT, "'noon' is not a time of day"),
    ("riskbatch-preflight --stack-name riskbatch-dev --positions 5", EXIT_BAD_INPUT, "--positions and --factors go together"),
    ("riskbatch-preflight --stack-name riskbatch-dev --factors 3", EXIT_BAD_INPUT, "--positions and --factors go together"),
    (f"riskbatch plan --positions 5 --factors 3 --measured {FILES}/market.csv", EXIT_BAD_INPUT, "market.csv: 1 problem(s): not JSON (Expecting value, line 1)"),
    (f"riskbatch plan --positions 5 --factors 3 --measured {FILES}/binary.json", EXIT_BAD_INPUT, "not a text file (byte 0 is not UTF-8)"),
    (f"riskbatch plan --positions 5 --factors 3 --measured {FILES}/other.json", EXIT_BAD_INPUT, "not a task-measurements.json (no night)"),
    ("riskbatch-teardown --stack-name riskbatch-dev --suffix dev", EXIT_NO_AWS, NO_CREDENTIALS),
    ("riskbatch-enable-bucket-events risk-input", EXIT_NO_AWS, NO_CREDENTIALS),
    ("riskbatch-push-images --stack-name riskbatch-dev", NO_AWS_RENUMBERED, NO_CREDENTIALS),
    ("riskbatch-model-accuracy --scenarios 10", EXIT_BAD_INPUT, "unrecognized arguments: --scenarios 10"),
]
# the same commands with keys but AWS out of reach
UNREACHABLE_CASES = [
    ("riskbatch status --stack-name riskbatch-dev", EXIT_NO_AWS),
    ("riskbatch backtest --bucket risk-output", EXIT_NO_AWS),
    ("riskbatch logs --stack-name riskbatch-dev --date 2026-11-24", EXIT_NO_AWS),
    ("riskbatch redrive --stack-name riskbatch-dev --queue risk-work", EXIT_NO_AWS),
    ("riskbatch-deploy --stack-name riskbatch-dev", NO_AWS_RENUMBERED),
    ("riskbatch-preflight --stack-name riskbatch-dev", EXIT_NO_AWS),
    ("riskbatch-teardown --stack-name riskbatch-dev --suffix dev", EXIT_NO_AWS),
    ("riskbatch-enable-bucket-events risk-input", EXIT_NO_AWS),
    ("riskbatch-push-images --stack-name riskbatch-dev", NO_AWS_RENUMBERED),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("night")
    command = [str(BIN / "riskbatch"), "sample", "--out", str(out), "--positions", "40", "--factors", "8", "--days", "300", "--date", "2026-11-24"]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    (out / "2026-11-24" / "binary.json").write_bytes(b"\xff\xfe{}")  # not UTF-8
    (out / "2026-11-24" / "other.json").write_text('{"Parameters": {}}')  # JSON, but not measurements
    return out / "2026-11-24"


def _run(command: str, files: Path, tmp_path: Path, keys: bool) -> subprocess.CompletedProcess:
    empty = tmp_path / "empty"
    empty.write_text("")
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    environment |= {
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing listens on the discard port
        "AWS_REGION": "eu-west-1",
    }
    if keys:
        environment |= {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    program, *arguments = command.replace(FILES, str(files)).split()
    return subprocess.run([str(BIN / program), *arguments], capture_output=True, text=True, env=environment, timeout=300, check=False)


def _one_line(done: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.endswith("\n"), done.stderr
    return done.stderr


@pytest.mark.parametrize(("command", "code", "says"), CASES, ids=[case[0].replace(FILES + "/", "") for case in CASES])
def test_a_bad_input_is_one_line_and_a_documented_exit_code(command: str, code: int, says: str, files: Path, tmp_path: Path) -> None:
    done = _run(command, files, tmp_path, keys=False)
    assert says in _one_line(done)
    assert done.returncode == code, done.stderr


@pytest.mark.parametrize(("command", "code"), UNREACHABLE_CASES, ids=[case[0] for case in UNREACHABLE_CASES])
def test_aws_out_of_reach_is_one_line_and_a_documented_exit_code(command: str, code: int, files: Path, tmp_path: Path) -> None:
    done = _run(command, files, tmp_path, keys=True)
    assert UNREACHABLE in _one_line(done)
    assert done.returncode == code, done.stderr


def test_access_denied_is_aws_refusal_with_the_operation_named() -> None:
    from botocore.exceptions import ClientError

    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "User: arn:aws:iam::1:user/x is not authorized"}}, "DeleteStack")
    found = problem(denied)
    assert found is not None and found.exit_code == EXIT_REFUSED
    assert str(found) == "AWS refused DeleteStack: AccessDenied: User: arn:aws:iam::1:user/x is not authorized"


def test_every_option_of_every_command_has_a_help_text() -> None:
    import argparse

    from riskbatch.cli import _commands

    bare = [
        f"{name} {'/'.join(action.option_strings) or action.dest}"
        for name, parser in _commands().items()
        for action in parser._actions
        if not action.help and not isinstance(action, argparse._HelpAction)
    ]
    assert bare == []


def test_model_accuracy_help_describes_and_does_not_compute(tmp_path: Path) -> None:
    done = subprocess.run([str(BIN / "riskbatch-model-accuracy"), "--help"], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and "Monte Carlo VaR against closed forms" in done.stdout
    assert "closed form" not in done.stdout.splitlines()[-1] and "error/SE" not in done.stdout  # the table's header never printed

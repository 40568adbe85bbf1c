"""One way into AWS for every command of both packages (riskbatch and the platform team's riskbatch-*),
and one error boundary around each of them.

The region and credentials are found as the AWS CLI finds them: --region, then AWS_REGION, then
AWS_DEFAULT_REGION, then the region of the profile (--profile, or AWS_PROFILE); never a default
region of ours. Before a command acts it prints the account (STS GetCallerIdentity) and region.

Every failure a user can fix is one line on stderr, "<command>: error: what is wrong: what to do",
and an exit code (docs/runbook.md, "Exit codes"; riskbatch-deploy and riskbatch-push-images: RENUMBERED):
  1  an internal error (a defect): its traceback on stderr and a line saying to report it
  2  a bad input: an option's value, a file that is missing or not what it should be (the errors
     the code raises on purpose: InputError, FileRejected, ConfigurationError, a plain ValueError)
  3  no AWS region or no credentials (an expired SSO session included: aws sso login), or AWS cannot be reached
  4  no such stack, or not a stack of this template
  5  AWS refused a call (access denied and the like: the operation and AWS's code are printed)
  125  podman failed, in a platform command (riskbatch_platform.local.podman.PodmanError: the call, podman's words, what to do)
  141  the reader of stdout went away (| head): no traceback
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from riskbatch.operations.stack_lookup import EXIT_NO_AWS, EXIT_NO_STACK, EXIT_REFUSED, OperatorError, SessionExpired, aws_errors, session

__all__ = [
    "EXIT_BAD_INPUT", "EXIT_INTERNAL", "EXIT_NO_AWS", "EXIT_NO_STACK", "EXIT_PODMAN_FAILED", "EXIT_REFUSED", "RENUMBERED",
    "CommandParser", "add_aws_options", "announce", "bounded", "guarded", "problem", "resolve_region",
]  # fmt: skip

EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports a command killed by it: the reader went away
EXIT_INTERNAL = 1  # a defect, not the user's input: the traceback is printed, to be reported
EXIT_BAD_INPUT = 2  # argparse's own code for a usage error: a bad value is one too
# podman's own code for "the error is with podman itself" (podman-run(1), Exit Status): no command's own code is 125
EXIT_PODMAN_FAILED = 125
# riskbatch-deploy and riskbatch-push-images had codes 3-5 of their own first: there the boundary's 3, 4, 5 are 9, 10, 11.
RENUMBERED = {EXIT_NO_AWS: 9, EXIT_NO_STACK: 10, EXIT_REFUSED: 11}

EXIT_CODES_EPILOG = (
    "exit codes: 0 done; 1 internal error (report it); 2 a bad input (an option's value, a file missing or not what it should be); "
    "3 no AWS region or credentials, or AWS unreachable; 4 no such stack; 5 AWS refused a call"
)


class CommandParser(argparse.ArgumentParser):
    """argparse with a usage error in one line (the full usage is one --help away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_aws_options(parser: argparse.ArgumentParser, endpoint: bool = False) -> None:
    """--region and --profile (and --endpoint-url for an emulator on loopback), as every AWS command takes them."""
    parser.add_argument("--region", help="the AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, then the profile's region, as the AWS CLI)")
    parser.add_argument("--profile", help="an AWS profile of ~/.aws/config (default: AWS_PROFILE, or the default credentials)")
    if endpoint:
        parser.add_argument("--endpoint-url", help="an AWS emulator on loopback instead of AWS (default: AWS_ENDPOINT_URL, or AWS)")


def resolve_region(region: str | None, profile: str | None) -> str:
    """The region as the AWS CLI resolves it (flag, AWS_REGION, AWS_DEFAULT_REGION, profile), or OperatorError."""
    return str(session(region, profile).region_name)


def announce(client: Callable[..., Any], region: str, prog: str) -> str:
    """Print (on stderr) the account and region the command acts on, before it changes anything."""
    from botocore.config import Config

    # one try: a wrong or unreachable endpoint is said at once, not after a minute of retries
    with aws_errors():
        identity = client("sts", config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=10)).get_caller_identity()
    line = f"{prog}: account {identity['Account']} ({identity['Arn']}), region {region}"
    print(line, file=sys.stderr, flush=True)
    return line


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


# The input errors the code raises on purpose, by name: importing their modules here would bring numpy and
# pyarrow into every command's imports, the container health check's included.
MISSING_RATE = "riskbatch.inputs.currencies.MissingRate"
DELIBERATE_INPUT_ERRORS = {"riskbatch.inputs.files.InputError", "riskbatch.inputs.quality.FileRejected", "riskbatch.model.settings.ConfigurationError"}


def _is_one_of(error: BaseException, names: set[str]) -> bool:
    return any(f"{kind.__module__}.{kind.__qualname__}" in names for kind in type(error).__mro__)


def problem(error: BaseException, profile: str | None = None) -> OperatorError | None:
    """What a user can fix, and its exit code; None for anything else (a defect: its traceback is kept).
    profile: the command's --profile, the one an expired session's `aws sso login` names."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(error, SessionExpired):
        return error.named(profile)
    if isinstance(error, OperatorError):
        return error
    if isinstance(error, BotoCoreError | ClientError):
        try:
            with aws_errors(profile):
                raise error
        except OperatorError as translated:
            return translated
    if isinstance(error, FileNotFoundError):
        return OperatorError(f"no such file: {error.filename or error}: check the path", EXIT_BAD_INPUT)
    if isinstance(error, OSError) and error.filename:
        return OperatorError(f"cannot read {error.filename}: {error.strerror or error}", EXIT_BAD_INPUT)
    if _is_one_of(error, {MISSING_RATE}):
        return OperatorError(f"{error.args[0] if error.args else error}: check that each file is the one its option names", EXIT_BAD_INPUT)
    # Only what the code raises on purpose about its input; a KeyError, a JSONDecodeError or another ValueError
    # subclass from inside a job is a defect, and keeps its traceback (EXIT_INTERNAL).
    if _is_one_of(error, DELIBERATE_INPUT_ERRORS) or isinstance(error, argparse.ArgumentTypeError) or type(error) is ValueError:
        return OperatorError(f"{error}", EXIT_BAD_INPUT)
    return None


def guarded(prog: str, body: Callable[[], int], codes: Mapping[int, int] | None = None, profile: str | None = None) -> int:
    """Run a command's body inside the error boundary: its exit code, or one line and a documented code.
    codes renumbers the boundary's codes for a command whose own codes came first (riskbatch-deploy);
    profile is the command's --profile (an expired session's `aws sso login` names it, else AWS_PROFILE)."""
    try:
        code = int(body())
        sys.stdout.flush()  # a reader that went away (| head) shows here, inside the boundary
        return code
    except BrokenPipeError:
        # The reader closed the pipe: no traceback, and no second error when Python flushes stdout at exit
        # (Python's signal module, "Note on SIGPIPE": https://docs.python.org/3/library/signal.html#note-on-sigpipe).
        with contextlib.suppress(OSError, ValueError):  # a stdout that is no file (captured) has nothing left to flush
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        found = problem(error, profile)
        if found is None:
            traceback.print_exc(file=sys.stderr)
            print(f"{prog}: internal error: {type(error).__name__}: {_one_line(str(error))}: report it with the traceback above", file=sys.stderr)
            return EXIT_INTERNAL
        print(f"{prog}: error: {_one_line(str(found))}", file=sys.stderr)
        return (codes or {}).get(found.exit_code, found.exit_code)


def bounded(prog: str) -> Callable[[Callable[..., int | None]], Callable[..., int]]:
    """A command's main inside the boundary (for the commands whose main is all they are)."""

    def wrap(main: Callable[..., int | None]) -> Callable[..., int]:
        @functools.wraps(main)
        def run(*args: Any, **kwargs: Any) -> int:
            return guarded(prog, lambda: main(*args, **kwargs) or 0)

        return run

    return wrap

"""One check per program the docs' commands run, each judging a command by what it runs without
changing anything (the checks are listed in check.py's first lines). A program without a check is
itself a problem: whoever adds one to the docs adds its check here."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import itertools
import re
import subprocess
import tomllib
from collections.abc import Callable
from functools import cache
from pathlib import Path

from riskbatch_platform import REPO_ROOT
from riskbatch_platform.docs.blocks import Command

# Shell words that change nothing a check could see.
_HARMLESS = {"export", "rm", "cd", "echo"}
# CLI options every aws command takes (and the CLI's own pagination options).
_AWS_GLOBAL = {
    "--region", "--profile", "--endpoint-url", "--output", "--query", "--debug", "--no-paginate", "--no-cli-pager",
    "--max-items", "--page-size", "--starting-token", "--cli-input-json",
}  # fmt: skip
# AWS CLI commands that are the CLI's own, not an API operation: their options.
_AWS_CUSTOM = {("ecr", "get-login-password"): set()}


class _Parsed(BaseException):  # not an Exception: a command's error boundary must not catch it
    pass


def _parse_only(main: Callable[[list[str]], object], argv: list[str]) -> str | None:
    """Run a script's main until its parser has parsed argv; the parser's complaint, if any."""
    original = argparse.ArgumentParser.parse_args

    def parse_then_stop(self: argparse.ArgumentParser, args: list[str] | None = None, namespace: object = None) -> object:
        original(self, args, namespace)
        raise _Parsed

    complaint = io.StringIO()
    argparse.ArgumentParser.parse_args = parse_then_stop  # type: ignore[method-assign]
    try:
        with contextlib.redirect_stderr(complaint), contextlib.redirect_stdout(io.StringIO()):
            main(argv)
    except _Parsed:
        return None
    except SystemExit as stop:
        return complaint.getvalue().strip().splitlines()[-1] if complaint.getvalue().strip() else f"exit {stop.code}"
    finally:
        argparse.ArgumentParser.parse_args = original  # type: ignore[method-assign]
    return "the script ran past its argument parser without parsing"


@cache
def _script_main(path: Path) -> Callable[[list[str]], object]:
    spec = importlib.util.spec_from_file_location(f"_doc_checked_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def _check_make(words: list[str]) -> str | None:
    result = subprocess.run(["make", "-n", *words], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    return None if result.returncode == 0 else (result.stderr.strip().splitlines() or ["make -n failed"])[-1]


def _check_python(words: list[str]) -> str | None:
    if words[:2] == ["-m", "venv"]:
        return None
    if words[:2] == ["-m", "pip"]:
        return _check_pip(words[2:])
    if words[:1] == ["-m"] and len(words) > 1:
        try:
            module = importlib.import_module(words[1])
        except ImportError:
            return f"no such module: {words[1]}"
        return _parse_only(module.main, words[2:]) if hasattr(module, "main") else f"the module {words[1]} has no main"
    script = REPO_ROOT / words[0]
    if not script.is_file():
        return f"no such script: {words[0]}"
    return _parse_only(_script_main(script), words[1:])


def project_commands() -> dict[str, str]:
    """The commands pyproject.toml declares: name -> module:function."""
    with (REPO_ROOT / "pyproject.toml").open("rb") as handle:
        return dict(tomllib.load(handle)["project"]["scripts"])


def _check_entry_point(name: str, words: list[str]) -> str | None:
    module, _, function = project_commands()[name].partition(":")
    return _parse_only(getattr(importlib.import_module(module), function), words)


def _check_pip(words: list[str]) -> str | None:
    for flag, value in itertools.pairwise(words):
        if flag in {"-r", "--requirement"} and not (REPO_ROOT / value).is_file():
            return f"no such requirements file: {value}"
    return None


def _check_riskbatch(command: Command, words: list[str]) -> str | None:
    from riskbatch.cli import build_parser, main

    complaint = _parse_only(lambda argv: build_parser().parse_args(argv), words)
    if complaint or command.output is None or words[:1] != ["plan"]:
        return complaint
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        main(words)
    if printed.getvalue().rstrip("\n") != command.output:
        return "its output differs from the docs' copy (run it and paste the output)"
    return None


def _check_pytest(words: list[str]) -> str | None:
    for word in words:
        if not word.startswith("-") and not (REPO_ROOT / word.split("::")[0]).exists():
            return f"no such test path: {word}"
    return None


def _check_docker(words: list[str]) -> str | None:
    if words[:1] == ["build"]:
        for flag, value in itertools.pairwise(words):
            if flag == "-f" and not (REPO_ROOT / value).is_file():
                return f"no such Dockerfile: {value}"
        return None
    return None if words[:1] in (["push"], ["login"]) else f"no check for docker {words[:1]}"


def _check_taskcat(words: list[str]) -> str | None:
    if "taskcat==" not in (REPO_ROOT / "tools" / "taskcat.lock").read_text(encoding="utf-8"):
        return "taskcat is not pinned in tools/taskcat.lock"
    return None if words[:2] in (["test", "run"], ["lint"]) else f"no check for taskcat {' '.join(words[:2])}"


# The CLI's name of a service where botocore's differs: `aws s3api` calls botocore's s3 model
# (`aws s3` is the CLI's own high-level commands, not checked here).
_AWS_CLI_SERVICES = {"s3api": "s3"}


def _check_aws(words: list[str]) -> str | None:
    import botocore.session
    from botocore import xform_name

    if len(words) < 2:
        return "aws needs a service and a command"
    service, command, rest = words[0], words[1], words[2:]
    service = _AWS_CLI_SERVICES.get(service, service)
    options = {word.split("=", 1)[0] for word in rest if word.startswith("--")}
    if (service, command) in _AWS_CUSTOM:
        unknown = options - _AWS_CUSTOM[service, command] - _AWS_GLOBAL
        return f"unknown options {sorted(unknown)}" if unknown else None
    session = botocore.session.get_session()
    if service not in session.get_available_services():
        return f"no such service in botocore: {service}"
    model = session.get_service_model(service)
    by_command = {xform_name(name, "-"): name for name in model.operation_names}
    if command not in by_command:
        return f"{service} has no operation {command}"
    shape = model.operation_model(by_command[command]).input_shape
    members = {f"--{xform_name(name, '-')}": name for name in (shape.members if shape else {})}
    booleans = {f"--no-{option[2:]}" for option, name in members.items() if shape.members[name].type_name == "boolean"}
    unknown = options - set(members) - booleans - _AWS_GLOBAL
    if unknown:
        return f"{service} {command} takes no {', '.join(sorted(unknown))}"
    missing = [f"--{xform_name(name, '-')}" for name in (shape.required_members if shape else []) if f"--{xform_name(name, '-')}" not in options]
    return f"{service} {command} needs {', '.join(missing)}" if missing else None


def check_command(command: Command) -> str | None:
    words = list(command.words)
    while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):  # VAR=value before the program
        words = words[1:]
    if not words:
        return None
    program, arguments = words[0], words[1:]
    name = Path(program).name
    if program in _HARMLESS:
        return None
    if program == "make":
        return _check_make(arguments)
    if name in {"python", "python3"}:
        return _check_python(arguments)
    if name == "pip":
        return _check_pip(arguments)
    if name == "riskbatch":
        return _check_riskbatch(command, arguments)
    if name == "pytest":
        return _check_pytest(arguments)
    if name in project_commands():
        return _check_entry_point(name, arguments)
    if program == "aws":
        return _check_aws(arguments)
    if program == "docker":
        return _check_docker(arguments)
    if name == "taskcat":
        return _check_taskcat(arguments)
    return f"no check for the program {program!r}: add one to src/riskbatch_platform/docs/programs.py"

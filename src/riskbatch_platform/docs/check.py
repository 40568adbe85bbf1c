"""The docs cannot go stale: every link resolves, every command in them is checked.

A fenced block must name its language. Each command of a `sh` block (and each `$ ` line of a
`console` block) is checked by what it runs, without changing anything:

- `make T VAR=V`: `make -n` of it succeeds (the target exists, its variables are accepted);
- this repository's scripts and `riskbatch`: their own argument parser accepts the arguments
  (the parser runs, the script's work does not);
- `aws <service> <command> --opt ...`: botocore's service model has the operation and every
  option, and the required ones are given;
- `pip -r F`, `docker build -f F`, `pytest PATH`: the named files exist;
- a `console` block's `$ riskbatch plan ...` runs, and its output must be the block's text.

Over 400 lines on purpose: the block parser and one small checker per program share the Command
type and the parse-only runner; split, each half would import the other.

A program without a check is itself a problem: whoever adds one to the docs adds its check here.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import itertools
import re
import shlex
import subprocess
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from riskbatch_platform import REPO_ROOT

_FENCE = re.compile(r"^(\s*)```(.*)$")
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
COMMAND_LANGUAGES = {"sh", "console"}
# Shell words that change nothing a check could see.
_HARMLESS = {"export", "rm", "cd", "echo"}
# CLI options every aws command takes (and the CLI's own pagination options).
_AWS_GLOBAL = {
    "--region", "--profile", "--endpoint-url", "--output", "--query", "--debug", "--no-paginate", "--no-cli-pager",
    "--max-items", "--page-size", "--starting-token", "--cli-input-json",
}  # fmt: skip
# AWS CLI commands that are the CLI's own, not an API operation: their options.
_AWS_CUSTOM = {("ecr", "get-login-password"): set()}


@dataclass(frozen=True)
class Command:
    path: Path
    line: int
    words: tuple[str, ...]
    output: str | None = None  # a console block's text after the command

    def where(self) -> str:
        return f"{_shown(self.path)}:{self.line}"

    def text(self) -> str:
        return shlex.join(self.words)


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def markdown_files() -> list[Path]:
    return [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]


# --- blocks and commands ---------------------------------------------------------------------


def fenced_blocks(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line of the opening fence, language, lines inside, dedented by the fence's indent)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        indent, language = len(match.group(1)), match.group(2).strip()
        start, body = index + 1, []
        index += 1
        while index < len(lines) and not _FENCE.match(lines[index]):
            body.append(lines[index][indent:] if lines[index][:indent].strip() == "" else lines[index])
            index += 1
        yield start, language, body
        index += 1


def _joined(body: list[str]) -> Iterator[tuple[int, str]]:
    """Lines with their backslash continuations joined, and their offset in the block."""
    pending, first = "", 0
    for offset, line in enumerate(body):
        if not pending:
            first = offset
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        yield first, pending + line
        pending = ""
    if pending:
        yield first, pending


def _simple_commands(text: str) -> list[list[str]]:
    """A shell line split into its simple commands (on && || ; |), comments dropped."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    commands, current = [], []
    for token in lexer:
        if token in {"&&", "||", ";", "|", "&"}:
            if current:
                commands.append(current)
            current = []
        else:
            current.append(token)
    if current:
        commands.append(current)
    return commands


def _expand(words: list[str], variables: dict[str, str]) -> list[str]:
    def one(word: str) -> str:
        for name, value in variables.items():
            word = word.replace(f"${{{name}}}", value).replace(f"${name}", value)
        return word

    return [one(word) for word in words]


def commands_of(path: Path) -> tuple[list[Command], list[str]]:
    """Every command in the file's sh and console blocks; problems with the blocks themselves."""
    found: list[Command] = []
    problems: list[str] = []
    for start, language, body in fenced_blocks(path):
        where = f"{_shown(path)}:{start}"
        if not language:
            problems.append(f"{where}: a fenced block without a language (sh, console, text, json, ...)")
            continue
        if language not in COMMAND_LANGUAGES:
            continue
        if language == "console":
            found += _console_commands(path, start, body)
            continue
        loop: tuple[str, list[str]] | None = None
        for offset, line in _joined(body):
            for words in _simple_commands(line):
                if words[:1] == ["for"] and len(words) >= 4 and words[2] == "in":
                    loop = (words[1], words[3:])
                    continue
                if words == ["do"] or words[:1] == ["do"]:
                    words = words[1:]
                    if not words:
                        continue
                if words == ["done"]:
                    loop = None
                    continue
                if loop:
                    name, values = loop
                    found += [Command(path, start + 1 + offset, tuple(_expand(words, {name: value}))) for value in values]
                else:
                    found.append(Command(path, start + 1 + offset, tuple(words)))
    return found, problems


def _console_commands(path: Path, start: int, body: list[str]) -> list[Command]:
    commands: list[Command] = []
    current: tuple[int, str] | None = None
    output: list[str] = []
    for offset, line in enumerate([*body, "$ "]):
        if line.startswith("$ "):
            if current:
                for words in _simple_commands(current[1]):
                    commands.append(Command(path, start + 1 + current[0], tuple(words), "\n".join(output).rstrip("\n")))
            current, output = (offset, line[2:]), []
        else:
            output.append(line)
    return commands


# --- links -----------------------------------------------------------------------------------


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@cache
def anchors(path: Path) -> set[str]:
    found = set()
    inside = False
    for line in path.read_text(encoding="utf-8").split("\n"):
        if _FENCE.match(line):
            inside = not inside
        elif not inside and line.startswith("#"):
            found.add(slug(line.lstrip("#")))
    return found


def link_problems(path: Path) -> list[str]:
    problems = []
    text = path.read_text(encoding="utf-8")
    for match in _LINK.finditer(text):
        target = match.group(1)
        if re.match(r"^[a-z]+:", target):
            continue
        line = text.count("\n", 0, match.start()) + 1
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            problems.append(f"{_shown(path)}:{line}: link to {target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            problems.append(f"{_shown(path)}:{line}: link to {target}: no heading with that anchor")
    return problems


# A path of this repository quoted inline (`src/...`, `test/.../test_x.py`, a bare `test_x.py`):
# it must exist, so that a moved file cannot leave the docs pointing at nothing.
_REPOSITORY_PATH = re.compile(r"`((?:src|test|docs|lib|docker|guard-rules|tools|config|compliance|\.github)/[\w./-]+|test_\w+\.py)`")


def path_problems(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    tests = {each.name for each in (REPO_ROOT / "test").rglob("test_*.py")}
    found = []
    for match in _REPOSITORY_PATH.finditer(text):
        quoted = match.group(1)
        exists = quoted in tests if "/" not in quoted else (REPO_ROOT / quoted.rstrip("/")).exists()
        if not exists:
            found.append(f"{_shown(path)}:{text.count(chr(10), 0, match.start()) + 1}: `{quoted}`: no such file in the repository")
    return found


# --- command checks --------------------------------------------------------------------------


class _Parsed(Exception):
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
    return f"no check for the program {program!r}: add one to src/riskbatch_platform/docs/check.py"


def page_problems(path: Path, progress: Callable[[str], None] = lambda _line: None) -> list[str]:
    """Every problem of one page: its links, quoted paths, blocks and commands."""
    commands, found = commands_of(path)
    found = link_problems(path) + path_problems(path) + found
    for command in commands:
        progress(f"{command.where()}: {command.text()}")
        complaint = check_command(command)
        if complaint:
            found.append(f"{command.where()}: `{command.text()}`: {complaint}")
    return found


def problems(progress: Callable[[str], None] = lambda _line: None) -> list[str]:
    """Every problem in the docs' links, paths, blocks and commands."""
    return [problem for path in markdown_files() for problem in page_problems(path, progress)]

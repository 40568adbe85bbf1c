"""The docs' fenced blocks and the commands in them: each `sh` block's simple commands (continuations
joined, `for` loops unrolled) and each `console` block's `$ ` lines with the output under them."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from riskbatch_platform import REPO_ROOT

FENCE = re.compile(r"^(\s*)```(.*)$")
COMMAND_LANGUAGES = {"sh", "console"}


@dataclass(frozen=True)
class Command:
    path: Path
    line: int
    words: tuple[str, ...]
    output: str | None = None  # a console block's text after the command

    def where(self) -> str:
        return f"{shown(self.path)}:{self.line}"

    def text(self) -> str:
        return shlex.join(self.words)


def shown(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def fenced_blocks(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line of the opening fence, language, lines inside, dedented by the fence's indent)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        indent, language = len(match.group(1)), match.group(2).strip()
        start, body = index + 1, []
        index += 1
        while index < len(lines) and not FENCE.match(lines[index]):
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
        where = f"{shown(path)}:{start}"
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

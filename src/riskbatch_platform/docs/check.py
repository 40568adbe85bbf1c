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

The blocks and their commands are read by blocks.py, links and quoted paths checked by links.py,
and each program's check is in programs.py: a program without a check is itself a problem, and
whoever adds one to the docs adds its check there.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from riskbatch_platform import REPO_ROOT
from riskbatch_platform.docs.blocks import commands_of
from riskbatch_platform.docs.links import link_problems, path_problems
from riskbatch_platform.docs.programs import check_command


def markdown_files() -> list[Path]:
    return [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]


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

"""The docs' links and quoted paths: every relative link reaches a file (and its heading, for an
anchor), and every path of this repository quoted inline exists."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from riskbatch_platform import REPO_ROOT
from riskbatch_platform.docs.blocks import FENCE, shown

_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


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
        if FENCE.match(line):
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
            problems.append(f"{shown(path)}:{line}: link to {target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            problems.append(f"{shown(path)}:{line}: link to {target}: no heading with that anchor")
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
            found.append(f"{shown(path)}:{text.count(chr(10), 0, match.start()) + 1}: `{quoted}`: no such file in the repository")
    return found

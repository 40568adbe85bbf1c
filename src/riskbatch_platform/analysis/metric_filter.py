"""CloudWatch Logs JSON filter patterns, the subset the stack's metric filters use, so that the
task events the local runner sends can be counted as the TasksStopped and TasksFailed filters
would count them (the emulator stores metric filters but applies none).

Supported: { <expr> } with selectors ($.a.b, $.a[0].b), = and != against a quoted string or a
number, && and ||, and parentheses. A selector that finds no value matches neither = nor !=, as
in CloudWatch Logs (a missing field needs NOT EXISTS, which the stack does not use).
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
"""

from __future__ import annotations

import json
import re
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<open>\()|(?P<close>\))|(?P<and>&&)|(?P<or>\|\|)|(?P<op>!=|=)"
    r'|(?P<selector>\$[\w.\[\]]+)|(?P<string>"[^"]*")|(?P<number>-?\d+(?:\.\d+)?))'
)
_MISSING = object()


class FilterPatternError(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    found, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise FilterPatternError(f"cannot read the filter pattern at {text[position:]!r}")
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        position = match.end()
    return found


def _select(document: Any, selector: str) -> Any:
    node = document
    for name, index in re.findall(r"\.(\w+)|\[(\d+)\]", selector.removeprefix("$")):
        try:
            node = node[name] if name else node[int(index)]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return node


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], event: Any) -> None:
        self.tokens, self.event, self.at = tokens, event, 0

    def peek(self) -> str | None:
        return self.tokens[self.at][0] if self.at < len(self.tokens) else None

    def take(self, kind: str) -> str:
        if self.peek() != kind:
            raise FilterPatternError(f"expected {kind} at token {self.at}")
        self.at += 1
        return self.tokens[self.at - 1][1]

    def expression(self) -> bool:  # or-expression
        value = self.conjunction()
        while self.peek() == "or":
            self.take("or")
            value = self.conjunction() or value
        return value

    def conjunction(self) -> bool:
        value = self.term()
        while self.peek() == "and":
            self.take("and")
            value = self.term() and value
        return value

    def term(self) -> bool:
        if self.peek() == "open":
            self.take("open")
            value = self.expression()
            self.take("close")
            return value
        found = _select(self.event, self.take("selector"))
        operator = self.take("op")
        kind = self.peek()
        literal: Any = json.loads(self.take(kind)) if kind in ("string", "number") else None
        if kind not in ("string", "number"):
            raise FilterPatternError("a comparison needs a quoted string or a number")
        if found is _MISSING or isinstance(found, (dict, list)):
            return False
        equal = found == literal if kind == "string" else (isinstance(found, (int, float)) and not isinstance(found, bool) and found == literal)
        return equal if operator == "=" else not equal


def matches(pattern: str, message: str) -> bool:
    """Whether the log event (a JSON document) matches the JSON filter pattern."""
    body = pattern.strip()
    if not (body.startswith("{") and body.endswith("}")):
        raise FilterPatternError("only JSON filter patterns ({ ... }) are supported")
    try:
        event = json.loads(message)
    except json.JSONDecodeError:
        return False
    parser = _Parser(_tokens(body[1:-1]), event)
    value = parser.expression()
    if parser.peek() is not None:
        raise FilterPatternError(f"unexpected token {parser.tokens[parser.at][1]!r}")
    return value

"""The arguments of a named sign-off, checked once for every command that records one: who signs, why, and the date.

A sign-off takes a person's name and a reason of substance: `riskbatch exclude-day` (a backtest day leaves the
backtest: riskbatch.validation.exclusions) and `riskbatch accept-rates` (a curve refused for its steps is used:
riskbatch.inputs.rate_acceptances). Both commands call check_sign_off first, before any AWS client is made, so a
typo in --by, --reason or --date costs no round trip and is refused in its own one line (a ValueError: a bad input,
exit 2), never behind an AWS or permissions error. Each command keeps its own words for what the person does and
what the reason says; the rule is one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from riskbatch.inputs.business_days import NEW_YORK

NAME_CHARACTERS = 3  # "J. Smith", "jsm": a name, not an initial or an empty string
REASON_CHARACTERS = 10  # a reason an auditor can read, not "ok" or "n/a"


@dataclass(frozen=True)
class SignOffWords:
    """How a command's refusals name its sign-off: what the person does, and what the reason says."""

    act: str  # "signs the exclusion off"
    why: str  # "why the day cannot be backtested"


def signer(by: str, reason: str, words: SignOffWords) -> tuple[str, str]:
    """The name and the reason as a record keeps them (stripped); ValueError (exit 2) when either is too short."""
    if len(by.strip()) < NAME_CHARACTERS:
        raise ValueError(f"--by names the person who {words.act} (at least {NAME_CHARACTERS} characters)")
    if len(reason.strip()) < REASON_CHARACTERS:
        raise ValueError(f"--reason says {words.why} (at least {REASON_CHARACTERS} characters)")
    return by.strip(), reason.strip()


def check_sign_off(date: dt.date, by: str, reason: str, now: dt.datetime, words: SignOffWords) -> tuple[str, str]:
    """A command's sign-off arguments, before any AWS call: the name and the reason (signer), and a date that is not
    after today in New York (no night of it has run). The stripped name and reason; ValueError (exit 2) otherwise."""
    named = signer(by, reason, words)
    today = now.astimezone(NEW_YORK).date()
    if date > today:
        raise ValueError(f"--date {date} is after today ({today}, New York): no night of it has run; give the date of a night that ran")
    return named

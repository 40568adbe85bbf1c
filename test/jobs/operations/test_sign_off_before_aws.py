"""A sign-off command (riskbatch exclude-day, riskbatch accept-rates) checks its own arguments first: a name or a reason
too short, or a date after today, is refused in its own one line (a bad input, exit 2) before any AWS client is made.

Before, riskbatch accept-rates made its session, asked STS who the caller was and read the date's runs in S3 before it
looked at --by: a typo cost a round trip and could surface as an AWS or permissions error instead; riskbatch
exclude-day checked the name and the reason first, but read S3 for a date after today."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine

TODAY = "2026-12-08T14:00:00Z"  # a Tuesday, 09:00 in New York
EVENING = "2026-12-09T02:00:00Z"  # still the 8th in New York: the 9th is tomorrow there
NAME, REASON = "J. Smith, market risk", "vendor outage: no close for 12 European stocks"


class AwsCalled(Exception):
    """Raised by any boto3 session, client or call: the command reached AWS."""


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """boto3 refuses to make a session or a client, and botocore to make a call: whatever reaches AWS fails loudly."""
    import boto3
    import botocore.client

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AwsCalled("an AWS session, client or call was made before the arguments were checked")

    monkeypatch.setattr(boto3.session.Session, "__init__", refuse)
    monkeypatch.setattr(boto3, "client", refuse)
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", refuse)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def _command(name: str, date: str, by: str, reason: str) -> list[str]:
    extra = ["--currency", "CNH"] if name == "accept-rates" else []
    return [name, "--bucket", "risk-out", "--date", date, *extra, "--by", by, "--reason", reason]


AHEAD = "--date {date} is after today (2026-12-08, New York): no night of it has run; give the date of a night that ran"
WHO = {"exclude-day": "signs the exclusion off", "accept-rates": "accepts the curve"}
WHY = {"exclude-day": "why the day cannot be backtested", "accept-rates": "why the move is genuine"}


@pytest.mark.clock
@pytest.mark.parametrize("command", ["exclude-day", "accept-rates"])
@pytest.mark.parametrize(
    ("now", "date", "by", "reason", "refusal"),
    [
        (TODAY, "2026-12-07", "", REASON, "--by names the person who {who} (at least 3 characters)"),
        (TODAY, "2026-12-07", "JS", REASON, "--by names the person who {who} (at least 3 characters)"),
        (TODAY, "2026-12-07", NAME, "  too short  ", "--reason says {why} (at least 10 characters)"),
        (TODAY, "2062-12-07", NAME, REASON, AHEAD),
        (EVENING, "2026-12-09", NAME, REASON, AHEAD),
    ],
    ids=["empty-by", "initials-only", "short-reason", "date-years-ahead", "date-tomorrow-in-new-york"],
)
def test_a_sign_off_with_a_bad_argument_is_refused_before_any_aws_call(
    no_aws: None, capsys: pytest.CaptureFixture[str], command: str, now: str, date: str, by: str, reason: str, refusal: str
) -> None:
    from riskbatch.cli import main

    with time_machine.travel(now, tick=False):
        code = main(_command(command, date, by, reason))
    err = capsys.readouterr().err
    assert "AwsCalled" not in err and "account" not in err  # no session, no STS identity printed: nothing reached AWS
    assert err.strip().splitlines() == [f"riskbatch {command}: error: {refusal.format(who=WHO[command], why=WHY[command], date=date)}"]
    assert code == 2  # a bad input (docs/runbook.md, "Exit codes of every command")


@pytest.mark.clock
@pytest.mark.parametrize("command", ["exclude-day", "accept-rates"])
def test_a_sign_off_with_good_arguments_goes_on_to_aws(no_aws: None, capsys: pytest.CaptureFixture[str], command: str) -> None:
    """The guard of the test above: good arguments, today's date included, do reach AWS (and find it refused here)."""
    from riskbatch.cli import main

    with time_machine.travel(TODAY, tick=False):
        code = main(_command(command, "2026-12-08", NAME, REASON))
    assert code == 1 and "AwsCalled" in capsys.readouterr().err  # the stand-in's refusal: an internal error, its traceback kept

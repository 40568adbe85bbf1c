"""Backtest days excluded by a named sign-off: the only way a day leaves the backtest.

A bank's backtest counts every day. A day whose hypothetical P&L cannot be computed whole (a
factor without a move, a contradicted last price) is not silently skipped: until someone signs it
off, it counts as an exception of the hypothetical backtest (a day that cannot be shown to be
within VaR is not assumed to be). Excluding a day takes a named person and a reason, recorded
once by the operator's command

    riskbatch exclude-day --bucket B --date D --by NAME --reason TEXT

as `history/exclusions/<D>.json` (D: the VaR's date, the date the backtest tables show), written
once: a second sign-off of the same day is refused, the first one stands. The backtest summary
(riskbatch.validation.backtest_summary) reads them: an excluded day is no observation of the
hypothetical backtest only, its window reaches one day further back instead, and the report lists
each exclusion with who signed it, when and why. The actual-P&L backtest never drops a day, signed
off or not: it needs no market move, only the P&L the desk made.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from riskbatch.aws.storage import get_json, list_keys, put_json_once
from riskbatch.inputs.sign_off import SignOffWords, signer

PREFIX = "history/exclusions/"
WORDS = SignOffWords(act="signs the exclusion off", why="why the day cannot be backtested")  # riskbatch exclude-day's refusals


def exclusion_key(var_date: str) -> str:
    return f"{PREFIX}{var_date}.json"


def exclusion_record(var_date: dt.date, by: str, reason: str, now: dt.datetime) -> dict[str, str]:
    """The sign-off of one day; a name and a reason of substance are required (riskbatch.inputs.sign_off)."""
    signed_by, given_reason = signer(by, reason, WORDS)
    return {
        "var_date": var_date.isoformat(),
        "signed_off_by": signed_by,
        "reason": given_reason,
        "signed_off_at": now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def record_exclusion(s3: Any, bucket: str, record: dict[str, str]) -> bool:
    """Write the sign-off once; False when the day was signed off already (the first record stands)."""
    return put_json_once(s3, bucket, exclusion_key(record["var_date"]), record)


def load_exclusions(s3: Any, bucket: str) -> dict[str, dict[str, str]]:
    """Every signed-off day, by its VaR date."""
    keys = [key for key in list_keys(s3, bucket, PREFIX) if key.endswith(".json")]
    return {key.removeprefix(PREFIX).removesuffix(".json"): get_json(s3, bucket, key) for key in keys}

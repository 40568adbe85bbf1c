"""A currency's curve refused for its steps, accepted by a named sign-off: the governance of a genuine squeeze.

A rate further than its currency's rate_step from its neighbouring tenor, or from its own the night before,
refuses that currency's curve (riskbatch.inputs.rates): a percentage typed as a number looks like that, and so
does a real squeeze (CNH overnight 2 % to 9 %; Russia's key rate 9.5 % to 20 % on 28 February 2022). As a
backtest day leaves the backtest only by a named sign-off (riskbatch.validation.exclusions), a curve refused
for its steps alone is used only when a named person accepts it, with the reason, by the operator's command

    riskbatch accept-rates --bucket B --date D --currency CNH --by NAME --reason TEXT

which reads the date's latest run record (runs/<run>/manifest.json: its rates_source's `acceptable` curves)
and writes `history/rate-acceptances/<D>/<CNH>-<digest>.json` once, the digest a short SHA-256 of the curve's
numbers (its tenors in years and rates, sorted), with the curve it accepts, what refused it, the run and the
rates file. A rerun of the night (riskbatch rerun --reason) then uses the acceptance of tonight's curve, exactly
those numbers: a corrected file with other numbers is refused again and needs a sign-off of its own (a record of
its own digest); a second acceptance of the same numbers is refused, the first stands.

What can be accepted: a curve refused only because a rate is further than its rate_step from its neighbouring
tenor or from its own the night before, when no step reads as a typed percentage (a squeeze: EUR 2.1 % to 4.5 %).
What cannot: a step that reads as a percentage typed as a number (riskbatch.inputs.rate_units: JPY 3M 0.1 beside
1Y 0.002, a percentage typed as a number, inside its band): the file is corrected and the night rerun; and a
curve refused for anything but its steps (a rate outside its plausible band, a tenor that is no tenor, a
duplicate, a stale or one-ended curve). The command refuses those, and the night would not use them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from riskbatch.aws.runs import latest_manifest
from riskbatch.aws.storage import get_json, list_keys, put_json_once
from riskbatch.inputs.sign_off import SignOffWords, signer

PREFIX = "history/rate-acceptances/"
WORDS = SignOffWords(act="accepts the curve", why="why the move is genuine")  # riskbatch accept-rates' refusals


def curve_digest(curve: list[list[float]]) -> str:
    """A short SHA-256 of the curve's numbers (sorted tenors in years and their rates): one record per curve accepted."""
    canonical = json.dumps(sorted([float(years), float(rate)] for years, rate in curve), separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def acceptance_key(business_date: str, currency: str, curve: list[list[float]]) -> str:
    return f"{PREFIX}{business_date}/{currency}-{curve_digest(curve)}.json"


def latest_run_record(s3: Any, bucket: str, business_date: str) -> dict[str, Any] | None:
    """The date's latest run record, None when the date never ran."""
    return latest_manifest(s3, bucket, business_date)


def acceptance_record(manifest: dict[str, Any], currency: str, by: str, reason: str, now: dt.datetime) -> dict[str, Any]:
    """The sign-off of one currency's curve on the run's date; ValueError (a bad input, exit 2) when the run did not
    refuse that curve for its steps alone, or the name or the reason is missing."""
    code, date, source = currency.strip().upper(), manifest["business_date"], manifest.get("rates_source") or {}
    signed_by, given_reason = signer(by, reason, WORDS)
    refused = (source.get("refused") or {}).get(code)
    mistyped = (source.get("mistyped") or {}).get(code)
    if mistyped:  # one rate about 100x another: the file is wrong, not the market
        raise ValueError(f"{code}'s curve of {date} cannot be accepted: {mistyped[0]}")
    if code not in (source.get("acceptable") or {}):
        why = f"it was refused for more than its steps: {'; '.join(refused)}" if refused else "it was not refused"
        raise ValueError(f"{code}'s curve of {date} cannot be accepted ({why}, run {manifest['run_id']}): only a curve refused for its steps alone can")
    return {
        "business_date": date,
        "currency": code,
        "curve": source["acceptable"][code],
        "refused_for": refused,
        "run_id": manifest["run_id"],
        "rates_file": {"uri": source.get("uri"), "sha256": source.get("sha256")},
        "signed_off_by": signed_by,
        "reason": given_reason,
        "signed_off_at": now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def record_acceptance(s3: Any, bucket: str, record: dict[str, Any]) -> bool:
    """Write the sign-off once; False when that currency's curve of that date, these numbers, was accepted already (the first stands)."""
    return put_json_once(s3, bucket, acceptance_key(record["business_date"], record["currency"], record["curve"]), record)


def load_acceptances(s3: Any, bucket: str, business_date: str) -> dict[str, list[dict[str, Any]]]:
    """The date's accepted curves, by currency (a currency may have several: a corrected file signed off again); the night
    uses the one whose numbers are tonight's."""
    found: dict[str, list[dict[str, Any]]] = {}
    for key in sorted(key for key in list_keys(s3, bucket, f"{PREFIX}{business_date}/") if key.endswith(".json")):
        record = get_json(s3, bucket, key)
        found.setdefault(record["currency"], []).append(record)
    return found

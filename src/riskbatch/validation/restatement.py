"""Restatement: a later run of a business date supersedes the history record of the earlier one.

Corrected files for a date (landed under the same names), or a re-run under another approved
data-quality policy, make a new run id, a second report under reports/<date>/ and a new record
of the date's figures. The record in force stays `history/<date>.json` (what the backtest and
`riskbatch backtest` read); the record it replaces is kept, written once, at
`history/superseded/<date>/<run>.json`, and the new record says which run it supersedes, when,
and why: the reason given to the run (`riskbatch rerun --reason`, or the `restatement.txt` that
landed with the corrected files) and the differences between the two runs' manifests (input
checksums, model, data-quality policy, configuration version).

The later run supersedes: runs are ordered by their manifest's `created_at` (ingestion time). A
run older than the record in force that finishes after it (the first night's run still in flight
when the corrected files land) does not take the record back: its report says it was superseded
before publication, by which run.

The record in force is replaced with a conditional write (PutObject If-Match the ETag read): two
restatements of one date at once cannot both replace the same record; the loser reads the record
again and decides again. S3 conditional writes (If-None-Match, If-Match):
https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from botocore.exceptions import ClientError

from riskbatch.aws.runs import manifest_of, run_order
from riskbatch.aws.storage import put_json_once
from riskbatch.inputs.business_days import NEW_YORK
from riskbatch.validation.history import history_key, record_in_force

SUPERSEDED_PREFIX = "history/superseded/"
REASON_FILE = "restatement.txt"  # optional, beside the corrected files: why they were corrected
REASON_CHARACTERS = 500
PRECONDITION_CODES = {"PreconditionFailed", "412", "ConditionalRequestConflict"}
ATTEMPTS = 5


def superseded_key(business_date: str, run: str) -> str:
    return f"{SUPERSEDED_PREFIX}{business_date}/{run}.json"


def given_reason(text: str | None, source: str) -> dict[str, str] | None:
    """A reason as the manifest keeps it (at most REASON_CHARACTERS, on one line), or None for none."""
    cleaned = " ".join((text or "").split())[:REASON_CHARACTERS]
    return {"text": cleaned, "source": source} if cleaned else None


def _sha(item: dict[str, Any] | None) -> str:
    return (item or {}).get("sha256", "")[:12] or "none"


def manifest_changes(earlier: dict[str, Any] | None, later: dict[str, Any]) -> list[str]:
    """What differs between two runs of a date, from their manifests, one phrase each."""
    if earlier is None:
        return ["the superseded run's manifest is not in this bucket"]
    changes = []
    before = {item["role"]: item for item in earlier.get("inputs", [])}
    for item in later.get("inputs", []):
        if _sha(before.get(item["role"])) != _sha(item):
            changes.append(f"{item['role']} file {item['uri'].rsplit('/', 1)[-1]}: sha256 {_sha(before.get(item['role']))} -> {_sha(item)}")
    for name in ("limits_source", "actual_pnl_source", "stress_market_source"):
        if _sha(earlier.get(name)) != _sha(later.get(name)):
            changes.append(f"{name.removesuffix('_source').replace('_', ' ')} file: sha256 {_sha(earlier.get(name))} -> {_sha(later.get(name))}")
    for section, label in (("model", "model"), ("data_quality_policy", "data-quality policy")):
        old, new = earlier.get(section, {}), later.get(section, {})
        changes += [f"{label} {key}: {old.get(key)} -> {new.get(key)}" for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)]
    old_version, new_version = (earlier.get("model_config") or {}).get("version"), (later.get("model_config") or {}).get("version")
    if old_version != new_version:
        changes.append(f"model configuration {old_version} -> {new_version}")
    return changes or ["no difference in the manifests (the same inputs, model and policy)"]


def _why(manifest: dict[str, Any], changes: list[str]) -> str:
    reason = manifest.get("restatement_reason")
    return reason["text"] if reason else "corrected inputs: " + "; ".join(changes)


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def record_night(s3: Any, bucket: str, record: dict[str, Any], manifest: dict[str, Any]) -> dict[str, Any] | None:
    """Write the night's record: once, or as the restatement of the record in force when this run is
    the later one. Returns the run's restatement (what its report says): None for a first record;
    {"supersedes": ...} when this run replaced the record in force; {"superseded_by": ...} when a
    later run holds it already. A redelivered run finds its own record and its restatement again."""
    date, run = record["business_date"], record["run_id"]
    for _ in range(ATTEMPTS):
        current, etag = record_in_force(s3, bucket, date)
        if current is None:
            if put_json_once(s3, bucket, history_key(date), record):
                return None
            continue  # another run of the date wrote first: decide again
        if current["run_id"] == run:
            return current.get("restatement")
        if record.get("no_figure") and not current.get("no_figure"):  # two runs of the date ingested before either published
            reason = f"the figures of run {current['run_id']} stand: a night of no figure (every position refused) never replaces them"
            return {"superseded_by": current["run_id"], "at": _now(), "reason": reason, "changes": []}
        earlier = manifest_of(s3, bucket, current["run_id"])
        if earlier is not None and run_order(earlier) >= run_order(manifest):  # the readers' one rule: a same-second tie by run id
            changes = manifest_changes(manifest, earlier)
            return {"superseded_by": current["run_id"], "at": _now(), "reason": _why(earlier, changes), "changes": changes}
        changes = manifest_changes(earlier, manifest)
        restatement = {
            "supersedes": current["run_id"],
            "at": _now(),
            "reason": _why(manifest, changes),
            "reason_source": (manifest.get("restatement_reason") or {}).get("source", "the two runs' manifests"),
            "changes": changes,
            "superseded_record": superseded_key(date, current["run_id"]),
            "superseded_written_at": current.get("written_at"),
        }
        put_json_once(s3, bucket, superseded_key(date, current["run_id"]), current)  # kept before it is replaced; once
        chain = [{key: restatement[key] for key in ("supersedes", "at", "reason", "superseded_record")}, *current.get("supersessions", [])]
        body = json.dumps({**record, "restatement": restatement, "supersessions": chain}, indent=2, default=str).encode()
        try:
            s3.put_object(Bucket=bucket, Key=history_key(date), Body=body, ContentType="application/json", IfMatch=etag)
        except ClientError as error:
            if error.response["Error"]["Code"] in PRECONDITION_CODES:
                continue  # the record changed since it was read: read it again
            raise
        return restatement
    raise RuntimeError(f"history/{date}.json kept changing while run {run} tried to record its figures ({ATTEMPTS} attempts)")


def restatement_line(summary: dict[str, Any]) -> str | None:
    """The one line the report's first page and the notification carry about a restatement (None: none)."""
    restatement = summary.get("restatement")
    if not restatement:
        return None
    if "superseded_by" in restatement:
        return (
            f"Superseded before publication: run {restatement['superseded_by']}, made later for {summary['business_date']}, "
            f"holds the figures in force ({restatement['reason']})."
        )
    return f"Restated, supersedes run {restatement['supersedes']} (recorded {new_york_time(restatement['at'])}). Why: {restatement['reason']}."


def new_york_time(stamp: str) -> str:
    """A UTC time as the report's pages give every time: New York's, with its zone."""
    try:
        instant = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return stamp  # not a time this module wrote: as it is
    return f"{instant.astimezone(NEW_YORK):%Y-%m-%d %H:%M %Z} New York time"


def restated_subject(subject: str, summary: dict[str, Any]) -> str:
    """The notification's subject, marked when the report restates or was superseded."""
    restatement = summary.get("restatement") or {}
    return f"RESTATED {subject}" if "supersedes" in restatement else f"SUPERSEDED {subject}" if restatement else subject

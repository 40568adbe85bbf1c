"""A corporate_actions.csv the night did not read: the night ran without it (or with the file it replaced), and its
arrival alone starts no run (only the market and positions files' do). The deadline check and `riskbatch status`
name it, read from what they list already: the input folder's objects (ListObjectsV2: each one's ETag and
LastModified) and the latest run's manifest (the corporate_actions.csv it read, if any, with the ETag GetObject
served it). A file is late when the night read none, or when its ETag is not the one read, whenever it landed:
ingestion writes the manifest minutes after it read the file, so a corrected file may land before the manifest
and still be one the night never saw."""

from __future__ import annotations

import datetime as dt
from typing import Any

from riskbatch.inputs.corporate_actions import CORPORATE_ACTIONS_FILE


def _not_read(item: dict[str, Any], read: dict[str, Any] | None, made: dt.datetime) -> bool:
    """Whether the listed object is not the file the run read: none read, or another ETag than the one read (the
    listing gives no VersionId; the ETag needs no versioning on the input bucket); for a manifest written before the
    ETag was recorded, written after the run was made (a file replaced between the read and the manifest goes unseen there)."""
    if read is None:
        return True
    if read.get("etag") and item.get("ETag"):
        return bool(item["ETag"] != read["etag"])
    return bool(item["LastModified"] > made)


def landed_after_ingestion(listed: list[dict[str, Any]], manifest: dict[str, Any] | None, business_date: str, stack: str = "<stack>") -> list[str]:
    """One line per corporate_actions.csv of `listed` (ListObjectsV2's Contents of the date's input folder) that the
    run of `manifest` did not read: there when the run had read none (it landed after ingestion looked), or not the
    object the run read (a corrected file, even one that landed before the manifest was written); none without a run."""
    if not manifest:
        return []
    made = dt.datetime.fromisoformat(manifest["created_at"].replace("Z", "+00:00"))
    read = manifest.get("corporate_actions_source")
    lines = []
    for item in listed:
        name, landed = item["Key"].rsplit("/", 1)[-1], item["LastModified"]
        if name != CORPORATE_ACTIONS_FILE or not _not_read(item, read, made):
            continue
        replaced = f"; the night read the file it replaced (sha256 {read['sha256'][:12]})" if read else ""
        lines.append(
            f"{name} landed {landed.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC, after the night read its inputs (run {manifest['run_id']}, "
            f"made {manifest['created_at']}){replaced}: not applied; rerun with "
            f'`riskbatch rerun --stack-name {stack} --date {business_date} --reason "..."`'
        )
    return lines

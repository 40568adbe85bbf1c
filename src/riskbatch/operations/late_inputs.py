"""A corporate_actions.csv that landed after the night read its inputs: the night ran without it (or with the file
it replaced), and its arrival alone starts no run (only the market and positions files' do). The deadline check
and `riskbatch status` name it, read from what they list already: the input folder's objects (their LastModified)
and the latest run's manifest (when it was made, and the corporate_actions.csv it read, if any)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from riskbatch.inputs.corporate_actions import CORPORATE_ACTIONS_FILE


def landed_after_ingestion(listed: list[dict[str, Any]], manifest: dict[str, Any] | None, business_date: str, stack: str = "<stack>") -> list[str]:
    """One line per corporate_actions.csv of `listed` (ListObjectsV2's Contents of the date's input folder) that the
    run of `manifest` did not read: there when the run had read none (it landed after ingestion looked), or written
    after the run was made (a corrected file); none without a run."""
    if not manifest:
        return []
    made = dt.datetime.fromisoformat(manifest["created_at"].replace("Z", "+00:00"))
    read = manifest.get("corporate_actions_source")
    lines = []
    for item in listed:
        name, landed = item["Key"].rsplit("/", 1)[-1], item["LastModified"]
        if name != CORPORATE_ACTIONS_FILE or (read is not None and landed <= made):
            continue
        lines.append(
            f"{name} landed {landed.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC, after the night read its inputs (run {manifest['run_id']}, "
            f"made {manifest['created_at']}): not applied; rerun with "
            f'`riskbatch rerun --stack-name {stack} --date {business_date} --reason "..."`'
        )
    return lines

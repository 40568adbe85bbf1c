"""The rows of the night's corporate_actions.csv that ingestion sets apart: a record of each (line, reason, text)
in the night's quarantine beside the other rejected input, one notification, and the file's source record
naming them for the manifest and the report's page one. The file's good rows are used (riskbatch.inputs.corporate_actions)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from riskbatch.aws.alerts import first_rows
from riskbatch.aws.layout import excluded_rows_key
from riskbatch.aws.storage import put_json_once
from riskbatch.inputs.corporate_actions import CORPORATE_ACTIONS_FILE, CorporateAction, CorporateActionsRead
from riskbatch.runtime.logs import log


def quarantine_rows(
    job: Any, read: CorporateActionsRead | None, source: dict[str, Any] | None, business_date: str, alert_once: Callable[[Any, str, str, str], None]
) -> tuple[list[CorporateAction] | None, dict[str, Any] | None]:
    """(the records the night uses, the file's source record): None and the source as given for no file or a refused one;
    with rows set apart, their record written once, its alert sent once, and the source naming the rows and the record."""
    if read is None or source is None:
        return None, source
    if not read.quarantined:
        return read.actions, source
    key = excluded_rows_key(business_date, CORPORATE_ACTIONS_FILE, source["sha256"])
    rows = [asdict(row) for row in read.quarantined]
    retry = (
        f"land the corrected {CORPORATE_ACTIONS_FILE} under the same name, then run "
        f'`riskbatch rerun --stack-name <stack> --date {business_date} --reason "..."` (its arrival alone starts no run)'
    )
    record = {
        "file": source["uri"],
        "sha256": source["sha256"],
        "version_id": source.get("version_id"),
        "business_date": business_date,
        "quarantined_rows": rows,
        "records_used": len(read.actions),
        "detected_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "kept": f"the original stays where it landed; the night uses its other {len(read.actions)} record(s); {retry}",
    }
    created = put_json_once(job.s3, job.output, key, record)
    details = f"s3://{job.output}/{key}"
    log("corporate_action_rows_quarantined", file=source["uri"], rows=len(rows), used=len(read.actions), report=key, first_report=created)
    lines = [f"{len(rows)} row(s) of {source['uri']} quarantined, not used; the night uses its other {len(read.actions)} record(s):"]
    lines += first_rows([f"- line {row.line}: {row.reason}: {row.text}" for row in read.quarantined], details)
    lines += [f"Report: {details}", f"To correct them: {retry}."]
    alert_once(job, key, f"Risk batch: corporate action rows quarantined for {business_date}", "\n".join(lines))
    return read.actions, {**source, "quarantined_rows": rows, "quarantine": details}

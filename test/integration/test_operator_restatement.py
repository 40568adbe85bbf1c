"""A restatement through the operator's eyes: the corrected positions file lands under the same name, after its
restatement.txt, and `riskbatch status` says which run is in force (two nights: a file of its own, so that under
`make integration`'s --dist loadfile its nights run beside test_operator.py's on the other worker).

Against a live stack it runs by opt-in (RISKBATCH_EXERCISE_STACK=1, never against a production stack), with the
suite's own credentials: it writes its own business date (2026-12-15) into the stack's buckets and publishes its
reports to its topic's subscribers.
"""

from __future__ import annotations

import datetime as dt
import json
from contextlib import ExitStack
from pathlib import Path

import pytest

from riskbatch.aws.layout import report_keys
from riskbatch.inputs.sample import SampleSpec, write_sample
from riskbatch.operations.stack_lookup import session as operator_session
from riskbatch.operations.status import STATUS_ACTIONS, as_text, read_status
from riskbatch_platform.local.night import read_mailbox, upload_night
from test.integration.conftest import DeployedStack, alert_inbox, deployed_parameters
from test.integration.test_operator import _finish, _land, _laptop, _operator, _rerun_and_work_the_queues

pytestmark = pytest.mark.nights(2)

RESTATED_DATE = "2026-12-15"  # no other test of the suite runs this date


@pytest.mark.live_exercise
def test_corrected_files_restate_the_night_and_status_says_which_run_is_in_force(stack: DeployedStack, tmp_path: Path, monkeypatch) -> None:
    """The corrected positions file lands under the same name, after its restatement.txt, and EventBridge starts
    the ingestion as for any arrival: a new run, a second report, the history record superseded. Against a live
    stack the arrivals are followed by riskbatch rerun (the ingestion EventBridge started finds its run made) and
    the queues worked off by RunTask; the notice is read from a queue subscribed to the topic."""
    from test.jobs.jobs.test_pipeline import _page_texts

    positions, _ = write_sample(tmp_path, SampleSpec(positions=300, factors=40, days=260, portfolios=3, business_date=dt.date.fromisoformat(RESTATED_DATE)))
    parameters = deployed_parameters(stack)
    bucket, output, prefix = parameters["InputBucketName"], parameters["OutputBucketName"], parameters.get("InputKeyPrefix") or "incoming/"
    s3 = stack.target.client("s3")
    with ExitStack() as cleanup:
        inbox = None if stack.is_local else cleanup.enter_context(alert_inbox(stack))
        if stack.is_local:
            for key in upload_night(stack.local, positions.parent, RESTATED_DATE):
                stack.ecs.deliver_object_created(bucket, key)
            _finish(stack)
        else:
            _land(stack, positions.parent, RESTATED_DATE)
            _rerun_and_work_the_queues(stack, RESTATED_DATE)
        lines = positions.read_text().splitlines()
        row = next(index for index, line in enumerate(lines) if ",equity," in line)
        cells = lines[row].split(",")
        cells[4] = f"{float(cells[4]) * 3:.2f}"
        lines[row] = ",".join(cells)
        s3.put_object(Bucket=bucket, Key=f"{prefix}{RESTATED_DATE}/restatement.txt", Body=b"PF03 equity quantity corrected by the desk")
        s3.put_object(Bucket=bucket, Key=f"{prefix}{RESTATED_DATE}/positions.csv", Body=("\n".join(lines) + "\n").encode())
        if stack.is_local:
            read_mailbox(stack.local)
            assert [code for _, code in stack.ecs.deliver_object_created(bucket, f"{prefix}{RESTATED_DATE}/positions.csv")] == [0]
            _finish(stack)
            notices = read_mailbox(stack.local)
        else:
            _rerun_and_work_the_queues(stack, RESTATED_DATE)
            notices = inbox.wait_for("RESTATED Risk report", seconds=120)
    (notice,) = [note for note in notices if str(note["subject"]).startswith("RESTATED Risk report")]

    if stack.is_local:
        _laptop(monkeypatch, stack, _operator(stack, "ops-restated", STATUS_ACTIONS))
        status = read_status(operator_session(None, None).client, stack.stack_name, dt.date.fromisoformat(RESTATED_DATE))
    else:  # the suite's own credentials: an IAM user of its own would change the account
        session = stack.target.session()
        status = read_status(
            lambda service: session.client(service, endpoint_url=stack.target.endpoint_url), stack.stack_name, dt.date.fromisoformat(RESTATED_DATE)
        )
    first, second = (entry["run_id"] for entry in status.runs)
    assert [entry["in_force"] for entry in status.runs] == [False, True] and status.report["run_id"] == second
    assert status.history["restatement"]["supersedes"] == first and status.history["restatement"]["reason"] == "PF03 equity quantity corrected by the desk"
    assert f"Restated, supersedes run {first}" in json.loads(notice["message"])["restatement"]
    page_one = _page_texts(s3.get_object(Bucket=output, Key=report_keys(RESTATED_DATE, second)[0])["Body"].read())[0]
    # compared without spaces: the text read back joins a wrapped line to the next without one (page one is drawn at full size)
    compact = "".join(page_one.split())
    assert f"Restated,supersedesrun{first}" in compact and "correctedbythedesk" in compact
    print(as_text(status))  # shown with -s
    print(page_one[:600])

"""The night is checked from what it wrote: the last night a stack published, read back from its output
bucket and its operator's status command, and checked for what makes it a night.

What a night writes outlives the stack (docs/design.md, facts 28 and 29): its run record
(runs/<run>/manifest.json and one result per work unit), its report (reports/<date>/<run>.pdf and .json)
and its backtest history record (history/<date>.json). Against a live stack this reads the last night
EventBridge and the services ran; the local deployment runs a small night first when it has none.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from riskbatch.aws.layout import manifest_key, report_keys, results_prefix
from riskbatch.aws.storage import get_json, list_keys
from riskbatch.inputs.sample import SampleSpec, write_sample
from riskbatch.operations.status import READ_CALLS, read_status
from riskbatch.validation.history import history_key, stored_dates
from riskbatch_platform.deployment.stack import current_parameters
from riskbatch_platform.local.night import run_services, upload_night
from test.integration.conftest import DeployedStack

LOCAL_NIGHT = "2026-12-11"  # the local deployment's night when it has none; no other test runs this date


def _run_a_small_night(stack: DeployedStack, tmp_path: Path) -> None:
    positions, _ = write_sample(tmp_path, SampleSpec(positions=300, factors=40, days=260, portfolios=3, business_date=dt.date.fromisoformat(LOCAL_NIGHT)))
    for key in upload_night(stack.local, positions.parent, LOCAL_NIGHT):
        stack.ecs.deliver_object_created(stack.local.stand_ins.input_bucket, key)
    run_services(stack.ecs, "RiskCalculationService", 2, idle_exit=3, say=lambda line: None)
    run_services(stack.ecs, "ReportGenerationService", 1, idle_exit=3, say=lambda line: None)


@pytest.mark.reads_the_stacks_night
def test_the_last_night_is_checked_from_what_it_wrote(stack: DeployedStack, tmp_path: Path) -> None:
    s3 = stack.target.client("s3")
    output = current_parameters(stack.target.client("cloudformation"), stack.stack_name)["OutputBucketName"]
    if stack.is_local and not stored_dates(s3, output):
        _run_a_small_night(stack, tmp_path)
    dates = stored_dates(s3, output)
    assert dates, "the stack has published no night yet: run the live suite after its first night"
    date = dates[-1]

    history = get_json(s3, output, history_key(date))
    run = history["run_id"]
    assert history["business_date"] == date and run.startswith(f"{date}-")
    firm = history["var"]["firm"]
    assert 0 < firm["var_95"] <= firm["var_99"] and firm["var_95"] <= firm["es_975"], firm  # a loss quantile grows with its level

    manifest = get_json(s3, output, manifest_key(run))
    assert manifest["business_date"] == date and manifest["units"]
    results = list_keys(s3, output, results_prefix(run))
    assert len(results) == len(manifest["units"]), f"{len(results)} results for {len(manifest['units'])} units"

    pdf_key, json_key = report_keys(date, run)
    report = get_json(s3, output, json_key)
    assert report["run_id"] == run and report["business_date"] == date
    assert s3.get_object(Bucket=output, Key=pdf_key)["Body"].read(5) == b"%PDF-"

    calls: list[str] = []  # the operator's status command reads the same night, with reads alone
    session = stack.target.session()
    session.events.register("before-call", lambda model, **_: calls.append(model.name))
    status = read_status(lambda service: session.client(service, endpoint_url=stack.target.endpoint_url), stack.stack_name, dt.date.fromisoformat(date))
    assert set(calls) <= READ_CALLS, sorted(set(calls) - READ_CALLS)
    assert status.stage == "the report is published" and status.run == run and status.history["run_id"] == run
    assert status.units["done"] == status.units["total"] == len(manifest["units"])

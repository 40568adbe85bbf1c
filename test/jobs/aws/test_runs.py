"""The one reader of the runs in the output bucket: the runs of a date, the latest of them, the latest run before a date."""

from __future__ import annotations

import fnmatch
import json

import pytest

from riskbatch.aws.layout import manifest_key, market_key, unit_key
from riskbatch.aws.runs import latest_manifest, latest_manifest_before, manifest_of, manifests_of_date
from test.jobs.stack_layout import PARAMETERS, stack_properties

BUCKET = PARAMETERS["OutputBucketName"]  # the bucket the resolved template's roles name


def _run(s3, run: str, created_at: str, **fields) -> None:
    manifest = {"run_id": run, "business_date": run[:10], "created_at": created_at, "units": [], **fields}
    s3.put_object(Bucket=BUCKET, Key=manifest_key(run), Body=json.dumps(manifest).encode())
    s3.put_object(Bucket=BUCKET, Key=unit_key(run, 0), Body=b"x")


def _died_before_its_manifest(s3, run: str) -> None:
    """What an ingestion that died mid-write leaves: the market and units, written before the manifest, which comes last."""
    s3.put_object(Bucket=BUCKET, Key=market_key(run), Body=b"x")
    s3.put_object(Bucket=BUCKET, Key=unit_key(run, 0), Body=b"x")


def test_the_runs_of_a_date_are_ordered_by_ingestion_then_by_run_id(s3) -> None:
    _run(s3, "2026-11-24-cccccccccccc", "2026-11-25T01:00:00Z")
    _run(s3, "2026-11-24-bbbbbbbbbbbb", "2026-11-25T02:00:00Z")
    _run(s3, "2026-11-24-aaaaaaaaaaaa", "2026-11-25T02:00:00Z")  # the same second as bbbb: the run id decides, for every reader alike
    _run(s3, "2026-11-25-dddddddddddd", "2026-11-24T00:00:00Z")  # another date, whatever its time
    _died_before_its_manifest(s3, "2026-11-24-eeeeeeeeeeee")
    order = [manifest["run_id"] for manifest in manifests_of_date(s3, BUCKET, "2026-11-24")]
    assert order == ["2026-11-24-cccccccccccc", "2026-11-24-aaaaaaaaaaaa", "2026-11-24-bbbbbbbbbbbb"]
    assert latest_manifest(s3, BUCKET, "2026-11-24")["run_id"] == "2026-11-24-bbbbbbbbbbbb"
    assert latest_manifest(s3, BUCKET, "2026-11-23") is None


def test_a_rerun_ingested_within_the_second_of_the_run_it_reruns_is_the_later(s3) -> None:
    """created_at holds whole seconds; created_ns, the same clock, orders two runs of one second (a rerun right after
    a sign-off), whatever their run ids: the next night's previous night is the rerun, not the run it replaced."""
    _run(s3, "2026-11-24-ffffffffffff", "2026-11-25T02:00:00Z", created_ns=1_795_658_400_100_000_000)  # the refused run
    _run(s3, "2026-11-24-aaaaaaaaaaaa", "2026-11-25T02:00:00Z", created_ns=1_795_658_400_900_000_000)  # its rerun
    assert latest_manifest(s3, BUCKET, "2026-11-24")["run_id"] == "2026-11-24-aaaaaaaaaaaa"
    assert latest_manifest_before(s3, BUCKET, "2026-11-25")["run_id"] == "2026-11-24-aaaaaaaaaaaa"


def test_the_latest_run_before_a_date_passes_over_a_date_whose_ingestion_died(s3) -> None:
    _run(s3, "2026-11-20-aaaaaaaaaaaa", "2026-11-21T01:00:00Z", draw_order=["old"])
    _run(s3, "2026-11-23-aaaaaaaaaaaa", "2026-11-24T01:00:00Z", draw_order=["A", "B"])
    _run(s3, "2026-11-23-bbbbbbbbbbbb", "2026-11-24T03:00:00Z", draw_order=["B", "A"])
    _died_before_its_manifest(s3, "2026-11-24-cccccccccccc")
    _run(s3, "2026-11-25-aaaaaaaaaaaa", "2026-11-26T01:00:00Z")  # tonight's own run is not before tonight
    assert latest_manifest_before(s3, BUCKET, "2026-11-25")["run_id"] == "2026-11-23-bbbbbbbbbbbb"
    assert latest_manifest_before(s3, BUCKET, "2026-11-23")["run_id"] == "2026-11-20-aaaaaaaaaaaa"
    assert latest_manifest_before(s3, BUCKET, "2026-11-20") is None


def _allowed(role: str, action: str, resource: str, prefix: str | None = None) -> bool:
    """Whether one of the role's Allow statements (lib/TapStack.json, resolved for the test stack) names the action on the
    resource, under its s3:prefix condition when it has one (StringLike: * matches any characters, / included)."""
    for statement in (item for policy in stack_properties()[role]["Policies"] for item in policy["PolicyDocument"]["Statement"]):
        actions, resources = statement["Action"], statement["Resource"]
        actions, resources = [actions] if isinstance(actions, str) else actions, [resources] if isinstance(resources, str) else resources
        like = statement.get("Condition", {}).get("StringLike", {}).get("s3:prefix")
        patterns = [] if like is None else [like] if isinstance(like, str) else like
        named = action in actions and any(fnmatch.fnmatchcase(resource, pattern) for pattern in resources)
        if named and (like is None or (prefix is not None and any(fnmatch.fnmatchcase(prefix, pattern) for pattern in patterns))):
            return True
    return False


@pytest.mark.parametrize(
    ("role", "read"),
    [
        ("DeadlineCheckTaskRole", lambda s3: manifests_of_date(s3, BUCKET, "2026-11-24")),  # riskbatch.operations.watch.read_progress
        ("DataIngestionTaskRole", lambda s3: latest_manifest_before(s3, BUCKET, "2026-11-25")),  # riskbatch.jobs.earlier_runs
        ("DataIngestionTaskRole", lambda s3: manifest_of(s3, BUCKET, "2026-11-24-cccccccccccc")),
        ("ReportGenerationTaskRole", lambda s3: manifest_of(s3, BUCKET, "2026-11-24-cccccccccccc")),  # the report's and the restatement's
    ],
    ids=["deadline check", "ingestion, earlier run", "ingestion, named run", "report, named run"],
)
def test_each_reader_stays_within_its_task_role(s3, role: str, read) -> None:
    """The deadline check's role may list runs/*, reports/*, quarantine/* and GetObject runs/*/manifest.json alone, nothing of
    history/ (lib/TapStack.json). ListObjectsV2 is authorised as s3:ListBucket on the bucket under the s3:prefix condition
    ("Actions, resources, and condition keys for Amazon S3": https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html);
    GetObject of a missing key answers 403 without an unconditioned s3:ListBucket ("Permissions", GetObject:
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html), so a manifest is listed before it is fetched."""
    _run(s3, "2026-11-23-aaaaaaaaaaaa", "2026-11-24T01:00:00Z")
    _died_before_its_manifest(s3, "2026-11-24-cccccccccccc")
    _run(s3, "2026-11-24-bbbbbbbbbbbb", "2026-11-25T01:00:00Z")
    s3.put_object(Bucket=BUCKET, Key="history/2026-11-24.json", Body=b"{}")
    calls: list[tuple[str, dict]] = []
    s3.meta.events.register("before-parameter-build.s3", lambda model, params, **_: calls.append((model.name, dict(params))))
    read(s3)
    assert calls and {name for name, _ in calls} <= {"ListObjectsV2", "GetObject"}
    bucket = f"arn:aws:s3:::{BUCKET}"
    denied = [
        (name, params.get("Prefix") or params.get("Key"))
        for name, params in calls
        if not (
            _allowed(role, "s3:ListBucket", bucket, params["Prefix"])
            if name == "ListObjectsV2"
            else _allowed(role, "s3:GetObject", f"{bucket}/{params['Key']}")
        )
    ]
    assert denied == []


def test_the_role_check_denies_what_the_deadline_check_may_not_do() -> None:
    """The check above can say no: history/ is outside the deadline check's role, runs/ inside."""
    bucket = f"arn:aws:s3:::{BUCKET}"
    assert _allowed("DeadlineCheckTaskRole", "s3:GetObject", f"{bucket}/runs/2026-11-24-aaaaaaaaaaaa/manifest.json")
    assert not _allowed("DeadlineCheckTaskRole", "s3:GetObject", f"{bucket}/history/2026-11-24.json")
    assert not _allowed("DeadlineCheckTaskRole", "s3:GetObject", f"{bucket}/runs/2026-11-24-aaaaaaaaaaaa/units/00000.parquet")
    assert _allowed("DeadlineCheckTaskRole", "s3:ListBucket", bucket, "runs/2026-11-24-")
    assert not _allowed("DeadlineCheckTaskRole", "s3:ListBucket", bucket, "history/")

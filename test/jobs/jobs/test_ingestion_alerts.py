"""Every alert of the ingestion fits SNS's bound, however many things it names: the first few in the
message, all of them in the output bucket under the key the message gives. SNS refuses a message over
256 KiB with InvalidParameter (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html), so an
unbounded list of held prices would stop ingestion on every arrival and every rerun."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from riskbatch.aws.alerts import ALERT_BYTES, SNS_MESSAGE_LIMIT, sns_message_size
from riskbatch.aws.storage import list_keys
from riskbatch.inputs.arrival import FileSet
from riskbatch.inputs.quality import HeldPrice
from riskbatch.jobs.ingestion import Ingestion, _report_held_prices
from riskbatch_platform import REPO_ROOT
from test.jobs.stack_layout import Night, mocked_night

DATE = "2026-11-25"
HELD = 3_000  # about 1,500 lines of held prices already pass 256 KiB


@pytest.fixture
def night(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with mocked_night(tmp_path, monkeypatch, 1_000, 512) as night:
        yield night


def _alerts(night: Night) -> list[dict]:
    found = night.sqs.receive_message(QueueUrl=night.notifications, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    return [json.loads(message["Body"]) for message in found]


def test_thousands_of_held_prices_alert_once_within_the_bound_and_the_record_holds_them_all(night: Night) -> None:
    held = [HeldPrice(f"EQ_{i:05d}", DATE, 100.0 * (i + 1), float(i + 1), 4.6, 3, 1_000.0 * i) for i in range(HELD)]
    files = FileSet(night.settings.input_bucket, DATE, {"market": f"incoming/{DATE}/market.csv"}, {}, {"market": "ab" * 32})
    prepared = SimpleNamespace(held=held, reporting_currency="USD")
    job = Ingestion(night.settings, night.s3, night.sqs, night.sns)
    _report_held_prices(job, files, prepared)  # type: ignore[arg-type]
    (alert,) = _alerts(night)
    assert sns_message_size(alert["Subject"], alert["Message"]) <= ALERT_BYTES < SNS_MESSAGE_LIMIT
    (record_key,) = list_keys(night.s3, night.settings.output_bucket, f"quarantine/{DATE}/market.csv.")
    assert f"s3://{night.settings.output_bucket}/{record_key}" in alert["Message"] and f"{HELD:,} held" in alert["Message"]
    record = json.loads(night.s3.get_object(Bucket=night.settings.output_bucket, Key=record_key)["Body"].read())
    assert [entry["factor"] for entry in record["held"]] == [price.factor for price in held]
    _report_held_prices(job, files, prepared)  # type: ignore[arg-type]  # a second arrival of the same files
    assert _alerts(night) == []


def _direct_sends(path: Path) -> list[str]:
    """Calls of .publish( or .put_events( in a module: an SNS message or an EventBridge entry sent without its bound."""
    calls = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in {"publish", "put_events"}:
            calls.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}")
    return calls


def test_every_message_and_event_of_the_jobs_goes_through_the_bounded_functions() -> None:
    """riskbatch.aws.alerts is the one module that calls Publish and PutEvents: publish_alert,
    publish_per_protocol and put_event fit or check the message against its bound first."""
    package = REPO_ROOT / "src" / "riskbatch"
    offenders = [call for path in sorted(package.rglob("*.py")) if path != package / "aws" / "alerts.py" for call in _direct_sends(path)]
    assert offenders == []
    assert len(_direct_sends(package / "aws" / "alerts.py")) >= 2  # the rule reads the calls it means

"""riskbatch accept-rates: a named acceptance of a curve the night refused for its steps alone, written once beside
the backtest's sign-offs (history/), through the commands' error boundary: a curve refused for its band (a
percentage typed as a number), a date that never ran, a missing name are bad inputs (exit 2) and write nothing;
a second acceptance exits 1 and the first stands."""

from __future__ import annotations

import json

import pytest
import time_machine

from riskbatch.inputs.rate_acceptances import acceptance_key
from test.jobs.inputs.test_rate_acceptances import SQUEEZED, _manifest, _parsed

BUCKET = "risk-out"


@pytest.mark.clock
def test_accept_rates_records_a_named_acceptance_once_and_refuses_a_typed_percentage(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import boto3
    from moto import mock_aws

    from riskbatch.cli import main

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    refusing = _manifest(_parsed({**SQUEEZED, "GBP": {"3M": 4.0, "10Y": 0.041}}))  # RUB: its steps; GBP 4 % typed as 4: its band
    base = ["accept-rates", "--bucket", BUCKET, "--date", refusing["business_date"]]
    reason = ["--by", "J. Risk, market risk", "--reason", "the central bank raised the key rate to 20 %"]
    with mock_aws(), time_machine.travel("2026-11-26T08:00:00Z", tick=False):
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        assert main([*base, "--currency", "RUB", *reason]) == 2  # the date never ran: nothing to accept
        assert "no run of 2026-11-25" in capsys.readouterr().err
        # the date's runs found as the folders ListObjectsV2 rolls up under a delimiter (CommonPrefixes): "ListObjectsV2",
        # https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
        s3.put_object(Bucket=BUCKET, Key=f"runs/{refusing['run_id']}/manifest.json", Body=json.dumps({**refusing, "created_at": "2026-11-26T03:00:00Z"}))
        assert main([*base, "--currency", "GBP", *reason]) == 2
        refused = "GBP's curve of 2026-11-25 cannot be accepted (it was refused for more than its steps: GBP 3M on 2026-11-25: the rate 4 is outside"
        assert refused in capsys.readouterr().err
        assert main([*base, "--currency", "RUB", "--by", "", "--reason", "the key rate went to 20 %"]) == 2
        assert main([*base, "--currency", "RUB", *reason]) == 0
        assert "accepted RUB's curve of 2026-11-25 (0.25y 0.2, 10y 0.155), signed off by J. Risk, market risk" in capsys.readouterr().out
        # written once by S3's conditional write (If-None-Match: *): "How to prevent object overwrites with conditional writes",
        # https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
        assert main([*base, "--currency", "RUB", "--by", "Someone Else", "--reason", "another reason entirely"]) == 1  # the first stands
        stored = json.loads(s3.get_object(Bucket=BUCKET, Key=acceptance_key("2026-11-25", "RUB"))["Body"].read())
        keys = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix="history/")["Contents"]]
    assert (stored["signed_off_by"], stored["signed_off_at"], stored["curve"]) == ("J. Risk, market risk", "2026-11-26T08:00:00Z", [[0.25, 0.2], [10.0, 0.155]])
    assert stored["refused_for"] == refusing["rates_source"]["refused"]["RUB"] and stored["run_id"] == refusing["run_id"]
    assert keys == [acceptance_key("2026-11-25", "RUB")]  # nothing written for GBP

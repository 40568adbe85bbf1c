"""riskbatch accept-rates: a named acceptance of a curve the night refused for its steps alone, written once beside
the backtest's sign-offs (history/), through the commands' error boundary: a curve refused for its band (a
percentage typed as a number), a step about 100x (a percentage typed inside its band), a date that never ran, a
missing name are bad inputs (exit 2) and write nothing; a second acceptance of the same curve exits 1 and the first
stands; a corrected curve is accepted by a record of its own, and the rerun uses the one of tonight's numbers."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import time_machine

from riskbatch.inputs.rate_acceptances import acceptance_key, load_acceptances
from riskbatch.inputs.rates import PreviousCurves
from test.jobs.inputs.test_rate_acceptances import SQUEEZED, _manifest, _parsed
from test.jobs.inputs.test_rates_per_currency import DATE, USD

BUCKET = "risk-out"
RUB_SQUEEZE = [[0.25, 0.2], [10.0, 0.155]]


def _run(s3: Any, manifest: dict[str, Any], run_id: str, created_at: str) -> None:
    """A run record of the date, as the night writes it."""
    record = {**manifest, "run_id": run_id, "created_at": created_at}
    s3.put_object(Bucket=BUCKET, Key=f"runs/{run_id}/manifest.json", Body=json.dumps(record))


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
        stored = json.loads(s3.get_object(Bucket=BUCKET, Key=acceptance_key("2026-11-25", "RUB", RUB_SQUEEZE))["Body"].read())
        keys = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix="history/")["Contents"]]
    assert (stored["signed_off_by"], stored["signed_off_at"], stored["curve"]) == ("J. Risk, market risk", "2026-11-26T08:00:00Z", [[0.25, 0.2], [10.0, 0.155]])
    assert stored["refused_for"] == refusing["rates_source"]["refused"]["RUB"] and stored["run_id"] == refusing["run_id"]
    assert keys == [acceptance_key("2026-11-25", "RUB", RUB_SQUEEZE)]  # nothing written for GBP


@pytest.mark.clock
def test_a_corrected_curve_refused_again_is_accepted_by_a_sign_off_of_its_own_and_the_rerun_uses_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before, the acceptance was keyed by date and currency alone: the vendor's corrected squeeze (3M 20 % -> 21 %),
    refused again because no sign-off was of its numbers, could never be accepted (exit 1, accepted already)."""
    import boto3
    from moto import mock_aws

    from riskbatch.cli import main

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    corrected = {**SQUEEZED, "RUB": {"3M": 0.21, "10Y": 0.155}}
    base = ["accept-rates", "--bucket", BUCKET, "--date", DATE.isoformat(), "--currency", "RUB"]
    with mock_aws(), time_machine.travel("2026-11-26T08:00:00Z", tick=False):
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        _run(s3, _manifest(_parsed(SQUEEZED)), "2026-11-25-aaaaaaaaaaaa", "2026-11-26T03:00:00Z")
        assert main([*base, "--by", "J. Risk", "--reason", "the key rate went to 20 %"]) == 0
        # the rerun on the corrected file refuses RUB again: the sign-off was of other numbers
        refused_again = _parsed(corrected, load_acceptances(s3, BUCKET, DATE.isoformat()))
        assert "RUB" not in refused_again.points and refused_again.acceptable["RUB"] == [[0.25, 0.21], [10.0, 0.155]]
        _run(s3, _manifest(refused_again), "2026-11-25-bbbbbbbbbbbb", "2026-11-26T09:00:00Z")
        capsys.readouterr()
        assert main([*base, "--by", "A. Head", "--reason", "the corrected file, confirmed by the vendor"]) == 0
        assert "accepted RUB's curve of 2026-11-25 (0.25y 0.21, 10y 0.155), signed off by A. Head" in capsys.readouterr().out
        # the same numbers a second time: written once, the first stands
        assert main([*base, "--by", "Someone Else", "--reason", "another reason entirely"]) == 1
        assert "RUB's curve of 2026-11-25 was accepted already, these numbers" in capsys.readouterr().err
        accepted = load_acceptances(s3, BUCKET, DATE.isoformat())
    assert sorted((record["signed_off_by"], record["curve"][0][1]) for record in accepted["RUB"]) == [("A. Head", 0.21), ("J. Risk", 0.2)]
    rerun = _parsed(corrected, accepted)  # the rerun finds the acceptance of tonight's numbers
    assert rerun.points["RUB"] == [(0.25, 0.21), (10.0, 0.155)] and rerun.accepted["RUB"]["signed_off_by"] == "A. Head"
    assert _parsed(SQUEEZED, accepted).accepted["RUB"]["signed_off_by"] == "J. Risk"  # the first file's numbers: the first sign-off


# EUR 2.1 % to 4.5 % (beyond EUR's 2-point step), CNH 2 % to 9 % (beyond the default 5): squeezes, a few times over
NIGHT_BEFORE = PreviousCurves(DATE - dt.timedelta(days=1), {"EUR": [[0.25, 0.021], [10.0, 0.025]], "CNH": [[0.25, 0.02], [10.0, 0.022]]})
TONIGHT = {"USD": USD, "EUR": {"3M": 0.045, "10Y": 0.03}, "CNH": {"3M": 0.09, "10Y": 0.06}, "JPY": {"3M": 0.1, "1Y": 0.002, "10Y": 0.009}}


@pytest.mark.clock
def test_a_step_about_a_hundredfold_cannot_be_accepted_while_a_genuine_squeeze_can(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """JPY 3M 0.1 typed for 0.1 % lies inside JPY's band (-0.02 to 0.10) and was refused for its steps only: before, it
    could be accepted, and then became the next night's night before (the correct 0.001 refused)."""
    import boto3
    from moto import mock_aws

    from riskbatch.cli import main
    from riskbatch.inputs.rates import parse_rates
    from riskbatch.inputs.sample import rates_table
    from test.jobs.inputs.test_rates_per_currency import _policy

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    policy = _policy()
    night = parse_rates(rates_table(DATE, TONIGHT), "rates.csv", DATE, 0, policy.rate_bands, policy.rate_steps, NIGHT_BEFORE)
    assert {"EUR", "CNH", "JPY"} <= set(night.refused) and set(night.acceptable) == {"EUR", "CNH"}
    base = ["accept-rates", "--bucket", BUCKET, "--date", DATE.isoformat(), "--by", "J. Risk", "--reason", "a squeeze confirmed by the vendor"]
    with mock_aws(), time_machine.travel("2026-11-26T08:00:00Z", tick=False):
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        _run(s3, _manifest(night), "2026-11-25-aaaaaaaaaaaa", "2026-11-26T03:00:00Z")
        capsys.readouterr()
        assert main([*base, "--currency", "JPY"]) == 2
        last = capsys.readouterr().err.strip().splitlines()[-1]  # one line after the account's
        slip = "JPY 3M 0.1 is 50x its neighbour 1Y 0.002: a percentage typed as a number? correct the file and rerun"
        assert last.endswith(f"JPY's curve of 2026-11-25 cannot be accepted: {slip}")
        assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="history/")  # nothing written
        assert main([*base, "--currency", "EUR"]) == 0 and main([*base, "--currency", "CNH"]) == 0
        accepted = load_acceptances(s3, BUCKET, DATE.isoformat())
    assert sorted(accepted) == ["CNH", "EUR"]
    rerun = parse_rates(rates_table(DATE, TONIGHT), "rates.csv", DATE, 0, policy.rate_bands, policy.rate_steps, NIGHT_BEFORE, accepted)
    assert rerun.points["EUR"] == [(0.25, 0.045), (10.0, 0.03)] and rerun.points["CNH"] == [(0.25, 0.09), (10.0, 0.06)] and "JPY" in rerun.refused

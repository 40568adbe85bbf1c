"""The CloudWatch fixes (src/riskbatch_platform/local/emulator/cloudwatch.py): each defect is there in moto as shipped, and gone with the fix.

An alarm read authorised on the alarm, and alarms created from a template and deleted with their stack.
Runs moto in-process (mock_aws); IAM is enforced only inside `enforced()`.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from riskbatch_platform.local import emulator
from test.platform.local.emulator.support import ACCOUNT, REGION, _deploy, _user, enforced, patched


def _describe_one_alarm_as_a_role_granted_it() -> str:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    cloudwatch.put_metric_alarm(
        AlarmName="alarm-x", MetricName="m", Namespace="n", Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
    )  # fmt: skip
    arn = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:alarm-x"
    reader = _user("alarm-reader", [{"Effect": "Allow", "Action": "cloudwatch:DescribeAlarms", "Resource": arn}])
    with enforced():
        try:
            (alarm,) = reader.client("cloudwatch").describe_alarms(AlarmNames=["alarm-x"])["MetricAlarms"]
        except ClientError as error:
            return error.response["Error"]["Code"]
    return str(alarm["AlarmName"])


def test_moto_denies_an_alarm_read_granted_on_the_alarm(aws: None) -> None:
    assert _describe_one_alarm_as_a_role_granted_it() in ("AccessDenied", "403")


def test_an_alarm_read_is_authorised_on_the_alarm(aws: None) -> None:
    with patched(emulator.cloudwatch.cloudwatch_alarm_reads_authorised_on_the_alarm):
        assert _describe_one_alarm_as_a_role_granted_it() == "alarm-x"


ALARMS = {
    "Resources": {
        "Plain": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": "alarm-dlq-x",
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": "sqs-dlq-x"}],
                "Statistic": "Maximum",
                "Period": 60,
                "EvaluationPeriods": 1,
                "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold",
                "AlarmActions": [f"arn:aws:sns:{REGION}:{ACCOUNT}:sns-x"],
            },
        },
        "Rate": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": "alarm-rate-x",
                "EvaluationPeriods": 1,
                "Threshold": 5,
                "ComparisonOperator": "GreaterThanThreshold",
                "Metrics": [
                    {"Id": "stopped", "ReturnData": False, "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "Stopped"}, "Period": 600, "Stat": "Sum"}},
                    {"Id": "rate", "ReturnData": True, "Expression": "IF(stopped > 0, 100, 0)"},
                ],
            },
        },
    }
}


def _alarms() -> dict[str, dict[str, Any]]:
    _deploy(ALARMS)
    return {alarm["AlarmName"]: alarm for alarm in boto3.client("cloudwatch", region_name=REGION).describe_alarms()["MetricAlarms"]}


def test_moto_creates_no_alarm_from_cloudformation(aws: None) -> None:
    with pytest.warns(UserWarning, match="AWS::CloudWatch::Alarm"):
        assert _alarms() == {}


def test_alarms_are_created_from_cloudformation_and_deleted_with_their_stack(aws: None) -> None:
    with patched(emulator.cloudwatch.cloudwatch_alarms_from_cloudformation):
        alarms = _alarms()
        assert alarms["alarm-dlq-x"]["Dimensions"] == [{"Name": "QueueName", "Value": "sqs-dlq-x"}]
        assert alarms["alarm-dlq-x"]["AlarmActions"] == [f"arn:aws:sns:{REGION}:{ACCOUNT}:sns-x"]
        assert [metric["Id"] for metric in alarms["alarm-rate-x"]["Metrics"]] == ["stopped", "rate"]
        boto3.client("cloudformation", region_name=REGION).delete_stack(StackName="s")
        assert boto3.client("cloudwatch", region_name=REGION).describe_alarms()["MetricAlarms"] == []

"""The CloudWatch Logs fix (src/riskbatch_platform/local/emulator/logs.py): the defect is there in moto as shipped, and gone with the fix.

A log group from a template keeps its key; a metric filter from a template is the log group's. Runs moto in-process (mock_aws).
"""

from __future__ import annotations

import boto3

from riskbatch_platform.local import emulator
from test.platform.local.emulator.support import REGION, _deploy, patched


def _log_group_key() -> str | None:
    key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
    _deploy({"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "log-x", "KmsKeyId": key}}}})
    (group,) = boto3.client("logs", region_name=REGION).describe_log_groups(logGroupNamePrefix="log-x")["logGroups"]
    return group.get("kmsKeyId")


def test_moto_loses_the_log_groups_key(aws: None) -> None:
    assert _log_group_key() is None


def test_log_groups_keep_their_key(aws: None) -> None:
    with patched(emulator.logs.log_group_key_from_cloudformation):
        assert _log_group_key().startswith("arn:aws:kms:")


FILTER = {
    "FilterName": "filter-x",
    "LogGroupName": {"Ref": "Logs"},
    "FilterPattern": '{ $.detail.lastStatus = "STOPPED" }',
    "MetricTransformations": [{"MetricNamespace": "RiskBatch/x", "MetricName": "TasksStopped", "MetricValue": "1", "DefaultValue": 0, "Unit": "Count"}],
}


def _metric_filters() -> list[dict]:
    logs = {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "log-x"}}
    _deploy({"Resources": {"Logs": logs, "Filter": {"Type": "AWS::Logs::MetricFilter", "Properties": FILTER}}})
    return boto3.client("logs", region_name=REGION).describe_metric_filters(logGroupName="log-x")["metricFilters"]


def test_moto_deploys_no_metric_filter(aws: None) -> None:
    assert _metric_filters() == []


def test_a_metric_filter_from_a_template_is_the_log_groups_until_the_stack_is_deleted(aws: None) -> None:
    with patched(emulator.logs.metric_filters_from_cloudformation):
        (deployed,) = _metric_filters()
        assert (deployed["filterName"], deployed["logGroupName"], deployed["filterPattern"]) == ("filter-x", "log-x", FILTER["FilterPattern"])
        (transformation,) = deployed["metricTransformations"]
        assert transformation == {"metricName": "TasksStopped", "metricNamespace": "RiskBatch/x", "metricValue": "1", "defaultValue": 0.0, "unit": "Count"}
        boto3.client("cloudformation", region_name=REGION).delete_stack(StackName="s")
        assert boto3.client("logs", region_name=REGION).describe_metric_filters()["metricFilters"] == []

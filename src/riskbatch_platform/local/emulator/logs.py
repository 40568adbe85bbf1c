"""CloudWatch Logs: the log group's key and metric filters from a template.

Each fix says which kind it is (a defect, a missing rule, a stand-in): see the package's first lines."""

from __future__ import annotations

from typing import Any

from .patching import CreatedResource, Patcher, StandInType, add_cloudformation_types, fix


@fix
def log_group_key_from_cloudformation(patch: Patcher) -> None:
    """Defect. The CloudFormation handler passes KmsKeyId where the log-group model reads kmsKeyId,
    so the log group's key was lost. The fix passes it under the name the model reads."""
    from moto.logs import models as logs

    original = logs.LogGroup.create_from_cloudformation_json.__func__

    def create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        properties = dict(cloudformation_json.get("Properties", {}))
        if "KmsKeyId" in properties:
            properties["kmsKeyId"] = properties["KmsKeyId"]
        return original(cls, resource_name, {**cloudformation_json, "Properties": properties}, account_id, region_name, **kwargs)

    patch.set(logs.LogGroup, "create_from_cloudformation_json", classmethod(create))


# a metric transformation's properties in a template -> its fields in the Logs API
_TRANSFORMATION_FIELDS = {
    "MetricName": "metricName",
    "MetricNamespace": "metricNamespace",
    "MetricValue": "metricValue",
    "DefaultValue": "defaultValue",
    "Unit": "unit",
}


def _api_transformation(written: dict[str, Any]) -> dict[str, Any]:
    transformation = {field: written[key] for key, field in _TRANSFORMATION_FIELDS.items() if key in written}
    if "DefaultValue" in written:
        transformation["defaultValue"] = float(written["DefaultValue"])
    if written.get("Dimensions"):  # a list of Key/Value in a template, a map in the API
        transformation["dimensions"] = {item["Key"]: item["Value"] for item in written["Dimensions"]}
    return transformation


@fix
def metric_filters_from_cloudformation(patch: Patcher) -> None:
    """Defect. moto's CloudFormation does not model AWS::Logs::MetricFilter: the stack's failure-rate
    and report metrics had no filter, so DescribeMetricFilters showed nothing of what the alarms
    count. The resource is the Logs API's PutMetricFilter on its log group, deleted with
    DeleteMetricFilter (template reference, AWS::Logs::MetricFilter:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-logs-metricfilter.html).
    The fix does the same (moto stores the filter; it does not turn log events into metrics)."""
    from moto.logs import models as logs

    class MetricFilterFromCloudFormation(StandInType):
        TYPE = "AWS::Logs::MetricFilter"

        @classmethod
        def create(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> str:
            filter_name = properties.get("FilterName") or name
            logs.logs_backends[account_id][region_name].put_metric_filter(
                filter_name,
                properties["FilterPattern"],
                properties["LogGroupName"],
                [_api_transformation(written) for written in properties["MetricTransformations"]],
            )
            return filter_name

        @classmethod
        def remove(cls, resource: CreatedResource, account_id: str, region_name: str) -> None:
            logs.logs_backends[account_id][region_name].delete_metric_filter(resource.physical_resource_id, resource.properties["LogGroupName"])

    add_cloudformation_types(patch, {MetricFilterFromCloudFormation.TYPE: MetricFilterFromCloudFormation})

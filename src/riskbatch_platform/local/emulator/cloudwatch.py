"""CloudWatch: alarms from a template, and alarm reads authorised on the alarm.

Each fix says which kind it is (a defect, a missing rule, a stand-in): see the package's first lines."""

from __future__ import annotations

from typing import Any

from .patching import Patcher, fix


@fix
def cloudwatch_alarm_reads_authorised_on_the_alarm(patch: Patcher) -> None:
    """Defect. moto authorises CloudWatch requests against Resource "*", so a policy that names
    the alarms it may read (cloudwatch:DescribeAlarms on their ARNs: the Service Authorization
    Reference lists the alarm resource type for it,
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.md)
    was denied; and it asked for the action under the request's signing name (monitoring:...), not
    CloudWatch's IAM prefix (cloudwatch:...), so no policy naming a CloudWatch action matched. The fix
    names the alarm of a DescribeAlarms that asks for one alarm by name (other requests stay on "*"),
    and the action under the cloudwatch prefix."""
    from moto.cloudwatch.responses import CloudWatchResponse
    from moto.iam.access_control import IAMRequestBase

    original = IAMRequestBase.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if self._action.startswith("monitoring:"):
            self._action = "cloudwatch:" + self._action.split(":", 1)[1]

    def alarm(self: Any) -> str:
        if self._get_action() != "DescribeAlarms":
            return "*"
        names = self._get_param("AlarmNames", [])
        if len(names) != 1:
            return "*"
        return f"arn:aws:cloudwatch:{self.region}:{self.current_account}:alarm:{names[0]}"

    patch.set(CloudWatchResponse, "_determine_resource", alarm)
    patch.set(IAMRequestBase, "__init__", init)


@fix
def cloudwatch_alarms_from_cloudformation(patch: Patcher) -> None:
    """Defect. moto models metric alarms (PutMetricAlarm, DescribeAlarms) but its CloudFormation
    skips AWS::CloudWatch::Alarm with a warning, so no deployed alarm could be read back. The fix
    creates each alarm through moto's own alarm model, metric-math alarms included. moto computes
    no alarm state from metrics: a deployed alarm shows its definition, not whether it fires."""
    from moto.cloudformation import parsing
    from moto.cloudwatch import models as cloudwatch

    def queries(metrics: list[dict[str, Any]]) -> list[Any] | None:
        found = []
        for metric in metrics:
            stat = metric.get("MetricStat")
            metric_stat = None
            if stat:
                dimensions = [cloudwatch.Dimension(name=d["Name"], value=d["Value"]) for d in stat["Metric"].get("Dimensions", [])]
                metric_stat = cloudwatch.MetricStat(
                    metric=cloudwatch.Metric(metric_name=stat["Metric"]["MetricName"], namespace=stat["Metric"]["Namespace"], dimensions=dimensions),
                    period=stat.get("Period"),
                    stat=stat.get("Stat"),
                    unit=stat.get("Unit"),
                )
            found.append(
                cloudwatch.MetricDataQuery(
                    query_id=metric["Id"],
                    label=metric.get("Label"),
                    period=metric.get("Period"),
                    return_data=metric.get("ReturnData"),
                    expression=metric.get("Expression"),
                    metric_stat=metric_stat,
                )
            )
        return found or None

    class AlarmFromCloudFormation:
        """The CloudFormation face of moto's alarm model (a plain class: moto finds it through the
        patched model map, and undoing the fix leaves nothing registered)."""

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::CloudWatch::Alarm"

        @staticmethod
        def cloudformation_name_type() -> str:
            return "AlarmName"

        @staticmethod
        def has_cfn_attr(attribute: str) -> bool:
            return False  # no attribute of an alarm is read by Fn::GetAtt here

        @classmethod
        def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
            p = cloudformation_json["Properties"]
            backend = cloudwatch.cloudwatch_backends[account_id][region_name]
            alarm = backend.put_metric_alarm(
                name=p.get("AlarmName", resource_name),
                namespace=p.get("Namespace"),
                metric_name=p.get("MetricName"),
                comparison_operator=p["ComparisonOperator"],
                evaluation_periods=p["EvaluationPeriods"],
                period=p.get("Period"),
                threshold=p.get("Threshold"),
                statistic=p.get("Statistic"),
                description=p.get("AlarmDescription"),
                dimensions=p.get("Dimensions", []),
                alarm_actions=p.get("AlarmActions", []),
                metric_data_queries=queries(p.get("Metrics", [])),
                ok_actions=p.get("OKActions"),
                insufficient_data_actions=p.get("InsufficientDataActions"),
                treat_missing_data=p.get("TreatMissingData"),
                datapoints_to_alarm=p.get("DatapointsToAlarm"),
            )
            alarm.physical_resource_id = alarm.name
            alarm.is_created = lambda: True  # what CloudFormation asks of every resource it made
            return alarm

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> None:
            cloudwatch.cloudwatch_backends[account_id][region_name].delete_alarms([resource_name])

    original_map = parsing.get_model_map

    def model_map() -> dict[str, Any]:
        return {**original_map(), "AWS::CloudWatch::Alarm": AlarmFromCloudFormation}

    patch.set(parsing, "get_model_map", model_map)

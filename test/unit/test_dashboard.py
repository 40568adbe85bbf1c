"""The operations dashboard shows the night as it runs, every graph on a metric something emits.

Resolved for one environment, each widget's metrics must name what the template creates: its
queues (AWS/SQS, dimension QueueName), its cluster, services and ingestion family (Container
Insights' RunningTaskCount by ServiceName and TaskCount by TaskDefinitionFamily:
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Container-Insights-metrics-ECS.html,
with Container Insights on for the cluster), and the metrics its own filters publish. Dashboard
body structure: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html
The metric filters' JSON patterns: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
The body names what it graphs through Fn::Sub: a queue's QueueName attribute
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sqs-queue.html#aws-resource-sqs-queue-return-values)
and Ref of the cluster, its name
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ecs-cluster.html#aws-resource-ecs-cluster-return-values);
the services' and the ingestion family's names are the ones the template gives them, since the
services exist only with DeployServices.
"""

from __future__ import annotations

import json

from riskbatch_platform.analysis.iam_audit import EVERYTHING_ON
from riskbatch_platform.analysis.resolve import placeholder_values, resolve
from test.template_model import Template


def _resolved(template: Template) -> dict:
    return resolve(template.doc, placeholder_values(template.doc, EVERYTHING_ON))["Resources"]


def _metrics(resources: dict) -> dict[str, list[list]]:
    body = json.loads(resources["OperationsDashboard"]["Properties"]["DashboardBody"])
    return {w["properties"]["title"]: w["properties"]["metrics"] for w in body["widgets"] if w["type"] == "metric"}


def test_every_queue_graph_names_a_queue_of_the_stack(template: Template) -> None:
    resources = _resolved(template)
    queues = {body["Properties"]["QueueName"] for body in resources.values() if body["Type"] == "AWS::SQS::Queue"}
    graphed = {m[3] for metrics in _metrics(resources).values() for m in metrics if m[0] == "AWS/SQS"}
    work, report = resources["RiskWorkQueue"]["Properties"]["QueueName"], resources["ReportQueue"]["Properties"]["QueueName"]
    assert graphed <= queues and {work, report} <= graphed


def test_running_tasks_are_graphed_for_every_job_on_this_cluster(template: Template) -> None:
    resources = _resolved(template)
    assert {"Name": "containerInsights", "Value": "enabled"} in resources["RiskBatchCluster"]["Properties"]["ClusterSettings"]
    cluster = resources["RiskBatchCluster"]["Properties"]["ClusterName"]
    (tasks,) = [m for title, m in _metrics(resources).items() if title == "Running tasks per job"]
    by_dimension = {(m[1], m[4], m[5]) for m in tasks if m[0] == "ECS/ContainerInsights" and m[2:4] == ["ClusterName", cluster]}
    services = {body["Properties"]["ServiceName"] for body in resources.values() if body["Type"] == "AWS::ECS::Service"}
    assert {("RunningTaskCount", "ServiceName", name) for name in services} <= by_dimension
    assert ("TaskCount", "TaskDefinitionFamily", resources["DataIngestionTaskDefinition"]["Properties"]["Family"]) in by_dimension


def test_the_custom_metrics_are_the_ones_the_filters_publish_and_the_alarm_reads(template: Template) -> None:
    resources = _resolved(template)
    published = {
        (t["MetricNamespace"], t["MetricName"])
        for body in resources.values()
        if body["Type"] == "AWS::Logs::MetricFilter"
        for t in body["Properties"]["MetricTransformations"]
    }
    custom = {(m[0], m[1]) for metrics in _metrics(resources).values() for m in metrics if isinstance(m[0], str) and not m[0].startswith(("AWS/", "ECS/"))}
    assert custom <= published and ("RiskBatch/dev", "ReportsPublished") in custom
    (rate,) = [m[0]["expression"] for metrics in _metrics(resources).values() for m in metrics if isinstance(m[0], dict)]
    alarm = {metric["Id"]: metric for metric in resources["TaskFailureRateAlarm"]["Properties"]["Metrics"]}
    assert rate == alarm["failurerate"]["Expression"]


def test_reports_published_counts_the_report_jobs_own_log_line(template: Template) -> None:
    """The report job logs one JSON line {"event": "report_generated", ...} per report (riskbatch.runtime.logs)."""
    from riskbatch_platform.analysis.metric_filter import matches

    metric_filter = template.get("ReportsPublishedMetricFilter").props
    assert metric_filter["LogGroupName"] == {"Ref": "ReportGenerationLogGroup"}
    pattern = metric_filter["FilterPattern"]
    assert matches(pattern, json.dumps({"job": "report-generation", "event": "report_generated", "run_id": "r"}))
    assert not matches(pattern, json.dumps({"job": "report-generation", "event": "report_already_published"}))


def test_a_limit_breach_raises_an_alarm_to_the_topic(template: Template) -> None:
    """The report job logs one {"event": "limit_breach", ...} line per breached limit (riskbatch.jobs.report_generation)."""
    from riskbatch_platform.analysis.metric_filter import matches

    metric_filter = template.get("LimitBreachesMetricFilter").props
    assert metric_filter["LogGroupName"] == {"Ref": "ReportGenerationLogGroup"}
    assert matches(metric_filter["FilterPattern"], json.dumps({"event": "limit_breach", "scope": "firm", "measure": "var_99"}))
    assert not matches(metric_filter["FilterPattern"], json.dumps({"event": "report_generated"}))
    (transformation,) = metric_filter["MetricTransformations"]
    alarm = template.get("LimitBreachAlarm").props
    assert (alarm["Namespace"], alarm["MetricName"]) == (transformation["MetricNamespace"], transformation["MetricName"])
    assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == ("Sum", 0, "GreaterThanThreshold")
    assert alarm["AlarmActions"] == [{"Ref": "AlertTopic"}] and alarm["TreatMissingData"] == "notBreaching"


def test_the_dashboard_name_carries_the_region_because_dashboards_are_global(template: Template) -> None:
    """"All dashboards in your account are global, not region-specific", and Ref returns the
    DashboardName (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudwatch-dashboard.html):
    one suffix deployed in two regions (taskcat does) would otherwise ask for one name twice."""
    name = template.get("OperationsDashboard").props["DashboardName"]["Fn::Sub"]
    assert "${EnvironmentSuffix}" in name and "${AWS::Region}" in name
    assert template.doc["Outputs"]["OperationsDashboardName"]["Value"] == {"Ref": "OperationsDashboard"}


# What each namespace publishes, with its dimensions, from the services' documents: SQS
# (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html),
# Container Insights for Amazon ECS
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Container-Insights-metrics-ECS.html), and the
# stack's own metric filters (their MetricTransformations, no dimensions).
PUBLISHED = {
    "AWS/SQS": {
        name: {("QueueName",)}
        for name in (
            "ApproximateAgeOfOldestMessage",
            "ApproximateNumberOfMessagesDelayed",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesVisible",
            "NumberOfEmptyReceives",
            "NumberOfMessagesDeleted",
            "NumberOfMessagesReceived",
            "NumberOfMessagesSent",
            "SentMessageSize",
        )
    },
    "ECS/ContainerInsights": {
        "RunningTaskCount": {("ClusterName", "ServiceName")},
        "DesiredTaskCount": {("ClusterName", "ServiceName")},
        "PendingTaskCount": {("ClusterName", "ServiceName")},
        "TaskCount": {("ClusterName", "TaskDefinitionFamily")},
        "CpuUtilized": {("ClusterName",), ("ClusterName", "ServiceName"), ("ClusterName", "TaskDefinitionFamily")},
        "MemoryUtilized": {("ClusterName",), ("ClusterName", "ServiceName"), ("ClusterName", "TaskDefinitionFamily")},
    },
}


def _graphed(resources: dict) -> set[tuple[str, str, tuple[str, ...]]]:
    """(namespace, metric, dimension names) of every metric a widget graphs (metric-math lines aside)."""
    graphed = set()
    for metrics in _metrics(resources).values():
        for metric in metrics:
            names = [item for item in metric if isinstance(item, str)]
            if names:
                graphed.add((names[0], names[1], tuple(names[2::2])))
    return graphed


def test_every_dashboard_metric_is_one_its_service_publishes(template: Template) -> None:
    resources = _resolved(template)
    own = {
        transformation["MetricNamespace"]: set()
        for body in resources.values()
        if body["Type"] == "AWS::Logs::MetricFilter"
        for transformation in body["Properties"]["MetricTransformations"]
    }
    for body in resources.values():
        if body["Type"] == "AWS::Logs::MetricFilter":
            for transformation in body["Properties"]["MetricTransformations"]:
                own[transformation["MetricNamespace"]].add(transformation["MetricName"])
    graphed = _graphed(resources)
    assert graphed
    for namespace, metric, dimensions in sorted(graphed):
        if namespace in own:
            assert metric in own[namespace] and dimensions == (), (namespace, metric, dimensions)
        else:
            assert dimensions in PUBLISHED.get(namespace, {}).get(metric, set()), f"{namespace} publishes no {metric} by {dimensions}"

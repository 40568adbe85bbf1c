"""Values that cross the template/code boundary agree, for every instance: what the template sets and what the
jobs' code assumes, read from both sides.

- A schedule with a flexible window may fire up to the window's length late: every schedule has it OFF
  (https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-flexible-time-windows.html).
- ECS sends SIGKILL StopTimeout seconds after SIGTERM
  (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html, stopTimeout): a
  worker must give up the unit in hand (--abort-after) and hand it back well before.
- A container health check marks the container unhealthy after Retries consecutive failures, each Interval
  apart, each taking up to Timeout (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html):
  with the heartbeat's own age limit, a stuck worker is acted on within HEALTH_ACTION_BOUND_SECONDS.
- An SNS subscription with a filter policy drops the messages it does not match
  (https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html): no alert subscription filters.
- The deadline the tasks are given is the one the code computes with (riskbatch.inputs.business_days).
- Each event pattern and metric filter is exactly what the code's events and log lines are matched by: a
  pattern that drifts matches nothing, silently
  (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html,
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html).
"""

from __future__ import annotations

import pytest

from riskbatch.cli import build_parser
from riskbatch.inputs.business_days import REPORT_DEADLINE
from riskbatch.runtime.heartbeat import HEALTH_ACTION_BOUND_SECONDS, MAX_AGE_SECONDS
from test.conftest import the_template
from test.template_model import Resource, container_environment, referenced_id

TEMPLATE = the_template()
RELEASE_SECONDS = 10  # the worker's ChangeMessageVisibility and exit after it gives up the unit
CONTAINERS = [(task, container) for task in TEMPLATE.of_type("AWS::ECS::TaskDefinition") for container in task.props["ContainerDefinitions"]]
IDS = [f"{task.logical_id}-{container['Name']}" for task, container in CONTAINERS]


@pytest.mark.parametrize("schedule", TEMPLATE.of_type("AWS::Scheduler::Schedule"), ids=lambda schedule: schedule.logical_id)
def test_every_schedule_fires_on_time(schedule: Resource) -> None:
    assert schedule.props["FlexibleTimeWindow"] == {"Mode": "OFF"}


def _abort_after(command: list[str]) -> float:
    """The worker's --abort-after as its command gives it, or the parser's default."""
    return float(build_parser().parse_args(command).abort_after)


@pytest.mark.parametrize(("task", "container"), CONTAINERS, ids=IDS)
def test_a_worker_hands_its_unit_back_before_ecs_kills_it(task: Resource, container: dict) -> None:
    if container["Command"][0] != "worker":
        return
    assert _abort_after(container["Command"]) + RELEASE_SECONDS <= int(container["StopTimeout"])


def test_the_abort_rule_reads_the_command() -> None:
    assert _abort_after(["worker", "risk", "--abort-after", "115"]) + RELEASE_SECONDS > 120  # a command past StopTimeout is seen


@pytest.mark.parametrize(("task", "container"), CONTAINERS, ids=IDS)
def test_a_stuck_job_is_acted_on_within_the_documented_bound(task: Resource, container: dict) -> None:
    check = container["HealthCheck"]
    # the heartbeat goes stale MAX_AGE_SECONDS after the last beat; the next check fails, then Retries - 1 more
    worst = MAX_AGE_SECONDS + check["Interval"] * check["Retries"] + check["Timeout"]
    assert worst <= HEALTH_ACTION_BOUND_SECONDS, f"{task.logical_id}: {worst} s"


@pytest.mark.parametrize(("task", "container"), CONTAINERS, ids=IDS)
def test_the_tasks_deadline_is_the_codes(task: Resource, container: dict) -> None:
    environment = container_environment(container)
    if "REPORT_DEADLINE" in environment:
        assert environment["REPORT_DEADLINE"] == REPORT_DEADLINE


def test_no_alert_subscription_filters_what_it_receives() -> None:
    subscriptions = TEMPLATE.of_type("AWS::SNS::Subscription")
    assert subscriptions
    for subscription in subscriptions:
        assert "FilterPolicy" not in subscription.props and "FilterPolicyScope" not in subscription.props
    for topic in TEMPLATE.of_type("AWS::SNS::Topic"):
        assert all("FilterPolicy" not in entry for entry in topic.props.get("Subscription", []))


EXPECTED_PATTERNS = {
    # an object created under the prefix in the input bucket (S3's "Object Created" event to EventBridge)
    "DataIngestionTriggerRule": {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [{"Ref": "InputBucketName"}]}, "object": {"key": [{"prefix": {"Ref": "InputKeyPrefix"}}]}},
    },
    # riskbatch.jobs.risk_calculation puts Source riskbatch.risk-calculation, DetailType RunCompleted
    "RunCompletedRule": {"source": ["riskbatch.risk-calculation"], "detail-type": ["RunCompleted"]},
    # every stopped task of this cluster (exit 0 or not: the failure filter tells them apart)
    "TaskStoppedRule": {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
        "detail": {"clusterArn": [{"Fn::GetAtt": ["RiskBatchCluster", "Arn"]}], "lastStatus": ["STOPPED"]},
    },
}
EXPECTED_FILTERS = {
    "TasksStopped": '{ $.detail.lastStatus = "STOPPED" }',
    "TasksFailed": '{ ($.detail.lastStatus = "STOPPED") && (($.detail.stopCode = "TaskFailedToStart") || ($.detail.containers[0].exitCode != 0)) }',
    "ReportsPublished": '{ $.event = "report_generated" }',  # riskbatch.jobs.report_generation logs it once a report is published
    "LimitBreaches": '{ $.event = "limit_breach" }',  # one line per breached limit, firm or portfolio (test_dashboard.py)
}


@pytest.mark.parametrize("rule", TEMPLATE.of_type("AWS::Events::Rule"), ids=lambda rule: rule.logical_id)
def test_every_event_pattern_is_exactly_the_expected_one(rule: Resource) -> None:
    assert rule.props["EventPattern"] == EXPECTED_PATTERNS[rule.logical_id]


@pytest.mark.parametrize("metric_filter", TEMPLATE.of_type("AWS::Logs::MetricFilter"), ids=lambda f: f.logical_id)
def test_every_metric_filter_is_exactly_the_expected_one(metric_filter: Resource) -> None:
    (transformation,) = metric_filter.props["MetricTransformations"]
    assert metric_filter.props["FilterPattern"] == EXPECTED_FILTERS[transformation["MetricName"]]
    assert transformation["MetricValue"] == "1"


def test_the_event_the_code_puts_is_the_one_the_rule_matches() -> None:
    import ast
    import inspect

    from riskbatch.jobs import risk_calculation

    source = inspect.getsource(risk_calculation)
    literals = {node.value for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    pattern = EXPECTED_PATTERNS["RunCompletedRule"]
    assert set(pattern["source"]) <= literals and set(pattern["detail-type"]) <= literals
    assert referenced_id(TEMPLATE.get("TaskStoppedRule").props["Targets"][0]["Arn"]) == "TaskEventsLogGroup"

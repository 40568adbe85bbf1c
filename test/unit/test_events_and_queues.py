"""The data flow: S3 arrival -> ingestion task; work queue -> workers; completion event -> report queue."""

from __future__ import annotations

import json
import re

import pytest

from test.conftest import the_template
from test.template_model import Resource, Template, as_list, container_environment, dead_letter_queue_ids, referenced_id, run_task_targets, statements

TEMPLATE = the_template()
QUEUES = TEMPLATE.of_type("AWS::SQS::Queue")
RULES = TEMPLATE.of_type("AWS::Events::Rule")


def _work_queues() -> list[Resource]:
    dead_letters = dead_letter_queue_ids(TEMPLATE)
    return [queue for queue in QUEUES if queue.logical_id not in dead_letters]


def _ingestion_rule(template: Template) -> tuple[Resource, dict]:
    targets = run_task_targets(template)
    assert targets, "no rule runs the ingestion task"
    return targets[0]


def test_ingestion_rule_matches_objects_created_in_the_input_bucket_under_the_prefix(template: Template) -> None:
    rule, _ = _ingestion_rule(template)
    pattern = rule.props["EventPattern"]
    assert pattern["source"] == ["aws.s3"]
    assert pattern["detail-type"] == ["Object Created"]
    detail = pattern.get("detail", {})
    assert detail.get("bucket", {}).get("name") == [{"Ref": "InputBucketName"}], "the rule must match the input bucket only"
    assert detail.get("object", {}).get("key") == [{"prefix": {"Ref": "InputKeyPrefix"}}], "the rule must match the input prefix only"
    assert rule.props.get("State", "ENABLED") == "ENABLED"
    assert "EventBusName" not in rule.props, "S3 delivers to the default bus"


def test_ingestion_target_runs_one_task_on_the_cluster(template: Template) -> None:
    _, target = _ingestion_rule(template)
    assert template.get(referenced_id(target["Arn"])).type == "AWS::ECS::Cluster"
    assert target["EcsParameters"]["TaskCount"] == 1
    assert template.get(referenced_id(target["EcsParameters"]["TaskDefinitionArn"])).type == "AWS::ECS::TaskDefinition"


def test_ingestion_input_transformer_hands_bucket_and_key_to_the_container(template: Template) -> None:
    _, target = _ingestion_rule(template)
    transformer = target["InputTransformer"]
    assert transformer["InputPathsMap"] == {"bucket": "$.detail.bucket.name", "key": "$.detail.object.key"}
    # Placeholders are substituted as JSON strings; render them to check the overrides parse.
    rendered = json.loads(re.sub(r"<(bucket|key)>", lambda match: json.dumps(f"value-of-{match.group(1)}"), transformer["InputTemplate"]))
    task = template.get(referenced_id(target["EcsParameters"]["TaskDefinitionArn"]))
    container_names = {container["Name"] for container in task.props["ContainerDefinitions"]}
    (override,) = rendered["containerOverrides"]
    assert override["name"] in container_names
    command = override["command"]
    assert command[command.index("--bucket") + 1] == "value-of-bucket"
    assert command[command.index("--key") + 1] == "value-of-key"


def _delivery_targets() -> list[tuple[str, dict]]:
    """Targets that start work or carry a message: each must retry and dead-letter."""
    found = []
    for rule in RULES:
        for target in rule.props["Targets"]:
            kind = TEMPLATE.get(TEMPLATE.referenced_resource(target["Arn"])).type
            if kind in {"AWS::ECS::Cluster", "AWS::SQS::Queue"}:
                found.append((f"{rule.logical_id}:{target['Id']}", target))
    return found


@pytest.mark.parametrize(("name", "target"), _delivery_targets(), ids=[name for name, _ in _delivery_targets()])
def test_delivery_target_retries_and_dead_letters(template: Template, name: str, target: dict) -> None:
    assert target.get("RetryPolicy", {}).get("MaximumRetryAttempts", 0) >= 1, f"{name} does not retry"
    assert "DeadLetterConfig" in target, f"{name} has no dead-letter queue"
    assert template.get(referenced_id(target["DeadLetterConfig"]["Arn"])).type == "AWS::SQS::Queue"


def test_both_delivery_targets_are_covered() -> None:
    assert len(_delivery_targets()) >= 2


def test_completion_rule_routes_run_completed_from_the_workers_bus_to_the_report_queue(template: Template) -> None:
    # EVENT_BUS_NAME is a Ref of the bus: the bus's name (CloudFormation user guide, AWS::Events::EventBus,
    # "Return values"); the workers put their events on that bus by name.
    (risk,) = template.get("RiskCalculationTaskDefinition").props["ContainerDefinitions"]
    bus = referenced_id(container_environment(risk)["EVENT_BUS_NAME"])
    (report,) = template.get("ReportGenerationTaskDefinition").props["ContainerDefinitions"]
    report_queue = referenced_id(container_environment(report)["REPORT_QUEUE_URL"])
    routes = [
        rule
        for rule in template.of_type("AWS::Events::Rule")
        if referenced_id(rule.props.get("EventBusName")) == bus and report_queue in {referenced_id(target["Arn"]) for target in rule.props["Targets"]}
    ]
    assert len(routes) == 1
    assert routes[0].props["EventPattern"] == {"source": ["riskbatch.risk-calculation"], "detail-type": ["RunCompleted"]}


@pytest.mark.parametrize("rule", RULES, ids=repr)
def test_queue_targets_may_receive_from_their_rule_only(template: Template, rule: Resource) -> None:
    """EventBridge can only deliver to (or dead-letter into) a queue whose policy allows that rule."""
    delivered = {referenced_id(target["Arn"]) for target in rule.props["Targets"]} | {
        referenced_id(target["DeadLetterConfig"]["Arn"]) for target in rule.props["Targets"] if "DeadLetterConfig" in target
    }
    for queue_id in delivered:
        if template.get(queue_id).type != "AWS::SQS::Queue":
            continue
        policies = [policy for policy in template.of_type("AWS::SQS::QueuePolicy") if queue_id in {referenced_id(q) for q in policy.props["Queues"]}]
        allowed = [
            statement
            for policy in policies
            for statement in statements(policy.props["PolicyDocument"])
            if statement["Effect"] == "Allow" and statement["Principal"] == {"Service": "events.amazonaws.com"}
        ]
        assert allowed, f"{queue_id} has no policy for EventBridge"
        sources = {referenced_id(arn) for statement in allowed for arn in as_list(statement["Condition"]["ArnEquals"]["aws:SourceArn"])}
        assert rule.logical_id in sources


@pytest.mark.parametrize("queue", _work_queues(), ids=repr)
def test_work_queue_redrives_to_a_dead_letter_queue_after_three_receives(template: Template, queue: Resource) -> None:
    redrive = queue.props["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == 3
    assert template.get(referenced_id(redrive["deadLetterTargetArn"])).type == "AWS::SQS::Queue"


@pytest.mark.parametrize("queue", _work_queues(), ids=repr)
def test_work_queue_visibility_outlasts_a_unit_and_a_graceful_stop(queue: Resource) -> None:
    # Workers extend visibility for long units; the base must outlast StopTimeout (120 s) several times.
    assert queue.props["VisibilityTimeout"] >= 600
    assert queue.props["ReceiveMessageWaitTimeSeconds"] == 20


@pytest.mark.parametrize("queue", [queue for queue in QUEUES if queue.logical_id in dead_letter_queue_ids(TEMPLATE)], ids=repr)
def test_dead_letter_queue_keeps_messages_for_14_days(queue: Resource) -> None:
    assert queue.props["MessageRetentionPeriod"] == 1209600


def _rules_on_custom_buses(template: Template) -> set[str]:
    return {rule.logical_id for rule in template.of_type("AWS::Events::Rule") if "EventBusName" in rule.props}


def test_no_name_is_taken_from_the_ref_of_a_rule_on_a_custom_bus(template: Template) -> None:
    """Ref of an AWS::Events::Rule returns its "event rule ID" (CloudFormation user guide, return
    values: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-events-rule.html),
    which on a custom bus is "busname|rulename", not the rule's name; the user guide leaves the form
    unsaid, CloudFormation's own tracker states it (cloudformation-coverage-roadmap issues 1131, 1949).
    Outputs and alarm dimensions use the name the template gives the rule."""
    custom = _rules_on_custom_buses(template)
    assert custom
    refs = [node["Ref"] for node in _refs(template.doc) if node["Ref"] in custom]
    subs = [text for text in template.find("$..'Fn::Sub'") for rule in custom if "${" + rule + "}" in (text if isinstance(text, str) else text[0])]
    assert refs == [] and subs == []


def _refs(node: object) -> list[dict]:
    if isinstance(node, dict):
        found = [node] if set(node) == {"Ref"} else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def _overnight_window_seconds() -> int:
    """From the earliest scale-up to the latest scale-down of the scheduled scaling (New York time)."""
    hours = []
    for target in TEMPLATE.of_type("AWS::ApplicationAutoScaling::ScalableTarget"):
        for action in target.props.get("ScheduledActions", []):
            minute, hour = action["Schedule"].removeprefix("cron(").split()[:2]
            hours.append(int(hour) + int(minute) / 60)
    assert hours, "the services scale on a schedule for the overnight window"
    return int((max(hours) - min(hours)) * 3600)


@pytest.mark.parametrize("queue", _work_queues(), ids=repr)
def test_work_queue_keeps_messages_longer_than_the_overnight_window(queue: Resource) -> None:
    # SQS deletes a message older than MessageRetentionPeriod (default 4 days, minimum 60 s), whether or not
    # anyone received it (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html):
    # a unit queued at midnight must survive the whole window, and a rerun the morning after.
    window = _overnight_window_seconds()
    assert window >= 9 * 3600
    assert queue.props.get("MessageRetentionPeriod", 345600) >= window + 86400, f"{queue.logical_id} drops units before the night is over"

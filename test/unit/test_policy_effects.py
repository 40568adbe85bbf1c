"""The resource policies judged by their effect, in every deployment the template can make.

The template is resolved for every combination of the parameters its conditions read (production or not,
services on or off, each optional key, address and switch given or not: 2^7 stacks), and every queue, topic
and logs resource policy of each resolved stack decides fixed requests (riskbatch_platform.analysis.
policy_decision, with the condition evaluator the emulator uses):

- a request over plain HTTP, from anyone, on every queue and topic, is explicitly denied ("aws:SecureTransport",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-securetransport;
  SQS: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-security-best-practices.html;
  SNS: https://docs.aws.amazon.com/sns/latest/dg/sns-security-best-practices.html);
- another account's alarm or rule is not allowed to publish to the topic or send to a queue, while this stack's
  are (the confused deputy: https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html; CloudWatch
  alarms' SNS access: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-actions.html);
- EventBridge may write the task events log group and no other, and not for another account's rule
  (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-cloudwatchlogs-permissions).

A check that a request is refused says nothing when the same policy refuses everything: each refusal is held
beside the request the policy must allow.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from riskbatch_platform.analysis.policy_decision import ALLOWED, DENIED, NOT_ALLOWED, Request, decide, statement_matches
from riskbatch_platform.analysis.resolve import placeholder_values, resolve
from test.conftest import TEMPLATE_UNDER_TEST
from test.template_model import load_template

ACCOUNT, OTHER_ACCOUNT, REGION = "123456789012", "210987654321", "us-east-1"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-0000-0000-0000-000000000000"
# Each parameter a condition reads: the values that switch it.
SWITCHES = {
    "EnvironmentSuffix": ("dev", "prod"),
    "DeployServices": ("false", "true"),
    "NotificationEmail": ("", "risk-oncall@example.com"),
    "CreateTaskEventsLogPolicy": ("true", "false"),
    "InputBucketKmsKeyArn": ("", KEY),
    "OutputBucketKmsKeyArn": ("", KEY),
    "EnableAccessProbes": ("false", "true"),
}
TEMPLATE = load_template(TEMPLATE_UNDER_TEST)  # make mutate points it at a mutant
TLS_OFF, TLS_ON = {"aws:SecureTransport": ["false"]}, {"aws:SecureTransport": ["true"]}


def test_the_switches_are_every_parameter_a_condition_reads() -> None:
    read = set()

    def refs(node: Any) -> None:
        if isinstance(node, dict):
            if set(node) == {"Ref"}:
                read.add(node["Ref"])
            for value in node.values():
                refs(value)
        elif isinstance(node, list):
            for value in node:
                refs(value)

    refs(TEMPLATE["Conditions"])
    assert read == set(SWITCHES)


def _combinations() -> list[dict[str, str]]:
    names = sorted(SWITCHES)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*(SWITCHES[name] for name in names))]


COMBINATIONS = _combinations()
RESOLVED = [resolve(TEMPLATE, placeholder_values(TEMPLATE, chosen)) for chosen in COMBINATIONS]
IDS = [
    "-".join(f"{name}={value or 'none'}"[:24] for name, value in sorted(chosen.items()) if value != SWITCHES[name][0]) or "defaults"
    for chosen in COMBINATIONS
]


def _of_type(resolved: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {logical_id: body for logical_id, body in resolved["Resources"].items() if body["Type"] == kind}


def _queue_arn(url: str) -> str:
    *_, account, name = url.rsplit("/", 2)
    return f"arn:aws:sqs:{REGION}:{account}:{name}"


def _rule_arns(resolved: dict[str, Any]) -> set[str]:
    arns = set()
    for body in _of_type(resolved, "AWS::Events::Rule").values():
        bus = body["Properties"].get("EventBusName")
        arns.add(f"arn:aws:events:{REGION}:{ACCOUNT}:rule/" + (f"{bus}/" if bus else "") + body["Properties"]["Name"])
    return arns


@pytest.mark.parametrize("resolved", RESOLVED, ids=IDS)
def test_every_queue_and_topic_refuses_plain_http_from_anyone_and_still_serves_tls(resolved: dict[str, Any]) -> None:
    guarded = 0
    for policy in _of_type(resolved, "AWS::SQS::QueuePolicy").values():
        document = policy["Properties"]["PolicyDocument"]
        for queue in policy["Properties"]["Queues"]:
            arn = _queue_arn(queue)
            for action in ("sqs:SendMessage", "sqs:ReceiveMessage", "sqs:PurgeQueue"):
                assert decide(document, Request(action, arn, account=ACCOUNT, context=TLS_OFF)) == DENIED, (arn, action)
                assert decide(document, Request(action, arn, account=OTHER_ACCOUNT, context=TLS_OFF)) == DENIED, (arn, action)
                assert decide(document, Request(action, arn, account=ACCOUNT, context=TLS_ON)) != DENIED, (arn, action)  # not a blanket denial
            guarded += 1
    for policy in _of_type(resolved, "AWS::SNS::TopicPolicy").values():
        document = policy["Properties"]["PolicyDocument"]
        for topic in policy["Properties"]["Topics"]:
            assert decide(document, Request("sns:Publish", topic, account=OTHER_ACCOUNT, context=TLS_OFF)) == DENIED
            assert decide(document, Request("sns:Publish", topic, service="cloudwatch.amazonaws.com", context=TLS_OFF)) == DENIED
            guarded += 1
    queues = {body["Properties"]["QueueName"] for body in _of_type(resolved, "AWS::SQS::Queue").values()}
    topics = _of_type(resolved, "AWS::SNS::Topic")
    assert guarded == len(queues) + len(topics)  # every queue and topic of the stack, none left without its policy


@pytest.mark.parametrize("resolved", RESOLVED, ids=IDS)
def test_only_this_accounts_alarms_may_publish_to_the_topic(resolved: dict[str, Any]) -> None:
    for policy in _of_type(resolved, "AWS::SNS::TopicPolicy").values():
        document = policy["Properties"]["PolicyDocument"]
        for topic in policy["Properties"]["Topics"]:

            def alarm(account: str, document: dict[str, Any] = document, topic: str = topic) -> str:
                context = {**TLS_ON, "aws:SourceArn": [f"arn:aws:cloudwatch:{REGION}:{account}:alarm:alarm-x"], "aws:SourceAccount": [account]}
                return decide(document, Request("sns:Publish", topic, service="cloudwatch.amazonaws.com", context=context))

            assert alarm(ACCOUNT) == ALLOWED
            assert alarm(OTHER_ACCOUNT) == NOT_ALLOWED
            assert decide(document, Request("sns:Publish", topic, account=OTHER_ACCOUNT, context=TLS_ON)) == NOT_ALLOWED
            assert decide(document, Request("sns:Subscribe", topic, account=OTHER_ACCOUNT, context=TLS_ON)) == NOT_ALLOWED


@pytest.mark.parametrize("resolved", RESOLVED, ids=IDS)
def test_a_queue_takes_events_from_this_stacks_rules_only(resolved: dict[str, Any]) -> None:
    ours = _rule_arns(resolved)
    theirs = {arn.replace(f":{ACCOUNT}:", f":{OTHER_ACCOUNT}:") for arn in ours}

    def delivery(resource: str, source: str) -> Request:
        return Request("sqs:SendMessage", resource, service="events.amazonaws.com", context={**TLS_ON, "aws:SourceArn": [source]})

    served = 0
    for policy in _of_type(resolved, "AWS::SQS::QueuePolicy").values():
        document = policy["Properties"]["PolicyDocument"]
        allows = [statement for statement in document["Statement"] if statement["Effect"] == "Allow"]
        allowed_sources = {source for statement in allows for source in ours if statement_matches(statement, delivery(statement["Resource"], source))}
        for queue in policy["Properties"]["Queues"]:
            arn = _queue_arn(queue)
            for source in theirs:
                assert decide(document, delivery(arn, source)) == NOT_ALLOWED, (arn, source)
            served += sum(decide(document, delivery(arn, source)) == ALLOWED for source in allowed_sources)
    assert served >= 2  # the report queue and the event delivery dead-letter queue take this stack's rules


@pytest.mark.parametrize(("chosen", "resolved"), list(zip(COMBINATIONS, RESOLVED, strict=True)), ids=IDS)
def test_eventbridge_writes_the_task_events_log_group_and_no_other(chosen: dict[str, str], resolved: dict[str, Any]) -> None:
    policies = _of_type(resolved, "AWS::Logs::ResourcePolicy")
    if chosen["CreateTaskEventsLogPolicy"] == "false":
        assert policies == {}  # the account's shared policy covers it (preflight checks that one)
        return
    (policy,) = policies.values()
    document = policy["Properties"]["PolicyDocument"]
    groups = [body["Properties"]["LogGroupName"] for body in _of_type(resolved, "AWS::Logs::LogGroup").values()]
    (group,) = [name for name in groups if "task-events" in name]

    def write(log_group: str, account: str) -> str:
        arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{log_group}:log-stream:events"
        return decide(document, Request("logs:PutLogEvents", arn, service="events.amazonaws.com", context={"aws:SourceAccount": [account]}))

    assert write(group, ACCOUNT) == ALLOWED
    assert write(f"/aws/ecs/containerinsights/{group.rsplit('-', 1)[-1]}", ACCOUNT) == NOT_ALLOWED  # another log group
    assert write("/aws/events/some-other-group", ACCOUNT) == NOT_ALLOWED
    assert write(group, OTHER_ACCOUNT) == NOT_ALLOWED  # another account's rule

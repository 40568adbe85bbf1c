"""The queue and topic policies as deployed, read back and decided: an anonymous request over plain HTTP is
explicitly denied on every queue and topic of the stack.

The policies are read with GetQueueAttributes and GetTopicAttributes (attribute Policy) and decided by the
project's evaluator of a policy document (riskbatch_platform.analysis.policy_decision, conditions by
iam_conditions), as the IAM user guide's evaluation logic says ("Policy evaluation logic":
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html). A request over
plain HTTP carries aws:SecureTransport false ("AWS global condition context keys", aws:SecureTransport:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-securetransport).
What the offline checks decide of the template (test/unit/test_policy_effects.py), this decides of the
deployment: a policy lost between the two (a resource the deployment skipped) fails here.
"""

from __future__ import annotations

import json

from riskbatch_platform.analysis.policy_decision import DENIED, Request, decide
from riskbatch_platform.deployment.stack import physical_ids
from test.integration.conftest import DeployedStack

PLAIN_HTTP = {"aws:SecureTransport": ["false"]}
QUEUE_ACTIONS = ("sqs:SendMessage", "sqs:ReceiveMessage", "sqs:PurgeQueue")


def _deployed(stack: DeployedStack, kind: str) -> list[str]:
    return sorted(
        physical for deployed_kind, physical in physical_ids(stack.target.client("cloudformation"), stack.stack_name).values() if deployed_kind == kind
    )


def test_an_anonymous_plain_http_request_is_denied_on_every_deployed_queue(stack: DeployedStack) -> None:
    sqs = stack.target.client("sqs")
    queues = _deployed(stack, "AWS::SQS::Queue")
    assert queues, "the stack reports no queue"
    for url in queues:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy", "QueueArn"]).get("Attributes", {})
        assert "Policy" in attributes, f"{url} has no policy"
        document = json.loads(attributes["Policy"])
        for action in QUEUE_ACTIONS:
            assert decide(document, Request(action, attributes["QueueArn"], context=PLAIN_HTTP)) == DENIED, (url, action)


def test_an_anonymous_plain_http_publish_is_denied_on_every_deployed_topic(stack: DeployedStack) -> None:
    sns = stack.target.client("sns")
    topics = _deployed(stack, "AWS::SNS::Topic")
    assert topics, "the stack reports no topic"
    for arn in topics:
        document = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])
        assert decide(document, Request("sns:Publish", arn, context=PLAIN_HTTP)) == DENIED, arn

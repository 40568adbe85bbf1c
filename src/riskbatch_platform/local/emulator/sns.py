"""SNS: email subscriptions that wait for confirmation, authorisation on the topic (and on EventBridge's bus, the same defect), topic policies from a template.

Each fix says which kind it is (a defect, a missing rule, a stand-in): see the package's first lines."""

from __future__ import annotations

import json
from typing import Any

from .patching import CreatedResource, Patcher, StandInType, add_cloudformation_types, fix


@fix
def sns_email_subscriptions_wait_for_confirmation(patch: Patcher) -> None:
    """Missing rule. An e-mail subscription is pending until its owner follows the link SNS mails
    them; until then SNS lists it with the ARN "PendingConfirmation" and delivers nothing to it
    (SNS API reference, Subscribe and ListSubscriptionsByTopic). moto confirms every subscription at
    once. The fix keeps e-mail subscriptions pending: no mail can be confirmed locally."""
    import copy

    from moto.sns import models as sns

    original_subscribe = sns.SNSBackend.subscribe
    original_list = sns.SNSBackend.list_subscriptions_by_topic

    def subscribe(self: Any, topic_arn: str, endpoint: str, protocol: str) -> Any:
        subscription = original_subscribe(self, topic_arn, endpoint, protocol)
        if protocol in ("email", "email-json"):
            subscription.attributes["PendingConfirmation"] = "true"
            subscription.attributes["ConfirmationWasAuthenticated"] = "false"
        return subscription

    def listed(subscription: Any) -> Any:
        if subscription.attributes.get("PendingConfirmation") != "true":
            return subscription
        shown = copy.copy(subscription)
        shown.arn = "PendingConfirmation"
        return shown

    def list_subscriptions_by_topic(self: Any, topic_arn: str, next_token: str | None = None) -> Any:
        subscriptions, token = original_list(self, topic_arn, next_token=next_token)
        return [listed(subscription) for subscription in subscriptions], token

    patch.set(sns.SNSBackend, "subscribe", subscribe)
    patch.set(sns.SNSBackend, "list_subscriptions_by_topic", list_subscriptions_by_topic)


@fix
def sns_and_eventbridge_authorised_on_their_resource(patch: Patcher) -> None:
    """Defect. moto authorises SNS and EventBridge requests against Resource "*" because it does not
    determine their resource (it does for S3 and SQS), so a policy that names its topic or bus was
    denied everything. The fix names the request's topic or bus, as AWS evaluates it."""
    from moto.events.responses import EventsHandler
    from moto.sns.responses import SNSResponse

    def topic(self: Any) -> str:
        return self._get_param("TopicArn") or self._get_param("TargetArn") or "*"

    def bus(self: Any) -> str:
        entries = self._get_param("Entries") or []
        if not entries or self._get_action() != "PutEvents":
            return "*"
        name = entries[0].get("EventBusName") or "default"
        return name if name.startswith("arn:") else f"arn:aws:events:{self.region}:{self.current_account}:event-bus/{name}"

    patch.set(SNSResponse, "_determine_resource", topic)
    patch.set(EventsHandler, "_determine_resource", bus)


@fix
def topic_policies_from_cloudformation(patch: Patcher) -> None:
    """Defect. moto's CloudFormation does not model AWS::SNS::TopicPolicy: the topics kept their
    default policy, so the TLS-only and source-limited statements were never deployed locally. The
    resource sets the policy of each topic it lists (template reference, AWS::SNS::TopicPolicy:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sns-topicpolicy.html),
    which GetTopicAttributes returns as Policy; deleting it gives the topic its default policy back.
    The fix does the same."""
    from moto.sns import models as sns

    def topics(properties: dict[str, Any], account_id: str, region_name: str) -> list[Any]:
        """The policy's topics that exist (one deleted before its policy, as a stack deletion may, has none to reset)."""
        backend = sns.sns_backends[account_id][region_name]
        return [backend.topics[arn] for arn in properties.get("Topics", []) if arn in backend.topics]

    class TopicPolicyFromCloudFormation(StandInType):
        TYPE = "AWS::SNS::TopicPolicy"

        @classmethod
        def create(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> str:
            for topic in topics(properties, account_id, region_name):
                topic.policy = json.dumps(properties["PolicyDocument"])
            return name

        @classmethod
        def remove(cls, resource: CreatedResource, account_id: str, region_name: str) -> None:
            for topic in topics(resource.properties, account_id, region_name):
                topic._policy_json = topic._create_default_topic_policy(topic.sns_backend.region_name, topic.account_id, topic.name)

    add_cloudformation_types(patch, {TopicPolicyFromCloudFormation.TYPE: TopicPolicyFromCloudFormation})

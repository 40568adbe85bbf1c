"""AWS's naming constraints, per resource type, checked on every name the templates build.

Each constraint is taken from the API reference of the call that creates the resource (the
`source` column). A name is computed at its longest: the longest EnvironmentSuffix the
parameter admits and the longest region name the template may deploy to. CloudFormation
passes the name through unchanged, so a name that breaks a constraint fails the deployment
in every region, and no linter or emulator here would notice (DESIGN.md fact 14).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .resolve import Context, placeholder_values

# The longest region name in the partition today (Asia Pacific (Thailand), 14 characters; as
# long as ap-northeast-3 and eusc-de-east-1).
LONGEST_REGION = "ap-southeast-7"
PLACEHOLDER_ACCOUNT = "123456789012"


@dataclass(frozen=True)
class NameConstraint:
    """How AWS constrains one kind of name."""

    prop: str  # the property (or JSONPath-like path inside Properties) that holds the name
    type_word: str  # our naming rule's {resource-type} word
    max_length: int
    pattern: str  # what the API reference allows, as a full-match regular expression
    reserved_prefixes: tuple[str, ...]
    source: str
    min_length: int = 1


_API = "https://docs.aws.amazon.com"
# resource type -> constraint of its name
CONSTRAINTS: dict[str, NameConstraint] = {
    "AWS::ECR::Repository": NameConstraint(
        "RepositoryName",
        "ecr",
        256,
        r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*",
        (),
        f"{_API}/AmazonECR/latest/APIReference/API_CreateRepository.html",
        2,
    ),
    "AWS::Logs::LogGroup": NameConstraint(
        "LogGroupName", "log", 512, r"[\.\-_/#A-Za-z0-9]+", ("aws/",), f"{_API}/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html"
    ),
    "AWS::IAM::Role": NameConstraint("RoleName", "role", 64, r"[\w+=,.@-]+", (), f"{_API}/IAM/latest/APIReference/API_CreateRole.html"),
    "AWS::ECS::TaskDefinition": NameConstraint(
        "Family", "task", 255, r"[a-zA-Z0-9_-]+", (), f"{_API}/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html"
    ),
    "AWS::ECS::Cluster": NameConstraint("ClusterName", "cluster", 255, r"[a-zA-Z0-9_-]+", (), f"{_API}/AmazonECS/latest/APIReference/API_CreateCluster.html"),
    "AWS::ECS::Service": NameConstraint("ServiceName", "svc", 255, r"[a-zA-Z0-9_-]+", (), f"{_API}/AmazonECS/latest/APIReference/API_CreateService.html"),
    "AWS::Events::Rule": NameConstraint("Name", "rule", 64, r"[\.\-_A-Za-z0-9]+", (), f"{_API}/eventbridge/latest/APIReference/API_PutRule.html"),
    # "default" is the account's own bus; "aws." starts the names of partner event buses.
    "AWS::Events::EventBus": NameConstraint(
        "Name", "bus", 256, r"[/\.\-_A-Za-z0-9]+", ("aws.",), f"{_API}/eventbridge/latest/APIReference/API_CreateEventBus.html"
    ),
    "AWS::SQS::Queue": NameConstraint("QueueName", "sqs", 80, r"[A-Za-z0-9_-]+", (), f"{_API}/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html"),
    "AWS::SNS::Topic": NameConstraint("TopicName", "sns", 256, r"[A-Za-z0-9_-]+", (), f"{_API}/sns/latest/api/API_CreateTopic.html"),
    # The alias must start with alias/; alias/aws/ is reserved for AWS managed keys.
    "AWS::KMS::Alias": NameConstraint(
        "AliasName", "kms", 256, r"alias/[a-zA-Z0-9/_-]+", ("alias/aws/",), f"{_API}/kms/latest/APIReference/API_CreateAlias.html"
    ),
    # The naming rule bends here: a group name cannot start with sg- (our type word is secgroup).
    "AWS::EC2::SecurityGroup": NameConstraint(
        "GroupName", "secgroup", 255, r"[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]+", ("sg-",), f"{_API}/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html"
    ),
    "AWS::CloudWatch::Alarm": NameConstraint("AlarmName", "alarm", 255, r"[ -~]+", (), f"{_API}/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html"),
    "AWS::ApplicationAutoScaling::ScalingPolicy": NameConstraint(
        "PolicyName", "scaling", 256, r"[ -~]+", (), f"{_API}/autoscaling/application/APIReference/API_PutScalingPolicy.html"
    ),
    "AWS::Logs::MetricFilter": NameConstraint(
        "FilterName", "filter", 512, r"[^:*]+", (), f"{_API}/AmazonCloudWatchLogs/latest/APIReference/API_PutMetricFilter.html"
    ),
    "AWS::Scheduler::Schedule": NameConstraint("Name", "schedule", 64, r"[0-9a-zA-Z-_.]+", (), f"{_API}/scheduler/latest/APIReference/API_CreateSchedule.html"),
    # "The name can contain only alphanumerics, dash (-), and underscore (_)", at most 255 characters.
    "AWS::CloudWatch::Dashboard": NameConstraint(
        "DashboardName", "dashboard", 255, r"[A-Za-z0-9_-]+", (), f"{_API}/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html"
    ),
    "AWS::Logs::ResourcePolicy": NameConstraint(
        "PolicyName", "logpolicy", 255, r"([^:*/]+/?)*[^:*/]+", (), f"{_API}/AmazonCloudWatchLogs/latest/APIReference/API_PutResourcePolicy.html"
    ),
}
# Names inside a resource's properties: (resource type, path in Properties, constraint).
NESTED_NAMES: list[tuple[str, tuple[str, ...], NameConstraint]] = [
    (
        "AWS::IAM::Role",
        ("Policies", "*", "PolicyName"),
        NameConstraint("PolicyName", "policy", 128, r"[\w+=,.@-]+", (), f"{_API}/IAM/latest/APIReference/API_PutRolePolicy.html"),
    ),
    (
        "AWS::ApplicationAutoScaling::ScalableTarget",
        ("ScheduledActions", "*", "ScheduledActionName"),
        NameConstraint(
            "ScheduledActionName", "schedule", 256, r"[^:/|\x00-\x1f\x7f-\x9f]+", (), f"{_API}/autoscaling/application/APIReference/API_PutScheduledAction.html"
        ),
    ),
]


@dataclass(frozen=True)
class NamedThing:
    template: str
    logical_id: str
    resource_type: str
    constraint: NameConstraint
    name_expression: Any  # as written in the template
    longest: str  # as deployed, with the longest suffix and region

    @property
    def problems(self) -> list[str]:
        c = self.constraint
        found = []
        if not c.min_length <= len(self.longest) <= c.max_length:
            found.append(f"{len(self.longest)} characters, allowed {c.min_length}-{c.max_length}")
        if not re.fullmatch(c.pattern, self.longest):
            found.append(f"characters outside {c.pattern}")
        found += [f"starts with the reserved prefix {prefix}" for prefix in c.reserved_prefixes if self.longest.startswith(prefix)]
        if self.resource_type == "AWS::Events::EventBus" and self.longest == "default":
            found.append("'default' is the account's own event bus")
        return found


def longest_suffix(template: dict[str, Any]) -> str:
    return "a" * int(template["Parameters"]["EnvironmentSuffix"]["MaxLength"])


def _values_at(node: Any, path: tuple[str, ...]) -> list[Any]:
    if not path:
        return [node]
    head, rest = path[0], path[1:]
    if head == "*":
        return [value for item in (node if isinstance(node, list) else []) for value in _values_at(item, rest)]
    if isinstance(node, dict) and head in node:
        return _values_at(node[head], rest)
    return []


def named_things(template: dict[str, Any], template_name: str, region: str = LONGEST_REGION) -> list[NamedThing]:
    """Every explicit name of the template, evaluated with the longest suffix and region."""
    context = Context(template, placeholder_values(template, {"EnvironmentSuffix": longest_suffix(template)}), region=region, account=PLACEHOLDER_ACCOUNT)
    found: list[NamedThing] = []
    for logical_id, body in template.get("Resources", {}).items():
        kind = body["Type"]
        properties = body.get("Properties", {})
        checks = [((CONSTRAINTS[kind].prop,), CONSTRAINTS[kind])] if kind in CONSTRAINTS else []
        checks += [(path, constraint) for nested_kind, path, constraint in NESTED_NAMES if nested_kind == kind]
        for path, constraint in checks:
            for expression in _values_at(properties, path):
                found.append(NamedThing(template_name, logical_id, kind, constraint, expression, str(context.evaluate(expression))))
    return found

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

from riskbatch_platform.analysis.resolve import Context, placeholder_values

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
    # A subscription filter's name is unique within its log group (PutSubscriptionFilter).
    "AWS::Logs::SubscriptionFilter": NameConstraint(
        "FilterName", "subscription", 512, r"[^:*]+", (), f"{_API}/AmazonCloudWatchLogs/latest/APIReference/API_PutSubscriptionFilter.html"
    ),
    "AWS::KinesisFirehose::DeliveryStream": NameConstraint(
        "DeliveryStreamName", "firehose", 64, r"[a-zA-Z0-9_.-]+", (), f"{_API}/firehose/latest/APIReference/API_CreateDeliveryStream.html"
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
        found = _length_and_character_problems(self.longest, c.min_length, c.max_length, c.pattern)
        found += [f"starts with the reserved prefix {prefix}" for prefix in c.reserved_prefixes if self.longest.startswith(prefix)]
        if self.resource_type == "AWS::Events::EventBus" and self.longest == "default":
            found.append("'default' is the account's own event bus")
        return found


def _length_and_character_problems(text: str, min_length: int, max_length: int, pattern: str) -> list[str]:
    found = []
    if not min_length <= len(text) <= max_length:
        found.append(f"{len(text)} characters, allowed {min_length}-{max_length}")
    if not re.fullmatch(pattern, text, flags=re.DOTALL):
        outside = sorted({char for char in text if not re.fullmatch(pattern, char, flags=re.DOTALL)})
        found.append(f"characters outside {pattern}: {''.join(outside)!r}")
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


# --- free texts: descriptions and display names ----------------------------------------------

# EC2's character set for security-group and rule descriptions, at most 255 characters. botocore's
# EC2 model documents it on CreateSecurityGroup's GroupDescription and on IpRange, Ipv6Range,
# PrefixListId and UserIdGroupPair's Description: "a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*".
EC2_DESCRIPTION = r"[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]*"
EC2_DESCRIPTION_MAX = 255
# IAM's roleDescriptionType: tab, line feed, carriage return, printable ASCII and Latin-1, at most 1000.
IAM_DESCRIPTION = r"[\t\n\r\x20-\x7e\xa1-\xff]*"
ANY_TEXT = r".*"


@dataclass(frozen=True)
class TextConstraint:
    """How AWS constrains one free text (a description, a display name)."""

    path: tuple[str, ...]  # where the text sits inside Properties ("*" = every item of a list)
    max_length: int
    pattern: str  # the characters allowed, as a full-match regular expression
    source: str
    min_length: int = 0


_EC2_RULE_DESCRIPTION = f"{_API}/AWSEC2/latest/APIReference/API_IpRange.html"
# resource type -> the constraints of its free texts
TEXT_CONSTRAINTS: dict[str, list[TextConstraint]] = {
    "AWS::EC2::SecurityGroup": [
        TextConstraint(("GroupDescription",), EC2_DESCRIPTION_MAX, EC2_DESCRIPTION, f"{_API}/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html", 1),
        TextConstraint(("SecurityGroupIngress", "*", "Description"), EC2_DESCRIPTION_MAX, EC2_DESCRIPTION, _EC2_RULE_DESCRIPTION),
        TextConstraint(("SecurityGroupEgress", "*", "Description"), EC2_DESCRIPTION_MAX, EC2_DESCRIPTION, _EC2_RULE_DESCRIPTION),
    ],
    "AWS::EC2::SecurityGroupIngress": [TextConstraint(("Description",), EC2_DESCRIPTION_MAX, EC2_DESCRIPTION, _EC2_RULE_DESCRIPTION)],
    "AWS::EC2::SecurityGroupEgress": [TextConstraint(("Description",), EC2_DESCRIPTION_MAX, EC2_DESCRIPTION, _EC2_RULE_DESCRIPTION)],
    "AWS::IAM::Role": [TextConstraint(("Description",), 1000, IAM_DESCRIPTION, f"{_API}/IAM/latest/APIReference/API_CreateRole.html")],
    "AWS::IAM::ManagedPolicy": [TextConstraint(("Description",), 1000, ANY_TEXT, f"{_API}/IAM/latest/APIReference/API_CreatePolicy.html")],
    "AWS::Events::Rule": [TextConstraint(("Description",), 512, ANY_TEXT, f"{_API}/eventbridge/latest/APIReference/API_PutRule.html")],
    "AWS::Events::EventBus": [TextConstraint(("Description",), 512, ANY_TEXT, f"{_API}/eventbridge/latest/APIReference/API_CreateEventBus.html")],
    "AWS::Scheduler::Schedule": [TextConstraint(("Description",), 512, ANY_TEXT, f"{_API}/scheduler/latest/APIReference/API_CreateSchedule.html")],
    "AWS::CloudWatch::Alarm": [TextConstraint(("AlarmDescription",), 1024, ANY_TEXT, f"{_API}/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html")],
    # "The display name must be maximum 100 characters long, including hyphens (-), underscores (_),
    # spaces, and tabs" (AWS::SNS::Topic DisplayName); we hold it to printable ASCII and tabs.
    "AWS::SNS::Topic": [
        TextConstraint(("DisplayName",), 100, r"[\x20-\x7e\t]*", "http://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-sns-topic.html")
    ],
    "AWS::KMS::Key": [TextConstraint(("Description",), 8192, ANY_TEXT, f"{_API}/kms/latest/APIReference/API_CreateKey.html")],
}


@dataclass(frozen=True)
class FreeText:
    template: str
    logical_id: str
    resource_type: str
    constraint: TextConstraint
    text: str  # as deployed, with the longest suffix and region (one variant of each Fn::If)

    @property
    def problems(self) -> list[str]:
        c = self.constraint
        return _length_and_character_problems(self.text, c.min_length, c.max_length, c.pattern)


def _variants(expression: Any) -> list[Any]:
    """Every value an expression may take: both branches of each Fn::If (AWS::NoValue dropped)."""
    if isinstance(expression, dict) and list(expression) == ["Fn::If"]:
        _, when_true, when_false = expression["Fn::If"]
        return _variants(when_true) + _variants(when_false)
    if expression == {"Ref": "AWS::NoValue"}:
        return []
    return [expression]


def free_texts(template: dict[str, Any], template_name: str, region: str = LONGEST_REGION) -> list[FreeText]:
    """Every constrained free text of the template, evaluated with the longest suffix and region."""
    context = Context(template, placeholder_values(template, {"EnvironmentSuffix": longest_suffix(template)}), region=region, account=PLACEHOLDER_ACCOUNT)
    return [
        FreeText(template_name, logical_id, body["Type"], constraint, str(context.evaluate(variant)))
        for logical_id, body in template.get("Resources", {}).items()
        for constraint in TEXT_CONSTRAINTS.get(body["Type"], [])
        for expression in _values_at(body.get("Properties", {}), constraint.path)
        for variant in _variants(expression)
    ]

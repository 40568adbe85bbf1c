"""A template as CloudFormation would see it for one set of parameter values, offline.

Conditions are evaluated, resources and outputs whose condition is false are dropped, and the
intrinsic functions are resolved. Resources do not exist offline, so `Ref` and `Fn::GetAtt`
of a resource return placeholders of the right shape, built from the name the template gives
the resource (a queue's URL and ARN, a role's ARN, `busname|rulename` for a rule on a custom
bus, ...). What reads the result: the IAM linters (every policy with real-looking ARNs), the
naming constraints (every name at its longest), the deploy script's parameter checks and the
evaluation of the template's `Rules`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

NO_VALUE = object()
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
PLACEHOLDER_KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
# resource type -> the property that holds the name the template gives it
NAME_PROPERTIES = {
    "AWS::SQS::Queue": "QueueName",
    "AWS::IAM::Role": "RoleName",
    "AWS::KMS::Alias": "AliasName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::ECS::Cluster": "ClusterName",
    "AWS::ECS::TaskDefinition": "Family",
    "AWS::Events::EventBus": "Name",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::ECR::Repository": "RepositoryName",
    "AWS::Scheduler::Schedule": "Name",
    "AWS::CloudWatch::Alarm": "AlarmName",
}


class ResolveError(ValueError):
    pass


# what resolving a template the resolver cannot read raises: a review then compares the text, and says so
UNRESOLVABLE = (ResolveError, ValueError, KeyError, IndexError, TypeError)


@dataclass
class Context:
    """Parameter values (defaults filled in) and the pseudo parameters of one deployment."""

    template: dict[str, Any]
    parameters: dict[str, str] = field(default_factory=dict)
    region: str = "us-east-1"
    account: str = "123456789012"
    partition: str = "aws"
    stack_name: str = "riskbatch"

    def __post_init__(self) -> None:
        declared = self.template.get("Parameters", {})
        unknown = sorted(set(self.parameters) - set(declared))
        if unknown:
            raise ResolveError(f"parameters the template does not declare: {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, body in declared.items():
            if name in self.parameters:
                raw = str(self.parameters[name])
            elif "Default" in body:
                raw = str(body["Default"])
            else:
                raise ResolveError(f"parameter {name} has no value and no default")
            values[name] = raw.split(",") if body["Type"].startswith("CommaDelimitedList") or body["Type"].startswith("List<") else raw
        self.values = values
        self.pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::Partition": self.partition,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:{self.partition}:cloudformation:{self.region}:{self.account}:stack/{self.stack_name}/placeholder",
            "AWS::URLSuffix": "amazonaws.com",
        }
        self._conditions: dict[str, bool] = {}

    # --- conditions -------------------------------------------------------------------------
    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            definitions = self.template.get("Conditions", {})
            if name not in definitions:
                raise ResolveError(f"unknown condition {name}")
            self._conditions[name] = bool(self.evaluate(definitions[name]))
        return self._conditions[name]

    def kept(self, body: dict[str, Any]) -> bool:
        return "Condition" not in body or self.condition(body["Condition"])

    # --- values -----------------------------------------------------------------------------
    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.values:
            return self.values[name]
        if name == "AWS::NoValue":
            return NO_VALUE
        resource = self.template.get("Resources", {}).get(name)
        if resource is None:
            raise ResolveError(f"Ref to unknown {name}")
        return self._physical(name, resource, None)

    def get_att(self, logical_id: str, attribute: str) -> Any:
        resource = self.template.get("Resources", {}).get(logical_id)
        if resource is None:
            raise ResolveError(f"Fn::GetAtt of unknown {logical_id}")
        return self._physical(logical_id, resource, attribute)

    def _name(self, logical_id: str, resource: dict[str, Any], prop: str) -> str:
        value = resource.get("Properties", {}).get(prop)
        return str(self.evaluate(value)) if value is not None else f"{self.stack_name}-{logical_id}-placeholder"

    def _physical(self, logical_id: str, resource: dict[str, Any], attribute: str | None) -> Any:
        """What CloudFormation returns for Ref (attribute None) or Fn::GetAtt of a resource."""
        kind = resource["Type"]
        if kind == "AWS::ECS::Service":
            values = self._service(logical_id, resource)
        elif kind == "AWS::Events::Rule":
            values = self._rule(logical_id, resource)
        elif kind in NAME_PROPERTIES:
            values = self._named(kind, self._name(logical_id, resource, NAME_PROPERTIES[kind]))
        else:
            values = {
                "AWS::KMS::Key": {None: PLACEHOLDER_KEY_ID, "Arn": self._arn("kms", f"key/{PLACEHOLDER_KEY_ID}"), "KeyId": PLACEHOLDER_KEY_ID},
                "AWS::EC2::SecurityGroup": {None: "sg-0123456789abcdef0", "GroupId": "sg-0123456789abcdef0"},
                "AWS::EC2::VPCEndpoint": {None: "vpce-0123456789abcdef0", "Id": "vpce-0123456789abcdef0"},
            }.get(kind, {None: f"{logical_id}-placeholder"})
        if attribute in values:
            return values[attribute]
        return values.get(None, f"{logical_id}-placeholder") if attribute is None else f"{logical_id}.{attribute}-placeholder"

    def _arn(self, service: str, resource: str, region: bool = True) -> str:
        return f"arn:{self.partition}:{service}:{self.region if region else ''}:{self.account}:{resource}"

    def _named(self, kind: str, n: str) -> dict[str | None, Any]:
        """Ref and attributes of a resource the template names."""
        url = f"https://sqs.{self.region}.amazonaws.com/{self.account}/{n}"
        return {
            "AWS::SQS::Queue": {None: url, "Arn": self._arn("sqs", n), "QueueName": n, "QueueUrl": url},
            "AWS::IAM::Role": {None: n, "Arn": self._arn("iam", f"role/{n}", region=False), "RoleId": "AROAPLACEHOLDER"},
            "AWS::KMS::Alias": {None: n},
            "AWS::SNS::Topic": {None: self._arn("sns", n), "TopicArn": self._arn("sns", n), "TopicName": n},
            "AWS::ECS::Cluster": {None: n, "Arn": self._arn("ecs", f"cluster/{n}")},
            "AWS::ECS::TaskDefinition": {None: self._arn("ecs", f"task-definition/{n}:1"), "TaskDefinitionArn": self._arn("ecs", f"task-definition/{n}:1")},
            "AWS::Events::EventBus": {None: n, "Name": n, "Arn": self._arn("events", f"event-bus/{n}")},
            "AWS::Logs::LogGroup": {None: n, "Arn": self._arn("logs", f"log-group:{n}:*")},
            "AWS::CloudWatch::Alarm": {None: n, "Arn": self._arn("cloudwatch", f"alarm:{n}")},
            "AWS::ECR::Repository": {
                None: n,
                "Arn": self._arn("ecr", f"repository/{n}"),
                "RepositoryUri": f"{self.account}.dkr.ecr.{self.region}.amazonaws.com/{n}",
            },
        }[kind]

    def _service(self, logical_id: str, resource: dict[str, Any]) -> dict[str | None, Any]:
        name = self._name(logical_id, resource, "ServiceName")
        cluster = self.evaluate(resource.get("Properties", {}).get("Cluster", "default"))
        arn = f"arn:{self.partition}:ecs:{self.region}:{self.account}:service/{cluster}/{name}"
        return {None: arn, "ServiceArn": arn, "Name": name}

    def _rule(self, logical_id: str, resource: dict[str, Any]) -> dict[str | None, Any]:
        name = self._name(logical_id, resource, "Name")
        bus_value = resource.get("Properties", {}).get("EventBusName")
        bus = str(self.evaluate(bus_value)).rsplit("/", 1)[-1] if bus_value is not None else "default"
        if bus == "default":
            return {None: name, "Arn": f"arn:{self.partition}:events:{self.region}:{self.account}:rule/{name}"}
        # Ref of a rule on a custom bus is "busname|rulename" (cloudformation-coverage-roadmap#1131).
        return {None: f"{bus}|{name}", "Arn": f"arn:{self.partition}:events:{self.region}:{self.account}:rule/{bus}/{name}"}

    # --- intrinsic functions ----------------------------------------------------------------
    def evaluate(self, node: Any) -> Any:
        if isinstance(node, list):
            items = [self.evaluate(item) for item in node]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, value),) = node.items()
            function = self._functions().get(key)
            if function is not None:
                return function(value)
        result = {}
        for key, value in node.items():
            evaluated = self.evaluate(value)
            if evaluated is not NO_VALUE:
                result[key] = evaluated
        return result

    def _functions(self) -> dict[str, Callable[[Any], Any]]:
        return {
            "Ref": self.ref,
            "Fn::GetAtt": lambda v: self.get_att(*(v if isinstance(v, list) else v.split(".", 1))),
            "Fn::Sub": self._sub,
            "Fn::Join": lambda v: str(v[0]).join(str(item) for item in as_list(self.evaluate(v[1]))),
            "Fn::Select": lambda v: as_list(self.evaluate(v[1]))[int(self.evaluate(v[0]))],
            "Fn::Split": lambda v: str(self.evaluate(v[1])).split(v[0]),
            "Fn::If": lambda v: self.evaluate(v[1] if self.condition(v[0]) else v[2]),
            "Fn::Equals": lambda v: _scalar(self.evaluate(v[0])) == _scalar(self.evaluate(v[1])),
            "Fn::Not": lambda v: not self.evaluate(v[0]),
            "Fn::And": lambda v: all(self.evaluate(item) for item in v),
            "Fn::Or": lambda v: any(self.evaluate(item) for item in v),
            "Condition": self.condition,
            "Fn::GetAZs": lambda v: [f"{self.region}{zone}" for zone in "abc"],
            "Fn::ImportValue": lambda v: f"import:{self.evaluate(v)}",
            "Fn::Base64": lambda v: self.evaluate(v),
        }

    def _sub(self, value: Any) -> str:
        text, variables = (value, {}) if isinstance(value, str) else (value[0], value[1])
        local = {name: self.evaluate(body) for name, body in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in local:
                return str(local[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return str(self.get_att(logical_id, attribute))
            return str(self.ref(name))

        return _SUB_VARIABLE.sub(replace, text)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# Values for parameters without a default when nothing is deployed: right-shaped, never real.
PLACEHOLDERS_BY_TYPE = {"AWS::EC2::VPC::Id": "vpc-0123456789abcdef0", "AWS::EC2::Subnet::Id": "subnet-0123456789abcdef0"}
PLACEHOLDERS_BY_NAME = {"ClientCidr": "10.0.0.0/16"}


def placeholder_values(template: dict[str, Any], chosen: dict[str, str] | None = None) -> dict[str, str]:
    """The chosen values of the template's declared parameters, plus a placeholder for each other one without a default."""
    values = {name: value for name, value in (chosen or {}).items() if name in template.get("Parameters", {})}
    for name, body in template.get("Parameters", {}).items():
        if name not in values and "Default" not in body:
            values[name] = PLACEHOLDERS_BY_NAME.get(name) or PLACEHOLDERS_BY_TYPE.get(body["Type"], f"riskbatch-{name.lower()}")
    return values


def _scalar(value: Any) -> Any:
    return ",".join(str(item) for item in value) if isinstance(value, list) else str(value)


def resolve(template: dict[str, Any], parameters: dict[str, str] | None = None, **pseudo: str) -> dict[str, Any]:
    """The template with conditions applied and every intrinsic function resolved."""
    context = Context(template, dict(parameters or {}), **pseudo)
    result: dict[str, Any] = {"Resources": {}, "Outputs": {}}
    for logical_id, body in template.get("Resources", {}).items():
        if context.kept(body):
            resolved = copy.deepcopy(body)
            resolved["Properties"] = context.evaluate(body.get("Properties", {}))
            # the AWS::LanguageExtensions transform resolves functions in the two policies too
            for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
                if policy in body:
                    resolved[policy] = context.evaluate(body[policy])
            result["Resources"][logical_id] = resolved
    for name, body in template.get("Outputs", {}).items():
        if context.kept(body):
            result["Outputs"][name] = {"Value": context.evaluate(body["Value"])}
    return result


# --- Rules ------------------------------------------------------------------------------------
ValueLookup = Callable[[str, str, str], str]  # (parameter type, attribute, parameter value) -> attribute value


def evaluate_rules(template: dict[str, Any], parameters: dict[str, str] | None = None, lookup: ValueLookup | None = None, **pseudo: str) -> list[str]:
    """The AssertDescription of every assertion of the template's Rules that the values break.

    Rule functions that read the account (Fn::ValueOf, Fn::ValueOfAll) need `lookup`; without
    it a rule that uses them is not evaluated (offline, nothing can be looked up).
    """
    context = Context(template, dict(parameters or {}), **pseudo)
    failures: list[str] = []
    for name, rule in template.get("Rules", {}).items():
        evaluator = _RuleEvaluator(context, template.get("Parameters", {}), lookup)
        try:
            if "RuleCondition" in rule and not evaluator.evaluate(rule["RuleCondition"]):
                continue
            for assertion in rule["Assertions"]:
                if not evaluator.evaluate(assertion["Assert"]):
                    failures.append(f"{name}: {assertion.get('AssertDescription', 'assertion failed')}")
        except _NeedsLookup:
            continue
    return failures


class _NeedsLookup(Exception):
    pass


class _RuleEvaluator:
    """The rule-specific intrinsic functions (CloudFormation user guide, 'Rule functions')."""

    def __init__(self, context: Context, declared: dict[str, Any], lookup: ValueLookup | None) -> None:
        self.context = context
        self.declared = declared
        self.lookup = lookup

    def evaluate(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.evaluate(item) for item in node]
        if not isinstance(node, dict) or len(node) != 1:
            return node
        ((key, value),) = node.items()
        if key == "Ref":
            return self.context.ref(value)
        if key == "Fn::Equals":
            return _scalar(self.evaluate(value[0])) == _scalar(self.evaluate(value[1]))
        if key == "Fn::Not":
            return not self.evaluate(value[0])
        if key == "Fn::And":
            return all(self.evaluate(item) for item in value)
        if key == "Fn::Or":
            return any(self.evaluate(item) for item in value)
        if key == "Fn::If":
            return self.evaluate(value[1] if self.context.condition(value[0]) else value[2])
        if key == "Fn::Contains":
            return _scalar(self.evaluate(value[1])) in [_scalar(item) for item in self.evaluate(value[0])]
        if key == "Fn::EachMemberEquals":
            members, expected = self.evaluate(value[0]), _scalar(self.evaluate(value[1]))
            return all(_scalar(item) == expected for item in members)
        if key == "Fn::EachMemberIn":
            members, allowed = self.evaluate(value[0]), [_scalar(item) for item in self.evaluate(value[1])]
            return all(_scalar(item) in allowed for item in members)
        if key == "Fn::RefAll":
            return [item for name, body in self.declared.items() if body["Type"] == value for item in as_list(self.context.values[name])]
        if key == "Fn::ValueOf":
            name, attribute = value
            return self._look_up(self.declared[name]["Type"], attribute, self.context.values[name])
        if key == "Fn::ValueOfAll":
            kind, attribute = value
            values = [item for name, body in self.declared.items() if body["Type"] == kind for item in as_list(self.context.values[name])]
            return [self._look_up(kind, attribute, item) for item in values]
        return self.context.evaluate(node)

    def _look_up(self, kind: str, attribute: str, value: str) -> str:
        if self.lookup is None:
            raise _NeedsLookup
        return self.lookup(kind, attribute, value)

"""Queries over a CloudFormation template: resources by type and by the references between them.

Tests find what they check through these functions (jsonpath over the parsed JSON), never
through resource counts, so every instance of a type is covered, including ones added later.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonpath_ng.ext import parse

REPO_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_PATH = REPO_ROOT / "lib" / "TapStack.json"

_SUB_REFERENCE = re.compile(r"\$\{([A-Za-z0-9:]+)(?:\.([A-Za-z0-9.]+))?\}")


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


@dataclass(frozen=True)
class Resource:
    logical_id: str
    body: dict[str, Any]

    @property
    def type(self) -> str:
        return self.body["Type"]

    @property
    def props(self) -> dict[str, Any]:
        return self.body.get("Properties", {})

    def __repr__(self) -> str:  # shown in parametrised test ids and failures
        return self.logical_id


class Template:
    def __init__(self, document: dict[str, Any]) -> None:
        self.doc = document

    @property
    def resources(self) -> dict[str, Any]:
        return self.doc["Resources"]

    def find(self, expression: str, node: Any = None) -> list[Any]:
        return [match.value for match in parse(expression).find(self.doc if node is None else node)]

    def of_type(self, resource_type: str) -> list[Resource]:
        matches = parse(f"$.Resources[?(@.Type == '{resource_type}')]").find(self.doc)
        return [Resource(str(match.path.fields[0]), match.value) for match in matches]

    def get(self, logical_id: str) -> Resource:
        return Resource(logical_id, self.resources[logical_id])

    def all_resources(self) -> list[Resource]:
        return [Resource(logical_id, body) for logical_id, body in self.resources.items()]

    def parameters(self) -> dict[str, Any]:
        return self.doc.get("Parameters", {})

    def referenced_resources(self, node: Any) -> set[str]:
        """Resources (not parameters) that a node refers to."""
        return {name for name in references(node) if name in self.resources}

    def referenced_resource(self, node: Any) -> str | None:
        """The one resource a node refers to, or None when it refers to none or several."""
        found = self.referenced_resources(node)
        return found.pop() if len(found) == 1 else None


def referenced_id(node: Any) -> str | None:
    """Logical id that a Ref, Fn::GetAtt or a single-reference Fn::Sub points at."""
    if isinstance(node, dict):
        if "Ref" in node:
            return node["Ref"]
        if "Fn::GetAtt" in node:
            target = node["Fn::GetAtt"]
            return target[0] if isinstance(target, list) else target.split(".")[0]
        if "Fn::Sub" in node and isinstance(node["Fn::Sub"], str):
            found = {name for name, _ in _SUB_REFERENCE.findall(node["Fn::Sub"])}
            found = {name for name in found if not name.startswith("AWS::")}
            if len(found) == 1:
                return found.pop()
    return None


def references(node: Any) -> Iterator[str]:
    """Every logical id or parameter that a node refers to, anywhere inside it."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                yield value
            elif key == "Fn::GetAtt":
                yield value[0] if isinstance(value, list) else value.split(".")[0]
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                yield from (name for name, _ in _SUB_REFERENCE.findall(text))
                if not isinstance(value, str):
                    yield from references(value[1])
            else:
                yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


# Values for the parameters of lib/TapStack.json that have no default, for tests that resolve it.
REQUIRED_VALUES = {
    "VpcId": "vpc-1",
    "PrivateSubnet1Id": "subnet-a",
    "PrivateSubnet2Id": "subnet-b",
    "PrivateSubnet3Id": "subnet-c",
    "InputBucketName": "risk-input",
    "OutputBucketName": "risk-output",
}
# Values for evaluating names and ARNs offline (Fn::Sub over the suffix and the pseudo parameters).
SUBSTITUTION_VALUES = {"EnvironmentSuffix": "sfx", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}


def run_task_targets(template: Template) -> list[tuple[Resource, dict[str, Any]]]:
    """(rule, target) for every EventBridge target that runs an ECS task."""
    return [(rule, target) for rule in template.of_type("AWS::Events::Rule") for target in rule.props.get("Targets", []) if "EcsParameters" in target]


def dead_letter_queue_ids(template: Template) -> set[str]:
    """Queues that are some queue's redrive target or some rule target's dead-letter queue."""
    redrive = {referenced_id(q.props["RedrivePolicy"]["deadLetterTargetArn"]) for q in template.of_type("AWS::SQS::Queue") if "RedrivePolicy" in q.props}
    rules = {
        referenced_id(target["DeadLetterConfig"]["Arn"])
        for rule in template.of_type("AWS::Events::Rule")
        for target in rule.props.get("Targets", [])
        if "DeadLetterConfig" in target
    }
    return redrive | rules


def container_environment(container: dict[str, Any]) -> dict[str, Any]:
    """A container definition's Environment as a mapping (values as written: strings or intrinsics)."""
    return {item["Name"]: item["Value"] for item in container.get("Environment", [])}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(policy_document: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement the document may deploy: both branches of a statement under Fn::If (AWS::NoValue dropped)."""
    found: list[dict[str, Any]] = []
    for statement in as_list(policy_document.get("Statement", [])):
        if isinstance(statement, dict) and list(statement) == ["Fn::If"]:
            _, when_true, when_false = statement["Fn::If"]
            found.extend(branch for branch in (when_true, when_false) if branch != {"Ref": "AWS::NoValue"})
        else:
            found.append(statement)
    return found


def role_statements(role: Resource) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for policy in role.props.get("Policies", []):
        found.extend(statements(policy["PolicyDocument"]))
    return found


def substitute(node: Any, values: dict[str, str]) -> Any:
    """Evaluate Fn::Sub / Ref over parameters and pseudo parameters (names, ARNs built from them)."""
    if isinstance(node, str):
        return node
    if isinstance(node, dict):
        if "Fn::Sub" in node and isinstance(node["Fn::Sub"], str):
            return _SUB_REFERENCE.sub(lambda match: values.get(match.group(1), match.group(0)), node["Fn::Sub"])
        if "Ref" in node and node["Ref"] in values:
            return values[node["Ref"]]
    return None


# With EnableAccessProbes=true (the integration suite's stacks only) every task role may read and
# write its probe's expectations and verdict under the output bucket's probes/ (riskbatch probe, the
# least-privilege proof), and use the output bucket's own key for it; nothing in a night touches that
# prefix, and a test of a job's own permissions reads its role without those statements.
PROBE_STATEMENT_SID = "ProbeThisRole"
PROBE_STATEMENT_SIDS = {PROBE_STATEMENT_SID, "UseTheOutputBucketsKeyForItsProbe"}


def job_statements(role: Resource) -> list[dict[str, Any]]:
    """A role's statements less the probe's own."""
    return [statement for statement in role_statements(role) if statement.get("Sid") not in PROBE_STATEMENT_SIDS]

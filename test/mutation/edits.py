"""The edits a mutation makes on a deep copy of the template: set, delete, append, and the few that read
the template to find what to break (a role's statements, a policy's TLS denial)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Path = tuple[Any, ...]


R = "Resources"


P = "Properties"


@dataclass(frozen=True)
class Mutation:
    name: str
    requirement: str
    edit: Callable[[dict[str, Any]], None]

    def apply(self, template: dict[str, Any]) -> dict[str, Any]:
        mutant = copy.deepcopy(template)
        before = json.dumps(mutant, sort_keys=True)
        self.edit(mutant)
        if json.dumps(mutant, sort_keys=True) == before:
            raise ValueError(f"mutation {self.name} changed nothing: the template moved on, update it")
        return mutant


def _parent(node: Any, path: Path) -> tuple[Any, Any]:
    for key in path[:-1]:
        node = node[key]
    return node, path[-1]


def set_(*path_and_value: Any) -> Callable[[dict[str, Any]], None]:
    *path, value = path_and_value

    def edit(template: dict[str, Any]) -> None:
        parent, key = _parent(template, tuple(path))
        parent[key] = copy.deepcopy(value)

    return edit


def delete(*path: Any) -> Callable[[dict[str, Any]], None]:
    def edit(template: dict[str, Any]) -> None:
        parent, key = _parent(template, tuple(path))
        if isinstance(parent, list):
            parent.pop(key)
        else:
            del parent[key]

    return edit


def append(*path_and_value: Any) -> Callable[[dict[str, Any]], None]:
    *path, value = path_and_value

    def edit(template: dict[str, Any]) -> None:
        node = template
        for key in path:
            node = node[key]
        node.append(copy.deepcopy(value))

    return edit


def both(*edits: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def edit(template: dict[str, Any]) -> None:
        for one in edits:
            one(template)

    return edit


def kms_on_any_key(role: str) -> Callable[[dict[str, Any]], None]:
    """The role's KMS statement on every key of the account (key/*) instead of the stack's key."""

    def edit(template: dict[str, Any]) -> None:
        for policy in template[R][role][P]["Policies"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                if "Action" not in statement:
                    continue  # a statement under a condition (Fn::If): the stack's key is named in plain statements
                if any(str(action).startswith("kms:") for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])):
                    statement["Resource"] = {"Fn::Sub": "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*"}

    return edit


def drop_tls_denial(policy: str) -> Callable[[dict[str, Any]], None]:
    """Remove the policy's statements that deny requests without TLS."""

    def edit(template: dict[str, Any]) -> None:
        document = template[R][policy][P]["PolicyDocument"]
        document["Statement"] = [s for s in document["Statement"] if "aws:SecureTransport" not in str(s.get("Condition", ""))]

    return edit


def _container(task: str) -> Path:
    return (R, task, P, "ContainerDefinitions", 0)


def _statements(role: str) -> Path:
    return (R, role, P, "Policies", 0, "PolicyDocument", "Statement")


def _service_network(service: str) -> Path:
    return (R, service, P, "NetworkConfiguration", "AwsvpcConfiguration")


_INGESTION_TARGET: Path = (R, "DataIngestionTriggerRule", P, "Targets", 0)


_KEY_STATEMENTS: Path = (R, "RiskBatchKey", P, "KeyPolicy", "Statement")


_FAILURE_ALARM: Path = (R, "TaskFailureRateAlarm", P)


def _policy_statements(template: dict[str, Any], role: str) -> list[Any]:
    return template[R][role][P]["Policies"][0]["PolicyDocument"]["Statement"]


def _unconditioned_output_key(role: str) -> Callable[[dict[str, Any]], None]:
    """The role's grant on the output bucket's key loses its kms:ViaService condition."""

    def edit(template: dict[str, Any]) -> None:
        for statement in _policy_statements(template, role):
            if isinstance(statement, dict) and "Fn::If" in statement and statement["Fn::If"][0] == "HasOutputBucketKmsKey":
                del statement["Fn::If"][1]["Condition"]

    return edit


def _probes_unconditioned(role: str) -> Callable[[dict[str, Any]], None]:
    """The role's probe statement granted whatever EnableAccessProbes says."""

    def edit(template: dict[str, Any]) -> None:
        statements = _policy_statements(template, role)
        for index, statement in enumerate(statements):
            if isinstance(statement, dict) and "Fn::If" in statement and statement["Fn::If"][0] == "AccessProbesEnabled":
                statements[index] = statement["Fn::If"][1]

    return edit


def tls_denial_off_in_production(policy: str) -> Callable[[dict[str, Any]], None]:
    """Keep the policy's TLS denial in every environment but production (an Fn::If whose one branch denies)."""

    def edit(template: dict[str, Any]) -> None:
        document = template[R][policy][P]["PolicyDocument"]
        document["Statement"] = [
            {"Fn::If": ["IsProduction", {"Ref": "AWS::NoValue"}, statement]} if "aws:SecureTransport" in str(statement.get("Condition", "")) else statement
            for statement in document["Statement"]
        ]

    return edit


def replace_text(resource: str, prop: str, old: str, new: str) -> Callable[[dict[str, Any]], None]:
    """Replace a piece of a property written as text (a dashboard body, a filter pattern), once."""

    def edit(template: dict[str, Any]) -> None:
        value = template[R][resource][P][prop]
        key = "Fn::Sub" if isinstance(value, dict) else None
        text = value[key] if key else value
        changed = text.replace(old, new, 1)
        if key:
            value[key] = changed
        else:
            template[R][resource][P][prop] = changed

    return edit

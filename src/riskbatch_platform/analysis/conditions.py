"""Evaluate a template's Conditions for a set of parameter values (Equals, Not, And, Or over Refs)."""

from __future__ import annotations

from typing import Any


def _value(node: Any, parameters: dict[str, str], template: dict[str, Any]) -> Any:
    if isinstance(node, dict) and "Ref" in node:
        name = node["Ref"]
        if name in parameters:
            return parameters[name]
        default = template.get("Parameters", {}).get(name, {}).get("Default")
        if isinstance(default, str) or default is None:
            return default
        return str(default)
    if isinstance(node, dict) and "Fn::Join" in node:
        separator, items = node["Fn::Join"]
        return separator.join(str(_value(item, parameters, template)) for item in items)
    return node


def evaluate(name: str, template: dict[str, Any], parameters: dict[str, str]) -> bool:
    conditions = template.get("Conditions", {})

    def walk(node: Any) -> bool:
        if isinstance(node, dict) and "Condition" in node:
            return walk(conditions[node["Condition"]])
        ((function, arguments),) = node.items()
        if function == "Fn::Equals":
            left, right = (_value(argument, parameters, template) for argument in arguments)
            return str(left) == str(right)
        if function == "Fn::Not":
            return not walk(arguments[0])
        if function == "Fn::And":
            return all(walk(argument) for argument in arguments)
        if function == "Fn::Or":
            return any(walk(argument) for argument in arguments)
        raise ValueError(f"unsupported condition function {function}")

    return walk(conditions[name])


def active_resources(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The resources CloudFormation creates for these parameters."""
    return {
        logical_id: body for logical_id, body in template["Resources"].items() if "Condition" not in body or evaluate(body["Condition"], template, parameters)
    }

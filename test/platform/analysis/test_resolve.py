"""The offline resolver gives what CloudFormation would: conditions applied, Refs and attributes of the right shape."""

from __future__ import annotations

import pytest

from riskbatch_platform.analysis.resolve import ResolveError, resolve
from test.template_model import REQUIRED_VALUES, Template

VALUES = REQUIRED_VALUES


def test_conditions_decide_which_resources_and_outputs_exist(template: Template) -> None:
    off = resolve(template.doc, VALUES)
    on = resolve(template.doc, {**VALUES, "DeployServices": "true"})
    assert "RiskCalculationService" not in off["Resources"] and "RiskCalculationService" in on["Resources"]
    assert "RiskCalculationServiceName" not in off["Outputs"] and on["Outputs"]["RiskCalculationServiceName"]["Value"] == "svc-risk-calculation-dev"


def test_a_rule_on_a_custom_bus_is_referenced_as_bus_and_name() -> None:
    template = {
        "Resources": {
            "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "bus-x"}},
            "Rule": {"Type": "AWS::Events::Rule", "Properties": {"Name": "rule-x", "EventBusName": {"Ref": "Bus"}}},
            "Plain": {"Type": "AWS::Events::Rule", "Properties": {"Name": "rule-y"}},
        },
        "Outputs": {"Ref": {"Value": {"Ref": "Rule"}}, "Arn": {"Value": {"Fn::GetAtt": ["Rule", "Arn"]}}, "PlainRef": {"Value": {"Ref": "Plain"}}},
    }
    outputs = {name: body["Value"] for name, body in resolve(template)["Outputs"].items()}
    assert outputs == {"Ref": "bus-x|rule-x", "Arn": "arn:aws:events:us-east-1:123456789012:rule/bus-x/rule-x", "PlainRef": "rule-y"}


def test_an_empty_list_parameter_is_one_empty_string() -> None:
    template = {
        "Parameters": {"Tables": {"Type": "CommaDelimitedList", "Default": ""}},
        "Resources": {},
        "Outputs": {"Joined": {"Value": {"Fn::Join": ["+", {"Ref": "Tables"}]}}},
    }
    assert resolve(template)["Outputs"]["Joined"]["Value"] == ""


def test_unknown_parameters_and_missing_values_are_refused(template: Template) -> None:
    with pytest.raises(ResolveError, match="does not declare: Nope"):
        resolve(template.doc, {**VALUES, "Nope": "x"})
    with pytest.raises(ResolveError, match="VpcId has no value"):
        resolve(template.doc, {key: value for key, value in VALUES.items() if key != "VpcId"})

"""The audit data: how long the log groups keep their events, and what a stack's deletion keeps.

- RetentionInDays takes only the values CloudWatch Logs accepts (PutRetentionPolicy, and the
  AWS::Logs::LogGroup resource schema cfn-lint ships, read here):
  https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/cloudwatchlogs/aws.sdk.kotlin.services.cloudwatchlogs.model/-log-group/retention-in-days.html
- DeletionPolicy and UpdateReplacePolicy take a function only under the AWS::LanguageExtensions
  transform, and it must resolve to a valid policy:
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/function-refs-in-policy-attributes.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-languageextension-transform.html
- a KMS key removed from a stack waits PendingWindowInDays, 7 to 30, before KMS deletes it (the
  AWS::KMS::Key resource schema, read here; "The range is 7-30 days" in
  https://docs.aws.amazon.com/kms/latest/cryptographic-details/key-deletion.html).
"""

from __future__ import annotations

import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from riskbatch_platform.analysis.resolve import resolve
from test.conftest import the_template
from test.template_model import REQUIRED_VALUES, Resource, Template

MINIMUM_DAYS = 30  # the requirement's least retention
ENVIRONMENTS = {"prod": "Retain", "dev": "Delete", "prod-eu": "Delete"}  # suffix -> what a deletion does to the audit data
AUDIT_TYPES = ("AWS::Logs::LogGroup", "AWS::KMS::Key")


def _schema_property(resource_type: str, name: str) -> dict:
    return PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema["properties"][name]


def _audit_data(template: Template) -> list[Resource]:
    return [resource for resource_type in AUDIT_TYPES for resource in template.of_type(resource_type)]


def _resolved(template: Template, suffix: str) -> dict:
    return resolve(template.doc, {**REQUIRED_VALUES, "EnvironmentSuffix": suffix})["Resources"]


def test_the_retention_parameter_offers_every_value_cloudwatch_logs_accepts_from_30_days(template: Template) -> None:
    parameter = template.parameters()["LogRetentionInDays"]
    accepted = _schema_property("AWS::Logs::LogGroup", "RetentionInDays")["enum"]
    assert parameter["Type"] == "Number" and parameter.get("Description")
    assert parameter["AllowedValues"] == [days for days in accepted if days >= MINIMUM_DAYS]
    assert parameter["Default"] == MINIMUM_DAYS


@pytest.mark.parametrize("log_group", the_template().of_type("AWS::Logs::LogGroup"), ids=repr)
def test_every_log_group_keeps_its_events_for_the_parameters_days(log_group: Resource) -> None:
    assert log_group.props["RetentionInDays"] == {"Ref": "LogRetentionInDays"}


@pytest.mark.parametrize("days", ["30", "3653"])
def test_the_deployed_log_groups_keep_the_days_given(template: Template, days: str) -> None:
    resolved = resolve(template.doc, {**REQUIRED_VALUES, "LogRetentionInDays": days})["Resources"]
    kept = {logical_id: body["Properties"]["RetentionInDays"] for logical_id, body in resolved.items() if body["Type"] == "AWS::Logs::LogGroup"}
    assert kept and set(kept.values()) == {days}


def test_production_is_the_prod_suffix(template: Template) -> None:
    assert template.doc["Conditions"]["IsProduction"] == {"Fn::Equals": [{"Ref": "EnvironmentSuffix"}, "prod"]}
    assert "prod is production" in template.parameters()["EnvironmentSuffix"]["Description"]


def test_the_policies_are_resolved_by_the_language_extensions_transform(template: Template) -> None:
    conditional = [r for r in template.all_resources() if isinstance(r.body.get("DeletionPolicy"), dict) or isinstance(r.body.get("UpdateReplacePolicy"), dict)]
    assert conditional and template.doc.get("Transform") == "AWS::LanguageExtensions"


@pytest.mark.parametrize("suffix", sorted(ENVIRONMENTS))
@pytest.mark.parametrize("resource", _audit_data(the_template()), ids=repr)
def test_the_audit_data_is_kept_on_deletion_and_replacement_in_production_only(template: Template, resource: Resource, suffix: str) -> None:
    resolved = _resolved(template, suffix)[resource.logical_id]
    assert (resolved["DeletionPolicy"], resolved["UpdateReplacePolicy"]) == (ENVIRONMENTS[suffix], ENVIRONMENTS[suffix])


@pytest.mark.parametrize("resource", [r for r in the_template().all_resources() if r.type not in AUDIT_TYPES], ids=repr)
def test_everything_else_is_deleted_with_the_stack_in_every_environment(template: Template, resource: Resource) -> None:
    for suffix in ENVIRONMENTS:
        resolved = _resolved(template, suffix).get(resource.logical_id)
        if resolved is not None:  # a resource switched off by its condition is not there to keep
            assert (resolved.get("DeletionPolicy", "Delete"), resolved.get("UpdateReplacePolicy", "Delete")) == ("Delete", "Delete")


@pytest.mark.parametrize(("suffix", "days"), [("prod", 30), ("dev", 7)])
@pytest.mark.parametrize("key", the_template().of_type("AWS::KMS::Key"), ids=repr)
def test_the_key_waits_longer_before_deletion_in_production(template: Template, key: Resource, suffix: str, days: int) -> None:
    window = _schema_property("AWS::KMS::Key", "PendingWindowInDays")
    resolved = _resolved(template, suffix)[key.logical_id]["Properties"]["PendingWindowInDays"]
    assert resolved == days and window["minimum"] <= resolved <= window["maximum"]

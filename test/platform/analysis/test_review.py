"""make review: pairs of templates, one per kind of change, and what the reviewer is told.

Replacement is read from the resource provider schemas cfn-lint ships: a change to a property in
createOnlyProperties replaces the resource (CloudFormation user guide, "Update behaviors of stack
resources"; the schemas are the registry's, https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-schema.html).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from riskbatch_platform.analysis.resolve import resolve
from riskbatch_platform.analysis.review import markdown, replacement, requirements_review, review_templates
from test.template_model import REPO_ROOT, Template


def _changed(template: Template, edit: Any) -> dict[str, Any]:
    after = copy.deepcopy(template.doc)
    edit(after)
    return after


def _statement(document: dict[str, Any], role: str, sid: str) -> dict[str, Any]:
    (policy,) = document["Resources"][role]["Properties"]["Policies"]
    return next(s for s in policy["PolicyDocument"]["Statement"] if s.get("Sid") == sid)


def test_an_unchanged_template_has_nothing_to_review(template: Template) -> None:
    review = review_templates(template.doc, copy.deepcopy(template.doc))
    assert review.findings == [] and not review.needs_security_review


def test_a_description_change_needs_no_security_reviewer(template: Template) -> None:
    def edit(doc: dict) -> None:
        doc["Resources"]["DataIngestionTaskRole"]["Properties"]["Description"] = "another description"

    review = review_templates(template.doc, _changed(template, edit))
    assert [(f.subject, f.needs_security_review) for f in review.findings] == [("DataIngestionTaskRole (AWS::IAM::Role)", False)]
    assert "replacement False" in review.findings[0].change


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda doc: _statement(doc, "DataIngestionTaskRole", "QueueWorkUnits").update(Action=["sqs:*"]), "widening: a wildcard action"),
        (lambda doc: _statement(doc, "DataIngestionTaskRole", "QueueWorkUnits").update(Resource="*"), 'widening: Resource "*"'),
        (
            lambda doc: _statement(doc, "DataIngestionTaskRole", "QueueWorkUnits").update(Action=["sqs:SendMessage", "dynamodb:GetItem"]),
            "widening: a new service",
        ),
        (lambda doc: _statement(doc, "DataIngestionTaskRole", "ListArrivingFiles").pop("Condition"), "condition removed: ['StringLike s3:prefix']"),
    ],
    ids=["wildcard-action", "star-resource", "new-service", "condition-removed"],
)
def test_iam_widening_needs_a_security_reviewer(template: Template, edit: Any, expected: str) -> None:
    review = review_templates(template.doc, _changed(template, edit))
    flagged = [f.change for f in review.findings if f.category == "iam" and f.needs_security_review]
    assert any(change.startswith(expected) for change in flagged), flagged
    assert review.needs_security_review


def test_narrowing_a_role_needs_no_security_reviewer(template: Template) -> None:
    def edit(doc: dict) -> None:
        _statement(doc, "DataIngestionTaskRole", "WriteRunsAndQuarantine").update(Action=["s3:PutObject"])

    review = review_templates(template.doc, _changed(template, edit))
    assert [f.change for f in review.findings if f.category == "iam"] == ["narrowed: ['s3:GetObject'] removed"]
    assert not review.needs_security_review


def test_new_ingress_and_a_public_ip_need_a_security_reviewer(template: Template) -> None:
    def edit(doc: dict) -> None:
        ssh = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"}
        doc["Resources"]["TaskSecurityGroup"]["Properties"]["SecurityGroupIngress"] = [ssh]
        ecs = doc["Resources"]["DataIngestionTriggerRule"]["Properties"]["Targets"][0]["EcsParameters"]
        ecs["NetworkConfiguration"]["AwsVpcConfiguration"]["AssignPublicIp"] = "ENABLED"

    review = review_templates(template.doc, _changed(template, edit))
    flagged = {(f.subject, f.change.split(":")[0]) for f in review.findings if f.category == "network" and f.needs_security_review}
    assert flagged == {("TaskSecurityGroup", "SecurityGroupIngress added"), ("DataIngestionTriggerRule", "a public IP assigned (AssignPublicIp ENABLED)")}


def test_encryption_switched_off_needs_a_security_reviewer(template: Template) -> None:
    review = review_templates(template.doc, _changed(template, lambda doc: doc["Resources"]["DataIngestionLogGroup"]["Properties"].pop("KmsKeyId")))
    (off,) = [f for f in review.findings if f.category == "encryption"]
    assert off.change == "KmsKeyId: removed (encryption off)" and off.needs_security_review


def test_retention_and_deletion_policy_changes_are_shown(template: Template) -> None:
    def edit(doc: dict) -> None:
        doc["Resources"]["DataIngestionLogGroup"]["Properties"]["RetentionInDays"] = 7
        doc["Resources"]["DataIngestionLogGroup"]["DeletionPolicy"] = "Retain"

    findings = review_templates(template.doc, _changed(template, edit)).findings
    assert [f.change for f in findings if f.category == "encryption"] == []  # how long a thing is kept is not how it is encrypted
    changes = {f.change: f.needs_security_review for f in findings if f.category == "retention"}
    assert changes == {
        "retention RetentionInDays: {'Ref': 'LogRetentionInDays'} -> 7": False,
        "DeletionPolicy: Delete -> Retain": True,
    }


def test_a_policy_that_retains_only_in_production_still_needs_a_security_reviewer(template: Template) -> None:
    def edit(doc: dict) -> None:
        doc["Resources"]["RiskWorkQueue"]["DeletionPolicy"] = {"Fn::If": ["IsProduction", "Retain", "Delete"]}

    (finding,) = [f for f in review_templates(template.doc, _changed(template, edit)).findings if f.category == "retention"]
    assert finding.change == 'DeletionPolicy: Delete -> {"Fn::If": ["IsProduction", "Retain", "Delete"]}' and finding.needs_security_review


def test_a_create_only_property_replaces_and_a_stateful_replacement_needs_a_security_reviewer(template: Template) -> None:
    def edit(doc: dict) -> None:
        doc["Resources"]["RiskWorkQueue"]["Properties"]["QueueName"] = {"Fn::Sub": "sqs-risk-work-v2-${EnvironmentSuffix}"}

    review = review_templates(template.doc, _changed(template, edit))
    assert review.replacements == {"RiskWorkQueue": "True"}
    (finding,) = [f for f in review.findings if f.subject.startswith("RiskWorkQueue")]
    assert "replacement True of a stateful resource: messages in flight are lost" in finding.change and finding.needs_security_review


def test_a_task_definition_change_is_a_new_revision_of_its_family_not_a_name_clash(template: Template) -> None:
    # A changed task definition is a new revision of the same family ("A task definition revision is a copy of the
    # current task definition with the new parameter values": "Updating an Amazon ECS task definition using the
    # console", https://docs.aws.amazon.com/AmazonECS/latest/developerguide/update-task-definition-console-v2.html).
    def edit(doc: dict) -> None:
        doc["Resources"]["DataIngestionTaskDefinition"]["Properties"]["Cpu"] = "2048"

    (finding,) = [f for f in review_templates(template.doc, _changed(template, edit)).findings if f.subject.startswith("DataIngestionTaskDefinition")]
    assert "replacement True" in finding.change and "a new revision of its family is registered" in finding.change
    assert "cannot replace a custom-named resource" not in finding.change


def test_an_in_place_property_update_does_not_replace() -> None:
    assert replacement("AWS::SQS::Queue", ["VisibilityTimeout"]) == "False"
    assert replacement("AWS::ECS::TaskDefinition", ["ContainerDefinitions.0.Image"]) == "True"
    assert replacement("AWS::IAM::Role", ["RoleName"]) == "True"


def test_removing_a_stateful_resource_needs_a_security_reviewer(template: Template) -> None:
    def edit(doc: dict) -> None:  # the key under a new logical id: CloudFormation deletes the old key
        doc["Resources"]["RiskBatchKeyV2"] = doc["Resources"].pop("RiskBatchKey")

    review = review_templates(template.doc, _changed(template, edit))
    (removed,) = [f for f in review.findings if f.subject == "RiskBatchKey (AWS::KMS::Key)"]
    assert removed.change.startswith("removed: stateful") and removed.needs_security_review


def test_a_removed_or_renamed_export_needs_a_security_reviewer(template: Template) -> None:
    exported = [name for name, body in template.doc["Outputs"].items() if "Export" in body]
    assert len(exported) >= 2

    def edit(doc: dict) -> None:
        doc["Outputs"][exported[0]].pop("Export")
        doc["Outputs"][exported[1]]["Export"]["Name"] = {"Fn::Sub": "renamed-${EnvironmentSuffix}"}

    flagged = [f.change.split(" ")[0] for f in review_templates(template.doc, _changed(template, edit)).findings if f.needs_security_review]
    assert flagged == ["removed", "renamed"]


def test_a_pull_request_that_widens_a_role_replaces_the_key_and_drops_an_export_names_all_three(template: Template) -> None:
    exported = next(name for name, body in template.doc["Outputs"].items() if "Export" in body)

    def edit(doc: dict) -> None:
        statements = doc["Resources"]["RiskCalculationTaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        statements[0]["Resource"] = "*"
        doc["Resources"]["RiskBatchKeyV2"] = doc["Resources"].pop("RiskBatchKey")
        doc["Outputs"][exported].pop("Export")

    comment = markdown({"lib/TapStack.json": review_templates(template.doc, _changed(template, edit))})
    assert comment.splitlines()[2] == "**Needs a security reviewer:** lib/TapStack.json"
    flagged = [line for line in comment.splitlines() if line.startswith("| ⚠")]
    assert any("RiskCalculationTaskRole" in line and 'Resource "*"' in line for line in flagged)
    assert any("RiskBatchKey (AWS::KMS::Key)" in line and "removed: stateful" in line for line in flagged)
    assert any(f"export of {exported}" in line for line in flagged)


def test_make_review_writes_the_comment_and_the_json_for_every_template_and_the_requirements(tmp_path: Any) -> None:
    from riskbatch_platform.analysis.review_change import main

    code = main(["HEAD", "--out", str(tmp_path), "--no-counts"])  # the working tree may differ from HEAD while editing
    report = json.loads((tmp_path / "review.json").read_text(encoding="utf-8"))
    assert code == int(any(entry["needs_security_review"] for entry in report.values()))
    environments = {f"lib/TapStack.json with config/{name}.json" for name in ("dev", "prod")}  # each resolved with its parameter file
    assert set(report) == {"lib/TapStack.json", "lib/VpcEndpoints.json", "compliance/requirements.json"} | environments
    assert (tmp_path / "review.md").read_text(encoding="utf-8").startswith("## Template review")


def test_the_compliance_delta_lists_only_requirements_whose_status_changed() -> None:
    from riskbatch_platform.analysis.review import compliance_delta

    base = [{"requirement": "a", "status": "PASS"}, {"requirement": "b", "status": "PASS"}, {"requirement": "gone", "status": "PASS"}]
    head = [{"requirement": "a", "status": "PASS"}, {"requirement": "b", "status": "FAIL"}, {"requirement": "new", "status": "PASS"}]
    delta = compliance_delta(base, head)
    assert delta == [("b", "PASS", "FAIL"), ("gone", "PASS", "-"), ("new", "-", "PASS")]
    comment = markdown({}, None, delta)
    assert "| b | PASS | FAIL |" in comment and markdown({}, None, []).rstrip().endswith("None.")


@pytest.mark.parametrize(("base_is_narrower", "expected_exit"), [(True, 1), (False, 0)], ids=["widened since base", "unchanged since base"])
def test_make_review_exits_1_exactly_when_a_change_needs_a_security_reviewer(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, base_is_narrower: bool, expected_exit: int
) -> None:
    """The exit code is what a pull request's required check reads: a widened role must fail it."""
    from riskbatch_platform.analysis import review_change as review

    def at_base(base: str, relative: str) -> dict | None:
        head = json.loads((review.REPO_ROOT / relative).read_text(encoding="utf-8"))
        if base_is_narrower and relative == "lib/TapStack.json":
            # at base, the risk workers could not yet send to the bus: the working tree widens the role
            (policy,) = head["Resources"]["RiskCalculationTaskRole"]["Properties"]["Policies"]
            policy["PolicyDocument"]["Statement"] = [s for s in policy["PolicyDocument"]["Statement"] if "events:PutEvents" not in str(s.get("Action"))]
        return head

    monkeypatch.setattr(review, "at_base", at_base)
    assert review.main(["BASE", "--out", str(tmp_path), "--no-counts"]) == expected_exit
    report = json.loads((tmp_path / "review.json").read_text(encoding="utf-8"))
    assert report["lib/TapStack.json"]["needs_security_review"] is base_is_narrower


def test_dropping_a_requirement_or_one_of_its_enforcers_needs_a_security_reviewer() -> None:
    # the compliance table's requirements are data (compliance/requirements.json): the review reads both sides
    base = json.loads((REPO_ROOT / "compliance" / "requirements.json").read_text(encoding="utf-8"))
    assert not requirements_review(base, base).findings
    head = copy.deepcopy(base)
    dropped = head["requirements"].pop(0)["requirement"]
    weakened = head["requirements"][0]
    lost = (weakened["tests"] or weakened["guard_rules"]).pop()
    head["requirements"].append({"requirement": "A new requirement", "guard_rules": [], "tests": ["test_iam.py::test_x"]})
    review = requirements_review(base, head)
    changes = {(finding.subject, finding.change, finding.needs_security_review) for finding in review.findings}
    assert (dropped, "requirement removed from the table", True) in changes
    assert (weakened["requirement"], f"no longer enforced by {lost}", True) in changes
    assert ("A new requirement", "requirement added, enforced by test_iam.py::test_x", False) in changes
    assert review.needs_security_review


def test_the_requirements_file_refuses_an_entry_that_names_nothing_or_twice() -> None:
    from riskbatch_platform.analysis.compliance import RequirementsError, parse_requirements, requirements

    assert len(requirements()) >= 40  # the table as shipped parses
    for text, complaint in (
        ('{"requirements": [{"requirement": "x", "guard_rules": [], "tests": []}]}', "names nothing"),
        ('{"requirements": [{"requirement": "x", "tests": ["t.py::a"]}, {"requirement": "x", "tests": ["t.py::b"]}]}', "listed twice"),
        ('{"requirements": [{"requirement": "x", "tests": ["test_a"]}]}', "file.py::function"),
        ("[1, 2]", "not a requirements file"),
    ):
        with pytest.raises(RequirementsError, match=complaint):
            parse_requirements(text)


def test_a_base_from_before_the_requirements_file_is_compared_through_its_old_table() -> None:
    # the pull request that moved the table into compliance/requirements.json must still show a
    # requirement it dropped, not list every requirement as added
    from riskbatch_platform.analysis.compliance import requirements_from_old_table

    head = json.loads((REPO_ROOT / "compliance" / "requirements.json").read_text(encoding="utf-8"))
    kept, dropped = head["requirements"][0], {"requirement": "A requirement the move lost", "guard_rules": ["some_rule"], "tests": []}
    moved = next(each for each in head["requirements"] if any(test.startswith("platform/local/emulator/") for test in each["tests"]))
    # the old table named them in one file, since split into a test file per emulator service
    old_ids = [f"test_emulator_fixes.py::{test.partition('::')[2]}" if test.startswith("platform/local/emulator/") else test for test in moved["tests"]]
    rows = [(each["requirement"], each["guard_rules"], each["tests"]) for each in (kept, dropped)] + [(moved["requirement"], moved["guard_rules"], old_ids)]
    source = f"REQUIREMENTS: list[tuple[str, list[str], list[str]]] = {rows!r}\n"
    base = requirements_from_old_table(source)
    only_these = {"requirements": [kept, moved]}
    changes = {(finding.subject, finding.change, finding.needs_security_review) for finding in requirements_review(base, only_these).findings}
    assert changes == {("A requirement the move lost", "requirement removed from the table", True)}


@pytest.mark.parametrize(
    ("cidr", "world"), [({"CidrIpv6": "::/0"}, True), ({"CidrIp": "0.0.0.0/0"}, True), ({"CidrIp": "10.0.0.0/16"}, False)], ids=["ipv6", "ipv4", "vpc"]
)
def test_a_new_egress_rule_to_every_address_ipv4_or_ipv6_needs_a_security_reviewer(template: Template, cidr: dict, world: bool) -> None:
    (group,) = template.of_type("AWS::EC2::SecurityGroup")

    def edit(doc: dict) -> None:
        doc["Resources"][group.logical_id]["Properties"]["SecurityGroupEgress"].append({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, **cidr})

    (added,) = [f for f in review_templates(template.doc, _changed(template, edit)).findings if f.category == "network"]
    assert added.change.startswith("SecurityGroupEgress added") and added.needs_security_review is world


def test_a_shortened_log_retention_needs_a_security_reviewer(template: Template) -> None:
    # events past a log group's retention are deleted ("When log events reach their retention setting they are marked
    # for deletion": CloudWatch Logs API reference, PutRetentionPolicy,
    # https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html)
    required = {name: "x" for name, body in template.parameters().items() if "Default" not in body}
    long, short = (resolve(template.doc, {**required, "LogRetentionInDays": days}) for days in ("3653", "30"))
    log_groups = {group.logical_id for group in template.of_type("AWS::Logs::LogGroup")}
    shortened = {f.subject: f.needs_security_review for f in review_templates(long, short).findings if f.category == "retention"}
    assert shortened == dict.fromkeys(log_groups, True)
    lengthened = review_templates(short, long).findings
    assert {f.subject for f in lengthened if f.category == "retention"} == log_groups and not any(f.needs_security_review for f in lengthened)

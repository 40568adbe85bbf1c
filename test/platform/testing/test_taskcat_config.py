"""The taskcat configuration names our templates and only parameters they declare, in three regions."""

from __future__ import annotations

import yaml

from test.template_model import REPO_ROOT, load_template

CONFIG = yaml.safe_load((REPO_ROOT / ".taskcat.yml").read_text(encoding="utf-8"))


def _tests() -> dict:
    return CONFIG["tests"]


TEMPLATES = {path.relative_to(REPO_ROOT).as_posix(): load_template(path) for path in sorted((REPO_ROOT / "lib").glob("*.json"))}


def _declared(test: dict) -> set[str]:
    return set(TEMPLATES[test["template"]]["Parameters"])


def test_every_template_is_tested_and_every_test_deploys_one_of_ours() -> None:
    assert _tests()
    assert {test["template"] for test in _tests().values()} == set(TEMPLATES)


def test_only_declared_parameters_are_passed() -> None:
    """taskcat hands a template only the project parameters it declares; a test's own parameters must all be declared."""
    for name, test in _tests().items():
        assert set(test.get("parameters", {})) - _declared(test) == set(), name
    every_declared = set().union(*(_declared(test) for test in _tests().values()))
    assert set(CONFIG["project"]["parameters"]) - every_declared == set()


def test_every_parameter_without_a_default_is_given() -> None:
    for test in _tests().values():
        required = {name for name, body in TEMPLATES[test["template"]]["Parameters"].items() if "Default" not in body}
        given = set(CONFIG["project"]["parameters"]) | set(test.get("parameters", {}))
        assert required <= given, test["template"]


def test_three_regions_with_us_east_1_and_a_unique_suffix_per_run() -> None:
    regions = {region for test in _tests().values() for region in test.get("regions", CONFIG["project"]["regions"])}
    assert "us-east-1" in regions and len(regions) >= 3
    assert CONFIG["project"]["parameters"]["EnvironmentSuffix"] == "$[taskcat_random-string]"


def test_each_region_has_its_own_overrides() -> None:
    overrides = [frozenset(test.get("parameters", {}).items()) for test in _tests().values()]
    assert len(set(overrides)) == len(overrides) and all(overrides)


def test_services_stay_off_in_a_run_that_pushes_no_images() -> None:
    assert CONFIG["project"]["parameters"]["DeployServices"] == "false"
    assert all(test.get("parameters", {}).get("DeployServices", "false") == "false" for test in _tests().values())


def test_every_ssm_parameter_taskcat_reads_is_one_the_account_keeps() -> None:
    """The names .taskcat.yml reads are the set the runbook lists and make taskcat seeds (taskcat_local.SSM_PARAMETERS)."""
    import re

    from riskbatch_platform.testing.taskcat import SSM_PARAMETERS

    named = set(re.findall(r"\$\[taskcat_ssm_([^\]]+)\]", (REPO_ROOT / ".taskcat.yml").read_text(encoding="utf-8")))
    assert named and named <= set(SSM_PARAMETERS)
    runbook = (REPO_ROOT / "docs" / "runbook.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in runbook for name in SSM_PARAMETERS)


def test_taskcat_packages_no_lambda_code() -> None:
    """Packaging asks for a container engine; the templates carry no Lambda code."""
    assert CONFIG["project"]["package_lambda"] is False


def _event(logical_id: str, kind: str, status: str = "CREATE_COMPLETE") -> dict:
    return {"LogicalResourceId": logical_id, "ResourceType": kind, "ResourceStatus": status}


def test_taskcats_verdict_names_every_declared_resource_the_stack_did_not_create() -> None:
    """A stack at CREATE_COMPLETE is not enough: the resources its template declares for the test's
    parameters are compared with those its events show created."""
    from riskbatch_platform.testing.taskcat import Outcome, not_created

    template = {
        "Parameters": {"DeployServices": {"Type": "String", "Default": "false"}},
        "Conditions": {"Services": {"Fn::Equals": [{"Ref": "DeployServices"}, "true"]}},
        "Resources": {
            "Queue": {"Type": "AWS::SQS::Queue"},
            "AuditCopy": {"Type": "AWS::Logs::SubscriptionFilter"},  # a known gap of the emulator
            "Topic": {"Type": "AWS::SNS::Topic"},  # dropped: no known gap explains it
            "Service": {"Type": "AWS::ECS::Service", "Condition": "Services"},  # switched off: not declared
        },
    }
    events = [_event("Queue", "AWS::SQS::Queue", "CREATE_IN_PROGRESS"), _event("Queue", "AWS::SQS::Queue"), _event("stack", "AWS::CloudFormation::Stack")]
    declared, missing = not_created(template, {"DeployServices": "false"}, events)
    assert declared == 3 and missing == {"AuditCopy": "AWS::Logs::SubscriptionFilter", "Topic": "AWS::SNS::Topic"}
    outcome = Outcome("t", "us-east-1", "stack", 1.0, 1.0, "DELETE_COMPLETE", {}, declared, missing)
    assert outcome.unexplained == {"Topic": "AWS::SNS::Topic"} and not outcome.passed
    explained = Outcome("t", "us-east-1", "stack", 1.0, 1.0, "DELETE_COMPLETE", {}, declared, {"AuditCopy": "AWS::Logs::SubscriptionFilter"})
    assert explained.passed

"""riskbatch-deploy --plan against the deployed stack: it prints what an edited template would
change, and changes nothing (the change set is described and deleted, never executed). The edit
here is made in the template; a change made through a parameter alone is planned in
test/platform/deployment/test_live_review.py (the emulator's change sets name the parameter). Against a live stack the same tests run: a plan
creates and deletes a change set, as the runbook's "Planning a change" does against live stacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from test.integration.conftest import DeployedStack, deploy_arguments, deployed_parameters


def test_a_plan_prints_the_task_definition_an_edit_changes_and_changes_nothing(
    as_deployer: DeployedStack, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    stack = as_deployer
    from riskbatch_platform.deployment import deploy

    ecs = stack.target.client("ecs")
    definitions = [key for key in stack.outputs if key.endswith("TaskDefinitionArn")]
    before = {key: ecs.describe_task_definition(taskDefinition=stack.outputs[key])["taskDefinition"]["revision"] for key in definitions}
    edited = json.loads(json.dumps(stack.template))
    edited["Resources"]["RiskCalculationTaskDefinition"]["Properties"]["ContainerDefinitions"][0]["StopTimeout"] = 100
    template = tmp_path / "edited.json"
    template.write_text(json.dumps(edited), encoding="utf-8")
    arguments = [*deploy_arguments(stack), "--template", str(template)]
    arguments += [item for key, value in deployed_parameters(stack).items() for item in ("--parameter", f"{key}={value}")]
    assert deploy.main([*arguments, "--plan"]) == 0
    printed = capsys.readouterr()
    modified = {line.split()[1] for line in printed.out.splitlines() if line.startswith("Modify")}
    assert modified == {"RiskCalculationTaskDefinition"}, printed.out
    assert "deleted, nothing executed" in printed.err
    after = {key: ecs.describe_task_definition(taskDefinition=stack.outputs[key])["taskDefinition"]["revision"] for key in before}
    assert after == before


def _arguments(stack: DeployedStack, stack_name: str | None = None) -> list[str]:
    return ["--plan", *deploy_arguments(stack, stack_name)]


def test_the_runbooks_plan_names_only_the_suffix_and_plans_no_change(as_deployer: DeployedStack, capsys: pytest.CaptureFixture) -> None:
    """docs/runbook.md, 'Planning a change': every other parameter keeps its current value
    (UsePreviousValue), so the plan is empty instead of a ResolveError traceback."""
    from riskbatch_platform.deployment import deploy

    suffix = deployed_parameters(as_deployer)["EnvironmentSuffix"]
    assert deploy.main([*_arguments(as_deployer), "--parameter", f"EnvironmentSuffix={suffix}"]) == 0
    printed = capsys.readouterr()
    assert "0 change(s)" in printed.out, printed.out
    assert "keeping the current value of" in printed.err and "VpcId" in printed.err


def test_the_runbooks_plan_for_a_stack_not_yet_deployed_is_refused_with_exit_5(as_deployer: DeployedStack, capsys: pytest.CaptureFixture) -> None:
    from riskbatch_platform.deployment import deploy

    assert deploy.main([*_arguments(as_deployer, "riskbatch-not-deployed"), "--parameter", "EnvironmentSuffix=prod"]) == deploy.EXIT_PARAMETERS_REFUSED
    printed = capsys.readouterr()
    assert "Traceback" not in printed.err
    assert "the parameters are refused" in printed.err and "--parameter VpcId=..." in printed.err and "riskbatch-not-deployed does not exist yet" in printed.err


def test_a_routine_update_naming_only_the_image_tag_changes_only_the_image(as_deployer: DeployedStack, capsys: pytest.CaptureFixture) -> None:
    """The plan of ImageTag=<next> alone: each change is an image of a task definition (or the
    pre-night check's IMAGE_TAG), shown before and after; nothing else moves."""
    from riskbatch_platform.deployment import deploy

    current = deployed_parameters(as_deployer).get("ImageTag") or as_deployer.template["Parameters"]["ImageTag"]["Default"]
    assert deploy.main([*_arguments(as_deployer), "--parameter", "ImageTag=9.9.9"]) == 0
    printed = capsys.readouterr().out
    print(printed)  # the plan, for the record
    rows = [line for line in printed.splitlines() if line.startswith(("Add", "Modify", "Remove"))]
    values = [line.strip() for line in printed.splitlines() if line.startswith("    ")]
    assert rows and all(row.startswith("Modify") and "AWS::ECS::TaskDefinition" in row for row in rows), printed
    assert values and all(value.endswith(":9.9.9") or value.endswith("-> 9.9.9") for value in values), printed
    assert all(f"{current} ->" in value or f":{current} ->" in value for value in values), printed

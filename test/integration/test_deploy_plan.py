"""scripts/deploy.py --plan against the deployed stack: it prints what an edited template would
change, and changes nothing (the change set is described and deleted, never executed). moto's
change sets compare the templates' text, so a change made through a parameter alone shows no
change here; the edit is made in the template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from test.integration.conftest import DeployedStack


def test_a_plan_prints_the_task_definition_an_edit_changes_and_changes_nothing(
    as_deployer: DeployedStack, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    stack = as_deployer
    import deploy

    ecs = stack.target.client("ecs")
    definitions = [key for key in stack.outputs if key.endswith("TaskDefinitionArn")]
    before = {key: ecs.describe_task_definition(taskDefinition=stack.outputs[key])["taskDefinition"]["revision"] for key in definitions}
    edited = json.loads(json.dumps(stack.template))
    edited["Resources"]["RiskCalculationTaskDefinition"]["Properties"]["ContainerDefinitions"][0]["StopTimeout"] = 100
    template = tmp_path / "edited.json"
    template.write_text(json.dumps(edited), encoding="utf-8")
    parameters = dict(stack.local.parameters)
    arguments = ["--stack-name", stack.stack_name, "--endpoint-url", stack.local.emulator.endpoint_url, "--template", str(template)]
    arguments += ["--template-bucket", stack.local.stand_ins.template_bucket]
    arguments += [item for key, value in parameters.items() for item in ("--parameter", f"{key}={value}")]
    assert deploy.main([*arguments, "--plan"]) == 0
    printed = capsys.readouterr()
    modified = {line.split()[1] for line in printed.out.splitlines() if line.startswith("Modify")}
    assert modified == {"RiskCalculationTaskDefinition"}, printed.out
    assert "deleted, nothing executed" in printed.err
    after = {key: ecs.describe_task_definition(taskDefinition=stack.outputs[key])["taskDefinition"]["revision"] for key in before}
    assert after == before

"""Every one-shot task has a deadline of its own, and the deadline check may stop the ones that outlive it.

ECS acts on container health only for a service's tasks: "If a task is run manually, and not as part
of a service, the task will continue its lifecycle regardless of its health status"
(ECS API reference, HealthCheck: https://docs.aws.amazon.com/ko_kr/AmazonECS/latest/APIReference/API_HealthCheck.html,
also https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html).
"""

from __future__ import annotations

import pytest

from riskbatch.operations.watch import one_shot_deadlines
from riskbatch.runtime.watchdog import DEADLINE_VARIABLE, DEFAULT_DEADLINES, deadline_seconds
from test.conftest import the_template
from test.template_model import (
    SUBSTITUTION_VALUES,
    Resource,
    Template,
    as_list,
    container_environment,
    referenced_id,
    role_statements,
    substitute,
)

TEMPLATE = the_template()

SERVICE_TASKS = {referenced_id(service.props["TaskDefinition"]) for service in TEMPLATE.of_type("AWS::ECS::Service")}
ONE_SHOT_TASKS = [task for task in TEMPLATE.of_type("AWS::ECS::TaskDefinition") if task.logical_id not in SERVICE_TASKS]
DEADLINE_CHECK = next(task for task in ONE_SHOT_TASKS if task.props["ContainerDefinitions"][0]["Command"][0] == "watch")


def _environment(task: Resource) -> dict:
    return container_environment(task.props["ContainerDefinitions"][0])


def test_there_are_one_shot_tasks() -> None:
    assert {task.props["ContainerDefinitions"][0]["Command"][0] for task in ONE_SHOT_TASKS} == set(DEFAULT_DEADLINES)


@pytest.mark.parametrize("task", ONE_SHOT_TASKS, ids=repr)
def test_one_shot_task_sets_its_deadline_in_its_environment(task: Resource) -> None:
    environment = _environment(task)
    command = task.props["ContainerDefinitions"][0]["Command"][0]
    seconds = deadline_seconds(command, {DEADLINE_VARIABLE: environment[DEADLINE_VARIABLE]})
    assert 0 < seconds <= 3600, "a one-shot job of the night runs minutes, not hours"
    assert seconds == DEFAULT_DEADLINES[command]  # the code's default and the template say the same


def test_the_deadline_check_stops_every_other_one_shot_family_after_its_own_deadline() -> None:
    families = one_shot_deadlines({"ONE_SHOT_DEADLINES": substitute(_environment(DEADLINE_CHECK)["ONE_SHOT_DEADLINES"], SUBSTITUTION_VALUES)})
    expected = {
        substitute(task.props["Family"], SUBSTITUTION_VALUES): float(_environment(task)[DEADLINE_VARIABLE])
        for task in ONE_SHOT_TASKS
        if task is not DEADLINE_CHECK  # never itself
    }
    assert families == expected
    assert referenced_id(_environment(DEADLINE_CHECK)["CLUSTER"]) == "RiskBatchCluster"


def test_the_deadline_check_lists_describes_and_stops_tasks_on_its_cluster_only(template: Template) -> None:
    role = template.get(referenced_id(DEADLINE_CHECK.props["TaskRoleArn"]))
    granted = [statement for statement in role_statements(role) if any(action.startswith("ecs:") for action in as_list(statement["Action"]))]
    assert {action for statement in granted for action in as_list(statement["Action"])} == {"ecs:ListTasks", "ecs:DescribeTasks", "ecs:StopTask"}
    for statement in granted:
        assert referenced_id(statement["Condition"]["ArnEquals"]["ecs:cluster"]) == "RiskBatchCluster", statement
        if "ecs:ListTasks" not in as_list(statement["Action"]):
            (resource,) = as_list(statement["Resource"])
            assert substitute(resource, SUBSTITUTION_VALUES) == "arn:aws:ecs:us-east-1:123456789012:task/cluster-riskbatch-sfx/*"


@pytest.mark.parametrize("value", ["soon", "0", "-5"])
def test_a_deadline_that_is_not_a_positive_number_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match=DEADLINE_VARIABLE):
        deadline_seconds("ingest", {DEADLINE_VARIABLE: value})

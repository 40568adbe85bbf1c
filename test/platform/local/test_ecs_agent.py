"""The local ECS agent (src/riskbatch_platform/local/ecs_agent.py): it runs the tasks the suite starts, reports
each container's exit code when its process ends, and passes StopTask on as Fargate does, SIGTERM first.

Runs moto in-process (mock_aws) with the emulator's ECS fixes; the task's process is a small Python program.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from riskbatch_platform.aws import Target
from riskbatch_platform.local import emulator
from riskbatch_platform.local.ecs_agent import EXITED, EcsAgent
from test.platform.local.emulator.support import REGION, _fargate_task, patched

# exits 0 on SIGTERM (what the workers do), 3 when left to finish
PROGRAM = "import signal, sys, time\nsignal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\ntime.sleep(float(sys.argv[1]))\nsys.exit(3)"


@dataclass
class Spec:
    container: str = "job"
    family: str = "ingest"
    stop_timeout: int = 30
    image: str = "ecr-data-ingestion-dev:1.0.0"


class Runner:
    """What the agent asks of the local runner: the emulator, a task's spec, and starting its process."""

    def __init__(self) -> None:
        self.target = Target(region=REGION)
        self.task_events: list[dict[str, Any]] = []  # what was sent to the default bus

    def task_spec(self, task_definition_arn: str) -> Spec:
        return Spec()

    def send_task_stopped(self, detail: dict[str, Any]) -> None:
        self.task_events.append(detail)

    def start(self, spec: Spec, overrides: dict[str, Any], name: str, task_arn: str) -> subprocess.Popen:
        (container,) = overrides["containerOverrides"]
        return subprocess.Popen([sys.executable, "-c", PROGRAM, *container["command"]])


@pytest.fixture
def cluster() -> Iterator[tuple[str, str, list[str], list[str]]]:
    with mock_aws(), patched(emulator.ec2.network_interfaces_have_a_private_dns_name, emulator.ecs.ecs_agent_reports_container_exit_codes):
        definition, subnets, groups = _fargate_task(with_roles=False)
        yield boto3.client("ecs", region_name=REGION).describe_clusters(clusters=["c1"])["clusters"][0]["clusterArn"], definition, subnets, groups


def _run(cluster: tuple[str, str, list[str], list[str]], seconds: str, started_by: str = "suite") -> str:
    arn, definition, subnets, groups = cluster
    overrides = {"containerOverrides": [{"name": "job", "command": [seconds]}]}
    network = {"awsvpcConfiguration": {"subnets": subnets, "securityGroups": groups}}
    ecs = boto3.client("ecs", region_name=REGION)
    return ecs.run_task(cluster=arn, taskDefinition=definition, launchType="FARGATE", networkConfiguration=network, overrides=overrides, startedBy=started_by)[
        "tasks"
    ][0]["taskArn"]


def _until_stopped(agent: EcsAgent, cluster_arn: str, task: str) -> dict[str, Any]:
    ecs = boto3.client("ecs", region_name=REGION)
    deadline = time.monotonic() + 30
    while task in agent.running or task not in agent.started:
        assert time.monotonic() < deadline, "the agent never stopped the task"
        agent.step()
        time.sleep(0.1)
    return ecs.describe_tasks(cluster=cluster_arn, tasks=[task])["tasks"][0]


def test_a_task_left_to_finish_stops_with_its_processs_exit_code(cluster: tuple[str, str, list[str], list[str]]) -> None:
    agent = EcsAgent(Runner(), cluster[0], "suite")
    task = _run(cluster, "0")
    stopped = _until_stopped(agent, cluster[0], task)
    assert stopped["containers"][0]["exitCode"] == 3 and stopped["stoppedReason"] == EXITED


def test_stop_task_reaches_the_process_as_sigterm_and_keeps_its_reason(cluster: tuple[str, str, list[str], list[str]]) -> None:
    runner = Runner()
    agent = EcsAgent(runner, cluster[0], "suite")
    task = _run(cluster, "60")
    agent.step()
    assert task in agent.running
    time.sleep(1)  # the program's handler is installed
    boto3.client("ecs", region_name=REGION).stop_task(cluster=cluster[0], task=task, reason="fault injection")
    stopped = _until_stopped(agent, cluster[0], task)
    assert stopped["containers"][0]["exitCode"] == 0 and stopped["stoppedReason"] == "fault injection"
    (event,) = runner.task_events
    assert (event["stopCode"], event["stoppedReason"], event["containers"][0]["exitCode"]) == ("UserInitiated", "fault injection", 0)


def test_each_stopped_task_is_announced_as_ecs_announces_it_and_the_operators_tasks_run_too(cluster: tuple[str, str, list[str], list[str]]) -> None:
    """ECS sends an "ECS Task State Change" event when a task stops ("Amazon ECS events":
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_cwe_events.html); the stack's rule writes it
    to the task events log that riskbatch status reads. The operator's rerun starts its tasks as riskbatch-rerun."""
    runner = Runner()
    agent = EcsAgent(runner, cluster[0], ("suite", "riskbatch-rerun"))
    ours, operators, others = _run(cluster, "0"), _run(cluster, "0", "riskbatch-rerun"), _run(cluster, "0", "someone-else")
    _until_stopped(agent, cluster[0], ours)
    _until_stopped(agent, cluster[0], operators)
    assert others not in agent.started
    (event,) = [detail for detail in runner.task_events if detail["taskArn"] == ours]
    assert event["lastStatus"] == "STOPPED" and event["stoppedReason"] == EXITED and event["stopCode"] == "EssentialContainerExited"
    assert event["containers"][0]["exitCode"] == 3 and event["taskDefinitionArn"] == cluster[1] and event["clusterArn"] == cluster[0]

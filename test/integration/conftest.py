"""The deployed stack under test: the local emulator deployment (default), or a live stack.

Live: set RISKBATCH_LIVE=1, the usual AWS environment (AWS_PROFILE or keys, AWS_REGION) and
RISKBATCH_STACK_NAME; the stack's outputs are read from cfn-outputs/flat-outputs.json (or the file
RISKBATCH_OUTPUTS names); RISKBATCH_TEMPLATE_BUCKET is the bucket the plan tests upload the
template to (the stack's --template-bucket), RISKBATCH_OTHER_BUCKET a bucket of the account that is
not the stack's; RISKBATCH_INJECT_FAULTS=1 opts in to stopping a task of a non-production stack, and
RISKBATCH_EXERCISE_STACK=1 to running what writes to one (a test's own business dates in its buckets,
its alert topic paged, with a queue of the test's own subscribed to it while the test runs).
`make integration-live` runs the live mode against a deployment in the emulator
(riskbatch-integration-live): RISKBATCH_EMULATED=1 then says that the emulator's listed
gaps apply, and nothing else of the local runner is used.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from riskbatch_platform.aws import Target
from riskbatch_platform.deployment.stack import current_parameters, physical_ids
from riskbatch_platform.local.emulator.loopback import running_emulator
from riskbatch_platform.local.night import LocalStack, deploy_local, stop_all
from riskbatch_platform.local.runner import LocalEcs
from riskbatch_platform.testing import access_probes

REPO_ROOT = Path(__file__).resolve().parents[2]

LIVE = os.environ.get("RISKBATCH_LIVE") == "1"
# Opt-in, live mode only: stop a task of the (non-production) stack under test to prove its SIGTERM handling.
INJECT_FAULTS = os.environ.get("RISKBATCH_INJECT_FAULTS") == "1"
# Opt-in, live mode only: run the tests that write to the (non-production) stack under test or page its topic.
EXERCISE_STACK = os.environ.get("RISKBATCH_EXERCISE_STACK") == "1"
EMULATED = os.environ.get("RISKBATCH_EMULATED") == "1"  # a live run whose account is the local emulator
if EMULATED and urlparse(os.environ.get("AWS_ENDPOINT_URL", "")).hostname not in {"127.0.0.1", "localhost", "::1"}:
    # the emulator's gaps may excuse a skip only where the endpoint really is the emulator on loopback
    raise RuntimeError("RISKBATCH_EMULATED=1 needs AWS_ENDPOINT_URL on loopback (make integration-live sets both)")


@dataclass
class DeployedStack:
    target: Target
    stack_name: str
    outputs: dict[str, str]
    template: dict[str, Any]
    local: LocalStack | None = None
    ecs: LocalEcs | None = None

    @property
    def is_local(self) -> bool:
        """The suite's own deployment, with the local runner at hand."""
        return self.local is not None

    @property
    def on_emulator(self) -> bool:
        """Served by the local emulator (its listed gaps apply), with or without the local runner."""
        return self.is_local or EMULATED


def _live() -> DeployedStack:
    outputs_file = Path(os.environ.get("RISKBATCH_OUTPUTS", REPO_ROOT / "cfn-outputs" / "flat-outputs.json"))
    outputs = json.loads(outputs_file.read_text(encoding="utf-8"))
    target = Target(region=os.environ.get("AWS_REGION", "us-east-1"), profile=os.environ.get("AWS_PROFILE"))
    template = json.loads((REPO_ROOT / "lib" / "TapStack.json").read_text(encoding="utf-8"))
    return DeployedStack(target, os.environ["RISKBATCH_STACK_NAME"], outputs, template)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "local_runner_fault: injects a fault through the local runner's own containers and queues (local mode only)")
    config.addinivalue_line("markers", "live_fault: stops a task of the live stack with StopTask (live mode, with RISKBATCH_INJECT_FAULTS=1 only)")
    config.addinivalue_line("markers", "live_stops_a_task: stops a task it started (live mode with RISKBATCH_INJECT_FAULTS=1; local mode always)")
    config.addinivalue_line(
        "markers", "live_exercise: writes to the live stack or pages its topic (live mode with RISKBATCH_EXERCISE_STACK=1; local mode always)"
    )
    config.addinivalue_line("markers", "deletes_the_stack: deletes the session's stack; runs after every other test of its process")
    config.addinivalue_line("markers", "reads_the_stacks_night: reads the night the stack ran before the suite; handed out before the files that run nights")
    config.addinivalue_line("markers", "nights(count): the file runs `count` nights (or their risk and report steps); handed out first, most first")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Fault injection is chosen, never skipped: the local runner's faults run in local mode; a live run
    stops a task of its stack only when RISKBATCH_INJECT_FAULTS=1 asks for it, and writes to it only when
    RISKBATCH_EXERCISE_STACK=1 does. What is left out is deselected and counted in the tally with why."""
    why = {
        "local_runner_fault": None if not LIVE else "the local runner injects this fault (local mode); live, the StopTask test stands for it",
        "live_fault": None if LIVE and INJECT_FAULTS else ("opt in with RISKBATCH_INJECT_FAULTS=1 (live mode)" if LIVE else "live mode only"),
        "live_stops_a_task": None if not LIVE or INJECT_FAULTS else "opt in with RISKBATCH_INJECT_FAULTS=1 (live mode)",
        "live_exercise": None if not LIVE or EXERCISE_STACK else "opt in with RISKBATCH_EXERCISE_STACK=1 (live mode)",
    }
    kept, left_out = [], []
    for item in items:
        reasons = [reason for marker, reason in why.items() if reason and item.get_closest_marker(marker)]
        if reasons:
            left_out.append(item)
            TALLY.deselected[reasons[0]] = TALLY.deselected.get(reasons[0], 0) + 1
        else:
            kept.append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
    # Under pytest-xdist (make integration: -n 2 --dist loadfile --no-loadscope-reorder) files are handed out in this
    # order (a worker takes its next file when two or fewer of its tests are left, so two long files can still land
    # on one worker): the check of the night the stack ran before the suite first (in live mode, one process, it
    # must read that night, not one a later test makes), then the files that run nights, most first (the longest
    # work first, the short files fill in at the end), and the stack's teardown last, so that no file that needs
    # the stack follows it in the same worker.
    items[:] = sorted(
        kept,
        key=lambda item: (bool(item.get_closest_marker("deletes_the_stack")), not item.get_closest_marker("reads_the_stacks_night"), -nights_of(item)),
    )


def nights_of(item: pytest.Item) -> int:
    """How many nights the item's file runs (its nights marker; 0 without one)."""
    marker = item.get_closest_marker("nights")
    return int(marker.args[0]) if marker else 0


def pytest_sessionstart(session: pytest.Session) -> None:
    """A live run refuses to start against a stack deployed without EnableAccessProbes=true."""
    if LIVE:
        stack_name = os.environ["RISKBATCH_STACK_NAME"]
        target = Target(region=os.environ.get("AWS_REGION", "us-east-1"), profile=os.environ.get("AWS_PROFILE"))
        why = access_probes.refusal(stack_name, current_parameters(target.client("cloudformation"), stack_name))
        if why:
            pytest.exit(why, returncode=pytest.ExitCode.USAGE_ERROR)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeployedStack]:
    if LIVE:
        yield _live()
        return
    workdir = tmp_path_factory.mktemp("local-stack")
    with running_emulator(log_dir=workdir) as emulator:
        local = deploy_local(emulator, "itest", workdir, say=lambda line: None, access_probes=True, environment_class="non-production")
        ecs = LocalEcs(emulator.target, emulator.agent_target, local.stack_name, workdir)
        ecs.environment_overrides["RISK_SCENARIOS"] = "2000"  # small runs (a RunTask override, as on ECS)
        ecs.load()
        ecs.prepare_kernels()  # compiled once, as the images are built, not by each task of each night
        try:
            yield DeployedStack(emulator.target, local.stack_name, local.outputs, local.template, local, ecs)
        finally:
            stop_all(ecs)


# Why a test may skip against a live stack: this table is the only place a reason can come from,
# and each names the AWS document behind it. Any other skip, in live mode, fails the run
# (pytest_sessionfinish below), and so does a live run in which no test passed.
LIVE_SKIPS: dict[str, str] = {
    "assumes a service's role": (
        "a task role trusts ecs-tasks.amazonaws.com only (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html) "
        "and a rule target's role events.amazonaws.com only, so no principal outside the service can assume it; "
        "against the local emulator the runner assumes it as the ECS agent and EventBridge do"
    ),
    "changes the stack": (
        "the test deploys, updates or deletes the stack under test; a live stack changes only through a change "
        "set its owners review (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-changesets.html)"
    ),
    "runs the night's tasks by hand": (
        "the test delivers files and starts the night's tasks itself; in an account EventBridge and the "
        "services start them (https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventBridge.html), and the "
        "night is checked from what it wrote (test_last_night.py)"
    ),
    "changes the account": (
        "the test fills subnets with network interfaces or subscribes an address to a topic, which other "
        "workloads of the account would see (https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html)"
    ),
}
# And, only when the "account" of a live run is the local emulator (make integration-live), its gaps.
EMULATOR_SKIPS: dict[str, str] = {
    "the emulator does not model it": (
        "moto, the emulator's engine, does not create this resource type or carry this property "
        "(the gap lists of src/riskbatch_platform/local/emulator/gaps.py, read from its version); against AWS the check runs"
    ),
}
LIVE_SKIP_PREFIX = "live stack: "


def allowed_skips() -> dict[str, str]:
    return LIVE_SKIPS | (EMULATOR_SKIPS if EMULATED else {})


def emulator_gap(stack: DeployedStack, gap: str) -> None:
    """Skip a check the emulator cannot answer (only where the stack is served by the emulator)."""
    assert stack.on_emulator, "an emulator gap against a live account"
    why = "the emulator does not model it"
    pytest.skip(f"{LIVE_SKIP_PREFIX}{why}: {gap}" if not stack.is_local else f"local emulator: {gap}")


def local_only(stack: DeployedStack | None, why: str) -> None:
    """Skip against a live stack, for one of the reasons of LIVE_SKIPS only (stack None: a test that
    deploys its own stack into an emulator of its own, which a live run does not)."""
    if why not in LIVE_SKIPS:
        raise ValueError(f"{why!r} is not a listed reason to skip against a live stack")
    if LIVE if stack is None else not stack.is_local:
        pytest.skip(f"{LIVE_SKIP_PREFIX}{why}: {LIVE_SKIPS[why]}")


def refuse_production(stack: DeployedStack) -> None:
    """What stops, writes or pages never runs against a production stack (its EnvironmentSuffix prod)."""
    if deployed_parameters(stack).get("EnvironmentSuffix") == "prod":
        pytest.fail(f"{stack.stack_name} is a production stack: this test stops, writes or pages, and never runs against one")


@pytest.fixture(autouse=True)
def _opt_in_tests_refuse_production(request: pytest.FixtureRequest) -> None:
    """Every opt-in test (live_fault, live_stops_a_task, live_exercise) refuses a production stack before it acts."""
    if LIVE and any(request.node.get_closest_marker(marker) for marker in ("live_fault", "live_stops_a_task", "live_exercise")):
        refuse_production(request.getfixturevalue("stack"))


@dataclass
class AlertInbox:
    """A queue of the test's own, subscribed to the stack's alert topic: what an e-mail subscriber receives.
    SNS delivers to an SQS subscriber a JSON document carrying the published Subject and Message
    (Fanout to Amazon SQS queues: https://docs.aws.amazon.com/sns/latest/dg/sns-sqs-as-subscriber.html); the
    queue's policy lets the topic send to it (aws:SourceArn, as that page shows)."""

    sqs: Any
    queue_url: str

    def wait_for(self, subject_prefix: str, seconds: float = 60) -> list[dict[str, str]]:
        """The notes whose subject starts with the prefix, waiting up to `seconds` for the first (SNS delivers within seconds)."""
        found: list[dict[str, str]] = []
        deadline = time.monotonic() + seconds
        while not found and time.monotonic() < deadline:
            for message in self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=2).get("Messages", []):
                body = json.loads(message["Body"])
                if str(body.get("Subject")).startswith(subject_prefix):
                    found.append({"subject": body["Subject"], "message": body.get("Message", "")})
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return found


@contextmanager
def alert_inbox(stack: DeployedStack) -> Iterator[AlertInbox]:
    """An AlertInbox for the length of the block; unsubscribed and deleted after, whatever failed."""
    sqs, sns = stack.target.client("sqs"), stack.target.client("sns")
    topic = stack.outputs["AlertTopicArn"]
    queue = sqs.create_queue(QueueName=f"riskbatch-itest-inbox-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    try:
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": topic}},
                }
            ],
        }
        sqs.set_queue_attributes(QueueUrl=queue, Attributes={"Policy": json.dumps(policy)})
        subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, ReturnSubscriptionArn=True)["SubscriptionArn"]
        try:
            yield AlertInbox(sqs, queue)
        finally:
            sns.unsubscribe(SubscriptionArn=subscription)
    finally:
        sqs.delete_queue(QueueUrl=queue)


def start_task(stack: DeployedStack, task_definition_arn: str, command: list[str] | None, environment: dict[str, str] | None = None) -> dict[str, Any]:
    """RunTask of one of the stack's task definitions, on its cluster, in its subnets and security group,
    with the container's command (None: the definition's) and environment overridden (ContainerOverride:
    "command" replaces the definition's command, "environment" adds to or overrides its variables,
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerOverride.html); returns the task, not waited for."""
    ecs = stack.target.client("ecs")
    definition = ecs.describe_task_definition(taskDefinition=task_definition_arn)["taskDefinition"]
    container = definition["containerDefinitions"][0]["name"]
    parameters = current_parameters(stack.target.client("cloudformation"), stack.stack_name)
    override: dict[str, Any] = {"name": container}
    if command is not None:
        override["command"] = command
    if environment:
        override["environment"] = [{"name": key, "value": value} for key, value in environment.items()]
    started = ecs.run_task(
        cluster=stack.outputs["ClusterArn"],
        taskDefinition=task_definition_arn,
        capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}],
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": [parameters[f"PrivateSubnet{index}Id"] for index in (1, 2, 3)],
                "securityGroups": [stack.outputs["TaskSecurityGroupId"]],
                "assignPublicIp": "DISABLED",
            }
        },
        overrides={"containerOverrides": [override]},
        startedBy="riskbatch-integration",
    )
    # RunTask answers a task it could not place with a failure, not an error
    # (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html, "failures")
    assert not started.get("failures") and len(started.get("tasks", [])) == 1, f"RunTask of {task_definition_arn} failed: {started.get('failures')}"
    return {**started["tasks"][0], "overrides": {"containerOverrides": [override]}}  # the overrides as sent (ECS's Task carries them too)


def run_task(
    stack: DeployedStack, task_definition_arn: str, command: list[str] | None, timeout_seconds: int = 600, environment: dict[str, str] | None = None
) -> dict[str, Any]:
    """start_task, then wait for the task to stop; returns the stopped task. Against a live stack ECS
    starts and stops it. The local emulator records the task but starts nothing: the runner starts it
    as the ECS agent would, and stops it in the emulator when its process ends."""
    ecs = stack.target.client("ecs")
    definition = ecs.describe_task_definition(taskDefinition=task_definition_arn)["taskDefinition"]
    task = start_task(stack, task_definition_arn, command, environment)
    overrides = task["overrides"]
    if stack.is_local:
        label = command[0] if command else "task"
        handle = stack.ecs.start(stack.ecs.task_spec(task_definition_arn), overrides, name=f"{definition['family']}-{label}-{len(stack.ecs.tasks_run)}")
        handle.wait(timeout=timeout_seconds)
        ecs.stop_task(cluster=stack.outputs["ClusterArn"], task=task["taskArn"], reason="Essential container in task exited")
    else:
        ecs.get_waiter("tasks_stopped").wait(
            cluster=stack.outputs["ClusterArn"], tasks=[task["taskArn"]], WaiterConfig={"Delay": 3, "MaxAttempts": timeout_seconds // 3}
        )
    stopped = ecs.describe_tasks(cluster=stack.outputs["ClusterArn"], tasks=[task["taskArn"]])["tasks"][0]
    if not stack.is_local:  # the exit code ECS reports; locally the runner's process said it
        exit_codes = [container.get("exitCode") for container in stopped.get("containers", [])]
        assert exit_codes and all(code in (0, 1) for code in exit_codes), f"{definition['family']} stopped: {stopped.get('stoppedReason')} {exit_codes}"
    return stopped


def run_scheduled_task(stack: DeployedStack, schedule_logical_id: str, environment: dict[str, str]) -> int:
    """What the stack's schedule runs, started now: the task definition its EventBridge Scheduler target
    names (read from the deployed schedule), with its own command and role, the given environment
    overridden (as a RunTask override, what the schedule could pass). Harmless against a live stack: the
    checks read, and alert only as they would at their hour. Returns the container's exit code."""
    schedule = physical_ids(stack.target.client("cloudformation"), stack.stack_name)[schedule_logical_id][1]
    target = stack.target.client("scheduler").get_schedule(Name=schedule.rsplit("/", 1)[-1])["Target"]
    stopped = run_task(stack, target["EcsParameters"]["TaskDefinitionArn"], None, environment=environment)
    (code,) = [container.get("exitCode") for container in stopped["containers"]]
    return code


@dataclass
class Tally:
    passed: int = 0
    failed: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count
    deselected: dict[str, int] = field(default_factory=dict)  # why -> count (fault injection not chosen)

    @property
    def unlisted(self) -> dict[str, int]:
        """Skips whose reason is not one of LIVE_SKIPS (what a live run may not have)."""
        listed = {f"{LIVE_SKIP_PREFIX}{why}:" for why in allowed_skips()}
        return {reason: count for reason, count in self.skipped.items() if not reason.startswith(tuple(listed))}

    def line(self, mode: str) -> str:
        skipped = sum(self.skipped.values())
        return f"integration ({mode}): {self.passed} passed, {self.failed} failed, {skipped} skipped"


TALLY = Tally()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        TALLY.skipped[reason] = TALLY.skipped.get(reason, 0) + 1
    elif report.failed:
        TALLY.failed += 1
    elif report.when == "call":
        TALLY.passed += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    write = terminalreporter.write_line
    write("")
    write(TALLY.line("live" if LIVE else "local emulator"))
    for reason, count in sorted(TALLY.skipped.items(), key=lambda item: -item[1]):
        write(f"  skipped {count:3}: {reason[:200]}")
    for reason, count in sorted(TALLY.deselected.items(), key=lambda item: -item[1]):
        write(f"  deselected {count:3}: opt-in: {reason}")
    if LIVE and TALLY.unlisted:
        write("a live run may skip only for the reasons of test/integration/conftest.py LIVE_SKIPS (EMULATOR_SKIPS on the emulator); these are not:")
        for reason in TALLY.unlisted:
            write(f"  {reason[:200]}")
    if LIVE and TALLY.passed == 0:
        write("a live run that exercised nothing is a failure: no test passed")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    workeroutput = getattr(getattr(session, "config", None), "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: its collection's deselections go to the controller's tally
        workeroutput["riskbatch_deselected"] = dict(TALLY.deselected)
    if LIVE and exitstatus == 0 and (TALLY.unlisted or TALLY.passed == 0):
        session.exitstatus = 1


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """Under pytest-xdist the controller collects nothing: every worker collects the whole suite and deselects
    the same tests, so the tally takes one worker's count (not their sum)."""
    TALLY.deselected.update(getattr(node, "workeroutput", {}).get("riskbatch_deselected", {}))


@pytest.fixture
def as_deployer(stack: DeployedStack, monkeypatch: pytest.MonkeyPatch) -> DeployedStack:
    """The environment a command run by hand sees: the deployer's keys for the local emulator; against a
    live stack, the suite's own credentials, which are the deployer's (a plan creates and deletes a
    change set, as the runbook does against a live stack)."""
    if stack.is_local:
        credentials = stack.local.emulator.deployer
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials["aws_access_key_id"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials["aws_secret_access_key"])
        monkeypatch.delenv("AWS_PROFILE", raising=False)
    return stack


def deploy_arguments(stack: DeployedStack, stack_name: str | None = None) -> list[str]:
    """Where riskbatch-deploy acts: the stack, its Region (and the emulator's endpoint), the template
    bucket. Live: the endpoint is the environment's (AWS_ENDPOINT_URL, as the AWS CLI reads it) and the
    bucket RISKBATCH_TEMPLATE_BUCKET (the --template-bucket of the stack's deployments)."""
    arguments = ["--stack-name", stack_name or stack.stack_name, "--region", stack.target.region]
    if stack.is_local:
        return [*arguments, "--endpoint-url", stack.local.emulator.endpoint_url, "--template-bucket", stack.local.stand_ins.template_bucket]
    if not os.environ.get("RISKBATCH_TEMPLATE_BUCKET"):
        pytest.fail("a plan against a live stack uploads its template: set RISKBATCH_TEMPLATE_BUCKET to the bucket the stack's deployments use")
    return [*arguments, "--template-bucket", os.environ["RISKBATCH_TEMPLATE_BUCKET"]]


def deployed_parameters(stack: DeployedStack) -> dict[str, str]:
    """The parameters the stack was deployed with (live: its current values, as DescribeStacks shows them)."""
    return dict(stack.local.parameters) if stack.is_local else current_parameters(stack.target.client("cloudformation"), stack.stack_name)

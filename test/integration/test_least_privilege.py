"""Least privilege, proven: each job's task role, assumed, may do what its job does and is denied the rest.

The emulator enforces IAM for assumed-role credentials. It evaluates actions and resources
(S3 buckets and keys, queues, the topic and the bus) but not policy conditions, so the probes
here are the ones it judges as AWS does; the prefix conditions on s3:ListBucket are covered by
the unit suite.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from riskbatch_infra.aws import Target
from test.integration.conftest import DeployedStack, local_only

DENIED_CODES = {"AccessDenied", "AccessDeniedException", "403", "AuthorizationError", "UnauthorizedOperation"}

Probe = tuple[str, Callable[[Any, DeployedStack], Any]]


def _put(bucket_output: str, key: str) -> Callable[[Any, DeployedStack], Any]:
    def call(session: Any, stack: DeployedStack) -> Any:
        bucket = stack.local.stand_ins.output_bucket if bucket_output == "output" else stack.local.stand_ins.input_bucket
        return session.client("s3").put_object(Bucket=bucket, Key=key, Body=b"probe")

    return call


def _get(bucket: str, key: str) -> Callable[[Any, DeployedStack], Any]:
    def call(session: Any, stack: DeployedStack) -> Any:
        name = {
            "output": stack.local.stand_ins.output_bucket,
            "input": stack.local.stand_ins.input_bucket,
            "templates": stack.local.stand_ins.template_bucket,
        }[bucket]
        return session.client("s3").get_object(Bucket=name, Key=key)

    return call


def _delete(key: str) -> Callable[[Any, DeployedStack], Any]:
    return lambda session, stack: session.client("s3").delete_object(Bucket=stack.local.stand_ins.output_bucket, Key=key)


def _send(queue: str) -> Callable[[Any, DeployedStack], Any]:
    return lambda session, stack: session.client("sqs").send_message(QueueUrl=stack.outputs[queue], MessageBody=json.dumps({"probe": True}))


def _receive(queue: str) -> Callable[[Any, DeployedStack], Any]:
    return lambda session, stack: session.client("sqs").receive_message(QueueUrl=stack.outputs[queue], WaitTimeSeconds=0, VisibilityTimeout=0)


def _publish(session: Any, stack: DeployedStack) -> Any:
    return session.client("sns").publish(TopicArn=stack.outputs["AlertTopicArn"], Message="probe")


def _put_event(session: Any, stack: DeployedStack) -> Any:
    entry = {"Source": "riskbatch.probe", "DetailType": "Probe", "Detail": "{}", "EventBusName": stack.outputs["EventBusName"]}
    return session.client("events").put_events(Entries=[entry])


def _key_grants(session: Any, stack: DeployedStack) -> Any:
    return session.client("kms").list_grants(KeyId=stack.outputs["KmsKeyArn"])


ALLOWED: dict[str, list[Probe]] = {
    "DataIngestionTaskDefinition": [
        ("read an arriving file", _get("input", "incoming/2026-01-02/positions.csv")),
        ("write a run", _put("output", "runs/probe/manifest.json")),
        ("write a quarantine report", _put("output", "quarantine/2026-01-02/probe.json")),
        ("queue a work unit", _send("RiskWorkQueueUrl")),
        ("notify a rejected file", _publish),
    ],
    "RiskCalculationTaskDefinition": [
        ("take work units", _receive("RiskWorkQueueUrl")),
        ("read a run", _get("output", "runs/probe/manifest.json")),
        ("write a unit result", _put("output", "runs/probe/results/00000.npz")),
        ("announce a completed run", _put_event),
    ],
    "ReportGenerationTaskDefinition": [
        ("take completed runs", _receive("ReportQueueUrl")),
        ("read results", _get("output", "runs/probe/results/00000.npz")),
        ("write a report", _put("output", "reports/2026-01-02/probe.pdf")),
        ("publish the summary", _publish),
    ],
}

DENIED: dict[str, list[Probe]] = {
    "DataIngestionTaskDefinition": [
        ("take work units (another job's role)", _receive("RiskWorkQueueUrl")),
        ("send to the report queue", _send("ReportQueueUrl")),
        ("write to the input bucket", _put("input", "incoming/2026-01-02/forged.csv")),
        ("write a report", _put("output", "reports/2026-01-02/forged.pdf")),
        ("read reports", _get("output", "reports/2026-01-02/probe.pdf")),
        ("delete a run object", _delete("runs/probe/manifest.json")),
        ("read another bucket", _get("templates", "anything")),
        ("put events on the bus", _put_event),
        ("list the key's grants", _key_grants),
    ],
    "RiskCalculationTaskDefinition": [
        ("queue work units", _send("RiskWorkQueueUrl")),
        ("take completed runs (another job's queue)", _receive("ReportQueueUrl")),
        ("write a run's units", _put("output", "runs/probe/units/00000.parquet")),
        ("write a report", _put("output", "reports/2026-01-02/forged.pdf")),
        ("delete a result", _delete("runs/probe/results/00000.npz")),
        ("read the input bucket", _get("input", "incoming/2026-01-02/positions.csv")),
        ("publish to the topic", _publish),
        ("list the key's grants", _key_grants),
    ],
    "ReportGenerationTaskDefinition": [
        ("take work units (another job's queue)", _receive("RiskWorkQueueUrl")),
        ("put events on the bus", _put_event),
        ("write a unit result", _put("output", "runs/probe/results/00000.npz")),
        ("delete a report", _delete("reports/2026-01-02/probe.pdf")),
        ("read the input bucket", _get("input", "incoming/2026-01-02/positions.csv")),
        ("read another bucket", _get("templates", "anything")),
        ("list the key's grants", _key_grants),
    ],
}


def _as_task(stack: DeployedStack, task: str) -> Target:
    """The stack's endpoint, called with the task role of this task definition, assumed."""
    local_only(stack)
    variables = stack.ecs.credentials_for(stack.ecs.task_spec(stack.ecs.physical(task)).task_role)
    return stack.target.as_principal(
        {
            "aws_access_key_id": variables["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": variables["AWS_SECRET_ACCESS_KEY"],
            "aws_session_token": variables["AWS_SESSION_TOKEN"],
        }
    )


@pytest.fixture(scope="module")
def probe_objects(stack: DeployedStack) -> None:
    """Objects the probes read, so that a denied read is denied by policy, not by absence."""
    local_only(stack)
    s3 = stack.local.emulator.client("s3")
    s3.put_object(Bucket=stack.local.stand_ins.input_bucket, Key="incoming/2026-01-02/positions.csv", Body=b"x")
    for key in ("runs/probe/manifest.json", "runs/probe/results/00000.npz", "reports/2026-01-02/probe.pdf"):
        s3.put_object(Bucket=stack.local.stand_ins.output_bucket, Key=key, Body=b"x")
    s3.put_object(Bucket=stack.local.stand_ins.template_bucket, Key="anything", Body=b"x")


def _denied(call: Callable[[], Any]) -> bool:
    try:
        call()
    except ClientError as error:
        return error.response["Error"]["Code"] in DENIED_CODES or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 403
    return False


def _cases(table: dict[str, list[Probe]]) -> list:
    return [pytest.param(task, name, call, id=f"{task.removesuffix('TaskDefinition')}: {name}") for task, probes in table.items() for name, call in probes]


@pytest.mark.parametrize(("task", "probe", "call"), _cases(ALLOWED))
def test_job_may_do_what_it_does(stack: DeployedStack, probe_objects: None, task: str, probe: str, call: Callable) -> None:
    principal = _as_task(stack, task)
    assert not _denied(lambda: call(principal, stack)), f"{task} was denied: {probe}"


@pytest.mark.parametrize(("task", "probe", "call"), _cases(DENIED))
def test_job_is_denied_what_it_must_not_do(stack: DeployedStack, probe_objects: None, task: str, probe: str, call: Callable) -> None:
    principal = _as_task(stack, task)
    assert _denied(lambda: call(principal, stack)), f"{task} was allowed: {probe}"


def test_the_deployer_cannot_pose_as_a_task(stack: DeployedStack) -> None:
    """Task roles trust ECS tasks only: an ordinary principal cannot assume them."""
    local_only(stack)
    role = stack.ecs.task_spec(stack.ecs.physical("RiskCalculationTaskDefinition")).task_role
    assert _denied(lambda: stack.target.client("sts").assume_role(RoleArn=f"arn:aws:iam::{stack.ecs.account}:role/{role}", RoleSessionName="pose"))

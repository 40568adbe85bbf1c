"""Least privilege, proven: each job's task role, assumed, may do what its job does and is denied the rest.

The emulator enforces IAM for assumed-role credentials: actions, resources (S3 buckets and keys,
queues, the topic, the bus, the task definition of RunTask) and, with the fixes in
emulator_server.py, the conditions the template relies on (s3:prefix, ecs:cluster,
iam:PassedToService, aws:SourceAccount) and S3's 403 for a missing key without ListBucket.
Where each key is set: s3:prefix on ListBucket (Service Authorization Reference, Amazon S3:
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html), ecs:cluster on
RunTask (same reference, Amazon ECS:
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html),
iam:PassedToService on PassRole (IAM user guide, "IAM and AWS STS condition context keys":
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#ck_PassedToService).
An allowed probe must succeed; a denied probe must be refused with 403 / AccessDenied.
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


def _list(prefix: str) -> Callable[[Any, DeployedStack], Any]:
    return lambda session, stack: session.client("s3").list_objects_v2(Bucket=stack.local.stand_ins.output_bucket, Prefix=prefix)


def _key_grants(session: Any, stack: DeployedStack) -> Any:
    return session.client("kms").list_grants(KeyId=stack.outputs["KmsKeyArn"])


ALLOWED: dict[str, list[Probe]] = {
    "DataIngestionTaskDefinition": [
        ("read an arriving file", _get("input", "incoming/2026-01-02/positions.csv")),
        ("write a run", _put("output", "runs/probe/manifest.json")),
        ("write a quarantine report", _put("output", "quarantine/2026-01-02/probe.json")),
        ("list runs", _list("runs/probe/")),
        ("queue a work unit", _send("RiskWorkQueueUrl")),
        ("notify a rejected file", _publish),
    ],
    "RiskCalculationTaskDefinition": [
        ("take work units", _receive("RiskWorkQueueUrl")),
        ("read a run", _get("output", "runs/probe/manifest.json")),
        ("write a unit result", _put("output", "runs/probe/results/00000.npz")),
        ("list a run's results", _list("runs/probe/results/")),
        ("announce a completed run", _put_event),
        ("re-queue an interrupted unit", _send("RiskWorkQueueUrl")),
    ],
    "ReportGenerationTaskDefinition": [
        ("take completed runs", _receive("ReportQueueUrl")),
        ("read results", _get("output", "runs/probe/results/00000.npz")),
        ("write a report", _put("output", "reports/2026-01-02/probe.pdf")),
        ("list reports", _list("reports/2026-01-02/")),
        ("write a night's backtest record", _put("output", "history/2026-01-02.json")),
        ("read the backtest history", _get("output", "history/2026-01-02.json")),
        ("list the backtest history", _list("history/")),
        ("publish the summary", _publish),
        ("re-queue an interrupted completed run", _send("ReportQueueUrl")),
    ],
}

DENIED: dict[str, list[Probe]] = {
    "DataIngestionTaskDefinition": [
        ("take work units (another job's role)", _receive("RiskWorkQueueUrl")),
        ("send to the report queue", _send("ReportQueueUrl")),
        ("write to the input bucket", _put("input", "incoming/2026-01-02/forged.csv")),
        ("write a report", _put("output", "reports/2026-01-02/forged.pdf")),
        ("read reports", _get("output", "reports/2026-01-02/probe.pdf")),
        ("list reports (s3:prefix condition)", _list("reports/")),
        ("delete a run object", _delete("runs/probe/manifest.json")),
        ("read another bucket", _get("templates", "anything")),
        ("put events on the bus", _put_event),
        ("list the key's grants", _key_grants),
    ],
    "RiskCalculationTaskDefinition": [
        ("send to the report queue", _send("ReportQueueUrl")),
        ("take completed runs (another job's queue)", _receive("ReportQueueUrl")),
        ("write a run's units", _put("output", "runs/probe/units/00000.parquet")),
        ("list outside runs/ (s3:prefix condition)", _list("reports/")),
        ("write a backtest record", _put("output", "history/2026-01-02.json")),
        ("list the whole bucket (no prefix)", _list("")),
        ("write a report", _put("output", "reports/2026-01-02/forged.pdf")),
        ("delete a result", _delete("runs/probe/results/00000.npz")),
        ("read the input bucket", _get("input", "incoming/2026-01-02/positions.csv")),
        ("publish to the topic", _publish),
        ("list the key's grants", _key_grants),
    ],
    "ReportGenerationTaskDefinition": [
        ("take work units (another job's queue)", _receive("RiskWorkQueueUrl")),
        ("queue work units (another job's queue)", _send("RiskWorkQueueUrl")),
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
    return stack.ecs.as_role(stack.ecs.task_spec(stack.ecs.physical(task)).task_role)


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
    """True when the call is refused for lack of permission; any other error is raised, not counted."""
    try:
        call()
    except ClientError as error:
        if error.response["Error"]["Code"] in DENIED_CODES or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 403:
            return True
        raise
    return False


def _cases(table: dict[str, list[Probe]]) -> list:
    return [pytest.param(task, name, call, id=f"{task.removesuffix('TaskDefinition')}: {name}") for task, probes in table.items() for name, call in probes]


@pytest.mark.parametrize(("task", "probe", "call"), _cases(ALLOWED))
def test_job_may_do_what_it_does(stack: DeployedStack, probe_objects: None, task: str, probe: str, call: Callable) -> None:
    """The call must succeed: any error, not only a denial, fails the probe."""
    call(_as_task(stack, task), stack)


@pytest.mark.parametrize(("task", "probe", "call"), _cases(DENIED))
def test_job_is_denied_what_it_must_not_do(stack: DeployedStack, probe_objects: None, task: str, probe: str, call: Callable) -> None:
    principal = _as_task(stack, task)
    assert _denied(lambda: call(principal, stack)), f"{task} was allowed: {probe}"


def test_the_deployer_cannot_pose_as_a_task(stack: DeployedStack) -> None:
    """Task roles trust ECS tasks only: an ordinary principal cannot assume them."""
    local_only(stack)
    role = stack.ecs.task_spec(stack.ecs.physical("RiskCalculationTaskDefinition")).task_role
    assert _denied(lambda: stack.target.client("sts").assume_role(RoleArn=f"arn:aws:iam::{stack.ecs.account}:role/{role}", RoleSessionName="pose"))


# --- what AWS decides on conditions and on S3's answer for a missing key --------------------------


@pytest.mark.parametrize("task", sorted(ALLOWED), ids=lambda task: task.removesuffix("TaskDefinition"))
def test_each_job_can_tell_a_missing_object_from_a_forbidden_one(stack: DeployedStack, task: str) -> None:
    """S3 answers HeadObject of a missing key with 403 unless the caller may ListBucket without a
    prefix (HeadObject, "Permissions": https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html);
    the jobs ask with a listing under the key instead."""
    from riskbatch.storage import exists

    s3 = _as_task(stack, task).client("s3")
    bucket = stack.local.stand_ins.output_bucket
    with pytest.raises(ClientError) as refused:
        s3.head_object(Bucket=bucket, Key="runs/probe/status/not-yet")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert exists(s3, bucket, "runs/probe/status/not-yet") is False


def _trigger(stack: DeployedStack) -> Target:
    """The ingestion rule's target role, assumed as EventBridge assumes it."""
    local_only(stack)
    (target,) = stack.target.client("events").list_targets_by_rule(Rule=stack.outputs["DataIngestionTriggerRuleName"])["Targets"]
    return stack.ecs.as_role(target["RoleArn"].rsplit("/", 1)[-1])


def _run_ingestion(principal: Target, stack: DeployedStack, cluster: str) -> Any:
    (target,) = stack.target.client("events").list_targets_by_rule(Rule=stack.outputs["DataIngestionTriggerRuleName"])["Targets"]
    network = target["EcsParameters"]["NetworkConfiguration"]["awsvpcConfiguration"]
    return principal.client("ecs").run_task(
        cluster=cluster,
        taskDefinition=stack.outputs["DataIngestionTaskDefinitionArn"],
        capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}],
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": network["Subnets"], "securityGroups": network["SecurityGroups"], "assignPublicIp": "DISABLED"}
        },
    )


def test_the_trigger_runs_ingestion_on_its_cluster(stack: DeployedStack) -> None:
    response = _run_ingestion(_trigger(stack), stack, stack.outputs["ClusterArn"])
    (task,) = response["tasks"]
    stack.target.client("ecs").stop_task(cluster=stack.outputs["ClusterArn"], task=task["taskArn"], reason="probe")


def test_the_trigger_cannot_run_ingestion_on_another_cluster(stack: DeployedStack) -> None:
    """ecs:RunTask is granted under ArnEquals ecs:cluster: another cluster of the account is refused."""
    ecs = stack.target.client("ecs")
    other = ecs.create_cluster(clusterName="cluster-probe-other")["cluster"]["clusterArn"]
    try:
        assert _denied(lambda: _run_ingestion(_trigger(stack), stack, other))
    finally:
        ecs.delete_cluster(cluster=other)


@pytest.mark.parametrize(
    ("service", "decision"), [("ecs-tasks.amazonaws.com", "allowed"), ("lambda.amazonaws.com", "implicitDeny"), ("ec2.amazonaws.com", "implicitDeny")]
)
def test_the_trigger_passes_the_task_role_to_ecs_tasks_only(stack: DeployedStack, service: str, decision: str) -> None:
    """iam:PassRole is granted under iam:PassedToService: no call of the role's own can pass a role to
    another service, so IAM's policy simulator answers for it (works the same against a live account)."""
    (target,) = stack.target.client("events").list_targets_by_rule(Rule=stack.outputs["DataIngestionTriggerRuleName"])["Targets"]
    task_role = stack.target.client("ecs").describe_task_definition(taskDefinition=stack.outputs["DataIngestionTaskDefinitionArn"])["taskDefinition"][
        "taskRoleArn"
    ]
    (result,) = stack.target.client("iam").simulate_principal_policy(
        PolicySourceArn=target["RoleArn"],
        ActionNames=["iam:PassRole"],
        ResourceArns=[task_role],
        ContextEntries=[{"ContextKeyName": "iam:PassedToService", "ContextKeyValues": [service], "ContextKeyType": "string"}],
    )["EvaluationResults"]
    assert result["EvalDecision"] == decision

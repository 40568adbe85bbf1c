"""Least privilege, proven: each job's task role, assumed, may do what its job does and is denied the rest.

The emulator enforces IAM for assumed-role credentials: actions, resources (S3 buckets and keys,
queues, the topic, the bus, the task definition of RunTask) and, with the emulator's fixes
(src/riskbatch_platform/local/emulator/), the conditions the template relies on (s3:prefix, ecs:cluster,
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

import contextlib
import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from riskbatch.operations.probe import ACCESS_DENIED
from riskbatch_platform.aws import Target
from riskbatch_platform.deployment.stack import current_parameters, physical_ids
from riskbatch_platform.local.night import queue_depth
from test.integration.conftest import DeployedStack, local_only, run_task

# Every key the probes read or write names this run: nothing real is read, overwritten or deleted (a
# key under the input prefix that is no night's file makes an ingestion task that ignores it).
PROBE = f"probe-{uuid.uuid4().hex[:10]}"
Spec = dict[str, Any]  # one call of a probe: service, operation, parameters
Probe = tuple[str, Callable[["Buckets", DeployedStack], Spec]]


@dataclass(frozen=True)
class Buckets:
    input: str
    output: str
    other: str  # a bucket of the account that is not the stack's
    input_prefix: str  # where the night's files arrive (the InputKeyPrefix parameter)

    def key(self, bucket: str, key: str) -> str:
        """A key of the tables: {prefix} is the input prefix, so the probes follow the deployed stack."""
        return key.format(prefix=self.input_prefix) if bucket == "input" else key


def _call(service: str, operation: str, **parameters: Any) -> Spec:
    return {"service": service, "operation": operation, "parameters": parameters}


def _put(bucket: str, key: str) -> Callable[[Buckets, DeployedStack], Spec]:
    return lambda buckets, stack: _call("s3", "put_object", Bucket=getattr(buckets, bucket), Key=buckets.key(bucket, key), Body="probe")


def _get(bucket: str, key: str) -> Callable[[Buckets, DeployedStack], Spec]:
    return lambda buckets, stack: _call("s3", "get_object", Bucket=getattr(buckets, bucket), Key=buckets.key(bucket, key))


def _delete(key: str) -> Callable[[Buckets, DeployedStack], Spec]:
    return lambda buckets, stack: _call("s3", "delete_object", Bucket=buckets.output, Key=key)


def _list(prefix: str) -> Callable[[Buckets, DeployedStack], Spec]:
    return lambda buckets, stack: _call("s3", "list_objects_v2", Bucket=buckets.output, Prefix=prefix)


def _send(queue: str) -> Callable[[Buckets, DeployedStack], Spec]:
    return lambda buckets, stack: _call("sqs", "send_message", QueueUrl=stack.outputs[queue], MessageBody=json.dumps({"probe": True}))


def _receive(queue: str) -> Callable[[Buckets, DeployedStack], Spec]:
    return lambda buckets, stack: _call("sqs", "receive_message", QueueUrl=stack.outputs[queue], WaitTimeSeconds=0, VisibilityTimeout=0)


def _publish(buckets: Buckets, stack: DeployedStack) -> Spec:
    return _call(
        "sns", "publish", TopicArn=stack.outputs["AlertTopicArn"], Subject="riskbatch integration probe",
        Message="A least-privilege probe of the integration suite (riskbatch probe): no action is needed.",
    )  # fmt: skip


def _put_event(buckets: Buckets, stack: DeployedStack) -> Spec:
    entry = {"Source": "riskbatch.probe", "DetailType": "Probe", "Detail": "{}", "EventBusName": stack.outputs["EventBusName"]}
    return _call("events", "put_events", Entries=[entry])


def _describe_images(repository_output: str) -> Callable[[Buckets, DeployedStack], Spec]:
    return lambda buckets, stack: _call("ecr", "describe_images", repositoryName=stack.outputs[repository_output].split("/", 1)[1])


def _queue_depth(queue: str) -> Callable[[Buckets, DeployedStack], Spec]:
    return lambda buckets, stack: _call("sqs", "get_queue_attributes", QueueUrl=stack.outputs[queue], AttributeNames=["ApproximateNumberOfMessages"])


def _key_grants(buckets: Buckets, stack: DeployedStack) -> Spec:
    return _call("kms", "list_grants", KeyId=stack.outputs["KmsKeyArn"])


ALLOWED: dict[str, list[Probe]] = {
    "DataIngestionTaskDefinition": [
        ("read an arriving file", _get("input", f"{{prefix}}{PROBE}/probe-object.txt")),
        ("write a run", _put("output", f"runs/{PROBE}/manifest.json")),
        ("write a quarantine report", _put("output", f"quarantine/{PROBE}/probe.json")),
        ("list runs", _list(f"runs/{PROBE}/")),
        ("read the backtest history (the night tonight is tested against)", _get("output", f"history/{PROBE}.json")),
        ("list the backtest history", _list("history/")),
        ("queue a work unit", _send("RiskWorkQueueUrl")),
        ("notify a rejected file", _publish),
    ],
    "RiskCalculationTaskDefinition": [
        ("take work units", _receive("RiskWorkQueueUrl")),
        ("read a run", _get("output", f"runs/{PROBE}/manifest.json")),
        ("write a unit result", _put("output", f"runs/{PROBE}/results/00000.npz")),
        ("list a run's results", _list(f"runs/{PROBE}/results/")),
        ("announce a completed run", _put_event),
        ("re-queue an interrupted unit", _send("RiskWorkQueueUrl")),
    ],
    "ReportGenerationTaskDefinition": [
        ("take completed runs", _receive("ReportQueueUrl")),
        ("read results", _get("output", f"runs/{PROBE}/results/00000.npz")),
        ("write a report", _put("output", f"reports/{PROBE}/probe.pdf")),
        ("list reports", _list(f"reports/{PROBE}/")),
        ("write a night's backtest record", _put("output", f"history/{PROBE}.json")),
        ("read the backtest history", _get("output", f"history/{PROBE}.json")),
        ("list the backtest history", _list("history/")),
        ("publish the summary", _publish),
        ("re-queue an interrupted completed run", _send("ReportQueueUrl")),
    ],
    "PreNightCheckTaskDefinition": [
        ("read the task subnets", lambda buckets, stack: _call("ec2", "describe_subnets")),
        ("read the job images", _describe_images("RiskCalculationRepositoryUri")),
        ("read the topic's subscribers", lambda buckets, stack: _call("sns", "list_subscriptions_by_topic", TopicArn=stack.outputs["AlertTopicArn"])),
        ("alert the topic", _publish),
    ],
    "DeadlineCheckTaskDefinition": [
        ("read a run's manifest", _get("output", f"runs/{PROBE}/manifest.json")),
        ("read the queues' depth", _queue_depth("RiskWorkQueueUrl")),
        ("alert the topic", _publish),
    ],
}

DENIED: dict[str, list[Probe]] = {
    "DataIngestionTaskDefinition": [
        ("take work units (another job's role)", _receive("RiskWorkQueueUrl")),
        ("send to the report queue", _send("ReportQueueUrl")),
        ("write to the input bucket", _put("input", f"{{prefix}}{PROBE}/forged.csv")),
        ("write a report", _put("output", f"reports/{PROBE}/forged.pdf")),
        ("write a backtest record", _put("output", f"history/{PROBE}.json")),
        ("read reports", _get("output", f"reports/{PROBE}/probe.pdf")),
        ("list reports (s3:prefix condition)", _list("reports/")),
        ("delete a run object", _delete(f"runs/{PROBE}/manifest.json")),
        ("read another bucket", _get("other", f"{PROBE}/probe-object.txt")),
        ("put events on the bus", _put_event),
        ("list the key's grants", _key_grants),
    ],
    "RiskCalculationTaskDefinition": [
        ("send to the report queue", _send("ReportQueueUrl")),
        ("take completed runs (another job's queue)", _receive("ReportQueueUrl")),
        ("write a run's units", _put("output", f"runs/{PROBE}/units/00000.parquet")),
        ("list outside runs/ (s3:prefix condition)", _list("reports/")),
        ("write a backtest record", _put("output", f"history/{PROBE}.json")),
        ("list the whole bucket (no prefix)", _list("")),
        ("write a report", _put("output", f"reports/{PROBE}/forged.pdf")),
        ("delete a result", _delete(f"runs/{PROBE}/results/00000.npz")),
        ("read the input bucket", _get("input", f"{{prefix}}{PROBE}/probe-object.txt")),
        ("publish to the topic", _publish),
        ("list the key's grants", _key_grants),
    ],
    "ReportGenerationTaskDefinition": [
        ("take work units (another job's queue)", _receive("RiskWorkQueueUrl")),
        ("queue work units (another job's queue)", _send("RiskWorkQueueUrl")),
        ("put events on the bus", _put_event),
        ("write a unit result", _put("output", f"runs/{PROBE}/results/00000.npz")),
        ("delete a report", _delete(f"reports/{PROBE}/probe.pdf")),
        ("read the input bucket", _get("input", f"{{prefix}}{PROBE}/probe-object.txt")),
        ("read another bucket", _get("other", f"{PROBE}/probe-object.txt")),
        ("list the key's grants", _key_grants),
    ],
    "PreNightCheckTaskDefinition": [
        ("read a run", _get("output", f"runs/{PROBE}/manifest.json")),
        ("take work units", _receive("RiskWorkQueueUrl")),
        ("put events on the bus", _put_event),
        ("write a report", _put("output", f"reports/{PROBE}/forged.pdf")),
    ],
    "DeadlineCheckTaskDefinition": [
        ("read a unit result", _get("output", f"runs/{PROBE}/results/00000.npz")),
        ("take work units", _receive("RiskWorkQueueUrl")),
        ("queue work units", _send("RiskWorkQueueUrl")),
        ("write a report", _put("output", f"reports/{PROBE}/forged.pdf")),
        ("read the input bucket", _get("input", f"{{prefix}}{PROBE}/probe-object.txt")),
    ],
}


# Objects the probes read: each exists, so a denial comes from the policy, never from absence, and no
# allowed read depends on an allowed write before it.
PROBE_OBJECTS = {
    "input": [f"{{prefix}}{PROBE}/probe-object.txt"],
    "output": [f"runs/{PROBE}/manifest.json", f"runs/{PROBE}/results/00000.npz", f"reports/{PROBE}/probe.pdf", f"history/{PROBE}.json"],
    "other": [f"{PROBE}/probe-object.txt"],
}


def _buckets(stack: DeployedStack) -> Buckets:
    parameters = current_parameters(stack.target.client("cloudformation"), stack.stack_name)
    other = stack.local.stand_ins.template_bucket if stack.is_local else os.environ["RISKBATCH_OTHER_BUCKET"]
    return Buckets(parameters["InputBucketName"], parameters["OutputBucketName"], other, parameters.get("InputKeyPrefix", "incoming/"))


def _expectations(task: str, buckets: Buckets, stack: DeployedStack) -> dict[str, Any]:
    calls = [{"name": name, "expect": "allowed", **spec(buckets, stack)} for name, spec in ALLOWED.get(task, [])]
    calls += [{"name": name, "expect": "denied", **spec(buckets, stack)} for name, spec in DENIED.get(task, [])]
    return {"calls": calls}


def _probe_task(stack: DeployedStack, definition_arn: str, bucket: str, expect_key: str, verdict_key: str, expectations: dict[str, Any]) -> dict[str, Any]:
    """One probe task: the expectations written under probes/, RunTask of the job's own task definition
    with the command overridden, its verdict read back."""
    s3 = stack.target.client("s3")
    s3.put_object(Bucket=bucket, Key=expect_key, Body=json.dumps(expectations).encode())
    command = ["probe", "--expect", f"s3://{bucket}/{expect_key}", "--verdict", f"s3://{bucket}/{verdict_key}"]
    run_task(stack, definition_arn, command)
    return json.loads(s3.get_object(Bucket=bucket, Key=verdict_key)["Body"].read())


@contextlib.contextmanager
def run_probes(stack: DeployedStack) -> Iterator[dict[str, dict[str, Any]]]:
    """One probe task per job role: its expectations in the output bucket's probes/ area, RunTask of the
    stack's own task definition with the command overridden, the verdict read back from probes/."""
    buckets = _buckets(stack)
    s3 = stack.target.client("s3")
    made = [(getattr(buckets, bucket), buckets.key(bucket, key)) for bucket, keys in PROBE_OBJECTS.items() for key in keys]
    run = f"probes/{PROBE}"
    if not stack.is_local:  # a probe's receive would count against a unit in flight: never during a night
        sqs = stack.target.client("sqs")
        busy = [queue for queue in ("RiskWorkQueueUrl", "ReportQueueUrl") if queue_depth(sqs, stack.outputs[queue])]
        assert not busy, f"{busy} hold messages: run the live suite outside the overnight window"
    definitions = physical_ids(stack.target.client("cloudformation"), stack.stack_name)
    try:
        for bucket, key in made:
            s3.put_object(Bucket=bucket, Key=key, Body=b"probe object")
        found = {}
        for task in sorted(set(ALLOWED) | set(DENIED)):
            expect_key, verdict_key = f"{run}/{task}-expect.json", f"{run}/{task}-verdict.json"
            made += [(buckets.output, expect_key), (buckets.output, verdict_key)]
            expectations = _expectations(task, buckets, stack)
            made += [(call["parameters"]["Bucket"], call["parameters"]["Key"]) for call in expectations["calls"] if call["operation"] == "put_object"]
            found[task] = _probe_task(stack, definitions[task][1], buckets.output, expect_key, verdict_key, expectations)
        yield found
    finally:  # nothing the probes made is left, whatever failed
        for bucket, key in made:
            with contextlib.suppress(ClientError):
                s3.delete_object(Bucket=bucket, Key=key)


@pytest.fixture(scope="module")
def verdicts(stack: DeployedStack) -> Iterator[dict[str, dict[str, Any]]]:
    with run_probes(stack) as found:
        yield found


def _result(verdicts: dict[str, dict[str, Any]], task: str, probe: str) -> dict[str, Any]:
    (result,) = [result for result in verdicts[task]["results"] if result["name"] == probe]
    return result


def _cases(table: dict[str, list[Probe]]) -> list:
    return [pytest.param(task, name, id=f"{task.removesuffix('TaskDefinition')}: {name}") for task, probes in table.items() for name, _ in probes]


@pytest.mark.parametrize(("task", "probe"), _cases(ALLOWED))
def test_job_may_do_what_it_does(verdicts: dict[str, dict[str, Any]], task: str, probe: str) -> None:
    """The call, made in the job's own task with its role, must succeed: any error fails the probe."""
    result = _result(verdicts, task, probe)
    assert result["outcome"] == "allowed", f"{task}: {probe}: {result['code']} {result['message']}"


@pytest.mark.parametrize(("task", "probe"), _cases(DENIED))
def test_job_is_denied_what_it_must_not_do(verdicts: dict[str, dict[str, Any]], task: str, probe: str) -> None:
    """Denied means an access-denied error code: another error (an expired token, a bad signature, an
    absent object) fails the probe too."""
    result = _result(verdicts, task, probe)
    assert result["outcome"] == "denied", f"{task} was not refused: {probe}: {result['outcome']} {result['code']} {result['message']}"


def test_every_probe_task_ran_its_whole_list(verdicts: dict[str, dict[str, Any]]) -> None:
    for task, verdict in verdicts.items():
        assert len(verdict["results"]) == len(ALLOWED.get(task, [])) + len(DENIED.get(task, [])), task


def _as_task(stack: DeployedStack, task: str) -> Target:
    """The stack's endpoint, called with the task role of this task definition, assumed as ECS assumes it."""
    local_only(stack, "assumes a service's role")
    return stack.ecs.as_role(stack.ecs.task_spec(stack.ecs.physical(task)).task_role)


def _denied(call: Callable[[], Any]) -> bool:
    """True when the call is refused for lack of permission; any other error is raised, not counted."""
    try:
        call()
    except ClientError as error:
        if error.response["Error"]["Code"] in ACCESS_DENIED:
            return True
        raise
    return False


def test_the_deployer_cannot_pose_as_a_task(stack: DeployedStack) -> None:
    """Task roles trust ECS tasks only: the principal running the suite cannot assume them."""
    role = stack.target.client("ecs").describe_task_definition(taskDefinition=stack.outputs["RiskCalculationTaskDefinitionArn"])["taskDefinition"]
    assert _denied(lambda: stack.target.client("sts").assume_role(RoleArn=role["taskRoleArn"], RoleSessionName="pose"))


# --- what AWS decides on conditions and on S3's answer for a missing key --------------------------


READERS_OF_THE_OUTPUT_BUCKET = ["DataIngestionTaskDefinition", "RiskCalculationTaskDefinition", "ReportGenerationTaskDefinition"]


@pytest.mark.parametrize("task", READERS_OF_THE_OUTPUT_BUCKET, ids=lambda task: task.removesuffix("TaskDefinition"))
def test_each_job_can_tell_a_missing_object_from_a_forbidden_one(stack: DeployedStack, task: str) -> None:
    """S3 answers HeadObject of a missing key with 403 unless the caller may ListBucket without a
    prefix (HeadObject, "Permissions": https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html);
    the jobs ask with a listing under the key instead."""
    from riskbatch.aws.storage import exists

    missing = f"runs/{PROBE}/status/not-yet"
    if not stack.is_local:  # the role is the task's: a probe task asks, with the same two calls (GetObject: HeadObject's 403 has no code)
        _missing_versus_forbidden_in_a_probe_task(stack, task, missing)
        return
    s3 = _as_task(stack, task).client("s3")
    bucket = stack.local.stand_ins.output_bucket
    with pytest.raises(ClientError) as refused:
        s3.head_object(Bucket=bucket, Key=missing)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert exists(s3, bucket, missing) is False


def _missing_versus_forbidden_in_a_probe_task(stack: DeployedStack, task: str, missing: str) -> None:
    """The job's task reads a key nobody wrote (refused: AccessDenied, not NoSuchKey) and lists under it
    (allowed, so the job learns that the key is absent)."""
    bucket = _buckets(stack).output
    calls = [
        {"name": "read a missing key", "expect": "denied", **_call("s3", "get_object", Bucket=bucket, Key=missing)},
        {"name": "list under the missing key", "expect": "allowed", **_call("s3", "list_objects_v2", Bucket=bucket, Prefix=missing, MaxKeys=1)},
    ]
    run = f"probes/{PROBE}/missing-{task}"
    expect_key, verdict_key = f"{run}-expect.json", f"{run}-verdict.json"
    definition = physical_ids(stack.target.client("cloudformation"), stack.stack_name)[task][1]
    try:
        verdict = _probe_task(stack, definition, bucket, expect_key, verdict_key, {"calls": calls})
    finally:
        for key in (expect_key, verdict_key):
            with contextlib.suppress(ClientError):
                stack.target.client("s3").delete_object(Bucket=bucket, Key=key)
    outcomes = {result["name"]: (result["outcome"], result["code"]) for result in verdict["results"]}
    assert outcomes == {"read a missing key": ("denied", "AccessDenied"), "list under the missing key": ("allowed", None)}, outcomes


def _trigger(stack: DeployedStack) -> Target:
    """The ingestion rule's target role, assumed as EventBridge assumes it."""
    local_only(stack, "assumes a service's role")
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


@pytest.mark.parametrize(("cluster", "decision"), [("this stack's", "allowed"), ("another", "implicitDeny")])
def test_the_trigger_runs_ingestion_on_its_own_cluster_only(stack: DeployedStack, cluster: str, decision: str) -> None:
    """ecs:RunTask is granted under ArnEquals ecs:cluster (the cluster is a condition key of RunTask, not its
    resource: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html).
    IAM's policy simulator decides it for the rule's role with the cluster as context, so no other cluster is
    created in the account, and the same test runs against a live stack."""
    (target,) = stack.target.client("events").list_targets_by_rule(Rule=stack.outputs["DataIngestionTriggerRuleName"])["Targets"]
    arn = stack.outputs["ClusterArn"] if cluster == "this stack's" else stack.outputs["ClusterArn"].rsplit("/", 1)[0] + "/cluster-not-of-this-stack"
    (result,) = stack.target.client("iam").simulate_principal_policy(
        PolicySourceArn=target["RoleArn"],
        ActionNames=["ecs:RunTask"],
        ResourceArns=[stack.outputs["DataIngestionTaskDefinitionArn"]],
        ContextEntries=[{"ContextKeyName": "ecs:cluster", "ContextKeyValues": [arn], "ContextKeyType": "string"}],
    )["EvaluationResults"]
    assert result["EvalDecision"] == decision


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

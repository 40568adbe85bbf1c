"""Each emulator fix: the defect or missing rule is there in moto as shipped, and gone with the fix.

Runs moto in-process (mock_aws). IAM is enforced only inside `enforced()`, after the users,
roles and resources of a case are created.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws, settings
from moto.core.authorization import ActionAuthenticatorMixin

from riskbatch_platform.local import emulator
from riskbatch_platform.local.emulator import patching
from riskbatch_platform.local.emulator.patching import FIXES, LOCAL_ECS_AGENT, MOTO_VERSION, Patcher

# every service's module, so that FIXES holds every fix and emulator.<service> is there to name one
patching.import_module_of_each_service()

REGION = "us-east-1"
ACCOUNT = "123456789012"


@contextmanager
def patched(*fixes: Any) -> Iterator[None]:
    patcher = Patcher()
    for each in fixes:
        each(patcher)
    try:
        yield
    finally:
        patcher.undo()


@contextmanager
def enforced() -> Iterator[None]:
    previous = settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count
    settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = 0, 0
    try:
        yield
    finally:
        settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = previous


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def _user(name: str, statements: list[dict[str, Any]]) -> boto3.Session:
    iam = boto3.client("iam", region_name=REGION)
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return boto3.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], region_name=REGION)


def _code(call: Any) -> str:
    """OK, "denied" for any 403 answer, or the error code."""
    try:
        call()
    except ClientError as error:
        if error.response["ResponseMetadata"]["HTTPStatusCode"] == 403:
            return "denied"
        return str(error.response["Error"]["Code"])
    return "OK"


def test_every_fix_is_in_the_list_and_has_an_honest_kind() -> None:
    assert len(FIXES) >= 14
    for each in FIXES:
        assert (each.__doc__ or "").split(".", 1)[0] in {"Defect", "Missing rule", "Stand-in"}, each.__name__


def test_the_fixes_apply_in_service_order_whichever_module_was_imported_first() -> None:
    # three moto functions are wrapped by two fixes each (the model map, IAM's request, its
    # authorisation): the wrappers go on in the order they were written, never the import order
    registered_last_first = list(reversed(FIXES))
    applied = patching.in_service_order(registered_last_first)
    services = [each.__module__.rsplit(".", 1)[1] for each in applied]
    assert services == sorted(services, key=patching.SERVICES.index)
    for service in patching.SERVICES:  # within a module, the order it was written in
        written = [each for each in FIXES if each.__module__.endswith(f".{service}")]
        assert [each for each in applied if each in written] == written
    order = [each.__name__ for each in applied]
    assert order.index("cloudwatch_alarms_from_cloudformation") < order.index("scheduler_schedules_from_cloudformation")
    assert order.index("cloudwatch_alarm_reads_authorised_on_the_alarm") < order.index("sqs_batch_calls_need_the_single_action")
    assert order.index("signatures_of_requests_without_a_body") < order.index("policy_conditions_evaluated")


def test_the_fixes_refuse_another_moto_version(monkeypatch: pytest.MonkeyPatch) -> None:
    import moto

    monkeypatch.setattr(moto, "__version__", "9.9.9")
    with pytest.raises(RuntimeError, match=MOTO_VERSION):
        patching.apply_fixes()


def test_a_fix_can_be_undone(aws: None) -> None:
    from moto.s3.responses import S3Response

    before = S3Response.__dict__["head_object"]
    with patched(emulator.s3.s3_missing_key_is_forbidden_without_list_bucket):
        assert S3Response.__dict__["head_object"] is not before
    assert S3Response.__dict__["head_object"] is before


# --- policy conditions ----------------------------------------------------------------------------

LIST_RUNS_ONLY = [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::out", "Condition": {"StringLike": {"s3:prefix": "runs/*"}}}]


def _list(session: boto3.Session, prefix: str) -> str:
    return _code(lambda: session.client("s3").list_objects_v2(Bucket="out", Prefix=prefix))


def test_moto_ignores_the_s3_prefix_condition(aws: None) -> None:
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="out")
    session = _user("lister", LIST_RUNS_ONLY)
    with enforced():
        assert _list(session, "reports/") == "OK"  # the defect: AWS denies this


def test_the_s3_prefix_condition_is_evaluated(aws: None) -> None:
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="out")
    session = _user("lister", LIST_RUNS_ONLY)
    with patched(emulator.iam.policy_conditions_evaluated), enforced():
        assert _list(session, "runs/r1/") == "OK"
        assert _list(session, "reports/") == "denied"
        assert _code(lambda: session.client("s3").list_objects_v2(Bucket="out")) == "denied"  # no prefix: the key is absent


def test_a_deny_on_plain_http_follows_the_scheme(aws: None) -> None:
    """aws:SecureTransport is the request's scheme: in-process requests are https."""
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="out")
    deny_http = {"Effect": "Deny", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::out", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    session = _user("tls", [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::out"}, deny_http])
    with patched(emulator.iam.policy_conditions_evaluated), enforced():
        assert _list(session, "") == "OK"
    session = _user(
        "tls2",
        [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::out"}, {**deny_http, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}],
    )
    with patched(emulator.iam.policy_conditions_evaluated), enforced():
        assert _list(session, "") == "denied"


# --- S3: a missing key without ListBucket ---------------------------------------------------------

READ_RUNS = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::out/runs/*"}


def _status(call: Any) -> int:
    try:
        return call()["ResponseMetadata"]["HTTPStatusCode"]
    except ClientError as error:
        return error.response["ResponseMetadata"]["HTTPStatusCode"]


def _missing(session: boto3.Session) -> tuple[int, str]:
    """HeadObject's status (a HEAD answer has no body, so no error code) and GetObject's error code."""
    s3 = session.client("s3")
    return _status(lambda: s3.head_object(Bucket="out", Key="runs/none")), _code(lambda: s3.get_object(Bucket="out", Key="runs/none"))


def test_moto_answers_404_for_a_missing_key_whatever_the_caller_may_list(aws: None) -> None:
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="out")
    session = _user("reader", [READ_RUNS, *LIST_RUNS_ONLY])
    with patched(emulator.iam.policy_conditions_evaluated), enforced():
        assert _missing(session) == (404, "NoSuchKey")  # the defect: AWS answers 403


@pytest.mark.parametrize(
    ("listing", "expected"),
    [
        ([], (403, "denied")),
        (LIST_RUNS_ONLY, (403, "denied")),  # the ListBucket check carries no s3:prefix
        ([{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::out"}], (404, "NoSuchKey")),
    ],
    ids=["no ListBucket", "ListBucket under a prefix", "ListBucket on the bucket"],
)
def test_a_missing_key_is_403_unless_the_caller_may_list_the_bucket(aws: None, listing: list, expected: tuple[int, str]) -> None:
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="out")
    session = _user("reader", [READ_RUNS, *listing])
    with patched(emulator.iam.policy_conditions_evaluated, emulator.s3.s3_missing_key_is_forbidden_without_list_bucket), enforced():
        assert _missing(session) == expected


def test_storage_exists_works_where_head_object_is_forbidden(aws: None) -> None:
    """The jobs' existence check (a listing under the key) under the task roles' prefix-scoped ListBucket."""
    from riskbatch.aws.storage import exists

    boto3.client("s3", region_name=REGION).create_bucket(Bucket="out")
    boto3.client("s3", region_name=REGION).put_object(Bucket="out", Key="runs/here", Body=b"x")
    session = _user("reader", [READ_RUNS, *LIST_RUNS_ONLY])
    with patched(emulator.iam.policy_conditions_evaluated, emulator.s3.s3_missing_key_is_forbidden_without_list_bucket), enforced():
        s3 = session.client("s3")
        assert exists(s3, "out", "runs/here") and not exists(s3, "out", "runs/none")


# --- ECS RunTask: task definition, cluster, PassRole ----------------------------------------------


def _fargate_task(with_roles: bool = True) -> tuple[str, list[str], list[str]]:
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)["GroupId"]
    ecs = boto3.client("ecs", region_name=REGION)
    for name in ("c1", "c2"):
        ecs.create_cluster(clusterName=name)
    roles = {"taskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/task", "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/exec"} if with_roles else {}
    definition = ecs.register_task_definition(
        family="ingest",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "job", "image": "image", "essential": True, "memory": 512, "cpu": 256}],
        **roles,
    )["taskDefinition"]["taskDefinitionArn"]
    return definition, [subnet], [group]


def _run(session: boto3.Session, cluster: str, definition: str, subnets: list[str], groups: list[str]) -> str:
    network = {"awsvpcConfiguration": {"subnets": subnets, "securityGroups": groups, "assignPublicIp": "DISABLED"}}
    return _code(
        lambda: session.client("ecs").run_task(
            cluster=cluster, taskDefinition=definition, capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}], networkConfiguration=network
        )
    )


def _trigger_policy(definition: str, pass_to: str = "ecs-tasks.amazonaws.com") -> list[dict[str, Any]]:
    return [
        {
            "Effect": "Allow",
            "Action": "ecs:RunTask",
            "Resource": definition,
            "Condition": {"ArnEquals": {"ecs:cluster": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/c1"}},
        },
        {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": [f"arn:aws:iam::{ACCOUNT}:role/task", f"arn:aws:iam::{ACCOUNT}:role/exec"],
            "Condition": {"StringEquals": {"iam:PassedToService": pass_to}},
        },
    ]


def test_moto_cannot_run_a_fargate_task(aws: None) -> None:
    definition, subnets, groups = _fargate_task()
    with pytest.raises(AttributeError, match="private_dns_name"):
        _run(boto3.Session(region_name=REGION), "c1", definition, subnets, groups)


def test_moto_authorises_run_task_against_star(aws: None) -> None:
    """Unpatched, a policy that names the task definition cannot run it at all."""
    definition, subnets, groups = _fargate_task()
    session = _user("trigger", _trigger_policy(definition))
    with patched(emulator.ec2.network_interfaces_have_a_private_dns_name, emulator.iam.policy_conditions_evaluated), enforced():
        assert _run(session, "c1", definition, subnets, groups) == "denied"


def test_run_task_is_allowed_on_its_cluster_only_and_passes_only_its_roles_to_ecs_tasks(aws: None) -> None:
    definition, subnets, groups = _fargate_task()
    fixes = (
        emulator.ec2.network_interfaces_have_a_private_dns_name,
        emulator.iam.policy_conditions_evaluated,
        emulator.ecs.ecs_run_task_authorised_on_its_task_definition_with_pass_role,
    )
    trigger = _user("trigger", _trigger_policy(definition))
    no_pass = _user("no-pass", _trigger_policy(definition)[:1])
    to_lambda = _user("to-lambda", _trigger_policy(definition, pass_to="lambda.amazonaws.com"))
    with patched(*fixes), enforced():
        assert _run(trigger, "c1", definition, subnets, groups) == "OK"
        assert _run(trigger, "c2", definition, subnets, groups) == "denied"
        assert _run(no_pass, "c1", definition, subnets, groups) == "denied"
        assert _run(to_lambda, "c1", definition, subnets, groups) == "denied"


def _running_task(cluster: str) -> str:
    definition, subnets, groups = _fargate_task()
    network = {"awsvpcConfiguration": {"subnets": subnets, "securityGroups": groups}}
    ecs = boto3.client("ecs", region_name=REGION)
    return ecs.run_task(cluster=cluster, taskDefinition=definition, launchType="FARGATE", networkConfiguration=network)["tasks"][0]["taskArn"]


def test_moto_tasks_carry_no_start_time(aws: None) -> None:
    with patched(emulator.ec2.network_interfaces_have_a_private_dns_name):
        task = _running_task("c1")
        (described,) = boto3.client("ecs", region_name=REGION).describe_tasks(cluster="c1", tasks=[task])["tasks"]
    assert "startedAt" not in described and "createdAt" not in described


@pytest.mark.clock  # a task is stamped with the time RunTask started it
def test_tasks_carry_the_time_they_were_created_and_started(aws: None) -> None:
    with patched(emulator.ec2.network_interfaces_have_a_private_dns_name, emulator.ecs.ecs_tasks_carry_their_start_time):
        task = _running_task("c1")
        (described,) = boto3.client("ecs", region_name=REGION).describe_tasks(cluster="c1", tasks=[task])["tasks"]
    assert described["createdAt"] == described["startedAt"]
    assert abs((dt.datetime.now(dt.UTC) - described["startedAt"]).total_seconds()) < 60


def test_stop_and_describe_tasks_are_authorised_on_the_task_and_its_cluster(aws: None) -> None:
    """The deadline check's grant: ListTasks on "*" under ecs:cluster, DescribeTasks and StopTask on the cluster's tasks."""
    fixes = (
        emulator.ec2.network_interfaces_have_a_private_dns_name,
        emulator.iam.policy_conditions_evaluated,
        emulator.ecs.ecs_run_task_authorised_on_its_task_definition_with_pass_role,
    )
    with patched(*fixes):
        mine, other = _running_task("c1"), _running_task("c2")
    on_c1 = {"ArnEquals": {"ecs:cluster": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/c1"}}
    checker = _user("checker", [
        {"Effect": "Allow", "Action": "ecs:ListTasks", "Resource": "*", "Condition": on_c1},
        {"Effect": "Allow", "Action": ["ecs:DescribeTasks", "ecs:StopTask"], "Resource": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/c1/*", "Condition": on_c1},
    ])  # fmt: skip
    ecs = checker.client("ecs")
    with patched(*fixes), enforced():
        assert _code(lambda: ecs.list_tasks(cluster="c1")) == "OK"
        assert _code(lambda: ecs.list_tasks(cluster="c2")) == "denied"
        assert _code(lambda: ecs.describe_tasks(cluster="c1", tasks=[mine])) == "OK"
        assert _code(lambda: ecs.describe_tasks(cluster="c2", tasks=[other])) == "denied"
        assert _code(lambda: ecs.stop_task(cluster="c2", task=other, reason="r")) == "denied"
        assert _code(lambda: ecs.stop_task(cluster="c1", task=mine.rsplit("/", 1)[-1], reason="r")) == "OK"  # a short id is its cluster's task


def test_simulate_principal_policy_is_missing_in_moto(aws: None) -> None:
    boto3.client("iam", region_name=REGION).create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    with pytest.raises(NotImplementedError):
        boto3.client("iam", region_name=REGION).simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:role/r", ActionNames=["iam:PassRole"])


def test_simulate_principal_policy_decides_pass_role_by_the_service(aws: None) -> None:
    iam = boto3.client("iam", region_name=REGION)
    iam.create_role(RoleName="trigger", AssumeRolePolicyDocument="{}")
    document = {"Version": "2012-10-17", "Statement": _trigger_policy("arn:aws:ecs:us-east-1:123456789012:task-definition/ingest:1")}
    iam.put_role_policy(RoleName="trigger", PolicyName="p", PolicyDocument=json.dumps(document))

    def decision(service: str, role: str = "task") -> str:
        (result,) = iam.simulate_principal_policy(
            PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:role/trigger",
            ActionNames=["iam:PassRole"],
            ResourceArns=[f"arn:aws:iam::{ACCOUNT}:role/{role}"],
            ContextEntries=[{"ContextKeyName": "iam:PassedToService", "ContextKeyValues": [service], "ContextKeyType": "string"}],
        )["EvaluationResults"]
        return result["EvalDecision"]

    with patched(emulator.iam.policy_conditions_evaluated, emulator.iam.iam_simulate_principal_policy):
        assert decision("ecs-tasks.amazonaws.com") == "allowed"
        assert decision("lambda.amazonaws.com") == "implicitDeny"
        assert decision("ecs-tasks.amazonaws.com", role="other") == "implicitDeny"


# --- CloudFormation values ---------------------------------------------------------------------------

RULE_ON_A_BUS = {
    "Resources": {
        "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "bus-x"}},
        "Rule": {"Type": "AWS::Events::Rule", "Properties": {"Name": "rule-x", "EventBusName": "bus-x", "EventPattern": {"source": ["x"]}}, "DependsOn": "Bus"},
    },
    "Outputs": {"RuleRef": {"Value": {"Ref": "Rule"}}},
}


def _deploy(template: dict[str, Any]) -> dict[str, str]:
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_stack(StackName="s", TemplateBody=json.dumps(template))
    (stack,) = cfn.describe_stacks(StackName="s")["Stacks"]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def test_moto_returns_the_bare_name_for_the_ref_of_a_rule_on_a_custom_bus(aws: None) -> None:
    assert _deploy(RULE_ON_A_BUS)["RuleRef"] == "rule-x"


def test_the_ref_of_a_rule_on_a_custom_bus_is_bus_and_name_and_the_stack_still_deletes(aws: None) -> None:
    with patched(emulator.events.events_rule_ref_on_a_custom_bus):
        assert _deploy(RULE_ON_A_BUS)["RuleRef"] == "bus-x|rule-x"
        cfn = boto3.client("cloudformation", region_name=REGION)
        stack_id = cfn.describe_stacks(StackName="s")["Stacks"][0]["StackId"]
        cfn.delete_stack(StackName="s")
        assert cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
        assert [bus["Name"] for bus in boto3.client("events", region_name=REGION).list_event_buses()["EventBuses"]] == ["default"]


TASK_DEFINITION = {
    "Resources": {
        "Task": {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                "Family": "task-x",
                "Cpu": "256",
                "Memory": "512",
                "NetworkMode": "awsvpc",
                "RequiresCompatibilities": ["FARGATE"],
                "TaskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/task",
                "ExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/exec",
                "RuntimePlatform": {"CpuArchitecture": "X86_64", "OperatingSystemFamily": "LINUX"},
                "ContainerDefinitions": [{"Name": "job", "Image": "image", "Memory": 512}],
            },
        }
    }
}


def _task_definition() -> dict[str, Any]:
    return boto3.client("ecs", region_name=REGION).describe_task_definition(taskDefinition="task-x")["taskDefinition"]


def test_moto_drops_task_definition_properties(aws: None) -> None:
    _deploy(TASK_DEFINITION)
    assert "taskRoleArn" not in _task_definition()


def test_task_definitions_keep_roles_cpu_network_and_platform(aws: None) -> None:
    with patched(emulator.ecs.task_definitions_keep_their_properties):
        _deploy(TASK_DEFINITION)
        found = _task_definition()
    assert found["taskRoleArn"].endswith("role/task") and found["executionRoleArn"].endswith("role/exec")
    assert (found["cpu"], found["networkMode"], found["requiresCompatibilities"]) == ("256", "awsvpc", ["FARGATE"])
    assert found["runtimePlatform"]["cpuArchitecture"] == "X86_64"


# --- the local runner as ECS or EventBridge ------------------------------------------------------


def _service_role(name: str, service: str, account: str = ACCOUNT) -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:SourceAccount": account}}}
        ],
    }
    return boto3.client("iam", region_name=REGION).create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


def test_only_the_local_runner_assumes_service_roles_and_only_as_the_services_it_plays(aws: None) -> None:
    task = _service_role("task", "ecs-tasks.amazonaws.com")
    trigger = _service_role("trigger", "events.amazonaws.com")
    lambda_role = _service_role("fn", "lambda.amazonaws.com")
    elsewhere = _service_role("elsewhere", "ecs-tasks.amazonaws.com", account="210987654321")
    assume = [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]
    agent, other = _user(LOCAL_ECS_AGENT, assume), _user("someone", assume)

    def code(session: boto3.Session, role: str) -> str:
        return _code(lambda: session.client("sts").assume_role(RoleArn=role, RoleSessionName="session"))

    with patched(emulator.iam.local_runner_assumes_roles_as_ecs_or_eventbridge, emulator.iam.policy_conditions_evaluated), enforced():
        assert code(agent, task) == "OK" and code(agent, trigger) == "OK"
        assert code(agent, lambda_role) == "denied"
        assert code(agent, elsewhere) == "denied"  # aws:SourceAccount of another account
        assert code(other, task) == "denied"


# --- the remaining defects, one case each -------------------------------------------------------------

WITH_OUTPUT = {
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "sns-x"}}},
    "Outputs": {"TopicArn": {"Value": {"Ref": "Topic"}, "Export": {"Name": "export-x"}}},
}


def _deploy_by_change_set() -> dict[str, str]:
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_change_set(StackName="cs", TemplateBody=json.dumps(WITH_OUTPUT), ChangeSetName="c1", ChangeSetType="CREATE")
    cfn.execute_change_set(ChangeSetName="c1", StackName="cs")
    (stack,) = cfn.describe_stacks(StackName="cs")["Stacks"]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def test_change_sets_set_no_outputs_in_moto(aws: None) -> None:
    assert _deploy_by_change_set() == {}


def test_change_sets_set_outputs_and_exports(aws: None) -> None:
    with patched(emulator.cloudformation.change_sets_update_outputs_and_exports):
        assert _deploy_by_change_set()["TopicArn"].endswith(":sns-x")
        assert [export["Name"] for export in boto3.client("cloudformation", region_name=REGION).list_exports()["Exports"]] == ["export-x"]


def _tags_after_an_update_by_change_set() -> tuple[dict[str, str], str | None]:
    cfn = boto3.client("cloudformation", region_name=REGION)
    body = json.dumps(WITH_OUTPUT)
    cfn.create_change_set(StackName="cs", TemplateBody=body, ChangeSetName="c1", ChangeSetType="CREATE", Tags=[{"Key": "a", "Value": "1"}])
    cfn.execute_change_set(ChangeSetName="c1", StackName="cs")
    role = f"arn:aws:iam::{ACCOUNT}:role/role-cloudformation-x"
    tags = [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
    cfn.create_change_set(StackName="cs", TemplateBody=body, ChangeSetName="c2", ChangeSetType="UPDATE", Tags=tags, RoleARN=role)
    cfn.execute_change_set(ChangeSetName="c2", StackName="cs")
    (stack,) = cfn.describe_stacks(StackName="cs")["Stacks"]
    return {tag["Key"]: tag["Value"] for tag in stack.get("Tags", [])}, stack.get("RoleARN")


def test_moto_change_sets_keep_the_first_tags_and_role(aws: None) -> None:
    assert _tags_after_an_update_by_change_set() == ({"a": "1"}, None)


def test_change_sets_set_the_stacks_tags_and_service_role(aws: None) -> None:
    with patched(emulator.cloudformation.change_sets_update_outputs_and_exports):
        assert _tags_after_an_update_by_change_set() == ({"a": "1", "b": "2"}, f"arn:aws:iam::{ACCOUNT}:role/role-cloudformation-x")


TAGGED_QUEUE = {
    "Parameters": {"ImageTag": {"Type": "String", "Default": "1.0.0"}, "Suffix": {"Type": "String"}},
    "Resources": {
        "Queue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": {"Fn::Sub": "sqs-x-${Suffix}"}, "Tags": [{"Key": "image", "Value": {"Ref": "ImageTag"}}]},
        }
    },
}


def _parameter_only_change(suffix: str = "dev") -> list[dict[str, Any]]:
    """A stack, then a change set that changes ImageTag alone and keeps Suffix; its described changes."""
    cfn = boto3.client("cloudformation", region_name=REGION)
    body = json.dumps(TAGGED_QUEUE)
    first = [{"ParameterKey": "Suffix", "ParameterValue": "dev"}]
    cfn.create_change_set(StackName="p", TemplateBody=body, ChangeSetName="c1", ChangeSetType="CREATE", Parameters=first)
    cfn.execute_change_set(ChangeSetName="c1", StackName="p")
    parameters = [{"ParameterKey": "ImageTag", "ParameterValue": "1.0.1"}]
    parameters.append({"ParameterKey": "Suffix", "UsePreviousValue": True} if suffix == "dev" else {"ParameterKey": "Suffix", "ParameterValue": suffix})
    cfn.create_change_set(StackName="p", TemplateBody=body, ChangeSetName="c2", ChangeSetType="UPDATE", Parameters=parameters)
    return cfn.describe_change_set(StackName="p", ChangeSetName="c2", IncludePropertyValues=True)["Changes"]


KEPT_TASK_DEFINITION = {
    "Parameters": {"ImageTag": {"Type": "String", "Default": "1.0.0"}, "Cpu": {"Type": "Number", "Default": 256}, "Suffix": {"Type": "String"}},
    "Resources": {
        "Task": {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                "Family": {"Fn::Sub": "task-x-${Suffix}"},
                "Cpu": {"Ref": "Cpu"},
                "ContainerDefinitions": [{"Name": "x", "Image": {"Fn::Sub": "repo:${ImageTag}"}, "Memory": 512}],
            },
        }
    },
}


def _revision_after_an_update_that_keeps_everything() -> tuple[int, list[dict[str, Any]]]:
    cfn = boto3.client("cloudformation", region_name=REGION)
    body = json.dumps(KEPT_TASK_DEFINITION)
    first = [{"ParameterKey": "Suffix", "ParameterValue": "dev"}]
    cfn.create_change_set(StackName="k", TemplateBody=body, ChangeSetName="c1", ChangeSetType="CREATE", Parameters=first)
    cfn.execute_change_set(ChangeSetName="c1", StackName="k")
    kept = [{"ParameterKey": key, "UsePreviousValue": True} for key in ("ImageTag", "Cpu", "Suffix")]
    topic = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "sns-k"}}
    edited = {**KEPT_TASK_DEFINITION, "Resources": {**KEPT_TASK_DEFINITION["Resources"], "Topic": topic}}
    cfn.create_change_set(StackName="k", TemplateBody=json.dumps(edited), ChangeSetName="c2", ChangeSetType="UPDATE", Parameters=kept)
    cfn.execute_change_set(ChangeSetName="c2", StackName="k")
    revision = boto3.client("ecs", region_name=REGION).describe_task_definition(taskDefinition="task-x-dev")["taskDefinition"]["revision"]
    return revision, cfn.describe_stacks(StackName="k")["Stacks"][0]["Parameters"]


def test_moto_replaces_what_refers_to_a_parameter_kept_at_its_default(aws: None) -> None:
    with patched(emulator.cloudformation.change_sets_update_outputs_and_exports):
        revision, _ = _revision_after_an_update_that_keeps_everything()
        assert revision == 2


def test_use_previous_value_keeps_the_values_and_replaces_nothing(aws: None) -> None:
    with patched(emulator.cloudformation.change_sets_update_outputs_and_exports, emulator.cloudformation.parameters_kept_with_use_previous_value):
        revision, parameters = _revision_after_an_update_that_keeps_everything()
        assert revision == 1
        assert {item["ParameterKey"]: item["ParameterValue"] for item in parameters} == {"ImageTag": "1.0.0", "Cpu": "256", "Suffix": "dev"}


def _describe_one_alarm_as_a_role_granted_it() -> str:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    cloudwatch.put_metric_alarm(
        AlarmName="alarm-x", MetricName="m", Namespace="n", Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
    )  # fmt: skip
    arn = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:alarm-x"
    reader = _user("alarm-reader", [{"Effect": "Allow", "Action": "cloudwatch:DescribeAlarms", "Resource": arn}])
    with enforced():
        try:
            (alarm,) = reader.client("cloudwatch").describe_alarms(AlarmNames=["alarm-x"])["MetricAlarms"]
        except ClientError as error:
            return error.response["Error"]["Code"]
    return str(alarm["AlarmName"])


def test_moto_denies_an_alarm_read_granted_on_the_alarm(aws: None) -> None:
    assert _describe_one_alarm_as_a_role_granted_it() in ("AccessDenied", "403")


def test_an_alarm_read_is_authorised_on_the_alarm(aws: None) -> None:
    with patched(emulator.cloudwatch.cloudwatch_alarm_reads_authorised_on_the_alarm):
        assert _describe_one_alarm_as_a_role_granted_it() == "alarm-x"


def test_moto_change_sets_miss_a_change_made_through_a_parameter(aws: None) -> None:
    with patched(emulator.cloudformation.change_sets_update_outputs_and_exports):
        assert _parameter_only_change() == []


def test_change_sets_list_each_changed_value_before_and_after(aws: None) -> None:
    with patched(emulator.cloudformation.change_sets_update_outputs_and_exports, emulator.cloudformation.change_sets_list_each_changed_value):
        (change,) = _parameter_only_change()
        resource = change["ResourceChange"]
        assert (resource["Action"], resource["LogicalResourceId"], resource["Replacement"]) == ("Modify", "Queue", "False")
        (detail,) = resource["Details"]
        assert detail["Target"] == {
            "Attribute": "Properties", "Name": "Tags", "Path": "/Properties/Tags/0/Value", "RequiresRecreation": "Never",
            "AttributeChangeType": "Modify", "BeforeValue": "1.0.0", "AfterValue": "1.0.1",
        }  # fmt: skip


def test_a_changed_create_only_property_is_a_replacement(aws: None) -> None:
    with patched(emulator.cloudformation.change_sets_update_outputs_and_exports, emulator.cloudformation.change_sets_list_each_changed_value):
        (change,) = _parameter_only_change(suffix="prod")
        resource = change["ResourceChange"]
        assert resource["Replacement"] == "True"
        renamed = [d["Target"] for d in resource["Details"] if d["Target"]["Name"] == "QueueName"]
        assert renamed == [
            {
                "Attribute": "Properties", "Name": "QueueName", "Path": "/Properties/QueueName", "RequiresRecreation": "Always",
                "AttributeChangeType": "Modify", "BeforeValue": "sqs-x-dev", "AfterValue": "sqs-x-prod",
            }
        ]  # fmt: skip


LIFECYCLE = '{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":10},"action":{"type":"expire"}}]}'


REPOSITORY = {
    "Resources": {
        "Repo": {
            "Type": "AWS::ECR::Repository",
            "Properties": {
                "RepositoryName": "ecr-x",
                "EmptyOnDelete": True,
                "ImageScanningConfiguration": {"ScanOnPush": True},
                "LifecyclePolicy": {"LifecyclePolicyText": LIFECYCLE},
            },
        }
    }
}


def _repository_after_push_and_delete() -> tuple[bool, str | None, str]:
    from riskbatch_platform.deployment.image_gate import stand_in_manifest

    _deploy(REPOSITORY)
    ecr = boto3.client("ecr", region_name=REGION)
    scan_on_push = ecr.describe_repositories(repositoryNames=["ecr-x"])["repositories"][0]["imageScanningConfiguration"].get("scanOnPush", False)
    lifecycle = None
    with contextlib.suppress(ecr.exceptions.LifecyclePolicyNotFoundException):
        lifecycle = ecr.get_lifecycle_policy(repositoryName="ecr-x")["lifecyclePolicyText"]
    ecr.put_image(repositoryName="ecr-x", imageManifest=stand_in_manifest(), imageTag="1.0.0")
    deleted = _code(lambda: boto3.client("cloudformation", region_name=REGION).delete_stack(StackName="s"))
    return scan_on_push, lifecycle, deleted if deleted != "OK" else ",".join(r["repositoryName"] for r in ecr.describe_repositories()["repositories"]) or "gone"


def test_moto_loses_scan_on_push_lifecycle_and_empty_on_delete(aws: None) -> None:
    assert _repository_after_push_and_delete() == (False, None, "RepositoryNotEmptyException")


def test_repositories_scan_on_push_keep_their_lifecycle_and_empty_on_delete(aws: None) -> None:
    with patched(emulator.ecr.ecr_repository_properties_from_cloudformation):
        assert _repository_after_push_and_delete() == (True, LIFECYCLE, "gone")


def _log_group_key() -> str | None:
    key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
    _deploy({"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "log-x", "KmsKeyId": key}}}})
    (group,) = boto3.client("logs", region_name=REGION).describe_log_groups(logGroupNamePrefix="log-x")["logGroups"]
    return group.get("kmsKeyId")


def test_moto_loses_the_log_groups_key(aws: None) -> None:
    assert _log_group_key() is None


def test_log_groups_keep_their_key(aws: None) -> None:
    with patched(emulator.logs.log_group_key_from_cloudformation):
        assert _log_group_key().startswith("arn:aws:kms:")


def _publish_and_put(session: boto3.Session, topic: str) -> tuple[str, str]:
    entry = {"Source": "x", "DetailType": "x", "Detail": "{}", "EventBusName": "bus-x"}
    return _code(lambda: session.client("sns").publish(TopicArn=topic, Message="m")), _code(lambda: session.client("events").put_events(Entries=[entry]))


def _topic_and_bus_user() -> tuple[boto3.Session, str]:
    topic = boto3.client("sns", region_name=REGION).create_topic(Name="sns-x")["TopicArn"]
    bus = boto3.client("events", region_name=REGION).create_event_bus(Name="bus-x")["EventBusArn"]
    return _user(
        "publisher", [{"Effect": "Allow", "Action": "sns:Publish", "Resource": topic}, {"Effect": "Allow", "Action": "events:PutEvents", "Resource": bus}]
    ), topic


def test_moto_authorises_sns_and_eventbridge_against_star(aws: None) -> None:
    session, topic = _topic_and_bus_user()
    with enforced():
        assert _publish_and_put(session, topic) == ("denied", "denied")


def test_sns_and_eventbridge_are_authorised_on_their_topic_and_bus(aws: None) -> None:
    session, topic = _topic_and_bus_user()
    other = boto3.client("sns", region_name=REGION).create_topic(Name="sns-other")["TopicArn"]
    with patched(emulator.sns.sns_and_eventbridge_authorised_on_their_resource), enforced():
        assert _publish_and_put(session, topic) == ("OK", "OK")
        assert _publish_and_put(session, other)[0] == "denied"


ROLE_WITH_INLINE_POLICY = {
    "Resources": {
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": "role-x",
                "AssumeRolePolicyDocument": {
                    "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/caller"}, "Action": "sts:AssumeRole"}]
                },
                "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "sqs:ListQueues", "Resource": "*"}]}}],
            },
        }
    }
}


def _list_queues_as_the_role() -> str:
    _deploy(ROLE_WITH_INLINE_POLICY)
    caller = _user("caller", [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}])
    with enforced():
        keys = caller.client("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/role-x", RoleSessionName="session")["Credentials"]
        role = boto3.Session(
            aws_access_key_id=keys["AccessKeyId"], aws_secret_access_key=keys["SecretAccessKey"], aws_session_token=keys["SessionToken"], region_name=REGION
        )
        try:
            return _code(lambda: role.client("sqs").list_queues())
        except KeyError as error:  # moto's access check looks for the policy document its CloudFormation model never stored
            return f"KeyError: {error}"


def test_moto_cannot_read_inline_role_policies_from_cloudformation(aws: None) -> None:
    assert _list_queues_as_the_role() == "KeyError: 'policy_document'"


def test_inline_role_policies_from_cloudformation_are_read(aws: None) -> None:
    with patched(emulator.iam.inline_role_policies_read_as_json):
        assert _list_queues_as_the_role() == "OK"


def _send_batch() -> str:
    queue = boto3.client("sqs", region_name=REGION).create_queue(QueueName="sqs-x")["QueueUrl"]
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:sqs-x"
    session = _user("sender", [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": arn}])
    with enforced():
        return _code(lambda: session.client("sqs").send_message_batch(QueueUrl=queue, Entries=[{"Id": "1", "MessageBody": "m"}]))


def test_moto_asks_for_a_batch_permission_that_does_not_exist(aws: None) -> None:
    assert _send_batch() == "denied"


def test_a_batch_call_needs_the_single_action(aws: None) -> None:
    with patched(emulator.sqs.sqs_batch_calls_need_the_single_action):
        assert _send_batch() == "OK"


def _cluster_after_delete() -> list[str]:
    _deploy({"Resources": {"Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "cluster-x"}}}})
    boto3.client("cloudformation", region_name=REGION).delete_stack(StackName="s")
    ecs = boto3.client("ecs", region_name=REGION)
    return [c["status"] for c in ecs.describe_clusters(clusters=["cluster-x"])["clusters"] if c["status"] != "INACTIVE"]


def test_moto_keeps_the_cluster_of_a_deleted_stack(aws: None) -> None:
    assert _cluster_after_delete() == ["ACTIVE"]


def test_the_cluster_is_deleted_with_its_stack(aws: None) -> None:
    with patched(emulator.ecs.ecs_cluster_deleted_with_its_stack):
        assert _cluster_after_delete() == []


RULE_WITH_ECS_TARGET = {
    "Resources": {
        "Rule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Name": "rule-x",
                "EventPattern": {"source": ["x"]},
                "Targets": [
                    {
                        "Id": "task",
                        "Arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/c1",
                        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/trigger",
                        "EcsParameters": {
                            "TaskDefinitionArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/t:1",
                            "CapacityProviderStrategy": [{"CapacityProvider": "FARGATE", "Weight": 1, "Base": 0}],
                            "NetworkConfiguration": {"AwsVpcConfiguration": {"Subnets": ["subnet-1"], "AssignPublicIp": "DISABLED"}},
                        },
                    }
                ],
            },
        }
    }
}


def _ecs_target() -> dict[str, Any]:
    _deploy(RULE_WITH_ECS_TARGET)
    (target,) = boto3.client("events", region_name=REGION).list_targets_by_rule(Rule="rule-x")["Targets"]
    return target["EcsParameters"]


def test_moto_stores_ecs_targets_in_cloudformations_casing(aws: None) -> None:
    parameters = _ecs_target()
    assert "awsvpcConfiguration" not in parameters.get("NetworkConfiguration", {})


def test_ecs_targets_are_stored_in_the_api_shape(aws: None) -> None:
    with patched(emulator.events.events_ecs_targets_in_the_api_shape):
        parameters = _ecs_target()
    assert parameters["NetworkConfiguration"]["awsvpcConfiguration"]["Subnets"] == ["subnet-1"]
    assert parameters["CapacityProviderStrategy"] == [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}]


def test_every_fix_has_its_case() -> None:
    from pathlib import Path

    text = Path(__file__).read_text(encoding="utf-8")
    # each fix named through its service's module (emulator.s3.s3_missing_key_...), as the cases call it
    missing = [each.__name__ for each in FIXES if f"emulator.{each.__module__.rsplit('.', 1)[1]}.{each.__name__}" not in text]
    assert missing == []


ALARMS = {
    "Resources": {
        "Plain": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": "alarm-dlq-x",
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": "sqs-dlq-x"}],
                "Statistic": "Maximum",
                "Period": 60,
                "EvaluationPeriods": 1,
                "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold",
                "AlarmActions": [f"arn:aws:sns:{REGION}:{ACCOUNT}:sns-x"],
            },
        },
        "Rate": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": "alarm-rate-x",
                "EvaluationPeriods": 1,
                "Threshold": 5,
                "ComparisonOperator": "GreaterThanThreshold",
                "Metrics": [
                    {"Id": "stopped", "ReturnData": False, "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "Stopped"}, "Period": 600, "Stat": "Sum"}},
                    {"Id": "rate", "ReturnData": True, "Expression": "IF(stopped > 0, 100, 0)"},
                ],
            },
        },
    }
}


def _alarms() -> dict[str, dict[str, Any]]:
    _deploy(ALARMS)
    return {alarm["AlarmName"]: alarm for alarm in boto3.client("cloudwatch", region_name=REGION).describe_alarms()["MetricAlarms"]}


def test_moto_creates_no_alarm_from_cloudformation(aws: None) -> None:
    with pytest.warns(UserWarning, match="AWS::CloudWatch::Alarm"):
        assert _alarms() == {}


def test_alarms_are_created_from_cloudformation_and_deleted_with_their_stack(aws: None) -> None:
    with patched(emulator.cloudwatch.cloudwatch_alarms_from_cloudformation):
        alarms = _alarms()
        assert alarms["alarm-dlq-x"]["Dimensions"] == [{"Name": "QueueName", "Value": "sqs-dlq-x"}]
        assert alarms["alarm-dlq-x"]["AlarmActions"] == [f"arn:aws:sns:{REGION}:{ACCOUNT}:sns-x"]
        assert [metric["Id"] for metric in alarms["alarm-rate-x"]["Metrics"]] == ["stopped", "rate"]
        boto3.client("cloudformation", region_name=REGION).delete_stack(StackName="s")
        assert boto3.client("cloudwatch", region_name=REGION).describe_alarms()["MetricAlarms"] == []


BUS_REF = {
    "Resources": {"Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "bus-x"}}},
    "Outputs": {"BusRef": {"Value": {"Fn::Sub": "${Bus}"}}},
}


def _bus_ref_and_id() -> tuple[str, str]:
    outputs = _deploy(BUS_REF)
    (resource,) = boto3.client("cloudformation", region_name=REGION).list_stack_resources(StackName="s")["StackResourceSummaries"]
    return outputs["BusRef"], resource.get("PhysicalResourceId", "")


def test_moto_refs_the_bus_as_an_object(aws: None) -> None:
    reference, physical = _bus_ref_and_id()
    assert reference != "bus-x" and physical != "bus-x"


def test_the_ref_of_a_bus_is_its_name(aws: None) -> None:
    with patched(emulator.events.events_bus_ref_is_its_name):
        assert _bus_ref_and_id() == ("bus-x", "bus-x")


SWITCHED_OFF_EXPORT = {
    "Parameters": {"On": {"Type": "String", "Default": "false"}},
    "Conditions": {"IsOn": {"Fn::Equals": [{"Ref": "On"}, "true"]}},
    "Resources": {
        "Always": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "sns-always"}},
        "Sometimes": {"Type": "AWS::SNS::Topic", "Condition": "IsOn", "Properties": {"TopicName": "sns-sometimes"}},
    },
    "Outputs": {
        "AlwaysArn": {"Value": {"Ref": "Always"}, "Export": {"Name": "export-always"}},
        "SometimesName": {"Condition": "IsOn", "Value": {"Fn::GetAtt": ["Sometimes", "TopicName"]}, "Export": {"Name": "export-sometimes"}},
    },
}


def test_moto_evaluates_the_export_of_a_switched_off_output(aws: None) -> None:
    assert _code(lambda: _deploy(SWITCHED_OFF_EXPORT)) == "ValidationError"


def test_a_switched_off_output_exports_nothing(aws: None) -> None:
    with patched(emulator.cloudformation.switched_off_outputs_export_nothing):
        assert list(_deploy(SWITCHED_OFF_EXPORT)) == ["AlwaysArn"]
        assert [export["Name"] for export in boto3.client("cloudformation", region_name=REGION).list_exports()["Exports"]] == ["export-always"]


TAGGED_KEY = {"Resources": {"Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Statement": []}, "Tags": [{"Key": "Name", "Value": "kms-x"}]}}}}


def test_moto_cannot_read_a_keys_tags_from_cloudformation(aws: None) -> None:
    with pytest.raises(KeyError, match="TagKey"):  # inside moto: the server answers 500
        _deploy(TAGGED_KEY)


def test_a_keys_tags_are_read_from_cloudformation(aws: None) -> None:
    with patched(emulator.kms.kms_key_tags_from_cloudformation):
        _deploy(TAGGED_KEY)
    kms = boto3.client("kms", region_name=REGION)
    (key,) = kms.list_keys()["Keys"]
    assert kms.list_resource_tags(KeyId=key["KeyId"])["Tags"] == [{"TagKey": "Name", "TagValue": "kms-x"}]


ALLOWING_KEY = {
    "Resources": {
        "Key": {
            "Type": "AWS::KMS::Key",
            "Properties": {
                "KeyPolicy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}]}
            },
        }
    }
}


def _described_key_state() -> str:
    _deploy(ALLOWING_KEY)
    kms = boto3.client("kms", region_name=REGION)
    (key,) = kms.list_keys()["Keys"]
    try:
        return str(kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"])
    except TypeError as error:  # inside moto: the server answers 500
        return type(error).__name__


def test_moto_cannot_describe_a_key_whose_policy_came_from_cloudformation(aws: None) -> None:
    assert _described_key_state() == "TypeError"


def test_a_key_from_cloudformation_is_described(aws: None) -> None:
    with patched(emulator.kms.kms_key_tags_from_cloudformation):
        assert _described_key_state() == "Enabled"


def _repository_after_describing_the_deleted_stack() -> list[str]:
    stack_id = boto3.client("cloudformation", region_name=REGION).create_stack(StackName="s", TemplateBody=json.dumps(WITH_REPOSITORY_OUTPUT))["StackId"]
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.delete_stack(StackName=stack_id)
    cfn.describe_stacks(StackName=stack_id)  # as a waiter or taskcat polls
    return [r["repositoryName"] for r in boto3.client("ecr", region_name=REGION).describe_repositories()["repositories"]]


WITH_REPOSITORY_OUTPUT = {
    "Resources": {"Repo": {"Type": "AWS::ECR::Repository", "Properties": {"RepositoryName": "ecr-x"}}},
    "Outputs": {"RepoUri": {"Value": {"Fn::GetAtt": ["Repo", "RepositoryUri"]}}},
}


def test_moto_recreates_the_resources_of_a_deleted_stack_when_it_is_described(aws: None) -> None:
    assert _repository_after_describing_the_deleted_stack() == ["ecr-x"]


def test_a_deleted_stack_stays_deleted_when_it_is_described(aws: None) -> None:
    with patched(emulator.cloudformation.deleted_stacks_stay_deleted):
        assert _repository_after_describing_the_deleted_stack() == []


SIGV2_DENIAL = {  # the policy taskcat puts on its staging bucket: no Signature Version 2 uploads
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::staging", "arn:aws:s3:::staging/*"],
            "Condition": {"StringEquals": {"s3:signatureversion": "AWS"}},
        }
    ],
}


def _upload_to_taskcats_bucket() -> str:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="staging")
    s3.put_bucket_policy(Bucket="staging", Policy=json.dumps(SIGV2_DENIAL))
    uploader = _user("uploader", [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}])
    with enforced():
        return _code(lambda: uploader.client("s3").put_object(Bucket="staging", Key="templates/t.json", Body=b"{}"))


def test_moto_applies_a_conditional_bucket_denial_to_every_upload(aws: None) -> None:
    assert _upload_to_taskcats_bucket() == "denied"


def test_a_signature_version_4_upload_passes_the_signature_version_2_denial(aws: None) -> None:
    with patched(emulator.iam.policy_conditions_evaluated):
        assert _upload_to_taskcats_bucket() == "OK"


# ECR API reference, ImageIdentifier: imageDigest is "The sha256 digest of the image manifest".
# https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageIdentifier.html
PUSHED_MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2, "digest": "sha256:" + "c" * 64},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar", "size": 3, "digest": "sha256:" + "a" * 64}],
    },
    indent=3,
)


def _pushed_digest() -> str:
    ecr = boto3.client("ecr", region_name=REGION)
    ecr.create_repository(repositoryName="ecr-digest-x")
    return ecr.put_image(repositoryName="ecr-digest-x", imageManifest=PUSHED_MANIFEST, imageTag="1.0.0")["image"]["imageId"]["imageDigest"]


def test_moto_does_not_name_an_image_by_its_manifest_digest(aws: None) -> None:
    import hashlib

    assert _pushed_digest() != "sha256:" + hashlib.sha256(PUSHED_MANIFEST.encode()).hexdigest()


def test_an_image_is_named_by_the_sha256_of_its_manifest_as_pushed(aws: None) -> None:
    import hashlib

    with patched(emulator.ecr.ecr_image_digest_is_the_manifest_digest):
        assert _pushed_digest() == "sha256:" + hashlib.sha256(PUSHED_MANIFEST.encode()).hexdigest()


def _fargate_quota() -> str:
    return _code(lambda: boto3.client("service-quotas", region_name=REGION).get_service_quota(ServiceCode="fargate", QuotaCode="L-3032A538"))


def test_moto_knows_no_fargate_quota(aws: None) -> None:
    assert _fargate_quota() == "NoSuchResourceException"


def test_the_local_account_has_fargate_vcpu_quotas(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(emulator.service_quotas.FARGATE_VCPU_QUOTA_VARIABLE, "12")
    with patched(emulator.service_quotas.service_quotas_answer_for_fargate):
        assert _fargate_quota() == "OK"
        quotas = boto3.client("service-quotas", region_name=REGION)
        spot = quotas.get_service_quota(ServiceCode="fargate", QuotaCode="L-36FBB829")["Quota"]
        assert (spot["QuotaName"], spot["Value"]) == ("Fargate Spot vCPU resource count", 12.0)
        vpc = quotas.get_service_quota(ServiceCode="vpc", QuotaCode="L-F678F1CE")["Quota"]  # moto's own answers stay
        assert vpc["ServiceCode"] == "vpc"


def _eventbridge_delivery_reported() -> bool:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="bucket-events-x")
    s3.put_bucket_notification_configuration(Bucket="bucket-events-x", NotificationConfiguration={"EventBridgeConfiguration": {}})
    return "EventBridgeConfiguration" in s3.get_bucket_notification_configuration(Bucket="bucket-events-x")


def test_moto_does_not_report_eventbridge_delivery(aws: None) -> None:
    assert _eventbridge_delivery_reported() is False


def test_eventbridge_delivery_is_reported_when_on(aws: None) -> None:
    with patched(emulator.s3.s3_reports_eventbridge_delivery):
        assert _eventbridge_delivery_reported() is True
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="bucket-quiet-x")
        assert "EventBridgeConfiguration" not in s3.get_bucket_notification_configuration(Bucket="bucket-quiet-x")


def _subscription_arns() -> dict[str, str]:
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    topic = sns.create_topic(Name="sns-x")["TopicArn"]
    queue = sqs.get_queue_attributes(QueueUrl=sqs.create_queue(QueueName="q-x")["QueueUrl"], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="risk-oncall@example.com")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue)
    return {item["Protocol"]: item["SubscriptionArn"] for item in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]}


def test_moto_confirms_an_email_subscription_at_once(aws: None) -> None:
    assert _subscription_arns()["email"].startswith("arn:aws:sns:")


def test_an_email_subscription_is_pending_until_confirmed(aws: None) -> None:
    with patched(emulator.sns.sns_email_subscriptions_wait_for_confirmation):
        arns = _subscription_arns()
    assert arns["email"] == "PendingConfirmation" and arns["sqs"].startswith("arn:aws:sns:")


def _describe_images_on_two_repositories() -> tuple[str, str, str]:
    ecr = boto3.client("ecr", region_name=REGION)
    mine = ecr.create_repository(repositoryName="ecr-mine-x")["repository"]["repositoryArn"]
    ecr.create_repository(repositoryName="ecr-other-x")
    session = _user("reader", [{"Effect": "Allow", "Action": ["ecr:DescribeImages", "ecr:GetAuthorizationToken"], "Resource": [mine]}])
    reader = session.client("ecr")
    with enforced():
        return (
            _code(lambda: reader.describe_images(repositoryName="ecr-mine-x")),
            _code(lambda: reader.describe_images(repositoryName="ecr-other-x")),
            _code(lambda: reader.get_authorization_token()),
        )


def test_moto_authorises_ecr_against_star(aws: None) -> None:
    assert _describe_images_on_two_repositories()[0] == "denied"  # a policy naming the repository is refused


def test_ecr_is_authorised_on_its_repository(aws: None) -> None:
    # GetAuthorizationToken is authorised on "*" (it has no resource type): the policy names none
    with patched(emulator.ecr.ecr_authorised_on_its_repository):
        assert _describe_images_on_two_repositories() == ("OK", "denied", "denied")


EVENTS_STACK = {
    "Resources": {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "sqs-events-x"}},
        "Policy": {  # a type moto does not model: no resource, so no event
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {"Queues": [{"Ref": "Queue"}], "PolicyDocument": {"Statement": []}},
        },
    }
}


def _resource_events() -> list[tuple[str, str, str]]:
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_stack(StackName="stack-events", TemplateBody=json.dumps(EVENTS_STACK))
    events = reversed(cfn.describe_stack_events(StackName="stack-events")["StackEvents"])  # newest first
    return [(e["LogicalResourceId"], e["ResourceType"], e["ResourceStatus"]) for e in events if e["LogicalResourceId"] != "stack-events"]


def test_moto_writes_no_event_for_a_resource(aws: None) -> None:
    assert _resource_events() == []


def test_each_created_resource_has_its_events(aws: None) -> None:
    with patched(emulator.cloudformation.stack_events_name_each_resource):
        assert _resource_events() == [("Queue", "AWS::SQS::Queue", "CREATE_IN_PROGRESS"), ("Queue", "AWS::SQS::Queue", "CREATE_COMPLETE")]


def _refusal_codes() -> tuple[str, str]:
    """The error codes botocore reads from a refused SQS (JSON protocol) and EventBridge call."""
    queue = boto3.client("sqs", region_name=REGION).create_queue(QueueName="sqs-refused")["QueueUrl"]
    nobody = _user("nobody", [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}])
    codes = []
    with enforced():
        for call in (lambda: nobody.client("sqs").send_message(QueueUrl=queue, MessageBody="x"), lambda: nobody.client("events").list_rules()):
            try:
                call()
                codes.append("OK")
            except ClientError as error:
                codes.append(str(error.response["Error"]["Code"]))
    return codes[0], codes[1]


def test_moto_refuses_a_json_request_in_xml_so_no_code_can_be_read(aws: None) -> None:
    assert _refusal_codes() == ("403", "403")


def test_a_json_request_is_refused_with_its_protocols_access_denied_code(aws: None) -> None:
    with patched(emulator.iam.access_denied_in_the_services_protocol):
        assert _refusal_codes() == ("AccessDenied", "AccessDeniedException")


def test_a_json_request_with_a_bad_signature_keeps_its_own_code_and_is_no_denial(aws: None) -> None:
    """An expired token or a bad signature must fail a probe, never count as a denial."""
    queue = boto3.client("sqs", region_name=REGION).create_queue(QueueName="sqs-bad-key")["QueueUrl"]
    user = _user("badkey", [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}])
    forged = boto3.Session(aws_access_key_id=user.get_credentials().access_key, aws_secret_access_key="not-the-secret", region_name=REGION)
    with patched(emulator.iam.access_denied_in_the_services_protocol), enforced(), pytest.raises(ClientError) as refused:
        forged.client("sqs").send_message(QueueUrl=queue, MessageBody="x")
    assert refused.value.response["Error"]["Code"] not in {"AccessDenied", "AccessDeniedException", "403"}


# EC2 refuses security-group and rule descriptions outside a-zA-Z0-9 ._-:/()#,@[]+=&;{}!$*
# (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IpRange.html) with InvalidParameterValue.
_APOSTROPHE = "HTTPS from the private subnets' tasks"


def _security_group_calls() -> tuple[str, str, str, str]:
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName="secgroup-fine-x", Description="fine", VpcId=vpc)["GroupId"]
    rule = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/16", "Description": _APOSTROPHE}]}
    return (
        _code(lambda: ec2.create_security_group(GroupName="secgroup-bad-x", Description=_APOSTROPHE, VpcId=vpc)),
        _code(lambda: ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[rule])),
        _code(lambda: ec2.authorize_security_group_egress(GroupId=group, IpPermissions=[rule])),
        _code(lambda: ec2.create_security_group(GroupName="secgroup-good-x", Description="HTTPS from the tasks in the private subnets", VpcId=vpc)),
    )


def _stack_with_rule_description(description: str) -> str:
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    vpc = boto3.client("ec2", region_name=REGION).create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    group = {
        "Type": "AWS::EC2::SecurityGroup",
        "Properties": {
            "GroupDescription": "endpoints",
            "VpcId": vpc,
            "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.1.0.0/16", "Description": description}],
        },
    }
    # moto creates the stack within the call: the resource's error is the call's
    created = _code(lambda: cloudformation.create_stack(StackName="stack-sg-x", TemplateBody=json.dumps({"Resources": {"Group": group}})))
    return cloudformation.describe_stacks(StackName="stack-sg-x")["Stacks"][0]["StackStatus"] if created == "OK" else created


def test_moto_accepts_any_security_group_description(aws: None) -> None:
    assert _security_group_calls() == ("OK", "OK", "OK", "OK")
    assert _stack_with_rule_description(_APOSTROPHE) == "CREATE_COMPLETE"


def test_ec2_refuses_descriptions_outside_its_character_set(aws: None) -> None:
    with patched(emulator.ec2.ec2_refuses_descriptions_outside_its_character_set):
        assert _security_group_calls() == ("InvalidParameterValue", "InvalidParameterValue", "InvalidParameterValue", "OK")
        assert _stack_with_rule_description(_APOSTROPHE) == "InvalidParameterValue"


def test_ec2_accepts_the_endpoints_stack_rule_descriptions(aws: None) -> None:
    with patched(emulator.ec2.ec2_refuses_descriptions_outside_its_character_set):
        assert _stack_with_rule_description("HTTPS from the tasks in the private subnets") == "CREATE_COMPLETE"


# EventBridge's KMS request carries no aws:SourceAccount / aws:SourceArn / aws:SourceOrgID
# (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html): a key statement for
# events.amazonaws.com conditioned on them never applies, and the event never reaches the queue.
def _delivered_to_an_encrypted_queue(condition: dict[str, Any] | None) -> int:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
    }
    if condition:
        statement["Condition"] = condition
    root = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}
    policy = {"Version": "2012-10-17", "Statement": [root, statement]}
    key = boto3.client("kms", region_name=REGION).create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="sqs-report-x", Attributes={"KmsMasterKeyId": key})["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events", region_name=REGION)
    events.put_rule(Name="rule-run-completed-x", EventPattern=json.dumps({"source": ["riskbatch"]}))
    events.put_targets(Rule="rule-run-completed-x", Targets=[{"Id": "queue", "Arn": queue_arn}])
    events.put_events(Entries=[{"Source": "riskbatch", "DetailType": "RunCompleted", "Detail": "{}"}])
    return len(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []))


_SOURCE_ACCOUNT = {"StringEquals": {"aws:SourceAccount": ACCOUNT}}


def test_moto_delivers_to_an_encrypted_queue_whatever_the_key_policy(aws: None) -> None:
    assert _delivered_to_an_encrypted_queue(_SOURCE_ACCOUNT) == 1


def test_eventbridge_delivery_to_an_encrypted_queue_needs_the_key(aws: None) -> None:
    with patched(emulator.events.eventbridge_delivery_to_an_encrypted_queue_needs_the_key), pytest.warns(UserWarning, match="event dropped"):
        assert _delivered_to_an_encrypted_queue(_SOURCE_ACCOUNT) == 0


def test_eventbridge_delivers_to_an_encrypted_queue_its_key_policy_allows(aws: None) -> None:
    with patched(emulator.events.eventbridge_delivery_to_an_encrypted_queue_needs_the_key):
        assert _delivered_to_an_encrypted_queue(None) == 1


def _schedule_of_a_stack() -> dict[str, Any] | None:
    schedule = {
        "Type": "AWS::Scheduler::Schedule",
        "Properties": {
            "Name": "schedule-check-x",
            "ScheduleExpression": "cron(30 0 * * ? *)",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {
                "Arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/cluster-x",
                "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/role-x",
                "EcsParameters": {
                    "TaskDefinitionArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/task-x:1",
                    "CapacityProviderStrategy": [{"CapacityProvider": "FARGATE", "Weight": 1}],
                    "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-1"]}},
                },
            },
        },
    }
    boto3.client("cloudformation", region_name=REGION).create_stack(StackName="stack-schedule-x", TemplateBody=json.dumps({"Resources": {"Check": schedule}}))
    try:
        return boto3.client("scheduler", region_name=REGION).get_schedule(Name="schedule-check-x")
    except ClientError:
        return None


def test_moto_cloudformation_skips_schedules(aws: None) -> None:
    assert _schedule_of_a_stack() is None


def test_scheduler_schedules_from_cloudformation(aws: None) -> None:
    with patched(emulator.scheduler.scheduler_schedules_from_cloudformation):
        schedule = _schedule_of_a_stack()
        assert schedule is not None and schedule["State"] == "ENABLED"
        parameters = schedule["Target"]["EcsParameters"]
        assert parameters["CapacityProviderStrategy"] == [{"capacityProvider": "FARGATE", "weight": 1}]
        assert parameters["NetworkConfiguration"]["awsvpcConfiguration"]["Subnets"] == ["subnet-1"]
        boto3.client("cloudformation", region_name=REGION).delete_stack(StackName="stack-schedule-x")
        assert boto3.client("scheduler", region_name=REGION).list_schedules()["Schedules"] == []


def _list_schedules_as_a_user() -> tuple[str, str]:
    scheduler = _user("scheduler-reader", [{"Effect": "Allow", "Action": "scheduler:*", "Resource": "*"}]).client("scheduler")
    with enforced():
        return _code(lambda: scheduler.list_schedules()), _code(lambda: scheduler.list_schedules(MaxResults=5))


def test_moto_refuses_the_signature_of_a_request_without_a_body(aws: None) -> None:
    assert _list_schedules_as_a_user() == ("denied", "denied")  # SignatureDoesNotMatch, HTTP 403


def test_signatures_of_requests_without_a_body(aws: None) -> None:
    with patched(emulator.iam.signatures_of_requests_without_a_body):
        assert _list_schedules_as_a_user() == ("OK", "OK")


def test_moto_leaves_a_null_where_no_value_stood_in_a_list(aws: None) -> None:
    from moto.cloudformation import parsing

    assert parsing.clean_json([1, {"Ref": "AWS::NoValue"}], {"AWS::NoValue": None}) == [1, None]


def test_no_value_in_a_list_removes_the_element(aws: None) -> None:
    from moto.cloudformation import parsing

    with patched(emulator.cloudformation.no_value_in_a_list_removes_the_element):
        assert parsing.clean_json([1, {"Ref": "AWS::NoValue"}, [2, {"Ref": "AWS::NoValue"}]], {"AWS::NoValue": None}) == [1, [2]]
        # only NoValue goes: another reference that resolves to nothing keeps its place
        assert parsing.clean_json([1, {"Ref": "Unset"}], {"Unset": None}) == [1, None]


# --- the audit data kept in production (AWS::LanguageExtensions) ------------------------------------

KEPT_IN_PRODUCTION = {
    "Transform": "AWS::LanguageExtensions",
    "Parameters": {"EnvironmentSuffix": {"Type": "String"}},
    "Conditions": {"IsProduction": {"Fn::Equals": [{"Ref": "EnvironmentSuffix"}, "prod"]}},
    "Resources": {
        "Logs": {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": {"Fn::If": ["IsProduction", "Retain", "Delete"]},
            "UpdateReplacePolicy": {"Fn::If": ["IsProduction", "Retain", "Delete"]},
            "Properties": {"LogGroupName": {"Fn::Sub": "log-x-${EnvironmentSuffix}"}},
        }
    },
}


def _deployed_and_deleted(suffix: str) -> list[str]:
    """The log groups left after the stack with this suffix is created and deleted."""
    cfn = boto3.client("cloudformation", region_name=REGION)
    parameters = [{"ParameterKey": "EnvironmentSuffix", "ParameterValue": suffix}]
    cfn.create_stack(StackName=f"s-{suffix}", TemplateBody=json.dumps(KEPT_IN_PRODUCTION), Parameters=parameters, Capabilities=["CAPABILITY_AUTO_EXPAND"])
    assert [group["logGroupName"] for group in boto3.client("logs", region_name=REGION).describe_log_groups()["logGroups"]] == [f"log-x-{suffix}"]
    cfn.delete_stack(StackName=f"s-{suffix}")
    return [group["logGroupName"] for group in boto3.client("logs", region_name=REGION).describe_log_groups()["logGroups"]]


def test_moto_deletes_what_a_conditional_deletion_policy_retains(aws: None) -> None:
    assert _deployed_and_deleted("prod") == []


@pytest.mark.parametrize(("suffix", "left"), [("prod", ["log-x-prod"]), ("dev", [])])
def test_a_conditional_deletion_policy_keeps_the_production_log_group_only(aws: None, suffix: str, left: list[str]) -> None:
    with patched(emulator.cloudformation.deletion_policy_from_the_language_extensions):
        assert _deployed_and_deleted(suffix) == left


def _object_lock_reader() -> boto3.Session:
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="out-x", ObjectLockEnabledForBucket=True)
    read = {"Effect": "Allow", "Action": "s3:GetBucketObjectLockConfiguration", "Resource": "arn:aws:s3:::out-x"}
    return _user("lock-reader", [read])


def test_moto_authorises_reading_the_object_lock_configuration_as_list_bucket(aws: None) -> None:
    session = _object_lock_reader()
    with enforced():
        assert _code(lambda: session.client("s3").get_object_lock_configuration(Bucket="out-x")) == "denied"


def test_reading_the_object_lock_configuration_needs_its_own_action(aws: None) -> None:
    session = _object_lock_reader()
    lister = _user("lister", [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::out-x"}])
    with patched(emulator.s3.s3_object_lock_configuration_authorised_as_its_action), enforced():
        assert _code(lambda: session.client("s3").get_object_lock_configuration(Bucket="out-x")) == "OK"
        assert _code(lambda: lister.client("s3").get_object_lock_configuration(Bucket="out-x")) == "denied"

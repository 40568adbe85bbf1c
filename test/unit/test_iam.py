"""Least privilege, per job: each role may do what its job does and nothing else."""

from __future__ import annotations

import pytest

from test.conftest import the_template
from test.template_model import Resource, Template, as_list, container_environment, referenced_id, role_statements, run_task_targets

# Actions that AWS only authorises on "*"; every other action names its resource.
# Actions with no resource type in the Service Authorization Reference: they are granted on "*" alone.
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html (DescribeSubnets),
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_servicequotas.html (GetServiceQuota)
# logs:DescribeResourcePolicies: an account-wide listing whose request names no resource (parliament requires "*")
# inspector2:ListFindings names no resource type (Service Authorization Reference, Amazon Inspector:
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoninspector2.html)
STAR_ONLY_ACTIONS = {
    "ecr:GetAuthorizationToken",
    "ec2:DescribeSubnets",
    "servicequotas:GetServiceQuota",
    "logs:DescribeResourcePolicies",
    "inspector2:ListFindings",
}
# Authorised on container instances, which a Fargate cluster has none of: "*" under the ecs:cluster condition
# (the service authorization reference names the resource type; https://github.com/awsdocs/amazon-ecs-developer-guide/issues/211
# found the container-instance ARN did not match, and "*" with the condition did)
CLUSTER_CONDITIONED_ACTIONS = {"ecs:ListTasks"}
FORBIDDEN_MANAGED_POLICIES = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess")
PULL_ACTIONS = {"ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"}

TEMPLATE = the_template()
ROLES = TEMPLATE.of_type("AWS::IAM::Role")
TASK_DEFINITIONS = TEMPLATE.of_type("AWS::ECS::TaskDefinition")


def _environment(task: Resource) -> dict:
    return container_environment(task.props["ContainerDefinitions"][0])


def _statements_with(role: Resource, action: str) -> list[dict]:
    return [statement for statement in role_statements(role) if action in as_list(statement["Action"])]


def _resources_for(role: Resource, action: str) -> list:
    return [resource for statement in _statements_with(role, action) for resource in as_list(statement["Resource"])]


@pytest.mark.parametrize("role", ROLES, ids=repr)
def test_role_has_no_administrator_or_power_user_policy(role: Resource) -> None:
    for arn in role.props.get("ManagedPolicyArns", []):
        assert not any(name in str(arn) for name in FORBIDDEN_MANAGED_POLICIES)


@pytest.mark.parametrize("role", ROLES, ids=repr)
def test_role_allows_no_wildcard_action(role: Resource) -> None:
    for statement in role_statements(role):
        for action in as_list(statement["Action"]):
            assert "*" not in action, f"{role.logical_id}: {action}"
        assert "NotAction" not in statement and "NotResource" not in statement


@pytest.mark.parametrize("role", ROLES, ids=repr)
def test_star_resource_only_for_actions_aws_grants_on_star_only(role: Resource) -> None:
    for statement in role_statements(role):
        if "*" in as_list(statement["Resource"]):
            on_cluster = "ecs:cluster" in statement.get("Condition", {}).get("ArnEquals", {})
            assert set(as_list(statement["Action"])) <= (CLUSTER_CONDITIONED_ACTIONS if on_cluster else STAR_ONLY_ACTIONS), statement


# How each service that assumes a role of the stack is held to this account, as its guide documents:
# Firehose passes the account as the external ID ("Grant Firehose access to an Amazon S3 destination",
# https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html#using-iam-s3); CloudWatch Logs
# sends the source ARN of a subscription ("Subscription filters with Amazon Data Firehose",
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html#FirehoseExample).
_THIS_ACCOUNT = {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
TRUST_CONDITIONS = {
    "ecs-tasks.amazonaws.com": _THIS_ACCOUNT,
    "events.amazonaws.com": _THIS_ACCOUNT,
    "scheduler.amazonaws.com": _THIS_ACCOUNT,
    "firehose.amazonaws.com": {"StringEquals": {"sts:ExternalId": {"Ref": "AWS::AccountId"}}},
    "logs.amazonaws.com": {"StringLike": {"aws:SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:*"}}},
}


@pytest.mark.parametrize("role", ROLES, ids=repr)
def test_role_is_assumed_only_by_its_service_within_this_account(role: Resource) -> None:
    trust = as_list(role.props["AssumeRolePolicyDocument"]["Statement"])
    assert len(trust) == 1
    service = trust[0]["Principal"]["Service"]
    assert service in TRUST_CONDITIONS
    for operator, keys in TRUST_CONDITIONS[service].items():
        for key, value in keys.items():
            assert trust[0]["Condition"][operator][key] == value


@pytest.mark.parametrize("task", TASK_DEFINITIONS, ids=repr)
def test_execution_role_pulls_from_its_own_repository_only(template: Template, task: Resource) -> None:
    role = template.get(referenced_id(task.props["ExecutionRoleArn"]))
    repository = template.referenced_resource(task.props["ContainerDefinitions"][0]["Image"])
    for action in PULL_ACTIONS:
        resources = _resources_for(role, action)
        assert resources and all(referenced_id(resource) == repository for resource in resources), action


@pytest.mark.parametrize("task", TASK_DEFINITIONS, ids=repr)
def test_execution_role_writes_its_own_log_group_only(template: Template, task: Resource) -> None:
    role = template.get(referenced_id(task.props["ExecutionRoleArn"]))
    log_group = referenced_id(task.props["ContainerDefinitions"][0]["LogConfiguration"]["Options"]["awslogs-group"])
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        resources = _resources_for(role, action)
        assert resources and all(referenced_id(resource) == log_group for resource in resources), action


@pytest.mark.parametrize("task", TASK_DEFINITIONS, ids=repr)
def test_execution_role_does_nothing_else(template: Template, task: Resource) -> None:
    role = template.get(referenced_id(task.props["ExecutionRoleArn"]))
    actions = {action for statement in role_statements(role) for action in as_list(statement["Action"])}
    assert actions == PULL_ACTIONS | {"ecr:GetAuthorizationToken", "logs:CreateLogStream", "logs:PutLogEvents"}


@pytest.mark.parametrize("task", TASK_DEFINITIONS, ids=repr)
def test_task_role_touches_only_the_queues_its_job_is_configured_with(template: Template, task: Resource) -> None:
    role = template.get(referenced_id(task.props["TaskRoleArn"]))
    environment = _environment(task)
    configured = {referenced_id(value) for name, value in environment.items() if name.endswith("_QUEUE_URL")}
    configured |= {referenced_id(item) for name, value in environment.items() if name.endswith("_QUEUES") for item in value["Fn::Join"][1]}
    granted = {
        referenced_id(resource)
        for statement in role_statements(role)
        if any(action.startswith("sqs:") for action in as_list(statement["Action"]))
        for resource in as_list(statement["Resource"])
    }
    assert granted == configured


# Reads of a bucket's settings, granted on the bucket's ARN (they read no object): how the output
# bucket keeps its records, for the pre-night check (Service Authorization Reference, Amazon S3:
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html).
BUCKET_SETTINGS_READS = {"s3:GetBucketVersioning", "s3:GetBucketObjectLockConfiguration", "s3:GetLifecycleConfiguration"}
# and both buckets' default encryption, which the pre-night check holds against the stack's key
BOTH_BUCKETS_READS = {"s3:GetEncryptionConfiguration"}


@pytest.mark.parametrize("task", TASK_DEFINITIONS, ids=repr)
def test_task_role_never_deletes_objects_or_touches_buckets_outside_the_parameters(template: Template, task: Resource) -> None:
    role = template.get(referenced_id(task.props["TaskRoleArn"]))
    for statement in role_statements(role):
        actions = as_list(statement["Action"])
        assert not any(action.startswith("s3:Delete") for action in actions)
        if any(action.startswith("s3:") for action in actions):
            for resource in as_list(statement["Resource"]):
                arn = resource["Fn::Sub"]
                assert arn.startswith(("arn:${AWS::Partition}:s3:::${InputBucketName}", "arn:${AWS::Partition}:s3:::${OutputBucketName}"))
                if set(actions) <= BOTH_BUCKETS_READS:
                    assert arn in ("arn:${AWS::Partition}:s3:::${InputBucketName}", "arn:${AWS::Partition}:s3:::${OutputBucketName}"), "the bucket itself"
                elif set(actions) <= BUCKET_SETTINGS_READS:  # the input bucket's versioning too: restatements stay reproducible
                    buckets = ("arn:${AWS::Partition}:s3:::${OutputBucketName}", "arn:${AWS::Partition}:s3:::${InputBucketName}")
                    assert arn in buckets, "settings are read of a bucket itself"
                elif "s3:ListBucket" not in actions:
                    key_pattern = arn.split("}/", 1)[1] if "}/" in arn else ""
                    assert key_pattern not in {"", "*"}, f"object actions are limited to a prefix: {arn}"
                else:
                    assert "Condition" in statement, "listing is limited to a prefix"


def test_risk_calculation_consumes_its_queue_and_announces_on_the_bus(template: Template) -> None:
    task = template.get("RiskCalculationTaskDefinition")
    role = template.get(referenced_id(task.props["TaskRoleArn"]))
    environment = _environment(task)
    queue = referenced_id(environment["RISK_WORK_QUEUE_URL"])
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"):
        assert [referenced_id(resource) for resource in _resources_for(role, action)] == [queue]
    bus = referenced_id(environment["EVENT_BUS_NAME"])
    assert [referenced_id(resource) for resource in _resources_for(role, "events:PutEvents")] == [bus]


QUEUE_WORKERS = [task for task in TASK_DEFINITIONS if "worker" in task.props["ContainerDefinitions"][0].get("Command", [])]


@pytest.mark.parametrize("task", QUEUE_WORKERS, ids=repr)
def test_queue_worker_may_send_only_to_the_queue_it_consumes(template: Template, task: Resource) -> None:
    """An interrupted message goes back as a fresh copy (riskbatch.jobs.queue_worker): SendMessage on the worker's own queue, nowhere else."""
    role = template.get(referenced_id(task.props["TaskRoleArn"]))
    consumed = {referenced_id(resource) for resource in _resources_for(role, "sqs:ReceiveMessage")}
    assert len(consumed) == 1
    assert [referenced_id(resource) for resource in _resources_for(role, "sqs:SendMessage")] == sorted(consumed)


def test_data_ingestion_only_sends_to_the_risk_work_queue(template: Template) -> None:
    task = template.get("DataIngestionTaskDefinition")
    role = template.get(referenced_id(task.props["TaskRoleArn"]))
    queue = referenced_id(_environment(task)["RISK_WORK_QUEUE_URL"])
    assert [referenced_id(resource) for resource in _resources_for(role, "sqs:SendMessage")] == [queue]
    assert not _statements_with(role, "sqs:ReceiveMessage")


@pytest.mark.parametrize(("rule", "target"), run_task_targets(TEMPLATE), ids=lambda value: repr(value) if isinstance(value, Resource) else value["Id"])
def test_run_task_role_runs_only_its_task_definition_on_its_cluster(template: Template, rule: Resource, target: dict) -> None:
    role = template.get(referenced_id(target["RoleArn"]))
    task_definition = referenced_id(target["EcsParameters"]["TaskDefinitionArn"])
    cluster = referenced_id(target["Arn"])
    statements = _statements_with(role, "ecs:RunTask")
    assert statements
    for statement in statements:
        assert [referenced_id(resource) for resource in as_list(statement["Resource"])] == [task_definition]
        assert referenced_id(statement["Condition"]["ArnEquals"]["ecs:cluster"]) == cluster


@pytest.mark.parametrize(("rule", "target"), run_task_targets(TEMPLATE), ids=lambda value: repr(value) if isinstance(value, Resource) else value["Id"])
def test_run_task_role_passes_exactly_the_two_roles_of_its_task_definition(template: Template, rule: Resource, target: dict) -> None:
    role = template.get(referenced_id(target["RoleArn"]))
    task_definition = template.get(referenced_id(target["EcsParameters"]["TaskDefinitionArn"]))
    expected = {referenced_id(task_definition.props["TaskRoleArn"]), referenced_id(task_definition.props["ExecutionRoleArn"])}
    statements = _statements_with(role, "iam:PassRole")
    assert statements
    passed = {referenced_id(resource) for statement in statements for resource in as_list(statement["Resource"])}
    assert passed == expected
    for statement in statements:
        assert statement["Condition"]["StringEquals"]["iam:PassedToService"] == "ecs-tasks.amazonaws.com"
    actions = {action for statement in role_statements(role) for action in as_list(statement["Action"])}
    assert actions == {"ecs:RunTask", "iam:PassRole"}


def _stack_keys(template: Template) -> set[str]:
    return {key.logical_id for key in template.of_type("AWS::KMS::Key")}


def _key_resources(resource: object) -> list:
    """A statement's Resource entries, with both branches of a Fn::If (AWS::NoValue grants nothing)."""
    if isinstance(resource, dict) and "Fn::If" in resource:
        return [item for branch in resource["Fn::If"][1:] for item in _key_resources(branch)]
    if resource == {"Ref": "AWS::NoValue"}:
        return []
    return as_list(resource)


@pytest.mark.parametrize("role", ROLES, ids=repr)
def test_kms_permission_names_only_the_stacks_own_keys(template: Template, role: Resource) -> None:
    """kms:* on a key ARN pattern (key/*) or on "*" would let a task use any key of the account (and
    any grant made on it); every KMS permission names this stack's key, or a key the deployer passed
    in by ARN for its one purpose (a parameter whose name ends in KmsKeyArn)."""
    own = _stack_keys(template)
    for statement in role_statements(role):
        if not any(str(action).lower().startswith("kms:") for action in as_list(statement["Action"])):
            continue
        for resource in _key_resources(statement["Resource"]):
            target = referenced_id(resource)
            named_key = target in own or (target in template.parameters() and target.endswith("KmsKeyArn"))
            assert named_key and not isinstance(resource, str), f"{role.logical_id}: KMS permission on {resource}"


@pytest.mark.parametrize("task", TASK_DEFINITIONS, ids=repr)
def test_the_probe_statement_reads_and_writes_the_probe_area_only(task: Resource) -> None:
    """The one permission that exists for the proof: riskbatch probe reads its expectations and writes
    its verdict under probes/ of the output bucket, and nothing else."""
    from test.template_model import PROBE_STATEMENT_SID

    role = TEMPLATE.get(referenced_id(task.props["TaskRoleArn"]))
    (probe,) = [statement for statement in role_statements(role) if statement.get("Sid") == PROBE_STATEMENT_SID]
    assert probe["Effect"] == "Allow" and sorted(as_list(probe["Action"])) == ["s3:GetObject", "s3:PutObject"]
    assert probe["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:s3:::${OutputBucketName}/probes/*"} and "Condition" not in probe


def test_every_permission_is_an_inline_policy_of_a_role_the_checks_read(template: Template) -> None:
    """The least-privilege checks read each role's inline policies: a managed policy attached to a
    role, or a policy resource of its own, would grant what none of them reads."""
    standalone = [r.logical_id for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") for r in template.of_type(kind)]
    assert standalone == [], f"policy resources the checks do not read: {standalone}"
    attached = {role.logical_id: role.props["ManagedPolicyArns"] for role in ROLES if role.props.get("ManagedPolicyArns")}
    assert attached == {}, f"managed policies attached: {attached}"


@pytest.mark.parametrize("role", ROLES, ids=repr)
def test_a_role_is_granted_what_each_of_its_calls_depends_on(role: Resource) -> None:
    """One table (DEPENDENT_ACTIONS, with its documents) for the roles and the deployer: under enhanced
    scanning ecr:DescribeImageScanFindings needs inspector2:ListFindings ("IAM permissions required for
    enhanced scanning in Amazon ECR": https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning-enhanced-iam.html)."""
    from riskbatch_platform.analysis.deployer_permissions import DEPENDENT_ACTIONS

    granted = {action for statement in role_statements(role) if statement.get("Effect", "Allow") == "Allow" for action in as_list(statement["Action"])}
    missing = {action: needed for action in granted for needed in DEPENDENT_ACTIONS.get(action, ()) if needed not in granted}
    assert missing == {}

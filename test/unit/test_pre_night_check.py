"""The scheduled checks: the pre-night check at the start of the overnight window, which runs the
preflight checks that change from day to day, and the deadline check an hour before 09:30, which
alerts when the report is not there; each a small task with its own least-privilege roles, New York time.

EventBridge Scheduler: a cron expression evaluated in ScheduleExpressionTimezone, an ECS RunTask
target with the schedule's role, a retry policy and a dead-letter queue.
https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html
https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-templated.html
The dead-letter queue is written with the schedule's execution role and must be a standard queue:
https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html
Ref of an ECR repository is its name (the task's JOB_REPOSITORIES), of a task definition its ARN:
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ecr-repository.html#aws-resource-ecr-repository-return-values
"""

from __future__ import annotations

import json

import pytest

from riskbatch.operations.preflight.findings import account_from_environment
from riskbatch_platform.analysis.resolve import resolve
from riskbatch_platform.deployment.preflight_stack import dead_letter_queue_ids, peak_of, task_events_log_group_id
from test.template_model import REQUIRED_VALUES, Template, as_list, container_environment, job_statements, referenced_id, role_statements

SCHEDULES = {"PreNightCheckSchedule": ["preflight", "--nightly"], "DeadlineCheckSchedule": ["watch"]}


def _schedule(template: Template, logical_id: str = "PreNightCheckSchedule"):
    return template.get(logical_id)


def test_every_schedule_is_one_of_the_checks(template: Template) -> None:
    assert {schedule.logical_id for schedule in template.of_type("AWS::Scheduler::Schedule")} == set(SCHEDULES)


def test_the_check_runs_at_half_past_midnight_new_york_through_daylight_saving(template: Template) -> None:
    schedule = _schedule(template).props
    assert (schedule["ScheduleExpression"], schedule["ScheduleExpressionTimezone"]) == ("cron(30 0 * * ? *)", "America/New_York")
    assert schedule["State"] == "ENABLED" and schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}


def test_the_deadline_check_runs_on_weekdays_at_the_configured_new_york_time(template: Template) -> None:
    schedule = _schedule(template, "DeadlineCheckSchedule").props
    assert schedule["ScheduleExpression"] == {"Fn::Sub": "cron(${DeadlineCheckMinute} ${DeadlineCheckHour} ? * MON-FRI *)"}
    assert schedule["ScheduleExpressionTimezone"] == "America/New_York" and schedule["State"] == "ENABLED"
    hour, minute = template.doc["Parameters"]["DeadlineCheckHour"], template.doc["Parameters"]["DeadlineCheckMinute"]
    assert (hour["Default"], minute["Default"]) == (8, 30)  # an hour before the 09:30 deadline
    assert (hour["MinValue"], hour["MaxValue"], minute["MinValue"], minute["MaxValue"]) == (0, 23, 0, 59)


@pytest.mark.parametrize("logical_id", sorted(SCHEDULES))
def test_the_schedule_runs_its_own_task_on_this_cluster_in_the_task_subnets_and_dead_letters(template: Template, logical_id: str) -> None:
    target = _schedule(template, logical_id).props["Target"]
    assert referenced_id(target["Arn"]) == "RiskBatchCluster"
    task = template.get(referenced_id(target["EcsParameters"]["TaskDefinitionArn"]))
    assert task.props["ContainerDefinitions"][0]["Command"] == SCHEDULES[logical_id]
    network = target["EcsParameters"]["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED" and [referenced_id(s) for s in network["Subnets"]] == [f"PrivateSubnet{i}Id" for i in (1, 2, 3)]
    assert [referenced_id(group) for group in network["SecurityGroups"]] == ["TaskSecurityGroup"]
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1 and referenced_id(target["DeadLetterConfig"]["Arn"]) == "EventDeliveryDeadLetterQueue"
    role = template.get(referenced_id(target["RoleArn"]))
    (trust,) = role.props["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}


def test_the_tasks_peak_is_the_templates_peak(template: Template) -> None:
    """PEAK_WORKLOADS is written by hand in the task's environment (CloudFormation has no arithmetic):
    it must be what preflight computes from the template, for any task counts."""
    values = {**REQUIRED_VALUES, "RiskCalculationMaxTasks": "37", "ReportGenerationMaxTasks": "5"}
    resolved = resolve(template.doc, values)["Resources"]
    containers = [body["Properties"]["ContainerDefinitions"][0] for body in resolved.values() if body["Type"] == "AWS::ECS::TaskDefinition"]
    (container,) = [c for c in containers if c["Name"] == "pre-night-check"]
    environment = container_environment(container)
    from_task = account_from_environment({key: str(value) for key, value in environment.items()})
    by_name = {workload.name: workload for workload in peak_of(template.doc, values).workloads}  # the check itself runs before the night
    assert {workload.name: workload for workload in from_task.peak.workloads} == by_name
    assert json.loads(environment["PEAK_WORKLOADS"])[1]["tasks"] == 37
    assert from_task.subnets == ["subnet-a", "subnet-b", "subnet-c"] and len(from_task.repositories) == 3


@pytest.mark.parametrize("logical_id", sorted(SCHEDULES))
def test_the_schedule_role_may_dead_letter_to_a_standard_queue_under_the_stack_key(template: Template, logical_id: str) -> None:
    target = _schedule(template, logical_id).props["Target"]
    queue = template.get(referenced_id(target["DeadLetterConfig"]["Arn"]))
    assert not queue.props.get("FifoQueue", False)  # Scheduler refuses a FIFO dead-letter queue
    role = template.get(referenced_id(target["RoleArn"]))
    statements = role.props["Policies"][0]["PolicyDocument"]["Statement"]
    granted = {(action, referenced_id(resource)) for s in statements for action in as_list(s["Action"]) for resource in as_list(s["Resource"])}
    assert ("sqs:SendMessage", queue.logical_id) in granted
    key = referenced_id(queue.props["KmsMasterKeyId"])
    assert {("kms:GenerateDataKey", key), ("kms:Decrypt", key)} <= granted


def test_the_check_task_reads_only_the_stacks_repositories_and_topic(template: Template) -> None:
    task = template.get(referenced_id(_schedule(template).props["Target"]["EcsParameters"]["TaskDefinitionArn"]))
    role = template.get(referenced_id(task.props["TaskRoleArn"]))
    statements = {s["Sid"]: s for s in job_statements(role)}
    repositories = {referenced_id(r) for r in as_list(statements["ReadJobImages"]["Resource"])}
    assert repositories == {r.logical_id for r in template.of_type("AWS::ECR::Repository")}
    assert referenced_id(statements["ReadAndAlertTheTopic"]["Resource"]) == "AlertTopic"
    # Only the reads without a resource type stand on "*" (Service Authorization Reference), and the
    # account's logs resource policies, a listing whose request names no resource (parliament requires "*")
    on_all = {a for s in statements.values() if s["Resource"] == "*" for a in as_list(s["Action"])}
    # and Inspector's findings, which DescribeImageScanFindings reads under enhanced scanning (no resource type)
    assert on_all == {"ec2:DescribeSubnets", "servicequotas:GetServiceQuota", "logs:DescribeResourcePolicies", "inspector2:ListFindings"}
    notifying = {a.logical_id for a in template.of_type("AWS::CloudWatch::Alarm") if {"Ref": "AlertTopic"} in a.props.get("AlarmActions", [])}
    assert {referenced_id(r) for r in as_list(statements["ReadTheStatesOfTheAlarmsThatNotify"]["Resource"])} == notifying


def test_the_deadline_check_reads_how_far_the_night_got_and_may_only_alert(template: Template) -> None:
    task = template.get(referenced_id(_schedule(template, "DeadlineCheckSchedule").props["Target"]["EcsParameters"]["TaskDefinitionArn"]))
    role = template.get(referenced_id(task.props["TaskRoleArn"]))
    statements = job_statements(role)
    actions = {action for s in statements for action in as_list(s["Action"])}
    night = {"s3:ListBucket", "s3:GetObject", "sqs:GetQueueAttributes", "sns:Publish", "kms:Decrypt", "kms:GenerateDataKey"}
    assert actions == night | {"ecs:ListTasks", "ecs:DescribeTasks", "ecs:StopTask"}  # and stop the one-shot tasks past their deadline
    # "*" only for ListTasks, under the cluster condition (test_one_shot_deadlines.py)
    assert all(s["Resource"] != "*" or (s["Action"] == "ecs:ListTasks" and "ecs:cluster" in s["Condition"]["ArnEquals"]) for s in statements)
    (manifests,) = [s for s in statements if s["Action"] == "s3:GetObject"]
    # manifests only: a wildcard may stand in any segment of an S3 object ARN
    # (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html#reference_policies_elements_resource_wildcards)
    assert manifests["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:s3:::${OutputBucketName}/runs/*/manifest.json"}
    listings = [s for s in statements if s["Action"] == "s3:ListBucket"]
    assert all("s3:prefix" in s["Condition"]["StringLike"] for s in listings)
    environment = container_environment(task.props["ContainerDefinitions"][0])
    assert {"OUTPUT_BUCKET", "INPUT_BUCKET", "RISK_WORK_QUEUE_URL", "REPORT_QUEUE_URL", "ALERT_TOPIC_ARN", "REPORT_DEADLINE"} <= set(environment)


def test_the_check_task_reads_every_dead_letter_queue_and_the_task_events_log_group(template: Template) -> None:
    """The nightly check lists dead-letter queues still holding messages (an alarm left in ALARM
    notifies nobody of the next one) and checks the logs resource policy of the task events log group."""
    task = template.get(referenced_id(_schedule(template).props["Target"]["EcsParameters"]["TaskDefinitionArn"]))
    environment = container_environment(task.props["ContainerDefinitions"][0])
    queues = [referenced_id(item) for item in environment["DEAD_LETTER_QUEUES"]["Fn::Join"][1]]
    assert sorted(queues) == dead_letter_queue_ids(template.doc) and len(queues) == len(set(queues)) >= 3
    assert environment["TASK_EVENTS_LOG_GROUP_ARN"] == {"Fn::GetAtt": [task_events_log_group_id(template.doc), "Arn"]}
    # every alarm that notifies the topic, by name: an alarm left in ALARM notifies nobody of its next cause
    notifying = {a.logical_id for a in template.of_type("AWS::CloudWatch::Alarm") if {"Ref": "AlertTopic"} in a.props.get("AlarmActions", [])}
    assert {referenced_id(item) for item in environment["ALARM_NAMES"]["Fn::Join"][1]} == notifying
    role = template.get(referenced_id(task.props["TaskRoleArn"]))
    statements = role_statements(role)
    depths = {referenced_id(r) for s in statements if "sqs:GetQueueAttributes" in as_list(s["Action"]) for r in as_list(s["Resource"])}
    assert depths == set(queues)
    resolved = resolve(template.doc, REQUIRED_VALUES)["Resources"][task.logical_id]["Properties"]["ContainerDefinitions"][0]
    account = account_from_environment({key: str(value) for key, value in container_environment(resolved).items()})
    assert len(account.dead_letter_queues) == len(queues) and account.task_events_log_group_arn


def test_the_check_task_reads_how_the_output_bucket_keeps_its_records_and_nothing_in_it(template: Template) -> None:
    """The nightly check reads the output bucket's versioning, Object Lock and lifecycle (S3's IAM
    actions s3:GetBucketVersioning, s3:GetBucketObjectLockConfiguration, s3:GetLifecycleConfiguration:
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html), on the
    bucket itself; its one object grant stays under probes/."""
    task = template.get(referenced_id(_schedule(template).props["Target"]["EcsParameters"]["TaskDefinitionArn"]))
    environment = container_environment(task.props["ContainerDefinitions"][0])
    assert environment["OUTPUT_BUCKET"] == {"Ref": "OutputBucketName"}
    role = template.get(referenced_id(task.props["TaskRoleArn"]))
    statements = role_statements(role)
    settings = {"s3:GetBucketVersioning", "s3:GetBucketObjectLockConfiguration", "s3:GetLifecycleConfiguration"}
    output_bucket = {"Fn::Sub": "arn:${AWS::Partition}:s3:::${OutputBucketName}"}
    (granted,) = [s for s in statements if settings & set(as_list(s["Action"])) and s["Resource"] == output_bucket]
    assert set(as_list(granted["Action"])) == settings and "Condition" not in granted
    s3_resources = {r["Fn::Sub"] for s in statements if any(a.startswith("s3:") for a in as_list(s["Action"])) for r in as_list(s["Resource"])}
    buckets = {"arn:${AWS::Partition}:s3:::${OutputBucketName}", "arn:${AWS::Partition}:s3:::${InputBucketName}"}
    assert s3_resources == buckets | {"arn:${AWS::Partition}:s3:::${OutputBucketName}/probes/*"}


def test_the_check_task_reads_both_buckets_encryption_against_the_stacks_key_and_the_given_keys(template: Template) -> None:
    """The pre-night check refuses a bucket encrypted with the stack's key, as preflight does (the key is deleted
    with the stack: https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys.html). It reads each
    bucket's default encryption (GetBucketEncryption, IAM action s3:GetEncryptionConfiguration on the bucket:
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html) on those two buckets
    only, and resolves an alias of the stack's key with kms:DescribeKey on that key only."""
    task = template.get(referenced_id(_schedule(template).props["Target"]["EcsParameters"]["TaskDefinitionArn"]))
    environment = container_environment(task.props["ContainerDefinitions"][0])
    assert environment["INPUT_BUCKET"] == {"Ref": "InputBucketName"} and environment["STACK_KEY_ARN"] == {"Fn::GetAtt": ["RiskBatchKey", "Arn"]}
    given = (environment["INPUT_BUCKET_KMS_KEY_ARN"], environment["OUTPUT_BUCKET_KMS_KEY_ARN"])
    assert given == ({"Ref": "InputBucketKmsKeyArn"}, {"Ref": "OutputBucketKmsKeyArn"})
    statements = role_statements(template.get(referenced_id(task.props["TaskRoleArn"])))
    (reading,) = [s for s in statements if "s3:GetEncryptionConfiguration" in as_list(s["Action"])]
    assert as_list(reading["Action"]) == ["s3:GetEncryptionConfiguration"] and "Condition" not in reading
    buckets = sorted(f"arn:${{AWS::Partition}}:s3:::${{{name}}}" for name in ("InputBucketName", "OutputBucketName"))
    assert sorted(r["Fn::Sub"] for r in as_list(reading["Resource"])) == buckets
    (describing,) = [s for s in statements if "kms:DescribeKey" in as_list(s["Action"])]
    assert as_list(describing["Action"]) == ["kms:DescribeKey"] and describing["Resource"] == {"Fn::GetAtt": ["RiskBatchKey", "Arn"]}
    values = {**REQUIRED_VALUES, "InputBucketKmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/in", "OutputBucketKmsKeyArn": ""}
    resolved = resolve(template.doc, values)["Resources"][task.logical_id]["Properties"]["ContainerDefinitions"][0]
    account = account_from_environment({key: str(value) for key, value in container_environment(resolved).items()})
    assert (account.input_bucket, account.output_bucket) == ("risk-input", "risk-output") and account.key_arn
    assert (account.input_bucket_key_arn, account.output_bucket_key_arn) == (values["InputBucketKmsKeyArn"], None)


def test_the_check_task_lists_the_nights_files_and_its_runs_under_their_prefixes_only(template: Template) -> None:
    """The pre-night check compares the files that landed with the runs started (a RunTask that ECS answers
    with `failures` may never count as a failed invocation: riskbatch.operations.preflight.arrivals). Listing
    is s3:ListBucket on the bucket, narrowed by the s3:prefix condition key (Service Authorization Reference,
    Amazon S3: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html)."""
    task = template.get(referenced_id(_schedule(template).props["Target"]["EcsParameters"]["TaskDefinitionArn"]))
    environment = container_environment(task.props["ContainerDefinitions"][0])
    assert (environment["INPUT_BUCKET"], environment["INPUT_PREFIX"]) == ({"Ref": "InputBucketName"}, {"Ref": "InputKeyPrefix"})
    listings = [s for s in role_statements(template.get(referenced_id(task.props["TaskRoleArn"]))) if "s3:ListBucket" in as_list(s["Action"])]
    by_bucket = {s["Resource"]["Fn::Sub"]: s["Condition"]["StringLike"]["s3:prefix"] for s in listings if as_list(s["Action"]) == ["s3:ListBucket"]}
    assert by_bucket == {
        "arn:${AWS::Partition}:s3:::${InputBucketName}": {"Fn::Sub": "${InputKeyPrefix}*"},
        "arn:${AWS::Partition}:s3:::${OutputBucketName}": ["runs/*", "quarantine/*"],
    }
    resolved = resolve(template.doc, REQUIRED_VALUES)["Resources"][task.logical_id]["Properties"]["ContainerDefinitions"][0]
    account = account_from_environment({key: str(value) for key, value in container_environment(resolved).items()})
    assert account.input_prefix == template.doc["Parameters"]["InputKeyPrefix"]["Default"]


def test_the_check_task_reads_whether_the_input_bucket_keeps_versions_and_no_object_of_it(template: Template) -> None:
    """Restatements stay reproducible only while the input bucket keeps the versions the runs' manifests name:
    the nightly check reads its versioning (s3:GetBucketVersioning, on the bucket:
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html), from INPUT_BUCKET."""
    task = template.get(referenced_id(_schedule(template).props["Target"]["EcsParameters"]["TaskDefinitionArn"]))
    assert container_environment(task.props["ContainerDefinitions"][0])["INPUT_BUCKET"] == {"Ref": "InputBucketName"}
    input_bucket = {"Fn::Sub": "arn:${AWS::Partition}:s3:::${InputBucketName}"}
    granted = [s for s in role_statements(template.get(referenced_id(task.props["TaskRoleArn"]))) if input_bucket in as_list(s["Resource"])]
    assert (["s3:GetBucketVersioning"], False) in [(as_list(s["Action"]), "Condition" in s) for s in granted]
    # of the input bucket itself, only its settings and the listing of the night's prefix: no object is read
    allowed = {"s3:GetBucketVersioning", "s3:GetEncryptionConfiguration", "s3:ListBucket"}
    assert {action for s in granted for action in as_list(s["Action"])} <= allowed
    assert all("Condition" in s for s in granted if "s3:ListBucket" in as_list(s["Action"]))

"""One table: each AWS operation the commands and the roles make -> the IAM actions it needs, its
dependent actions included.

An operation is authorised by the action of its name, except where the Service Authorization
Reference says otherwise (S3's bucket encryption, lifecycle, notification and listing calls, Service
Quotas' prefix), and some operations need further actions of the caller: passing a role (PassRole, to
the service that will use it), or reading another service's data as the caller (Amazon Inspector's
findings behind ECR's enhanced scanning). Each service's row cites its page of the Service
Authorization Reference; a dependent action cites the guide that states it.

Every operation recorded against the emulator (docs/recorded-calls.json) or found in the deployer
scripts' source must have a row: the unit suite fails on one without, and on any documented policy
that lacks an action a recorded call needs (test/unit/test_recorded_calls.py).
"""

from __future__ import annotations

from dataclasses import dataclass

SAR = "https://docs.aws.amazon.com/service-authorization/latest/reference/"
# An account, region and suffix to write the example ARN of a role a call passes (policies name roles by pattern).
EXAMPLE_ROLE = "arn:aws:iam::111122223333:role/{name}"


@dataclass(frozen=True)
class Need:
    """One IAM action a call needs: on `resource` (an example ARN a policy must match; "*" when the
    action takes no resource or is granted on all), with iam:PassedToService `passed_to` for iam:PassRole."""

    action: str
    resource: str = "*"
    passed_to: str | None = None
    why: str = ""
    grant: str = "*"  # the resource a generated policy grants it on (a pattern of the stack's role names for PassRole)


def _pass(role: str, service: str, why: str, grant: str) -> Need:
    return Need("iam:PassRole", EXAMPLE_ROLE.format(name=role), service, why, grant)


# CloudFormation takes the service role given to CreateChangeSet (RoleARN); the caller must be allowed to
# pass it ("AWS CloudFormation service role": https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-iam-servicerole.html).
PASS_SERVICE_ROLE = _pass(
    "role-cloudformation-riskbatch-us-east-1",
    "cloudformation.amazonaws.com",
    "with --role-arn: the service role",
    "arn:aws:iam::*:role/role-cloudformation-riskbatch-*",
)
# UpdateSchedule sends the whole schedule back, its target's RoleArn with it: Scheduler's CreateSchedule and UpdateSchedule
# need iam:PassRole of that role, iam:PassedToService scheduler.amazonaws.com (SAR, EventBridge Scheduler, API operations table).
SCHEDULE_ROLES = "arn:aws:iam::*:role/role-*-sched-*"
PASS_SCHEDULE_ROLES = (
    _pass("role-pre-night-check-sched-dev-us-east-1", "scheduler.amazonaws.com", "the pre-night check schedule's role", SCHEDULE_ROLES),
    _pass("role-deadline-check-sched-dev-us-east-1", "scheduler.amazonaws.com", "the deadline check schedule's role", SCHEDULE_ROLES),
)
# RunTask starts the task with its task definition's task and execution roles, passed to ECS tasks ("Amazon ECS task
# execution IAM role" and "Amazon ECS task IAM role", ECS developer guide; SAR, Amazon ECS: RunTask's dependent action iam:PassRole).
# rerun starts the ingestion task; the deploy's smoke tasks start one task of every job, so the grant covers every job's roles.
JOB_TASK_ROLES, JOB_EXECUTION_ROLES = "arn:aws:iam::*:role/role-*-task-*", "arn:aws:iam::*:role/role-*-exec-*"
PASS_JOB_ROLES = (
    _pass("role-data-ingestion-task-dev-us-east-1", "ecs-tasks.amazonaws.com", "the ingestion task's role (rerun)", JOB_TASK_ROLES),
    _pass("role-data-ingestion-exec-dev-us-east-1", "ecs-tasks.amazonaws.com", "the ingestion task's execution role (rerun)", JOB_EXECUTION_ROLES),
    _pass("role-risk-calculation-task-dev-us-east-1", "ecs-tasks.amazonaws.com", "a smoke task's role (deploy)", JOB_TASK_ROLES),
    _pass("role-report-generation-exec-dev-us-east-1", "ecs-tasks.amazonaws.com", "a smoke task's execution role (deploy)", JOB_EXECUTION_ROLES),
)
# Under the registry's enhanced scanning, DescribeImageScanFindings reads Amazon Inspector's findings as the caller ("IAM
# permissions required for enhanced scanning in Amazon ECR": https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning-enhanced-iam.html).
INSPECTOR_FINDINGS = Need("inspector2:ListFindings", why="under enhanced scanning")


def _own(prefix: str, *operations: str) -> dict[str, tuple[Need, ...]]:
    """Operations authorised by the action of their own name."""
    return {operation: (Need(f"{prefix}:{operation}"),) for operation in operations}


# SDK service name -> (its Service Authorization Reference page, operation -> what it needs).
TABLE: dict[str, tuple[str, dict[str, tuple[Need, ...]]]] = {
    "application-autoscaling": (
        f"{SAR}list_applicationautoscaling.html",
        # RegisterScalableTarget creates the service-linked role on a namespace's first registration only (Application Auto
        # Scaling user guide, "Service-linked roles"); teardown re-registers a target that exists, so the role exists.
        _own("application-autoscaling", "DescribeScalableTargets", "RegisterScalableTarget"),
    ),
    "cloudformation": (
        f"{SAR}list_awscloudformation.html",
        {
            **_own("cloudformation", "DeleteChangeSet", "DeleteStack", "DescribeChangeSet", "DescribeStackEvents", "DescribeStacks"),
            **_own("cloudformation", "ExecuteChangeSet", "GetTemplate", "ListStackResources"),
            "CreateChangeSet": (Need("cloudformation:CreateChangeSet"), PASS_SERVICE_ROLE),
        },
    ),
    "cloudwatch": (f"{SAR}list_amazoncloudwatch.html", _own("cloudwatch", "DescribeAlarms")),
    "ec2": (
        f"{SAR}list_amazonec2.html",
        _own("ec2", "DescribeSecurityGroups", "DescribeSubnets", "DescribeVpcAttribute", "DescribeVpcEndpointServices", "DescribeVpcEndpoints"),
    ),
    "ecr": (
        f"{SAR}list_amazonelasticcontainerregistry.html",
        {
            **_own("ecr", "DescribeImages", "DescribeRepositories", "GetLifecyclePolicy", "GetRegistryScanningConfiguration", "PutImage"),
            "DescribeImageScanFindings": (Need("ecr:DescribeImageScanFindings"), INSPECTOR_FINDINGS),
        },
    ),
    "ecs": (
        f"{SAR}list_amazonelasticcontainerservice.html",
        {
            **_own("ecs", "DescribeClusters", "DescribeTaskDefinition", "DescribeTasks", "ListClusters", "ListTasks", "StopTask", "UpdateService"),
            "RunTask": (Need("ecs:RunTask"), *PASS_JOB_ROLES),
        },
    ),
    "events": (f"{SAR}list_amazoneventbridge.html", _own("events", "DisableRule", "ListEventBuses", "ListRules", "ListTargetsByRule", "PutEvents")),
    "inspector2": (f"{SAR}list_amazoninspector2.html", _own("inspector2", "BatchGetAccountStatus")),
    "iam": (f"{SAR}list_awsidentityandaccessmanagementiam.html", _own("iam", "GetRole", "ListRoles")),
    "kms": (f"{SAR}list_awskeymanagementservice.html", _own("kms", "DescribeKey", "GetKeyRotationStatus")),
    "logs": (f"{SAR}list_amazoncloudwatchlogs.html", _own("logs", "DescribeLogGroups", "DescribeResourcePolicies", "FilterLogEvents")),
    # PutObject and GetObject of the template bucket need kms:GenerateDataKey / kms:Decrypt on its key only where that
    # bucket's default encryption is SSE-KMS with a customer key ("Using server-side encryption with AWS KMS keys",
    # S3 user guide: https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html): the bucket is the
    # customer's, the key unknown here, so no row needs it (docs/deployer-permissions.md says to add it for such a bucket).
    "s3": (
        f"{SAR}list_amazons3.html",
        {
            **_own("s3", "GetBucketVersioning", "GetObject", "PutObject"),
            "GetBucketEncryption": (Need("s3:GetEncryptionConfiguration"),),
            "GetBucketLifecycleConfiguration": (Need("s3:GetLifecycleConfiguration"),),
            "GetBucketNotificationConfiguration": (Need("s3:GetBucketNotification"),),
            "PutBucketNotificationConfiguration": (Need("s3:PutBucketNotification"),),
            "GetObjectLockConfiguration": (Need("s3:GetBucketObjectLockConfiguration"),),
            "HeadObject": (Need("s3:GetObject"),),
            "ListObjectsV2": (Need("s3:ListBucket"),),
        },
    ),
    "scheduler": (
        f"{SAR}list_amazoneventbridgescheduler.html",
        {**_own("scheduler", "GetSchedule"), "UpdateSchedule": (Need("scheduler:UpdateSchedule"), *PASS_SCHEDULE_ROLES)},
    ),
    "service-quotas": (f"{SAR}list_servicequotas.html", {"GetServiceQuota": (Need("servicequotas:GetServiceQuota"),)}),
    "sns": (f"{SAR}list_amazonsns.html", _own("sns", "ListSubscriptionsByTopic", "ListTopics", "Publish")),
    "sqs": (f"{SAR}list_amazonsqs.html", _own("sqs", "GetQueueAttributes", "ListQueues")),
    # GetCallerIdentity needs no permission: "No permissions are required to perform this operation" (STS API reference,
    # GetCallerIdentity: https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html); listed, as it is called.
    "sts": (f"{SAR}list_awssecuritytokenservice.html", {"GetCallerIdentity": ()}),
}


def needs(service: str, operation: str) -> tuple[Need, ...]:
    """What one operation needs (KeyError: the table has no row for it)."""
    return TABLE[service][1][operation]


def has_row(service: str, operation: str) -> bool:
    return service in TABLE and operation in TABLE[service][1]


def actions_of(calls: list[str] | set[str]) -> set[str]:
    """Every action the calls ("service:Operation") need, dependent actions included."""
    return {need.action for call in calls for need in needs(*call.split(":", 1))}

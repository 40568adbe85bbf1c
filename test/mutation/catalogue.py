"""Semantic mutations of lib/TapStack.json: each breaks exactly one requirement of the stack.

A mutation is a small edit of a deep copy. The unit suite must fail on every one of them (a
surviving mutant is a missing test), and the failure must come from the tests of the mutation's
own requirement (REQUIREMENT_TESTS): a mutant killed by an unrelated test is not counted. A
mutation named ...-first or ...-last edits the first or the last resource of its type in
template order (the catalogue's unit test checks it), so that a test which looks at one instance
only is exposed.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Path = tuple[Any, ...]
R = "Resources"
P = "Properties"


@dataclass(frozen=True)
class Mutation:
    name: str
    requirement: str
    edit: Callable[[dict[str, Any]], None]

    def apply(self, template: dict[str, Any]) -> dict[str, Any]:
        mutant = copy.deepcopy(template)
        before = json.dumps(mutant, sort_keys=True)
        self.edit(mutant)
        if json.dumps(mutant, sort_keys=True) == before:
            raise ValueError(f"mutation {self.name} changed nothing: the template moved on, update it")
        return mutant


def _parent(node: Any, path: Path) -> tuple[Any, Any]:
    for key in path[:-1]:
        node = node[key]
    return node, path[-1]


def set_(*path_and_value: Any) -> Callable[[dict[str, Any]], None]:
    *path, value = path_and_value

    def edit(template: dict[str, Any]) -> None:
        parent, key = _parent(template, tuple(path))
        parent[key] = copy.deepcopy(value)

    return edit


def delete(*path: Any) -> Callable[[dict[str, Any]], None]:
    def edit(template: dict[str, Any]) -> None:
        parent, key = _parent(template, tuple(path))
        if isinstance(parent, list):
            parent.pop(key)
        else:
            del parent[key]

    return edit


def append(*path_and_value: Any) -> Callable[[dict[str, Any]], None]:
    *path, value = path_and_value

    def edit(template: dict[str, Any]) -> None:
        node = template
        for key in path:
            node = node[key]
        node.append(copy.deepcopy(value))

    return edit


def both(*edits: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def edit(template: dict[str, Any]) -> None:
        for one in edits:
            one(template)

    return edit


def kms_on_any_key(role: str) -> Callable[[dict[str, Any]], None]:
    """The role's KMS statement on every key of the account (key/*) instead of the stack's key."""

    def edit(template: dict[str, Any]) -> None:
        for policy in template[R][role][P]["Policies"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                if "Action" not in statement:
                    continue  # a statement under a condition (Fn::If): the stack's key is named in plain statements
                if any(str(action).startswith("kms:") for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])):
                    statement["Resource"] = {"Fn::Sub": "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*"}

    return edit


def drop_tls_denial(policy: str) -> Callable[[dict[str, Any]], None]:
    """Remove the policy's statements that deny requests without TLS."""

    def edit(template: dict[str, Any]) -> None:
        document = template[R][policy][P]["PolicyDocument"]
        document["Statement"] = [s for s in document["Statement"] if "aws:SecureTransport" not in str(s.get("Condition", ""))]

    return edit


def _container(task: str) -> Path:
    return (R, task, P, "ContainerDefinitions", 0)


def _statements(role: str) -> Path:
    return (R, role, P, "Policies", 0, "PolicyDocument", "Statement")


def _service_network(service: str) -> Path:
    return (R, service, P, "NetworkConfiguration", "AwsvpcConfiguration")


_INGESTION_TARGET: Path = (R, "DataIngestionTriggerRule", P, "Targets", 0)
_KEY_STATEMENTS: Path = (R, "RiskBatchKey", P, "KeyPolicy", "Statement")
_FAILURE_ALARM: Path = (R, "TaskFailureRateAlarm", P)


def _policy_statements(template: dict[str, Any], role: str) -> list[Any]:
    return template[R][role][P]["Policies"][0]["PolicyDocument"]["Statement"]


def _unconditioned_output_key(role: str) -> Callable[[dict[str, Any]], None]:
    """The role's grant on the output bucket's key loses its kms:ViaService condition."""

    def edit(template: dict[str, Any]) -> None:
        for statement in _policy_statements(template, role):
            if isinstance(statement, dict) and "Fn::If" in statement and statement["Fn::If"][0] == "HasOutputBucketKmsKey":
                del statement["Fn::If"][1]["Condition"]

    return edit


def _probes_unconditioned(role: str) -> Callable[[dict[str, Any]], None]:
    """The role's probe statement granted whatever EnableAccessProbes says."""

    def edit(template: dict[str, Any]) -> None:
        statements = _policy_statements(template, role)
        for index, statement in enumerate(statements):
            if isinstance(statement, dict) and "Fn::If" in statement and statement["Fn::If"][0] == "AccessProbesEnabled":
                statements[index] = statement["Fn::If"][1]

    return edit


MUTATIONS: list[Mutation] = [
    # Parameters
    Mutation("suffix-too-long", "parameters: suffix keeps names within limits", set_("Parameters", "EnvironmentSuffix", "MaxLength", 40)),
    Mutation("suffix-uppercase", "parameters: suffix constraint", set_("Parameters", "EnvironmentSuffix", "AllowedPattern", "^[A-Za-z0-9-]+$")),
    Mutation("vpc-plain-string", "parameters: VpcId typed", set_("Parameters", "VpcId", "Type", "String")),
    Mutation("subnet-plain-string", "parameters: subnets typed", set_("Parameters", "PrivateSubnet3Id", "Type", "String")),
    Mutation("parameter-undescribed", "parameters: descriptions", delete("Parameters", "ImageTag", "Description")),
    Mutation("parameter-ungrouped", "parameters: interface groups", delete("Metadata", "AWS::CloudFormation::Interface", "ParameterGroups", 4)),
    Mutation("bucket-unconstrained", "parameters: constraints", delete("Parameters", "OutputBucketName", "AllowedPattern")),
    Mutation("switch-any-value", "parameters: switches", delete("Parameters", "CreateTaskEventsLogPolicy", "AllowedValues")),
    Mutation("no-subnet-rule", "parameters: rules refuse a subnet given twice", delete("Rules", "ThreeDistinctPrivateSubnets", "Assertions", 2)),
    Mutation("no-bucket-rule", "parameters: rules refuse one bucket for input and output", delete("Rules", "DistinctInputAndOutputBuckets")),
    # Key
    Mutation("key-no-rotation", "key: rotation", set_(R, "RiskBatchKey", P, "EnableKeyRotation", False)),
    Mutation("key-30-day-window", "key: 7-day deletion window", set_(R, "RiskBatchKey", P, "PendingWindowInDays", 30)),
    Mutation("key-logs-unconditioned", "key: logs only under the encryption context", delete(*_KEY_STATEMENTS, 1, "Condition")),
    Mutation(
        "key-logs-misses-last-group",
        "key: logs for every stack log group",
        delete(*_KEY_STATEMENTS, 1, "Condition", "StringEquals", "kms:EncryptionContext:aws:logs:arn", 3),
    ),
    Mutation("key-no-alarms", "key: alarms may use it", delete(*_KEY_STATEMENTS, 2)),
    Mutation("key-no-eventbridge", "key: EventBridge may use it", delete(*_KEY_STATEMENTS, 3)),
    Mutation("alias-unsuffixed", "key: alias naming", set_(R, "RiskBatchKeyAlias", P, "AliasName", "alias/kms-riskbatch")),
    # Cluster
    Mutation("insights-off", "cluster: Container Insights", set_(R, "RiskBatchCluster", P, "ClusterSettings", 0, "Value", "disabled")),
    Mutation(
        "no-fargate-spot",
        "cluster: FARGATE and FARGATE_SPOT associated",
        set_(R, "ClusterCapacityProviders", P, "CapacityProviders", ["FARGATE"]),
    ),
    Mutation(
        "ec2-capacity",
        "cluster: no EC2",
        set_(
            R,
            "Ec2CapacityProvider",
            {"Type": "AWS::ECS::CapacityProvider", "Properties": {"AutoScalingGroupProvider": {"AutoScalingGroupArn": "arn"}}},
        ),
    ),
    # Repositories (first and last)
    Mutation("scan-off-first", "ECR: scan on push", set_(R, "DataIngestionRepository", P, "ImageScanningConfiguration", "ScanOnPush", False)),
    Mutation("scan-off-last", "ECR: scan on push", set_(R, "ReportGenerationRepository", P, "ImageScanningConfiguration", "ScanOnPush", False)),
    Mutation(
        "lifecycle-keeps-100",
        "ECR: keep last 10",
        set_(
            R,
            "RiskCalculationRepository",
            P,
            "LifecyclePolicy",
            "LifecyclePolicyText",
            '{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":100},"action":{"type":"expire"}}]}',
        ),
    ),
    Mutation("not-empty-on-delete", "ECR: EmptyOnDelete", set_(R, "ReportGenerationRepository", P, "EmptyOnDelete", False)),
    Mutation("mutable-tags", "ECR: immutable tags", set_(R, "DataIngestionRepository", P, "ImageTagMutability", "MUTABLE")),
    # Log groups (first and last)
    Mutation("retention-7-first", "logs: 30-day retention", set_(R, "DataIngestionLogGroup", P, "RetentionInDays", 7)),
    Mutation("retention-7-last", "logs: 30-day retention", set_(R, "TaskEventsLogGroup", P, "RetentionInDays", 7)),
    Mutation("log-group-unencrypted", "logs: KMS", delete(R, "ReportGenerationLogGroup", P, "KmsKeyId")),
    # Task definitions
    Mutation("writable-root-last", "task: read-only root", set_(*_container("DeadlineCheckTaskDefinition"), "ReadonlyRootFilesystem", False)),
    Mutation("root-user-first", "task: non-root user", set_(*_container("DataIngestionTaskDefinition"), "User", "0")),
    Mutation("privileged", "task: not privileged", set_(*_container("RiskCalculationTaskDefinition"), "Privileged", True)),
    Mutation("stop-timeout-30", "task: StopTimeout 120", set_(*_container("ReportGenerationTaskDefinition"), "StopTimeout", 30)),
    Mutation("invalid-fargate-pair", "task: valid Fargate pair", set_(R, "DataIngestionTaskDefinition", P, "Memory", "1024")),
    Mutation("container-oversubscribed", "task: no oversubscription", set_(*_container("RiskCalculationTaskDefinition"), "Memory", 16384)),
    Mutation(
        "container-soft-memory",
        "task: container hard memory limit",
        both(
            delete(*_container("ReportGenerationTaskDefinition"), "Memory"),
            set_(*_container("ReportGenerationTaskDefinition"), "MemoryReservation", 2048),
        ),
    ),
    Mutation("ec2-compatible", "task: Fargate only", set_(R, "ReportGenerationTaskDefinition", P, "RequiresCompatibilities", ["FARGATE", "EC2"])),
    Mutation("bridge-network", "task: awsvpc", set_(R, "RiskCalculationTaskDefinition", P, "NetworkMode", "bridge")),
    Mutation(
        "shared-task-role",
        "IAM: one task role per job",
        set_(R, "ReportGenerationTaskDefinition", P, "TaskRoleArn", {"Fn::GetAtt": ["RiskCalculationTaskRole", "Arn"]}),
    ),
    Mutation(
        "shared-log-group",
        "task: own log group",
        set_(
            *_container("ReportGenerationTaskDefinition"),
            "LogConfiguration",
            "Options",
            "awslogs-group",
            {"Ref": "RiskCalculationLogGroup"},
        ),
    ),
    Mutation(
        "no-health-check",
        "service: grace period backed by a health check",
        delete(*_container("RiskCalculationTaskDefinition"), "HealthCheck"),
    ),
    Mutation("no-scratch-mount", "task: scratch volume", delete(*_container("ReportGenerationTaskDefinition"), "MountPoints")),
    # Ingestion trigger
    Mutation("any-prefix", "ingestion: input bucket and prefix", delete(R, "DataIngestionTriggerRule", P, "EventPattern", "detail", "object")),
    Mutation(
        "wrong-container-override",
        "ingestion: transformer hands bucket and key to the container",
        set_(
            *_INGESTION_TARGET,
            "InputTransformer",
            "InputTemplate",
            '{"containerOverrides": [{"name": "ingest", "command": ["ingest", "--bucket", <bucket>, "--key", <key>]}]}',
        ),
    ),
    Mutation("no-retry", "ingestion: retry policy", delete(*_INGESTION_TARGET, "RetryPolicy")),
    Mutation("completion-no-dlq", "events: dead-letter queue", delete(R, "RunCompletedRule", P, "Targets", 0, "DeadLetterConfig")),
    Mutation("target-launch-type", "ingestion: strategy, no launch type", set_(*_INGESTION_TARGET, "EcsParameters", "LaunchType", "FARGATE")),
    Mutation(
        "target-public-ip",
        "ingestion: no public IP",
        set_(*_INGESTION_TARGET, "EcsParameters", "NetworkConfiguration", "AwsVpcConfiguration", "AssignPublicIp", "ENABLED"),
    ),
    Mutation(
        "target-two-subnets",
        "ingestion: three subnets",
        delete(*_INGESTION_TARGET, "EcsParameters", "NetworkConfiguration", "AwsVpcConfiguration", "Subnets", 2),
    ),
    Mutation("target-platform-1-3", "ingestion: platform version", set_(*_INGESTION_TARGET, "EcsParameters", "PlatformVersion", "1.3.0")),
    # IAM
    Mutation("wildcard-action", "IAM: no wildcard actions", set_(*_statements("RiskCalculationTaskRole"), 0, "Action", "sqs:*")),
    Mutation("star-resource", "IAM: * only for star-only actions", set_(*_statements("DataIngestionTaskRole"), 4, "Resource", "*")),
    Mutation(
        "admin-policy-last-role",
        "IAM: no Administrator",
        set_(R, "ReportGenerationTaskRole", P, "ManagedPolicyArns", ["arn:aws:iam::aws:policy/AdministratorAccess"]),
    ),
    Mutation("run-task-any-cluster", "IAM: RunTask conditioned on the cluster", delete(*_statements("DataIngestionTriggerRole"), 0, "Condition")),
    Mutation(
        "pass-extra-role",
        "IAM: PassRole exactly the task's roles",
        append(*_statements("DataIngestionTriggerRole"), 1, "Resource", {"Fn::GetAtt": ["RiskCalculationTaskRole", "Arn"]}),
    ),
    Mutation(
        "pull-other-repository",
        "IAM: execution role pulls its own repository",
        set_(*_statements("ReportGenerationExecutionRole"), 1, "Resource", {"Fn::GetAtt": ["RiskCalculationRepository", "Arn"]}),
    ),
    Mutation(
        "log-other-group",
        "IAM: execution role writes its own log group",
        set_(*_statements("DataIngestionExecutionRole"), 2, "Resource", {"Fn::GetAtt": ["RiskCalculationLogGroup", "Arn"]}),
    ),
    Mutation(
        "role-without-region",
        "naming: role names carry the region",
        set_(R, "DataIngestionExecutionRole", P, "RoleName", {"Fn::Sub": "role-data-ingestion-exec-${EnvironmentSuffix}"}),
    ),
    Mutation(
        "task-role-deletes",
        "IAM: no object deletion",
        set_(*_statements("ReportGenerationTaskRole"), 3, "Action", ["s3:PutObject", "s3:DeleteObject"]),
    ),
    Mutation(
        "reads-whole-bucket",
        "IAM: S3 prefixes",
        set_(*_statements("DataIngestionTaskRole"), 0, "Resource", {"Fn::Sub": "arn:${AWS::Partition}:s3:::${InputBucketName}/*"}),
    ),
    # Services (first and last)
    Mutation(
        "no-rollback-first",
        "service: circuit breaker with rollback",
        set_(R, "RiskCalculationService", P, "DeploymentConfiguration", "DeploymentCircuitBreaker", "Rollback", False),
    ),
    Mutation("grace-60-last", "service: 120 s grace period", set_(R, "ReportGenerationService", P, "HealthCheckGracePeriodSeconds", 60)),
    Mutation(
        "placement-strategy",
        "service: no placement strategies",
        set_(R, "ReportGenerationService", P, "PlacementStrategies", [{"Type": "spread", "Field": "attribute:ecs.availability-zone"}]),
    ),
    Mutation("service-launch-type", "service: strategy, no launch type", set_(R, "RiskCalculationService", P, "LaunchType", "FARGATE")),
    Mutation(
        "single-subnet-last",
        "service: three subnets",
        set_(*_service_network("ReportGenerationService"), "Subnets", [{"Ref": "PrivateSubnet1Id"}]),
    ),
    Mutation("public-ip-first", "service: no public IP", set_(*_service_network("RiskCalculationService"), "AssignPublicIp", "ENABLED")),
    Mutation("desired-count", "service: no DesiredCount", set_(R, "ReportGenerationService", P, "DesiredCount", 2)),
    Mutation(
        "half-healthy",
        "service: MinimumHealthyPercent 100",
        set_(R, "RiskCalculationService", P, "DeploymentConfiguration", "MinimumHealthyPercent", 50),
    ),
    Mutation("no-rebalancing", "service: AZ rebalancing", set_(R, "ReportGenerationService", P, "AvailabilityZoneRebalancing", "DISABLED")),
    Mutation("service-unconditional", "service: first deployment without services", delete(R, "RiskCalculationService", "Condition")),
    Mutation("service-before-providers", "service: depends on the capacity providers", delete(R, "ReportGenerationService", "DependsOn")),
    # Scaling
    Mutation(
        "cpu-80-last",
        "scaling: 70 % CPU",
        set_(R, "ReportGenerationCpuScalingPolicy", P, "TargetTrackingScalingPolicyConfiguration", "TargetValue", 80),
    ),
    Mutation(
        "scale-in-60",
        "scaling: 300 s cooldowns",
        set_(R, "RiskCalculationCpuScalingPolicy", P, "TargetTrackingScalingPolicyConfiguration", "ScaleInCooldown", 60),
    ),
    Mutation(
        "target-wrong-service",
        "scaling: target points at its service",
        set_(R, "ReportGenerationScalableTarget", P, "ResourceId", "Fn::Join", 1, 2, {"Fn::GetAtt": ["RiskCalculationService", "Name"]}),
    ),
    Mutation("schedule-utc", "scaling: New York window", set_(R, "RiskCalculationScalableTarget", P, "ScheduledActions", 1, "Timezone", "UTC")),
    Mutation(
        "backlog-watches-dlq",
        "scaling: backlog of its own queue",
        set_(R, "ReportGenerationBacklogAlarm", P, "Dimensions", 0, "Value", {"Fn::GetAtt": ["ReportDeadLetterQueue", "QueueName"]}),
    ),
    # Queues
    Mutation("ten-receives", "SQS: DLQ after 3 receives", set_(R, "RiskWorkQueue", P, "RedrivePolicy", "maxReceiveCount", 10)),
    Mutation("no-redrive-last", "SQS: redrive to DLQ", delete(R, "ReportQueue", P, "RedrivePolicy")),
    Mutation("queue-unencrypted-first", "SQS: KMS", delete(R, "EventDeliveryDeadLetterQueue", P, "KmsMasterKeyId")),
    Mutation("short-visibility", "SQS: visibility longer than a unit", set_(R, "ReportQueue", P, "VisibilityTimeout", 30)),
    Mutation("no-report-queue-policy", "completion: events may deliver to the report queue", delete(R, "ReportQueuePolicy")),
    Mutation(
        "completion-wrong-queue",
        "completion: routes to the report queue",
        set_(R, "RunCompletedRule", P, "Targets", 0, "Arn", {"Fn::GetAtt": ["RiskWorkQueue", "Arn"]}),
    ),
    # Monitoring
    Mutation("failure-threshold-10", "monitoring: > 5 %", set_(*_FAILURE_ALARM, "Threshold", 10)),
    Mutation("failure-period-60", "monitoring: over 10 minutes", set_(*_FAILURE_ALARM, "Metrics", 0, "MetricStat", "Period", 60)),
    Mutation(
        "exit-zero-counts-as-failure",
        "monitoring: exit 0 is not a failure",
        set_(
            R,
            "TasksFailedMetricFilter",
            P,
            "FilterPattern",
            '{ ($.detail.lastStatus = "STOPPED") && (($.detail.stopCode = "TaskFailedToStart") || ($.detail.stopCode = "EssentialContainerExited")) }',
        ),
    ),
    Mutation(
        "alarm-reads-other-metric",
        "monitoring: alarm reads the filters' metrics",
        set_(*_FAILURE_ALARM, "Metrics", 1, "MetricStat", "Metric", "MetricName", "TaskFailures"),
    ),
    Mutation("silent-dlq-alarm", "monitoring: DLQ alarms notify", delete(R, "ReportDeadLetterAlarm", P, "AlarmActions")),
    Mutation("silent-dlq-arrival-alarm", "monitoring: DLQ alarms notify", delete(R, "ReportDeadLetterArrivalAlarm", P, "AlarmActions")),
    Mutation("no-completion-invocations-alarm", "monitoring: failed-invocation alarms", delete(R, "RunCompletedRuleFailedInvocationsAlarm")),
    Mutation("no-trigger-dlq-failure-alarm", "monitoring: events lost beyond the DLQ alarm", delete(R, "DataIngestionTriggerDeadLetterFailuresAlarm")),
    Mutation(
        "completion-dlq-alarm-by-ref",
        "monitoring: rule metrics by the rule's name",
        set_(R, "RunCompletedRuleDeadLetterFailuresAlarm", P, "Dimensions", 1, "Value", {"Ref": "RunCompletedRule"}),
    ),
    Mutation(
        "rule-name-output-by-ref",
        "outputs: a custom-bus rule's name, not its Ref",
        set_("Outputs", "RunCompletedRuleName", "Value", {"Ref": "RunCompletedRule"}),
    ),
    Mutation("log-policy-mandatory", "monitoring: the task events log policy can be shared", delete(R, "TaskEventsLogResourcePolicy", "Condition")),
    Mutation("topic-unencrypted", "SNS: KMS", delete(R, "AlertTopic", P, "KmsMasterKeyId")),
    Mutation("no-logs-resource-policy", "monitoring: logs resource policy for EventBridge", delete(R, "TaskEventsLogResourcePolicy")),
    Mutation("failure-alarm-silent", "monitoring: failure alarm has an action", delete(*_FAILURE_ALARM, "AlarmActions")),
    # Network
    Mutation(
        "ssh-ingress",
        "network: no ingress",
        set_(R, "TaskSecurityGroup", P, "SecurityGroupIngress", [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "10.0.0.0/8"}]),
    ),
    Mutation("egress-all-ports", "network: egress 443 only", set_(R, "TaskSecurityGroup", P, "SecurityGroupEgress", 0, "ToPort", 65535)),
    Mutation(
        "sg-reserved-name",
        "naming: AWS constraints (no sg- prefix)",
        set_(R, "TaskSecurityGroup", P, "GroupName", {"Fn::Sub": "sg-riskbatch-tasks-${EnvironmentSuffix}"}),
    ),
    Mutation(
        "endpoint-in-environment-stack",
        "network: private-DNS endpoints only in the per-VPC stack",
        set_(
            R,
            "SqsEndpoint",
            {
                "Type": "AWS::EC2::VPCEndpoint",
                P: {
                    "ServiceName": {"Fn::Sub": "com.amazonaws.${AWS::Region}.sqs"},
                    "VpcEndpointType": "Interface",
                    "VpcId": {"Ref": "VpcId"},
                    "PrivateDnsEnabled": True,
                    "SubnetIds": [{"Ref": "PrivateSubnet1Id"}, {"Ref": "PrivateSubnet2Id"}, {"Ref": "PrivateSubnet3Id"}],
                },
            },
        ),
    ),
    # Principals in every form, in every resource policy
    Mutation("key-principal-everyone-list", "policies: nobody allows everyone", set_(*_KEY_STATEMENTS, 0, "Principal", {"AWS": ["*"]})),
    Mutation("topic-allows-everyone", "policies: nobody allows everyone", set_(R, "AlertTopicPolicy", P, "PolicyDocument", "Statement", 0, "Principal", "*")),
    Mutation(
        "queue-allows-everyone-list",
        "policies: nobody allows everyone",
        set_(R, "ReportQueuePolicy", P, "PolicyDocument", "Statement", 0, "Principal", {"AWS": ["arn:aws:iam::123456789012:root", "*"]}),
    ),
    Mutation(
        "logs-policy-allows-everyone",
        "policies: nobody allows everyone",
        set_(R, "TaskEventsLogResourcePolicy", P, "PolicyDocument", "Statement", 0, "Principal", {"AWS": "*"}),
    ),
    Mutation(
        "logs-policy-as-text",
        "policies: documents readable by the checks",
        set_(
            R,
            "TaskEventsLogResourcePolicy",
            P,
            "PolicyDocument",
            {"Fn::Sub": '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"logs:*","Resource":"${TaskEventsLogGroup.Arn}"}]}'},
        ),
    ),
    Mutation(
        "logs-policy-any-source",
        "policies: services held to their source",
        delete(R, "TaskEventsLogResourcePolicy", P, "PolicyDocument", "Statement", 0, "Condition"),
    ),
    # Every way a security-group rule can be declared
    Mutation(
        "standalone-egress-all-traffic",
        "network: egress 443 only",
        set_(
            R,
            "TaskAllTrafficEgress",
            {
                "Type": "AWS::EC2::SecurityGroupEgress",
                P: {"GroupId": {"Fn::GetAtt": ["TaskSecurityGroup", "GroupId"]}, "IpProtocol": "-1", "CidrIp": "0.0.0.0/0"},
            },
        ),
    ),
    Mutation(
        "standalone-ingress",
        "network: no ingress",
        set_(
            R,
            "TaskHttpsIngress",
            {
                "Type": "AWS::EC2::SecurityGroupIngress",
                P: {"GroupId": {"Ref": "TaskSecurityGroup"}, "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/8"},
            },
        ),
    ),
    # Exact filter patterns
    Mutation(
        "failed-filter-or",
        "monitoring: a failure is a stopped task that failed",
        set_(
            R,
            "TasksFailedMetricFilter",
            P,
            "FilterPattern",
            '{ ($.detail.lastStatus = "STOPPED") || (($.detail.stopCode = "TaskFailedToStart") || ($.detail.containers[0].exitCode != 0)) }',
        ),
    ),
    # Outputs, lifecycle, naming
    Mutation("no-queue-output", "outputs: what the scripts need", delete("Outputs", "RiskWorkQueueUrl")),
    Mutation("export-unsuffixed", "outputs: exported with the suffix", set_("Outputs", "ClusterName", "Export", "Name", "riskbatch-cluster-name")),
    Mutation("retain-queue", "lifecycle: no Retain", set_(R, "RiskWorkQueue", "DeletionPolicy", "Retain")),
    Mutation("retain-key-on-replace", "lifecycle: no Retain", set_(R, "RiskBatchKey", "UpdateReplacePolicy", "Retain")),
    # The production-only Retain the requirements forbid: a function whose one branch keeps the data
    Mutation(
        "retain-log-group-in-production-first",
        "lifecycle: no Retain",
        set_(R, "DataIngestionLogGroup", "DeletionPolicy", {"Fn::If": ["IsProduction", "Retain", "Delete"]}),
    ),
    Mutation("snapshot-log-group-on-replace-last", "lifecycle: no Retain", set_(R, "TaskEventsLogGroup", "UpdateReplacePolicy", "Snapshot")),
    Mutation("language-extensions-transform", "lifecycle: no Retain", set_("Transform", "AWS::LanguageExtensions")),
    # What outlives the stack: nothing under the stack's key; the probes' grant only when asked for
    Mutation(
        "audit-copy-under-the-stacks-key",
        "outliving data: no resource of the stack",
        set_(
            R,
            "AuditLogsDeliveryStream",
            P,
            "ExtendedS3DestinationConfiguration",
            "EncryptionConfiguration",
            {"KMSEncryptionConfig": {"AWSKMSKeyARN": {"Fn::GetAtt": ["RiskBatchKey", "Arn"]}}},
        ),
    ),
    Mutation("output-bucket-key-beyond-s3", "outliving data: the output bucket's key", _unconditioned_output_key("ReportGenerationTaskRole")),
    Mutation("probes-granted-in-production", "probes: only when asked for", _probes_unconditioned("RiskCalculationTaskRole")),
    Mutation(
        "enhanced-findings-not-granted",
        "IAM: what each call depends on",
        lambda template: _policy_statements(template, "PreNightCheckTaskRole").__setitem__(
            slice(None),
            [s for s in _policy_statements(template, "PreNightCheckTaskRole") if not (isinstance(s, dict) and s.get("Action") == "inspector2:ListFindings")],
        ),
    ),
    Mutation("queue-unsuffixed-last", "naming: suffix", set_(R, "ReportQueue", P, "QueueName", "sqs-report")),
    Mutation("cluster-unsuffixed", "naming: suffix", set_(R, "RiskBatchCluster", P, "ClusterName", "cluster-riskbatch")),
    Mutation(
        "alarm-name-off-pattern",
        "naming: {type}-{purpose}-{suffix}",
        set_(R, "RunCompletedRuleFailedInvocationsAlarm", P, "AlarmName", {"Fn::Sub": "RunCompletedFailures${EnvironmentSuffix}"}),
    ),
    # The gate's classes: every instance of a kind of hole
    Mutation("task-role-any-kms-key", "IAM: KMS only on the stack's keys", kms_on_any_key("RiskCalculationTaskRole")),
    Mutation(
        "managed-policy-on-a-role",
        "IAM: KMS only on the stack's keys",
        set_(R, "ReportGenerationTaskRole", P, "ManagedPolicyArns", [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AWSKeyManagementServicePowerUser"}]),
    ),
    Mutation("topic-tls-denial-removed", "policies: TLS only", drop_tls_denial("AlertTopicPolicy")),
    Mutation("work-queue-tls-denial-removed", "policies: TLS only", drop_tls_denial("RiskWorkQueuePolicy")),
    Mutation(
        "container-adds-capability",
        "task: no Linux capabilities",
        set_(*_container("ReportGenerationTaskDefinition"), "LinuxParameters", "Capabilities", "Add", ["NET_ADMIN"]),
    ),
    Mutation("container-keeps-capabilities", "task: no Linux capabilities", delete(*_container("DataIngestionTaskDefinition"), "LinuxParameters")),
    Mutation("service-ecs-exec", "service: no ECS Exec", set_(R, "RiskCalculationService", P, "EnableExecuteCommand", True)),
    Mutation("work-queue-keeps-60-s", "queues: work outlives the night", set_(R, "ReportQueue", P, "MessageRetentionPeriod", 60)),
    Mutation(
        "key-second-accounts-role",
        "key: principals of this account only",
        append(
            *_KEY_STATEMENTS,
            {
                "Sid": "PartnerRole",
                "Effect": "Allow",
                "Principal": {"AWS": {"Fn::Sub": "arn:aws:iam::210987654321:role/${DataIngestionTaskRole}"}},
                "Action": "kms:Decrypt",
                "Resource": "*",
            },
        ),
    ),
    Mutation(
        "key-second-account",
        "key: principals of this account only",
        append(
            *_KEY_STATEMENTS,
            {"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::210987654321:root"}, "Action": "kms:Decrypt", "Resource": "*"},
        ),
    ),
]

# requirement -> the tests that state it (file.py::test, or a guard rule's case); a mutant of the
# requirement is killed only when one of these fails (test/mutation/run.py).
REQUIREMENT_TESTS: dict[str, tuple[str, ...]] = {
    "IAM: KMS only on the stack's keys": (
        "test_iam.py::test_kms_permission_names_only_the_stacks_own_keys",
        "test_iam.py::test_every_permission_is_an_inline_policy_of_a_role_the_checks_read",
    ),
    "policies: TLS only": ("test_resource_policies.py::test_every_queue_and_topic_has_a_policy_that_denies_requests_without_tls",),
    "task: no Linux capabilities": ("test_task_definitions.py::test_container_drops_every_linux_capability_and_adds_none",),
    "service: no ECS Exec": ("test_services.py::test_no_task_is_started_with_ecs_exec",),
    "queues: work outlives the night": ("test_events_and_queues.py::test_work_queue_keeps_messages_longer_than_the_overnight_window",),
    "key: principals of this account only": ("test_encryption.py::test_key_policy_names_only_this_account_its_roles_and_named_services",),
    "ECR: EmptyOnDelete": (
        "test_cluster_and_repositories.py::test_repository_empties_on_delete",
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecr_empty_on_delete]",
    ),
    "ECR: immutable tags": ("test_cluster_and_repositories.py::test_repository_tags_are_immutable",),
    "ECR: keep last 10": (
        "test_cluster_and_repositories.py::test_repository_keeps_the_last_ten_images_of_any_tag",
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecr_lifecycle_keeps_last_ten_images]",
    ),
    "ECR: scan on push": (
        "test_cluster_and_repositories.py::test_repository_scans_on_push",
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecr_scan_on_push]",
    ),
    "IAM: * only for star-only actions": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[iam_star_resource_only_for_star_only_actions]",
        "test_iam.py::test_star_resource_only_for_actions_aws_grants_on_star_only",
    ),
    "IAM: PassRole exactly the task's roles": ("test_iam.py::test_run_task_role_passes_exactly_the_two_roles_of_its_task_definition",),
    "IAM: RunTask conditioned on the cluster": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[iam_run_task_limited_to_cluster_and_named_roles]",
        "test_iam.py::test_run_task_role_runs_only_its_task_definition_on_its_cluster",
    ),
    "IAM: S3 prefixes": ("test_iam.py::test_task_role_never_deletes_objects_or_touches_buckets_outside_the_parameters",),
    "IAM: execution role pulls its own repository": ("test_iam.py::test_execution_role_pulls_from_its_own_repository_only",),
    "IAM: execution role writes its own log group": ("test_iam.py::test_execution_role_writes_its_own_log_group_only",),
    "IAM: no Administrator": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[iam_no_admin_or_poweruser_policies]",
        "test_iam.py::test_role_has_no_administrator_or_power_user_policy",
    ),
    "IAM: no object deletion": ("test_iam.py::test_task_role_never_deletes_objects_or_touches_buckets_outside_the_parameters",),
    "IAM: no wildcard actions": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[iam_no_wildcard_actions]",
        "test_iam.py::test_role_allows_no_wildcard_action",
    ),
    "IAM: one task role per job": ("test_task_definitions.py::test_task_has_its_own_task_and_execution_roles",),
    "SNS: KMS": (
        "test_encryption.py::test_topic_is_encrypted_with_the_key",
        "test_guard_rules.py::test_rule_passes_on_the_stack[sns_topics_encrypted]",
    ),
    "SQS: DLQ after 3 receives": (
        "test_events_and_queues.py::test_work_queue_redrives_to_a_dead_letter_queue_after_three_receives",
        "test_guard_rules.py::test_rule_passes_on_the_stack[sqs_queues_redrive_to_dead_letter_queues]",
    ),
    "SQS: KMS": (
        "test_encryption.py::test_queue_is_encrypted_with_the_key",
        "test_guard_rules.py::test_rule_passes_on_the_stack[sqs_queues_encrypted]",
    ),
    "SQS: redrive to DLQ": (
        "test_events_and_queues.py::test_work_queue_redrives_to_a_dead_letter_queue_after_three_receives",
        "test_guard_rules.py::test_rule_passes_on_the_stack[sqs_queues_redrive_to_dead_letter_queues]",
        "test_services.py::test_service_consumes_a_queue_that_redrives_to_a_dead_letter_queue",
    ),
    "SQS: visibility longer than a unit": ("test_events_and_queues.py::test_work_queue_visibility_outlasts_a_unit_and_a_graceful_stop",),
    "cluster: Container Insights": ("test_cluster_and_repositories.py::test_cluster_has_container_insights",),
    "cluster: FARGATE and FARGATE_SPOT associated": ("test_cluster_and_repositories.py::test_cluster_uses_fargate_and_fargate_spot_with_a_default_strategy",),
    "cluster: no EC2": (
        "test_cluster_and_repositories.py::test_no_ec2_capacity_anywhere",
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_fargate_capacity_only]",
    ),
    "completion: events may deliver to the report queue": ("test_events_and_queues.py::test_queue_targets_may_receive_from_their_rule_only",),
    "completion: routes to the report queue": (
        "test_events_and_queues.py::test_completion_rule_routes_run_completed_from_the_workers_bus_to_the_report_queue",
    ),
    "events: dead-letter queue": ("test_events_and_queues.py::test_delivery_target_retries_and_dead_letters",),
    "ingestion: input bucket and prefix": ("test_events_and_queues.py::test_ingestion_rule_matches_objects_created_in_the_input_bucket_under_the_prefix",),
    "ingestion: no public IP": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_no_public_ip]",
        "test_services.py::test_runs_in_the_three_private_subnets_without_public_ip",
    ),
    "ingestion: platform version": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_platform_version_1_4_0_or_later]",
        "test_services.py::test_platform_version_is_1_4_0_or_latest",
    ),
    "ingestion: retry policy": ("test_events_and_queues.py::test_delivery_target_retries_and_dead_letters",),
    "ingestion: strategy, no launch type": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_no_launch_type_with_capacity_provider_strategy]",
        "test_services.py::test_uses_a_fargate_capacity_provider_strategy_and_never_a_launch_type",
    ),
    "ingestion: three subnets": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_tasks_in_three_subnets]",
        "test_services.py::test_runs_in_the_three_private_subnets_without_public_ip",
    ),
    "ingestion: transformer hands bucket and key to the container": (
        "test_events_and_queues.py::test_ingestion_input_transformer_hands_bucket_and_key_to_the_container",
    ),
    "key: 7-day deletion window": ("test_encryption.py::test_key_rotates_and_can_be_deleted_within_seven_days",),
    "key: EventBridge may use it": (
        "test_encryption.py::test_alarms_and_eventbridge_may_use_the_key",
        "test_encryption.py::test_the_key_policy_admits_each_service_with_the_condition_keys_its_request_carries",
    ),
    "key: alarms may use it": (
        "test_encryption.py::test_alarms_and_eventbridge_may_use_the_key",
        "test_encryption.py::test_alarms_may_use_the_key_within_this_account",
        "test_encryption.py::test_the_key_policy_admits_each_service_with_the_condition_keys_its_request_carries",
    ),
    "key: alias naming": (
        "test_encryption.py::test_key_has_an_alias_following_the_naming_rule",
        "test_guard_rules.py::test_rule_passes_on_the_stack[resources_named_with_environment_suffix]",
        "test_naming.py::test_name_follows_type_purpose_suffix",
        "test_naming.py::test_name_is_built_from_the_suffix",
    ),
    "key: logs for every stack log group": ("test_encryption.py::test_logs_may_use_the_key_only_for_this_stacks_log_groups",),
    "key: logs only under the encryption context": (
        "test_encryption.py::test_logs_may_use_the_key_only_for_this_stacks_log_groups",
        "test_guard_rules.py::test_rule_passes_on_the_stack[kms_key_policy_allows_logs_with_encryption_context]",
        "test_resource_policies.py::test_a_service_allowed_into_a_resource_policy_is_held_to_its_source",
    ),
    "key: rotation": (
        "test_encryption.py::test_key_rotates_and_can_be_deleted_within_seven_days",
        "test_guard_rules.py::test_rule_passes_on_the_stack[kms_key_policy_allows_logs_with_encryption_context]",
    ),
    "lifecycle: no Retain": (
        "test_audit_retention.py::test_every_resource_is_deleted_with_the_stack_in_every_environment",
        "test_audit_retention.py::test_the_template_declares_no_transform",
        "test_guard_rules.py::test_rule_passes_on_the_stack[no_retain_policies]",
        "test_network_outputs_and_lifecycle.py::test_resource_is_deleted_with_the_stack",
    ),
    "outliving data: no resource of the stack": (
        "test_outliving_data.py::test_no_data_store_that_outlives_the_stack_depends_on_a_resource_of_the_stack",
        "test_audit_retention.py::test_the_audit_copy_lands_in_the_output_bucket_under_audit",
    ),
    "outliving data: the output bucket's key": (
        "test_outliving_data.py::test_every_role_that_uses_the_output_bucket_may_use_its_key_through_s3_only",
        "test_outliving_data.py::test_no_grant_to_encrypt_through_s3_names_a_key_of_the_stack",
    ),
    "IAM: what each call depends on": ("test_iam.py::test_a_role_is_granted_what_each_of_its_calls_depends_on",),
    "probes: only when asked for": (
        "test_outliving_data.py::test_a_task_role_touches_probes_only_in_a_stack_deployed_for_the_probes",
        "test_outliving_data.py::test_every_probe_statement_is_under_the_probes_condition",
    ),
    "logs: 30-day retention": (
        "test_encryption.py::test_log_group_is_encrypted_with_the_key_and_kept_30_days",
        "test_guard_rules.py::test_rule_passes_on_the_stack[log_groups_retention_30_days]",
    ),
    "logs: KMS": (
        "test_encryption.py::test_log_group_is_encrypted_with_the_key_and_kept_30_days",
        "test_guard_rules.py::test_rule_passes_on_the_stack[log_groups_encrypted_with_customer_key]",
    ),
    "monitoring: > 5 %": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[cloudwatch_failure_rate_alarm_with_action]",
        "test_monitoring.py::test_failure_rate_alarm_divides_the_filters_metrics_over_ten_minutes",
    ),
    "monitoring: DLQ alarms notify": (
        "test_monitoring.py::test_alarms_that_are_not_scaling_triggers_notify_the_topic",
        "test_monitoring.py::test_every_dead_letter_queue_holding_messages_alarms_to_the_topic",
        "test_monitoring.py::test_every_dead_letter_queue_alarms_on_each_new_dead_letter",
        "test_monitoring.py::test_two_dead_letters_an_hour_apart_give_two_notifications",
    ),
    "monitoring: a failure is a stopped task that failed": ("test_monitoring.py::test_metric_filters_count_stopped_and_failed_tasks",),
    "monitoring: alarm reads the filters' metrics": ("test_monitoring.py::test_failure_rate_alarm_divides_the_filters_metrics_over_ten_minutes",),
    "monitoring: events lost beyond the DLQ alarm": ("test_monitoring.py::test_rule_delivery_failures_alarm_to_the_topic",),
    "monitoring: exit 0 is not a failure": ("test_monitoring.py::test_metric_filters_count_stopped_and_failed_tasks",),
    "monitoring: failed-invocation alarms": ("test_monitoring.py::test_rule_delivery_failures_alarm_to_the_topic",),
    "monitoring: failure alarm has an action": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[cloudwatch_failure_rate_alarm_with_action]",
        "test_monitoring.py::test_alarms_that_are_not_scaling_triggers_notify_the_topic",
        "test_monitoring.py::test_failure_rate_alarm_notifies_the_topic",
    ),
    "monitoring: logs resource policy for EventBridge": ("test_monitoring.py::test_eventbridge_may_write_to_the_task_events_log_group",),
    "monitoring: over 10 minutes": ("test_monitoring.py::test_failure_rate_alarm_divides_the_filters_metrics_over_ten_minutes",),
    "monitoring: rule metrics by the rule's name": ("test_events_and_queues.py::test_no_name_is_taken_from_the_ref_of_a_rule_on_a_custom_bus",),
    "monitoring: the task events log policy can be shared": ("test_monitoring.py::test_task_events_log_policy_can_be_left_to_a_shared_one",),
    "naming: AWS constraints (no sg- prefix)": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ec2_security_group_name_not_reserved]",
        "test_naming.py::test_name_follows_type_purpose_suffix",
        "test_naming.py::test_name_meets_the_aws_constraints_with_the_longest_suffix_and_region",
    ),
    "naming: role names carry the region": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[resources_named_with_environment_suffix]",
        "test_naming.py::test_name_follows_type_purpose_suffix",
        "test_naming.py::test_role_names_carry_the_region",
    ),
    "naming: suffix": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[resources_named_with_environment_suffix]",
        "test_naming.py::test_name_follows_type_purpose_suffix",
        "test_naming.py::test_name_is_built_from_the_suffix",
    ),
    "naming: {type}-{purpose}-{suffix}": ("test_naming.py::test_name_follows_type_purpose_suffix",),
    "network: egress 443 only": ("test_network_outputs_and_lifecycle.py::test_task_security_group_has_no_ingress_and_https_egress_only",),
    "network: no ingress": ("test_network_outputs_and_lifecycle.py::test_task_security_group_has_no_ingress_and_https_egress_only",),
    "network: private-DNS endpoints only in the per-VPC stack": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[vpc_private_dns_endpoints_in_network_stack]",
        "test_network_outputs_and_lifecycle.py::test_no_interface_endpoint_in_the_environment_stack",
    ),
    "outputs: a custom-bus rule's name, not its Ref": (
        "test_events_and_queues.py::test_no_name_is_taken_from_the_ref_of_a_rule_on_a_custom_bus",
        "test_network_outputs_and_lifecycle.py::test_output_exposes_the_resource",
    ),
    "outputs: exported with the suffix": ("test_network_outputs_and_lifecycle.py::test_output_is_described_and_exported_with_the_suffix",),
    "outputs: what the scripts need": ("test_network_outputs_and_lifecycle.py::test_output_exposes_the_resource",),
    "parameters: VpcId typed": ("test_parameters.py::test_required_parameter_is_declared_with_its_type",),
    "parameters: constraints": ("test_parameters.py::test_free_text_parameters_carry_a_constraint",),
    "parameters: descriptions": ("test_parameters.py::test_every_parameter_has_a_description",),
    "parameters: interface groups": ("test_parameters.py::test_every_parameter_sits_in_exactly_one_interface_group",),
    "parameters: rules refuse a subnet given twice": ("test_parameters.py::test_a_bad_parameter_set_breaks_its_rule_with_a_clear_message",),
    "parameters: rules refuse one bucket for input and output": ("test_parameters.py::test_a_bad_parameter_set_breaks_its_rule_with_a_clear_message",),
    "parameters: subnets typed": ("test_parameters.py::test_required_parameter_is_declared_with_its_type",),
    "parameters: suffix constraint": ("test_parameters.py::test_suffix_pattern_rejects",),
    "parameters: suffix keeps names within limits": ("test_naming.py::test_name_meets_the_aws_constraints_with_the_longest_suffix_and_region",),
    "parameters: switches": ("test_parameters.py::test_switches_only_take_true_or_false",),
    "policies: documents readable by the checks": ("test_resource_policies.py::test_every_policy_document_is_an_object_that_the_checks_can_read",),
    "policies: nobody allows everyone": ("test_resource_policies.py::test_no_allow_names_everyone_in_any_form",),
    "policies: services held to their source": ("test_resource_policies.py::test_a_service_allowed_into_a_resource_policy_is_held_to_its_source",),
    "scaling: 300 s cooldowns": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_services_cpu_target_tracking]",
        "test_services.py::test_service_tracks_70_percent_cpu_with_300_second_cooldowns",
    ),
    "scaling: 70 % CPU": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_services_cpu_target_tracking]",
        "test_services.py::test_service_tracks_70_percent_cpu_with_300_second_cooldowns",
    ),
    "scaling: New York window": ("test_services.py::test_service_scales_up_for_the_overnight_window_in_new_york_time",),
    "scaling: backlog of its own queue": ("test_services.py::test_service_starts_from_zero_on_its_queue_backlog",),
    "scaling: target points at its service": ("test_services.py::test_service_has_one_scalable_target_on_desired_count",),
    "service: 120 s grace period": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_services_grace_period_backed_by_health_check]",
        "test_services.py::test_service_grace_period_is_backed_by_a_container_health_check",
    ),
    "service: AZ rebalancing": ("test_services.py::test_service_rebalances_across_zones",),
    "service: MinimumHealthyPercent 100": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_services_have_circuit_breaker]",
        "test_services.py::test_service_rolls_back_failed_deployments_without_dropping_capacity",
    ),
    "service: circuit breaker with rollback": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_services_have_circuit_breaker]",
        "test_services.py::test_service_rolls_back_failed_deployments_without_dropping_capacity",
    ),
    "service: depends on the capacity providers": ("test_services.py::test_service_waits_for_images_and_capacity_providers",),
    "service: first deployment without services": ("test_services.py::test_service_waits_for_images_and_capacity_providers",),
    "service: grace period backed by a health check": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_services_grace_period_backed_by_health_check]",
        "test_services.py::test_service_grace_period_is_backed_by_a_container_health_check",
        "test_task_definitions.py::test_container_health_check_runs_the_health_command",
    ),
    "service: no DesiredCount": ("test_services.py::test_service_leaves_desired_count_to_scaling",),
    "service: no placement strategies": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_no_placement_constraints_or_strategies]",
        "test_services.py::test_has_no_placement_constraints_or_strategies",
    ),
    "service: no public IP": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_no_public_ip]",
        "test_services.py::test_runs_in_the_three_private_subnets_without_public_ip",
    ),
    "service: strategy, no launch type": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_no_launch_type_with_capacity_provider_strategy]",
        "test_services.py::test_uses_a_fargate_capacity_provider_strategy_and_never_a_launch_type",
    ),
    "service: three subnets": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_tasks_in_three_subnets]",
        "test_services.py::test_runs_in_the_three_private_subnets_without_public_ip",
    ),
    "task: Fargate only": (
        "test_cluster_and_repositories.py::test_no_ec2_capacity_anywhere",
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_task_definitions_fargate_only]",
        "test_task_definitions.py::test_task_runs_on_fargate_only_with_awsvpc",
    ),
    "task: StopTimeout 120": ("test_task_definitions.py::test_container_is_hardened",),
    "task: awsvpc": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_task_definitions_fargate_only]",
        "test_task_definitions.py::test_task_runs_on_fargate_only_with_awsvpc",
    ),
    "task: container hard memory limit": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_containers_within_task_size]",
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_task_cpu_memory_defined]",
        "test_task_definitions.py::test_containers_have_cpu_and_hard_memory_within_the_task",
    ),
    "task: no oversubscription": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_containers_within_task_size]",
        "test_task_definitions.py::test_containers_have_cpu_and_hard_memory_within_the_task",
    ),
    "task: non-root user": (
        "test_images.py::test_every_writable_mount_of_a_non_root_container_is_a_volume_of_its_image",
        "test_images.py::test_the_image_runs_as_the_task_definitions_user",
        "test_task_definitions.py::test_container_is_hardened",
    ),
    "task: not privileged": ("test_task_definitions.py::test_container_is_hardened",),
    "task: own log group": (
        "test_iam.py::test_execution_role_writes_its_own_log_group_only",
        "test_task_definitions.py::test_container_logs_to_its_own_log_group",
    ),
    "task: read-only root": ("test_task_definitions.py::test_container_is_hardened",),
    "task: scratch volume": (
        "test_images.py::test_every_path_the_jobs_write_lies_in_a_writable_volume",
        "test_images.py::test_every_writable_mount_of_a_non_root_container_is_a_volume_of_its_image",
        "test_task_definitions.py::test_read_only_container_has_a_writable_scratch_volume",
    ),
    "task: valid Fargate pair": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_containers_within_task_size]",
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_task_size_valid_fargate_pair]",
        "test_task_definitions.py::test_containers_have_cpu_and_hard_memory_within_the_task",
        "test_task_definitions.py::test_task_size_is_a_valid_fargate_pair",
    ),
}

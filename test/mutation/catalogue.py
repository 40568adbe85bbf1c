"""Semantic mutations of lib/TapStack.json: each breaks exactly one requirement of the stack.

A mutation is a small edit of a deep copy. The unit suite must fail on every one of them (a
surviving mutant is a missing test), and the failure must come from the tests of the mutation's
own requirement (REQUIREMENT_TESTS): a mutant killed by an unrelated test is not counted. A
mutation named ...-first or ...-last edits the first or the last resource of its type in
template order (the catalogue's unit test checks it), so that a test which looks at one instance
only is exposed.
"""

from __future__ import annotations

from test.mutation.edits import (
    _FAILURE_ALARM,
    _INGESTION_TARGET,
    _KEY_STATEMENTS,
    Mutation,
    P,
    R,
    _container,
    _policy_statements,
    _probes_unconditioned,
    _service_network,
    _statements,
    _unconditioned_output_key,
    append,
    both,
    delete,
    drop_tls_denial,
    kms_on_any_key,
    replace_text,
    set_,
    tls_denial_off_in_production,
)

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
    Mutation(
        "trigger-retries-for-an-hour", "events: retries last until the deadline", set_(*_INGESTION_TARGET, "RetryPolicy", "MaximumEventAgeInSeconds", 3600)
    ),
    Mutation(
        "deadline-check-retries-thrice",
        "events: retries last until the deadline",
        set_(R, "DeadlineCheckSchedule", P, "Target", "RetryPolicy", "MaximumRetryAttempts", 3),
    ),
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
        "failure-rate-alarm-hourly",
        "alarms: each event notifies in time",
        both(*(set_(R, "TaskFailureRateAlarm", P, "Metrics", index, "MetricStat", "Period", 3600) for index in (0, 1))),
    ),
    Mutation("limit-breach-alarm-actions-off", "alarms: each event notifies in time", set_(R, "LimitBreachAlarm", P, "ActionsEnabled", False)),
    Mutation(
        "failed-invocations-missing-data-breaching",
        "alarms: each event notifies in time",
        set_(R, "RunCompletedRuleFailedInvocationsAlarm", P, "TreatMissingData", "breaching"),
    ),
    Mutation(
        "deadline-check-schedule-flexible",
        "boundary: template and code agree",
        set_(R, "DeadlineCheckSchedule", P, "FlexibleTimeWindow", {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}),
    ),
    Mutation(
        "risk-worker-aborts-after-stop-timeout",
        "boundary: template and code agree",
        set_(R, "RiskCalculationTaskDefinition", P, "ContainerDefinitions", 0, "Command", ["worker", "risk", "--abort-after", "150"]),
    ),
    Mutation(
        "report-health-check-slow",
        "boundary: template and code agree",
        set_(R, "ReportGenerationTaskDefinition", P, "ContainerDefinitions", 0, "HealthCheck", "Interval", 120),
    ),
    Mutation(
        "alert-subscription-filtered", "boundary: template and code agree", set_(R, "AlertEmailSubscription", P, "FilterPolicy", {"severity": ["critical"]})
    ),
    Mutation(
        "task-stopped-pattern-drifts", "boundary: template and code agree", set_(R, "TaskStoppedRule", P, "EventPattern", "detail", "lastStatus", ["STOPPING"])
    ),
    Mutation(
        "failed-filter-drifts",
        "boundary: template and code agree",
        set_(R, "TasksFailedMetricFilter", P, "FilterPattern", '{ $.detail.stopCode = "TaskFailedToStart" }'),
    ),
    Mutation(
        "dashboard-graphs-an-unpublished-metric",
        "boundary: template and code agree",
        replace_text("OperationsDashboard", "DashboardBody", '"TasksFailed"', '"TasksFailedToStart"'),
    ),
    Mutation("report-queue-tls-denial-off-in-production", "policies: TLS only", tls_denial_off_in_production("ReportQueuePolicy")),
    Mutation(
        "topic-open-to-any-accounts-alarms",
        "policies: decided for another account",
        set_(R, "AlertTopicPolicy", P, "PolicyDocument", "Statement", 0, "Condition", "ArnLike", "aws:SourceArn", "arn:aws:cloudwatch:*:*:alarm:*"),
    ),
    Mutation(
        "report-queue-open-to-any-rule",
        "policies: decided for another account",
        set_(R, "ReportQueuePolicy", P, "PolicyDocument", "Statement", 0, "Condition", "ArnEquals", "aws:SourceArn", "arn:aws:events:*:*:rule/*"),
    ),
    Mutation(
        "task-events-policy-any-log-group",
        "policies: decided for another account",
        set_(R, "TaskEventsLogResourcePolicy", P, "PolicyDocument", "Statement", 0, "Resource", "*"),
    ),
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

"""What a deployed stack really holds, compared with what the template asked for.

Each check reads one property of one deployed resource through the service's own describe
call and compares it with the template's value. The demo prints them to show what the local
emulator models and what it drops; the integration suite asserts them (and skips, with the
reason, what the emulator does not model).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from riskbatch_platform.aws import Target
from riskbatch_platform.deployment.stack import current_parameters, physical_ids

MISSING = "<absent>"


@dataclass(frozen=True)
class Check:
    logical_id: str
    resource_type: str
    prop: str
    expected: Any
    actual: Any

    @property
    def holds(self) -> bool:
        return self.expected == self.actual


def _get(data: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return MISSING
        data = data[key]
    return data


def _repository(clients: Callable[[str], Any], logical_id: str, physical: str, props: dict[str, Any]) -> list[Check]:
    ecr = clients("ecr")
    repo = ecr.describe_repositories(repositoryNames=[physical])["repositories"][0]
    lifecycle: Any = MISSING
    with contextlib.suppress(ecr.exceptions.LifecyclePolicyNotFoundException):
        lifecycle = json.loads(ecr.get_lifecycle_policy(repositoryName=physical)["lifecyclePolicyText"])
    kind = "AWS::ECR::Repository"
    return [
        Check(
            logical_id,
            kind,
            "ScanOnPush",
            props["ImageScanningConfiguration"]["ScanOnPush"],
            _get(repo, "imageScanningConfiguration", "scanOnPush"),
        ),
        Check(logical_id, kind, "ImageTagMutability", props["ImageTagMutability"], repo.get("imageTagMutability", MISSING)),
        Check(
            logical_id,
            kind,
            "EncryptionType",
            props["EncryptionConfiguration"]["EncryptionType"],
            _get(repo, "encryptionConfiguration", "encryptionType"),
        ),
        Check(logical_id, kind, "LifecyclePolicy", json.loads(props["LifecyclePolicy"]["LifecyclePolicyText"]), lifecycle),
    ]


def _log_group(
    clients: Callable[[str], Any], logical_id: str, physical: str, props: dict[str, Any], outputs: dict[str, str], values: dict[str, str]
) -> list[Check]:
    groups = clients("logs").describe_log_groups(logGroupNamePrefix=physical)["logGroups"]
    group = next((item for item in groups if item["logGroupName"] == physical), {})
    kind = "AWS::Logs::LogGroup"
    retention = props["RetentionInDays"]
    if isinstance(retention, dict) and set(retention) == {"Ref"}:  # LogRetentionInDays, as the stack was deployed with it
        retention = int(values[retention["Ref"]])
    return [
        Check(logical_id, kind, "RetentionInDays", retention, group.get("retentionInDays", MISSING)),
        Check(logical_id, kind, "KmsKeyId", outputs.get("KmsKeyArn"), group.get("kmsKeyId", MISSING)),
    ]


def _task_definition(clients: Callable[[str], Any], logical_id: str, physical: str, props: dict[str, Any], roles: dict[str, str]) -> list[Check]:
    task = clients("ecs").describe_task_definition(taskDefinition=physical)["taskDefinition"]
    container = task["containerDefinitions"][0]
    expected_container = props["ContainerDefinitions"][0]
    kind = "AWS::ECS::TaskDefinition"
    task_role = roles.get(props["TaskRoleArn"]["Fn::GetAtt"][0], "")
    execution_role = roles.get(props["ExecutionRoleArn"]["Fn::GetAtt"][0], "")
    return [
        Check(logical_id, kind, "Cpu", props["Cpu"], task.get("cpu", MISSING)),
        Check(logical_id, kind, "Memory", props["Memory"], task.get("memory", MISSING)),
        Check(logical_id, kind, "NetworkMode", props["NetworkMode"], task.get("networkMode", MISSING)),
        Check(logical_id, kind, "RequiresCompatibilities", props["RequiresCompatibilities"], task.get("requiresCompatibilities", MISSING)),
        Check(logical_id, kind, "TaskRoleArn", task_role, str(task.get("taskRoleArn", MISSING)).rsplit("/", 1)[-1]),
        Check(logical_id, kind, "ExecutionRoleArn", execution_role, str(task.get("executionRoleArn", MISSING)).rsplit("/", 1)[-1]),
        Check(
            logical_id,
            kind,
            "ReadonlyRootFilesystem",
            expected_container["ReadonlyRootFilesystem"],
            container.get("readonlyRootFilesystem", MISSING),
        ),
        Check(logical_id, kind, "User", expected_container["User"], container.get("user", MISSING)),
        Check(logical_id, kind, "StopTimeout", expected_container["StopTimeout"], container.get("stopTimeout", MISSING)),
        Check(logical_id, kind, "HealthCheck.Command", expected_container["HealthCheck"]["Command"], _get(container, "healthCheck", "command")),
    ]


def _service(clients: Callable[[str], Any], logical_id: str, physical: str, props: dict[str, Any], cluster: str) -> list[Check]:
    service = clients("ecs").describe_services(cluster=cluster, services=[physical])["services"][0]
    kind = "AWS::ECS::Service"
    strategy = [
        {"CapacityProvider": item["capacityProvider"], "Weight": item.get("weight", 0), "Base": item.get("base", 0)}
        for item in service.get("capacityProviderStrategy", [])
    ]
    expected_strategy = [
        {"CapacityProvider": item["CapacityProvider"], "Weight": item.get("Weight", 0), "Base": item.get("Base", 0)}
        for item in props["CapacityProviderStrategy"]
    ]
    subnets = _get(service, "networkConfiguration", "awsvpcConfiguration", "subnets")
    return [
        Check(
            logical_id,
            kind,
            "DeploymentCircuitBreaker",
            {"enable": True, "rollback": True},
            _get(service, "deploymentConfiguration", "deploymentCircuitBreaker"),
        ),
        Check(logical_id, kind, "MinimumHealthyPercent", 100, _get(service, "deploymentConfiguration", "minimumHealthyPercent")),
        Check(
            logical_id,
            kind,
            "HealthCheckGracePeriodSeconds",
            props["HealthCheckGracePeriodSeconds"],
            service.get("healthCheckGracePeriodSeconds", MISSING),
        ),
        Check(logical_id, kind, "CapacityProviderStrategy", expected_strategy, strategy or MISSING),
        Check(logical_id, kind, "LaunchType", MISSING, service.get("launchType", MISSING) or MISSING),
        Check(logical_id, kind, "Subnets (count)", 3, len(subnets) if isinstance(subnets, list) else MISSING),
        Check(logical_id, kind, "AssignPublicIp", "DISABLED", _get(service, "networkConfiguration", "awsvpcConfiguration", "assignPublicIp")),
        Check(logical_id, kind, "AvailabilityZoneRebalancing", "ENABLED", service.get("availabilityZoneRebalancing", MISSING)),
    ]


def _cluster(clients: Callable[[str], Any], logical_id: str, physical: str) -> list[Check]:
    cluster = clients("ecs").describe_clusters(clusters=[physical], include=["SETTINGS"])["clusters"][0]
    settings = {item["name"]: item["value"] for item in cluster.get("settings", [])}
    kind = "AWS::ECS::Cluster"
    return [
        Check(logical_id, kind, "containerInsights", "enabled", settings.get("containerInsights", MISSING)),
        Check(logical_id, kind, "CapacityProviders", ["FARGATE", "FARGATE_SPOT"], sorted(cluster.get("capacityProviders", [])) or MISSING),
    ]


def _queue(clients: Callable[[str], Any], logical_id: str, physical: str, props: dict[str, Any]) -> list[Check]:
    attributes = clients("sqs").get_queue_attributes(QueueUrl=physical, AttributeNames=["All"])["Attributes"]
    kind = "AWS::SQS::Queue"
    checks = [Check(logical_id, kind, "KmsMasterKeyId (set)", True, bool(attributes.get("KmsMasterKeyId")))]
    if "RedrivePolicy" in props:
        redrive = json.loads(attributes.get("RedrivePolicy", "{}"))
        checks.append(
            Check(
                logical_id,
                kind,
                "RedrivePolicy.maxReceiveCount",
                props["RedrivePolicy"]["maxReceiveCount"],
                int(redrive.get("maxReceiveCount", 0)) or MISSING,
            )
        )
    if "VisibilityTimeout" in props:
        checks.append(Check(logical_id, kind, "VisibilityTimeout", props["VisibilityTimeout"], int(attributes.get("VisibilityTimeout", 0))))
    return checks


def _topic(clients: Callable[[str], Any], logical_id: str, physical: str) -> list[Check]:
    attributes = clients("sns").get_topic_attributes(TopicArn=physical)["Attributes"]
    return [Check(logical_id, "AWS::SNS::Topic", "KmsMasterKeyId (set)", True, bool(attributes.get("KmsMasterKeyId")))]


def _rule(clients: Callable[[str], Any], logical_id: str, physical: str, props: dict[str, Any], bus: str | None) -> list[Check]:
    # CloudFormation reports a custom-bus rule as "<bus>|<rule>".
    name = physical.split("|")[-1]
    arguments = {"Rule": name, **({"EventBusName": bus} if bus else {})}
    targets = clients("events").list_targets_by_rule(**arguments)["Targets"]
    kind = "AWS::Events::Rule"
    checks = [Check(logical_id, kind, "Targets (count)", len(props["Targets"]), len(targets))]
    for expected, actual in zip(props["Targets"], targets, strict=False):
        if "EcsParameters" in expected:
            checks.append(
                Check(
                    logical_id,
                    kind,
                    "EcsParameters.CapacityProviderStrategy",
                    True,
                    bool(_get(actual, "EcsParameters", "CapacityProviderStrategy") not in (MISSING, [])),
                )
            )
            checks.append(
                Check(
                    logical_id,
                    kind,
                    "InputTransformer",
                    expected["InputTransformer"]["InputTemplate"],
                    _get(actual, "InputTransformer", "InputTemplate"),
                )
            )
        if "DeadLetterConfig" in expected:
            checks.append(Check(logical_id, kind, "DeadLetterConfig (set)", True, _get(actual, "DeadLetterConfig", "Arn") is not MISSING))
            checks.append(Check(logical_id, kind, "RetryPolicy", expected["RetryPolicy"], actual.get("RetryPolicy", MISSING)))
    return checks


def live_checks(target: Target, stack_name: str, template: dict[str, Any], outputs: dict[str, str]) -> list[Check]:
    """Every property check over every deployed resource of the checked types."""
    clients = target.client

    deployed = physical_ids(clients("cloudformation"), stack_name)
    defaults = {name: str(body["Default"]) for name, body in template.get("Parameters", {}).items() if "Default" in body}
    values = {**defaults, **current_parameters(clients("cloudformation"), stack_name)}
    roles = {logical_id: physical for logical_id, (kind, physical) in deployed.items() if kind == "AWS::IAM::Role"}
    cluster = outputs.get("ClusterName", "")
    checks: list[Check] = []
    for logical_id, body in template["Resources"].items():
        if logical_id not in deployed:
            continue
        _, physical = deployed[logical_id]
        props = body.get("Properties", {})
        kind = body["Type"]
        if kind == "AWS::ECR::Repository":
            checks += _repository(clients, logical_id, physical, props)
        elif kind == "AWS::Logs::LogGroup":
            checks += _log_group(clients, logical_id, physical, props, outputs, values)
        elif kind == "AWS::ECS::TaskDefinition":
            checks += _task_definition(clients, logical_id, physical, props, roles)
        elif kind == "AWS::ECS::Service":
            checks += _service(clients, logical_id, physical, props, cluster)
        elif kind == "AWS::ECS::Cluster":
            checks += _cluster(clients, logical_id, physical)
        elif kind == "AWS::SQS::Queue":
            checks += _queue(clients, logical_id, physical, props)
        elif kind == "AWS::SNS::Topic":
            checks += _topic(clients, logical_id, physical)
        elif kind == "AWS::Events::Rule":
            bus = outputs.get("EventBusName") if "EventBusName" in props else None
            checks += _rule(clients, logical_id, physical, props, bus)
    return checks

"""What preflight reads of a stack: its parameters and outputs (or, before its first deployment,
the values about to be deployed), and the night's peak from the template as written."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from riskbatch.operations.costs import capacity_of, scaled_service
from riskbatch.operations.preflight.checks import ALL, NETWORK, NIGHTLY, run_checks
from riskbatch.operations.preflight.findings import Account, Finding, Peak, Workload
from riskbatch.operations.preflight.monitoring import task_events_log_policy
from riskbatch_platform.aws import Target
from riskbatch_platform.deployment.stack import current_parameters, deployed, physical_ids, stack_outputs

# Ingestion tasks at once: one per nightly file (positions, market), started as the files land.
NIGHTLY_FILES = 2


def _value(node: Any, parameters: dict[str, str], defaults: dict[str, Any]) -> Any:
    if isinstance(node, dict) and "Ref" in node:
        return parameters.get(node["Ref"], defaults.get(node["Ref"], {}).get("Default"))
    return node


def _job_of(task_definition: dict[str, Any]) -> str:
    return str(task_definition["Properties"]["ContainerDefinitions"][0]["Name"])


def peak_of(template: dict[str, Any], parameters: dict[str, str]) -> Peak:
    """Each service at its scalable target's maximum, and one ingestion task per nightly file."""
    resources, defaults = template["Resources"], template.get("Parameters", {})
    maximum = {
        scaled_service(body["Properties"]["ResourceId"]): body["Properties"]["MaxCapacity"]
        for body in resources.values()
        if body["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget"
    }
    workloads = []
    for logical_id, body in resources.items():
        properties = body.get("Properties", {})
        if body["Type"] == "AWS::ECS::Service":
            task = resources[properties["TaskDefinition"]["Ref"]]
            tasks = int(_value(maximum.get(logical_id, properties.get("DesiredCount", 1)), parameters, defaults))
            workloads.append(Workload(_job_of(task), tasks, int(task["Properties"]["Cpu"]) / 1024, capacity_of(properties.get("CapacityProviderStrategy"))))
        if body["Type"] == "AWS::Events::Rule":
            for target in properties.get("Targets", []):
                if "EcsParameters" in target:
                    task = resources[target["EcsParameters"]["TaskDefinitionArn"]["Ref"]]
                    strategy = capacity_of(target["EcsParameters"].get("CapacityProviderStrategy"))
                    workloads.append(Workload(_job_of(task), NIGHTLY_FILES, int(task["Properties"]["Cpu"]) / 1024, strategy))
    return Peak(tuple(workloads))


def _arn_target(node: Any) -> str | None:
    """The logical id X of {"Fn::GetAtt": [X, "Arn"]}."""
    if isinstance(node, dict) and "Fn::GetAtt" in node and node["Fn::GetAtt"][1] == "Arn":
        return str(node["Fn::GetAtt"][0])
    return None


def dead_letter_queue_ids(template: dict[str, Any]) -> list[str]:
    """The queues the template uses as dead-letter queues: the target of a queue's redrive policy,
    or of an EventBridge target's dead-letter config."""
    found = set()
    for body in template["Resources"].values():
        properties = body.get("Properties", {})
        if body["Type"] == "AWS::SQS::Queue":
            found.add(_arn_target(properties.get("RedrivePolicy", {}).get("deadLetterTargetArn")))
        if body["Type"] == "AWS::Events::Rule":
            found.update(_arn_target(target.get("DeadLetterConfig", {}).get("Arn")) for target in properties.get("Targets", []))
    return sorted(logical_id for logical_id in found if logical_id and template["Resources"].get(logical_id, {}).get("Type") == "AWS::SQS::Queue")


def _named_in_arn(node: Any, resources: dict[str, Any]) -> list[str]:
    """The resources an ARN expression names: {"Fn::GetAtt": [X, "Arn"]}, or the ${X} of an Fn::Sub."""
    if _arn_target(node):
        return [str(_arn_target(node))]
    if isinstance(node, dict) and isinstance(node.get("Fn::Sub"), str):
        return [name for name in re.findall(r"\$\{([A-Za-z0-9]+)\}", node["Fn::Sub"]) if name in resources]
    return []


def task_events_log_group_id(template: dict[str, Any]) -> str | None:
    """The log group an EventBridge rule writes to (the ECS task state changes)."""
    resources = template["Resources"]
    for body in resources.values():
        if body["Type"] == "AWS::Events::Rule":
            for target in body.get("Properties", {}).get("Targets", []):
                for logical_id in _named_in_arn(target.get("Arn"), resources):
                    if resources[logical_id]["Type"] == "AWS::Logs::LogGroup":
                        return logical_id
    return None


def _log_group_arn(target: Target, name: str) -> str | None:
    for page in target.client("logs").get_paginator("describe_log_groups").paginate(logGroupNamePrefix=name):
        for group in page["logGroups"]:
            if group["logGroupName"] == name:
                return str(group["arn"])
    return None


def template_repositories(template: dict[str, Any], values: dict[str, str]) -> list[str]:
    """The repositories the template names (ecr-<job>-${EnvironmentSuffix}), for a stack not deployed yet."""
    suffix = values.get("EnvironmentSuffix") or template.get("Parameters", {}).get("EnvironmentSuffix", {}).get("Default", "")
    names = []
    for body in template["Resources"].values():
        name = body.get("Properties", {}).get("RepositoryName") if body["Type"] == "AWS::ECR::Repository" else None
        if isinstance(name, dict) and isinstance(name.get("Fn::Sub"), str):
            names.append(name["Fn::Sub"].replace("${EnvironmentSuffix}", str(suffix)))
        elif isinstance(name, str):
            names.append(name)
    return sorted(names)


def interface_endpoints(template: dict[str, Any], values: dict[str, str], region: str) -> dict[str, str]:
    """The interface endpoints the template creates with these values: endpoint service name -> the
    parameter whose false leaves the endpoint out (its condition's Fn::Equals [Ref P, "true"])."""
    conditions = template.get("Conditions", {})
    defaults = template.get("Parameters", {})
    found = {}
    for body in template["Resources"].values():
        properties = body.get("Properties", {})
        if body["Type"] != "AWS::EC2::VPCEndpoint" or properties.get("VpcEndpointType") != "Interface":
            continue
        reference, expected = (conditions.get(body.get("Condition", ""), {}).get("Fn::Equals") or [{}, None])[:2]
        parameter = reference.get("Ref", "") if isinstance(reference, dict) else ""
        if parameter and str(values.get(parameter, defaults.get(parameter, {}).get("Default"))) != str(expected):
            continue
        service = properties["ServiceName"]
        service = service["Fn::Sub"].replace("${AWS::Region}", region) if isinstance(service, dict) else str(service)
        found[service] = parameter or "(always created)"
    return found


def account_of(target: Target, stack_name: str, template: dict[str, Any], parameters: dict[str, str] | None = None, tonight: Any = None) -> Account:
    """The account as the stack sees it: the deployed stack's parameters and outputs, with the
    given values on top (a deployment about to change them); before the first deployment, the
    given values alone, and the checks that need the stack's resources find none."""
    cfn = target.client("cloudformation")
    exists = deployed(cfn, stack_name)
    values = {**(current_parameters(cfn, stack_name) if exists else {}), **(parameters or {})}
    outputs = stack_outputs(cfn, stack_name) if exists else {}
    alarm_names: list[str] = []
    dead_letter_queues: list[str] = []
    log_group_arn = None
    own_endpoints: list[str] = []
    if exists:
        resources = physical_ids(cfn, stack_name)
        own_endpoints = sorted(physical for kind, physical in resources.values() if kind == "AWS::EC2::VPCEndpoint")
        dead_letter_queues = [resources[logical_id][1] for logical_id in dead_letter_queue_ids(template) if logical_id in resources]
        log_group = task_events_log_group_id(template)
        log_group_arn = _log_group_arn(target, resources[log_group][1]) if log_group in resources else None
        for logical_id, body in template["Resources"].items():
            actions = body.get("Properties", {}).get("AlarmActions", []) if body["Type"] == "AWS::CloudWatch::Alarm" else []
            if any(action == {"Ref": "AlertTopic"} for action in actions) and logical_id in resources:
                alarm_names.append(resources[logical_id][1])
    defaults = template.get("Parameters", {})
    return Account(
        subnets=[values[name] for name in ("PrivateSubnet1Id", "PrivateSubnet2Id", "PrivateSubnet3Id") if values.get(name)],
        peak=peak_of(template, values),
        input_bucket=values.get("InputBucketName"),
        output_bucket=values.get("OutputBucketName"),
        input_prefix=values.get("InputKeyPrefix") or defaults.get("InputKeyPrefix", {}).get("Default"),
        key_arn=outputs.get("KmsKeyArn"),
        repositories=sorted(uri.split("/", 1)[1] for key, uri in outputs.items() if key.endswith("RepositoryUri")),
        planned_repositories=template_repositories(template, values),
        image_tag=values.get("ImageTag") or defaults.get("ImageTag", {}).get("Default"),
        topic_arn=outputs.get("AlertTopicArn"),
        alarm_names=sorted(alarm_names),
        dead_letter_queues=dead_letter_queues,
        task_events_log_group_arn=log_group_arn,
        input_bucket_key_arn=values.get("InputBucketKmsKeyArn") or None,  # optional: absent from older templates
        output_bucket_key_arn=values.get("OutputBucketKmsKeyArn") or None,
        tonight=tonight,
        vpc_id=values.get("VpcId") or None,
        interface_endpoints=interface_endpoints(template, values, target.region),
        own_endpoint_ids=own_endpoints,
    )


def check_stack(
    target: Target, stack_name: str, template: dict[str, Any], parameters: dict[str, str] | None = None, tonight: Any = None, nightly: bool = False
) -> list[Finding]:
    """Preflight's checks of the account for this stack (the nightly ones alone with nightly); a bucket
    encrypted with the stack's own key is refused (riskbatch.operations.preflight.buckets). A template
    with no services (lib/VpcEndpoints.json) gets the network checks of its endpoints."""
    account = account_of(target, stack_name, template, parameters, tonight)
    if "DeployServices" not in template.get("Parameters", {}):
        return run_checks(target.client, account, NETWORK)
    if nightly:  # the night in view, and how long ago its files landed
        account.now = dt.datetime.now(dt.UTC)
    return run_checks(target.client, account, NIGHTLY if nightly else ALL)


def task_events_findings(target: Target, stack_name: str, template: dict[str, Any]) -> list[Finding]:
    """The logs resource policy check alone, for the deployed stack (the deploy's last step)."""
    return run_checks(target.client, account_of(target, stack_name, template), (task_events_log_policy,))

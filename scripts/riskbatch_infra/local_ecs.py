"""A local stand-in for ECS: runs the deployed stack's jobs as processes on this machine.

The emulator deploys the stack but starts no containers. This runner reads what the deployed
stack says (its resources, outputs, rules, targets and task definitions, as the emulator
reports them) and, where the emulator dropped a property (task roles, for instance), the
template the stack was deployed from. The rule's event pattern and input transformer decide
which task runs with which command; the task definition's environment and command decide how
the job starts; each job runs with the credentials of its own task role, assumed through STS,
so the emulator's IAM enforcement judges every call the job makes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .aws import Target
from .dockerfile import dockerfile_of, parse_dockerfile
from .live_checks import physical_ids

_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.-]+)>")


def json_path(document: Any, path: str) -> Any:
    """The value at a simple JSONPath ($.a.b.c), as EventBridge input paths use them."""
    node = document
    for part in path.removeprefix("$").strip(".").split("."):
        if not part:
            continue
        node = node[part]
    return node


def transform_input(event: dict[str, Any], transformer: dict[str, Any]) -> Any:
    """EventBridge's input transformer: placeholders outside quotes become JSON values."""
    values = {name: json_path(event, path) for name, path in transformer.get("InputPathsMap", {}).items()}
    rendered = _PLACEHOLDER.sub(lambda match: json.dumps(values[match.group(1)]), transformer["InputTemplate"])
    return json.loads(rendered)


def s3_object_created_event(bucket: str, key: str, size: int, region: str, account: str) -> dict[str, Any]:
    """The event S3 sends to EventBridge when an object is created (EventBridge delivery on)."""
    return {
        "version": "0",
        "id": f"local-{time.time_ns()}",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": account,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": region,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {"version": "0", "bucket": {"name": bucket}, "object": {"key": key, "size": size}, "reason": "PutObject"},
    }


def _session_keys(variables: dict[str, str]) -> dict[str, str]:
    return {
        "aws_access_key_id": variables["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": variables["AWS_SECRET_ACCESS_KEY"],
        "aws_session_token": variables["AWS_SESSION_TOKEN"],
    }


def pattern_matches(pattern: Any, event: Any) -> bool:
    """EventBridge pattern matching for the forms the stack uses: values, prefix, nested fields."""
    if isinstance(pattern, dict):
        return isinstance(event, dict) and all(key in event and pattern_matches(value, event[key]) for key, value in pattern.items())
    for candidate in pattern:
        if isinstance(candidate, dict) and "prefix" in candidate:
            if isinstance(event, str) and event.startswith(candidate["prefix"]):
                return True
        elif candidate == event or (isinstance(event, list) and candidate in event):
            return True
    return False


@dataclass
class TaskSpec:
    family: str
    container: str
    command: list[str]
    environment: dict[str, str]
    task_role: str  # role name
    mount_paths: list[str] = field(default_factory=list)  # the container's writable volume paths


# What a task inherits from the host: the machine's own settings (the search path, the locale,
# the BLAS kernel this processor needs), never the job's configuration.
HOST_SETTINGS = ("PATH", "LANG", "LC_ALL", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


@dataclass
class LocalEcs:
    target: Target  # the deployer: reads the stack
    agent: Target  # the stand-in for the ECS agent: assumes the task roles
    stack_name: str
    workdir: Path
    account: str = "123456789012"
    resources: dict[str, tuple[str, str]] = field(default_factory=dict)
    template: dict[str, Any] = field(default_factory=dict)
    tasks_run: list[dict[str, Any]] = field(default_factory=list)
    environment_overrides: dict[str, str] = field(default_factory=dict)  # for every task run, as RunTask overrides

    def load(self) -> None:
        cfn = self.target.client("cloudformation")
        self.resources = physical_ids(cfn, self.stack_name)
        body = cfn.get_template(StackName=self.stack_name)["TemplateBody"]
        self.template = body if isinstance(body, dict) else json.loads(body)
        self.account = self.target.client("sts").get_caller_identity()["Account"]

    def physical(self, logical_id: str) -> str:
        return self.resources[logical_id][1]

    def task_spec(self, task_definition_arn: str) -> TaskSpec:
        described = self.target.client("ecs").describe_task_definition(taskDefinition=task_definition_arn)["taskDefinition"]
        container = described["containerDefinitions"][0]
        environment = {item["name"]: item["value"] for item in container.get("environment", [])}
        mounts = [mount["containerPath"] for mount in container.get("mountPoints", []) if not mount.get("readOnly", False)]
        return TaskSpec(
            described["family"], container["name"], list(container.get("command", [])), environment, described["taskRoleArn"].rsplit("/", 1)[-1], mounts
        )

    def credentials_for(self, role_name: str) -> dict[str, str]:
        """The role's credentials, assumed as ECS (a task role) or EventBridge (a rule target's role) would."""
        role_arn = f"arn:aws:iam::{self.account}:role/{role_name}"
        assumed = self.agent.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=f"local-{role_name}"[:64])["Credentials"]
        return {
            "AWS_ACCESS_KEY_ID": assumed["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": assumed["SecretAccessKey"],
            "AWS_SESSION_TOKEN": assumed["SessionToken"],
        }

    def as_role(self, role_name: str) -> Target:
        """The emulator, called with the role's credentials (assumed as the service the role trusts)."""
        return self.target.as_principal(_session_keys(self.credentials_for(role_name)))

    def _environment(self, spec: TaskSpec, scratch: Path) -> dict[str, str]:
        """What the container sees: its image's ENV, then its task definition's environment, then the
        overrides of the run (as RunTask's containerOverrides), with the writable volume's path
        mapped to this task's scratch folder; the emulator's endpoint and the task role's credentials.
        Nothing else of the host's environment reaches the job but HOST_SETTINGS."""

        def mapped(value: str) -> str:
            for path in spec.mount_paths:
                if value == path or value.startswith(path.rstrip("/") + "/"):
                    return str(scratch) + value[len(path.rstrip("/")) :]
            return value

        image = parse_dockerfile(dockerfile_of(spec.container))
        environment = {key: os.environ[key] for key in HOST_SETTINGS if key in os.environ}
        for layer in (image.environment, spec.environment, self.environment_overrides):
            environment.update({key: mapped(value) for key, value in layer.items()})
        environment.update(self.credentials_for(spec.task_role))
        environment.update({"AWS_ENDPOINT_URL": self.target.endpoint_url or "", "AWS_REGION": self.target.region, "AWS_DEFAULT_REGION": self.target.region})
        return environment

    def _command(self, spec: TaskSpec, overrides: dict[str, Any] | None) -> list[str]:
        command = spec.command
        for override in (overrides or {}).get("containerOverrides", []):
            if override.get("name") == spec.container and "command" in override:
                command = override["command"]
        return [sys.executable, "-m", "riskbatch", *command]

    def start(self, spec: TaskSpec, overrides: dict[str, Any] | None = None, name: str | None = None) -> subprocess.Popen:
        label = name or f"{spec.family}-{len(self.tasks_run)}"
        scratch = self.workdir / "scratch" / label
        scratch.mkdir(parents=True, exist_ok=True)
        log_path = self.workdir / "logs" / f"{label}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        command = self._command(spec, overrides)
        with log_path.open("w", encoding="utf-8") as log:
            process = subprocess.Popen(command, env=self._environment(spec, scratch), stdout=log, stderr=subprocess.STDOUT)
        self.tasks_run.append({"name": label, "command": command[3:], "role": spec.task_role, "log": str(log_path), "process": process})
        return process

    def deliver_object_created(self, bucket: str, key: str) -> list[tuple[str, int]]:
        """What EventBridge does with the object's event: run every matching rule's ECS target. Returns (task, exit code)."""
        size = self.target.client("s3").head_object(Bucket=bucket, Key=key)["ContentLength"]
        event = s3_object_created_event(bucket, key, size, self.target.region, self.account)
        events = self.target.client("events")
        outcomes = []
        for logical_id, (kind, physical) in self.resources.items():
            if kind != "AWS::Events::Rule" or "EventBusName" in self.template["Resources"][logical_id]["Properties"]:
                continue  # S3 delivers to the default bus
            rule = events.describe_rule(Name=physical.split("|")[-1])
            if not pattern_matches(json.loads(rule["EventPattern"]), event):
                continue
            for target in events.list_targets_by_rule(Rule=rule["Name"])["Targets"]:
                if "EcsParameters" not in target:
                    continue
                overrides = transform_input(event, target["InputTransformer"]) if "InputTransformer" in target else None
                task_arn = self.run_task_as_eventbridge(target, overrides)
                spec = self.task_spec(target["EcsParameters"]["TaskDefinitionArn"])
                process = self.start(spec, overrides, name=f"{spec.family}-{key.rsplit('/', 1)[-1].split('.')[0]}-{len(self.tasks_run)}")
                outcomes.append((self.tasks_run[-1]["name"], process.wait()))
                self.target.client("ecs").stop_task(cluster=target["Arn"], task=task_arn, reason="Essential container in task exited")
        return outcomes

    def run_task_as_eventbridge(self, target: dict[str, Any], overrides: dict[str, Any] | None) -> str:
        """RunTask with the rule target's role, as EventBridge does; the emulator judges ecs:RunTask on the
        task definition (with the ecs:cluster condition) and iam:PassRole of the task's two roles."""
        ecs = self.as_role(target["RoleArn"].rsplit("/", 1)[-1]).client("ecs")
        parameters = target["EcsParameters"]
        request: dict[str, Any] = {"cluster": target["Arn"], "taskDefinition": parameters["TaskDefinitionArn"], "count": parameters.get("TaskCount", 1)}
        network = parameters.get("NetworkConfiguration", {}).get("awsvpcConfiguration")
        if network:  # EventBridge's Subnets, SecurityGroups, AssignPublicIp are ECS's subnets, securityGroups, assignPublicIp
            request["networkConfiguration"] = {"awsvpcConfiguration": {key[:1].lower() + key[1:]: value for key, value in network.items()}}
        if parameters.get("CapacityProviderStrategy"):
            request["capacityProviderStrategy"] = parameters["CapacityProviderStrategy"]
        if overrides:
            request["overrides"] = overrides
        response = ecs.run_task(**request)
        if response.get("failures") or not response.get("tasks"):
            raise RuntimeError(f"RunTask failed: {response.get('failures')}")
        return response["tasks"][0]["taskArn"]

    def service_spec(self, logical_id: str) -> TaskSpec:
        service = self.template["Resources"][logical_id]["Properties"]
        return self.task_spec(self.physical(service["TaskDefinition"]["Ref"]))

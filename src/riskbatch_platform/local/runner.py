"""A local stand-in for ECS: runs the deployed stack's jobs in containers of their images, or as processes.

The emulator deploys the stack but starts no containers. This runner reads what the deployed
stack says (its resources, outputs, rules, targets and task definitions, as the emulator
reports them) and, where the emulator dropped a property (task roles, for instance), the
template the stack was deployed from. The rule's event pattern and input transformer decide
which task runs with which command; the task definition's environment and command decide how
the job starts; each job runs with the credentials of its own task role, assumed through STS,
so the emulator's IAM enforcement judges every call the job makes.

One class, LocalEcs, whose parts (task definitions, rules and schedules, services, task state)
read the same deployed stack. What EventBridge does with an event (pattern, input transformer) is
eventbridge.py; a task definition as the runner reads it, task_spec.py; the container itself is
containers.py, podman's calls podman.py.

Two modes. Containers (the default of make demo and of the container night in make test): each
task is a container of the image its task definition names, pulled by the digest ECR holds for
the tag, and run as Fargate runs it (containers.py). Processes (--processes, for quick work on
the jobs): each task is a Python process on this machine with the task's environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from riskbatch_platform.aws import Target
from riskbatch_platform.deployment.image_gate import local_image_with_digest
from riskbatch_platform.deployment.stack import physical_ids
from riskbatch_platform.images.build import job_of_repository
from riskbatch_platform.images.dockerfile import dockerfile_of, parse_dockerfile
from riskbatch_platform.local.containers import (
    ContainerTask,
    HealthCheck,
    as_run,
    create_arguments,
    scratch_mount,
    stop_details,
    task_cgroup_parent,
    task_state_change,
)
from riskbatch_platform.local.eventbridge import pattern_matches, s3_object_created_event, transform_input
from riskbatch_platform.local.kernels import compile_kernels, copy_kernels, image_carries_kernels
from riskbatch_platform.local.podman import image_volumes
from riskbatch_platform.local.task_spec import HOST_SETTINGS, TaskSpec, overridden_environment, process_entry_point, task_spec_of


def _dockerfile(spec: TaskSpec) -> Path:
    """The Dockerfile of the task's image (the job its repository names, else its container's)."""
    return dockerfile_of(job_of_repository(spec.image) if spec.image else spec.container)


def _session_keys(variables: dict[str, str]) -> dict[str, str]:
    return {
        "aws_access_key_id": variables["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": variables["AWS_SECRET_ACCESS_KEY"],
        "aws_session_token": variables["AWS_SESSION_TOKEN"],
    }


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
    containers: bool = False  # run each task as a container of its image (else as a process)
    task_events: list[dict[str, Any]] = field(default_factory=list)  # the Task State Change events sent
    kernels: Path | None = None  # processes: the kernels the risk and report images carry (prepare_kernels)

    def load(self) -> None:
        cfn = self.target.client("cloudformation")
        self.resources = physical_ids(cfn, self.stack_name)
        body = cfn.get_template(StackName=self.stack_name)["TemplateBody"]
        self.template = body if isinstance(body, dict) else json.loads(body)
        self.account = self.target.client("sts").get_caller_identity()["Account"]

    def physical(self, logical_id: str) -> str:
        return self.resources[logical_id][1]

    def task_spec(self, task_definition_arn: str) -> TaskSpec:
        return task_spec_of(self.target.client("ecs").describe_task_definition(taskDefinition=task_definition_arn)["taskDefinition"])

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

    def _task_environment(self, spec: TaskSpec) -> dict[str, str]:
        """What ECS passes to the container: the task definition's environment, then the overrides of
        the run (as RunTask's containerOverrides); the task role's credentials; the emulator's endpoint."""
        environment = {**spec.environment, **self.environment_overrides}
        environment.update(self.credentials_for(spec.task_role))
        environment.update({"AWS_ENDPOINT_URL": self.target.endpoint_url or "", "AWS_REGION": self.target.region, "AWS_DEFAULT_REGION": self.target.region})
        return environment

    def prepare_kernels(self) -> Path:
        """Processes: the kernels compiled once, as the images' build compiles them, with the risk task's image
        environment; each process task whose image carries them starts with a copy (local/kernels.py says why)."""
        scratch = self.workdir / "image-scratch"
        environment = self._process_environment(self.service_spec("RiskCalculationService"), scratch, with_task=False)
        self.kernels = compile_kernels(environment, Path(environment["NUMBA_CACHE_DIR"]))
        return self.kernels

    def _process_environment(self, spec: TaskSpec, scratch: Path, with_task: bool = True) -> dict[str, str]:
        """A process stands in for the container: its image's ENV first, then what ECS passes, with
        the writable volume's path mapped to this task's scratch folder. Nothing else of the host's
        environment reaches the job but HOST_SETTINGS."""

        def mapped(value: str) -> str:
            for path in spec.mount_paths:
                if value == path or value.startswith(path.rstrip("/") + "/"):
                    return str(scratch) + value[len(path.rstrip("/")) :]
            return value

        image = parse_dockerfile(_dockerfile(spec))
        environment = {key: os.environ[key] for key in HOST_SETTINGS if key in os.environ}
        environment.update({key: mapped(value) for key, value in image.environment.items()})
        if with_task:
            environment.update({key: mapped(value) for key, value in self._task_environment(spec).items()})
        return environment

    def _task_command(self, spec: TaskSpec, overrides: dict[str, Any] | None) -> list[str]:
        """The container's command: the task definition's, or the run's override (after the image's ENTRYPOINT)."""
        command = spec.command
        for override in (overrides or {}).get("containerOverrides", []):
            if override.get("name") == spec.container and "command" in override:
                command = override["command"]
        return list(command)

    def start(
        self, spec: TaskSpec, overrides: dict[str, Any] | None = None, name: str | None = None, service: str | None = None, task_arn: str | None = None
    ) -> Any:
        """Start one task; returns its handle (poll, wait, terminate, kill, as subprocess.Popen). The
        container's environment overrides of the run (RunTask's containerOverrides) apply to it alone."""
        saved = self.environment_overrides
        self.environment_overrides = {**saved, **overridden_environment(spec, overrides)}
        try:
            return self._start(spec, overrides, name, service, task_arn)
        finally:
            self.environment_overrides = saved

    def _start(self, spec: TaskSpec, overrides: dict[str, Any] | None, name: str | None, service: str | None, task_arn: str | None) -> Any:
        label = name or f"{spec.family}-{len(self.tasks_run)}"
        log_path = self.workdir / "logs" / f"{label}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        command = self._task_command(spec, overrides)
        record: dict[str, Any] = {"name": label, "command": command, "role": spec.task_role, "log": str(log_path), "service": service}
        record["overrides"] = dict(self.environment_overrides)  # the RunTask overrides this task ran with
        if self.containers:
            record["process"] = self._start_container(spec, command, label, log_path, service, task_arn, record)
        else:
            scratch = self.workdir / "scratch" / label
            scratch.mkdir(parents=True, exist_ok=True)
            environment = self._process_environment(spec, scratch)
            if self.kernels and environment.get("NUMBA_CACHE_DIR") and image_carries_kernels(_dockerfile(spec)):
                copy_kernels(self.kernels, Path(environment["NUMBA_CACHE_DIR"]))
            with log_path.open("w", encoding="utf-8") as log:
                record["process"] = subprocess.Popen([*process_entry_point(spec.entry_point), *command], env=environment, stdout=log, stderr=subprocess.STDOUT)
        self.tasks_run.append(record)
        return record["process"]

    # --- containers ---------------------------------------------------------------------------

    @property
    def cluster_arn(self) -> str:
        return self.target.client("ecs").describe_clusters(clusters=[self.physical("RiskBatchCluster")])["clusters"][0]["clusterArn"]

    def pull(self, image: str) -> tuple[str, str]:
        """The local image for the task definition's image reference, found as ECS finds it: the tag's
        digest in the repository, then the image with that digest. (local image id, digest)"""
        repository_uri, _, tag = image.rpartition(":")
        repository = repository_uri.split("/", 1)[1]
        described = self.target.client("ecr").describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])["imageDetails"][0]
        digest = described["imageDigest"]
        local = local_image_with_digest(digest)
        if local is None:
            raise RuntimeError(f"CannotPullContainerError: {image} ({digest}) is not among the images built on this machine; run make images")
        return local, digest

    def _service_task_arn(self, spec: TaskSpec, logical_id: str) -> str:
        """The service scheduler's RunTask for one task of the service (the emulator runs no services).
        The emulator drops the service's capacity provider strategy: it is read from the template."""
        ecs = self.target.client("ecs")
        described = ecs.describe_services(cluster=self.cluster_arn, services=[self.physical(logical_id)])["services"][0]
        strategy = described.get("capacityProviderStrategy") or [
            {key[:1].lower() + key[1:]: value for key, value in item.items()}
            for item in self.template["Resources"][logical_id]["Properties"].get("CapacityProviderStrategy", [])
        ]
        request: dict[str, Any] = {
            "cluster": self.cluster_arn,
            "taskDefinition": spec.task_definition_arn,
            "count": 1,
            "startedBy": f"ecs-svc/{described['serviceName']}",
            "group": f"service:{described['serviceName']}",
        }
        network = described.get("networkConfiguration") or self._template_network(logical_id)
        if network:
            request["networkConfiguration"] = network
        if strategy:
            request["capacityProviderStrategy"] = strategy
        return ecs.run_task(**request)["tasks"][0]["taskArn"]

    def _template_network(self, logical_id: str) -> dict[str, Any] | None:
        """The service's awsvpc configuration as the template gives it (the emulator keeps none for a service)."""
        awsvpc = self.template["Resources"][logical_id]["Properties"].get("NetworkConfiguration", {}).get("AwsvpcConfiguration")
        return self._awsvpc(awsvpc) if awsvpc else None

    def _awsvpc(self, awsvpc: dict[str, Any]) -> dict[str, Any]:
        """A template's AwsvpcConfiguration in the API's shape, its Refs read from the stack."""
        stack = self.target.client("cloudformation").describe_stacks(StackName=self.stack_name)["Stacks"][0]
        parameters = {item["ParameterKey"]: item["ParameterValue"] for item in stack.get("Parameters", [])}

        def value(item: Any) -> Any:
            if isinstance(item, dict) and "Ref" in item:
                return self.physical(item["Ref"]) if item["Ref"] in self.resources else parameters[item["Ref"]]
            return item

        return {"awsvpcConfiguration": {"subnets": [value(item) for item in awsvpc.get("Subnets", [])],
                                        "securityGroups": [value(item) for item in awsvpc.get("SecurityGroups", [])],
                                        "assignPublicIp": awsvpc.get("AssignPublicIp", "DISABLED")}}  # fmt: skip

    def _start_container(
        self, spec: TaskSpec, command: list[str], label: str, log_path: Path, service: str | None, task_arn: str | None, record: dict[str, Any]
    ) -> ContainerTask:
        image_id, digest = self.pull(spec.image)
        if service:
            task_arn = self._service_task_arn(spec, service)
        name = f"riskbatch-{label}-{time.time_ns() % 10**9}"
        declared = image_volumes(image_id)
        mounts = [scratch_mount(path, declared, name, self.workdir / "volumes") for path in spec.mount_paths]
        arguments = create_arguments(
            name=name, image=image_id, command=command, environment=self._task_environment(spec), user=spec.user, read_only=spec.read_only,
            memory_mib=spec.memory_mib, cpu_units=spec.cpu_units, stop_timeout=spec.stop_timeout, mounts=mounts, cgroup_parent=task_cgroup_parent(name),
            capabilities_dropped=spec.capabilities_dropped, capabilities_added=spec.capabilities_added, entry_point=spec.entry_point,
        )  # fmt: skip
        record.update(
            job=spec.container, image=spec.image, task_definition=spec.task_definition_arn, digest=digest, digest_image_id=image_id,
            memory_limit_mib=spec.memory_mib, task_arn=task_arn, container=name,
        )  # fmt: skip
        started = {"group": f"service:{self.physical(service)}" if service else f"family:{spec.family}"}

        def stopped(task: ContainerTask) -> None:
            stop_code, reason, container_reason = stop_details(task.returncode, task.oom_killed, task.stopped_by)
            record.update(
                exit_code=task.returncode, oom_killed=task.oom_killed, stop_code=stop_code, stopped_reason=reason, container_reason=container_reason,
                peak_mib=task.peak_mib, wall_seconds=round(task.wall_seconds, 1), health=task.health_status, health_log=task.health_log,
                as_run=as_run(task.inspected),
            )  # fmt: skip
            self.send_task_stopped(
                task_state_change(
                    task_arn=task_arn or f"arn:aws:ecs:{self.target.region}:{self.account}:task/local/{name}", cluster_arn=self.cluster_arn,
                    task_definition_arn=spec.task_definition_arn, container=spec.container, group=started["group"], exit_code=task.returncode,
                    stop_code=stop_code, stopped_reason=reason, container_reason=container_reason, image=spec.image, image_digest=digest,
                    started=task.started, stopped=task.stopped,
                )
            )  # fmt: skip

        task = ContainerTask(
            name=name, create=arguments, stop_timeout=spec.stop_timeout, health=HealthCheck.from_definition(spec.health_check) if spec.health_check else None,
            replace_when_unhealthy=service is not None, on_stopped=stopped, memory_limit_mib=spec.memory_mib, log_path=log_path,
            volumes=[mount.source for mount in mounts if mount.kind == "volume"],
        )  # fmt: skip
        return task.start()

    def send_task_stopped(self, detail: dict[str, Any]) -> None:
        """ECS's event for a stopped task, on the default bus (the stack's rule sends it to the task events log)."""
        if detail["taskArn"].startswith("arn:aws:ecs") and "/local/" not in detail["taskArn"]:
            self.target.client("ecs").stop_task(cluster=detail["clusterArn"], task=detail["taskArn"], reason=detail["stoppedReason"])
        entry = {"Source": "aws.ecs", "DetailType": "ECS Task State Change", "Detail": json.dumps(detail), "Resources": [detail["taskArn"]]}
        response = self.target.client("events").put_events(Entries=[entry])
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"the task state change event was not accepted: {response['Entries']}")
        self.task_events.append(detail)

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
                process = self.start(spec, overrides, name=f"{spec.family}-{key.rsplit('/', 1)[-1].split('.')[0]}-{len(self.tasks_run)}", task_arn=task_arn)
                outcomes.append((self.tasks_run[-1]["name"], process.wait()))
                if not self.containers:  # a container's stop is reported when it stops, with its exit code
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

    def run_schedule(self, logical_id: str, name: str | None = None) -> tuple[str, int]:
        """What EventBridge Scheduler does when the schedule fires: RunTask with the schedule's role
        (assumed as scheduler.amazonaws.com), then the task. The emulator fires no schedules, so
        its target is read from the template, its references from the stack. Returns (task, exit code)."""
        target = self.template["Resources"][logical_id]["Properties"]["Target"]
        parameters = target["EcsParameters"]
        role = self.physical(target["RoleArn"]["Fn::GetAtt"][0])
        task_definition = self.physical(parameters["TaskDefinitionArn"]["Ref"])
        request = {
            "cluster": self.cluster_arn,
            "taskDefinition": task_definition,
            "count": int(parameters.get("TaskCount", 1)),
            "startedBy": f"scheduler/{logical_id}"[:36],
            "networkConfiguration": self._awsvpc(parameters.get("NetworkConfiguration", {}).get("AwsvpcConfiguration", {})),
            "capacityProviderStrategy": [{key[:1].lower() + key[1:]: item[key] for key in item} for item in parameters.get("CapacityProviderStrategy", [])],
        }  # fmt: skip
        response = self.as_role(role).client("ecs").run_task(**request)
        if response.get("failures") or not response.get("tasks"):
            raise RuntimeError(f"the schedule's RunTask failed: {response.get('failures')}")
        spec = self.task_spec(task_definition)
        task = self.start(spec, None, name=name or f"{spec.family}-{len(self.tasks_run)}", task_arn=response["tasks"][0]["taskArn"])
        code = task.wait()
        if not self.containers:
            self.target.client("ecs").stop_task(cluster=self.cluster_arn, task=response["tasks"][0]["taskArn"], reason="Essential container in task exited")
        return self.tasks_run[-1]["name"], code

    def service_spec(self, logical_id: str) -> TaskSpec:
        service = self.template["Resources"][logical_id]["Properties"]
        return self.task_spec(self.physical(service["TaskDefinition"]["Ref"]))

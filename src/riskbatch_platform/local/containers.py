"""A task as Fargate runs it: one container of the job's image, exactly as the task definition says.

What Fargate does, and so what this does (each from the ECS developer guide or API reference):
- the container runs the task definition's command as its user, with a read-only root filesystem
  and nothing writable but its volumes (no tmpfs on /tmp: Fargate adds none);
- its environment is the image's ENV, then the task definition's, then RunTask's overrides, with
  the task role's credentials; nothing of the host's;
- the memory is a hard limit with no swap (over it the kernel kills the container: exit 137 and
  "OutOfMemoryError: Container killed due to memory usage"), the CPU the task's vCPU;
- a task volume with no host path is an empty directory owned by root, mode 0755, unless the
  image declares VOLUME for the mount path: then the image's directory is copied in;
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/bind-mounts.html
- the health check runs the task definition's command every Interval seconds, fails after Timeout,
  counts no failure in the StartPeriod, and marks the container UNHEALTHY after Retries failures
  in a row; a service's unhealthy task is stopped and replaced, a standalone task runs on;
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html
- a stop sends SIGTERM, then SIGKILL StopTimeout seconds later;
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html
- every stop becomes an "ECS Task State Change" event with the exit code, stop code and reason.
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_task_events.html
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from riskbatch_platform.local.podman import PODMAN, ULIMITS, inspect_container, podman

MEMORY_CGROUP = Path("/sys/fs/cgroup/memory")
TASK_CGROUP_PARENT = "riskbatch-tasks"
OOM_REASON = "OutOfMemoryError: Container killed due to memory usage"
HEALTH_REASON = "Task failed container health checks"
EXITED_REASON = "Essential container in task exited"
SAMPLE_SECONDS = 0.5


@dataclass(frozen=True)
class HealthCheck:
    command: list[str]  # without the CMD / CMD-SHELL marker
    shell: bool
    interval: float
    timeout: float
    retries: int
    start_period: float

    @classmethod
    def from_definition(cls, check: dict[str, Any]) -> HealthCheck:
        # ECS's defaults when a field is absent: 30 s, 5 s, 3, no start period.
        marker, *command = check["command"]
        interval, timeout = float(check.get("interval", 30)), float(check.get("timeout", 5))
        return cls(command, marker == "CMD-SHELL", interval, timeout, int(check.get("retries", 3)), float(check.get("startPeriod", 0)))

    def exec_command(self) -> list[str]:
        return ["/bin/sh", "-c", " ".join(self.command)] if self.shell else list(self.command)


@dataclass(frozen=True)
class Mount:
    kind: str  # "volume": a podman volume, filled from the image (copy-up); "bind": an empty host folder
    source: str
    target: str

    def argument(self) -> str:
        return f"type={self.kind},source={self.source},destination={self.target}"


def scratch_mount(container_path: str, declared_volumes: list[str], task_name: str, host_root: Path) -> Mount:
    """Fargate's task volume at container_path: the image's directory if the image declares it a
    VOLUME, else an empty directory owned by root with mode 0755."""
    if container_path in declared_volumes:
        return Mount("volume", f"{task_name}-{container_path.strip('/').replace('/', '-') or 'root'}", container_path)
    folder = host_root / task_name / container_path.strip("/").replace("/", "-")
    folder.mkdir(parents=True, exist_ok=True)
    os.chown(folder, 0, 0)
    folder.chmod(0o755)
    return Mount("bind", str(folder), container_path)


def create_arguments(
    *, name: str, image: str, command: list[str], environment: dict[str, str], user: str | None, read_only: bool,
    memory_mib: int, cpu_units: int, stop_timeout: int, mounts: list[Mount], cgroup_parent: str | None,
    capabilities_dropped: tuple[str, ...] = (), capabilities_added: tuple[str, ...] = (), entry_point: list[str] | None = None,
) -> list[str]:  # fmt: skip
    """podman create's arguments for one task's container (pure: the unit suite reads them)."""
    arguments = ["create", "--name", name, "--network", "host", "--pull", "never", *ULIMITS]
    if user:
        arguments += ["--user", user]
    if read_only:
        arguments += ["--read-only", "--read-only-tmpfs=false"]  # podman would add tmpfs on /tmp, /var/tmp, /run: Fargate does not
    # LinuxParameters.Capabilities: drop first, then add, as ECS passes them to the runtime (KernelCapabilities,
    # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_KernelCapabilities.html)
    arguments += [argument for capability in capabilities_dropped for argument in ("--cap-drop", capability)]
    arguments += [argument for capability in capabilities_added for argument in ("--cap-add", capability)]
    arguments += ["--memory", f"{memory_mib}m", "--memory-swap", f"{memory_mib}m", "--cpus", f"{cpu_units / 1024:g}"]
    arguments += ["--stop-timeout", str(stop_timeout), "--no-healthcheck"]  # the health check is the task definition's, run below
    if cgroup_parent:
        arguments += ["--cgroup-parent", cgroup_parent]
    for mount in mounts:
        arguments += ["--mount", mount.argument()]
    for key, value in sorted(environment.items()):
        arguments += ["--env", f"{key}={value}"]
    if entry_point:  # the task definition's entryPoint replaces the image's ENTRYPOINT
        arguments += ["--entrypoint", json.dumps(entry_point)]
    return [*arguments, image, *command]


def stop_details(exit_code: int | None, oom_killed: bool, stopped_by: str | None) -> tuple[str, str, str | None]:
    """(stopCode, stoppedReason, container reason) as ECS reports them for this end of a task."""
    if stopped_by == "health":
        return "ServiceSchedulerInitiated", HEALTH_REASON, None
    if stopped_by == "user":
        return "UserInitiated", "Task stopped by user", None
    if oom_killed:
        return "EssentialContainerExited", EXITED_REASON, OOM_REASON
    return "EssentialContainerExited", EXITED_REASON, None


def task_state_change(
    *, task_arn: str, cluster_arn: str, task_definition_arn: str, container: str, group: str, exit_code: int | None,
    stop_code: str, stopped_reason: str, container_reason: str | None, image: str, image_digest: str, started: float, stopped: float,
) -> dict[str, Any]:  # fmt: skip
    """The detail of the "ECS Task State Change" event ECS sends when a task stops."""

    def iso(seconds: float) -> str:
        return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    container_detail: dict[str, Any] = {"name": container, "lastStatus": "STOPPED", "image": image, "imageDigest": image_digest, "taskArn": task_arn}
    if exit_code is not None:
        container_detail["exitCode"] = exit_code
    if container_reason:
        container_detail["reason"] = container_reason
    return {
        "clusterArn": cluster_arn,
        "taskArn": task_arn,
        "taskDefinitionArn": task_definition_arn,
        "group": group,
        "launchType": "FARGATE",
        "lastStatus": "STOPPED",
        "desiredStatus": "STOPPED",
        "stopCode": stop_code,
        "stoppedReason": stopped_reason,
        "startedAt": iso(started),
        "stoppedAt": iso(stopped),
        "containers": [container_detail],
    }


def task_cgroup_parent(name: str) -> str:
    """The task's own cgroup, parent of its container's: its memory high-water mark outlives the
    container (whose cgroup is removed when it exits), so the peak is read exactly at the end."""
    return f"/{TASK_CGROUP_PARENT}/{name}"


def as_run(inspected: dict[str, Any]) -> dict[str, Any]:
    """How the container actually ran, from podman's inspection: what a test compares with the task definition."""
    config, host = inspected.get("Config", {}), inspected.get("HostConfig", {})
    return {
        "user": config.get("User"),
        "read_only": host.get("ReadonlyRootfs"),
        "effective_capabilities": sorted(inspected.get("EffectiveCaps") or []),
        "memory_bytes": host.get("Memory"),
        "memory_swap_bytes": host.get("MemorySwap"),
        "nano_cpus": host.get("NanoCpus"),
        "stop_timeout": config.get("StopTimeout"),
        "environment": sorted(item.split("=", 1)[0] for item in config.get("Env", [])),
        "mounts": [{"type": m.get("Type"), "destination": m.get("Destination"), "rw": m.get("RW")} for m in inspected.get("Mounts", [])],
        "tmpfs": host.get("Tmpfs") or {},
        "command": config.get("Cmd"),
        "entrypoint": config.get("Entrypoint"),
    }


def killed_at_its_limit(exit_code: int | None, stopped_by: str | None, peak_bytes: int | None, limit_mib: int) -> bool:
    """Whether the kernel killed the container for its memory, when neither podman's OOMKilled (never
    set on these machines: cgroup v1, runc) nor conmon's "oom" file says so: a SIGKILL (137) that no
    stop sent, while the task's memory high-water mark stood at the container's hard limit."""
    return exit_code == 137 and stopped_by is None and peak_bytes is not None and peak_bytes >= limit_mib * 2**20


def read_peak_bytes(cgroup: Path) -> int | None:
    try:
        return int((cgroup / "memory.max_usage_in_bytes").read_text())
    except (FileNotFoundError, ValueError):
        return None


@dataclass
class ContainerTask:
    """One running task, with the Popen methods the night's loops use (poll, wait, terminate, kill)."""

    name: str
    create: list[str]
    stop_timeout: int
    health: HealthCheck | None
    replace_when_unhealthy: bool  # a service task: stopped when unhealthy (a standalone task runs on)
    on_stopped: Callable[[ContainerTask], None]
    memory_limit_mib: int
    log_path: Path
    volumes: list[str] = field(default_factory=list)
    returncode: int | None = None
    oom_killed: bool = False
    stopped_by: str | None = None  # "health" or "user" when the runner stopped it
    health_status: str = "UNKNOWN"
    health_log: list[tuple[float, int]] = field(default_factory=list)  # (seconds since start, exit code)
    peak_bytes: int | None = None
    inspected: dict[str, Any] = field(default_factory=dict)  # podman's view of the container, read when it stopped
    started: float = 0.0
    stopped: float = 0.0
    _done: threading.Event = field(default_factory=threading.Event)
    _stop_requested: threading.Event = field(default_factory=threading.Event)
    _attached: subprocess.Popen | None = None

    @property
    def monitor_dir(self) -> Path:
        return self.log_path.parent / "monitor" / self.name

    @property
    def cgroup(self) -> Path:
        return MEMORY_CGROUP / task_cgroup_parent(self.name).lstrip("/")

    def start(self) -> ContainerTask:
        podman(*self.create)
        self.started = time.time()
        self.monitor_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("w", encoding="utf-8") as log:
            # attached: the container's output goes to the task's log as it is written (awslogs' stand-in);
            # in its own folder, where podman's monitor (conmon) leaves a file "oom" when the kernel kills for memory
            self._attached = subprocess.Popen(
                [*PODMAN, "start", "--attach", self.name], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.monitor_dir
            )
        threading.Thread(target=self._watch, name=f"watch-{self.name}", daemon=True).start()
        if self.health:
            threading.Thread(target=self._check_health, name=f"health-{self.name}", daemon=True).start()
        return self

    def _watch(self) -> None:
        self._attached.wait()
        waited = podman("wait", self.name, check=False)
        self.stopped = time.time()
        self.inspected = inspect_container(self.name)
        state = self.inspected["State"]
        self.returncode = int(state.get("ExitCode", waited.stdout.strip() or -1))
        self.peak_bytes = read_peak_bytes(self.cgroup)
        self.oom_killed = (
            bool(state.get("OOMKilled"))
            or (self.monitor_dir / "oom").exists()
            or killed_at_its_limit(self.returncode, self.stopped_by, self.peak_bytes, self.memory_limit_mib)
        )
        try:
            self.on_stopped(self)
        finally:
            podman("rm", "--force", "--volumes", self.name, check=False)
            for volume in self.volumes:
                podman("volume", "rm", "--force", volume, check=False)
            for folder in (self.cgroup / "conmon", self.cgroup):  # podman leaves its monitor's cgroup inside
                with contextlib.suppress(OSError):
                    folder.rmdir()
            self._done.set()

    def _check_health(self) -> None:
        assert self.health is not None
        failures = 0
        in_start_period = True
        while not self._done.wait(self.health.interval):
            since_start = time.time() - self.started
            try:
                code = podman("exec", self.name, *self.health.exec_command(), check=False, timeout=self.health.timeout).returncode
            except subprocess.TimeoutExpired:
                code = -1
            if self._done.is_set():
                return
            self.health_log.append((round(since_start, 1), code))
            if code == 0:
                failures, in_start_period, self.health_status = 0, False, "HEALTHY"
                continue
            if in_start_period and since_start < self.health.start_period:
                continue  # a failure in the start period does not count
            failures += 1
            if failures >= self.health.retries:
                self.health_status = "UNHEALTHY"
                if self.replace_when_unhealthy:
                    self._stop("health")
                return

    def _stop(self, by: str) -> None:
        if self._stop_requested.is_set():
            return
        self._stop_requested.set()
        self.stopped_by = by
        # SIGTERM, then SIGKILL after the task definition's StopTimeout.
        threading.Thread(target=podman, args=("stop", "--time", str(self.stop_timeout), self.name), kwargs={"check": False}, daemon=True).start()

    def poll(self) -> int | None:
        return self.returncode if self._done.is_set() else None

    def wait(self, timeout: float | None = None) -> int:
        if not self._done.wait(timeout):
            raise subprocess.TimeoutExpired(self.name, timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def terminate(self) -> None:
        """StopTask: SIGTERM, then SIGKILL after StopTimeout."""
        self._stop("user")

    def send_signal(self, signal_name: str) -> None:
        podman("kill", "--signal", signal_name, self.name, check=False)

    def kill(self) -> None:
        podman("kill", self.name, check=False)

    @property
    def peak_mib(self) -> float | None:
        return None if self.peak_bytes is None else self.peak_bytes / 2**20

    @property
    def wall_seconds(self) -> float:
        return (self.stopped or time.time()) - self.started


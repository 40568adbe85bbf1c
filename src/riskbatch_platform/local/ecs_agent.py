"""What the emulator needs to start a task: an agent that runs the tasks RunTask records.

moto's RunTask records a task and starts nothing. In a live run against the emulator
(make integration-live) the suite calls RunTask as it would in an account and waits for the task to
stop; this agent, beside the emulator, plays the part of Fargate's: it finds the tasks started by
the suite (startedBy), runs each with the local runner (its task definition, its overrides, its
task role's credentials), reports its container's exit code when its process ends (as ECS's agent
does, with SubmitContainerStateChange) and stops it in the emulator, so that DescribeTasks and the
tasks-stopped waiter see it stop with its exit code. A task someone stops with StopTask gets what
Fargate gives it: SIGTERM, then SIGKILL once its container's stop timeout has passed ("StopTask":
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopTask.html). When a task stops it sends
the "ECS Task State Change" event ECS sends to EventBridge's default bus, which the stack's rule writes to
its task events log ("Amazon ECS events":
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_cwe_events.html). It runs nothing else
than the tasks of the callers it serves (their startedBy: the suite's, and the operator's rerun).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from riskbatch_platform.local.containers import task_state_change
from riskbatch_platform.local.runner import LocalEcs

EXITED = "Essential container in task exited"


class EcsAgent:
    def __init__(self, runner: LocalEcs, cluster: str, started_by: str | tuple[str, ...], poll_seconds: float = 0.5) -> None:
        self.runner, self.cluster, self.poll_seconds = runner, cluster, poll_seconds
        self.started_by = (started_by,) if isinstance(started_by, str) else tuple(started_by)
        self.running: dict[str, Any] = {}  # task ARN -> process handle
        self.specs: dict[str, Any] = {}  # task ARN -> its task spec
        self.signalled: dict[str, float] = {}  # task ARN -> when SIGTERM was sent (a StopTask)
        self.started: list[str] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="ecs-agent", daemon=True)

    def __enter__(self) -> EcsAgent:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        for handle in self.running.values():
            if handle.poll() is None:
                handle.kill()

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.step()
            except Exception as error:  # keep serving; the suite sees the task that never stops
                self.errors.append(f"{type(error).__name__}: {error}")

    def step(self) -> None:
        ecs = self.runner.target.client("ecs")
        arns = [arn for who in self.started_by for arn in ecs.list_tasks(cluster=self.cluster, startedBy=who, desiredStatus="RUNNING").get("taskArns", [])]
        new = [arn for arn in arns if arn not in self.running and arn not in self.started]
        if new:
            for task in ecs.describe_tasks(cluster=self.cluster, tasks=new)["tasks"]:
                spec = self.runner.task_spec(task["taskDefinitionArn"])
                name = f"{spec.family}-{task['taskArn'].rsplit('/', 1)[-1][:8]}"
                self.running[task["taskArn"]] = self.runner.start(spec, task.get("overrides") or {}, name=name, task_arn=task["taskArn"])
                self.specs[task["taskArn"]] = spec
                self.started.append(task["taskArn"])
        self._pass_on_stop_requests(ecs)
        for arn, handle in list(self.running.items()):
            code = handle.poll()
            if code is not None:
                spec = self.specs.pop(arn)
                ecs.submit_container_state_change(cluster=self.cluster, task=arn, containerName=spec.container, exitCode=code, status="STOPPED")
                if arn not in self.signalled:  # a task stopped by StopTask keeps the reason it was given
                    ecs.stop_task(cluster=self.cluster, task=arn, reason=EXITED)
                del self.running[arn]
                self._send_task_stopped(ecs, arn, spec, code)

    def _send_task_stopped(self, ecs: Any, arn: str, spec: Any, code: int) -> None:
        """ECS's event for the stopped task, on the default bus, as the task stands in the emulator."""
        (task,) = ecs.describe_tasks(cluster=self.cluster, tasks=[arn])["tasks"]
        started = task.get("startedAt") or task.get("createdAt")
        detail = task_state_change(
            task_arn=arn, cluster_arn=self.cluster, task_definition_arn=task["taskDefinitionArn"], container=spec.container,
            group=task.get("group") or f"family:{spec.family}", exit_code=code,
            stop_code="UserInitiated" if arn in self.signalled else "EssentialContainerExited", stopped_reason=task.get("stoppedReason") or EXITED,
            container_reason=None, image=spec.image, image_digest="", started=started.timestamp() if started else time.time(), stopped=time.time(),
        )  # fmt: skip
        self.runner.send_task_stopped(detail)

    def _pass_on_stop_requests(self, ecs: Any) -> None:
        """SIGTERM to the process of a task whose desired status became STOPPED, SIGKILL after its stop timeout."""
        alive = [arn for arn, handle in self.running.items() if handle.poll() is None]
        if not alive:
            return
        for task in ecs.describe_tasks(cluster=self.cluster, tasks=alive)["tasks"]:
            arn, handle = task["taskArn"], self.running[task["taskArn"]]
            if task.get("desiredStatus") != "STOPPED":
                continue
            if arn not in self.signalled:
                handle.terminate()
                self.signalled[arn] = time.monotonic()
            elif time.monotonic() - self.signalled[arn] > self.specs[arn].stop_timeout:
                handle.kill()

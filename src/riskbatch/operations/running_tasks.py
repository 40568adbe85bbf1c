"""The tasks running now in the stack's cluster, per job: what `riskbatch status` shows beside the night.

ECS ListTasks with desiredStatus RUNNING ("the tasks that ECS will keep running" and those on their
way) and DescribeTasks for each one's task definition, status and start time, at most 100 a call
(ListTasks: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html,
DescribeTasks: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTasks.html).
The job is the task definition's family without its environment suffix (task-<job>-<suffix>).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from riskbatch.inputs.business_days import NEW_YORK

DESCRIBE_LIMIT = 100  # DescribeTasks takes 100 tasks at most


def job_of(task_definition_arn: str, environment: str) -> str:
    """task-definition/task-risk-calculation-prod:7 -> risk-calculation."""
    family = task_definition_arn.rsplit("/", 1)[-1].rsplit(":", 1)[0]
    return family.removeprefix("task-").removesuffix(f"-{environment}")


def _new_york(moment: Any) -> str | None:
    if isinstance(moment, str) and moment:
        moment = dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return moment.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M") if isinstance(moment, dt.datetime) else None


def running_tasks(ecs: Any, cluster: str, environment: str) -> dict[str, list[dict[str, Any]]]:
    """Each job's tasks that are running or starting, oldest first: id, status, started (New York), started by."""
    pages = ecs.get_paginator("list_tasks").paginate(cluster=cluster, desiredStatus="RUNNING")
    arns = [arn for page in pages for arn in page.get("taskArns", [])]
    by_job: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(arns), DESCRIBE_LIMIT):
        for task in ecs.describe_tasks(cluster=cluster, tasks=arns[start : start + DESCRIBE_LIMIT]).get("tasks", []):
            by_job.setdefault(job_of(task.get("taskDefinitionArn", ""), environment), []).append({
                "task": task["taskArn"].rsplit("/", 1)[-1],
                "status": task.get("lastStatus"),
                "started_at": _new_york(task.get("startedAt") or task.get("createdAt")),
                "started_by": task.get("startedBy") or task.get("group"),
            })  # fmt: skip
    return {job: sorted(tasks, key=lambda task: (task["started_at"] or "", task["task"])) for job, tasks in sorted(by_job.items())}


def running_lines(running: dict[str, list[dict[str, Any]]]) -> list[str]:
    """The running tasks for a person: one line a job."""
    if not running:
        return ["  running now: no task"]
    lines = []
    for job, tasks in running.items():
        shown = ", ".join(f"{task['task'][:12]} {task['status']} since {task['started_at'] or '?'}" for task in tasks)
        lines.append(f"  running now: {job}: {len(tasks)} task(s): {shown}")
    return lines

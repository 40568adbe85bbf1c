"""The local target end to end: deploy the stack into the emulator, then run a night through it."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from riskbatch_platform import REPO_ROOT
from riskbatch_platform.deployment.bucket_events import enable_eventbridge
from riskbatch_platform.deployment.image_gate import push_image, repository_names, stand_in_manifest
from riskbatch_platform.deployment.phases import deploy_in_phases
from riskbatch_platform.deployment.stack import StackOptions, write_flat_outputs
from riskbatch_platform.images.build import job_of_repository
from riskbatch_platform.local.emulator.loopback import Emulator, StandIns, create_stand_ins, set_scan_findings
from riskbatch_platform.local.runner import LocalEcs
from riskbatch_platform.testing.access_probes import ON as ACCESS_PROBES_ON


@dataclass
class LocalStack:
    emulator: Emulator
    stack_name: str
    stand_ins: StandIns
    parameters: dict[str, str]
    outputs: dict[str, str]
    template: dict[str, Any]
    mailbox: str  # a queue subscribed to the alert topic: what an e-mail subscriber would receive
    images: dict[str, str] = field(default_factory=dict)  # repository -> digest of the pushed image


def push_stand_in_images(emulator: Emulator, outputs: dict[str, str], tag: str) -> dict[str, str]:
    """For the process mode: an empty manifest stands in for each job's image."""
    ecr = emulator.client("ecr")
    pushed = {}
    for repository in repository_names(outputs):
        pushed[repository] = ecr.put_image(repositoryName=repository, imageManifest=stand_in_manifest(), imageTag=tag)["image"]["imageId"]["imageDigest"]
    return pushed


def push_built_images(emulator: Emulator, outputs: dict[str, str], tag: str, say: Callable[[str], None]) -> dict[str, str]:
    """The three images make images built, pushed to their repositories as real manifests (the
    repository of job J is ecr-J-<suffix>); the runner then starts exactly the image of that digest."""
    from riskbatch_platform.images.build import local_reference

    ecr = emulator.client("ecr")
    pushed = {}
    for repository in repository_names(outputs):
        job = job_of_repository(repository)
        pushed[repository] = push_image(ecr, repository, local_reference(job, tag), tag)
        say(f"  pushed {local_reference(job, tag)} to {repository}:{tag} as {pushed[repository][:19]}")
    return pushed


def scan_pushed_images(emulator: Emulator, outputs: dict[str, str], tag: str) -> None:
    """ECR scans on push by itself; the emulator keeps the setting but never scans: it is told what
    its scans report (no findings; the deploy script's gate is tested with findings elsewhere), and
    the scans are started."""
    ecr = emulator.client("ecr")
    set_scan_findings(emulator, repository_names(outputs), tag, {})
    for repository in repository_names(outputs):
        ecr.start_image_scan(repositoryName=repository, imageId={"imageTag": tag})


def deploy_local(
    emulator: Emulator,
    suffix: str,
    out: Path,
    say: Callable[[str], None],
    containers: bool = False,
    access_probes: bool = False,
    options: StackOptions | None = None,
    environment_class: str = "production",
) -> LocalStack:
    """Deploy the stack in its phases; with containers, build the job images and push them first
    (else empty stand-in manifests, for the process mode); with access_probes, the task roles may use
    probes/ of the output bucket (EnableAccessProbes=true, for the integration suite's probes only);
    options as riskbatch-deploy's (a CloudFormation service role: --role-arn); environment_class the
    stack's EnvironmentClass (non-production for a stack whose nights run below the production floor)."""
    stack_name = f"riskbatch-{suffix}"
    template = json.loads((REPO_ROOT / "lib" / "TapStack.json").read_text(encoding="utf-8"))  # as written: no copy for the emulator
    target = emulator.target
    say("creating the existing VPC, subnets and buckets")
    stand_ins = create_stand_ins(emulator, suffix)
    enable_eventbridge(target.client("s3"), stand_ins.input_bucket)
    parameters = {**stand_ins.stack_parameters(suffix), "EnvironmentClass": environment_class, **(ACCESS_PROBES_ON if access_probes else {})}
    say("deploying, phase 1 (no services)")
    outputs = deploy_in_phases(target, stack_name, template, parameters, stand_ins.template_bucket, foundation_only=True, options=options)
    tag = template["Parameters"]["ImageTag"]["Default"]
    if containers:
        from riskbatch_platform.images.build import build_all

        say("building the job images (make images)")
        for image in build_all(tag, say):
            say(f"  {image.reference}: {image.size_bytes / 2**20:.0f} MiB, built in {image.seconds:.1f} s")
        say(f"pushing the images tagged {tag} to their repositories")
        images = push_built_images(emulator, outputs, tag, say)
    else:
        say(f"pushing stand-in images tagged {tag}")
        images = push_stand_in_images(emulator, outputs, tag)
    scan_pushed_images(emulator, outputs, tag)
    say("deploying, phases 2 and 3 (scan gate, services)")
    # no smoke tasks: the emulator's RunTask starts nothing without an agent, and the night runs every image next
    outputs = deploy_in_phases(target, stack_name, template, parameters, stand_ins.template_bucket, options=options, smoke=False)
    write_flat_outputs(outputs, out / "flat-outputs.json")
    sqs, sns = target.client("sqs"), target.client("sns")
    mailbox = sqs.create_queue(QueueName=f"mailbox-{suffix}")["QueueUrl"]
    mailbox_arn = sqs.get_queue_attributes(QueueUrl=mailbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=outputs["AlertTopicArn"], Protocol="sqs", Endpoint=mailbox_arn)
    return LocalStack(emulator, stack_name, stand_ins, {**parameters, "DeployServices": "true"}, outputs, template, mailbox, images)


@dataclass
class NightResult:
    business_date: str
    run_id: str | None
    figures: dict[str, Any] | None
    report_path: Path | None
    notifications: list[dict[str, Any]]
    stage_seconds: dict[str, float] = field(default_factory=dict)
    tasks: list[dict[str, Any]] = field(default_factory=list)


NIGHTLY_FILES = ("positions.csv", "market.csv")
RATES_FILE = "rates.csv"  # a required input, read when the two nightly files are ingested: it lands before them


def land_files(s3: Any, bucket: str, folder: Path, business_date: str, names: tuple[str, ...] = NIGHTLY_FILES, prefix: str = "incoming/") -> list[str]:
    """Put the night's files where they arrive (<prefix><date>/<name>); the keys of `names`, in order. The
    nightly files bring the folder's rates file with them, landed first."""
    keys = []
    first = (RATES_FILE,) if names == NIGHTLY_FILES and (folder / RATES_FILE).exists() else ()
    for name in (*first, *names):
        key = f"{prefix}{business_date}/{name}"
        s3.put_object(Bucket=bucket, Key=key, Body=(folder / name).read_bytes())
        if name in names:
            keys.append(key)
    return keys


def upload_night(stack: LocalStack, folder: Path, business_date: str) -> list[str]:
    """The night's files where they arrive; limits.csv, stress_market.csv, second_source.csv and corporate_actions.csv,
    when the folder has them, land first (they are read when the other two are ingested). The keys of the two nightly files."""
    s3 = stack.emulator.client("s3")
    for name in ("limits.csv", "stress_market.csv", "second_source.csv", "corporate_actions.csv"):
        if (folder / name).exists():
            land_files(s3, stack.stand_ins.input_bucket, folder, business_date, (name,))
    return land_files(s3, stack.stand_ins.input_bucket, folder, business_date)


def queue_depth(sqs: Any, queue: str) -> int:
    """Messages waiting or in flight."""
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
    return sum(int(value) for value in attributes["Attributes"].values())


def read_mailbox(stack: LocalStack) -> list[dict[str, Any]]:
    sqs = stack.emulator.client("sqs")
    found = []
    while True:
        messages = sqs.receive_message(QueueUrl=stack.mailbox, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return found
        for message in messages:
            body = json.loads(message["Body"])
            found.append({"subject": body.get("Subject"), "message": body.get("Message")})
            sqs.delete_message(QueueUrl=stack.mailbox, ReceiptHandle=message["ReceiptHandle"])


def run_services(ecs: LocalEcs, service: str, count: int, idle_exit: float, say: Callable[[str], None], timeout: float = 900) -> list[int]:
    """The service's tasks until the queue is drained: `count` tasks that exit when idle. A task that
    turns unhealthy is stopped by its runner and replaced here, as the service scheduler does."""
    spec = ecs.service_spec(service)
    overrides = {"containerOverrides": [{"name": spec.container, "command": [*spec.command, "--wait", "1", "--idle-exit", str(idle_exit)]}]}

    def launch() -> Any:
        return ecs.start(spec, overrides, name=f"{spec.family}-{len(ecs.tasks_run)}", service=service)

    running = [launch() for _ in range(count)]
    replaced: set[int] = set()
    codes = []
    started = time.monotonic()
    while running:
        time.sleep(0.5)
        for task in list(running):
            if getattr(task, "health_status", None) == "UNHEALTHY" and id(task) not in replaced:
                replaced.add(id(task))
                say(f"{service}: a task failed its health checks and is being stopped; starting its replacement")
                running.append(launch())
            if task.poll() is not None:
                running.remove(task)
                codes.append(task.returncode)
        if time.monotonic() - started > timeout:
            for task in running:
                task.kill()
            raise TimeoutError(f"{service} did not finish within {timeout:.0f} s")
    say(f"{service}: {len(codes)} task(s) finished with exit codes {codes}")
    return codes


def run_night(stack: LocalStack, ecs: LocalEcs, folder: Path, business_date: str, out: Path, say: Callable[[str], None], risk_workers: int = 2) -> NightResult:
    timings: dict[str, float] = {}
    clock = time.monotonic()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.monotonic()
        timings[name] = round(now - clock, 2)
        clock = now

    if "PreNightCheckSchedule" in stack.template["Resources"]:
        task, code = ecs.run_schedule("PreNightCheckSchedule", name=f"pre-night-check-{business_date}")
        say(f"{business_date}: the scheduled pre-night check exited {code}" + ("" if code == 0 else " (its alert is in the SNS messages below)"))
        lap("pre-night check")
    keys = upload_night(stack, folder, business_date)
    lap("upload")
    say(f"{business_date}: files landed under incoming/{business_date}/; delivering their Object Created events")
    for key in keys:
        for task, code in ecs.deliver_object_created(stack.stand_ins.input_bucket, key):
            say(f"  {task} exited {code}")
    lap("ingestion")
    run_services(ecs, "RiskCalculationService", risk_workers, idle_exit=3, say=say)
    lap("risk calculation")
    run_services(ecs, "ReportGenerationService", 1, idle_exit=3, say=say)
    lap("report generation")
    if "DeadlineCheckSchedule" in stack.template["Resources"]:
        # the 08:30 check of the morning after, for this business date: quiet when the report is there
        ecs.environment_overrides["WATCH_BUSINESS_DATE"] = business_date
        try:
            _, code = ecs.run_schedule("DeadlineCheckSchedule", name=f"deadline-check-{business_date}")
        finally:
            ecs.environment_overrides.pop("WATCH_BUSINESS_DATE", None)
        outcome = " (the report is there)" if code == 0 else " (its alert is in the SNS messages below)"
        say(f"{business_date}: the scheduled deadline check exited {code}{outcome}")
        lap("deadline check")
    s3 = stack.emulator.client("s3")
    bucket = stack.stand_ins.output_bucket
    reports = sorted(item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix=f"reports/{business_date}/").get("Contents", []))
    figures = report_path = run = None
    json_keys = [key for key in reports if key.endswith(".json")]
    if json_keys:
        figures = json.loads(s3.get_object(Bucket=bucket, Key=json_keys[-1])["Body"].read())
        run = figures["run_id"]
        pdf_key = json_keys[-1].removesuffix(".json") + ".pdf"
        report_path = out / f"risk-report-{business_date}.pdf"
        report_path.write_bytes(s3.get_object(Bucket=bucket, Key=pdf_key)["Body"].read())
    return NightResult(business_date, run, figures, report_path, read_mailbox(stack), timings, ecs.tasks_run)


def task_table(tasks: list[dict[str, Any]]) -> str:
    """Each container task: image digest, exit code, stop reason, peak memory against its limit, wall time."""
    lines = [f"  {'task':<44} {'image digest':<21} {'exit':>4} {'peak / limit MiB':>18} {'wall':>8}  stop"]
    for task in tasks:
        if "digest" not in task:
            continue
        peak = f"{task['peak_mib']:.0f}" if task.get("peak_mib") is not None else "?"
        reason = task.get("container_reason") or task.get("stopped_reason", "running")
        lines.append(
            f"  {task['name']:<44} {task['digest'][:19]:<21} {task.get('exit_code', '-')!s:>4} {peak + ' / ' + str(task['memory_limit_mib']):>18}"
            f" {task.get('wall_seconds', 0):>6.1f} s  {reason}"
        )
    return "\n".join(lines)


def write_measurements(tasks: list[dict[str, Any]], night: dict[str, int], path: Path) -> dict[str, Any]:
    """Per task definition's container: the highest peak memory of its tasks against its limit, and wall times."""
    jobs: dict[str, dict[str, Any]] = {}
    for task in tasks:
        if task.get("peak_mib") is None:
            continue
        job = task["job"]  # the task definition's container: each job, and the pre-night check
        entry = jobs.setdefault(job, {"peak_mib": 0.0, "limit_mib": task["memory_limit_mib"], "tasks": 0, "wall_seconds": []})
        entry["peak_mib"] = round(max(entry["peak_mib"], task["peak_mib"]), 1)
        entry["tasks"] += 1
        entry["wall_seconds"].append(task["wall_seconds"])
    measured = {"night": night, "measured_at": time.strftime("%Y-%m-%d"), "jobs": jobs}
    path.write_text(json.dumps(measured, indent=2) + "\n", encoding="utf-8")
    return measured


def stop_all(ecs: LocalEcs) -> None:
    """At the end of a run: kill whatever still runs, and wait for its clean-up (containers, volumes)."""
    for task in ecs.tasks_run:
        process = task["process"]
        if process.poll() is None:
            process.kill()
    for task in ecs.tasks_run:
        with contextlib.suppress(subprocess.TimeoutExpired):
            task["process"].wait(timeout=60)

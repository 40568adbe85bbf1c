"""The local target end to end: deploy the stack into the emulator, then run a night through it."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .buckets import enable_eventbridge
from .emulator import Emulator, StandIns, create_stand_ins, set_scan_findings
from .images import repository_names, stand_in_manifest
from .local_ecs import LocalEcs
from .phases import deploy_in_phases
from .stack import write_flat_outputs

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class LocalStack:
    emulator: Emulator
    stack_name: str
    stand_ins: StandIns
    parameters: dict[str, str]
    outputs: dict[str, str]
    template: dict[str, Any]
    mailbox: str  # a queue subscribed to the alert topic: what an e-mail subscriber would receive


def push_stand_in_images(emulator: Emulator, outputs: dict[str, str], tag: str) -> None:
    """The emulator cannot build containers; an empty manifest stands in for each job's image,
    and its scan reports what a scan of an empty image finds: nothing."""
    ecr = emulator.client("ecr")
    set_scan_findings(emulator, repository_names(outputs), tag, {})
    for repository in repository_names(outputs):
        ecr.put_image(repositoryName=repository, imageManifest=stand_in_manifest(), imageTag=tag)
        # ECR scans on push by itself; the emulator keeps the setting but never scans, so start it.
        ecr.start_image_scan(repositoryName=repository, imageId={"imageTag": tag})


def deploy_local(emulator: Emulator, suffix: str, out: Path, say: Callable[[str], None]) -> LocalStack:
    stack_name = f"riskbatch-{suffix}"
    template = json.loads((REPO_ROOT / "lib" / "TapStack.json").read_text(encoding="utf-8"))  # as written: no copy for the emulator
    target = emulator.target
    say("creating the existing VPC, subnets and buckets")
    stand_ins = create_stand_ins(emulator, suffix)
    enable_eventbridge(target.client("s3"), stand_ins.input_bucket)
    parameters = {
        "EnvironmentSuffix": suffix,
        "VpcId": stand_ins.vpc_id,
        "PrivateSubnet1Id": stand_ins.subnet_ids[0],
        "PrivateSubnet2Id": stand_ins.subnet_ids[1],
        "PrivateSubnet3Id": stand_ins.subnet_ids[2],
        "InputBucketName": stand_ins.input_bucket,
        "OutputBucketName": stand_ins.output_bucket,
    }
    say("deploying, phase 1 (no services)")
    outputs = deploy_in_phases(target, stack_name, template, parameters, stand_ins.template_bucket, foundation_only=True)
    tag = template["Parameters"]["ImageTag"]["Default"]
    say(f"pushing stand-in images tagged {tag}")
    push_stand_in_images(emulator, outputs, tag)
    say("deploying, phases 2 and 3 (scan gate, services)")
    outputs = deploy_in_phases(target, stack_name, template, parameters, stand_ins.template_bucket)
    write_flat_outputs(outputs, out / "flat-outputs.json")
    sqs, sns = target.client("sqs"), target.client("sns")
    mailbox = sqs.create_queue(QueueName=f"mailbox-{suffix}")["QueueUrl"]
    mailbox_arn = sqs.get_queue_attributes(QueueUrl=mailbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=outputs["AlertTopicArn"], Protocol="sqs", Endpoint=mailbox_arn)
    return LocalStack(emulator, stack_name, stand_ins, {**parameters, "DeployServices": "true"}, outputs, template, mailbox)


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


def land_files(s3: Any, bucket: str, folder: Path, business_date: str, names: tuple[str, ...] = NIGHTLY_FILES, prefix: str = "incoming/") -> list[str]:
    """Put the night's files where they arrive (<prefix><date>/<name>); the keys, in order."""
    keys = []
    for name in names:
        key = f"{prefix}{business_date}/{name}"
        s3.put_object(Bucket=bucket, Key=key, Body=(folder / name).read_bytes())
        keys.append(key)
    return keys


def upload_night(stack: LocalStack, folder: Path, business_date: str) -> list[str]:
    return land_files(stack.emulator.client("s3"), stack.stand_ins.input_bucket, folder, business_date)


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


def run_services(ecs: LocalEcs, service: str, count: int, idle_exit: float, say: Callable[[str], None]) -> list[int]:
    spec = ecs.service_spec(service)
    processes = []
    for _ in range(count):
        overrides = {"containerOverrides": [{"name": spec.container, "command": [*spec.command, "--wait", "1", "--idle-exit", str(idle_exit)]}]}
        processes.append(ecs.start(spec, overrides, name=f"{spec.family}-{len(ecs.tasks_run)}"))
    started = time.monotonic()
    while any(process.poll() is None for process in processes):
        time.sleep(0.5)
        if time.monotonic() - started > 900:
            for process in processes:
                process.kill()
            raise TimeoutError(f"{service} did not finish within 15 minutes")
    codes = [process.returncode for process in processes]
    say(f"{service}: {count} task(s) finished with exit codes {codes}")
    return codes


def run_night(stack: LocalStack, ecs: LocalEcs, folder: Path, business_date: str, out: Path, say: Callable[[str], None], risk_workers: int = 2) -> NightResult:
    timings: dict[str, float] = {}
    clock = time.monotonic()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.monotonic()
        timings[name] = round(now - clock, 2)
        clock = now

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


def sample_night(out: Path, business_date: dt.date, positions: int = 3_000, factors: int = 300) -> Path:
    from riskbatch.sample import SampleSpec, write_sample

    positions_path, _ = write_sample(out / "sample", SampleSpec(positions=positions, factors=factors, business_date=business_date))
    return positions_path.parent


def stop_all(ecs: LocalEcs) -> None:
    for task in ecs.tasks_run:
        process: subprocess.Popen = task["process"]
        if process.poll() is None:
            process.terminate()

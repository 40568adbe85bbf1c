"""Record the AWS operations each command really makes, against the local emulator.

The commands run in this process, as a person runs them (their own main, their own sessions, the
region and endpoint from the environment, the deployer's keys), each inside a before-call recording
(riskbatch_platform.testing.call_recorder): enable-bucket-events, deploy (the first run, which stops
after phase 1 for the images, and the second, which gates the scans and switches the services on),
preflight, the pre-night check (riskbatch preflight --nightly, with its task definition's
environment), status, rerun and teardown. What the emulator does inside (CloudFormation's own calls)
is not a call of the command, and neither is what stands in for the account (the VPC and buckets,
the image push, the scan results): those run outside any recording. Deploy runs with --no-smoke-tasks
(the emulator's tasks run until stopped, and no agent runs them here), so its smoke tasks' calls
(ecs:RunTask, DescribeTasks, StopTask, cloudformation:GetTemplate) are not in the recording.

`riskbatch-docs --record` writes docs/recorded-calls.json: command -> sorted "service:Operation".
The permission table (riskbatch_platform.analysis.operation_actions) must hold a row for each, and the
unit suite checks every documented policy against them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from riskbatch_platform import REPO_ROOT
from riskbatch_platform.local.emulator.loopback import Emulator, StandIns, create_stand_ins, running_emulator
from riskbatch_platform.testing.call_recorder import recording

RECORDING = REPO_ROOT / "docs" / "recorded-calls.json"
SUFFIX = "rec"
STACK_NAME = f"riskbatch-{SUFFIX}"
RERUN_DATE = dt.date(2026, 12, 14)  # a business day; the files are landed for it, no night ran
# The commands in the order they run, and the exit code each must end with for its calls to be a full run's.
# status exits with its report state (riskbatch.operations.status): no night publishes RERUN_DATE's report here, so it is
# not due (0) before its deadline and missing (9) after it, by the day the recording runs; its calls are the same.
EXPECTED_EXIT = {
    "enable-bucket-events": {0}, "deploy (first run)": {3}, "deploy": {0}, "preflight": {0}, "pre-night check": {0}, "status": {0, 9}, "rerun": {0},
    "teardown": {0},
}  # fmt: skip
# The recorded file's commands: the two deploy runs are one command.
DATE = RERUN_DATE.isoformat()
COMMANDS = ("enable-bucket-events", "deploy", "preflight", "pre-night check", "status", "rerun", "teardown")


@contextlib.contextmanager
def _environment(values: dict[str, str], removed: tuple[str, ...] = ()) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in (*values, *removed)}
    os.environ.update(values)
    for name in removed:
        os.environ.pop(name, None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _as_deployer(emulator: Emulator) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": emulator.deployer["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": emulator.deployer["aws_secret_access_key"],
        "AWS_REGION": emulator.region,
        "AWS_ENDPOINT_URL": emulator.endpoint_url,
    }


def _parameters(stand_ins: StandIns) -> list[str]:
    return [argument for key, value in stand_ins.stack_parameters(SUFFIX).items() for argument in ("--parameter", f"{key}={value}")]


def _between_deploys(emulator: Emulator) -> None:
    """What the person does between the two runs of deploy, outside the commands: push the images (the
    emulator is told what its scans find), and an address subscribes to the alert topic (a queue here)."""
    from riskbatch_platform.local.night import push_stand_in_images, scan_pushed_images

    outputs = _stack_outputs(emulator)
    tag = json.loads((REPO_ROOT / "lib" / "TapStack.json").read_text(encoding="utf-8"))["Parameters"]["ImageTag"]["Default"]
    push_stand_in_images(emulator, outputs, tag)
    scan_pushed_images(emulator, outputs, tag)
    sqs = emulator.client("sqs")
    mailbox = sqs.create_queue(QueueName=f"mailbox-{SUFFIX}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=mailbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    emulator.client("sns").subscribe(TopicArn=outputs["AlertTopicArn"], Protocol="sqs", Endpoint=arn)


def _stack_outputs(emulator: Emulator) -> dict[str, str]:
    stack = emulator.client("cloudformation").describe_stacks(StackName=STACK_NAME)["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def _land(emulator: Emulator, stand_ins: StandIns, workdir: Path) -> None:
    from riskbatch.inputs.sample import SampleSpec, write_sample
    from riskbatch_platform.local.night import land_files

    positions, _ = write_sample(workdir, SampleSpec(positions=50, factors=10, days=260, portfolios=2, business_date=RERUN_DATE))
    land_files(emulator.client("s3"), stand_ins.input_bucket, positions.parent, RERUN_DATE.isoformat())


def _pre_night_environment(emulator: Emulator) -> dict[str, str]:
    """The pre-night check task's environment, as its task definition gives it (and a scratch folder)."""
    ecs = emulator.client("ecs")
    family = f"task-pre-night-check-{SUFFIX}"
    container = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]["containerDefinitions"][0]
    return {item["name"]: item["value"] for item in container.get("environment", [])}


def record(say: Callable[[str], None] = print) -> dict[str, list[str]]:
    """Run every command against a fresh emulator; command -> its calls, "service:Operation", sorted."""
    from riskbatch.cli import main as riskbatch
    from riskbatch_platform.deployment import deploy, enable_bucket_events, preflight, teardown

    calls: dict[str, set[str]] = {command: set() for command in COMMANDS}
    with tempfile.TemporaryDirectory(prefix="riskbatch-record-") as folder, running_emulator(log_dir=Path(folder)) as emulator:
        workdir = Path(folder)
        stand_ins = create_stand_ins(emulator, SUFFIX)
        deploy_arguments = ["--stack-name", STACK_NAME, *_parameters(stand_ins), "--template-bucket", stand_ins.template_bucket]
        # no agent runs the emulator's tasks here, so a smoke task would run until stopped: deploy leaves them out
        deploy_arguments += ["--outputs", str(workdir / "flat-outputs.json"), "--no-smoke-tasks"]
        scratch = workdir / "scratch"
        scratch.mkdir()
        runs: list[tuple[str, Callable[[], int | None], Callable[[], None], dict[str, str]]] = [
            ("enable-bucket-events", lambda: enable_bucket_events.main([stand_ins.input_bucket]), lambda: None, {}),
            ("deploy (first run)", lambda: deploy.main(deploy_arguments), lambda: None, {}),
            ("deploy", lambda: deploy.main(deploy_arguments), lambda: _between_deploys(emulator), {}),
            ("preflight", lambda: preflight.main(["--stack-name", STACK_NAME]), lambda: None, {}),
            ("pre-night check", lambda: riskbatch(["preflight", "--nightly"]), lambda: None, {"RISKBATCH_SCRATCH": str(scratch)}),
            ("status", lambda: riskbatch(["status", "--stack-name", STACK_NAME, "--date", DATE]), lambda: None, {}),
            ("rerun", lambda: riskbatch(["rerun", "--stack-name", STACK_NAME, "--date", DATE]), lambda: _land(emulator, stand_ins, workdir), {}),
            ("teardown", lambda: teardown.main(["--stack-name", STACK_NAME, "--yes"]), lambda: _delete_mailbox(emulator), {}),
        ]  # fmt: skip
        for name, run, before, extra in runs:
            before()
            environment = {**_as_deployer(emulator), **extra}
            if name == "pre-night check":  # a task's environment: its definition's, and the region in both variables
                environment = {**environment, **_pre_night_environment(emulator), "AWS_DEFAULT_REGION": emulator.region}
            with _environment(environment, removed=("AWS_PROFILE", "AWS_SESSION_TOKEN")), recording() as recorder:
                code = run()
            if code not in EXPECTED_EXIT[name]:
                expected = " or ".join(map(str, sorted(EXPECTED_EXIT[name])))
                raise RuntimeError(f"{name} ended with exit code {code}, not {expected}: its calls are not a full run's")
            command = name.removesuffix(" (first run)")
            calls[command] |= {f"{service}:{operation}" for service, operation in recorder.calls}
            say(f"{name}: {len(recorder.calls)} operation(s)")
    return {command: sorted(found) for command, found in calls.items()}


def _delete_mailbox(emulator: Emulator) -> None:
    """The stand-in subscriber's queue is the harness's, not the stack's: it goes before the teardown's inventory."""
    sqs = emulator.client("sqs")
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=f"mailbox-{SUFFIX}")["QueueUrl"])


def recorded() -> dict[str, list[str]]:
    """The checked-in recording: command -> "service:Operation"."""
    return json.loads(RECORDING.read_text(encoding="utf-8"))["commands"]


def as_document(calls: dict[str, list[str]]) -> str:
    note = "Written by riskbatch-docs --record (make record-calls): the AWS operations each command made against the local emulator."
    return json.dumps({"about": note, "commands": calls}, indent=2) + "\n"

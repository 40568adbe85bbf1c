"""The night in the jobs' real images, run as Fargate runs them, through the locally deployed stack.

make images builds the images (here through deploy_local); each task is a container of the image
its task definition names, found by the digest ECR holds for the tag. What Fargate does, and so
what the runner does, is cited in src/riskbatch_platform/local/containers.py; the cases below are the
ones that only a container shows: the read-only filesystem and the volume, the memory limit, the
stop timeout, the health check, and the events ECS sends when a task stops.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from riskbatch.inputs.sample import SampleSpec, write_sample
from riskbatch_platform.analysis.metric_filter import matches
from riskbatch_platform.deployment.image_gate import push_image
from riskbatch_platform.images.build import BASE_IMAGE, job_of_repository, local_reference
from riskbatch_platform.local.emulator.loopback import running_emulator
from riskbatch_platform.local.night import LocalStack, deploy_local, queue_depth, run_night, run_services, stop_all, upload_night
from riskbatch_platform.local.podman import inspect_image, missing_tools, podman
from riskbatch_platform.local.runner import LocalEcs
from test.integration.conftest import DeployedStack, local_only
from test.stalled_endpoint import stalled_endpoint

REPO_ROOT = Path(__file__).resolve().parents[2]
CREDENTIALS_AND_ENDPOINT = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION")


pytestmark = pytest.mark.nights(2)


class ContainerNight:
    def __init__(self, local: LocalStack, ecs: LocalEcs, workdir: Path) -> None:
        self.local, self.ecs, self.workdir = local, ecs, workdir

    def client(self, service: str) -> Any:
        return self.local.emulator.client(service)

    def task_events(self) -> list[str]:
        """The messages in the task events log group: what the stack's metric filters read."""
        logs = self.client("logs")
        group = self.local.outputs["TaskEventsLogGroupName"]
        return [event["message"] for event in logs.filter_log_events(logGroupName=group).get("events", [])]

    def tasks(self, prefix: str) -> list[dict[str, Any]]:
        return [task for task in self.ecs.tasks_run if task["name"].startswith(prefix)]


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContainerNight]:
    local_only(None, "runs the night's tasks by hand")
    assert not missing_tools(), f"the container night needs {missing_tools()}: make test installs them (make container-tools)"
    workdir = tmp_path_factory.mktemp("container-night")
    with running_emulator(log_dir=workdir) as emulator:
        local = deploy_local(emulator, "ctest", workdir, say=lambda line: None, containers=True, access_probes=True, environment_class="non-production")
        ecs = LocalEcs(emulator.target, emulator.agent_target, local.stack_name, workdir, containers=True)
        ecs.environment_overrides["RISK_SCENARIOS"] = "2000"  # small runs (a RunTask override, as on ECS)
        ecs.load()
        try:
            yield ContainerNight(local, ecs, workdir)
        finally:
            stop_all(ecs)


def _sample(tmp_path: Path, date: str, positions: int = 600) -> Path:
    path, _ = write_sample(tmp_path, SampleSpec(positions=positions, factors=40, days=260, portfolios=4, business_date=dt.date.fromisoformat(date)))
    return path.parent


def _ingest(night: ContainerNight, tmp_path: Path, date: str, positions: int = 600) -> None:
    keys = upload_night(night.local, _sample(tmp_path, date, positions), date)
    for key in keys:
        for _, code in night.ecs.deliver_object_created(night.local.stand_ins.input_bucket, key):
            assert code == 0


def test_the_night_runs_in_the_job_images_as_the_task_definitions_say_and_publishes_its_report(night: ContainerNight, tmp_path: Path) -> None:
    date = "2026-12-01"
    result = run_night(night.local, night.ecs, _sample(tmp_path, date), date, tmp_path, say=lambda line: None)
    assert result.figures is not None and result.report_path is not None and result.report_path.read_bytes().startswith(b"%PDF")
    ecr, ecs = night.client("ecr"), night.client("ecs")
    tasks = [task for task in result.tasks if "exit_code" in task]
    assert {task["image"].rsplit("/", 1)[-1].split(":")[0] for task in tasks} == set(night.local.images)  # all three images ran
    for task in tasks:
        repository, tag = task["image"].rsplit("/", 1)[-1].split(":")
        # pulled by the digest ECR holds for the tag: the SHA-256 of the manifest make images pushed
        assert task["digest"] == ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])["imageDetails"][0]["imageDigest"]
        assert task["digest"] == night.local.images[repository]
        assert (task["exit_code"], task["stop_code"]) == (0, "EssentialContainerExited"), task["name"]
        assert 0 < task["peak_mib"] < task["memory_limit_mib"]
        definition = ecs.describe_task_definition(taskDefinition=task["task_definition"])["taskDefinition"]
        (container,) = definition["containerDefinitions"]
        ran = task["as_run"]
        assert ran["user"] == container["user"] and ran["read_only"] is container["readonlyRootFilesystem"] is True
        assert ran["tmpfs"] == {}  # nothing writable but the volume
        assert ran["memory_bytes"] == ran["memory_swap_bytes"] == container["memory"] * 2**20
        assert ran["nano_cpus"] == int(definition["cpu"]) * 10**9 // 1024
        assert ran["stop_timeout"] == container["stopTimeout"]
        assert ran["mounts"] == [{"type": "volume", "destination": "/scratch", "rw": True}]  # the image declares VOLUME /scratch
        # nothing of the host: the image's ENV, what ECS passes (the definition's environment, the run's
        # overrides, the role's credentials, the endpoint), and the variables every container runtime sets
        image_env = {item.split("=", 1)[0] for item in inspect_image(task["digest_image_id"])["Config"]["Env"]}
        passed = {item["name"] for item in container.get("environment", [])} | set(task["overrides"]) | set(CREDENTIALS_AND_ENDPOINT)
        assert set(ran["environment"]) - image_env - passed <= {"container", "HOME", "HOSTNAME", "TERM"}


def test_no_risk_task_compiles_a_kernel_it_loads_each_from_its_image(night: ContainerNight) -> None:
    """The kernels were compiled when the image was built (src/riskbatch/model/precompile.py): every unit
    a risk worker of the night computed found them in the cache its image brought into the task's
    volume, and compiled none (numba's own cache statistics, logged with each unit)."""
    units = [
        json.loads(line)
        for task in night.tasks("task-risk-calculation")
        for line in Path(task["log"]).read_text(encoding="utf-8").splitlines()
        if '"event": "unit_computed"' in line
    ]
    assert units, "the night test runs first: its risk workers computed units"
    for unit in units:
        assert unit["kernels"]["option_pnl_into"] == {"from_cache": 1, "compiled": 0}, unit
        assert all(origin["compiled"] == 0 for origin in unit["kernels"].values()), unit


def test_each_images_sbom_lists_exactly_its_lock_and_its_labels_name_the_build(night: ContainerNight) -> None:
    from riskbatch_platform.images.build import image_labels
    from riskbatch_platform.images.image_locks import job_lock_path, read_pins
    from riskbatch_platform.images.sbom import SBOM_DIR, components

    tag = night.local.template["Parameters"]["ImageTag"]["Default"]
    for repository in night.local.images:
        job = job_of_repository(repository)
        listed = components(json.loads((SBOM_DIR / f"{job}.cdx.json").read_text(encoding="utf-8")))
        locked = {name: pin[0] for name, pin in read_pins(job_lock_path(job)).items()}
        assert listed == {**locked, "riskbatch": tag}, job
        labels = inspect_image(local_reference(job, tag))["Labels"]
        expected = image_labels(tag)
        assert labels["org.opencontainers.image.version"] == tag
        assert labels["org.opencontainers.image.revision"].removesuffix("-dirty") == expected["REVISION"].removesuffix("-dirty")
        assert labels["org.opencontainers.image.created"] and labels["org.opencontainers.image.source"]


def test_every_stopped_task_reaches_the_task_events_log_and_is_counted_by_the_failure_rate_filters(night: ContainerNight) -> None:
    stopped = [task for task in night.ecs.tasks_run if "exit_code" in task]
    assert stopped, "runs after the night"
    messages = night.task_events()
    filters = {
        resource["Properties"]["MetricTransformations"][0]["MetricName"]: resource["Properties"]["FilterPattern"]
        for resource in night.local.template["Resources"].values()
        if resource["Type"] == "AWS::Logs::MetricFilter"
    }
    counted = {name: sum(matches(pattern, message) for message in messages) for name, pattern in filters.items()}
    assert counted["TasksStopped"] == len(stopped)
    assert counted["TasksFailed"] == sum(1 for task in stopped if task["exit_code"] != 0)
    arns = {json.loads(message)["detail"]["taskArn"] for message in messages}
    assert {task["task_arn"] for task in stopped} <= arns


def test_sigterm_in_the_middle_of_a_unit_hands_it_back_as_a_fresh_message_and_the_task_exits_0(
    night: ContainerNight, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    date = "2026-12-02"
    monkeypatch.setitem(night.ecs.environment_overrides, "RISK_SCENARIOS", "150000")  # units that take seconds
    monkeypatch.setitem(night.ecs.environment_overrides, "RISK_UNIT_POSITIONS", "250")
    _ingest(night, tmp_path, date, positions=500)
    queue = night.local.outputs["RiskWorkQueueUrl"]
    units = queue_depth(night.client("sqs"), queue)
    spec = night.ecs.service_spec("RiskCalculationService")
    command = [*spec.command, "--wait", "1", "--idle-exit", "30", "--abort-after", "0"]
    overrides = {"containerOverrides": [{"name": spec.container, "command": command}]}
    task = night.ecs.start(spec, overrides, name="sigterm-victim", service="RiskCalculationService")
    log = Path(night.ecs.tasks_run[-1]["log"])
    deadline = time.monotonic() + 120
    while '"event": "unit_started"' not in log.read_text(encoding="utf-8") and time.monotonic() < deadline:
        time.sleep(0.1)
    task.terminate()  # StopTask: SIGTERM, then SIGKILL after the StopTimeout (120 s)
    assert task.wait(timeout=150) == 0
    record = night.ecs.tasks_run[-1]
    assert '"event": "message_requeued"' in log.read_text(encoding="utf-8"), "the unit finished before the signal: nothing was in flight"
    assert (record["stop_code"], record["exit_code"]) == ("UserInitiated", 0)
    assert queue_depth(night.client("sqs"), queue) == units  # the interrupted unit is back, nothing lost
    # ... as a fresh message: its receive count starts again, so the interruption uses none of its maxReceiveCount
    # (SQS counts every receive: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues)
    sqs = night.client("sqs")
    received = sqs.receive_message(
        QueueUrl=queue, MaxNumberOfMessages=10, AttributeNames=["ApproximateReceiveCount"], MessageAttributeNames=["All"], WaitTimeSeconds=1
    )["Messages"]
    (requeued,) = [message for message in received if "riskbatch-interruptions" in message.get("MessageAttributes", {})]
    assert requeued["MessageAttributes"]["riskbatch-interruptions"]["StringValue"] == "1"
    assert requeued["Attributes"]["ApproximateReceiveCount"] == "1"  # this receive, the first of the fresh message
    for message in received:
        sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    run_services(night.ecs, "RiskCalculationService", 2, idle_exit=3, say=lambda line: None)
    run_services(night.ecs, "ReportGenerationService", 1, idle_exit=3, say=lambda line: None)
    assert queue_depth(night.client("sqs"), queue) == 0


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """An endpoint that accepts connections and never answers (the tasks share the host's network)."""
    with stalled_endpoint() as url:
        yield url


def test_a_hung_ingestion_ends_itself_at_its_deadline_and_the_failure_filter_counts_it(
    night: ContainerNight, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, silent_endpoint: str
) -> None:
    """ECS acts on container health only for a service's tasks: "If a task is run manually, and not as part
    of a service, the task will continue its lifecycle regardless of its health status"
    (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html). The ingestion's S3
    calls stall (RunTask overrides of its environment: S3's endpoint answers nothing), its heartbeat goes
    on, and only its own deadline (TASK_DEADLINE_SECONDS, 30 min in the task definition) ends it."""
    date = "2026-12-07"
    monkeypatch.setitem(night.ecs.environment_overrides, "AWS_ENDPOINT_URL_S3", silent_endpoint)
    monkeypatch.setitem(night.ecs.environment_overrides, "TASK_DEADLINE_SECONDS", "20")
    keys = upload_night(night.local, _sample(tmp_path, date), date)
    started = time.monotonic()
    outcomes = night.ecs.deliver_object_created(night.local.stand_ins.input_bucket, keys[1])
    took = time.monotonic() - started
    assert [code for _, code in outcomes] == [124]
    record = night.ecs.tasks_run[-1]
    assert (record["exit_code"], record["stop_code"]) == (124, "EssentialContainerExited")
    assert 20 <= took < 120  # botocore's timeouts and retries alone would have held it for many minutes
    said = Path(record["log"]).read_text(encoding="utf-8")
    (expired,) = [json.loads(line) for line in said.splitlines() if '"event": "deadline_exceeded"' in line]
    assert expired["deadline_seconds"] == 20 and expired["exit_code"] == 124
    failed_filter = next(
        resource["Properties"]["FilterPattern"]
        for resource in night.local.template["Resources"].values()
        if resource["Type"] == "AWS::Logs::MetricFilter" and resource["Properties"]["MetricTransformations"][0]["MetricName"] == "TasksFailed"
    )
    (event,) = [message for message in night.task_events() if json.loads(message)["detail"]["taskArn"] == record["task_arn"]]
    assert matches(failed_filter, event)  # what the failure-rate alarm counts


def test_a_unit_over_the_tasks_memory_limit_is_killed_by_it_and_reported_as_out_of_memory(
    night: ContainerNight, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    date = "2026-12-03"
    # One block of 16 million scenarios of 40 factors: its normals and returns alone are 10 GB,
    # over the task definition's 8 GiB hard limit (RunTask overrides of the run's model settings).
    monkeypatch.setitem(night.ecs.environment_overrides, "RISK_SCENARIOS", "16000000")
    monkeypatch.setitem(night.ecs.environment_overrides, "RISK_BLOCK_SIZE", "16000000")
    monkeypatch.setitem(night.ecs.environment_overrides, "RISK_SCENARIO_CACHE_MB", "0")
    _ingest(night, tmp_path, date, positions=200)
    sqs, queue = night.client("sqs"), night.local.outputs["RiskWorkQueueUrl"]
    units = queue_depth(sqs, queue)
    try:
        codes = run_services(night.ecs, "RiskCalculationService", 1, idle_exit=3, say=lambda line: None, timeout=300)
        record = night.ecs.tasks_run[-1]
        assert codes == [137] and record["oom_killed"]
        assert record["container_reason"] == "OutOfMemoryError: Container killed due to memory usage"
        assert record["peak_mib"] >= 0.95 * record["memory_limit_mib"]
        assert queue_depth(sqs, queue) == units  # the unit was not lost: it returns when its visibility ends
        failed = [json.loads(m)["detail"] for m in night.task_events() if json.loads(m)["detail"]["taskArn"] == record["task_arn"]]
        assert failed and failed[0]["containers"][0]["exitCode"] == 137 and failed[0]["containers"][0]["reason"] == record["container_reason"]
    finally:
        sqs.purge_queue(QueueUrl=queue)


def test_a_worker_that_turns_unhealthy_is_stopped_after_its_retries_and_replaced(night: ContainerNight) -> None:
    """A stuck worker (frozen: SIGSTOP) stops beating; the health check fails once the heartbeat is
    older than four beats, and after Retries failures the service stops the task (SIGTERM, then
    SIGKILL after the StopTimeout: a frozen process handles neither) and starts a replacement."""
    spec = night.ecs.service_spec("RiskCalculationService")
    events: list[str] = []
    stuck: dict[str, Any] = {}

    def say(line: str) -> None:
        events.append(line)

    original_start = night.ecs.start

    def start_and_freeze_the_first(*args: Any, **kwargs: Any) -> Any:
        task = original_start(*args, **kwargs)
        if not stuck:
            stuck["task"] = task
            deadline = time.monotonic() + 60
            while '"event": "worker_started"' not in Path(night.ecs.tasks_run[-1]["log"]).read_text(encoding="utf-8"):
                assert time.monotonic() < deadline, "the worker never started"
                time.sleep(0.2)
            task.send_signal("STOP")
        return task

    night.ecs.start = start_and_freeze_the_first  # type: ignore[method-assign]
    try:
        codes = run_services(night.ecs, "RiskCalculationService", 1, idle_exit=45, say=say, timeout=600)
    finally:
        del night.ecs.start
    frozen = next(task for task in night.ecs.tasks_run if task.get("process") is stuck["task"])
    replacement = night.ecs.tasks_run[-1]
    assert frozen["health"] == "UNHEALTHY" and frozen["stop_code"] == "ServiceSchedulerInitiated"
    assert frozen["stopped_reason"] == "Task failed container health checks"
    assert frozen["exit_code"] == 137  # killed after the stop timeout
    failures = [code for _, code in frozen["health_log"] if code != 0]
    assert len(failures) >= spec.health_check["retries"]
    assert replacement is not frozen and replacement["health"] == "HEALTHY" and replacement["exit_code"] == 0
    assert sorted(codes) == [0, 137] and any("replacement" in line for line in events)


def test_an_image_without_its_volume_declaration_cannot_write_its_scratch_volume(night: ContainerNight, tmp_path: Path) -> None:
    """The same Dockerfile without VOLUME: Fargate's volume is then empty and root-owned, and the
    job (user 10001) cannot write its heartbeat; with the VOLUME, the same task runs."""
    dockerfile = (REPO_ROOT / "docker" / "risk-calculation.Dockerfile").read_text(encoding="utf-8")
    assert 'VOLUME ["/scratch"]' in dockerfile
    variant = tmp_path / "no-volume.Dockerfile"
    variant.write_text(dockerfile.replace('VOLUME ["/scratch"]\n', ""), encoding="utf-8")
    reference = local_reference("risk-calculation", "no-volume")
    podman("build", "--quiet", "--pull=never", "--network=none", f"--build-arg=BASE_IMAGE={BASE_IMAGE}", "-f", str(variant), "-t", reference, str(REPO_ROOT))
    repository = next(name for name in night.local.images if name.startswith("ecr-risk-calculation-"))
    push_image(night.client("ecr"), repository, reference, "no-volume")
    ecs = night.client("ecs")
    spec = night.ecs.service_spec("RiskCalculationService")
    definition = ecs.describe_task_definition(taskDefinition=spec.task_definition_arn)["taskDefinition"]
    (container,) = definition["containerDefinitions"]
    keys = ("family", "taskRoleArn", "executionRoleArn", "networkMode", "requiresCompatibilities", "cpu", "memory", "volumes")
    revision = ecs.register_task_definition(
        **{key: definition[key] for key in keys if key in definition},
        containerDefinitions=[{**container, "image": container["image"].rsplit(":", 1)[0] + ":no-volume"}],
    )["taskDefinition"]["taskDefinitionArn"]
    try:
        command = {"containerOverrides": [{"name": spec.container, "command": [*spec.command, "--wait", "1", "--idle-exit", "2"]}]}
        failing = night.ecs.start(night.ecs.task_spec(revision), command, name="no-volume")
        assert failing.wait(timeout=120) != 0
        said = Path(night.ecs.tasks_run[-1]["log"]).read_text(encoding="utf-8")
        # the first write is numba's cache (NUMBA_CACHE_DIR=/scratch/numba): it finds no writable place
        # (in the error boundary's words since the jobs go through it: "cannot read /scratch/...: Permission denied")
        denied = "Permission denied: '/scratch" in said or ("cannot read /scratch" in said and "Permission denied" in said)
        assert denied or "no locator available" in said, said[-500:]
        assert night.ecs.tasks_run[-1]["as_run"]["mounts"] == [{"type": "bind", "destination": "/scratch", "rw": True}]
        working = night.ecs.start(spec, command, name="with-volume")
        assert working.wait(timeout=120) == 0
    finally:
        ecs.deregister_task_definition(taskDefinition=revision)
        podman("rmi", "--force", reference, check=False)


def test_every_job_roles_probes_hold_in_its_own_image(night: ContainerNight) -> None:
    """The least-privilege probes of the integration suite, each task a container of its job's image."""
    from test.integration.test_least_privilege import ALLOWED, DENIED, run_probes

    stack = DeployedStack(night.local.emulator.target, night.local.stack_name, night.local.outputs, night.local.template, night.local, night.ecs)
    with run_probes(stack) as verdicts:
        assert set(verdicts) == set(ALLOWED) | set(DENIED)
        failing = {task: [result for result in verdict["results"] if not result["holds"]] for task, verdict in verdicts.items()}
        assert not any(failing.values()), failing
    probes = [task for task in night.ecs.tasks_run if task["command"][:1] == ["probe"]]
    assert len(probes) == len(verdicts) and all(task["as_run"]["user"] for task in probes)

"""make bench, in containers: the images' sizes, a task's start to its first unit, and the night's
critical path from the last file landing to the report published, beside riskbatch plan's prediction.

The night runs through the locally deployed stack (the emulator and the podman runner of the
container night). Two nights of the same book land one after the other: the first gives the second
its previous night (the report's backtest and day-over-day explanation revalue it); the second is
measured. Its tasks start as the services would start them: the report worker is up before the
night (the warm window keeps one), the risk workers start when ingestion has queued the units (the
queue-depth policy scales them from zero). Each event is timed when its line reaches the task's log
(polled every 0.1 s). The images are on this machine, so no task here waits for a pull: on Fargate
each start adds the pull of its image (sizes below).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from riskbatch_platform.images.build import JOBS, local_reference
from riskbatch_platform.local.night import LocalStack, deploy_local, land_files, queue_depth, stop_all
from riskbatch_platform.local.podman import inspect_image
from riskbatch_platform.local.runner import LocalEcs

Say = Callable[[str], None]


@dataclass(frozen=True)
class NightScale:
    positions: int
    factors: int
    scenarios: int

    def describe(self) -> str:
        return f"{self.positions:,} positions, {self.factors} factors, {self.scenarios:,} scenarios"


MONTH_END = NightScale(80_000, 500, 100_000)


@dataclass
class LogClock:
    """The first time each event appears in each task's log (and its first line), polled."""

    ecs: LocalEcs
    seen: dict[tuple[str, str], float] = field(default_factory=dict)  # (task, event) -> time.time()
    events: dict[str, list[tuple[float, dict[str, Any]]]] = field(default_factory=dict)  # task -> [(seen, record)]
    _offsets: dict[str, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> LogClock:
        threading.Thread(target=self._run, name="log-clock", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.poll()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.poll()

    def poll(self) -> None:
        for task in list(self.ecs.tasks_run):
            path = Path(task["log"])
            if not path.exists():
                continue
            with path.open("r", encoding="utf-8", errors="replace") as log:
                log.seek(self._offsets.get(task["name"], 0))
                text = log.read()
            complete = text[: text.rfind("\n") + 1]
            self._offsets[task["name"]] = self._offsets.get(task["name"], 0) + len(complete.encode("utf-8"))
            now = time.time()
            for line in complete.splitlines():
                self.seen.setdefault((task["name"], "first line"), now)
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and "event" in record:
                    self.seen.setdefault((task["name"], record["event"]), now)
                    self.events.setdefault(task["name"], []).append((now, record))

    def first(self, event: str, prefix: str = "") -> float | None:
        times = [seen for (task, name), seen in self.seen.items() if name == event and task.startswith(prefix)]
        return min(times) if times else None

    def last(self, event: str, prefix: str = "") -> float | None:
        times = [seen for task, records in self.events.items() if task.startswith(prefix) for seen, record in records if record["event"] == event]
        return max(times) if times else None

    def records(self, event: str, prefix: str = "") -> list[dict[str, Any]]:
        return [record for task, records in self.events.items() if task.startswith(prefix) for _, record in records if record["event"] == event]


def image_sizes(tag: str) -> dict[str, int]:
    """Each job image's size in bytes, as podman reports it (uncompressed layers)."""
    return {job: int(inspect_image(local_reference(job, tag))["Size"]) for job in JOBS}


def _start_service(ecs: LocalEcs, service: str, name: str, idle_exit: float) -> Any:
    spec = ecs.service_spec(service)
    overrides = {"containerOverrides": [{"name": spec.container, "command": [*spec.command, "--wait", "1", "--idle-exit", str(idle_exit)]}]}
    return ecs.start(spec, overrides, name=name, service=service)


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.2)


def measured_night(
    stack: LocalStack, ecs: LocalEcs, folder: Path, business_date: str, say: Say, risk_workers: int, timeout: float, cold_workers: int = 0
) -> dict[str, Any]:
    """One night, timed from the last file landing; the tasks' start times; the kernels' origin. The
    first `cold_workers` risk workers get an empty kernel cache (NUMBA_CACHE_DIR overridden, as a
    RunTask override would): what every task did before the images shipped their kernels."""
    clock = LogClock(ecs).start()
    first_task = len(ecs.tasks_run)
    s3 = stack.emulator.client("s3")
    try:
        for name in ("limits.csv", "stress_market.csv"):
            if (folder / name).exists():
                land_files(s3, stack.stand_ins.input_bucket, folder, business_date, (name,))
        report = _start_service(ecs, "ReportGenerationService", f"bench-report-{business_date}", idle_exit=timeout)
        report_name = ecs.tasks_run[-1]["name"]
        _wait(lambda: clock.first("worker_started", report_name) is not None, 300, "the report worker's start")
        keys = land_files(s3, stack.stand_ins.input_bucket, folder, business_date)
        landed = time.time()
        say(f"{business_date}: files landed; ingestion")
        for key in keys:
            for task, code in ecs.deliver_object_created(stack.stand_ins.input_bucket, key):
                if code != 0:
                    raise RuntimeError(f"{task} exited {code}")
        ingested = time.time()
        units = queue_depth(stack.emulator.client("sqs"), stack.outputs["RiskWorkQueueUrl"])
        say(f"{business_date}: {units} units queued; {risk_workers} risk workers start")
        workers = []
        for index in range(risk_workers):
            cold = index < cold_workers
            if cold:
                ecs.environment_overrides["NUMBA_CACHE_DIR"] = "/scratch/numba-empty"
            try:
                workers.append(_start_service(ecs, "RiskCalculationService", f"bench-risk-{business_date}-{'cold' if cold else 'cached'}-{index}", idle_exit=5))
            finally:
                ecs.environment_overrides.pop("NUMBA_CACHE_DIR", None)
        _wait(lambda: clock.first("report_generated", report_name) is not None, timeout, "the report")
        published = time.time()
        for worker in workers:
            worker.wait(timeout=120)
        report.terminate()
        report.wait(timeout=180)
        clock.stop()
    finally:
        clock.stop()
    starts = []
    for task in ecs.tasks_run[first_task:]:
        began = task["process"].started
        seen = {event: clock.seen.get((task["name"], event)) for event in ("first line", "unit_started", "unit_computed")}
        computed_here = clock.records("unit_computed", task["name"])
        starts.append(
            {
                "task": task["name"],
                **{f"to_{event.replace(' ', '_')}": None if at is None else round(at - began, 2) for event, at in seen.items()},
                "kernels": computed_here[-1].get("kernels") if computed_here else None,  # the process's totals after its last unit
            }
        )
    risk = f"bench-risk-{business_date}"
    computed = clock.records("unit_computed", risk)
    return {
        "units": units,
        "stages": {
            "ingestion done": round(ingested - landed, 2),
            "first unit started": round((clock.first("unit_started", risk) or published) - landed, 2),
            "last unit done": round((clock.last("unit_computed", risk) or published) - landed, 2),
            "report published": round(published - landed, 2),
        },
        "starts": starts,
        "kernels_compiled": sum(origin["compiled"] for start in starts if start["kernels"] for origin in start["kernels"].values()),
        "kernels_from_cache": sum(origin["from_cache"] for start in starts if start["kernels"] for origin in start["kernels"].values()),
        "unit_seconds": [record.get("duration") for record in computed],
        # where the report took the backtest and the explanation from: the units' parts, or its own revaluation (and why)
        "previous_night": [
            {"event": record["event"], **({"reason": record["reason"]} if "reason" in record else {})}
            for event in ("previous_night_from_units", "previous_night_revalued_by_the_report")
            for record in clock.records(event, f"bench-report-{business_date}")
        ],
    }


def plan_prediction(scale: NightScale, risk_workers: int) -> dict[str, float]:
    """riskbatch plan's minutes for the same night: the risk step on the workers (as deployed, and
    as this machine runs them: its cores shared by all the workers), and the report after it."""
    import os

    from riskbatch.operations.plan import TEMPLATE_TASK, Night, hours_with, load_calibration, report_hours

    night = Night(scale.positions, scale.factors, scale.scenarios, window_hours=8.5)
    calibration = load_calibration()
    cores = os.cpu_count() or 1
    shared = max(1, int(1024 * cores / risk_workers))
    deployed = hours_with(night, calibration, TEMPLATE_TASK[0], risk_workers)
    return {
        f"risk step, {risk_workers} tasks of {TEMPLATE_TASK[0] // 1024} vCPU (as deployed)": deployed * 60,
        f"risk step, {risk_workers} tasks sharing this machine's {cores} vCPU": hours_with(night, calibration, shared, risk_workers) * 60,
        "report after the risk step (1 vCPU)": report_hours(night, calibration) * 60,
    }


def run_container_bench(workdir: Path, scale: NightScale, say: Say, risk_workers: int = 2, timeout: float = 1800) -> dict[str, Any]:
    """Deploy locally with the images, run two nights at this scale, measure the second."""
    from riskbatch.inputs.sample import SampleSpec, write_nights
    from riskbatch_platform.local.emulator.loopback import running_emulator

    workdir.mkdir(parents=True, exist_ok=True)
    with running_emulator(log_dir=workdir) as emulator:
        stack = deploy_local(emulator, "bench", workdir, say, containers=True, environment_class="non-production")
        tag = stack.template["Parameters"]["ImageTag"]["Default"]
        sizes = image_sizes(tag)
        ecs = LocalEcs(emulator.target, emulator.agent_target, stack.stack_name, workdir, containers=True)
        ecs.environment_overrides["RISK_SCENARIOS"] = str(scale.scenarios)
        ecs.load()
        try:
            say(f"writing two nights of {scale.describe()}")
            spec = SampleSpec(positions=scale.positions, factors=scale.factors, days=max(300, scale.factors + 120), business_date=dt.date(2026, 11, 24))
            folders = write_nights(workdir / "sample", spec, 2)
            # the first night (the second's previous) with one worker of an empty kernel cache, for comparison
            results = [measured_night(stack, ecs, folders[0], folders[0].name, say, risk_workers, timeout, cold_workers=1)]
            results.append(measured_night(stack, ecs, folders[1], folders[1].name, say, risk_workers, timeout))
        finally:
            stop_all(ecs)
    for task in ecs.tasks_run:
        task.pop("process", None)
    return {"scale": scale.__dict__, "sizes": sizes, "previous_night": results[0], "night": results[-1], "plan": plan_prediction(scale, risk_workers)}


def _print_starts(starts: list[dict[str, Any]]) -> None:
    def cell(value: float | None) -> str:
        return f"{value:7.1f} s" if value is not None else "      - "

    for start in starts:
        compiled = "" if not start["kernels"] else f"  kernels compiled {sum(origin['compiled'] for origin in start['kernels'].values())}"
        print(f"  {start['task']:<44} {cell(start['to_first_line'])} {cell(start['to_unit_started'])} {cell(start['to_unit_computed'])}{compiled}")


def print_container_bench(result: dict[str, Any]) -> None:
    scale = NightScale(**result["scale"])
    print("\nimages (uncompressed, as podman reports them):")
    for job, size in result["sizes"].items():
        print(f"  ecr-{job:<24} {size / 1e6:8.0f} MB")
    night = result["night"]
    print(f"\ncritical path in containers, {scale.describe()} ({night['units']} units), from the last file landing:")
    for stage, seconds in night["stages"].items():
        print(f"  {stage:<28} {seconds:8.1f} s")
    print(f"  {'total':<28} {night['stages']['report published']:8.1f} s")
    stages = night["stages"]
    risk, report = stages["last unit done"] - stages["first unit started"], stages["report published"] - stages["last unit done"]
    print(f"  report work / risk work: {report:.1f} s after the last unit against {risk:.1f} s of units = {report / risk:.2f}")
    print("  (the units include the previous night's revaluations for the backtest and the explanation: make bench's one-process part splits them)")
    print("container start, from podman start: the job's first log line, its first unit started, its first unit done")
    _print_starts(night["starts"])
    for source in night.get("previous_night", []):
        said = {"previous_night_from_units": "summed from the risk workers' parts", "previous_night_revalued_by_the_report": "revalued by the report"}
        print(f"  the backtest and the explanation: {said[source['event']]}{' (' + source['reason'] + ')' if 'reason' in source else ''}")
    print(f"kernels at task start: {night['kernels_compiled']} compiled, {night['kernels_from_cache']} loaded from the image's cache")
    print("the previous night, its first risk worker with an empty kernel cache (as every task before the images carried it):")
    _print_starts([start for start in result["previous_night"]["starts"] if start["task"].startswith("bench-risk")])
    print("riskbatch plan for the same night:")
    for name, minutes in result["plan"].items():
        print(f"  {name:<56} {minutes * 60:8.1f} s")

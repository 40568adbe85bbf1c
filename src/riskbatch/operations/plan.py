"""riskbatch plan: how many risk-calculation tasks of which Fargate size finish the night, and the cost.

The model of a night: the risk workers revalue every position in every scenario three times
(tonight's book, and the previous night's twice for the day-over-day explanation, the previous
book taken to be tonight's size and the horizon one day: a longer horizon adds a one-day
revaluation, and a night with no previous night in the bucket does one). An option position
costs a full Black-Scholes revaluation per scenario, a linear one next to nothing (the engine sums
linear exposures per portfolio and factor), so each has its own measured rate, in scenarios per
CPU-second (riskbatch.operations.calibration), and the night's book is taken to hold
`option_share` options (10 % unless given). Every task draws two sets of scenarios (the measured
scenario rate, scenario x factor^2 per CPU-second: the normal draws and the correlation product);
the report then takes the figures apart on its one task. The safety margin leaves a share of the
window unused for retries, a late file or a slow task.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from riskbatch.operations import fargate

CALIBRATION = Path(__file__).with_name("calibration.json")
TEMPLATE_TASK = (2048, 8192)  # the risk-calculation task size in lib/TapStack.json


@dataclass(frozen=True)
class Calibration:
    revaluations_per_vcpu_second: float  # position-scenarios of a book with 10 % options (the one rate, where the two below are not given)
    scenario_factor2_per_vcpu_second: float
    measured_on: str
    measured_at: str
    # The job's own memory besides the arrays the model counts (interpreter, numpy, numba, pyarrow,
    # boto3): measured in a container of the risk-calculation image (make demo's task table).
    runtime_mib: float = 1024.0
    runtime_measured: str = "not measured: an assumed 1 GiB"
    container_peak_mib: dict[str, float] | None = None  # each job's peak in its container, same night
    option_revaluations_per_vcpu_second: float | None = None  # option position-scenarios
    linear_revaluations_per_vcpu_second: float | None = None  # linear position-scenarios
    measured_by: str = ""  # the clock and the machine's load when it was measured


@dataclass(frozen=True)
class Night:
    positions: int
    factors: int
    scenarios: int
    window_hours: float
    safety: float = 0.5  # share of the window kept free
    option_share: float = 0.10  # share of the positions that are options


@dataclass(frozen=True)
class TaskOption:
    cpu_units: int
    memory_mib: int
    tasks: int
    hours_per_task: float
    on_demand_usd: float
    spot_usd: float
    template_mix_usd: float  # 1 on-demand base, then 1 on-demand : 3 Spot, as the template's strategy

    @property
    def vcpu(self) -> float:
        return self.cpu_units / 1024


def load_calibration(path: Path = CALIBRATION) -> Calibration:
    return Calibration(**json.loads(path.read_text(encoding="utf-8")))


def model_arrays_mib(night: Night) -> float:
    """The arrays a risk-calculation task holds: the prepared scenario blocks of tonight's run and of
    the previous night's market (each its returns and exp(r) - 1, risk_job.ScenarioCache), cached
    when they fit the 2 GiB budget, and a block of scenarios with its returns and P&L."""
    cached = RISK_DRAW_SETS * 2 * night.scenarios * night.factors * 8 / 2**20
    return min(cached, 2_048) + 8_192 * night.factors * 8 * 3 / 2**20


def memory_needed_mib(night: Night, calibration: Calibration | None = None) -> float:
    """The model's arrays and the runtime, doubled: the headroom a hard limit needs (a task over
    its memory is killed, and the unit retried) for fragmentation and a larger book."""
    runtime = calibration.runtime_mib if calibration is not None else Calibration.runtime_mib
    return 2 * (runtime + model_arrays_mib(night))


def runtime_from_measurement(measured: dict, night: Night) -> float:
    """The runtime's memory from a container night: the risk-calculation task's peak less the
    model's arrays for the night that was measured (make demo writes out/demo/task-measurements.json)."""
    return max(0.0, float(measured["jobs"]["risk-calculation"]["peak_mib"]) - model_arrays_mib(night))


# The risk workers' revaluations, as multiples of the whole book in every scenario: tonight's book,
# and the previous night's book twice for the day-over-day explanation (on its own market with
# tonight's settings, and on tonight's market), unit by unit beside tonight's. Each task draws two
# sets of scenarios for it: tonight's, and those of the previous night's market.
RISK_REVALUATIONS = 3.0
RISK_DRAW_SETS = 2


def book_work(night: Night, calibration: Calibration) -> float:
    """vCPU-seconds of one revaluation of the whole book in every scenario: its options and its
    linear positions at their own rates where the calibration measured them apart."""
    option_rate, linear_rate = calibration.option_revaluations_per_vcpu_second, calibration.linear_revaluations_per_vcpu_second
    if option_rate is None or linear_rate is None:
        return night.positions * night.scenarios / calibration.revaluations_per_vcpu_second
    options = night.positions * night.option_share
    return night.scenarios * (options / option_rate + (night.positions - options) / linear_rate)


def draw_work(night: Night, calibration: Calibration) -> float:
    """vCPU-seconds of one set of the night's scenario draws."""
    return night.scenarios * night.factors**2 / calibration.scenario_factor2_per_vcpu_second


def _work_and_draws(night: Night, calibration: Calibration) -> tuple[float, float]:
    """(revaluation vCPU-seconds of the risk workers' whole night, scenario-draw vCPU-seconds of each task)."""
    return RISK_REVALUATIONS * book_work(night, calibration), RISK_DRAW_SETS * draw_work(night, calibration)


REPORT_TASK_VCPU = 1.0  # the report-generation task size in lib/TapStack.json
# The report job's work, as multiples of the whole book in every scenario: the ES contributions and
# factor classes in the tail scenarios, the VaR components, historical and stressed VaR, and
# tonight's whole book built to take them apart (make bench, month-end night: 2.4 s against 5.3 s
# for the whole book). It revalues no book for the backtest or the explanation: the risk workers do.
REPORT_REVALUATIONS = 0.5


def report_hours(night: Night, calibration: Calibration) -> float:
    """Hours the report job takes after the risk workers, on its one task (make bench measures it):
    its revaluations, and one set of draws for the tail scenarios."""
    return (REPORT_REVALUATIONS * book_work(night, calibration) + draw_work(night, calibration)) / REPORT_TASK_VCPU / 3600


def hours_with(night: Night, calibration: Calibration, cpu_units: int, tasks: int) -> float:
    """Hours the night takes on this many tasks of this size (each draws the scenarios once)."""
    work, draws = _work_and_draws(night, calibration)
    return (work / max(tasks, 1) + draws) / (cpu_units / 1024) / 3600


def option_at(night: Night, calibration: Calibration, prices: dict[str, float], cpu_units: int, memory_mib: int) -> TaskOption | None:
    """Tasks of this size that finish the night within the window (None when no number of them can)."""
    if memory_mib < memory_needed_mib(night, calibration):
        return None
    window = (night.window_hours * (1 - night.safety) - report_hours(night, calibration)) * 3600  # the report runs after
    work, draws = _work_and_draws(night, calibration)
    vcpu = cpu_units / 1024
    per_task = window * vcpu - draws  # revaluation vCPU-seconds one task delivers in the window
    if per_task <= 0:
        return None
    tasks = max(1, math.ceil(work / per_task))
    hours = hours_with(night, calibration, cpu_units, tasks)
    on_demand_rate = vcpu * prices["on_demand_vcpu_hour"] + memory_mib / 1024 * prices["on_demand_gb_hour"]
    spot_rate = vcpu * prices["spot_vcpu_hour"] + memory_mib / 1024 * prices["spot_gb_hour"]
    on_demand_tasks = 1 + (tasks - 1) / 4
    mix = hours * (on_demand_tasks * on_demand_rate + (tasks - on_demand_tasks) * spot_rate)
    return TaskOption(cpu_units, memory_mib, tasks, hours, tasks * hours * on_demand_rate, tasks * hours * spot_rate, mix)


def options_for(night: Night, calibration: Calibration, prices: dict[str, float]) -> list[TaskOption]:
    """For each CPU size from 1 vCPU, the smallest memory that holds a unit, and what it takes."""
    found = []
    for cpu_units in (1024, 2048, 4096, 8192, 16384):
        memory = fargate.smallest_memory(cpu_units, memory_needed_mib(night, calibration))
        option = option_at(night, calibration, prices, cpu_units, memory) if memory else None
        if option:
            found.append(option)
    return found


def advise(night: Night, calibration: Calibration, prices: dict[str, float]) -> dict:
    choices = options_for(night, calibration, prices)
    if not choices:
        raise ValueError("no Fargate task size finishes this night in the window: widen the window, or split the book")
    best = min(choices, key=lambda option: (option.on_demand_usd, option.tasks))
    template = option_at(night, calibration, prices, *TEMPLATE_TASK)
    return {
        "night": asdict(night),
        "calibration": asdict(calibration),
        "prices": prices,
        "options": [asdict(option) for option in choices],
        "cheapest": asdict(best),
        "report_hours": report_hours(night, calibration),
        "template_task": asdict(template) if template else None,
    }


def count(text: str) -> int:
    """A whole number of at least 1 (positions, factors, scenarios): argparse's type for every command."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number of at least 1")
    return value


def time_of_day(text: str) -> str:
    """HH:MM between 00:00 and 23:59 (an argparse type: a bad one is a usage error)."""
    import re

    found = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if not found or int(found[1]) > 23 or int(found[2]) > 59:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time of day: give HH:MM between 00:00 and 23:59 (New York), e.g. 01:00")
    return f"{int(found[1]):02d}:{found[2]}"


def parse_clock(text: str) -> float:
    hours, minutes = text.split(":")
    return int(hours) + int(minutes) / 60


def window_hours(start: str, deadline: str) -> float:
    length = parse_clock(deadline) - parse_clock(start)
    return length if length > 0 else length + 24

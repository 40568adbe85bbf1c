"""riskbatch plan: its arithmetic, and that its advice is a valid Fargate size."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest

from riskbatch.cli import main
from riskbatch.operations import costs, fargate
from riskbatch.operations.cron import parse
from riskbatch.operations.plan import (
    REPORT_REVALUATIONS,
    RISK_DRAW_SETS,
    RISK_REVALUATIONS,
    Calibration,
    Night,
    advise,
    load_calibration,
    option_at,
    options_for,
    window_hours,
)

PRICES = {"on_demand_vcpu_hour": 0.04, "on_demand_gb_hour": 0.004, "spot_vcpu_hour": 0.012, "spot_gb_hour": 0.0012}
RATE = 1e8  # revaluations per vCPU-second
SLOW = Calibration(revaluations_per_vcpu_second=RATE, scenario_factor2_per_vcpu_second=1e9, measured_on="test", measured_at="2026-11-26")


def test_a_small_night_is_one_task_with_the_hand_computed_cost() -> None:
    calibration = Calibration(1e6, 1e9, "test", "2026-11-26")
    night = Night(positions=1_000, factors=100, scenarios=10_000, window_hours=8.0, safety=0.5)
    option = option_at(night, calibration, PRICES, 2048, 4096)
    # the risk workers revalue tonight's book and the previous night's twice, and draw two sets of scenarios
    work, draws = RISK_REVALUATIONS * 1_000 * 10_000 / 1e6, RISK_DRAW_SETS * 10_000 * 100**2 / 1e9
    assert (RISK_REVALUATIONS, RISK_DRAW_SETS) == (3.0, 2)
    assert option.tasks == 1
    assert option.hours_per_task == pytest.approx((work + draws) / 2 / 3600)
    assert option.on_demand_usd == pytest.approx(option.hours_per_task * (2 * 0.04 + 4 * 0.004))
    assert option.spot_usd == pytest.approx(option.hours_per_task * (2 * 0.012 + 4 * 0.0012))


def test_tasks_follow_the_work_and_the_window() -> None:
    night = Night(positions=7_600_000, factors=500, scenarios=100_000, window_hours=8.5, safety=0.5)
    option = option_at(night, SLOW, PRICES, 2048, 8192)
    book, one_set = 7_600_000 * 100_000 / RATE, 100_000 * 500**2 / 1e9
    work, draws = RISK_REVALUATIONS * book, RISK_DRAW_SETS * one_set
    report = (REPORT_REVALUATIONS * book + one_set) / 3600  # on its one vCPU, after the risk workers
    per_task = (8.5 * 0.5 - report) * 3600 * 2 - draws
    assert option.tasks == math.ceil(work / per_task)
    assert option.tasks * option.hours_per_task * 2 * 3600 == pytest.approx(work + option.tasks * draws)
    bigger = option_at(Night(7_700_000, 500, 100_000, 8.5, 0.5), SLOW, PRICES, 2048, 8192)
    assert bigger.tasks > option.tasks  # more work, and a longer report, leave each risk task less
    shorter = option_at(Night(7_600_000, 500, 100_000, 8.4, 0.5), SLOW, PRICES, 2048, 8192)
    assert shorter.tasks > option.tasks


def test_every_size_offered_is_a_valid_fargate_size() -> None:
    for night in (Night(20_000, 500, 100_000, 8.5), Night(80_000, 1_000, 200_000, 8.5), Night(500, 20, 1_000, 1.0)):
        options = options_for(night, SLOW, PRICES)
        assert options
        for option in options:
            assert fargate.is_valid_size(option.cpu_units, option.memory_mib)


def test_the_window_may_cross_midnight() -> None:
    assert window_hours("01:00", "09:30") == 8.5
    assert window_hours("22:00", "09:30") == 11.5


def test_an_impossible_night_is_refused() -> None:
    hopeless = Calibration(1.0, 1.0, "test", "2026-11-26")
    with pytest.raises(ValueError, match="no Fargate task size"):
        advise(Night(1_000_000, 2_000, 1_000_000, 0.5), hopeless, PRICES)


def test_the_stored_calibration_is_a_measurement() -> None:
    calibration = load_calibration()
    assert calibration.revaluations_per_vcpu_second > 1e5 and calibration.measured_on and calibration.measured_at


def test_options_and_linear_positions_are_priced_at_their_own_rates(capsys: pytest.CaptureFixture[str]) -> None:
    """An option is a full revaluation per scenario, a linear position next to nothing: the night's
    work follows its options, not its count of positions."""
    from dataclasses import replace

    from riskbatch.operations.plan import book_work

    split = Calibration(RATE, 1e9, "test", "2026-12-07", option_revaluations_per_vcpu_second=2e7, linear_revaluations_per_vcpu_second=4e9)
    night = Night(80_000, 500, 100_000, 8.5)
    assert night.option_share == 0.10
    assert book_work(night, split) == pytest.approx(100_000 * (8_000 / 2e7 + 72_000 / 4e9))
    assert book_work(replace(night, option_share=0.4), split) > 3.5 * book_work(night, split)  # four times the options
    assert book_work(night, SLOW) == pytest.approx(80_000 * 100_000 / RATE)  # one blended rate where the two were not measured
    assert main(["plan", "--positions", "80000", "--factors", "500", "--option-share", "0.4", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["night"]["option_share"] == 0.4


def test_plan_calibrate_prints_the_measured_rates_and_keeps_the_measured_memory(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """--calibrate measures the rates on this machine (stood in for here); the runtime's memory is
    the container night's, which a calibration of the engine does not measure."""
    from riskbatch.operations import calibration as measuring

    rates = {"option_revaluations_per_vcpu_second": 6e7, "linear_revaluations_per_vcpu_second": 7e9}
    measured = Calibration(5e8, 1e10, "here", "2026-12-07", measured_by="CPU time", **rates)
    monkeypatch.setattr(measuring, "calibrate", lambda: measured)
    assert main(["plan", "--positions", "20000", "--factors", "500", "--calibrate"]) == 0
    out = capsys.readouterr().out
    assert "throughput: 500,000,000 revaluations/s/vCPU" in out and "options 60,000,000 and linear positions 7,000,000,000" in out
    assert f"runtime {load_calibration().runtime_mib:,.0f} MiB" in out


def test_the_calibration_is_stored_with_the_measured_rates_and_the_containers_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`python -m riskbatch.operations.calibration` writes the rates it measures over the stored file,
    which `riskbatch plan` then reads; the memory figures stay the container night's."""
    from riskbatch.operations import calibration as measuring

    stored = tmp_path / "calibration.json"
    stored.write_text(Path(measuring.CALIBRATION).read_text(encoding="utf-8"), encoding="utf-8")
    before = load_calibration(stored)
    rates = {"option_revaluations_per_vcpu_second": 6e7, "linear_revaluations_per_vcpu_second": 7e9}
    measured = Calibration(5e8, 1e10, "here", "2026-12-07", runtime_mib=1.0, measured_by="CPU time", **rates)
    monkeypatch.setattr(measuring, "calibrate", lambda: measured)
    assert measuring.main(["--file", str(stored)]) == 0
    after = load_calibration(stored)
    rates_after = (after.revaluations_per_vcpu_second, after.measured_at, after.option_revaluations_per_vcpu_second, after.measured_by)
    assert rates_after == (5e8, "2026-12-07", 6e7, "CPU time")
    assert (after.runtime_mib, after.runtime_measured, after.container_peak_mib) == (before.runtime_mib, before.runtime_measured, before.container_peak_mib)


def test_the_calibration_predicts_the_cpu_time_of_a_book_of_another_shape() -> None:
    """The rates measured on one book predict another's whole call (its draws, its options, its
    linear positions) within a factor of 2, both measured in this run by the process's CPU time:
    no wall-clock bound, and a loaded machine slows both alike. The other book has three times
    the calibration book's share of options and fewer factors, so one blended rate per position
    would not carry over; a rate taken as the difference of two timings would not either."""
    import time

    from riskbatch.inputs.files import load_market, validate_positions
    from riskbatch.inputs.sample import SampleSpec, market_table, positions_table
    from riskbatch.model.engine import build_book, portfolio_pnl, risk_model
    from riskbatch.model.risk_model import ModelParameters
    from riskbatch.operations.calibration import CalibrationBook, calibrate
    from riskbatch.operations.plan import book_work, draw_work

    calibration = calibrate(CalibrationBook(positions=6_000, factors=120, scenarios=16_384, option_share=0.1), today="2026-12-07")
    assert "CPU time" in calibration.measured_by
    spec = SampleSpec(positions=3_000, factors=60, days=260, option_share=0.3, seed=9)
    market = load_market(market_table(spec), "other", spec.business_date)
    positions = validate_positions(positions_table(spec, market.factors, market.spot), "other", market, spec.business_date).valid
    parameters = ModelParameters(scenarios=16_384, seed=3)
    book = build_book(positions, market, parameters)
    model = risk_model(market, parameters)
    portfolio_pnl(book, market, ModelParameters(scenarios=1_000), model)  # compiled for this book's arrays before it is timed
    started = time.process_time()
    portfolio_pnl(book, market, parameters, model)
    measured = time.process_time() - started
    options = sum(kind == "option" for kind in positions["instrument_type"].to_pylist())
    night = Night(positions.num_rows, len(market.factors), parameters.scenarios, window_hours=1.0, option_share=options / positions.num_rows)
    predicted = book_work(night, calibration) + draw_work(night, calibration)
    assert 0.5 <= measured / predicted <= 2.0, (measured, predicted, calibration)


def test_plan_prints_the_template_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--positions", "20000", "--factors", "500", "--scenarios", "100000"]) == 0
    out = capsys.readouterr().out
    assert "RiskCalculationMaxTasks=" in out and "cheapest:" in out and "as of" in out


def test_the_runtime_memory_is_the_measured_peak_less_the_model_arrays() -> None:
    from riskbatch.operations.plan import model_arrays_mib, runtime_from_measurement

    night = Night(positions=3_000, factors=300, scenarios=10_000, window_hours=1.0)
    measured = {"jobs": {"risk-calculation": {"peak_mib": 500.0}}}
    assert runtime_from_measurement(measured, night) == pytest.approx(500.0 - model_arrays_mib(night))
    assert runtime_from_measurement({"jobs": {"risk-calculation": {"peak_mib": 1.0}}}, night) == 0.0


def test_the_plan_sizes_memory_from_the_calibrated_runtime() -> None:
    from riskbatch.operations.plan import memory_needed_mib, model_arrays_mib

    night = Night(positions=3_000, factors=300, scenarios=100_000, window_hours=8.5)
    small = Calibration(1e6, 1e9, "test", "2026-11-27", runtime_mib=100.0)
    large = Calibration(1e6, 1e9, "test", "2026-11-27", runtime_mib=3_000.0)
    assert memory_needed_mib(night, small) == pytest.approx(2 * (100.0 + model_arrays_mib(night)))
    # a larger runtime rules out the smallest task sizes
    assert min(o.memory_mib for o in options_for(night, small, PRICES)) < min(o.memory_mib for o in options_for(night, large, PRICES))


def test_the_stored_calibration_carries_a_measured_runtime_and_the_template_sizes_hold_it() -> None:
    """The task sizes in the template are backed by the container night's measurement (make demo):
    every job's memory limit holds twice its measured peak, and the risk job's runtime was measured."""
    import json
    from pathlib import Path

    calibration = load_calibration()
    assert calibration.runtime_mib != Calibration.runtime_mib and "make demo" in calibration.runtime_measured
    template = json.loads((Path(__file__).resolve().parents[3] / "lib" / "TapStack.json").read_text(encoding="utf-8"))
    limits = {
        container["Name"]: int(container["Memory"])
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::ECS::TaskDefinition"
        for container in resource["Properties"]["ContainerDefinitions"]
    }
    assert calibration.container_peak_mib is not None and set(calibration.container_peak_mib) == set(limits)
    for job, peak in calibration.container_peak_mib.items():
        assert limits[job] >= 2 * peak, job


def test_the_report_job_takes_its_share_of_the_window() -> None:
    """The report runs after the risk workers on one task, and takes the figures apart: the risk
    workers revalue the previous night's book for the explanation (make bench measures the report's
    work against the risk workers')."""
    from riskbatch.operations.plan import report_hours

    calibration = load_calibration()
    night = Night(80_000, 500, 100_000, window_hours("01:00", "09:30"))
    work_hours = 80_000 * 100_000 / calibration.revaluations_per_vcpu_second / 3600
    assert report_hours(night, calibration) >= REPORT_REVALUATIONS * work_hours
    advice = advise(night, calibration, PRICES)
    template = advice["template_task"]
    assert template["hours_per_task"] + advice["report_hours"] <= night.window_hours * (1 - night.safety)
    # a window too short for the report alone fits no number of risk tasks
    short = Night(80_000, 500, 100_000, 2 * report_hours(night, calibration) * 0.99)
    with pytest.raises(ValueError):
        advise(short, calibration, PRICES)


# --- what the stack costs: the warm floor, the endpoints, the logs, the key ------------------------

TEMPLATE = json.loads(costs.TEMPLATE.read_text(encoding="utf-8"))
ENDPOINTS = json.loads(costs.ENDPOINTS_TEMPLATE.read_text(encoding="utf-8"))
ALL_PRICES = costs.default_prices()


def _scalable_targets(template: dict) -> dict[str, dict]:
    targets = [body["Properties"] for body in template["Resources"].values() if body["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget"]
    return {costs.scaled_service(target["ResourceId"]): target for target in targets}


def test_the_warm_floor_is_the_templates_scheduled_minimums_on_weekday_nights() -> None:
    """Read from the template: each scheduled target's window minimum, from its opening action to
    the next, on the days its cron names (Application Auto Scaling's six-field cron,
    https://docs.aws.amazon.com/autoscaling/application/userguide/scheduled-scaling-using-cron-expressions.html)."""
    values = costs.parameter_values(TEMPLATE)
    warm = {service.job: service for service in costs.warm_services(TEMPLATE, values)}
    assert set(warm) == {"risk-calculation", "report-generation"}
    for service_id, target in _scalable_targets(TEMPLATE).items():
        task = TEMPLATE["Resources"][TEMPLATE["Resources"][service_id]["Properties"]["TaskDefinition"]["Ref"]]["Properties"]
        service = warm[task["ContainerDefinitions"][0]["Name"]]
        minimums = [action["ScalableTargetAction"]["MinCapacity"] for action in target["ScheduledActions"]]
        highest = max(int(values[m["Ref"]]) if isinstance(m, dict) else int(m) for m in minimums)
        crons = [parse(action["Schedule"]) for action in target["ScheduledActions"]]
        assert service.window_tasks == highest and (service.cpu_units, service.memory_mib) == (int(task["Cpu"]), int(task["Memory"]))
        assert {cron.days_a_week for cron in crons} == {service.nights_a_week}
    assert (warm["risk-calculation"].window_tasks, warm["report-generation"].window_tasks) == (2, 1)  # the defaults the issue counted
    assert warm["risk-calculation"].window_hours == 9.5 and warm["risk-calculation"].nights_a_week == 5


def test_the_warm_floor_follows_an_edited_template_and_parameters() -> None:
    edited = copy.deepcopy(TEMPLATE)
    for target in _scalable_targets(edited).values():
        for action in target["ScheduledActions"]:
            action["Schedule"] = action["Schedule"].replace("cron(0 0 ", "cron(0 1 ").replace("MON-FRI", "MON-THU")
    values = costs.parameter_values(edited, {"RiskCalculationWindowMinTasks": "3"})
    warm = {service.job: service for service in costs.warm_services(edited, values)}
    assert (warm["risk-calculation"].window_tasks, warm["risk-calculation"].window_hours, warm["risk-calculation"].nights_a_week) == (3, 8.5, 4)


def test_the_warm_floor_is_in_the_month_and_its_night_is_about_two_dollars() -> None:
    values = costs.parameter_values(TEMPLATE)
    usage = costs.Usage(log_gb_a_night=0.05, kms_requests_a_night=5_000)
    lines = costs.monthly_lines(TEMPLATE, ENDPOINTS, values, ALL_PRICES, usage)
    floor = [line for line in lines if line.item.startswith("warm floor")]
    night = costs.warm_floor_a_night(TEMPLATE, values, ALL_PRICES)
    nights = costs.business_nights_a_month(TEMPLATE, values)
    assert sum(line.monthly_usd for line in floor) == pytest.approx(night * nights)
    risk = 9.5 * (1.25 * (2 * 0.04048 + 8 * 0.004445) + 0.75 * (2 * 0.01334058 + 8 * 0.00146489))  # 1 base + 1 task at 1:3 by weight
    report = 9.5 * (0.04048 + 4 * 0.004445)
    assert night == pytest.approx(risk + report) and 2.0 < night < 2.5
    assert nights == pytest.approx(5 * 365.25 / 7 / 12)
    no_window = costs.parameter_values(TEMPLATE, {"RiskCalculationWindowMinTasks": "0"})
    assert costs.warm_floor_a_night(TEMPLATE, no_window, ALL_PRICES) == pytest.approx(report)  # dev's parameters keep only the report worker


def test_the_endpoints_are_billed_per_zone_every_hour_and_the_logs_for_their_retention() -> None:
    endpoints = [body["Properties"] for body in ENDPOINTS["Resources"].values() if body["Type"] == "AWS::EC2::VPCEndpoint"]
    zones = sum(len(endpoint["SubnetIds"]) for endpoint in endpoints if endpoint.get("VpcEndpointType") == "Interface")  # each endpoint in each subnet's zone
    values = costs.parameter_values(TEMPLATE, {"LogRetentionInDays": "365"})
    lines = {line.item: line for line in costs.monthly_lines(TEMPLATE, ENDPOINTS, values, ALL_PRICES, costs.Usage(0.1, 10_000))}
    assert lines["VPC interface endpoints (per VPC)"].monthly_usd == pytest.approx(zones * 730 * 0.01)
    per_day = 0.1 * costs.business_nights_a_month(TEMPLATE, values) * 12 / 365.25
    assert lines["CloudWatch Logs storage"].monthly_usd == pytest.approx(per_day * 365 * 0.03)
    assert lines["KMS customer managed key"].monthly_usd == 1.0
    without = costs.monthly_lines(TEMPLATE, ENDPOINTS, values, ALL_PRICES, costs.Usage(0.1, 10_000, with_endpoints=False))
    assert not [line for line in without if "endpoint" in line.item]


def test_plan_prints_each_cost_line_with_its_prices_date_region_and_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--positions", "20000", "--factors", "500", "--price", "endpoint_az_hour=0.02"]) == 0
    out = capsys.readouterr().out
    assert "warm floor: risk-calculation" in out and "VPC interface endpoints" in out and "KMS customer managed key" in out
    assert f"us-east-1, read {costs.PRICES_READ}" in out and "https://aws.amazon.com/privatelink/pricing/" in out
    assert "a business night: 2.21 of warm workers" in out
    assert "0.02/AZ-h" in out and "481.80" in out  # the price given: 33 AZ slots x 730 h x 0.02


def test_plan_refuses_an_unknown_price_and_a_missing_template(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["plan", "--positions", "20000", "--factors", "500", "--price", "nat_hour=0.05"])
    assert refused.value.code == 2 and "unknown price" in capsys.readouterr().err
    assert main(["plan", "--positions", "20000", "--factors", "500", "--template", str(tmp_path / "none.json")]) == 2
    assert "not found" in capsys.readouterr().err

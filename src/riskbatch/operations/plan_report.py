"""`riskbatch plan`'s printout: the night's task options (riskbatch.operations.plan) and the stack's cost
a month and a night (riskbatch.operations.costs), from the command's parsed arguments."""

from __future__ import annotations

import json
import sys
from typing import Any


def print_plan(args: Any) -> int:
    """`riskbatch plan`: the tasks a night needs at each task size, what they cost, and the stack's month."""
    from dataclasses import replace

    from riskbatch.inputs.files import InputError, read_json_option
    from riskbatch.operations import calibration as measuring
    from riskbatch.operations import fargate
    from riskbatch.operations.plan import REPORT_TASK_VCPU, Night, advise, load_calibration, runtime_from_measurement, window_hours

    calibration = load_calibration()
    if args.calibrate:  # this machine's rates; the memory stays the container night's measurement
        calibration = measuring.with_stored_memory(measuring.calibrate(), calibration)
    if args.measured:
        measured = read_json_option(args.measured, "--measured")
        if not isinstance(measured, dict) or not isinstance(measured.get("night"), dict):
            raise InputError(str(args.measured), ["not a task-measurements.json (no night): give the file a container night (make demo) wrote"])
        measured_night = Night(**measured["night"], window_hours=1.0)
        calibration = replace(
            calibration,
            runtime_mib=runtime_from_measurement(measured, measured_night),
            runtime_measured=f"{args.measured}, measured {measured.get('measured_at', '?')}",
        )
    prices = {
        "on_demand_vcpu_hour": args.vcpu_hour,
        "on_demand_gb_hour": args.gb_hour,
        "spot_vcpu_hour": args.spot_vcpu_hour,
        "spot_gb_hour": args.spot_gb_hour,
    }
    night = Night(args.positions, args.factors, args.scenarios, window_hours(args.start, args.deadline), args.safety, args.option_share)
    advice = advise(night, calibration, prices)
    if args.json:
        print(json.dumps(advice, indent=2))
        return 0
    print(
        f"night: {night.positions:,} positions, {night.factors} factors, {night.scenarios:,} scenarios, {args.start}-{args.deadline} "
        f"({night.window_hours:.1f} h, {100 * night.safety:.0f} % kept free)"
    )
    print(f"throughput: {calibration.revaluations_per_vcpu_second:,.0f} revaluations/s/vCPU, measured {calibration.measured_at} on {calibration.measured_on}")
    if calibration.option_revaluations_per_vcpu_second and calibration.linear_revaluations_per_vcpu_second:
        print(
            f"  options {calibration.option_revaluations_per_vcpu_second:,.0f} and linear positions {calibration.linear_revaluations_per_vcpu_second:,.0f} "
            f"position-scenarios/s/vCPU, the night's book {100 * night.option_share:.0f} % options ({calibration.measured_by})"
        )
    print(f"memory: the job's runtime {calibration.runtime_mib:,.0f} MiB ({calibration.runtime_measured}) plus the model's arrays, doubled")
    report = f"{60 * advice['report_hours']:.1f} min after the risk workers on its task ({REPORT_TASK_VCPU:g} vCPU)"
    print(f"report job: {report}; the window left to the risk workers is that much shorter")
    spot = f"Spot vCPU-h {args.spot_vcpu_hour}, GB-h {args.spot_gb_hour}"
    print(f"prices (USD, us-east-1, as of {fargate.PRICES_AS_OF} unless given): vCPU-h {args.vcpu_hour}, GB-h {args.gb_hour}; {spot}")
    print(f"{'task size':<18}{'tasks':>6}{'minutes each':>14}{'on-demand $':>13}{'Spot $':>10}{'template mix $':>16}")
    for option in advice["options"]:
        size = f"{option['cpu_units'] // 1024} vCPU / {option['memory_mib'] // 1024} GB"
        minutes = 60 * option["hours_per_task"]
        print(f"{size:<18}{option['tasks']:>6}{minutes:>14.1f}{option['on_demand_usd']:>13.4f}{option['spot_usd']:>10.4f}{option['template_mix_usd']:>16.4f}")
    best = advice["cheapest"]
    print(f"cheapest: {best['tasks']} x {best['cpu_units'] // 1024} vCPU / {best['memory_mib'] // 1024} GB")
    template = advice["template_task"]
    if template:
        print(f"with the template's task size (2 vCPU / 8 GB): RiskCalculationMaxTasks={template['tasks']}, RiskCalculationWindowMinTasks={template['tasks']}")
    else:
        print("the template's task size (2 vCPU / 8 GB) cannot finish this night: raise the risk-calculation task size in lib/TapStack.json")
    return print_costs(args, prices, template)


def print_costs(args: Any, fargate_prices: dict[str, float], template_task: dict | None) -> int:
    """The stack's cost a month and a business night, line by line (riskbatch.operations.costs)."""
    from riskbatch.operations import costs

    template_path = args.template or costs.TEMPLATE
    try:
        template, endpoints = costs.load(template_path), costs.load(args.endpoints_template or costs.ENDPOINTS_TEMPLATE)
        given = json.loads(args.parameters_file.read_text(encoding="utf-8")).get("Parameters", {}) if args.parameters_file else {}
    except (OSError, ValueError) as error:
        print(f"riskbatch plan: {error}", file=sys.stderr)
        return 2
    prices = {**costs.default_prices(), **fargate_prices, **dict(args.price)}
    values = costs.parameter_values(template, given)
    warm_risk = next((s.window_tasks for s in costs.warm_services(template, values) if s.job == "risk-calculation"), 0)
    extra = max(0, template_task["tasks"] - warm_risk) * template_task["hours_per_task"] if template_task else 0.0
    usage = costs.Usage(args.log_gb_a_night, args.kms_requests_a_night, extra, not args.no_endpoints)
    lines = costs.monthly_lines(template, endpoints, values, prices, usage)
    nights = costs.business_nights_a_month(template, values)
    print(f"\nwhat the stack costs a month (USD, list prices for {costs.REGION}, read {costs.PRICES_READ}; {nights:.2f} business nights):")
    print(f"{'item':<48}{'quantity':<44}{'unit price':<44}{'a month':>10}")
    for line in lines:
        print(f"{line.item:<48}{line.quantity:<44}{line.unit_price:<44}{line.monthly_usd:>10.2f}")
    total = sum(line.monthly_usd for line in lines)
    print(f"{'total':<136}{total:>10.2f}")
    floor = costs.warm_floor_a_night(template, values, prices)
    whole = f"{total / nights:.2f} with the month's whole bill"
    print(f"a business night: {floor:.2f} of warm workers ({template_path.name}'s scheduled minimums); {whole}")
    assumed = f"{args.log_gb_a_night:g} GB of logs and {args.kms_requests_a_night:,} KMS requests a night"
    print(f"assumed, not measured: {assumed} (--log-gb-a-night, --kms-requests-a-night)")
    for name, url in costs.PRICE_SOURCES.items():
        print(f"prices: {url} ({costs.PRICE_NOTES[name]})")
    return 0

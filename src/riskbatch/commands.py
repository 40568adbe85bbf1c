"""The riskbatch commands, one handler each: a few lines that wire a job, a check or a tool to its clients
and settings, importing what it runs inside the handler, so that `riskbatch health` (every 30 s in every
task) loads nothing heavy and each image holds only what its commands import
(src/riskbatch_platform/images/import_graph.py starts its closure at these handlers)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from typing import Any


def _clients(*services: str) -> list:
    import boto3  # endpoint and region come from the environment (AWS_ENDPOINT_URL, AWS_REGION)

    return [boto3.client(service) for service in services]


def cmd_ingest(args: argparse.Namespace) -> int:
    from riskbatch.jobs.ingestion import ingest
    from riskbatch.model.settings import Settings
    from riskbatch.runtime.heartbeat import beating
    from riskbatch.runtime.watchdog import deadline, deadline_seconds

    settings = Settings.from_env()
    s3, sqs, sns = _clients("s3", "sqs", "sns")
    with deadline("ingest", deadline_seconds("ingest")), beating(settings.scratch):
        outcome = ingest(args.bucket, args.key, settings, s3, sqs, sns, reason=args.reason)
    print(json.dumps({"status": outcome.status, "run_id": outcome.run_id, "units": outcome.units, "detail": outcome.detail}))
    return outcome.exit_code


def _risk_handler(settings: Any) -> tuple[str, Any, Any]:
    """The risk-calculation worker's queue, handler and SQS client."""
    from riskbatch.jobs.risk_calculation import RiskCalculation
    from riskbatch.model.settings import required

    queue = required("RISK_WORK_QUEUE_URL")  # the configuration first: a task that lacks it stops before any call
    s3, events, sqs = _clients("s3", "events", "sqs")
    return queue, RiskCalculation(s3, events, settings.event_bus_name), sqs


def _report_handler(settings: Any) -> tuple[str, Any, Any]:
    """The report-generation worker's queue, handler and SQS client."""
    from riskbatch.jobs.queue_worker import warm_up
    from riskbatch.jobs.report_generation import ReportGeneration
    from riskbatch.model.settings import required
    from riskbatch.reporting.deadline import DEADLINE

    queue = required("REPORT_QUEUE_URL")
    s3, sns, sqs = _clients("s3", "sns", "sqs")
    replay_shift = float(os.environ.get("REPORT_REPLAY_SHIFT_SECONDS", "0"))  # a replayed past night only (make demo): stated in the report
    handler = ReportGeneration(s3, sns, settings.alert_topic_arn, deadline=os.environ.get("REPORT_DEADLINE", DEADLINE), replay_shift=replay_shift)
    warm_up(handler)  # before the night, beating and guarded: the warm window starts this worker ahead of the files
    return queue, handler, sqs


# Each kind of worker in a function of its own: each image holds only what its kind imports.
WORKER_KINDS = {"risk": _risk_handler, "report": _report_handler}


def cmd_worker(args: argparse.Namespace) -> int:
    from riskbatch.jobs.queue_worker import QueueWorker, WorkerOptions
    from riskbatch.model.settings import Settings

    settings = Settings.from_env()
    options = WorkerOptions(
        visibility_seconds=args.visibility,
        wait_seconds=args.wait,
        abort_after_seconds=args.abort_after,
        idle_exit_seconds=args.idle_exit,
        max_messages=args.max_messages,
        max_interruptions=args.max_interruptions,
    )
    queue, handler, sqs = WORKER_KINDS[args.kind](settings)
    worker = QueueWorker(sqs, queue, handler, settings.scratch, options)
    worker.install_signal_handlers()
    return worker.run()


def cmd_risk(args: argparse.Namespace) -> int:
    from riskbatch.inputs.business_days import is_business_day
    from riskbatch.inputs.quality import DataQualityPolicy, FileRejected, excluded_notional_text
    from riskbatch.model.offline import run_offline
    from riskbatch.model.risk_model import ModelParameters
    from riskbatch.model.settings import parse_rates

    parameters = ModelParameters(
        scenarios=args.scenarios,
        seed=args.seed,
        covariance=args.cov,
        ewma_lambda=args.ewma_lambda,
        distribution=args.distribution,
        degrees_of_freedom=args.df,
        horizon_days=args.horizon,
        reporting_currency=args.currency,
        rates=parse_rates(args.rates),
    )
    policy = DataQualityPolicy(min_returns=args.min_returns, max_market_lag_days=args.max_lag)
    if args.date and not is_business_day(args.date):  # as riskbatch rerun refuses it
        raise ValueError(f"{args.date} is not a business day: there is no night to compute; give an exchange business day")
    try:
        result = run_offline(args.positions, args.market, parameters, show_progress=not args.quiet, policy=policy, business_date=args.date)
    except FileRejected as rejected:
        print(f"riskbatch risk: error: {rejected.role} file rejected: " + "; ".join(rejected.error.problems), file=sys.stderr)
        return 2
    except KeyError as error:  # a column the file should have: most often the two files given the wrong way round
        missing = error.args[0] if error.args else error
        raise ValueError(f"{missing}: is --positions the positions file and --market the market history?") from None
    if args.json:
        keys = ("business_date", "market_as_of", "reporting_currency", "firm", "portfolios", "scenarios", "seed", "risk_model", "data_quality")
        print(json.dumps({key: result[key] for key in keys}, indent=2))
        return 0
    quality = result["data_quality"]
    print(f"business date {result['business_date']} (market as of {result['market_as_of']}): {result['positions']} positions, ", end="")
    print(f"{result['factors']} factors, {args.scenarios} scenarios, seed {args.seed}; figures in {args.currency}")
    if quality["excluded_positions"]:
        print(f"excluded: {quality['excluded_positions']} position(s), notional {excluded_notional_text(quality)}")
    for name, figures in [("firm", result["firm"]), *result["portfolios"].items()]:
        cells = []
        for key, label in (("var_95", "VaR 95 %"), ("var_99", "VaR 99 %"), ("es_975", "ES 97.5 %")):
            low, high = figures["ci_95"][key]
            cells.append(f"{label} {figures[key]:>13,.0f} [{low:,.0f}, {high:,.0f}]")
        print(f"{name:<6} " + "  ".join(cells))
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from riskbatch.inputs.sample import SampleSpec, write_nights, write_sample

    spec = SampleSpec(
        positions=args.positions,
        factors=args.factors,
        days=args.days,
        portfolios=args.portfolios,
        option_share=args.option_share,
        business_date=args.date,
        seed=args.seed,
    )
    if args.nights > 1:
        for folder in write_nights(args.out, spec, args.nights):
            print(folder)
        return 0
    for path in write_sample(args.out, spec):
        print(path)
    return 0


def cmd_health(args: argparse.Namespace) -> int:
    # Every 30 s in every task: the heartbeat's age only (riskbatch.model.settings would import the model, numpy and scipy).
    from riskbatch.runtime.heartbeat import healthy, scratch_directory

    return 0 if healthy(scratch_directory(), args.max_age) else 1


def cmd_probe(args: argparse.Namespace) -> int:
    from riskbatch.operations.probe import run

    return run(args.expect, args.verdict)


def cmd_preflight(args: argparse.Namespace) -> int:
    """The pre-night check (the scheduled task): the checks that change from day to day; alert on a failure."""
    import boto3

    from riskbatch.model.settings import Settings
    from riskbatch.operations.preflight.checks import NIGHTLY, alert, failed, run_checks, table
    from riskbatch.operations.preflight.findings import PREFLIGHT_SETTINGS, account_from_environment
    from riskbatch.runtime.heartbeat import beating
    from riskbatch.runtime.logs import log
    from riskbatch.runtime.watchdog import deadline, deadline_seconds

    missing = [name for name in PREFLIGHT_SETTINGS if name not in os.environ]
    if missing:  # a person at a laptop: the account's checks are riskbatch-preflight's
        raise ValueError(f"{', '.join(missing)} not set: this is the stack's scheduled pre-night check; by hand, run riskbatch-preflight --stack-name <stack>")
    account = account_from_environment(dict(os.environ))
    with deadline("preflight", deadline_seconds("preflight")), beating(Settings.from_env().scratch):
        findings = run_checks(boto3.client, account, NIGHTLY)
        print(table(findings))
        problems = failed(findings)
        log("pre_night_check", checks=len(findings), failed=[finding.check for finding in problems])
        if problems and account.topic_arn:
            alert(boto3.client("sns"), account.topic_arn, os.environ.get("RISKBATCH_ENVIRONMENT", "?"), findings)
    return 1 if problems else 0


def cmd_watch(args: argparse.Namespace) -> int:
    """The deadline check (the scheduled task): quiet when the report is there, an alert when not."""
    from riskbatch.model.settings import Settings
    from riskbatch.operations.aws_access import announce
    from riskbatch.operations.stack_lookup import session
    from riskbatch.operations.watch import check_deadline
    from riskbatch.runtime.heartbeat import beating
    from riskbatch.runtime.logs import log
    from riskbatch.runtime.watchdog import deadline, deadline_seconds

    # None: this morning's, by the exchange calendar (no report is due on a morning the exchange does not open)
    business_date = args.date or (dt.date.fromisoformat(os.environ["WATCH_BUSINESS_DATE"]) if os.environ.get("WATCH_BUSINESS_DATE") else None)
    missing = [name for name in ("OUTPUT_BUCKET", "INPUT_BUCKET") if name not in os.environ]
    if missing:  # a person at a laptop: the night's state is riskbatch status's
        raise ValueError(f"{', '.join(missing)} not set: this is the stack's scheduled deadline check; by hand, run riskbatch status --stack-name <stack>")
    aws = session(args.region, args.profile)
    if args.region or args.profile:  # by hand: say where it looks (the scheduled task's account is its own)
        announce(aws.client, aws.region_name, "riskbatch watch")
    with deadline("watch", deadline_seconds("watch")), beating(Settings.from_env().scratch):
        clients = (aws.client("s3"), aws.client("sqs"), aws.client("sns"))
        code, progress = check_deadline(*clients, dict(os.environ), business_date, ecs=aws.client("ecs"))
    for task in progress.stopped_tasks:  # one line each, beside the task's own stopped event
        log("overdue_task_stopped", **task)
    log("deadline_check", business_date=progress.business_date, report=progress.report, stage=progress.stage(), alerted=code == 1)
    print(f"{progress.business_date}: {progress.stage()}")
    return code


def cmd_status(args: argparse.Namespace) -> int:
    """Where a business date's night stands, read from the stack with the operator's credentials; no side effect."""
    from riskbatch.operations.aws_access import announce
    from riskbatch.operations.stack_lookup import session
    from riskbatch.operations.status import as_json, as_text, read_status

    aws = session(args.region, args.profile)
    announce(aws.client, aws.region_name, "riskbatch status")
    status = read_status(aws.client, args.stack_name, args.date)
    print(as_json(status) if args.json else as_text(status))
    return 0


def cmd_rerun(args: argparse.Namespace) -> int:
    """Run a business date again from the files already in S3: the stack's ingestion task, as its rule starts it."""
    from riskbatch.inputs.business_days import is_business_day
    from riskbatch.operations.aws_access import announce
    from riskbatch.operations.rerun import EXIT_INGESTION_FAILED, rerun
    from riskbatch.operations.stack_lookup import session

    if not is_business_day(args.date):  # before any call: a person's typo costs no AWS round trip
        raise ValueError(f"{args.date} is not a business day: there is no night to run")
    aws = session(args.region, args.profile)
    announce(aws.client, aws.region_name, "riskbatch rerun")
    started = rerun(aws.client, args.stack_name, args.date, args.reason, args.wait)
    print(f"the night: riskbatch status --stack-name {args.stack_name} --date {args.date}")
    return EXIT_INGESTION_FAILED if started.exit_code not in (None, 0) else 0


def cmd_backtest(args: argparse.Namespace) -> int:
    """The stored backtest history of a range of dates: each night, and the exception statistics."""
    from riskbatch.operations.aws_access import announce
    from riskbatch.operations.stack_lookup import session
    from riskbatch.validation.history import as_table, backtest_summary, firm_lines, load_records

    if args.first and args.last and args.first > args.last:
        raise ValueError(f"--from {args.first} is after --to {args.last}: give the first date first")
    aws = session(args.region, args.profile)
    announce(aws.client, aws.region_name, "riskbatch backtest")
    first, last = (day.isoformat() if day else None for day in (args.first, args.last))
    records = load_records(aws.client("s3"), args.bucket, first, last)
    if not records:
        print(f"no backtest history in s3://{args.bucket}/history/ for those dates", file=sys.stderr)
        return 1
    summary = backtest_summary(records)
    if args.json:
        print(json.dumps({"records": len(records), **summary}, indent=2))
        return 0
    print(as_table(records))
    print("\n" + "\n".join(firm_lines(summary)))
    for portfolio, stats in summary["portfolios"].items():
        print(f"{portfolio}: {stats['exceptions']} exception(s) in {stats['observations']} day(s)")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from dataclasses import replace
    from pathlib import Path

    from riskbatch.operations import fargate
    from riskbatch.operations.plan import REPORT_TASK_VCPU, Night, advise, calibrate, load_calibration, runtime_from_measurement, window_hours

    calibration = calibrate() if args.calibrate else load_calibration()
    if args.measured:
        measured = json.loads(Path(args.measured).read_text(encoding="utf-8"))
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
    night = Night(args.positions, args.factors, args.scenarios, window_hours(args.start, args.deadline), args.safety)
    advice = advise(night, calibration, prices)
    if args.json:
        print(json.dumps(advice, indent=2))
        return 0
    print(
        f"night: {night.positions:,} positions, {night.factors} factors, {night.scenarios:,} scenarios, {args.start}-{args.deadline} "
        f"({night.window_hours:.1f} h, {100 * night.safety:.0f} % kept free)"
    )
    print(f"throughput: {calibration.revaluations_per_vcpu_second:,.0f} revaluations/s/vCPU, measured {calibration.measured_at} on {calibration.measured_on}")
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
    return _print_costs(args, prices, template)


def _print_costs(args: argparse.Namespace, fargate_prices: dict[str, float], template_task: dict | None) -> int:
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


def _price(text: str) -> tuple[str, float]:
    from riskbatch.operations.costs import PRICES

    name, _, value = text.partition("=")
    if name not in PRICES:
        raise argparse.ArgumentTypeError(f"unknown price {name!r}: one of {', '.join(PRICES)}")
    try:
        return name, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{name}: {value!r} is not a number") from None

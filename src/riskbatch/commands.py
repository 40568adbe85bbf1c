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
        outcome = ingest(args.bucket, args.key, settings, s3, sqs, sns, reason=args.reason, forced=args.force)
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
    from riskbatch.inputs.quality import FileRejected
    from riskbatch.model.offline import figure_lines
    from riskbatch.reporting.coverage import partly_excluded
    from riskbatch.reporting.figures import portfolios_without_figures

    try:
        result = _reproduced(args) if args.manifest else _offline(args)
    except FileRejected as rejected:
        print(f"riskbatch risk: error: {rejected.role} file rejected: " + "; ".join(rejected.error.problems), file=sys.stderr)
        return 2
    except KeyError as error:  # a column the file should have: most often the two files given the wrong way round
        missing = error.args[0] if error.args else error
        raise ValueError(f"{missing}: is --positions the positions file and --market the market history?") from None
    result["portfolios_without_figures"] = portfolios_without_figures(result["data_quality"], list(result["portfolios"]))  # named, never a VaR of 0
    result["portfolios_partly_excluded"] = partly_excluded(result["data_quality"], result["valued_notional"], result["data_quality_policy"])  # as the report
    if args.json:
        keys = ("business_date", "market_as_of", "reporting_currency", "firm", "portfolios", "portfolios_without_figures", "portfolios_partly_excluded")
        keys += ("scenarios", "seed", "risk_model", "data_quality", *(("run_id", "corporate_actions") if args.manifest else ()))
        print(json.dumps({key: result[key] for key in keys}, indent=2))
        return 0
    print("\n".join(figure_lines(result)))
    return 0


def _offline(args: argparse.Namespace) -> dict[str, Any]:
    """A run of the files with the command line's settings (the night's rates file required, as the night requires it) and
    the model configuration's data-quality policy (its proxies and plausibility bands, as the night applies them)."""
    import dataclasses

    from riskbatch.inputs.business_days import is_business_day
    from riskbatch.model.offline import run_offline
    from riskbatch.model.risk_model import ModelParameters
    from riskbatch.model.settings import data_quality_policy

    if args.rates is None:
        raise ValueError("--rates is required: the night prices options at the dated rates of its rates.csv; give that file (or --manifest: a night again)")
    if args.second_source is not None or args.corporate_actions is not None:
        raise ValueError("--second-source and --corporate-actions go with --manifest: they reproduce the night that read them")
    parameters = ModelParameters(
        scenarios=args.scenarios,
        seed=args.seed,
        covariance=args.cov,
        ewma_lambda=args.ewma_lambda,
        distribution=args.distribution,
        degrees_of_freedom=args.df,
        horizon_days=args.horizon,
        reporting_currency=args.currency,
    )
    policy = dataclasses.replace(data_quality_policy(), min_returns=args.min_returns, max_market_lag_days=args.max_lag)
    if args.date and not is_business_day(args.date):  # as riskbatch rerun refuses it
        raise ValueError(f"{args.date} is not a business day: there is no night to compute; give an exchange business day")
    return run_offline(args.positions, args.market, parameters, not args.quiet, policy, args.date, rates_path=args.rates)


def _reproduced(args: argparse.Namespace) -> dict[str, Any]:
    """The night of a manifest, exactly: refused in one line when a file is not the one it read."""
    from riskbatch.model.reproduce import reproduce_night

    try:
        manifest = json.loads(args.manifest.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{args.manifest} is not a run's manifest (not JSON: {error.msg}): give runs/<run>/manifest.json") from None
    if not isinstance(manifest, dict) or ("draw_order" not in manifest and "units" not in manifest):
        raise ValueError(f"{args.manifest} is not a run's manifest (no units): give runs/<run>/manifest.json")
    if args.given:  # the night's settings are the manifest's: an option that would change them is refused, never ignored
        raise ValueError(f"{', '.join(args.given)}: run {manifest.get('run_id', '?')}'s manifest fixes the night's settings; leave them out with --manifest")
    files = (args.positions, args.market, args.rates, args.second_source)
    return reproduce_night(manifest, *files, show_progress=not args.quiet, corporate_actions_path=args.corporate_actions)


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


# What each job's image must be able to import: its command's module (RISKBATCH_JOB, as the task definitions set it).
SMOKE_IMPORTS = {
    "data-ingestion": "riskbatch.jobs.ingestion",
    "risk-calculation": "riskbatch.jobs.risk_calculation",
    "report-generation": "riskbatch.jobs.report_generation",
    "pre-night-check": "riskbatch.operations.preflight.checks",
    "deadline-check": "riskbatch.operations.watch",
}


def cmd_smoke(args: argparse.Namespace) -> int:
    """The deploy's smoke task: the image starts, its job's code imports, the scratch volume takes a
    heartbeat and the health check passes on it. Exit 0, or 1 with what failed."""
    import importlib

    from riskbatch.runtime.heartbeat import beat, healthy, scratch_directory

    job = os.environ.get("RISKBATCH_JOB", "local")
    if job != "local" and job not in SMOKE_IMPORTS:
        print(f"smoke: RISKBATCH_JOB={job} is no job this image knows ({', '.join(SMOKE_IMPORTS)})", file=sys.stderr)
        return 1
    for module in [SMOKE_IMPORTS[job]] if job in SMOKE_IMPORTS else list(SMOKE_IMPORTS.values()):
        importlib.import_module(module)
    beat(scratch_directory())
    if not healthy(scratch_directory()):
        print(f"smoke: the health check fails on a fresh heartbeat in {scratch_directory()}", file=sys.stderr)
        return 1
    print(f"smoke: {job} imports, writes its heartbeat in {scratch_directory()} and passes its health check")
    return 0


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
    account.now = dt.datetime.now(dt.UTC)  # the night in view, and how long ago its files landed
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
    from riskbatch.operations.status import as_json, as_text, exit_code, read_status

    aws = session(args.region, args.profile)
    announce(aws.client, aws.region_name, "riskbatch status")
    status = read_status(aws.client, args.stack_name, args.date)
    print(as_json(status) if args.json else as_text(status))
    return exit_code(status)  # non-zero while the report is not in on time: a scheduler acts on it


def cmd_rerun(args: argparse.Namespace) -> int:
    """Run a business date again from the files already in S3: the stack's ingestion task, as its rule starts it."""
    from riskbatch.inputs.business_days import is_business_day
    from riskbatch.operations.aws_access import announce
    from riskbatch.operations.rerun import EXIT_INGESTION_FAILED, rerun
    from riskbatch.operations.stack_lookup import session

    if not is_business_day(args.date):  # before any call: a person's typo costs no AWS round trip
        raise ValueError(f"{args.date} is not a business day: there is no night to run")
    if args.force and not (args.reason or "").strip():
        raise ValueError("--force needs --reason: a forced run restates the date, and its report and audit trail say why")
    aws = session(args.region, args.profile)
    announce(aws.client, aws.region_name, "riskbatch rerun")
    started = rerun(aws.client, args.stack_name, args.date, args.reason, args.wait, force=args.force)
    print(f"the night: riskbatch status --stack-name {args.stack_name} --date {args.date}")
    return EXIT_INGESTION_FAILED if started.exit_code not in (None, 0) else 0


def cmd_logs(args: argparse.Namespace) -> int:
    """A business night's log events of each job, in order (read-only)."""
    from riskbatch.inputs.business_days import is_business_day
    from riskbatch.operations.aws_access import announce
    from riskbatch.operations.night_logs import JOBS, night_logs
    from riskbatch.operations.stack_lookup import session

    if not is_business_day(args.date):  # as rerun: no night, so no window to read (and no AWS round trip)
        raise ValueError(f"{args.date} is not a business day: there is no night to read; give an exchange business day")
    aws = session(args.region, args.profile)
    announce(aws.client, aws.region_name, "riskbatch logs")
    night_logs(aws.client, args.stack_name, args.date, tuple(args.job or JOBS))
    return 0


def cmd_redrive(args: argparse.Namespace) -> int:
    """Move a queue's dead letters back to it, once the cause is fixed."""
    from riskbatch.operations.aws_access import announce
    from riskbatch.operations.redrive import EXIT_LEFT_BEHIND, redrive
    from riskbatch.operations.stack_lookup import session

    aws = session(args.region, args.profile)
    announce(aws.client, aws.region_name, "riskbatch redrive")
    return EXIT_LEFT_BEHIND if redrive(aws.client, args.stack_name, args.queue).left else 0


def cmd_backtest(args: argparse.Namespace) -> int:
    """The stored backtest history of a range of dates: each night, and the exception statistics."""
    from riskbatch.operations.aws_access import announce
    from riskbatch.operations.stack_lookup import session
    from riskbatch.validation.exclusions import load_exclusions
    from riskbatch.validation.history import as_table, backtest_summary, firm_lines, load_records, measure_lines

    if args.first and args.last and args.first > args.last:
        raise ValueError(f"--from {args.first} is after --to {args.last}: give the first date first")
    aws = session(args.region, args.profile)
    announce(aws.client, aws.region_name, "riskbatch backtest")
    first, last = (day.isoformat() if day else None for day in (args.first, args.last))
    records = load_records(aws.client("s3"), args.bucket, first, last)
    if not records:
        print(f"no backtest history in s3://{args.bucket}/history/ for those dates", file=sys.stderr)
        return 1
    exclusions = load_exclusions(aws.client("s3"), args.bucket)
    summary = backtest_summary(records, exclusions=exclusions)
    if args.json:
        print(json.dumps({"records": len(records), **summary}, indent=2))
        return 0
    print(as_table(records, exclusions))
    print("\n" + "\n".join(firm_lines(summary)))
    print("\nexceptions / days, hypothetical and actual P&L:\n" + "\n".join(measure_lines(summary)))
    for portfolio, stats in summary["portfolios"].items():
        print(f"{portfolio}: {stats['exceptions']} exception(s) in {stats['observations']} day(s)")
    return 0


def cmd_exclude_day(args: argparse.Namespace) -> int:
    """Sign a backtest day off: the record the backtest reads, written once (riskbatch.validation.exclusions)."""
    from riskbatch.inputs.sign_off import check_sign_off
    from riskbatch.operations.aws_access import announce
    from riskbatch.operations.stack_lookup import session
    from riskbatch.validation.exclusions import WORDS, exclusion_key, exclusion_record, record_exclusion
    from riskbatch.validation.history import history_key, load_records

    check_sign_off(args.date, args.by, args.reason, now := dt.datetime.now(dt.UTC), WORDS)  # before any AWS client: a typo costs no round trip
    record = exclusion_record(args.date, args.by, args.reason, now)
    aws = session(args.region, args.profile)
    announce(aws.client, aws.region_name, "riskbatch exclude-day")
    s3 = aws.client("s3")
    tested = [r for r in load_records(s3, args.bucket, args.date.isoformat()) if (r.get("backtest") or {}).get("var_date") == record["var_date"]]
    if not tested:
        raise ValueError(f"no backtest of the VaR of {args.date} under s3://{args.bucket}/history/: give the VaR's date as the backtest lists it")
    if not record_exclusion(s3, args.bucket, record):
        print(f"{args.date} was signed off already: s3://{args.bucket}/{exclusion_key(record['var_date'])} stands, unchanged", file=sys.stderr)
        return 1
    print(f"excluded {args.date} from the backtest, signed off by {record['signed_off_by']}: s3://{args.bucket}/{exclusion_key(record['var_date'])}")
    print(f"the day's backtest stays in s3://{args.bucket}/{history_key(tested[0]['business_date'])}; the next report lists the exclusion")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    """The night's task plan and the stack's cost (riskbatch.operations.plan_report)."""
    from riskbatch.operations.plan_report import print_plan

    return print_plan(args)


def _price(text: str) -> tuple[str, float]:
    from riskbatch.operations.costs import PRICES

    name, _, value = text.partition("=")
    if name not in PRICES:
        raise argparse.ArgumentTypeError(f"unknown price {name!r}: one of {', '.join(PRICES)}")
    try:
        return name, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{name}: {value!r} is not a number") from None

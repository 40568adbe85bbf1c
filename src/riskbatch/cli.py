"""riskbatch: the command line of the three jobs, the offline engine and the tools around them.

One argparse tree of about twenty commands (the tree in one place is what `riskbatch --help` and the docs
check read); each command runs its handler in riskbatch.commands, inside one error boundary
(riskbatch.operations.aws_access.guarded): a problem a user can fix is one line and an exit code."""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from riskbatch import __version__
from riskbatch.commands import (
    WORKER_KINDS,
    _price,
    cmd_backtest,
    cmd_exclude_day,
    cmd_health,
    cmd_ingest,
    cmd_logs,
    cmd_plan,
    cmd_preflight,
    cmd_probe,
    cmd_redrive,
    cmd_rerun,
    cmd_risk,
    cmd_sample,
    cmd_smoke,
    cmd_status,
    cmd_watch,
    cmd_worker,
)
from riskbatch.operations.aws_access import EXIT_CODES_EPILOG, CommandParser, add_aws_options, guarded
from riskbatch.operations.plan import count
from riskbatch.operations.rate_acceptance import cmd_accept_rates

DESCRIPTION = (
    "The overnight risk batch: the three jobs' commands (ingest, worker), the engine on local files (risk, sample, plan), "
    "the scheduled checks (preflight, watch) and the operator's commands (status, logs, rerun, redrive, backtest, exclude-day). "
    "Commands that call AWS take the region and credentials as the AWS CLI does (--region, AWS_REGION, AWS_DEFAULT_REGION, the profile's)."
)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: give YYYY-MM-DD, e.g. 2026-11-24") from None


_count = count  # the one validator of a count, riskbatch-preflight's too


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a share from 0 up to (not including) 1, e.g. 0.5")
    return value


def _currency(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{3}", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a currency: give an ISO 4217 code, e.g. USD")
    return text.upper()


class _Setting(argparse._StoreAction):
    """An option of `riskbatch risk` that sets the night's settings: given on the command line, it is listed in `given`
    (with --manifest the manifest fixes them, and an option given there is refused, never silently ignored)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option_string: str | None = None) -> None:
        super().__call__(parser, namespace, values, option_string)
        namespace.given = [*getattr(namespace, "given", []), option_string]


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="riskbatch", description=DESCRIPTION, epilog=EXIT_CODES_EPILOG)
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser("ingest", help="validate and split one arriving file set (data-ingestion task)")
    ingest.add_argument("--bucket", required=True, help="the input bucket the files arrived in")
    ingest.add_argument("--key", required=True, help="the key of the file that arrived (incoming/<date>/...)")
    ingest.add_argument("--reason", help="why the date is run again (riskbatch rerun): kept in a new run's manifest and its report")
    ingest.add_argument("--force", metavar="TOKEN", help="a forced run (riskbatch rerun --force): the same files make a new run, this token in its id")
    ingest.set_defaults(run=cmd_ingest)

    worker = commands.add_parser("worker", help="consume a queue (risk-calculation or report-generation service)")
    worker.add_argument("kind", choices=sorted(WORKER_KINDS), help="risk: the risk-work queue; report: the report queue")
    worker.add_argument("--visibility", type=int, default=900, help="message lease in seconds, extended while working")
    worker.add_argument("--wait", type=int, default=20, help="long-poll seconds")
    worker.add_argument("--abort-after", type=float, default=90.0, help="after SIGTERM, release the message in hand after this many seconds")
    worker.add_argument("--idle-exit", type=float, help="exit after this many idle seconds (local runs)")
    worker.add_argument("--max-messages", type=_count, help="exit after this many messages (local runs)")
    worker.add_argument(
        "--max-interruptions", type=int, default=10, help="re-queue a message interrupted by SIGTERM this often before its receives count again"
    )
    worker.set_defaults(run=cmd_worker)

    risk = commands.add_parser("risk", help="the engine in one process, from local files")
    risk.add_argument("--positions", type=Path, required=True, help="the positions file (positions.csv or .parquet)")
    risk.add_argument("--market", type=Path, required=True, help="the market data history (market.csv or .parquet)")
    risk.add_argument("--scenarios", action=_Setting, type=_count, default=100_000, help="Monte Carlo scenarios (default: 100,000)")
    risk.add_argument("--seed", action=_Setting, type=int, default=1, help="the scenarios' random seed: the same seed, the same figures")
    risk.add_argument("--currency", action=_Setting, type=_currency, default="USD", help="reporting currency (ISO code, one the market file converts into)")
    risk.add_argument(
        "--rates",
        type=Path,
        help="the night's rates file (rates.csv: dated rates by currency and tenor); required as the night requires it, but with --manifest",
    )
    risk.add_argument(
        "--manifest",
        type=Path,
        help="a night's run record (runs/<run>/manifest.json): reproduce that night exactly (its seed, settings, rates, draw order and work units: "
        "the settings options below are refused with it); the files given must be the ones it read",
    )
    risk.add_argument("--second-source", type=Path, help="with --manifest: the second source's last prices the night read (second_source.csv)")
    risk.add_argument(
        "--corporate-actions", type=Path, help="with --manifest: the corporate actions the night read (corporate_actions.csv); required when it read one"
    )
    risk.add_argument("--date", action=_Setting, type=_date, help="business date, an exchange business day (default: the market file's last date)")
    risk.add_argument("--min-returns", action=_Setting, type=_count, default=250, help="daily returns of history required")
    risk.add_argument("--max-lag", action=_Setting, type=int, default=0, help="business days the market data may lag the business date")
    risk.add_argument("--cov", action=_Setting, choices=["sample", "ewma"], default="sample", help="covariance estimator (default: sample)")
    risk.add_argument("--ewma-lambda", action=_Setting, type=float, default=0.94, help="EWMA decay, with --cov ewma (default: 0.94)")
    risk.add_argument(
        "--distribution", action=_Setting, choices=["normal", "student-t"], default="normal", help="the scenarios' distribution (default: normal)"
    )
    risk.add_argument("--df", action=_Setting, type=float, default=5.0, help="Student-t degrees of freedom")
    risk.add_argument("--horizon", action=_Setting, type=_count, default=1, help="business days; square-root-of-time scaling")
    risk.add_argument("--json", action="store_true", help="the figures as JSON, for machines")
    risk.add_argument("--quiet", action="store_true", help="no progress on stderr")
    risk.set_defaults(run=cmd_risk, given=[])

    sample = commands.add_parser("sample", help="write a sample book and market history")
    sample.add_argument("--out", type=Path, required=True, help="the folder to write positions.csv and market.csv into")
    sample.add_argument("--positions", type=_count, default=3_000, help="positions in the book (default: 3,000)")
    sample.add_argument("--factors", type=_count, default=300, help="risk factors (default: 300)")
    sample.add_argument("--days", type=_count, default=300, help="business days of market history (default: 300)")
    sample.add_argument("--portfolios", type=_count, default=8, help="portfolios the book is split into (default: 8)")
    sample.add_argument("--option-share", type=_share, default=0.10, help="share of positions that are options (default: 0.10)")
    sample.add_argument("--date", type=_date, default=dt.date(2026, 11, 25), help="the business date of the (last) night (default: 2026-11-25)")
    sample.add_argument("--seed", type=int, default=7, help="random seed of the book and history (default: 7)")
    sample.add_argument("--nights", type=_count, default=1, help="consecutive business nights: one history, each night a day further")
    sample.set_defaults(run=cmd_sample)

    from riskbatch.operations import fargate
    from riskbatch.operations.night_logs import JOBS
    from riskbatch.operations.plan import time_of_day

    plan = commands.add_parser("plan", help="risk-calculation tasks and cost for a night")
    plan.add_argument("--positions", type=_count, required=True, help="positions in tonight's book")
    plan.add_argument("--factors", type=_count, required=True, help="risk factors tonight's book depends on")
    plan.add_argument("--scenarios", type=_count, default=100_000, help="Monte Carlo scenarios (default: 100,000)")
    plan.add_argument("--start", type=time_of_day, default="01:00", help="when the files are in (HH:MM, New York)")
    plan.add_argument("--deadline", type=time_of_day, default="09:30", help="when the report is due (HH:MM, New York)")
    plan.add_argument("--safety", type=_share, default=0.5, help="share of the window kept free")
    plan.add_argument("--option-share", type=_share, default=0.10, help="share of the positions that are options (default: 0.10)")
    plan.add_argument("--calibrate", action="store_true", help="measure the throughput on this machine instead of the stored figures")
    plan.add_argument("--vcpu-hour", type=float, default=fargate.ON_DEMAND_VCPU_HOUR, help="Fargate On-Demand USD a vCPU-hour")
    plan.add_argument("--gb-hour", type=float, default=fargate.ON_DEMAND_GB_HOUR, help="Fargate On-Demand USD a GB-hour")
    plan.add_argument("--spot-vcpu-hour", type=float, default=fargate.SPOT_VCPU_HOUR, help="Fargate Spot USD a vCPU-hour")
    plan.add_argument("--spot-gb-hour", type=float, default=fargate.SPOT_GB_HOUR, help="Fargate Spot USD a GB-hour")
    plan.add_argument("--measured", help="task-measurements.json of a container night (make demo): the runtime memory measured there")
    plan.add_argument("--template", type=Path, help="the stack's template, its scheduled minimums the warm floor (default: lib/TapStack.json)")
    plan.add_argument("--endpoints-template", type=Path, help="the VPC endpoints' template (default: lib/VpcEndpoints.json)")
    plan.add_argument("--parameters-file", type=Path, help="the environment's parameters (config/prod.json): the minimums and retention it sets")
    plan.add_argument("--no-endpoints", action="store_true", help="the VPC has a NAT: no interface endpoints to pay for")
    plan.add_argument("--log-gb-a-night", type=float, default=0.05, help="GB the log groups take in a night (assumed 0.05; read IncomingBytes)")
    plan.add_argument("--kms-requests-a-night", type=int, default=5_000, help="requests to the stack's key a night (assumed 5,000)")
    plan.add_argument("--price", type=_price, action="append", default=[], metavar="NAME=USD", help="a current price: endpoint_az_hour=0.01 and the like")
    plan.add_argument("--json", action="store_true", help="the plan as JSON, for machines")
    plan.set_defaults(run=cmd_plan)

    preflight = commands.add_parser("preflight", help="the pre-night check of the account (scheduled task): alerts the topic on a failure")
    preflight.add_argument("--nightly", action="store_true", help="the checks that change from day to day (the only ones the task runs)")
    preflight.set_defaults(run=cmd_preflight)
    backtest = commands.add_parser("backtest", help="replay the stored backtest history of a range of dates")
    backtest.add_argument("--bucket", required=True, help="the output bucket (history/ holds one record per business date)")
    backtest.add_argument("--from", dest="first", type=_date, help="first business date (default: the first stored)")
    backtest.add_argument("--to", dest="last", type=_date, help="last business date (default: the last stored)")
    backtest.add_argument("--json", action="store_true", help="the statistics as JSON, for machines")
    add_aws_options(backtest)
    backtest.set_defaults(run=cmd_backtest)
    exclude = commands.add_parser("exclude-day", help="sign a backtest day off: excluded, with who and why, shown in every report after")
    exclude.add_argument("--bucket", required=True, help="the output bucket (history/exclusions/ holds one record per excluded day)")
    exclude.add_argument("--date", required=True, type=_date, help="the VaR's date, as the backtest lists it")
    exclude.add_argument("--by", required=True, help="the name of the person who signs the exclusion off")
    exclude.add_argument("--reason", required=True, help="why the day cannot be backtested")
    add_aws_options(exclude)
    exclude.set_defaults(run=cmd_exclude_day)
    accept = commands.add_parser(
        "accept-rates", help="accept a currency's curve the night refused for its steps (a genuine squeeze): used by the night's rerun, with who and why"
    )
    accept.add_argument("--bucket", required=True, help="the output bucket (history/rate-acceptances/ holds one record per date, currency and curve accepted)")
    accept.add_argument("--date", required=True, type=_date, help="the business date whose night refused the curve")
    accept.add_argument("--currency", required=True, help="the currency whose curve is accepted (CNH)")
    accept.add_argument("--by", required=True, help="the name of the person who accepts the curve")
    accept.add_argument("--reason", required=True, help="why the move is genuine")
    add_aws_options(accept)
    accept.set_defaults(run=cmd_accept_rates)
    watch = commands.add_parser("watch", help="the deadline check (scheduled task): alerts the topic when the report is not there")
    watch.add_argument("--date", type=_date, help="business date (default: the business day before today, New York; none on a holiday)")
    add_aws_options(watch)
    watch.set_defaults(run=cmd_watch)
    status = commands.add_parser(
        "status",
        help="where a business date's night stands: files, run, units, report against 09:30, tasks running and failed (read-only)",
        epilog=EXIT_CODES_EPILOG
        + "; 0 also when the report is not due yet (its deadline is ahead) or restated (its first report on time)"
        + "; 9 not published, its deadline passed; 10 published late",
    )
    status.add_argument("--stack-name", required=True, help="the stack (riskbatch-<suffix>)")
    status.add_argument("--date", type=_date, help="business date (default: the night in progress or last finished, New York)")
    add_aws_options(status)
    status.add_argument("--json", action="store_true", help="for machines")
    status.set_defaults(run=cmd_status)
    rerun = commands.add_parser("rerun", help="run a business date again (or a backfill) from its files in S3; running it twice publishes once")
    rerun.add_argument("--stack-name", required=True, help="the stack (riskbatch-<suffix>)")
    rerun.add_argument("--date", type=_date, required=True, help="the business date whose files are under the input prefix")
    rerun.add_argument("--reason", help="why (kept in a new run's manifest; a restatement's report and notification say it)")
    rerun.add_argument(
        "--force", action="store_true", help="a new run of the same files (after a code fix): it restates the date; needs --reason, kept in the run record"
    )
    rerun.add_argument("--wait", type=float, metavar="SECONDS", help="wait this long for the ingestion task to stop, and give its exit code")
    add_aws_options(rerun)
    rerun.set_defaults(run=cmd_rerun)
    logs = commands.add_parser("logs", help="a business night's log events of each job, in order, from CloudWatch Logs (read-only)")
    logs.add_argument("--stack-name", required=True, help="the stack (riskbatch-<suffix>)")
    logs.add_argument("--date", type=_date, required=True, help="the business date: its night runs from the day's 09:30 to the next business day's (New York)")
    logs.add_argument("--job", choices=JOBS, action="append", help="only this job's log group (again for several; default: every job's)")
    add_aws_options(logs)
    logs.set_defaults(run=cmd_logs)
    redrive = commands.add_parser(
        "redrive",
        help="move a queue's dead-lettered messages back to it after a fix, each counted and logged",
        epilog=EXIT_CODES_EPILOG + "; 11 the dead-letter queue still holds messages after the move",
    )
    redrive.add_argument("--stack-name", required=True, help="the stack (riskbatch-<suffix>)")
    redrive.add_argument("--queue", required=True, help="risk-work or report: the queue whose dead letters go back (or its dead-letter queue's name)")
    add_aws_options(redrive)
    redrive.set_defaults(run=cmd_redrive)
    health = commands.add_parser("health", help="container health check")
    health.add_argument("--max-age", type=float, default=None, help="seconds a heartbeat stays fresh (default: four beats)")
    health.set_defaults(run=cmd_health)
    smoke = commands.add_parser("smoke", help="the deploy's smoke task: the job's code imports, a heartbeat is written and the health check passes")
    smoke.set_defaults(run=cmd_smoke)
    probe = commands.add_parser("probe", help="try this task's role against the calls it must allow and deny (the least-privilege proof)")
    probe.add_argument("--expect", required=True, help="the expectations: s3://bucket/key or a file")
    probe.add_argument("--verdict", help="s3://bucket/key to write the verdict to (it is printed in any case)")
    probe.set_defaults(run=cmd_probe)
    return parser


def _commands() -> dict[str, argparse.ArgumentParser]:
    return next(action for action in build_parser()._actions if isinstance(action, argparse._SubParsersAction)).choices


def entry_functions(argv: list[str]) -> list[Callable[..., Any]]:
    """The functions a command line runs: its command's handler and, for a worker, its kind's
    (where the images' import closure starts: src/riskbatch_platform/images/import_graph.py). Only the
    command and the worker's kind are read: a task definition's command gets its options at run time."""
    run = _commands()[argv[0]].get_default("run")
    return [run, *([WORKER_KINDS[argv[1]]] if run is cmd_worker else [])]


def all_handlers() -> list[Callable[..., Any]]:
    """Every command's handler and every worker kind's."""
    return [*(parser.get_default("run") for parser in _commands().values()), *WORKER_KINDS.values()]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return guarded(f"riskbatch {args.command}", lambda: args.run(args), profile=getattr(args, "profile", None))


if __name__ == "__main__":
    sys.exit(main())

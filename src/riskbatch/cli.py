"""riskbatch: the command line of the three jobs, the offline engine and the tools around them.

One argparse tree of about twenty commands (the tree in one place is what `riskbatch --help` and the docs
check read); each command runs its handler in riskbatch.commands."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from riskbatch import __version__
from riskbatch.commands import (
    WORKER_KINDS,
    _price,
    cmd_backtest,
    cmd_health,
    cmd_ingest,
    cmd_plan,
    cmd_preflight,
    cmd_probe,
    cmd_rerun,
    cmd_risk,
    cmd_sample,
    cmd_status,
    cmd_watch,
    cmd_worker,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="riskbatch", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser("ingest", help="validate and split one arriving file set (data-ingestion task)")
    ingest.add_argument("--bucket", required=True)
    ingest.add_argument("--key", required=True)
    ingest.add_argument("--reason", help="why the date is run again (riskbatch rerun): kept in a new run's manifest and its report")
    ingest.set_defaults(run=cmd_ingest)

    worker = commands.add_parser("worker", help="consume a queue (risk-calculation or report-generation service)")
    worker.add_argument("kind", choices=sorted(WORKER_KINDS))
    worker.add_argument("--visibility", type=int, default=900, help="message lease in seconds, extended while working")
    worker.add_argument("--wait", type=int, default=20, help="long-poll seconds")
    worker.add_argument("--abort-after", type=float, default=90.0, help="after SIGTERM, release the message in hand after this many seconds")
    worker.add_argument("--idle-exit", type=float, help="exit after this many idle seconds (local runs)")
    worker.add_argument("--max-messages", type=int)
    worker.add_argument(
        "--max-interruptions", type=int, default=10, help="re-queue a message interrupted by SIGTERM this often before its receives count again"
    )
    worker.set_defaults(run=cmd_worker)

    risk = commands.add_parser("risk", help="the engine in one process, from local files")
    risk.add_argument("--positions", type=Path, required=True)
    risk.add_argument("--market", type=Path, required=True)
    risk.add_argument("--scenarios", type=int, default=100_000)
    risk.add_argument("--seed", type=int, default=1)
    risk.add_argument("--currency", default="USD", help="reporting currency (ISO code)")
    risk.add_argument("--rates", default="", help="rates per currency, e.g. USD=0.043,EUR=0.027 (others: 3 %%)")
    risk.add_argument("--date", type=dt.date.fromisoformat, help="business date (default: the market file's last date)")
    risk.add_argument("--min-returns", type=int, default=250, help="daily returns of history required")
    risk.add_argument("--max-lag", type=int, default=0, help="business days the market data may lag the business date")
    risk.add_argument("--cov", choices=["sample", "ewma"], default="sample")
    risk.add_argument("--ewma-lambda", type=float, default=0.94)
    risk.add_argument("--distribution", choices=["normal", "student-t"], default="normal")
    risk.add_argument("--df", type=float, default=5.0, help="Student-t degrees of freedom")
    risk.add_argument("--horizon", type=int, default=1, help="business days; square-root-of-time scaling")
    risk.add_argument("--json", action="store_true")
    risk.add_argument("--quiet", action="store_true", help="no progress on stderr")
    risk.set_defaults(run=cmd_risk)

    sample = commands.add_parser("sample", help="write a sample book and market history")
    sample.add_argument("--out", type=Path, required=True)
    sample.add_argument("--positions", type=int, default=3_000)
    sample.add_argument("--factors", type=int, default=300)
    sample.add_argument("--days", type=int, default=300)
    sample.add_argument("--portfolios", type=int, default=8)
    sample.add_argument("--option-share", type=float, default=0.10)
    sample.add_argument("--date", type=dt.date.fromisoformat, default=dt.date(2026, 11, 25))
    sample.add_argument("--seed", type=int, default=7)
    sample.add_argument("--nights", type=int, default=1, help="consecutive business nights: one history, each night a day further")
    sample.set_defaults(run=cmd_sample)

    from riskbatch.operations import fargate

    plan = commands.add_parser("plan", help="risk-calculation tasks and cost for a night")
    plan.add_argument("--positions", type=int, required=True)
    plan.add_argument("--factors", type=int, required=True)
    plan.add_argument("--scenarios", type=int, default=100_000)
    plan.add_argument("--start", default="01:00", help="when the files are in (HH:MM, New York)")
    plan.add_argument("--deadline", default="09:30", help="when the report is due (HH:MM, New York)")
    plan.add_argument("--safety", type=float, default=0.5, help="share of the window kept free")
    plan.add_argument("--calibrate", action="store_true", help="measure the throughput on this machine instead of the stored figures")
    plan.add_argument("--vcpu-hour", type=float, default=fargate.ON_DEMAND_VCPU_HOUR)
    plan.add_argument("--gb-hour", type=float, default=fargate.ON_DEMAND_GB_HOUR)
    plan.add_argument("--spot-vcpu-hour", type=float, default=fargate.SPOT_VCPU_HOUR)
    plan.add_argument("--spot-gb-hour", type=float, default=fargate.SPOT_GB_HOUR)
    plan.add_argument("--measured", help="task-measurements.json of a container night (make demo): the runtime memory measured there")
    plan.add_argument("--template", type=Path, help="the stack's template, its scheduled minimums the warm floor (default: lib/TapStack.json)")
    plan.add_argument("--endpoints-template", type=Path, help="the VPC endpoints' template (default: lib/VpcEndpoints.json)")
    plan.add_argument("--parameters-file", type=Path, help="the environment's parameters (config/prod.json): the minimums and retention it sets")
    plan.add_argument("--no-endpoints", action="store_true", help="the VPC has a NAT: no interface endpoints to pay for")
    plan.add_argument("--log-gb-a-night", type=float, default=0.05, help="GB the log groups take in a night (assumed 0.05; read IncomingBytes)")
    plan.add_argument("--kms-requests-a-night", type=int, default=5_000, help="requests to the stack's key a night (assumed 5,000)")
    plan.add_argument("--price", type=_price, action="append", default=[], metavar="NAME=USD", help="a current price: endpoint_az_hour=0.01 and the like")
    plan.add_argument("--json", action="store_true")
    plan.set_defaults(run=cmd_plan)

    preflight = commands.add_parser("preflight", help="the pre-night check of the account (scheduled task): alerts the topic on a failure")
    preflight.add_argument("--nightly", action="store_true", help="the checks that change from day to day (the only ones the task runs)")
    preflight.set_defaults(run=cmd_preflight)
    backtest = commands.add_parser("backtest", help="replay the stored backtest history of a range of dates")
    backtest.add_argument("--bucket", required=True, help="the output bucket (history/ holds one record per business date)")
    backtest.add_argument("--from", dest="first", type=dt.date.fromisoformat, help="first business date (default: the first stored)")
    backtest.add_argument("--to", dest="last", type=dt.date.fromisoformat, help="last business date (default: the last stored)")
    backtest.add_argument("--json", action="store_true")
    backtest.set_defaults(run=cmd_backtest)
    watch = commands.add_parser("watch", help="the deadline check (scheduled task): alerts the topic when the report is not there")
    watch.add_argument("--date", type=dt.date.fromisoformat, help="business date (default: the business day before today, New York; none on a holiday)")
    watch.set_defaults(run=cmd_watch)
    status = commands.add_parser("status", help="where a business date's night stands: files, run, units, report against 09:30, failed tasks (read-only)")
    status.add_argument("--stack-name", required=True)
    status.add_argument("--date", type=dt.date.fromisoformat, help="business date (default: the night in progress or last finished, New York)")
    status.add_argument("--region", help="the stack's region (default: AWS_REGION or the profile's)")
    status.add_argument("--profile", help="an AWS profile (default: AWS_PROFILE, or the default credentials)")
    status.add_argument("--json", action="store_true", help="for machines")
    status.set_defaults(run=cmd_status)
    rerun = commands.add_parser("rerun", help="run a business date again (or a backfill) from its files in S3; running it twice publishes once")
    rerun.add_argument("--stack-name", required=True)
    rerun.add_argument("--date", type=dt.date.fromisoformat, required=True, help="the business date whose files are under the input prefix")
    rerun.add_argument("--reason", help="why (kept in a new run's manifest; a restatement's report and notification say it)")
    rerun.add_argument("--wait", type=float, metavar="SECONDS", help="wait this long for the ingestion task to stop, and give its exit code")
    rerun.add_argument("--region", help="the stack's region (default: AWS_REGION or the profile's)")
    rerun.add_argument("--profile", help="an AWS profile (default: AWS_PROFILE, or the default credentials)")
    rerun.set_defaults(run=cmd_rerun)
    health = commands.add_parser("health", help="container health check")
    health.add_argument("--max-age", type=float, default=None, help="seconds a heartbeat stays fresh (default: four beats)")
    health.set_defaults(run=cmd_health)
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
    try:
        return int(args.run(args))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

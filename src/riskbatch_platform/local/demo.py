"""make demo: tonight's batch, end to end, on one machine.

1. Starts moto's server on loopback with IAM enforced, creates stand-ins for the existing VPC,
   subnets and buckets, and deploys lib/TapStack.json with riskbatch-deploy's phases.
2. Generates the sample book and history and lands them under the input prefix. The night is the
   latest business date before today (New York, the exchange calendar): a morning's report, never
   a date fixed in the past. It is replayed today, so its report is stamped as if published in
   its night window (from 01:00 New York the day after the business date) and says so, with the
   real time, on page one and in its audit trail.
3. Builds the three job images (make images; cached after the first run) and pushes them to the
   stack's repositories as real manifests.
4. Runs the night: a local runner plays ECS (the emulator starts no containers), starting each
   task as a container of its image, pulled by digest, as its task definition says (read-only,
   user 10001, memory limit, health check, stop timeout), with its own task role's credentials.
   --processes runs the jobs as plain processes instead: quicker, for work on the jobs themselves.
   Before the first night, the year before it: 250 nights land under history/, generated through
   the same code as make backtest-year (riskbatch-backtest-year), at 5,000 scenarios a night, over
   the same market history the nights continue, and the last business day before the first night
   runs through the stack like the night itself, so that the first report backtests 250 days,
   shows the traffic light and the exceptions chart, and explains the change since the previous
   night (which needs that night's run, not only its figures). --history-nights 0: none.
5. Prints the headline VaR and ES, the report (copied to out/), the SNS message as delivered,
   each task's image digest, exit code, peak memory against its limit and wall time, and the time
   each stage took. With --nights 2, a second business date makes a second run.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

from riskbatch.inputs.business_days import NEW_YORK, business_days_ending, previous_business_day
from riskbatch.inputs.sample import SampleSpec, write_nights
from riskbatch.model.settings import parameters_from_env
from riskbatch.operations.aws_access import bounded
from riskbatch.validation.history import history_key
from riskbatch_platform import REPO_ROOT
from riskbatch_platform.local.coverage import report as coverage_report
from riskbatch_platform.local.emulator.loopback import running_emulator
from riskbatch_platform.local.night import deploy_local, run_night, stop_all, task_table, write_measurements
from riskbatch_platform.local.podman import DEBIAN_PACKAGES, missing_tools
from riskbatch_platform.local.runner import LocalEcs
from riskbatch_platform.measurement.backtest_year import run_year

NIGHT_WINDOW_OPENS = dt.time(1, 0)  # New York, the calendar day after the business date: after the 00:30 pre-night check


def demo_business_date(now: dt.datetime) -> dt.date:
    """The night a morning's report is for: the latest business day before today in New York."""
    return previous_business_day(now.astimezone(NEW_YORK).date())


def replay_shift(business_date: dt.date, night_started: dt.datetime) -> float:
    """Seconds from the moment the demo starts the business date's night to the moment its night
    window opens: the report job adds them to its publication time and says so (a replayed night)."""
    opens = dt.datetime.combine(business_date + dt.timedelta(days=1), NIGHT_WINDOW_OPENS, NEW_YORK)
    return (opens - night_started).total_seconds()


def demo_nights(business_date: dt.date, nights: int, history: int) -> tuple[dt.date, list[dt.date], list[dt.date]]:
    """(the first date of the sample, the dates landed as history only, the dates run through the
    stack), the last run date the business date: of `history` nights before the first run night,
    all but the last are landed, and the last runs, so the first report has a previous run to explain."""
    run = business_days_ending(business_date, nights + min(history, 1))
    landed = business_days_ending(run[0], max(history - 1, 0) + 1)[:-1]
    return (landed or run)[0], landed, run


@bounded("riskbatch-demo")
def main(argv: list[str] | None = None, now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suffix", default="demo")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "out")
    parser.add_argument("--nights", type=int, default=1, help="business dates to run, one after the other, the last the latest before today")
    parser.add_argument("--positions", type=int, default=3_000)
    parser.add_argument("--factors", type=int, default=300)
    parser.add_argument("--scenarios", type=int, default=100_000)
    parser.add_argument(
        "--history-nights", type=int, default=251, help="nights of history before the first night, the last of them run through the stack (251: 250 backtested)"
    )
    parser.add_argument("--history-scenarios", type=int, default=5_000, help="scenarios a night of the landed history")
    parser.add_argument("--coverage", action="store_true", help="also print what the emulator modelled, resource by resource")
    parser.add_argument("--processes", action="store_true", help="run the jobs as processes, not in containers of their images")
    args = parser.parse_args(argv)
    started = time.monotonic()

    def say(line: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {line}", file=sys.stderr, flush=True)

    shutil.rmtree(args.out / "demo", ignore_errors=True)
    workdir = args.out / "demo"
    workdir.mkdir(parents=True)
    say("starting the emulator on loopback (IAM enforced)")
    with running_emulator(region=args.region, log_dir=workdir) as emulator:
        containers = not args.processes
        if containers and missing_tools():
            say(f"containers need {', '.join(missing_tools())}: apt-get install -y {' '.join(DEBIAN_PACKAGES)} (or run with --processes)")
            return 2
        stack = deploy_local(emulator, args.suffix, workdir, say, containers=containers, environment_class="non-production")
        print(f"\nStack {stack.stack_name} outputs:")
        for key, value in sorted(stack.outputs.items()):
            print(f"  {key:<36} {value}")
        if args.coverage:
            print()
            print(coverage_report(emulator.target, stack.stack_name, stack.template, stack.parameters, stack.outputs))
        ecs = LocalEcs(emulator.target, emulator.agent_target, stack.stack_name, workdir, containers=containers)
        ecs.environment_overrides["RISK_SCENARIOS"] = str(args.scenarios)  # the ingestion task's model setting, as a RunTask override
        ecs.load()
        failed_nights = []
        try:
            first, landed, run = demo_nights(demo_business_date(now()), args.nights, args.history_nights)
            say(f"generating the sample book and history: {len(landed)} night(s) landed, {', '.join(day.isoformat() for day in run)} run")
            spec = dataclasses.replace(SampleSpec(positions=args.positions, factors=args.factors), business_date=first)
            folders = write_nights(workdir / "sample", spec, len(landed) + len(run), first_written=len(landed))
            if landed:
                land_history(stack, spec, len(landed), len(run), args.history_scenarios, say)
            for folder in folders:
                business_date = dt.date.fromisoformat(folder.name)
                ecs.environment_overrides["REPORT_REPLAY_SHIFT_SECONDS"] = f"{replay_shift(business_date, now()):.0f}"
                result = run_night(stack, ecs, folder, business_date.isoformat(), args.out, say)
                print_night(result)
                if containers:
                    print(task_table(result.tasks))
                    night_size = {"positions": args.positions, "factors": args.factors, "scenarios": args.scenarios}
                    write_measurements(result.tasks, night_size, workdir / "task-measurements.json")
                if not result.figures:
                    failed_nights.append(business_date.isoformat())
        finally:
            stop_all(ecs)
    if failed_nights:
        say(f"failed: no report for {', '.join(failed_nights)}")
        return 1
    say("done")
    return 0


def land_history(stack, spec: SampleSpec, history: int, nights: int, scenarios: int, say) -> None:
    """The year before the first night, as its reports would have written history/<date>.json."""
    parameters = dataclasses.replace(parameters_from_env(0), scenarios=scenarios)
    say(f"generating the {history} nights before the first night ({scenarios:,} scenarios each; make backtest-year's code)")
    records = run_year(spec, history + nights, parameters, say=say, computed=history)
    s3 = stack.emulator.client("s3")
    for record in records:
        s3.put_object(Bucket=stack.stand_ins.output_bucket, Key=history_key(record["business_date"]), Body=json.dumps(record).encode())
    say(f"landed {len(records)} nights of history, {records[0]['business_date']} to {records[-1]['business_date']}")


def print_night(result) -> None:
    print(f"\nNight of {result.business_date}: run {result.run_id}")
    if not result.figures:
        print("  no report was produced; see out/demo/logs/ (task exit codes above)")
        return
    firm = result.figures["firm"]
    print(f"  firm  VaR 95 % {firm['var_95']:>14,.0f}   VaR 99 % {firm['var_99']:>14,.0f}   ES 97.5 % {firm['es_975']:>14,.0f}")
    print(f"  sum of portfolio VaR 99 %: {result.figures['sum_of_portfolio_var_99']:,.0f} (the firm figure is diversified)")
    print(f"  {result.figures['scenarios']:,} scenarios, seed {result.figures['seed']}, {result.figures['positions']:,} positions")
    print(f"  report: {result.report_path}")
    for note in result.notifications:
        print(f"  SNS message as delivered: {note['subject']}")
        print("    " + "\n    ".join(str(note["message"]).splitlines()))
    print("  stage times: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.stage_seconds.items()))
    print("  tasks: " + ", ".join(f"{task['name']} as {task['role']}" for task in result.tasks))
    print(json.dumps({"firm": firm}, indent=None))


if __name__ == "__main__":
    sys.exit(main())

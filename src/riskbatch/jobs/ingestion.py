"""data-ingestion: validate tonight's file set, record checksums, split it into work units, queue them.

The night's file set as it arrives (its keys, companion and contents) is riskbatch.inputs.arrival."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import time
from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from botocore.exceptions import ClientError

from riskbatch import __version__
from riskbatch.aws.alert_once import alert_once
from riskbatch.aws.alerts import counts_by, first_rows
from riskbatch.aws.layout import (
    excluded_rows_key,
    held_prices_key,
    manifest_key,
    market_file_key,
    market_key,
    quarantine_key,
    run_id,
    status_key,
    stress_market_key,
    unit_key,
)
from riskbatch.aws.storage import exists, get_bytes, get_read, put_json_once, put_once
from riskbatch.inputs.arrival import ROLES, FileSet, find_companion, parse_key, read_file_set, stored_key
from riskbatch.inputs.corporate_actions import CORPORATE_ACTIONS_FILE, confirmations, night_record, parse_corporate_actions
from riskbatch.inputs.currencies import market_as_table
from riskbatch.inputs.files import MARKET_COLUMNS, POSITION_COLUMNS, InputError, load_market, read_table
from riskbatch.inputs.quality import DataQualityPolicy, FileRejected, PreparedNight, excluded_notional_text, prepare_night
from riskbatch.inputs.rate_acceptances import load_acceptances
from riskbatch.inputs.rates import PreviousCurves, RatesRejected, exclude_options_without_rates, night_rates
from riskbatch.inputs.second_source import parse_second_source
from riskbatch.jobs.corporate_action_rows import quarantine_rows
from riskbatch.jobs.earlier_runs import latest_earlier_manifest, previous_draw_order, previous_night
from riskbatch.jobs.empty_book import carried_draw_order, figures_stand, published_run
from riskbatch.model.build_record import running_build
from riskbatch.model.settings import ConfigurationError, Settings, cleaning_policy, configured_run, data_quality_overrides, data_quality_policy
from riskbatch.runtime.logs import log, timed
from riskbatch.validation.history import parse_actual_pnl
from riskbatch.validation.limits import as_records, parse_limits
from riskbatch.validation.restatement import REASON_FILE, given_reason

LIMITS_FILE = "limits.csv"  # optional, beside the two files: riskbatch.validation.limits


ACTUAL_PNL_FILE = "actual_pnl.csv"  # optional: the previous business day's book's actual P&L (riskbatch.validation.history)


STRESS_MARKET_FILE = "stress_market.csv"  # optional: the stress history the stressed VaR's configured period is read from
SECOND_SOURCE_FILE = "second_source.csv"  # optional: another vendor's last prices (riskbatch.inputs.second_source)


EXIT_OK, EXIT_REJECTED = 0, 2


STALE_CLAIM_SECONDS = 600


@dataclass(frozen=True)
class IngestOutcome:
    status: str  # queued, duplicate, waiting, ignored, rejected
    run_id: str | None = None
    units: int = 0
    detail: str = ""

    @property
    def exit_code(self) -> int:
        return EXIT_REJECTED if self.status == "rejected" else EXIT_OK


def _quarantine(job: Ingestion, bucket: str, key: str, checksum: str, business_date: str, error: InputError, optional: bool = False) -> str:
    report_key = quarantine_key(business_date, key.rsplit("/", 1)[-1], checksum)
    # an optional file's arrival starts no run (only the market and positions files' do): the operator re-runs the date
    retry = (
        f"land the corrected {key.rsplit('/', 1)[-1]} under the same name, then run "
        f'`riskbatch rerun --stack-name <stack> --date {business_date} --reason "..."` (its arrival alone starts no run)'
        if optional
        else "a corrected file under the same name starts a new run"
    )
    report = {
        "file": f"s3://{bucket}/{key}",
        "sha256": checksum,
        "business_date": business_date,
        "problems": error.problems,
        "detected_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "kept": f"the original stays where it landed; {retry}",
    }
    created = put_json_once(job.s3, job.output, report_key, report)
    log("input_rejected", file=key, problems=len(error.problems), report=report_key, first_report=created)
    details = f"s3://{job.output}/{report_key}"
    lines = [f"The file s3://{bucket}/{key} was rejected ({len(error.problems):,} problem(s)):"]
    lines += [f"- {problem}" for problem in first_rows(error.problems, details)]
    lines += [f"Report: {details}", f"To correct it: {retry}."]
    _alert_once(job, report_key, f"Risk batch: rejected input for {business_date}", "\n".join(lines))
    return report_key


def _alert_once(job: Ingestion, details_key: str, subject: str, message: str) -> None:
    alert_once(job.s3, job.sns, job.output, job.settings.alert_topic_arn, details_key, subject, message)


@dataclass(frozen=True)
class Ingestion:
    """What every step of one ingestion works with: the task's settings and its clients."""

    settings: Settings
    s3: Any
    sqs: Any
    sns: Any

    @property
    def output(self) -> str:
        return self.settings.output_bucket


def ingest(bucket: str, key: str, settings: Settings, s3: Any, sqs: Any, sns: Any, reason: str | None = None, forced: str | None = None) -> IngestOutcome:
    """One arriving file: find its companion, validate the set, write the run once, queue its units once.
    `reason`: why the date is run again (riskbatch rerun --reason), kept in a new run's manifest.
    `forced`: the token of a forced rerun (riskbatch rerun --force): the same files make a new run, this token in its identity."""
    if not settings.output_bucket or not settings.risk_work_queue_url:
        raise ConfigurationError("OUTPUT_BUCKET and RISK_WORK_QUEUE_URL must be set")
    job = Ingestion(settings, s3, sqs, sns)
    key = stored_key(s3, bucket, key)
    parsed = parse_key(key, settings.input_prefix)
    if parsed is None:
        log("ignored", file=key, reason=f"not {settings.input_prefix}<date>/positions|market.csv|parquet")
        return IngestOutcome("ignored", detail=key)
    business_date, role, _ = parsed
    companion = find_companion(s3, bucket, settings.input_prefix, business_date, role)
    if companion is None:
        log("waiting_for_companion", file=key, missing=ROLES[role], business_date=business_date)
        return IngestOutcome("waiting", detail=f"no {ROLES[role]} file yet for {business_date}")
    files = read_file_set(s3, bucket, business_date, {role: key, ROLES[role]: companion})
    input_seed = int(hashlib.sha256((files.checksums["positions"] + files.checksums["market"]).encode()).hexdigest()[:8], 16)
    parameters, model_config = configured_run(input_seed)
    policy = data_quality_policy()
    model_config["overrides"].update(data_quality_overrides())  # a re-run with another policy says so
    earlier = latest_earlier_manifest(s3, settings.output_bucket, business_date) or {}
    ledger = earlier.get("data_quality", {}).get("cleanings", [])
    # the night before's curves: a rate far from its own tenor's of that night is refused (a percentage typed as a number)
    previous = PreviousCurves(dt.date.fromisoformat(earlier["business_date"]), earlier.get("model", {}).get("curves", {})) if earlier else None
    accepted = load_acceptances(s3, settings.output_bucket, business_date)  # curves refused for their steps, signed off (riskbatch accept-rates)
    second, second_source = _read_optional(job, files, SECOND_SOURCE_FILE, parse_second_source)  # what may contradict a last-day jump
    # what confirms a split, its bad rows set apart one by one
    actions, actions_source = quarantine_rows(job, *_read_optional(job, files, CORPORATE_ACTIONS_FILE, parse_corporate_actions), business_date, _alert_once)
    log("corporate_actions", **night_record(actions, actions_source, business_date) | {"records": len(actions or [])})
    published = published_run(s3, settings.output_bucket, business_date)  # every row refused after publication: rejected, the figures stand
    try:
        night = _validated(files, policy, parameters.reporting_currency, ledger, second, confirmations(actions or []), published is None)
        curves, rates_source = night_rates(s3, bucket, settings.input_prefix, business_date, policy, previous, accepted)
        night = exclude_options_without_rates(night, curves, files.keys["positions"], allow_empty_book=published is None)
    except FileRejected as refused:  # the rates file is named by its own key, as it may be missing
        rejected = figures_stand(refused, business_date, published)
        rates = isinstance(rejected, RatesRejected)
        key, checksum = (rejected.key, rejected.checksum) if rates else (files.keys[rejected.role], files.checksums[rejected.role])
        return IngestOutcome("rejected", detail=_quarantine(job, bucket, key, checksum, business_date, rejected.error))
    parameters = dataclasses.replace(parameters, curves=curves.as_parameters())  # the options' rates, by currency and tenor

    limits, limits_source = _read_optional(job, files, LIMITS_FILE, lambda data, name: as_records(parse_limits(data, name)))
    actual, actual_source = _read_optional(job, files, ACTUAL_PNL_FILE, parse_actual_pnl)
    stress, stress_source = _read_optional(job, files, STRESS_MARKET_FILE, _stress_history)
    checksums = [files.checksums["positions"], files.checksums["market"], rates_source["sha256"]]
    checksums += [source["sha256"] for source in (limits_source, actual_source, stress_source, second_source, actions_source) if source]
    run = run_id(business_date, checksums + ([f"forced {forced}"] if forced else []), parameters, policy)
    if exists(s3, settings.output_bucket, status_key(run, "queued")):
        log("duplicate_arrival", run_id=run, file=key)
        return IngestOutcome("duplicate", run, detail="this file set already made this run")

    _report_exclusions(job, files, night)
    _report_held_prices(job, files, night)
    positions = night.positions.sort_by([("portfolio_id", "ascending"), ("position_id", "ascending")])
    units = [positions.slice(start, settings.unit_positions) for start in range(0, positions.num_rows, settings.unit_positions)]
    # every row refused: one empty unit, whose worker announces the run, and a report of no figure with the reasons (never a VaR of 0)
    units = units or [positions]
    optional = {"limits": limits or [], "limits_source": limits_source, "actual_pnl": actual, "actual_pnl_source": actual_source}
    optional.update(second_source=second_source, corporate_actions_source=actions_source)
    optional["corporate_actions"] = night_record(actions, actions_source, business_date)  # what was read, or that there were none tonight
    optional.update(model_config=model_config, stress_market_source=stress_source, rates_source=rates_source)
    given = given_reason(reason, "riskbatch rerun --force --reason" if forced else "riskbatch rerun --reason")
    optional["restatement_reason"] = given or _reason_file(s3, bucket, settings.input_prefix, business_date)
    optional["forced_rerun"] = {"token": forced, "reason": (given or {}).get("text")} if forced else None
    if stress is not None:
        optional["stress_market_key"] = stress_market_key(run)
        _write_parquet(s3, settings.output_bucket, stress_market_key(run), stress)
    claimed = _write_run(s3, settings.output_bucket, run, files, night, positions, units, parameters, policy, optional)
    if not claimed and _claimed_recently(s3, settings.output_bucket, run):
        return IngestOutcome("duplicate", run, detail="another ingestion task is queueing this run")
    _queue_units(job, run, len(units))
    return IngestOutcome("queued", run, len(units))


def _validated(files: FileSet, policy: DataQualityPolicy, currency: str, ledger: list[dict[str, Any]], second: Any, actions: Any, empty: bool) -> PreparedNight:
    """The night as it will run (every row refused and `empty`: a night without a figure); FileRejected names a file that cannot be used and why."""
    date = dt.date.fromisoformat(files.business_date)
    tables = {}
    for role, columns in (("market", MARKET_COLUMNS), ("positions", POSITION_COLUMNS)):
        try:
            tables[role] = read_table(files.contents[role], files.keys[role], columns)
        except InputError as error:
            raise FileRejected(role, error) from error
    market, positions = (tables["market"], files.keys["market"]), (tables["positions"], files.keys["positions"])
    # ledger: the nights before's cleanings; actions: factor -> {day: ratio}, the corporate actions that confirm a split
    return prepare_night(*market, *positions, date, policy, currency, cleaning_policy(), ledger, second, actions, allow_empty_book=empty)


def _stress_history(data: bytes, name: str) -> pa.Table:
    """The stress history, checked as a market file is (its dates lie before the business date)."""
    table = read_table(data, name, MARKET_COLUMNS)
    load_market(table, name, dt.date.max)
    return table


def _read_optional(job: Ingestion, files: FileSet, name: str, parse: Any) -> tuple[Any, dict[str, Any] | None]:
    """An optional file that landed with the night's files (limits.csv, actual_pnl.csv): (its parsed
    contents or None, its uri and checksum). A file that cannot be used is quarantined with a
    notification, and the night runs without it."""
    bucket, key = files.bucket, f"{job.settings.input_prefix}{files.business_date}/{name}"
    if not exists(job.s3, bucket, key):
        return None, None
    data, version, etag = get_read(job.s3, bucket, key)
    checksum = hashlib.sha256(data).hexdigest()
    source = {"uri": f"s3://{bucket}/{key}", "sha256": checksum, "version_id": version, "etag": etag}  # etag: to tell a file replaced after the read
    try:
        return parse(data, key), source
    except InputError as error:
        _quarantine(job, bucket, key, checksum, files.business_date, error, optional=True)
        return None, {**source, "rejected": error.problems}


def _report_exclusions(job: Ingestion, files: FileSet, night: PreparedNight) -> None:
    """Rows the night goes on without: a quarantine file listing them, and one notification."""
    flagged = [finding for finding in night.findings if finding.action == "flag"]
    for finding in night.findings:
        log("data_quality", factor=finding.factor, check=finding.check, action=finding.action, detail=finding.detail)
    if not night.excluded:
        return
    key = excluded_rows_key(files.business_date, files.keys["positions"].rsplit("/", 1)[-1], files.checksums["positions"])
    summary = night.summary()
    record = {"file": f"s3://{files.bucket}/{files.keys['positions']}", "sha256": files.checksums["positions"], **summary}
    created = put_json_once(job.s3, job.output, key, record)
    unknown = summary["excluded_notional_unknown"]
    log("positions_excluded", rows=len(night.excluded), notional=summary["excluded_notional"], unknown=unknown, report=key, first_report=created)
    details = f"s3://{job.output}/{key}"
    lines = [f"{len(night.excluded):,} position(s) of s3://{files.bucket}/{files.keys['positions']} were excluded from tonight's run"]
    lines.append(f"(notional {excluded_notional_text(summary)}); the run goes on without them.")
    lines += ["By reason:", *counts_by(row.reason for row in night.excluded), "The first of them:"]
    lines += first_rows([f"- {row.position_id} ({row.portfolio_id}): {row.reason}" for row in night.excluded], details)
    lines += [f"Flagged: {finding.factor}: {finding.detail}" for finding in flagged[:10]]
    lines.append(f"Full list: {details}")
    _alert_once(job, key, f"Risk batch: positions excluded for {files.business_date}", "\n".join(lines))


def _report_held_prices(job: Ingestion, files: FileSet, night: PreparedNight) -> None:
    """A suspect last price held at its previous close: a record of every held price in the quarantine, and
    one alert (bounded: the first few in the message, the whole list in the record), before the night's
    figures exist. A second arrival of the same files finds the alert sent and stays quiet."""
    for held in night.held:
        log("last_price_held", factor=held.factor, published=held.published, held_at=held.held_at, positions=held.positions, value_effect=held.value_effect)
    if not night.held:
        return
    key = held_prices_key(files.business_date, files.keys["market"].rsplit("/", 1)[-1], files.checksums["market"])
    held = [dataclasses.asdict(price) for price in night.held]
    record = {"file": f"s3://{files.bucket}/{files.keys['market']}", "sha256": files.checksums["market"], "held": held}
    put_json_once(job.s3, job.output, key, record)
    details = f"s3://{job.output}/{key}"
    lines = [f"Suspect last price(s) in s3://{files.bucket}/{files.keys['market']} for {files.business_date}: {len(night.held):,} held at the previous close."]
    lines += first_rows(
        [
            f"- {held.factor}: published {held.published:g}, held at {held.held_at:g} (a move of {held.move:+.1%}); "
            f"{held.positions} position(s); the published price would have added {held.value_effect:,.0f} {night.reporting_currency} to their value"
            for held in night.held
        ],
        details,
    )
    lines += ["A corrected market file under the same name starts a new run.", f"Full list: {details}"]
    _alert_once(job, key, f"Risk batch: suspect last price held for {files.business_date}", "\n".join(lines))


def _write_run(
    s3: Any,
    output: str,
    run: str,
    files: FileSet,
    night: PreparedNight,
    positions: pa.Table,
    units: list[pa.Table],
    parameters: Any,
    policy: DataQualityPolicy,
    optional: dict[str, Any],
) -> bool:
    """The run's market, units and manifest, each written once; True when this task wrote the manifest."""
    market = night.market
    try:
        previous, shares = previous_night(s3, output, files.business_date, len(units))
    except Exception as error:  # optional: without it the report revalues the previous night itself
        log("previous_night_unavailable", business_date=files.business_date, error=f"{type(error).__name__}: {error}")
        previous, shares = None, [[] for _ in units]
    with timed("run_written", run_id=run, units=len(units)):
        _write_parquet(s3, output, market_key(run), night.market_table)
        if night.whole_market is not None:
            _write_parquet(s3, output, market_file_key(run), market_as_table(night.whole_market))
        for index, unit in enumerate(units):
            _write_parquet(s3, output, unit_key(run, index), unit)
        manifest = {
            "run_id": run,
            "business_date": files.business_date,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "created_ns": time.time_ns(),  # orders two runs of a date ingested in the same second (riskbatch.aws.runs.run_order)
            "software_version": __version__,
            # code_fingerprint (the version alone cannot tell two builds apart), source_revision (the image's commit),
            # image and image_digest (from the task metadata endpoint, or "unavailable: <why>"): model/build_record.py
            **running_build(),
            "output_bucket": output,
            "inputs": [
                # the version ID names the very bytes read: a corrected file under the same key does not change this run's inputs
                {
                    "role": role,
                    "uri": f"s3://{files.bucket}/{files.keys[role]}",
                    "sha256": files.checksums[role],
                    "version_id": files.versions.get(role),
                    "bytes": len(files.contents[role]),
                }
                for role in ("positions", "market")
            ],
            "model": asdict(parameters),
            "data_quality_policy": asdict(policy),
            "cleaning_policy": asdict(cleaning_policy()),
            "data_quality": night.summary(),
            **optional,
            "factors": market.factors,
            "draw_order": carried_draw_order(previous_draw_order(s3, output, files.business_date), market.factors),
            "positions": positions.num_rows,
            "portfolios": sorted(set(positions["portfolio_id"].to_pylist())),
            "market_key": market_key(run),
            "market_file_key": market_file_key(run) if night.whole_market is not None else None,
            "units": [
                {"index": index, "key": unit_key(run, index), "positions": unit.num_rows, "previous_units": shares[index]} for index, unit in enumerate(units)
            ],
            "previous_night": previous,
        }
        return put_json_once(s3, output, manifest_key(run), manifest)


def _claimed_recently(s3: Any, output: str, run: str) -> bool:
    """Both files of a night arrive together and both tasks get this far; the manifest's writer
    queues the units. Another queues them only when the writer died before finishing."""
    existing = json.loads(get_bytes(s3, output, manifest_key(run)))
    age = time.time() - dt.datetime.fromisoformat(existing["created_at"].replace("Z", "+00:00")).timestamp()
    if age < STALE_CLAIM_SECONDS:
        log("run_claimed_elsewhere", run_id=run, claimed_seconds_ago=round(age))
        return True
    log("stale_claim", run_id=run, claimed_seconds_ago=round(age))
    return False


def _queue_units(job: Ingestion, run: str, count: int) -> None:
    output = job.output
    with timed("units_queued", run_id=run, units=count):
        messages = [
            {"run_id": run, "bucket": output, "manifest_key": manifest_key(run), "unit": index, "unit_key": unit_key(run, index)} for index in range(count)
        ]
        for start in range(0, len(messages), 10):
            batch = messages[start : start + 10]
            response = job.sqs.send_message_batch(
                QueueUrl=job.settings.risk_work_queue_url,
                Entries=[{"Id": str(item["unit"]), "MessageBody": json.dumps(item)} for item in batch],
            )
            if response.get("Failed"):
                raise RuntimeError(f"could not queue units: {response['Failed']}")
        # Queued is recorded last: a crash before it makes the next arrival queue the units again,
        # which the workers absorb (their results are written once).
        put_json_once(job.s3, output, status_key(run, "queued"), {"units": count, "at": time.time()})


def _write_parquet(s3: Any, bucket: str, key: str, table: pa.Table) -> None:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    try:
        put_once(s3, bucket, key, buffer.getvalue())
    except ClientError as error:
        raise RuntimeError(f"could not write s3://{bucket}/{key}: {error}") from error


def _reason_file(s3: Any, bucket: str, prefix: str, business_date: str) -> dict[str, str] | None:
    """The restatement.txt that landed with corrected files: why they were corrected (not part of the run's identity)."""
    key = f"{prefix}{business_date}/{REASON_FILE}"
    return given_reason(get_bytes(s3, bucket, key).decode("utf-8", errors="replace"), f"s3://{bucket}/{key}") if exists(s3, bucket, key) else None

"""A year of nights backtested: the sample's book and market over 250 business days, each night's
VaR from the engine and the next day's hypothetical P&L, as the report job computes them.

The year's market is not the model's own assumption (constant volatility, normal returns, which
could only ever light green): it is generated with GARCH(1,1) volatility clustering and
Student-t innovations (riskbatch.inputs.sample, dynamics "garch-t"); --dynamics gaussian gives the old,
circular year for comparison.

Each night runs what the night's jobs run, in one process and without the cloud, under the
production policy: the shipped model configuration's scenario count (100,000 a night today; about 1.6 s of
CPU a night at 1,000 positions over 60 factors, against 0.8 s at 5,000: the engine's draws and kernels
and the expected shortfall's bootstrap interval grow with the scenarios, reading and cleaning the
night's files does not), and the policy line it prints names every parameter that differs from
production's when --scenarios or --distribution asks for another (the shipped model
configuration's parameters, data-quality policy and cleaning standard,
the cleanings kept from night to night; the night's dated per-currency rates, the sample's rates file
of each date (riskbatch.inputs.sample.sample_rates), pricing its options; it prints which, and the held,
cleaned and excluded days beside the traffic light): the data-quality checks on that night's files
(riskbatch.inputs.quality), the Monte Carlo VaR of its book, and the backtest of the previous
night's VaR in tonight's move (riskbatch.validation.history). The records are the ones the report
writes to history/, here under --out; the summary is the report's backtest block:
exceptions of VaR 99 % and VaR 97.5 %, Kupiec, Christoffersen's independence and conditional
coverage tests and, with 250 observations, the Basel traffic light; and the exceptions chart the
report draws (exceptions.png under --out).

    make backtest-year                     # 250 nights of 1,000 positions over 60 factors
    riskbatch-backtest-year --nights 30   # a smaller run
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from riskbatch.inputs.cleaning import CleaningPolicy
from riskbatch.inputs.quality import DataQualityPolicy, prepare_night
from riskbatch.inputs.rates import curve_rate, exclude_options_without_rates, parse_rates
from riskbatch.inputs.sample import SampleSpec, closing_prices, market_table, next_business_days, positions_table, rates_table, roll_options, sample_rates
from riskbatch.model.engine import build_book, draw_order, portfolio_pnl, risk_model
from riskbatch.model.risk_model import ModelParameters, risk_figures
from riskbatch.model.run_inputs import RunBook
from riskbatch.model.settings import PRODUCTION, load_model_config
from riskbatch.operations.aws_access import bounded
from riskbatch.reporting.charts import exceptions_chart, png
from riskbatch.reporting.figures import backtest_series
from riskbatch.validation.history import as_table, backtest_entry, backtest_summary, firm_lines, measure_lines, night_record, one_day_figures
from riskbatch_platform import REPO_ROOT


def production_policy() -> tuple[DataQualityPolicy, CleaningPolicy, str]:
    """The nights' own data-quality policy and cleaning standard, from the shipped model configuration
    (no environment override): the year is backtested as production runs, and says so."""
    config = load_model_config()
    return DataQualityPolicy(**config.data_quality), CleaningPolicy(**config.cleaning), config.version


def run_year(spec: SampleSpec, nights: int, parameters: ModelParameters, say=lambda line: None, computed: int | None = None) -> list[dict]:
    """The records of the first `computed` (default: all) of `nights` nights from spec.business_date,
    over the market riskbatch.inputs.sample.write_nights writes for the same spec and nights."""
    dates = next_business_days(spec.business_date, nights)
    long_spec = dataclasses.replace(spec, days=spec.days + nights - 1, business_date=dates[-1])
    market = market_table(long_spec)
    count = len(set(market["factor"].to_pylist()))
    factors = market["factor"].to_pylist()[:count]
    book_table = positions_table(spec, factors, market.slice(count * (spec.days - 1), count)["price"].to_numpy())
    records: list[dict] = []
    previous: tuple[dict, RunBook] | None = None
    policy, cleaning, _ = production_policy()
    rates = sample_rates(spec, dates)  # each night's dated curves, as write_nights writes its rates.csv
    ledger: list = []  # the cleanings kept from night to night, as the manifests keep them
    started = time.monotonic()
    for night, date in enumerate(dates[:computed]):
        window = market.slice(count * night, count * spec.days)
        book_table = roll_options(book_table, date, closing_prices(window, count))  # as write_nights rolls them
        prepared = prepare_night(window, "market", book_table, "positions", date, policy, parameters.reporting_currency, cleaning, ledger)
        ledger = prepared.cleanings
        # the night's rates file read and validated as the night reads it: its curves price the options, and an
        # option in a currency it does not cover is excluded (never priced at the configuration's flat rate)
        curves = parse_rates(rates_table(date, rates[date]), "rates.csv", date, policy.max_market_lag_days, policy.rate_bands, policy.rate_steps)
        prepared = exclude_options_without_rates(prepared, curves, "positions")
        parameters = dataclasses.replace(parameters, curves=curves.as_parameters())
        model = risk_model(prepared.market, parameters, draw_order(previous[1].model.draw_order if previous else None, prepared.market.factors))
        book = build_book(prepared.positions, prepared.market, parameters)
        pnl = portfolio_pnl(book, prepared.market, parameters, model)
        firm = risk_figures(pnl.sum(axis=0))
        portfolios = {name: risk_figures(row) for name, row in zip(book.portfolio_ids, pnl, strict=True)}
        run = RunBook(parameters, prepared.market, prepared.positions, book, model)
        backtest = backtest_entry(*previous, prepared.whole_market, None, prepared.untrusted_last_day) if previous else None
        one_day = one_day_figures(run) if parameters.horizon_days != 1 else None
        last_prices = dict(zip(prepared.market.factors, prepared.market.spot.tolist(), strict=True))
        record = night_record(
            date.isoformat(), f"year-{night:03d}", parameters.reporting_currency, firm, portfolios, backtest, parameters.horizon_days, one_day, last_prices
        )
        record["data_quality"] = {key: prepared.summary()[key] for key in ("held_last_prices", "cleanings", "excluded_positions")}  # the year's own audit
        record["rates"] = parameters.curves  # the curves that priced the night's options
        records.append(record)
        previous = (record, run)
        if (night + 1) % 25 == 0 or night + 1 == len(dates[:computed]):
            say(f"[{time.monotonic() - started:6.1f}s] {night + 1} of {len(dates[:computed])} nights")
    return records


def load_exclusions(out: Path) -> dict[str, dict]:
    """Signed-off days of the year, as riskbatch exclude-day writes them (<out>/exclusions/<VaR date>.json)."""
    folder = out / "exclusions"
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))} if folder.is_dir() else {}


def production_parameters(scenarios: int | None = None, distribution: str | None = None) -> ModelParameters:
    """The shipped model configuration's parameters (no environment override), with the study's own scenario count
    and distribution where given: what differs from production, policy_lines says."""
    chosen = {key: value for key, value in (("scenarios", scenarios), ("distribution", distribution)) if value is not None}
    return ModelParameters(**{**load_model_config().parameters, **chosen})


def differences_from_production(parameters: ModelParameters) -> list[str]:
    """Each model parameter the year ran with that is not the shipped configuration's, against production's value."""
    config = load_model_config()
    found = []
    for name, value in config.parameters.items():
        ran = getattr(parameters, name)
        if ran != value:
            floor = f" (its floor {config.scenario_floor(PRODUCTION):,})" if name == "scenarios" else ""
            found.append(f"{name} {ran:,} against production's {value:,}{floor}" if isinstance(value, int) else f"{name} {ran} against production's {value}")
    return found


def policy_lines(records: list[dict], summary: dict, parameters: ModelParameters) -> list[str]:
    """What the year ran under (production's settings, or exactly what differs from them), and the held, cleaned
    and excluded days beside the traffic light."""
    policy, cleaning, version = production_policy()
    differs = differences_from_production(parameters)
    ran = (
        f"not the production policy: {'; '.join(differs)}; otherwise model configuration {version}'s parameters, data-quality policy and cleaning standard"
        if differs
        else f"the production policy of model configuration {version}"
    )
    held = [record["business_date"] for record in records if record["data_quality"]["held_last_prices"]]
    made = {(item["factor"], item["date"]): item for record in records for item in record["data_quality"]["cleanings"]}
    by_rule = {rule: sum(1 for item in made.values() if item["rule"] == rule) for rule in ("spike_and_revert", "split")}
    excluded = summary.get("excluded", [])
    dropped = [record["business_date"] for record in records if record["data_quality"]["excluded_positions"]]
    return [
        *rates_lines(records),
        f"policy: {ran}: last_day_jump={policy.last_day_jump} (held only when contradicted), "
        f"jump_sigmas={policy.jump_sigmas:g}, cleaning (revert_share={cleaning.revert_share:g}, "
        f"split_tolerance={cleaning.split_tolerance:g}, implausible_ratio={cleaning.implausible_ratio:g}, market_wide_factors={cleaning.market_wide_factors})",
        f"held days: {len(held)}{': ' + ', '.join(held[-12:]) if held else ''}",
        f"cleaned: {len(made)} price(s) on {len({date for _, date in made})} day(s) ({by_rule['spike_and_revert']} spike-and-revert, {by_rule['split']} split)",
        f"excluded days (signed off): {len(excluded)}{': ' + ', '.join(item['var_date'] for item in excluded) if excluded else ''}; "
        f"nights with positions excluded (the year keeps its first book: its options expire): {len(dropped)}",
    ]


def rates_lines(records: list[dict]) -> list[str]:
    """Which rates priced the year's options: each night's dated curves, or (a record without them) the configured flat rate."""
    dated = [record for record in records if record.get("rates")]
    if not dated:
        return [f"rates: none dated; options priced at the configured flat rate ({ModelParameters().rate:.1%} every currency)"]
    first, last = dated[0], dated[-1]
    usd = [curve_rate(record["rates"]["USD"], 1.0) for record in dated if "USD" in record["rates"]]
    span = f"; USD 1Y from {min(usd):.2%} to {max(usd):.2%}" if usd else ""
    return [
        f"rates: each night's dated curves ({len(last['rates'])} currencies, {len(dated)} nights from {first['business_date']} to {last['business_date']}, "
        f"the sample's rates.csv of the date, validated as the night validates it){span}; options priced at their currencies' rates at expiry"
    ]


@bounded("riskbatch-backtest-year")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nights", type=int, default=251, help="business nights (the first has nothing to backtest)")
    parser.add_argument("--positions", type=int, default=1_000)
    parser.add_argument("--factors", type=int, default=60)
    # production's own count by default: the year is the production policy's backtest (another count, the policy line names it)
    parser.add_argument("--scenarios", type=int, default=None, help="scenarios a night (default: the model configuration's, production's)")
    parser.add_argument("--distribution", choices=["normal", "student-t"], default=None, help="default: the model configuration's")
    parser.add_argument("--dynamics", choices=["garch-t", "gaussian"], default="garch-t", help="how the generated year's market moves")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "out" / "backtest-year")
    args = parser.parse_args(argv)
    spec = SampleSpec(positions=args.positions, factors=args.factors, days=260, features=False, dynamics=args.dynamics)
    parameters = production_parameters(args.scenarios, args.distribution)  # production's but these two: the policy line says which differ
    records = run_year(spec, args.nights, parameters, say=lambda line: print(line, file=sys.stderr, flush=True))
    history = args.out / "history"
    history.mkdir(parents=True, exist_ok=True)
    for record in records:
        (history / f"{record['business_date']}.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    exclusions = load_exclusions(args.out)
    summary = backtest_summary(records, exclusions=exclusions)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    (args.out / "exceptions.png").write_bytes(png(exceptions_chart(backtest_series(records), parameters.reporting_currency)))
    print("\n".join(as_table(records, exclusions).splitlines()[-11:]))
    print("\n" + "\n".join(policy_lines(records, summary, parameters)))
    print("\n".join(firm_lines(summary)))
    print("\nexceptions / days, hypothetical and actual P&L:\n" + "\n".join(measure_lines(summary)))
    print(f"records: {history}; chart: {args.out / 'exceptions.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

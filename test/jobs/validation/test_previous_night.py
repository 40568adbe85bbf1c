"""Tonight's backtest and day-over-day explanation, summed from the risk workers' unit parts, are
the figures the report computed from the previous night's whole book, however the book is split.

The old way revalues the previous night's whole book in the report (history.backtest_entry,
explain.explain_var_change); the new way has each of tonight's units revalue its share of the
previous night's units (previous_night.unit_part), written and read back as the result file
holds it, and the report only sums (PreviousNightSums). The figures agree to rounding: a sum over
positions taken unit by unit, then across units, is the same sum in another order, so each P&L
differs from the whole book's by a few units in the last place (a VaR is a quantile of P&L
vectors, so it moves by no more than they do). Measured, the two differ by 1e-16 to 1e-15 of the
book's scale (the largest sum of absolute P&L of a scenario); the tolerance is 1e-12 of it, a
thousand times that, and a millionth of a unit of currency on this book. Lists (positions, factors,
reasons) and counts are equal exactly.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from riskbatch.aws.layout import share_of_units
from riskbatch.inputs.files import MARKET_COLUMNS, POSITION_COLUMNS, Market, load_market, read_table, validate_positions
from riskbatch.inputs.sample import SampleSpec, write_nights
from riskbatch.model.engine import build_book, portfolio_pnl, risk_model
from riskbatch.model.risk_model import ModelParameters, risk_figures
from riskbatch.model.run_inputs import RunBook
from riskbatch.validation.explain import explain_var_change
from riskbatch.validation.history import backtest_entry, night_record
from riskbatch.validation.previous_night import PreviousNight, PreviousNightSums, previous_models, unit_part

PARAMETERS = ModelParameters(scenarios=2_000, block_size=512, seed=3)
TOLERANCE = 1e-12  # of the book's scale: see the module's doc


def _night(folder: Path) -> tuple[Market, pa.Table]:
    date = dt.date.fromisoformat(folder.name)
    market = load_market(read_table((folder / "market.csv").read_bytes(), "market.csv", MARKET_COLUMNS), "market.csv", date)
    positions = read_table((folder / "positions.csv").read_bytes(), "positions.csv", POSITION_COLUMNS)
    valid = validate_positions(positions, "positions.csv", market, date).valid
    return market, valid.sort_by([("portfolio_id", "ascending"), ("position_id", "ascending")])  # as ingestion orders a run


def _run_book(market: Market, positions: pa.Table) -> RunBook:
    return RunBook(PARAMETERS, market, positions, build_book(positions, market, PARAMETERS), risk_model(market, PARAMETERS))


@pytest.fixture(scope="module")
def two_nights(tmp_path_factory: pytest.TempPathFactory):
    folders = write_nights(tmp_path_factory.mktemp("nights"), SampleSpec(positions=500, factors=40, days=260, portfolios=4, option_share=0.3), 2)
    (previous_market, previous_positions), (market, positions) = (_night(folder) for folder in folders)
    tonight = _run_book(market, positions)
    pnl = portfolio_pnl(tonight.book, market, PARAMETERS, tonight.model)
    return previous_market, previous_positions, tonight, pnl


def _without(tonight: RunBook, factor: str) -> tuple[RunBook, np.ndarray]:
    """Tonight's night had its file lacked `factor`: its market without it, its book without the positions on it."""
    market = tonight.market.restricted([name for name in tonight.market.factors if name != factor])
    positions = tonight.positions.filter(pc.not_equal(tonight.positions["underlying"], factor))
    run = _run_book(market, positions)
    return run, portfolio_pnl(run.book, market, PARAMETERS, run.model)


def _record(previous: RunBook) -> dict:
    """The previous night's history record, as its report wrote it."""
    pnl = portfolio_pnl(previous.book, previous.market, previous.parameters, previous.model)
    per_portfolio = {name: risk_figures(row) for name, row in zip(previous.book.portfolio_ids, pnl, strict=True)}
    spot = dict(zip(previous.market.factors, previous.market.spot.tolist(), strict=True))
    return night_record(str(previous.market.business_date), "previous-run", "USD", risk_figures(pnl.sum(axis=0)), per_portfolio, None, factors=spot)


def _units(positions: pa.Table, sizes: list[int]) -> list[pa.Table]:
    starts = np.cumsum([0, *sizes])
    assert starts[-1] == positions.num_rows
    return [positions.slice(int(start), size) for start, size in zip(starts[:-1], sizes, strict=True)]


def _tonight_var(tonight: RunBook, pnl: np.ndarray) -> dict[str, float]:
    figures = {name: risk_figures(row)["var_99"] for name, row in zip(tonight.book.portfolio_ids, pnl, strict=True)}
    return {"firm": risk_figures(pnl.sum(axis=0))["var_99"], **figures}


def _sums_of_parts(units: list[pa.Table], previous: RunBook, tonight: RunBook, moves: Market, untrusted: list[str], tonight_units: int) -> PreviousNightSums:
    """Each of tonight's units revalues its share of the previous units, its part goes through the
    result file's format, and the report sums the parts in tonight's unit order."""
    night = PreviousNight(
        run_id="previous-run",
        manifest={"units": [{"index": j} for j in range(len(units))]},
        market=previous.market,
        parameters=previous.parameters,
        model=previous.model,
        recomputed_model=risk_model(previous.market, tonight.parameters, previous.model.draw_order),
        moves=moves,
        untrusted=untrusted,
    )
    sums = PreviousNightSums()
    for unit, share in enumerate(share_of_units(len(units), tonight_units)):
        positions = pa.concat_tables([units[j] for j in share]) if share else None
        arrays = unit_part(night, share, positions, tonight.parameters, tonight.market, tonight.model)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)  # as the worker writes it
        buffer.seek(0)
        with np.load(buffer) as stored:
            sums.add(stored, unit)
    return sums


def _assert_same_backtest(new: dict, old: dict, scale: float) -> None:
    assert new.keys() == old.keys()
    for key in ("var_date", "complete", "exceptions", "exceptions_975", "factors_without_a_move", "actual"):
        assert new.get(key) == old.get(key), key
    if old["complete"]:
        assert new["hypothetical_pnl"]["portfolios"].keys() == old["hypothetical_pnl"]["portfolios"].keys()
        for name, value in old["hypothetical_pnl"]["portfolios"].items():
            assert new["hypothetical_pnl"]["portfolios"][name] == pytest.approx(value, abs=TOLERANCE * scale), name
        assert new["hypothetical_pnl"]["firm"] == pytest.approx(old["hypothetical_pnl"]["firm"], abs=TOLERANCE * scale)
    else:
        incomplete, expected = new["incomplete"], old["incomplete"]
        assert (incomplete["reasons"], incomplete["factors"], incomplete["positions"]) == (expected["reasons"], expected["factors"], expected["positions"])
        assert incomplete["notional"] == pytest.approx(expected["notional"], abs=TOLERANCE * scale)


def _assert_same_change(new: dict, old: dict, scale: float) -> None:
    assert (new["var_date"], new["measure"], new["positions_not_carried"]) == (old["var_date"], old["measure"], old["positions_not_carried"])
    assert new["scopes"].keys() == old["scopes"].keys()
    for scope, row in old["scopes"].items():
        for step, value in row.items():
            assert new["scopes"][scope][step] == pytest.approx(value, abs=TOLERANCE * scale), (scope, step)
    for key, value in old["sampling_noise"].items():
        assert new["sampling_noise"][key] == pytest.approx(value, rel=1e-9, abs=TOLERANCE * scale), key


def _options_last(positions: pa.Table) -> pa.Table:
    """The linear positions, then the options: a first unit without a single option."""
    is_option = pc.equal(positions["instrument_type"], "option")
    return pa.concat_tables([positions.filter(pc.invert(is_option)), positions.filter(is_option)])


def _linear_count(positions: pa.Table) -> int:
    return int(pc.sum(pc.not_equal(positions["instrument_type"], "option")).as_py())


SPLITS = {
    # name: (how the previous run's positions are ordered, its units' sizes, tonight's unit count)
    "one unit, one unit tonight": (None, lambda n: [n], 1),
    "units of 100, as many tonight": (None, lambda n: [100] * (n // 100) + ([n % 100] if n % 100 else []), 5),
    "uneven units, two tonight": (None, lambda n: [7, 150, 1, n - 158], 2),
    "two units, five tonight (three shares empty)": (None, lambda n: [n // 2, n - n // 2], 5),
    "a unit without options": (_options_last, None, 3),
}


def _split(name: str, positions: pa.Table) -> tuple[list[pa.Table], int]:
    order, sizes, tonight_units = SPLITS[name]
    ordered = order(positions) if order else positions
    if sizes is None:  # the linear positions in a unit of their own, the options in two
        linear = _linear_count(ordered)
        sizes_of = [linear, (ordered.num_rows - linear) // 2, ordered.num_rows - linear - (ordered.num_rows - linear) // 2]
    else:
        sizes_of = sizes(ordered.num_rows)
    return _units(ordered, sizes_of), tonight_units


@pytest.mark.parametrize("split", list(SPLITS))
@pytest.mark.parametrize("day", ["complete", "a factor without a move and a suspect last price"])
def test_the_summed_unit_parts_give_the_whole_books_backtest_and_explanation(two_nights, split: str, day: str) -> None:
    previous_market, previous_positions, tonight, pnl = two_nights
    units, tonight_units = _split(split, previous_positions)
    previous = _run_book(previous_market, pa.concat_tables(units))  # the previous run: its units in order
    untrusted: list[str] = []
    if day != "complete":
        used = sorted(name for name in set(previous_positions["underlying"].to_pylist()) if name.startswith("EQ_"))
        tonight, pnl = _without(tonight, used[0])  # tonight's file lacks a stock yesterday's book held: not carried, no move
        untrusted = [used[1]]
    moves = tonight.market
    record = _record(previous)
    scale = float(np.abs(pnl).sum(axis=0).max())
    old_backtest = backtest_entry(record, previous, moves, None, untrusted)
    old_change = explain_var_change(record, previous, tonight, _tonight_var(tonight, pnl), pnl.sum(axis=0))
    assert old_backtest["complete"] is (day == "complete")
    assert (old_change["positions_not_carried"] > 0) is (day != "complete")

    sums = _sums_of_parts(units, previous, tonight, moves, untrusted, tonight_units)
    assert sums.unusable_for("previous-run", len(units)) is None
    _assert_same_backtest(sums.backtest(record, tonight.market.business_date, None, untrusted), old_backtest, scale)
    _assert_same_change(sums.explain(record, _tonight_var(tonight, pnl), pnl.sum(axis=0)), old_change, scale)


def test_the_splits_hold_what_they_say(two_nights) -> None:
    """Every split the test above uses exists as named: a unit without options, empty shares."""
    _, previous_positions, _, _ = two_nights
    units, tonight_units = _split("a unit without options", previous_positions)
    assert units[0].num_rows and "option" not in units[0]["instrument_type"].to_pylist()
    units, tonight_units = _split("two units, five tonight (three shares empty)", previous_positions)
    assert sum(1 for share in share_of_units(len(units), tonight_units) if not share) == 3
    assert len(_split("units of 100, as many tonight", previous_positions)[0]) == 5


def test_the_parts_are_used_only_when_they_cover_the_night_the_report_backtests(two_nights) -> None:
    previous_market, previous_positions, tonight, _ = two_nights
    units = _units(previous_positions, [200, previous_positions.num_rows - 200])
    previous = _run_book(previous_market, previous_positions)
    sums = _sums_of_parts(units, previous, tonight, tonight.market, [], 2)
    assert sums.unusable_for("previous-run", 2) is None
    assert "another-run" in sums.unusable_for("another-run", 2)  # the report backtests another night
    assert "0 to 2" in sums.unusable_for("previous-run", 3)  # the previous run has a unit no part covers
    twice = _sums_of_parts(units, previous, tonight, tonight.market, [], 2)
    with np.load(_saved({"pnl": np.zeros(1)})) as stored:
        twice.add(stored, 2)  # a unit of an earlier release, without a part
    assert "holds no part" in twice.unusable_for("previous-run", 2)


def _saved(arrays: dict) -> io.BytesIO:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    buffer.seek(0)
    return buffer


def _same_model(found, expected) -> bool:
    arrays = ("cholesky", "keys", "lower", "draw_rows")
    same = all(getattr(found, name).tobytes() == getattr(expected, name).tobytes() for name in arrays)
    return same and found.covariance.matrix.tobytes() == expected.covariance.matrix.tobytes() and found.covariance.describe() == expected.covariance.describe()


EWMA = dataclasses.replace(PARAMETERS, covariance="ewma")


@pytest.mark.parametrize(
    ("previous", "tonight", "shared"),
    [
        (PARAMETERS, dataclasses.replace(PARAMETERS, seed=11, scenarios=3_000, rate=0.05), True),  # another night's seed and rates: the same covariance
        (PARAMETERS, EWMA, False),
        (EWMA, dataclasses.replace(EWMA, ewma_lambda=0.97), False),
        (PARAMETERS, dataclasses.replace(PARAMETERS, shrinkage="ledoit-wolf"), False),
    ],
    ids=["same-covariance", "ewma", "another-lambda", "shrunk"],
)
def test_the_previous_market_with_tonights_settings_is_built_once_when_the_covariance_settings_agree(two_nights, previous, tonight, shared: bool) -> None:
    previous_market = two_nights[0]
    order = sorted(previous_market.factors, reverse=True)  # a draw order of its own
    model, recomputed = previous_models(previous_market, previous, tonight, order)
    # whichever way it comes, each is the model a fresh build gives, to the last bit
    assert _same_model(model, risk_model(previous_market, previous, order)) and _same_model(recomputed, risk_model(previous_market, tonight, order))
    assert (recomputed is model) == shared  # built once only where the covariance is the same


def test_share_of_units_gives_each_previous_unit_once_in_order() -> None:
    for previous_units, units in [(1, 1), (5, 5), (7, 3), (2, 5), (3, 0), (0, 4)]:
        shares = share_of_units(previous_units, units)
        assert len(shares) == units
        assert [unit for share in shares for unit in share] == (list(range(previous_units)) if units else [])
        sizes = [len(share) for share in shares]
        assert max(sizes, default=0) - min(sizes, default=0) <= 1 or previous_units < units


def test_a_longer_horizon_keeps_its_one_day_figures_from_the_units(two_nights) -> None:
    """The one-day VaR a ten-day night keeps for the next backtest: summed from the units' one-day
    P&L, the whole book's one-day figures."""
    from riskbatch.validation.history import figures_of, one_day_figures, one_day_pnl

    _, _, tonight, _ = two_nights
    ten_day = dataclasses.replace(tonight, parameters=dataclasses.replace(PARAMETERS, horizon_days=10))
    whole = one_day_figures(ten_day)
    units = _units(tonight.positions, [123, tonight.positions.num_rows - 123])
    total: dict[str, np.ndarray] = {}
    for unit in units:
        book = build_book(unit, tonight.market, ten_day.parameters)
        for name, row in zip(book.portfolio_ids, one_day_pnl(book, tonight.market, ten_day.parameters, tonight.model), strict=True):
            total[name] = total.get(name, 0.0) + row
    names = sorted(total)
    firm, portfolios = figures_of(names, np.array([total[name] for name in names]))
    scale = float(np.abs(list(total.values())).sum(axis=0).max())
    assert firm["var_99"] == pytest.approx(whole[0]["var_99"], abs=TOLERANCE * scale)
    for name, values in whole[1].items():
        assert portfolios[name]["var_99"] == pytest.approx(values["var_99"], abs=TOLERANCE * scale)


# --- the jobs themselves: ingestion names the night, the workers write the parts, the report sums them


@pytest.fixture
def aws_night(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from test.jobs.stack_layout import mocked_night

    with mocked_night(tmp_path, monkeypatch, 2000, 512) as night:
        yield night


def _ingest(night, folder: Path, unit_positions: int) -> str:
    from riskbatch.jobs.ingestion import ingest

    night.settings = dataclasses.replace(night.settings, unit_positions=unit_positions)
    keys = night.upload(folder, folder.name)
    return ingest(night.settings.input_bucket, keys[1], night.settings, night.s3, night.sqs, night.sns).run_id


def _compute(night) -> None:
    from riskbatch.jobs.risk_calculation import RiskCalculation
    from test.jobs.jobs.test_pipeline import drain

    drain(night, night.settings.risk_work_queue_url, RiskCalculation(night.s3, night.events, night.settings.event_bus_name))


def _report(night) -> None:
    import json

    from riskbatch.jobs.report_generation import ReportGeneration
    from test.jobs.jobs.test_pipeline import drain

    for message in night.messages(night.settings.report_queue_url):
        night.sqs.send_message(QueueUrl=night.settings.report_queue_url, MessageBody=json.dumps(message))
    drain(night, night.settings.report_queue_url, ReportGeneration(night.s3, night.sns, night.settings.alert_topic_arn))


def _figures_the_old_way(night, run: str, previous_run: str) -> tuple[dict, dict, dict]:
    """The report's backtest and explanation from the previous night's whole book, as the report
    computed them before the workers did (and still does when the parts do not cover the night)."""
    import json

    from riskbatch.aws.layout import manifest_key, report_keys
    from riskbatch.aws.storage import get_json
    from riskbatch.model.run_inputs import load_file_market, load_run_book

    bucket = night.settings.output_bucket
    manifest, previous_manifest = (get_json(night.s3, bucket, manifest_key(r)) for r in (run, previous_run))
    tonight, previous = load_run_book(night.s3, bucket, manifest), load_run_book(night.s3, bucket, previous_manifest)
    record = get_json(night.s3, bucket, f"history/{previous_manifest['business_date']}.json")
    figures = json.loads(night.s3.get_object(Bucket=bucket, Key=report_keys(manifest["business_date"], run)[1])["Body"].read())
    untrusted = manifest["data_quality"].get("untrusted_last_day", [])
    backtest = backtest_entry(record, previous, load_file_market(night.s3, bucket, manifest), manifest.get("actual_pnl"), untrusted)
    tonight_var = {"firm": figures["firm"]["var_99"], **{name: values["var_99"] for name, values in figures["portfolios"].items()}}
    firm_pnl = portfolio_pnl(tonight.book, tonight.market, tonight.parameters, tonight.model).sum(axis=0)
    return figures, backtest, explain_var_change(record, previous, tonight, tonight_var, firm_pnl)


def _events(text: str, name: str) -> list[dict]:
    import json

    return [event for event in (json.loads(line) for line in text.splitlines() if line.startswith("{")) if event["event"] == name]


def test_the_report_publishes_the_whole_books_figures_from_the_workers_parts(aws_night, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Two nights split differently (units of 120 positions, then of 50): tonight's workers
    revalue the previous night's units beside their own, and the published backtest and explanation
    are those of the previous night's whole book."""
    from riskbatch.aws.layout import manifest_key, result_key
    from riskbatch.aws.storage import get_bytes, get_json

    folders = write_nights(tmp_path, SampleSpec(positions=300, factors=40, days=260, portfolios=3, option_share=0.3), 2)
    first = _ingest(aws_night, folders[0], 120)
    _compute(aws_night)
    _report(aws_night)
    second = _ingest(aws_night, folders[1], 50)
    manifest = get_json(aws_night.s3, aws_night.settings.output_bucket, manifest_key(second))
    assert manifest["previous_night"] == {"business_date": folders[0].name, "run_id": first}
    shares = [unit["previous_units"] for unit in manifest["units"]]
    assert [unit for share in shares for unit in share] == [0, 1, 2] and [] in shares  # three units yesterday, six tonight
    _compute(aws_night)
    capsys.readouterr()
    _report(aws_night)
    logged = capsys.readouterr().err
    assert _events(logged, "previous_night_from_units") and not _events(logged, "previous_night_revalued_by_the_report")
    with np.load(io.BytesIO(get_bytes(aws_night.s3, aws_night.settings.output_bucket, result_key(second, 0)))) as result:
        assert str(result["previous_run_id"]) == first and result["previous_recomputed_pnl"].shape[1] == 2_000  # beside the unit's P&L

    figures, backtest, change = _figures_the_old_way(aws_night, second, first)
    scale = figures["firm"]["var_99"]
    _assert_same_backtest(figures["backtest"]["tonight"], backtest, scale)
    _assert_same_change(figures["var_change"], change, scale)


def test_a_night_ingested_before_the_previous_one_was_reported_is_revalued_by_the_report(aws_night, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Ingestion names no previous night when none was reported yet; the report finds one by the
    time it runs, and revalues that night's whole book itself, with the same figures."""
    from riskbatch.aws.layout import manifest_key
    from riskbatch.aws.storage import get_json

    folders = write_nights(tmp_path, SampleSpec(positions=300, factors=40, days=260, portfolios=3, option_share=0.3), 2)
    first = _ingest(aws_night, folders[0], 120)
    _compute(aws_night)
    second = _ingest(aws_night, folders[1], 120)  # the first night's report has not run yet
    assert get_json(aws_night.s3, aws_night.settings.output_bucket, manifest_key(second))["previous_night"] is None
    _report(aws_night)  # the first night's
    _compute(aws_night)
    capsys.readouterr()
    _report(aws_night)
    revalued = _events(capsys.readouterr().err, "previous_night_revalued_by_the_report")
    assert revalued and "holds no part of the previous night" in revalued[0]["reason"]
    figures, backtest, change = _figures_the_old_way(aws_night, second, first)
    _assert_same_backtest(figures["backtest"]["tonight"], backtest, figures["firm"]["var_99"])
    _assert_same_change(figures["var_change"], change, figures["firm"]["var_99"])


def test_a_previous_night_the_workers_cannot_read_never_stops_tonights_pnl(aws_night, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The previous night is optional to the risk workers: when its market cannot be read, every
    unit still writes tonight's P&L (no parts), the worker says why, and the report revalues the
    previous night itself or leaves the backtest out."""
    from riskbatch.aws.layout import report_keys
    from riskbatch.validation import previous_night

    folders = write_nights(tmp_path, SampleSpec(positions=300, factors=40, days=260, portfolios=3, option_share=0.3), 2)
    _ingest(aws_night, folders[0], 120)
    _compute(aws_night)
    _report(aws_night)
    second = _ingest(aws_night, folders[1], 120)

    def unreadable(*_arguments, **_keywords):
        raise RuntimeError("the previous market could not be read")

    original, previous_night.run_market = previous_night.run_market, unreadable
    try:
        capsys.readouterr()
        _compute(aws_night)
    finally:
        previous_night.run_market = original
    unavailable = _events(capsys.readouterr().err, "previous_night_unavailable")
    assert unavailable and "could not be read" in unavailable[0]["error"]
    _report(aws_night)
    logged = capsys.readouterr().err
    assert _events(logged, "previous_night_revalued_by_the_report")
    assert aws_night.s3.head_object(Bucket=aws_night.settings.output_bucket, Key=report_keys(folders[1].name, second)[0])


def test_a_previous_night_that_failed_to_load_is_tried_again_later_not_given_up_for_the_workers_life(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker lives for many nights' units: one failed read of the previous night (a throttled
    request, a file landing late) must not leave every later unit without its parts. The failure
    is retried once PREVIOUS_RETRY_SECONDS have passed (the clock pinned here), and a success kept."""
    from riskbatch.jobs import risk_calculation as risk_job

    now = [1_000.0]
    handler = risk_job.RiskCalculation(None, None, None, scenario_budget_mb=0, clock=lambda: now[0])
    calls: list[float] = []
    loaded = object()

    def load(*_arguments):
        calls.append(now[0])
        if len(calls) == 1:
            raise RuntimeError("SlowDown: please reduce your request rate")
        return loaded

    monkeypatch.setattr(risk_job, "load_previous_night", load)
    arguments = ("bucket", "runs/tonight/manifest.json", {"run_id": "tonight"}, None, None)
    assert handler._previous_night(*arguments) is None and len(calls) == 1
    now[0] += risk_job.PREVIOUS_RETRY_SECONDS - 1.0
    assert handler._previous_night(*arguments) is None and len(calls) == 1, "not retried at every unit"
    now[0] += 1.0
    assert handler._previous_night(*arguments) is loaded and len(calls) == 2
    now[0] += 10 * risk_job.PREVIOUS_RETRY_SECONDS
    assert handler._previous_night(*arguments) is loaded and len(calls) == 2, "a loaded night is kept"


def test_the_scenario_cache_keeps_what_fits_and_never_evicts_a_set_in_use() -> None:
    """Sets that do not fit beside those kept are not kept (each unit draws them again); a new
    run's first set drops every other run's."""
    from riskbatch.inputs.synthetic import market_from_covariance
    from riskbatch.jobs.risk_calculation import ScenarioCache
    from riskbatch.model.engine import conversion_of

    market = market_from_covariance(np.eye(3) * 1e-4, days=260)
    parameters = ModelParameters(scenarios=1_000, block_size=500, seed=1, horizon_days=10)  # a longer horizon: a one-day set too
    model, conversion = risk_model(market, parameters), conversion_of(market, "USD")
    one_set = 2 * 1_000 * 3 * 8
    cache = ScenarioCache(2 * one_set)
    tonight = cache.source(("run-1",), parameters, model, conversion)
    one_day = cache.source(("run-1",), dataclasses.replace(parameters, horizon_days=1), model, conversion)
    assert tonight is not None and one_day is not None
    assert tonight(0) is tonight(0)  # drawn once, then kept
    assert cache.source(("previous", "run-1"), parameters, model, conversion) is None  # no room: not kept, nothing evicted
    assert cache.source(("run-1",), parameters, model, conversion)(0) is tonight(0)
    assert cache.source(("run-2",), parameters, model, conversion) is not None
    assert all(key[-2] == "run-2" for key in cache.sets)

"""make bench's report share: each figure's denominator is the work its wording names."""

from riskbatch_platform.measurement.bench import report_share_lines

TIMINGS = {
    "risk: scenario P&L, 80 units": 8.0,
    "risk: the previous night's backtest and explanation revaluations, 80 units": 13.9,
    "report: the units' results summed": 0.1,
    "report: figures and ES breakdown": 2.3,
    "report: historical and stressed VaR": 0.24,
    "report: backtest and day-over-day explanation, from the sums": 0.0,
}
REPORT = 0.1 + 2.3 + 0.24


def test_against_all_the_risk_work():
    whole, _ = report_share_lines(TIMINGS)
    assert whole.startswith(f"report work / risk work = {REPORT / (8.0 + 13.9):.2f} ")


def test_the_strict_reading_is_against_tonights_pnl_and_says_what_it_leaves_out():
    _, strict = report_share_lines(TIMINGS)
    assert strict.startswith(f"report work / tonight's P&L alone = {REPORT / 8.0:.2f} ")
    assert "previous night's revaluations left out" in strict
    assert "no reads, PDF or writes" in strict  # one process: the report job's I/O is the containers part's

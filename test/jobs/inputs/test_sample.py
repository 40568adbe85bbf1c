"""The sample book over a year of nights: its options roll before they expire, as a desk's do."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.csv as pa_csv

from riskbatch.inputs.business_days import business_days_ending
from riskbatch.inputs.sample import SampleSpec, write_nights

LAST_NIGHT = dt.date(2026, 12, 4)
YEAR = 252


def test_a_year_on_the_book_keeps_its_options_alive_but_tonights_one(tmp_path: Path) -> None:
    first = business_days_ending(LAST_NIGHT, YEAR)[0]
    spec = SampleSpec(positions=400, factors=40, days=60, portfolios=3, business_date=first)
    (folder,) = write_nights(tmp_path, spec, YEAR, first_written=YEAR - 1)
    assert folder.name == LAST_NIGHT.isoformat()
    rows = pa_csv.read_csv(folder / "positions.csv").to_pylist()
    options = [row for row in rows if row["instrument_type"] == "option"]
    ended = [row["position_id"] for row in options if row["expiry"] <= LAST_NIGHT]
    # the sample's one deliberate option expiring tonight (excluded and listed), no other
    assert len(options) > 20 and len(ended) == 1, f"{len(ended)} of {len(options)} options expired or expiring"
    assert [row["expiry"] for row in options if row["position_id"] in ended] == [LAST_NIGHT]

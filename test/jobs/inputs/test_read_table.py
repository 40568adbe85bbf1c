"""A night's CSV file is parsed once (a month-end market file holds 300,000 rows), each expected column
in its type, a column the file lacks left for the loaders to name, an unexpected one as Arrow reads it."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest

from riskbatch.inputs import files
from riskbatch.inputs.files import MARKET_COLUMNS, POSITION_COLUMNS, InputError, read_table

MARKET = b"date,factor,price,source\n2026-11-24,EQ_1,101.5,vendor\n2026-11-25,EQ_1,,vendor\n"


def test_a_csv_file_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    parses, read_csv = [], pa_csv.read_csv

    def counted(*arguments, **keywords):
        parses.append(arguments)
        return read_csv(*arguments, **keywords)

    monkeypatch.setattr(files.pa_csv, "read_csv", counted)
    read_table(MARKET, "market.csv", MARKET_COLUMNS)
    assert len(parses) == 1


def test_expected_columns_come_in_their_types_and_missing_ones_stay_missing() -> None:
    table = read_table(MARKET, "market.csv", MARKET_COLUMNS)
    assert table.column_names == ["date", "factor", "price", "source"]  # no currency or dividend_yield column invented
    assert table.schema.field("date").type == pa.date32() and table.schema.field("price").type == pa.float64()
    assert table.schema.field("source").type == pa.string()
    assert table.to_pylist()[1] == {"date": dt.date(2026, 11, 25), "factor": "EQ_1", "price": None, "source": "vendor"}


def test_a_column_typed_as_text_keeps_its_text_even_where_it_reads_as_a_number() -> None:
    text = b"portfolio_id,position_id,instrument_type,underlying,quantity\n007,1,equity,EQ_1,10\n"
    row = read_table(text, "positions.csv", POSITION_COLUMNS).to_pylist()[0]
    assert row["portfolio_id"] == "007" and row["position_id"] == "1" and row["quantity"] == 10.0


def test_a_value_not_of_its_columns_type_makes_the_file_unreadable() -> None:
    with pytest.raises(InputError) as refused:
        read_table(b"date,factor,price\n2026-11-25,EQ_1,ten\n", "market.csv", MARKET_COLUMNS)
    assert refused.value.problems[0].startswith("unreadable: ")

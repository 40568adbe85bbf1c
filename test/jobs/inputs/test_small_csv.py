"""The small optional CSV files beside the night's (second_source.csv, actual_pnl.csv, limits.csv) are read by
one reader: every problem of a file is named, the line number counts the header as line 1."""

from __future__ import annotations

import pyarrow as pa
import pytest

from riskbatch.inputs.files import InputError
from riskbatch.inputs.second_source import parse_second_source
from riskbatch.inputs.small_csv import read_rows


def test_rows_come_typed_with_their_line_numbers() -> None:
    rows = read_rows(b"factor,price\nEQ_1,12\nEQ_2,\n", "f.csv", {"factor": None, "price": None})
    assert rows == [(2, {"factor": "EQ_1", "price": 12}), (3, {"factor": "EQ_2", "price": None})]


def test_every_missing_column_is_named_in_the_order_asked() -> None:
    with pytest.raises(InputError) as refused:
        read_rows(b"other\n1\n", "f.csv", {"factor": None, "price": None})
    assert refused.value.file == "f.csv" and refused.value.problems == ["missing column factor", "missing column price"]


def test_a_value_that_is_not_of_its_type_makes_the_file_unreadable() -> None:
    with pytest.raises(InputError) as refused:
        read_rows(b"factor,price\nEQ_1,twelve\n", "f.csv", {"factor": pa.string(), "price": pa.float64()})
    assert refused.value.problems[0].startswith("unreadable: ")


def test_a_second_source_file_is_read() -> None:
    assert parse_second_source(b"factor,price\nEQ_1,101.5\nFX_EURUSD,1.08\n", "second_source.csv") == {"EQ_1": 101.5, "FX_EURUSD": 1.08}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (b"factor\nEQ_1\n", "missing column price"),
        (b"factor,price\nEQ_1,0\n", "line 2: a factor and a positive finite price are needed"),
        (b"factor,price\nEQ_1,inf\n", "line 2: a factor and a positive finite price are needed"),
        (b"factor,price\n,5\n", "line 2: a factor and a positive finite price are needed"),
        (b"factor,price\nEQ_1,1\nEQ_1,2\n", "line 3: a second row for EQ_1"),
    ],
    ids=[
        "a missing column is named",
        "a zero price is refused",
        "an infinite price is refused",
        "a row without a factor is refused",
        "a second row for a factor is refused",
    ],
)
def test_a_bad_second_source_file_names_every_problem(text: bytes, problem: str) -> None:
    with pytest.raises(InputError) as refused:
        parse_second_source(text, "second_source.csv")
    assert problem in refused.value.problems, refused.value.problems


def test_a_header_that_is_not_utf8_makes_the_file_unreadable_not_a_traceback() -> None:
    # before: UnicodeDecodeError out of pyarrow's column names, a traceback instead of the quarantine report
    with pytest.raises(InputError) as refused:
        read_rows(b"\xfffactor,price\nEQ_1,12\n", "f.csv", {"factor": None, "price": None})
    assert refused.value.problems[0].startswith("unreadable: ")


def test_rows_of_another_width_can_be_set_apart_keeping_every_line_number() -> None:
    misshapen: list[tuple[int, str]] = []
    rows = read_rows(b"factor,price\nEQ_1,12,3\nEQ_2,4\nEQ_3\nEQ_4,5\n", "f.csv", {"factor": None, "price": None}, misshapen)
    assert misshapen == [(2, "EQ_1,12,3"), (4, "EQ_3")] and rows == [(3, {"factor": "EQ_2", "price": 4}), (5, {"factor": "EQ_4", "price": 5})]
    with pytest.raises(InputError, match="unreadable"):  # without the list, as before: the file is unreadable
        read_rows(b"factor,price\nEQ_1,12,3\n", "f.csv", {"factor": None, "price": None})

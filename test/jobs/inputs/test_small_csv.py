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


def test_line_numbers_are_the_files_after_a_blank_line_and_a_quoted_two_line_field() -> None:
    # before: rows were counted from 2, but the reader skips a blank line and reads a quoted field across two lines as
    # one row: every row after either was named a line too early (on page one, in the quarantine record and the alert)
    misshapen: list[tuple[int, str]] = []
    data = b'factor,price\nEQ_1,1\n\nEQ_2,2\nEQ_3,3,9\n"EQ\n4",4\nEQ_5,5,9\nEQ_6,6\n'
    rows = read_rows(data, "f.csv", {"factor": None, "price": None}, misshapen)
    assert [(line, row["factor"]) for line, row in rows] == [(2, "EQ_1"), (4, "EQ_2"), (6, "EQ\n4"), (9, "EQ_6")]
    assert misshapen == [(5, "EQ_3,3,9"), (8, "EQ_5,5,9")]


def test_line_numbers_count_crlf_line_ends_and_a_leading_byte_order_mark_as_a_text_editor_does() -> None:
    rows = read_rows("\ufefffactor,price\r\nEQ_1,1\r\n\r\nEQ_2,2\r\n".encode(), "f.csv", {"factor": None, "price": None})
    assert [(line, row["factor"]) for line, row in rows] == [(2, "EQ_1"), (4, "EQ_2")]


def test_a_file_the_line_reader_cannot_follow_is_numbered_as_its_rows_count() -> None:
    # a field longer than Python's csv field limit (128 KiB by default): the rows keep the count from 2 rather than no number
    rows = read_rows(b"factor,price\nEQ_1,1\n" + b"X" * 200_000 + b",2\n", "f.csv", {"factor": None, "price": None})
    assert [line for line, _ in rows] == [2, 3]

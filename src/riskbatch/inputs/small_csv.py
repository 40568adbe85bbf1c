"""The small optional CSV files beside the night's (second_source.csv, corporate_actions.csv, actual_pnl.csv, limits.csv): a
header row naming the columns, read whole, every problem found named for the quarantine report."""

from __future__ import annotations

import csv
import io
import itertools
import math
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv

from riskbatch.inputs.files import InputError


def read_rows(
    data: bytes, name: str, columns: dict[str, pa.DataType | None], misshapen: list[tuple[int, str]] | None = None
) -> list[tuple[int, dict[str, Any]]]:
    """Each row with the line of the file it starts on (line 1 is the header; a blank line and a quoted field's line
    breaks count, as in a text editor), its columns typed as `columns`
    says (None: as read); an unreadable file, or every column of `columns` it lacks, is an InputError.
    `misshapen`, when given, receives each row of another number of fields than the header's (its line
    number and text) instead of the whole file being unreadable: a file whose rows are kept apart one by one."""
    types = {column: kind for column, kind in columns.items() if kind is not None}
    found: list[tuple[int, str]] = []

    def keep_apart(row: Any) -> str:
        found.append((row.number, row.text))
        return "skip"

    parse = pa_csv.ParseOptions(invalid_row_handler=keep_apart if misshapen is not None else None)
    read = pa_csv.ReadOptions(use_threads=misshapen is None)  # one thread numbers every row it sets apart
    try:
        table = pa_csv.read_csv(io.BytesIO(data), read_options=read, parse_options=parse, convert_options=pa_csv.ConvertOptions(column_types=types))
        names = table.column_names  # a header that is not UTF-8 fails only here
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError) as error:
        raise InputError(name, [f"unreadable: {error}"]) from None
    problems = [f"missing column {column}" for column in columns if column not in names]
    if problems:
        raise InputError(name, problems)
    kept, apart = _file_lines(data, len(names))
    if len(kept) != table.num_rows or len(apart) != len(found):  # read otherwise than pyarrow did: number its rows as it counts them
        apart = [number for number, _ in found]
        skipped = set(apart)
        kept = list(itertools.islice((number for number in itertools.count(2) if number not in skipped), table.num_rows))
    if misshapen is not None:
        misshapen += [(line, text) for line, (_, text) in zip(apart, found, strict=True)]
    return list(zip(kept, table.to_pylist(), strict=True))


def _file_lines(data: bytes, width: int) -> tuple[list[int], list[int]]:
    """The line of the file each row after the header starts on, (those of `width` fields, the others): pyarrow skips
    empty lines and reads a quoted field across lines as one, so counting its rows is not counting the file's lines."""
    text = data.decode("utf-8-sig", errors="replace")  # the line breaks are ASCII: an undecodable byte moves none
    kept: list[int] = []
    apart: list[int] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    header, before = False, 0  # whether the header was read; the line the previous row ended on
    try:
        for fields in reader:
            start, before = before + 1, reader.line_num
            if fields and header:
                (kept if len(fields) == width else apart).append(start)
            header = header or bool(fields)
    except csv.Error:
        return [], []
    return kept, apart


def value_per_key(data: bytes, name: str, key: str, value: str, positive: bool = False) -> dict[str, float]:
    """A file of one `value` per `key` (a string column, then a number column): the values by key. A row
    without a key, without a finite value (or a positive one, when `positive`), or a second row for a key
    is a problem; every problem is named (InputError)."""
    needed = f"a {key} and a {'positive ' if positive else ''}finite {value} are needed"
    problems: list[str] = []
    found: dict[str, float] = {}
    for number, row in read_rows(data, name, {key: pa.string(), value: pa.float64()}):
        label, amount = row[key], row[value]
        if not label or amount is None or not math.isfinite(amount) or (positive and amount <= 0):
            problems.append(f"line {number}: {needed}")
        elif label in found:
            problems.append(f"line {number}: a second row for {label}")
        else:
            found[label] = float(amount)
    if problems:
        raise InputError(name, problems)
    return found

"""corporate_actions.csv is read at the door row by row: each bad row quarantined on its own with its line and
reason, the good rows used; a file that cannot be read at all is refused whole (riskbatch.inputs.corporate_actions)."""

from __future__ import annotations

import pytest

from riskbatch.inputs.corporate_actions import CorporateAction, QuarantinedRow, confirmations, night_record, parse_corporate_actions
from riskbatch.inputs.files import InputError

HEADER = b"factor,effective_date,ratio,source\n"
RATIO = "the ratio is new shares per old share, positive, finite and not 1"


def test_a_corporate_actions_file_is_read_and_gives_the_cleaning_its_confirmations() -> None:
    read = parse_corporate_actions(HEADER + b"EQ_5,2026-06-01,2,exchange notice 123\nEQ_7,2026-07-01,0.1,vendor feed\n", "corporate_actions.csv")
    assert read.actions == [CorporateAction("EQ_5", "2026-06-01", 2.0, "exchange notice 123"), CorporateAction("EQ_7", "2026-07-01", 0.1, "vendor feed")]
    assert read.quarantined == []
    assert confirmations(read.actions) == {"EQ_5": {"2026-06-01": 2.0}, "EQ_7": {"2026-07-01": 0.1}}


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (b"EQ_6,2026-06-01,0,notice", f"EQ_6: {RATIO}"),
        (b"EQ_6,2026-06-01,-2,notice", f"EQ_6: {RATIO}"),
        (b"EQ_6,2026-06-01,1,notice", f"EQ_6: {RATIO}"),
        (b"EQ_6,2026-06-01,inf,notice", f"EQ_6: {RATIO}"),
        (b"EQ_6,2026-06-01,two,notice", f"EQ_6: {RATIO}"),
        (b"EQ_6,,2,notice", "a factor, an effective_date (YYYY-MM-DD), a ratio and a source are needed"),
        (b"EQ_6,2026-06-01,2,", "a factor, an effective_date (YYYY-MM-DD), a ratio and a source are needed"),
        (b"EQ_6,first of June,2,notice", "EQ_6: the effective_date 'first of June' is no date (YYYY-MM-DD)"),
        (b"EQ_6,2026-02-30,2,notice", "EQ_6: the effective_date '2026-02-30' is no date (YYYY-MM-DD)"),
        (b"FX_EURUSD,2026-06-01,2,notice", "FX_EURUSD is an exchange rate: a rate has no shares to split"),
        (b"EQ_6,2026-06-01,2,notice, page 4", "not the header's 4 fields"),
    ],
    ids=[
        "a zero ratio",
        "a negative ratio",
        "a ratio of 1",
        "an infinite ratio",
        "a ratio that is no number",
        "no date",
        "no source",
        "a date that is no date",
        "a day that does not exist",
        "an fx factor",
        "a field too many",
    ],
)
def test_a_malformed_row_is_quarantined_with_its_line_and_the_good_rows_are_used(row: bytes, problem: str) -> None:
    # before: the file was refused whole (InputError), its good rows confirming nothing
    good = [b"EQ_%d,2026-06-01,2,exchange notice" % number for number in range(1, 5)]
    read = parse_corporate_actions(HEADER + b"\n".join([*good[:2], row, *good[2:]]) + b"\n", "corporate_actions.csv")
    assert [action.factor for action in read.actions] == ["EQ_1", "EQ_2", "EQ_3", "EQ_4"]
    (quarantined,) = read.quarantined
    assert (quarantined.line, quarantined.text) == (4, row.decode()) and quarantined.reason.startswith(problem), quarantined


def test_records_of_a_factor_on_a_day_that_disagree_are_all_quarantined_and_a_repeat_is_used_once() -> None:
    text = b"EQ_5,2026-06-01,2,notice\nEQ_6,2026-06-01,2,notice\nEQ_5,2026-06-01,3,other\nEQ_6,2026-06-01,2,vendor\nEQ_7,2026-06-01,4,notice\n"
    read = parse_corporate_actions(HEADER + text, "c.csv")
    assert read.actions == [CorporateAction("EQ_6", "2026-06-01", 2.0, "notice"), CorporateAction("EQ_7", "2026-06-01", 4.0, "notice")]
    assert [(row.line, row.reason) for row in read.quarantined] == [
        (2, "the records for EQ_5 on 2026-06-01 disagree (2 on line 2, 3 on line 4): none is used"),
        (4, "the records for EQ_5 on 2026-06-01 disagree (2 on line 2, 3 on line 4): none is used"),
        (5, "a second record for EQ_6 on 2026-06-01, as line 3's (used once)"),
    ]


def test_line_numbers_count_the_rows_set_apart() -> None:
    read = parse_corporate_actions(HEADER + b"EQ_1,2026-06-01,2,a,b\nEQ_2,2026-06-01\nEQ_3,2026-06-01,0,n\nEQ_4,2026-06-01,2,n\n", "c.csv")
    misshapen = "not the header's 4 fields"
    assert [(row.line, row.reason.split(":")[0]) for row in read.quarantined] == [(2, misshapen), (3, misshapen), (4, "EQ_3")]
    assert read.actions == [CorporateAction("EQ_4", "2026-06-01", 2.0, "n")]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (b"factor,effective_date,ratio\nEQ_5,2026-06-01,2\n", "missing column source"),
        (b"", "unreadable"),
        (b"\xff\xfe\x00f\x00a\x00c\x00t\x00o\x00r\x00\n", "unreadable"),
    ],
    ids=["a missing column", "an empty file", "not text"],
)
def test_a_file_that_cannot_be_read_at_all_is_still_refused_whole(text: bytes, problem: str) -> None:
    with pytest.raises(InputError) as refused:
        parse_corporate_actions(text, "corporate_actions.csv")
    assert refused.value.file == "corporate_actions.csv" and refused.value.problems[0].startswith(problem), refused.value.problems


def test_the_runs_record_says_what_the_night_had() -> None:
    source = {"uri": "s3://in/incoming/2026-11-20/corporate_actions.csv", "sha256": "ab"}
    assert "no corporate actions tonight" in night_record(None, None, "2026-11-20")["note"]
    assert night_record(None, None, "2026-11-20")["records"] == []
    assert "refused (2 problem(s), quarantined)" in night_record(None, {**source, "rejected": ["a", "b"]}, "2026-11-20")["note"]
    read = night_record([CorporateAction("EQ_5", "2026-06-01", 2.0, "notice")], source, "2026-11-20")
    assert read["records"] == [{"factor": "EQ_5", "effective_date": "2026-06-01", "ratio": 2.0, "source": "notice"}] and read["note"].startswith("1 corporate")
    rows = [{"line": 3, "reason": "EQ_6: the ratio ...", "text": "EQ_6,2026-06-01,0,notice"}]
    partly = night_record([CorporateAction("EQ_5", "2026-06-01", 2.0, "notice")], {**source, "quarantined_rows": rows, "quarantine": "s3://out/q"}, "x")
    assert partly["quarantined"] == rows and partly["note"].endswith("; 1 row(s) quarantined, not used (s3://out/q)")
    assert QuarantinedRow(3, "why", "text").line == 3


def test_a_row_quarantined_after_a_blank_line_or_a_quoted_two_line_source_is_named_by_its_line_in_the_file() -> None:
    # before: named as line 4 in both files, the row before it on a text editor's line 4
    for data in (
        "factor,effective_date,ratio,source\nEQ_1,2026-03-02,2,x\n\nEQ_2,2026-03-02,2,x\nEQ_3,2026-03-02,abc,x\n",
        'factor,effective_date,ratio,source\nEQ_1,2026-03-02,2,"exchange, notice"\nEQ_2,2026-03-02,2,"multi\nline"\nEQ_3,2026-03-02,abc,x\n',
    ):
        read = parse_corporate_actions(data.encode(), "corporate_actions.csv")
        assert [(row.line, row.text) for row in read.quarantined] == [(5, "EQ_3,2026-03-02,abc,x")], data
        assert [action.factor for action in read.actions] == ["EQ_1", "EQ_2"]

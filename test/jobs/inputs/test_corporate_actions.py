"""corporate_actions.csv is read at the door as the other small files are: every bad row named, the
file refused whole (riskbatch.inputs.corporate_actions)."""

from __future__ import annotations

import pytest

from riskbatch.inputs.corporate_actions import CorporateAction, confirmations, night_record, parse_corporate_actions
from riskbatch.inputs.files import InputError

HEADER = b"factor,effective_date,ratio,source\n"


def test_a_corporate_actions_file_is_read_and_gives_the_cleaning_its_confirmations() -> None:
    actions = parse_corporate_actions(HEADER + b"EQ_5,2026-06-01,2,exchange notice 123\nEQ_7,2026-07-01,0.1,vendor feed\n", "corporate_actions.csv")
    assert actions == [CorporateAction("EQ_5", "2026-06-01", 2.0, "exchange notice 123"), CorporateAction("EQ_7", "2026-07-01", 0.1, "vendor feed")]
    assert confirmations(actions) == {"EQ_5": {"2026-06-01": 2.0}, "EQ_7": {"2026-07-01": 0.1}}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (b"factor,effective_date,ratio\nEQ_5,2026-06-01,2\n", "missing column source"),
        (HEADER + b"EQ_5,2026-06-01,0,notice\n", "line 2: EQ_5: the ratio is new shares per old share, positive, finite and not 1"),
        (HEADER + b"EQ_5,2026-06-01,-2,notice\n", "line 2: EQ_5: the ratio is new shares per old share, positive, finite and not 1"),
        (HEADER + b"EQ_5,2026-06-01,1,notice\n", "line 2: EQ_5: the ratio is new shares per old share, positive, finite and not 1"),
        (HEADER + b"EQ_5,2026-06-01,inf,notice\n", "line 2: EQ_5: the ratio is new shares per old share, positive, finite and not 1"),
        (HEADER + b"EQ_5,,2,notice\n", "line 2: a factor, an effective_date (YYYY-MM-DD), a ratio and a source are needed"),
        (HEADER + b"EQ_5,2026-06-01,2,\n", "line 2: a factor, an effective_date (YYYY-MM-DD), a ratio and a source are needed"),
        (HEADER + b"FX_EURUSD,2026-06-01,2,notice\n", "line 2: FX_EURUSD is an exchange rate: a rate has no shares to split"),
        (HEADER + b"EQ_5,2026-06-01,2,notice\nEQ_5,2026-06-01,3,other\n", "line 3: a second record for EQ_5 on 2026-06-01"),
    ],
    ids=["a missing column", "a zero ratio", "a negative ratio", "a ratio of 1", "an infinite ratio", "no date", "no source", "an fx factor", "a duplicate"],
)
def test_a_malformed_corporate_actions_row_is_refused_with_its_line(text: bytes, problem: str) -> None:
    with pytest.raises(InputError) as refused:
        parse_corporate_actions(text, "corporate_actions.csv")
    assert refused.value.file == "corporate_actions.csv" and any(found.startswith(problem) for found in refused.value.problems), refused.value.problems


def test_every_bad_row_is_named_and_a_date_that_is_no_date_makes_the_file_unreadable() -> None:
    with pytest.raises(InputError) as refused:
        parse_corporate_actions(HEADER + b"EQ_5,2026-06-01,0,notice\nEQ_6,2026-06-01,2,notice\nFX_EURUSD,2026-06-02,2,notice\n", "c.csv")
    assert [problem.split(":")[0] for problem in refused.value.problems] == ["line 2", "line 4"]
    with pytest.raises(InputError, match="unreadable"):
        parse_corporate_actions(HEADER + b"EQ_5,first of June,2,notice\n", "c.csv")


def test_the_runs_record_says_what_the_night_had() -> None:
    source = {"uri": "s3://in/incoming/2026-11-20/corporate_actions.csv", "sha256": "ab"}
    assert "no corporate actions tonight" in night_record(None, None, "2026-11-20")["note"]
    assert night_record(None, None, "2026-11-20")["records"] == []
    assert "refused (2 problem(s), quarantined)" in night_record(None, {**source, "rejected": ["a", "b"]}, "2026-11-20")["note"]
    read = night_record([CorporateAction("EQ_5", "2026-06-01", 2.0, "notice")], source, "2026-11-20")
    assert read["records"] == [{"factor": "EQ_5", "effective_date": "2026-06-01", "ratio": 2.0, "source": "notice"}] and read["note"].startswith("1 corporate")

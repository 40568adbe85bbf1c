"""The JSON filter patterns of CloudWatch Logs, as the stack's metric filters use them.
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html"""

from __future__ import annotations

import json

import pytest

from riskbatch_platform.analysis.metric_filter import FilterPatternError, matches

EVENT = json.dumps({"detail": {"lastStatus": "STOPPED", "stopCode": "EssentialContainerExited", "containers": [{"exitCode": 0}], "n": 2.5}})


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ('{ $.detail.lastStatus = "STOPPED" }', True),
        ('{ $.detail.lastStatus = "RUNNING" }', False),
        ('{ $.detail.lastStatus != "RUNNING" }', True),
        ("{ $.detail.containers[0].exitCode != 0 }", False),
        ("{ $.detail.containers[0].exitCode = 0 }", True),
        ("{ $.detail.n = 2.5 }", True),
        ('{ $.detail.containers[0].exitCode = "0" }', False),  # a string never equals a number
        ("{ $.detail.containers[1].exitCode != 0 }", False),  # a missing field matches neither = nor !=
        ("{ $.detail.missing = 0 }", False),
        ('{ ($.detail.lastStatus = "STOPPED") && ($.detail.stopCode = "TaskFailedToStart") }', False),
        ('{ ($.detail.lastStatus = "STOPPED") || ($.detail.stopCode = "TaskFailedToStart") }', True),
        ('{ ($.detail.lastStatus = "X") || (($.detail.stopCode = "Y") || ($.detail.containers[0].exitCode = 0)) }', True),
    ],
)
def test_json_patterns_compare_select_and_combine(pattern: str, expected: bool) -> None:
    assert matches(pattern, EVENT) is expected


def test_a_message_that_is_not_json_matches_no_json_pattern() -> None:
    assert matches('{ $.a = "b" }', "plain text") is False


@pytest.mark.parametrize("pattern", ["ERROR", '{ $.a = b }', '{ $.a = "b" ', '{ $.a = "b" ) }'])
def test_what_is_not_supported_is_refused_not_guessed(pattern: str) -> None:
    with pytest.raises(FilterPatternError):
        matches(pattern, EVENT)

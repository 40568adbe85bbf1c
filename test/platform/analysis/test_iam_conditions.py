"""The emulator's condition evaluation follows the IAM user guide ("Condition operators")."""

from __future__ import annotations

import pytest

from riskbatch_platform.analysis.iam_conditions import UnsupportedCondition, condition_holds

ARN = "arn:aws:ecs:us-east-1:123456789012:cluster/cluster-riskbatch-dev"


@pytest.mark.parametrize(
    ("condition", "context", "holds"),
    [
        ({"StringLike": {"s3:prefix": "runs/*"}}, {"s3:prefix": ["runs/r1/results/"]}, True),
        ({"StringLike": {"s3:prefix": "runs/*"}}, {"s3:prefix": ["reports/"]}, False),
        ({"StringLike": {"s3:prefix": "runs/*"}}, {}, False),  # absent key: false
        ({"StringLike": {"s3:prefix": ["runs/*", "quarantine/*"]}}, {"s3:prefix": ["quarantine/x"]}, True),
        ({"StringLike": {"s3:prefix": "runs/?"}}, {"s3:prefix": ["runs/ab"]}, False),
        ({"StringLike": {"s3:prefix": "runs/[a]"}}, {"s3:prefix": ["runs/a"]}, False),  # brackets are literal
        ({"StringEquals": {"aws:SourceAccount": "123456789012"}}, {"aws:sourceaccount": ["123456789012"]}, True),  # keys ignore case
        ({"StringEquals": {"aws:SourceAccount": "123456789012"}}, {"aws:SourceAccount": ["210987654321"]}, False),
        ({"StringNotEquals": {"aws:SourceAccount": "123456789012"}}, {}, True),  # negated, absent: true
        ({"StringEqualsIfExists": {"aws:SourceAccount": "1"}}, {}, True),
        ({"ArnEquals": {"ecs:cluster": ARN}}, {"ecs:cluster": [ARN]}, True),
        ({"ArnEquals": {"ecs:cluster": ARN}}, {"ecs:cluster": [ARN.replace("-dev", "-prod")]}, False),
        (
            {"ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:*"}},
            {"aws:SourceArn": ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:x"]},
            True,
        ),
        (
            {"ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:*"}},
            {"aws:SourceArn": ["arn:aws:cloudwatch:eu-west-1:123456789012:alarm:x"]},
            False,
        ),
        ({"ArnLike": {"aws:SourceArn": "arn:aws:events:*:*:rule/*"}}, {"aws:SourceArn": ["arn:aws:events:us-east-1:1:rule/a"]}, True),
        ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": ["false"]}, True),
        ({"Bool": {"aws:SecureTransport": False}}, {"aws:SecureTransport": ["true"]}, False),
        ({"Null": {"aws:SourceArn": "true"}}, {}, True),
        ({"Null": {"aws:SourceArn": "false"}}, {}, False),
        ({"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}, {"iam:PassedToService": ["lambda.amazonaws.com"]}, False),
        # every operator and every key must hold
        ({"StringEquals": {"a": "1", "b": "2"}}, {"a": ["1"], "b": ["3"]}, False),
        ({"StringEquals": {"a": "1"}, "StringLike": {"b": "2*"}}, {"a": ["1"], "b": ["22"]}, True),
        ({"ForAllValues:StringEquals": {"k": ["x", "y"]}}, {"k": ["x", "z"]}, False),
        ({"ForAnyValue:StringEquals": {"k": ["x", "y"]}}, {"k": ["x", "z"]}, True),
        ({"NumericLessThan": {"n": "10"}}, {"n": ["9"]}, True),
    ],
)
def test_condition(condition: dict, context: dict, holds: bool) -> None:
    assert condition_holds(condition, context) is holds


def test_an_operator_it_does_not_know_is_refused_loudly() -> None:
    with pytest.raises(UnsupportedCondition):
        condition_holds({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": ["10.1.1.1"]})

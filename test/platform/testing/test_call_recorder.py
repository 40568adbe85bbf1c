"""The call recorder (riskbatch_platform/testing/call_recorder.py): every session made inside the block reports its
calls, a paginator's and a waiter's included, once each; nothing after the block. Runs moto in-process (mock_aws)."""

from __future__ import annotations

import boto3
from moto import mock_aws

from riskbatch_platform.testing.call_recorder import recording


def test_every_session_made_inside_the_block_is_recorded_and_none_after() -> None:
    with mock_aws():
        with recording() as recorder:
            s3 = boto3.Session(region_name="us-east-1").client("s3")  # a session of its own, as each command makes
            s3.create_bucket(Bucket="recorded")
            list(s3.get_paginator("list_objects_v2").paginate(Bucket="recorded"))
            s3.get_waiter("bucket_exists").wait(Bucket="recorded")
            boto3.client("sts", region_name="us-east-1").get_caller_identity()  # boto3's default session
            s3.head_bucket(Bucket="recorded")  # the waiter's operation again: recorded once
        boto3.Session(region_name="us-east-1").client("sqs").list_queues()
        s3.list_buckets()
    assert recorder.calls == [("s3", "CreateBucket"), ("s3", "ListObjectsV2"), ("s3", "HeadBucket"), ("sts", "GetCallerIdentity")]

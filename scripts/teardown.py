#!/usr/bin/env python3
"""Delete the stack and prove that nothing carrying its suffix is left.

Lists, after deletion: ECR repositories, log groups, IAM roles, SQS queues, EventBridge rules
and buses, SNS topics, CloudWatch alarms and ECS clusters whose names carry the suffix. Exits 1
and names them when any remain.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from riskbatch_infra.aws import DEFAULT_REGION, Target
from riskbatch_infra.stack import failure_reasons, stack_status


def _names(pages: Any, key: str, field: str) -> list[str]:
    return [item[field] if field else item for page in pages for item in page.get(key, [])]


def leftovers(target: Target, suffix: str) -> dict[str, list[str]]:
    """Everything of the kinds the stack creates whose name carries -<suffix>."""
    token = f"-{suffix}"

    def mine(name: str) -> bool:
        tail = name.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        return tail.endswith(token) or (f"{token}-" in tail and tail.startswith("role-"))

    listings: dict[str, Callable[[], list[str]]] = {
        "ECR repositories": lambda: _names(target.client("ecr").get_paginator("describe_repositories").paginate(), "repositories", "repositoryName"),
        "log groups": lambda: _names(target.client("logs").get_paginator("describe_log_groups").paginate(), "logGroups", "logGroupName"),
        "IAM roles": lambda: _names(target.client("iam").get_paginator("list_roles").paginate(), "Roles", "RoleName"),
        "SQS queues": lambda: target.client("sqs").list_queues().get("QueueUrls", []),
        "EventBridge rules": lambda: (
            _names([target.client("events").list_rules()], "Rules", "Name")
            + [
                rule["Name"]
                for bus in target.client("events").list_event_buses()["EventBuses"]
                if bus["Name"] != "default"
                for rule in target.client("events").list_rules(EventBusName=bus["Name"])["Rules"]
            ]
        ),
        "event buses": lambda: [bus["Name"] for bus in target.client("events").list_event_buses()["EventBuses"]],
        "SNS topics": lambda: _names(target.client("sns").get_paginator("list_topics").paginate(), "Topics", "TopicArn"),
        "CloudWatch alarms": lambda: _names(target.client("cloudwatch").get_paginator("describe_alarms").paginate(), "MetricAlarms", "AlarmName"),
        "ECS clusters": lambda: [arn for arn in target.client("ecs").list_clusters()["clusterArns"] if _active_cluster(target, arn)],
    }
    return {kind: sorted(name for name in listing() if mine(name)) for kind, listing in listings.items()}


def _active_cluster(target: Target, arn: str) -> bool:
    clusters = target.client("ecs").describe_clusters(clusters=[arn])["clusters"]
    return bool(clusters) and clusters[0]["status"] != "INACTIVE"


def delete_stack(target: Target, stack_name: str, log: Callable[[str], None]) -> None:
    import time

    cfn = target.client("cloudformation")
    if stack_status(cfn, stack_name) is None:
        log(f"{stack_name}: no such stack")
        return
    started = time.time()
    cfn.delete_stack(StackName=stack_name)
    try:
        cfn.get_waiter("stack_delete_complete").wait(StackName=stack_name, WaiterConfig={"Delay": 10, "MaxAttempts": 360})
    except WaiterError:
        reasons = "\n  ".join(failure_reasons(cfn, stack_name, started)) or "no reason reported"
        raise RuntimeError(f"{stack_name} was not deleted:\n  {reasons}") from None
    log(f"{stack_name}: deleted")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack-name", required=True)
    parser.add_argument("--suffix", required=True, help="the stack's EnvironmentSuffix")
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument("--profile")
    parser.add_argument("--endpoint-url")
    args = parser.parse_args(argv)
    target = Target(region=args.region, endpoint_url=args.endpoint_url, profile=args.profile)
    try:
        delete_stack(target, args.stack_name, lambda line: print(line, file=sys.stderr))
    except (RuntimeError, ClientError) as error:
        print(f"teardown failed: {error}", file=sys.stderr)
        return 1
    remaining = {kind: names for kind, names in leftovers(target, args.suffix).items() if names}
    for kind, names in remaining.items():
        print(f"left behind: {kind}: {', '.join(names)}")
    if remaining:
        return 1
    print(f"nothing carrying -{args.suffix} is left")
    return 0


if __name__ == "__main__":
    sys.exit(main())

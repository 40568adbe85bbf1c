"""Quiesce the stack, delete it, and prove that nothing carrying its suffix is left.

A running stack cannot simply be deleted: an ingestion task that a rule started, or a service
task, still runs on the cluster, and CloudFormation then fails to delete the capacity-provider
association and the cluster. So, in order:
  1. disable the stack's EventBridge Scheduler schedules (no pre-night or deadline check task
     starts mid-teardown and blocks the cluster's deletion) and its EventBridge rules (no new
     ingestion task, no new report message);
  2. scale the services to zero (their scaling suspended, desired count 0), so that ECS starts
     no replacement for a task stopped in the next step;
  3. stop every task still running on the cluster (standalone ingestion tasks included);
  4. delete the stack and wait.
Then it lists, page by page, the ECR repositories, log groups, IAM roles, SQS queues,
EventBridge rules and buses, SNS topics, CloudWatch alarms, ECS clusters, security groups and
VPC endpoints whose names carry the suffix. Exits 1 and names them when any remain, in every
environment, production included: the template retains nothing. What outlives the stack is in the
output bucket, which the stack does not own (the reports, run records, history and the audit copy
of the logs under audit/).

The suffix is read from the stack's EnvironmentSuffix parameter (--suffix only checks it, or names
what to list once the stack is gone). Nothing is deleted until the stack's name is typed back at a
terminal (or --yes, for automation); a production stack (suffix prod) needs --production as well,
and with no terminal and no --yes the teardown refuses.

The region and credentials are found as the AWS CLI finds them (--region, AWS_REGION,
AWS_DEFAULT_REGION, the profile's region); the account and region are printed before anything is
deleted. A stack with termination protection on, or in the middle of an operation (a status ending
in _IN_PROGRESS), is refused before anything is stopped. A stack left REVIEW_IN_PROGRESS by a first
deployment whose change set failed holds nothing to stop and no parameters: its suffix comes from
--suffix, and once confirmed it is deleted. A stack half deleted (ROLLBACK_COMPLETE,
DELETE_FAILED) can be torn down again: what is already gone counts as stopped. When the deletion
fails after the stop steps, what was switched off is listed with the command that switches it back on.
Exit codes: 0 deleted and nothing left (a kind AWS refused to list is a warning), 1 not deleted
(refused before anything stopped, or the deletion failed) or something left, 2 a bad option or not
confirmed, 3 no AWS region or credentials, or AWS unreachable, 4 no such stack (without --suffix),
5 AWS refused a call (DeleteStack included).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from riskbatch.operations.aws_access import EXIT_NO_STACK, CommandParser, add_aws_options, guarded
from riskbatch.operations.stack_lookup import OperatorError
from riskbatch_platform.aws import Target, command_target
from riskbatch_platform.deployment.stack import NOT_DEPLOYED, current_parameters, failure_reasons, physical_ids, stack_status

Log = Callable[[str], None]


def pages(call: Callable[..., dict[str, Any]], token_in: str = "NextToken", token_out: str = "NextToken", **arguments: Any) -> Iterator[dict[str, Any]]:
    """Every page of a list call that boto3 has no paginator for."""
    while True:
        page = call(**arguments)
        yield page
        token = page.get(token_out)
        if not token:
            return
        arguments[token_in] = token


def _names(pages_: Any, key: str, field: str) -> list[str]:
    return [item[field] if field else item for page in pages_ for item in page.get(key, [])]


def leftovers(target: Target, suffix: str, page_size: int | None = None, unchecked: dict[str, str] | None = None) -> dict[str, list[str]]:
    """Everything of the kinds the stack creates whose name carries -<suffix>, every page read. With
    unchecked, a listing AWS refuses is recorded there (kind -> AWS's code) instead of raised."""
    token = f"-{suffix}"
    limit = {"Limit": page_size} if page_size else {}

    def mine(name: str) -> bool:
        tail = name.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        return tail.endswith(token) or (f"{token}-" in tail and tail.startswith("role-"))

    def paginate(service: str, operation: str, **arguments: Any) -> Any:
        paginator = target.client(service).get_paginator(operation)
        if page_size and paginator._pagination_cfg.get("limit_key"):  # small pages, to test that every page is read
            arguments["PaginationConfig"] = {"PageSize": page_size}
        return paginator.paginate(**arguments)

    events = target.client("events")

    def buses() -> list[str]:
        return _names(pages(events.list_event_buses, **limit), "EventBuses", "Name")

    listings: dict[str, Callable[[], list[str]]] = {
        "ECR repositories": lambda: _names(paginate("ecr", "describe_repositories"), "repositories", "repositoryName"),
        "log groups": lambda: _names(paginate("logs", "describe_log_groups"), "logGroups", "logGroupName"),
        "IAM roles": lambda: _names(paginate("iam", "list_roles"), "Roles", "RoleName"),
        "SQS queues": lambda: _names(paginate("sqs", "list_queues"), "QueueUrls", ""),
        "EventBridge rules": lambda: [name for bus in buses() for name in _names(paginate("events", "list_rules", EventBusName=bus), "Rules", "Name")],
        "event buses": buses,
        "SNS topics": lambda: _names(paginate("sns", "list_topics"), "Topics", "TopicArn"),
        "CloudWatch alarms": lambda: _names(paginate("cloudwatch", "describe_alarms"), "MetricAlarms", "AlarmName"),
        "ECS clusters": lambda: [arn for arn in _names(paginate("ecs", "list_clusters"), "clusterArns", "") if _active_cluster(target, arn)],
        "security groups": lambda: _names(paginate("ec2", "describe_security_groups"), "SecurityGroups", "GroupName"),
        "VPC endpoints": lambda: [
            tag["Value"]
            for page in paginate("ec2", "describe_vpc_endpoints")
            for endpoint in page.get("VpcEndpoints", [])
            if endpoint.get("State", "").lower() not in {"deleted", "deleting"}
            for tag in endpoint.get("Tags", [])
            if tag["Key"] == "Name"
        ],
    }
    found: dict[str, list[str]] = {}
    for kind, listing in listings.items():
        try:
            found[kind] = sorted(name for name in listing() if mine(name))
        except ClientError as error:
            if unchecked is None:
                raise
            unchecked[kind] = f"AWS refused {error.operation_name}: {error.response.get('Error', {}).get('Code', '?')}"
            found[kind] = []
    return found


def _active_cluster(target: Target, arn: str) -> bool:
    clusters = target.client("ecs").describe_clusters(clusters=[arn])["clusters"]
    return bool(clusters) and clusters[0]["status"] != "INACTIVE"


# UpdateSchedule replaces the whole schedule: every field GetSchedule returned goes back, State changed.
_SCHEDULE_FIELDS = (
    "Description",
    "EndDate",
    "FlexibleTimeWindow",
    "GroupName",
    "KmsKeyArn",
    "ScheduleExpression",
    "ScheduleExpressionTimezone",
    "StartDate",
    "Target",
    "ActionAfterCompletion",
)


def disable_schedule(scheduler: Any, name: str, group: str | None = None) -> None:
    """Disable one EventBridge Scheduler schedule, keeping the rest of its definition."""
    current = scheduler.get_schedule(Name=name, **({"GroupName": group} if group else {}))
    kept = {field: current[field] for field in _SCHEDULE_FIELDS if current.get(field) is not None}
    scheduler.update_schedule(Name=name, State="DISABLED", **kept)


# What a stop step meets when the thing was deleted already (a rolled-back stack, a second teardown):
# it is stopped, as far as the teardown is concerned.
NOT_FOUND = frozenset({"ResourceNotFoundException", "ServiceNotFoundException", "ServiceNotActiveException", "ClusterNotFoundException"})


def _unless_gone(what: str, log: Log, action: Callable[..., Any], **arguments: Any) -> bool:
    """Run one stop action; False (and a line) when what it stops no longer exists."""
    try:
        action(**arguments)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in NOT_FOUND:
            raise
        log(f"{what}: already gone")
        return False
    return True


def quiesce(target: Target, stack_name: str, log: Log, switched_off: list[str] | None = None) -> list[str]:
    """Steps 1-3: nothing starts, nothing runs, before CloudFormation deletes the cluster.
    Returns (and appends to switched_off as it goes) how to switch back on each thing it switched off."""
    undo = switched_off if switched_off is not None else []
    resources = physical_ids(target.client("cloudformation"), stack_name)
    events, ecs = target.client("events"), target.client("ecs")
    for kind, physical in resources.values():
        if kind == "AWS::Scheduler::Schedule" and _unless_gone(
            f"schedule {physical}", log, disable_schedule, scheduler=target.client("scheduler"), name=physical
        ):
            undo.append(f"schedule {physical}: aws scheduler get-schedule --name {physical}, then update-schedule with the same definition and --state ENABLED")
            log(f"schedule {physical}: disabled")
    for kind, physical in resources.values():
        if kind == "AWS::Events::Rule":
            bus, _, name = physical.rpartition("|")  # a rule on a custom bus is "busname|rulename"
            if _unless_gone(f"rule {name}", log, events.disable_rule, Name=name, **({"EventBusName": bus} if bus else {})):
                undo.append(f"rule {name}: aws events enable-rule --name {name}" + (f" --event-bus-name {bus}" if bus else ""))
                log(f"rule {name}: disabled")
    clusters = [physical for kind, physical in resources.values() if kind == "AWS::ECS::Cluster"]
    scaling = target.client("application-autoscaling")
    for kind, physical in resources.values():
        if kind != "AWS::ECS::Service":
            continue
        cluster, name = physical.split("/")[-2:]
        resource_id = f"service/{cluster}/{name}"
        registered = scaling.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource_id])["ScalableTargets"]
        if registered:  # scaling would otherwise raise the count again
            suspended = {"DynamicScalingInSuspended": True, "DynamicScalingOutSuspended": True, "ScheduledScalingSuspended": True}
            scaling.register_scalable_target(
                ServiceNamespace="ecs", ResourceId=resource_id, ScalableDimension="ecs:service:DesiredCount", SuspendedState=suspended
            )
            undo.append(f"service {name}: its scaling is suspended: aws application-autoscaling register-scalable-target --service-namespace ecs "
                        f"--resource-id {resource_id} --scalable-dimension ecs:service:DesiredCount --suspended-state all false")  # fmt: skip
        if _unless_gone(f"service {name}", log, ecs.update_service, cluster=cluster, service=name, desiredCount=0):
            undo.append(f"service {name}: aws ecs update-service --cluster {cluster} --service {name} --desired-count N (its count before the teardown)")
            log(f"service {name}: scaled to zero")
    for cluster in clusters:
        try:
            running = _names(ecs.get_paginator("list_tasks").paginate(cluster=cluster, desiredStatus="RUNNING"), "taskArns", "")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in NOT_FOUND:
                raise
            log(f"cluster {cluster.rsplit('/', 1)[-1]}: already gone")
            continue
        for task in running:
            ecs.stop_task(cluster=cluster, task=task, reason="teardown: the stack is being deleted")
        log(f"cluster {cluster.rsplit('/', 1)[-1]}: {len(running)} running task(s) stopped")
    return undo


class NotDeletable(Exception):
    """The stack cannot be deleted now (termination protection, an operation under way): nothing was stopped."""


def refusal(stack: dict[str, Any]) -> str | None:
    """Why DeleteStack would be refused, read from DescribeStacks before anything is stopped; None when it would not.
    Termination protection makes DeleteStack fail and leaves the stack unchanged ("Protect CloudFormation stacks
    from being deleted": https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-protect-stacks.html)."""
    name, status = stack["StackName"], stack["StackStatus"]
    if stack.get("EnableTerminationProtection"):
        return (
            f"{name} has termination protection on: nothing stopped or deleted; turn it off "
            f"(aws cloudformation update-termination-protection --no-enable-termination-protection --stack-name {name}) and run the teardown again"
        )
    if status.endswith("_IN_PROGRESS") and status not in NOT_DEPLOYED:  # REVIEW_IN_PROGRESS stays so until deleted: no operation ends
        return f"{name} is {status}: nothing stopped or deleted; wait until that operation ends (describe-stacks), then run the teardown again"
    return None


class Quiesced(Exception):
    """The deletion failed after the stop steps: what was switched off, and how to switch it back on."""

    def __init__(self, cause: str, undo: list[str]) -> None:
        lines = "\n  ".join(undo) or "nothing"
        super().__init__(
            f"{cause}\nthe stack is still there, quiesced: its schedules and rules are disabled, its services at zero. "
            f"Run the teardown again once the cause is fixed, or switch them back on (a deploy that changes nothing does not):\n  {lines}"
        )


def delete_stack(target: Target, stack_name: str, log: Log, sleep: Callable[[float], None] = time.sleep) -> None:
    cfn = target.client("cloudformation")
    if stack_status(cfn, stack_name) is None:
        log(f"{stack_name}: no such stack")
        return
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    why = refusal(stack)
    if why:
        raise NotDeletable(why)
    undo: list[str] = []
    started = time.time()
    try:
        if stack["StackStatus"] not in NOT_DEPLOYED:  # a stack under review holds no resource: nothing to quiesce
            quiesce(target, stack_name, log, undo)
        cfn.delete_stack(StackName=stack_name)
        if stack["StackStatus"] == "DELETE_FAILED":
            _until_the_deletion_starts(cfn, stack_name, sleep)
        cfn.get_waiter("stack_delete_complete").wait(StackName=stack_name, WaiterConfig={"Delay": 10, "MaxAttempts": 360})
    except WaiterError:
        reasons = "\n  ".join(failure_reasons(cfn, stack_name, started)) or "no reason reported"
        raise Quiesced(f"{stack_name} was not deleted:\n  {reasons}", undo) from None
    except (ClientError, BotoCoreError, KeyboardInterrupt) as error:  # AWS refused, out of reach (a timeout), or Ctrl-C mid-stop
        if undo:
            cause = "interrupted" if isinstance(error, KeyboardInterrupt) else "was not deleted"
            log(str(Quiesced(f"{stack_name} {cause}", undo)))
        raise  # the boundary says which call failed (5, or 3 when AWS is out of reach; 130 interrupted)
    log(f"{stack_name}: deleted")


def _until_the_deletion_starts(cfn: Any, stack_name: str, sleep: Callable[[float], None], attempts: int = 30) -> None:
    """botocore's stack_delete_complete waiter fails at once on DELETE_FAILED: right after DeleteStack the stack can
    still show the status of the deletion that failed before, so wait for DELETE_IN_PROGRESS (or the stack gone)."""
    for _ in range(attempts):
        if stack_status(cfn, stack_name) != "DELETE_FAILED":
            return
        sleep(2)


EXIT_NOT_DELETED = 1
parser_prog = "riskbatch-teardown"
PRODUCTION = "prod"  # the suffix that needs --production as well (as cdk destroy asks before a production stack goes)


def main(argv: list[str] | None = None) -> int:
    parser = CommandParser(prog="riskbatch-teardown", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack-name", required=True, help="the stack to delete (its EnvironmentSuffix is read from the stack)")
    parser.add_argument(
        "--suffix", help="only to check: the suffix you expect the stack to carry (refused when it differs), or what to list when the stack is already gone"
    )
    parser.add_argument("--yes", action="store_true", help="do not ask for the stack's name (automation); without it the name must be typed back")
    parser.add_argument("--production", action="store_true", help=f"needed as well to delete a production stack (EnvironmentSuffix {PRODUCTION})")
    add_aws_options(parser, endpoint=True)
    args = parser.parse_args(argv)
    return guarded(parser.prog, lambda: _teardown(args), profile=args.profile)


def confirmed(stack_name: str, suffix: str, yes: bool, production: bool, answer: Callable[[str], str] | None = None) -> None:
    """Refuse (ValueError, one line) unless the deletion is confirmed: --production for a production stack,
    then --yes or the stack's name typed back at a terminal."""
    if suffix == PRODUCTION and not production:
        raise ValueError(f"{stack_name} is a production stack (EnvironmentSuffix {PRODUCTION}): nothing deleted; pass --production as well to delete it")
    if yes:
        return
    if answer is None:
        if not sys.stdin or not sys.stdin.isatty():
            raise ValueError(f"nothing deleted: confirm by typing {stack_name} at a terminal, or pass --yes (automation)")
        answer = _ask
    typed = answer(f"delete {stack_name} (EnvironmentSuffix {suffix}) and everything it holds? type its name to confirm: ").strip()
    if typed != stack_name:
        raise ValueError(f"nothing deleted: {typed!r} is not {stack_name}")


def _ask(prompt: str) -> str:
    print(prompt, end="", file=sys.stderr, flush=True)  # stdout stays the result's
    return sys.stdin.readline()


def _teardown(args: argparse.Namespace) -> int:
    target = command_target(args.region, args.profile, args.endpoint_url, "riskbatch-teardown")
    cfn = target.client("cloudformation")
    suffix = args.suffix
    status = stack_status(cfn, args.stack_name)
    if status in NOT_DEPLOYED:  # a first deployment's CREATE change set that failed: no parameters to read the suffix from
        if not suffix:
            raise ValueError(f"{args.stack_name} is {status} (never created: no parameters): nothing deleted; name its suffix with --suffix S")
        confirmed(args.stack_name, suffix, args.yes, args.production)
    elif status is not None:
        suffix = current_parameters(cfn, args.stack_name).get("EnvironmentSuffix")
        if not suffix:
            raise OperatorError(f"{args.stack_name} has no EnvironmentSuffix parameter: not a stack of this template; nothing deleted", EXIT_NO_STACK)
        if args.suffix and args.suffix != suffix:
            raise ValueError(f"{args.stack_name} carries EnvironmentSuffix {suffix}, not {args.suffix}: nothing deleted; check --stack-name and the region")
        confirmed(args.stack_name, suffix, args.yes, args.production)
    elif not suffix:
        raise OperatorError(f"no stack {args.stack_name} in {target.region}: nothing to delete (--suffix S lists what carries -S)", EXIT_NO_STACK)
    try:
        delete_stack(target, args.stack_name, lambda line: print(line, file=sys.stderr))
    except NotDeletable as error:
        raise OperatorError(str(error), EXIT_NOT_DELETED) from None
    except Quiesced as error:
        print(f"teardown failed: {error}", file=sys.stderr)
        return EXIT_NOT_DELETED
    unchecked: dict[str, str] = {}
    remaining = {kind: names for kind, names in leftovers(target, suffix, unchecked=unchecked).items() if names}
    for kind, names in remaining.items():
        print(f"left behind: {kind}: {', '.join(names)}")
    for kind, why in unchecked.items():  # the stack is deleted: a listing refused is a gap in the proof, not a failed teardown
        print(f"{parser_prog}: warning: {kind} not checked for -{suffix}: {why}: list them with an identity that may", file=sys.stderr)
    if remaining:
        return EXIT_NOT_DELETED
    print(f"nothing carrying -{suffix} is left" + (f" (except the {len(unchecked)} kind(s) not checked)" if unchecked else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

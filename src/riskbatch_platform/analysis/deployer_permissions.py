"""The permissions a deployer needs, read from what exists rather than written from memory.

Two parts, as a deployment uses them:

- what CloudFormation does for the templates: for every resource type they declare, the
  permissions its resource provider schema lists for create, read, update, delete and list
  (cfn-lint ships the schemas; these lists are what AWS publishes as the handler's needs);
- what the scripts the deployer runs call themselves (deploy, preflight, bucket events,
  teardown), found in their source: every call on a boto3 client, mapped to its API operation
  through botocore's service model, waiters and paginators included.

`make docs` writes both into docs/deployer-permissions.md; the doc check fails while the copy
there differs, so a new resource type or a new call in a script shows up in the diff.
"""

from __future__ import annotations

import ast
import json
import re
from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session

from riskbatch_platform import REPO_ROOT

TEMPLATES = ("lib/TapStack.json", "lib/VpcEndpoints.json")
HANDLERS = ("create", "read", "update", "delete", "list")
# The scripts a deployer runs, and the modules they import from this repository (followed).
DEPLOYER_COMMANDS = ("deployment/deploy.py", "deployment/preflight.py", "deployment/enable_bucket_events.py", "deployment/teardown.py")
_LOCAL_PACKAGES = {"riskbatch_platform": REPO_ROOT / "src" / "riskbatch_platform", "riskbatch": REPO_ROOT / "src" / "riskbatch"}


def template_types() -> list[str]:
    found = set()
    for path in TEMPLATES:
        template = json.loads((REPO_ROOT / path).read_text(encoding="utf-8"))
        found |= {resource["Type"] for resource in template["Resources"].values()}
    return sorted(found)


# An IAM action: service prefix, colon, action name. A few schemas list other strings (an S3 REST
# operation, "s3:REST.PUT.OBJECT", in the log group's): no policy can grant those, so they are left out.
_ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+$")


def handler_permissions(resource_type: str) -> dict[str, list[str]]:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
    handlers = schema.get("handlers", {})
    return {
        handler: sorted({action for action in handlers[handler].get("permissions", []) if _ACTION.match(action)}) for handler in HANDLERS if handler in handlers
    }


def _module_file(module: str) -> Path | None:
    package, _, rest = module.partition(".")
    root = _LOCAL_PACKAGES.get(package)
    if root is None:
        return None
    path = root.joinpath(*rest.split(".")) if rest else root
    return path.with_suffix(".py") if path.with_suffix(".py").exists() else (path / "__init__.py" if path.is_dir() else None)


def deployer_sources() -> list[Path]:
    """The deployer's scripts and every module of this repository they import, transitively."""
    pending = [_LOCAL_PACKAGES["riskbatch_platform"] / command for command in DEPLOYER_COMMANDS]
    seen: list[Path] = []
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.append(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        package = ".".join(path.relative_to(REPO_ROOT / "src").parent.parts)
        # Module-level imports only: what a script imports inside a function serves its --local
        # run against the emulator, not the deployer's account.
        for node in tree.body:
            if isinstance(node, ast.ImportFrom):
                module = f"{package}.{node.module}" if node.level == 1 and node.module else node.module or package
                # `from a.b import c` imports a.b, and a.b.c too when c is a module (from riskbatch.operations import fargate)
                for candidate in (module, *(f"{module}.{alias.name}" for alias in node.names)):
                    found = _module_file(candidate)
                    if found:
                        pending.append(found)
    return sorted(seen)


_SERVICES = set(botocore.session.get_session().get_available_services())


@cache
def _model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


@cache
def _operations_by_method(service: str) -> dict[str, str]:
    from botocore import xform_name

    return {xform_name(name): name for name in _model(service).operation_names}


def _waiter_operation(service: str, waiter: str) -> str:
    from botocore import xform_name
    from botocore.waiter import WaiterModel

    loader = botocore.session.get_session().get_component("data_loader")
    model = WaiterModel(loader.load_service_model(service, "waiters-2"))
    by_snake = {xform_name(name): name for name in model.waiter_names}
    return model.get_waiter(by_snake[waiter]).operation


class _CallFinder(ast.NodeVisitor):
    """Client variables (`cfn = target.client("cloudformation")`) and the calls made on them."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.calls: set[tuple[str, str]] = set()

    @staticmethod
    def _service_of_client_call(node: ast.AST) -> str | None:
        # <anything>.client("svc") or clients("svc")
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in ("client", "clients"):
                return node.args[0].value
        return None

    def _service_of(self, owner: ast.AST) -> str | None:
        return self._service_of_client_call(owner) or (self.names.get(owner.id) if isinstance(owner, ast.Name) else None)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        # A client's method, called or handed on (`pages(events.list_event_buses)`).
        service = self._service_of(node.value)
        if service and node.attr in _operations_by_method(service):
            self.calls.add((service, _operations_by_method(service)[node.attr]))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        literals = [arg.value for arg in node.args[:2] if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
        if isinstance(node.func, ast.Attribute) and literals:
            service = self._service_of(node.func.value)
            if service and node.func.attr == "get_paginator":
                self.calls.add((service, _operations_by_method(service)[literals[0]]))
            elif service and node.func.attr == "get_waiter":
                self.calls.add((service, _waiter_operation(service, literals[0])))
        if len(literals) == 2 and literals[0] in _SERVICES and literals[1] in _operations_by_method(literals[0]):
            # a helper called with a service and one of its operations: paginate("ecr", "describe_repositories")
            self.calls.add((literals[0], _operations_by_method(literals[0])[literals[1]]))
        self.generic_visit(node)


# The IAM prefix where it is not the SDK's service name.
IAM_PREFIXES = {"service-quotas": "servicequotas"}
# API operations authorised under an action of another name (Service Authorization Reference, "Actions
# defined by Amazon S3": https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html).
ACTIONS_OF_OPERATIONS = {
    "s3:GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "s3:GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "s3:GetObjectLockConfiguration": "s3:GetBucketObjectLockConfiguration",
    "s3:GetBucketNotificationConfiguration": "s3:GetBucketNotification",
    "s3:PutBucketNotificationConfiguration": "s3:PutBucketNotification",
    "s3:HeadObject": "s3:GetObject",
    "s3:ListObjectsV2": "s3:ListBucket",
}


# Actions a call depends on beyond the one named after it. Under enhanced (Amazon Inspector) scanning,
# DescribeImageScanFindings reads Inspector's findings as the caller ("IAM permissions required for
# enhanced scanning in Amazon ECR", ECR user guide:
# https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning-enhanced-iam.html; the Service
# Authorization Reference lists inspector2:ListFindings as a dependent action of
# ecr:DescribeImageScanFindings: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerregistry.html).
DEPENDENT_ACTIONS = {
    "ecr:DescribeImageScanFindings": ("inspector2:ListFindings",),
    # RunTask hands the task definition's task and execution roles to ECS: the caller must be allowed to pass
    # them (ECS developer guide, "Amazon ECS task execution IAM role" and "Task IAM role":
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html; the Service Authorization
    # Reference lists iam:PassRole as a dependent action of ecs:RunTask).
    "ecs:RunTask": ("iam:PassRole",),
}


def iam_action(service: str, operation: str) -> str:
    """The IAM action that authorises one API operation of one SDK service."""
    action = f"{IAM_PREFIXES.get(service, service)}:{operation}"
    return ACTIONS_OF_OPERATIONS.get(action, action)


def client_names(trees: list[ast.AST]) -> dict[str, str]:
    """Variable name -> service, from every `name = ....client("svc")` in the sources (one service a name)."""
    names: dict[str, set[str]] = defaultdict(set)
    for tree in trees:
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
                continue
            target, value = node.targets[0], node.value
            pairs = zip(target.elts, value.elts, strict=False) if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) else [(target, value)]
            for name, call in pairs:  # cfn = ....client("cloudformation"); events, ecs = ...client("events"), ...client("ecs")
                service = _CallFinder._service_of_client_call(call)
                if isinstance(name, ast.Name) and service:
                    names[name.id].add(service)
    clashes = {name: services for name, services in names.items() if len(services) > 1}
    if clashes:
        raise ValueError(f"one variable name for clients of several services: {clashes}")
    return {name: services.pop() for name, services in names.items()}


def script_actions() -> dict[str, list[str]]:
    """IAM action -> the source files that call it."""
    sources = deployer_sources()
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in sources}
    names = client_names(list(trees.values()))
    found: dict[str, set[str]] = defaultdict(set)
    for path, tree in trees.items():
        finder = _CallFinder(names)
        finder.visit(tree)
        for service, operation in finder.calls:
            action = iam_action(service, operation)
            for needed in (action, *DEPENDENT_ACTIONS.get(action, ())):
                found[needed].add(str(path.relative_to(REPO_ROOT)))
    return {action: sorted(files) for action, files in sorted(found.items())}


# Pushing the images (docker push, after phase 1): the actions the ECR user guide lists for a push
# ("IAM permissions for pushing an image to an Amazon ECR private repository",
# https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-push-iam.html).
IMAGE_PUSH_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:GetAuthorizationToken",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
)


# CloudFormation reads a template given by URL (riskbatch-deploy --template-bucket) as the caller: without
# the read it answers "TemplateURL must reference a valid S3 object to which you have access".
TEMPLATE_READ_ACTIONS = ("s3:GetObject",)


def cloudformation_actions() -> dict[str, list[str]]:
    """IAM action -> the resource types whose handlers need it."""
    found: dict[str, set[str]] = defaultdict(set, {action: {"the template in S3"} for action in TEMPLATE_READ_ACTIONS})
    for resource_type in template_types():
        for permissions in handler_permissions(resource_type).values():
            for action in permissions:
                found[action].add(resource_type)
    return {action: sorted(types) for action, types in sorted(found.items())}


def _by_service(actions: dict[str, list[str]]) -> list[tuple[str, list[str], list[str]]]:
    """(service prefix, its actions, what needs them), one row per service."""
    grouped: dict[str, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for action, needed_by in actions.items():
        names, users = grouped[action.split(":", 1)[0]]
        names.add(action.split(":", 1)[1])
        users.update(needed_by)
    return [(prefix, sorted(names), sorted(users)) for prefix, (names, users) in sorted(grouped.items())]


def deployer_markdown() -> str:
    lines = ["### What CloudFormation does for the templates", ""]
    lines += ["| service | actions | needed by |", "| --- | --- | --- |"]
    for prefix, names, users in _by_service(cloudformation_actions()):
        lines.append(f"| `{prefix}` | {', '.join(names)} | {', '.join(user.removeprefix('AWS::') for user in users)} |")
    lines += ["", "### What the deployer's scripts call themselves", ""]
    lines += ["| service | actions | called from |", "| --- | --- | --- |"]
    for prefix, names, users in _by_service(script_actions()):
        lines.append(f"| `{prefix}` | {', '.join(names)} | {', '.join(f'`{user}`' for user in users)} |")
    lines += ["", "### Pushing the images", ""]
    lines.append(", ".join(f"`{action}`" for action in IMAGE_PUSH_ACTIONS) + " (the ECR user guide's list for a push).")
    return "\n".join(lines) + "\n"


def deployer_policy() -> dict[str, Any]:
    """An identity policy granting exactly the actions above (on `*`: narrow it to your names)."""
    statements = [
        {"Sid": "CloudFormationHandlers", "Effect": "Allow", "Action": sorted(cloudformation_actions()), "Resource": "*"},
        {"Sid": "DeployerScripts", "Effect": "Allow", "Action": sorted(script_actions()), "Resource": "*"},
        {"Sid": "ImagePush", "Effect": "Allow", "Action": list(IMAGE_PUSH_ACTIONS), "Resource": "*"},
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def unknown_to_parliament() -> list[str]:
    """The policy's actions that parliament's IAM database does not know."""
    from parliament import analyze_policy_string

    analysed = analyze_policy_string(json.dumps(deployer_policy()))
    return sorted(str(finding.detail).removeprefix("Unknown action ") for finding in analysed.findings if finding.issue == "UNKNOWN_ACTION")


# --- deploying with a CloudFormation service role (riskbatch-deploy --role-arn) ----------------------------
# CloudFormation then acts with the role's credentials, the deploying person's only for what the
# scripts call themselves and for passing the role ("AWS CloudFormation service role":
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-iam-servicerole.html).
SERVICE_ROLE_NAME = "role-cloudformation-riskbatch-<region>"
SERVICE_ROLE_ARN_PATTERN = "arn:aws:iam::*:role/role-cloudformation-riskbatch-*"
# The jobs' task and execution roles (role-<job>-task-<suffix>-<region>, role-<job>-exec-<suffix>-<region>).
JOB_ROLE_ARN_PATTERNS = ("arn:aws:iam::*:role/role-*-task-*", "arn:aws:iam::*:role/role-*-exec-*")


def service_role_trust() -> dict[str, Any]:
    """Who may assume the service role: CloudFormation, for this account's stacks."""
    statement = {"Effect": "Allow", "Principal": {"Service": "cloudformation.amazonaws.com"}, "Action": "sts:AssumeRole"}
    return {"Version": "2012-10-17", "Statement": [statement]}


def service_role_policy() -> dict[str, Any]:
    """The service role's policy: CloudFormation's part of the deployer's permissions, nothing else
    (the template's read from S3 stays the caller's: CloudFormation fetches a TemplateURL as the caller)."""
    actions = sorted(action for action in cloudformation_actions() if action not in TEMPLATE_READ_ACTIONS)
    return {"Version": "2012-10-17", "Statement": [{"Sid": "CloudFormationHandlers", "Effect": "Allow", "Action": actions, "Resource": "*"}]}


def deploying_person_policy() -> dict[str, Any]:
    """What the person deploying needs once CloudFormation acts through the service role: the
    scripts' own calls (the change-set actions among them), passing that role to CloudFormation
    and nobody else (iam:PassedToService), the template's read from S3, and the image push."""
    pass_role = {
        "Sid": "PassTheServiceRoleToCloudFormationOnly",
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": SERVICE_ROLE_ARN_PATTERN,
        "Condition": {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}},
    }
    # the deploy's smoke tasks pass their task definitions' task and execution roles to ECS, and no other role
    pass_task_roles = {
        "Sid": "PassTheJobRolesToEcsForTheSmokeTasks",
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": list(JOB_ROLE_ARN_PATTERNS),
        "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
    }
    scripts = sorted({*script_actions(), *TEMPLATE_READ_ACTIONS} - {"iam:PassRole"})
    statements = [
        {"Sid": "DeployerScripts", "Effect": "Allow", "Action": scripts, "Resource": "*"},
        pass_role,
        pass_task_roles,
        {"Sid": "ImagePush", "Effect": "Allow", "Action": list(IMAGE_PUSH_ACTIONS), "Resource": "*"},
    ]
    return {"Version": "2012-10-17", "Statement": statements}

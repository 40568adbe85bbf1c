"""The frame of the emulator's fixes: the Patcher that applies and undoes them, the registry, and the
authorisation helpers several services' fixes share."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

MOTO_VERSION = "5.2.5"


LOCAL_ECS_AGENT = "riskbatch-local-ecs-agent"


ECS_TASKS = "ecs-tasks.amazonaws.com"


EVENTS = "events.amazonaws.com"


SCHEDULER = "scheduler.amazonaws.com"


# The services the local runner plays: it may assume a role only as one of them.
PLAYED_SERVICES = (ECS_TASKS, EVENTS, SCHEDULER)


_MISSING = object()


# The condition context of the request being authorised (lower-case key -> values).
REQUEST_CONTEXT: ContextVar[dict[str, list[str]] | None] = ContextVar("riskbatch_request_context", default=None)


# The query string of the request whose signature is being checked.
SIGNED_QUERY: ContextVar[str] = ContextVar("riskbatch_signed_query", default="")


class Patcher:
    """Sets attributes and remembers the originals, so that a test can undo a fix."""

    def __init__(self) -> None:
        self._originals: list[tuple[Any, str, Any]] = []

    def set(self, owner: Any, name: str, value: Any) -> None:
        self._originals.append((owner, name, owner.__dict__.get(name, _MISSING)))
        setattr(owner, name, value)

    def undo(self) -> None:
        while self._originals:
            owner, name, original = self._originals.pop()
            if original is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)


Fix = Callable[[Patcher], None]


FIXES: list[Fix] = []


def fix(function: Fix) -> Fix:
    FIXES.append(function)
    return function


def enforcing() -> bool:
    """Whether moto is past its bootstrap requests and enforcing IAM."""
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    return ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT


@contextmanager
def request_context(values: dict[str, list[str]]) -> Iterator[None]:
    token = REQUEST_CONTEXT.set({**(REQUEST_CONTEXT.get() or {}), **{key.lower(): list(value) for key, value in values.items()}})
    try:
        yield
    finally:
        REQUEST_CONTEXT.reset(token)


def caller_may(response: Any, request_class: Any, action: str, resource: str, context: dict[str, list[str]] | None = None) -> bool:
    """Whether the caller of this request may do `action` on `resource` (always, before enforcement)."""
    from werkzeug.exceptions import HTTPException

    if not enforcing():
        return True
    name = action.split(":", 1)[1]
    request = request_class(
        account_id=response.current_account,
        method=response.method,
        path=response.path,
        data=response.data,
        body=response.raw_body,
        headers=response.headers,
        action=name,
    )
    request._action = action
    try:
        with request_context(context or {}):
            request.check_action_permitted(resource)
    except HTTPException:
        return False
    return True


# The service modules, in the order their fixes are applied: a fix that wraps a function another
# fix wraps too (moto's model map, IAM's request) keeps the order it was written in.
SERVICES = (
    "cloudformation", "kms", "ecr", "s3", "sns", "logs", "iam", "cloudwatch", "sqs", "ecs", "ec2", "events", "scheduler", "service_quotas", "inspector2",
    "application_autoscaling",
)  # fmt: skip


def import_module_of_each_service() -> None:
    """Register every fix: each service's module adds its fixes to FIXES when first imported."""
    import importlib

    for service in SERVICES:
        importlib.import_module(f"{__package__}.{service}")


def apply_fixes() -> Patcher:
    """Apply every fix; refuse a moto version they were not written for."""
    import moto

    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(
            f"the emulator fixes are written for moto {MOTO_VERSION}, found {moto.__version__}: re-check each fix and its test, then update MOTO_VERSION"
        )
    import_module_of_each_service()
    patcher = Patcher()
    for each in in_service_order(FIXES):
        each(patcher)
    return patcher


def in_service_order(fixes: list[Fix]) -> list[Fix]:
    """The fixes in SERVICES order, each module's in the order written, whichever module was imported first."""
    return sorted(fixes, key=lambda each: (SERVICES.index(each.__module__.rsplit(".", 1)[1]), each.__code__.co_firstlineno))


def add_cloudformation_types(patch: Patcher, models: dict[str, Any]) -> None:
    """Give moto's CloudFormation resource types it does not model, through its model map (a plain
    class per type, so that undoing the fix leaves nothing registered)."""
    from moto.cloudformation import parsing

    original_map = parsing.get_model_map

    def model_map() -> dict[str, Any]:
        return {**original_map(), **models}

    patch.set(parsing, "get_model_map", model_map)


class CreatedResource:
    """What moto's CloudFormation asks of a resource it made: its physical id, its attributes, and
    whether it was created."""

    def __init__(self, kind: Any, physical_resource_id: str, properties: dict[str, Any]) -> None:
        self.kind = kind
        self.physical_resource_id = physical_resource_id
        self.properties = properties  # as created: every intrinsic function resolved

    def is_created(self) -> bool:
        return True

    def delete(self, account_id: str, region_name: str) -> None:
        self.kind.remove(self, account_id, region_name)

    def get_cfn_attribute(self, attribute: str) -> Any:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        raise UnformattedGetAttTemplateException()


class StandInType:
    """The CloudFormation face of a resource type moto does not model: subclasses say how to create
    and delete one from its properties; an update deletes the old one and creates the new."""

    TYPE = ""

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def has_cfn_attr(attribute: str) -> bool:
        return False

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> str:
        """Create the resource; return its physical id (what Ref returns)."""
        raise NotImplementedError

    @classmethod
    def remove(cls, resource: CreatedResource, account_id: str, region_name: str) -> None:
        raise NotImplementedError

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        properties = dict(cloudformation_json.get("Properties") or {})
        return CreatedResource(cls, cls.create(resource_name, properties, account_id, region_name), properties)

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> Any:
        cls.remove(original_resource, account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)


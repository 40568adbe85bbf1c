"""moto's server with the fixes the local target needs, one function per fix, tied to moto's version.

moto is not AWS. Each fix below says which of three kinds it is:
- a defect: moto loses a value the template or the request holds (a property read under the
  wrong name, an attribute never set); the fix carries the value through;
- a missing rule: AWS enforces something moto does not model (policy conditions, S3's answer
  for a missing key, PassRole on RunTask); the fix adds AWS's documented behaviour, cited;
- a stand-in: the local runner plays ECS and EventBridge, which moto lacks; the fix lets it
  act as those services do, and nothing else.
Every fix has a test (test/unit/test_emulator_fixes.py) that shows the unpatched moto without
the behaviour and the patched one with it. The fixes reach into moto's internals, so they are
written for one moto version and refuse to run on another.

Run as a module: `python -m riskbatch_infra.emulator_server -H 127.0.0.1 -p PORT` (moto.server's arguments).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qs, urlparse

from .resolve import as_list

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


# --- defects: values moto loses ------------------------------------------------------------------


@fix
def change_sets_update_outputs_and_exports(patch: Patcher) -> None:
    """Defect. moto's ChangeSet.apply updates a stack's resources but not its parameters, outputs,
    exports, tags or service role (its create and update paths do), so a stack deployed through
    change sets showed no outputs, kept its first tags and failed to delete. The fix does what those
    paths do after the resources change."""
    from moto.cloudformation import models as cloudformation

    def apply(self: Any) -> None:
        stack = self.stack
        stack.resource_map.update(self.template_dict, self.parameters)
        stack.template = self.template
        stack.template_dict = stack.parse_template(self.template)
        stack.parameters = self.parameters
        stack.tags = dict(self.tags or {})
        stack.role_arn = self.role_arn or stack.role_arn
        stack.output_map = stack._create_output_map()
        backend = cloudformation.cloudformation_backends[stack.account_id][stack.region_name]
        for export in stack.exports:
            backend.exports[export.name] = export

    patch.set(cloudformation.ChangeSet, "apply", apply)


@fix
def parameters_kept_with_use_previous_value(patch: Patcher) -> None:
    """Defect. An update's UsePreviousValue keeps a parameter's current value, a string as
    DescribeStacks shows it (API reference, Parameter:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Parameter.html). moto
    answered it with its parsed value (a number, a list) and compared the update's values with the
    ones given at the last update only, so a parameter kept at its default counted as changed: every
    resource that refers to it was replaced (a task definition registered again, under a revision
    its schedule's role did not name). The fix gives the current values as strings and compares
    with them."""
    from moto.cloudformation import models as cloudformation
    from moto.cloudformation import parsing

    def as_text(value: Any) -> Any:
        if isinstance(value, list):
            return ",".join(str(item) for item in value)
        return value if value is None or isinstance(value, str) else str(value)

    def stack_parameters(self: Any) -> dict[str, Any]:
        return {key: as_text(value) for key, value in self.resource_map.resolved_parameters.items()}

    original = parsing.ResourceMap.build_resource_diff

    def build_resource_diff(self: Any, other_template: dict[str, Any], parameters: dict[str, Any] | None = None) -> dict[str, Any]:
        given = self.input_parameters
        self.input_parameters = {**{key: as_text(value) for key, value in self.resolved_parameters.items()}, **(given or {})}
        try:
            return original(self, other_template, parameters)
        finally:
            self.input_parameters = given

    patch.set(cloudformation.Stack, "stack_parameters", property(stack_parameters))
    patch.set(parsing.ResourceMap, "build_resource_diff", build_resource_diff)


@fix
def change_sets_list_each_changed_value(patch: Patcher) -> None:
    """Defect. moto's change set compares the templates' text only (its own update compares the
    parameters too) and lists no Details: a change made through a parameter alone showed no change,
    and no change said what it changes. CloudFormation's DescribeChangeSet lists each changed
    property (ResourceChange Details, Replacement) and, asked with IncludePropertyValues, its
    BeforeValue and AfterValue (API reference, ResourceTargetDefinition:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceTargetDefinition.md).
    The fix resolves the stack's template with its parameters and the change set's with its own
    (riskbatch_infra.resolve) and lists every value that differs, at its JSON path. What only an
    account knows (a Ref or GetAtt of another resource) resolves to the same placeholder on both
    sides, so it shows as changed only when its name changes. RequiresRecreation comes from the
    resource type's schema (cfn-lint's copy): Always for a create-only property, else Never (AWS
    says Conditionally where it depends on a value; the emulator cannot tell)."""
    from moto.cloudformation import models as cloudformation

    original = cloudformation.ChangeSet.diff

    def diff(self: Any) -> list[Any]:
        changes = original(self)
        if self.change_set_type != "UPDATE":
            return changes
        try:
            region, account = self.stack.region_name, self.stack.account_id
            before = _resolved(self.stack.template_dict, self.stack.parameters, region, account, self.stack_name)
            after = _resolved(self.template_dict, self.parameters, region, account, self.stack_name)
        except ValueError:  # a template resolve.py cannot read: moto's own answer stands
            return changes
        by_id = {change.logical_resource_id: change for change in changes}
        for logical_id, body in after.items():
            if logical_id not in before:
                continue
            details = _property_details(body["Type"], before[logical_id].get("Properties", {}), body.get("Properties", {}), region)
            change = by_id.get(logical_id)
            if not details:
                if change is not None and change.action == "Modify":
                    changes.remove(change)  # the text differs, the values do not: AWS lists no change
                continue
            if change is None:
                change = cloudformation.Change(action="Modify", logical_resource_id=logical_id, resource_type=body["Type"])
                changes.append(change)
            change.details = details
            change.scope = ["Properties"]
            change.replacement = "True" if any(d["Target"]["RequiresRecreation"] == "Always" for d in details) else "False"
        return changes

    patch.set(cloudformation.ChangeSet, "diff", diff)


def _resolved(template: dict[str, Any], parameters: dict[str, Any], region: str, account: str, stack_name: str) -> dict[str, Any]:
    from .resolve import resolve

    declared = template.get("Parameters", {})
    values = {key: ",".join(value) if isinstance(value, list) else str(value) for key, value in (parameters or {}).items() if key in declared}
    return dict(resolve(template, values, region=region, account=account, stack_name=stack_name)["Resources"])


def _create_only(resource_type: str, region: str) -> set[str]:
    """The top-level properties whose change replaces the resource (the type's createOnlyProperties)."""
    try:
        from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    except Exception:  # a type cfn-lint does not know: the safe answer is unknown, said as Never
        return set()
    return {path.split("/")[2] for path in schema.get("createOnlyProperties", []) if path.count("/") == 2}


def _value_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def _differences(before: Any, after: Any, path: str) -> list[tuple[str, Any, Any]]:
    """(JSON path, before, after) of each differing value; lists of equal length compared item by item."""
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in sorted(set(before) | set(after), key=str):
            found += _differences(before.get(key, _MISSING), after.get(key, _MISSING), f"{path}/{key}")
        return found
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [item for index, (b, a) in enumerate(zip(before, after, strict=True)) for item in _differences(b, a, f"{path}/{index}")]
    return [] if before == after else [(path, before, after)]


def _property_details(resource_type: str, before: dict[str, Any], after: dict[str, Any], region: str) -> list[dict[str, Any]]:
    replaced = _create_only(resource_type, region)
    details = []
    for path, old, new in _differences(before, after, "/Properties"):
        name = path.split("/")[2]
        target: dict[str, Any] = {
            "Attribute": "Properties",
            "Name": name,
            "Path": path,
            "RequiresRecreation": "Always" if name in replaced else "Never",
            "AttributeChangeType": "Add" if old is _MISSING else "Remove" if new is _MISSING else "Modify",
        }
        if old is not _MISSING:
            target["BeforeValue"] = _value_text(old)
        if new is not _MISSING:
            target["AfterValue"] = _value_text(new)
        details.append({"Target": target, "Evaluation": "Static", "ChangeSource": "DirectModification"})
    return details


@fix
def deleted_stacks_stay_deleted(patch: Patcher) -> None:
    """Defect. Describing a deleted stack (as taskcat and every waiter do while a deletion runs)
    made moto evaluate the stack's outputs and resources again, and its lazy resource map then
    created every deleted resource anew: the stack said DELETE_COMPLETE while all its resources
    were back. A deleted stack has no outputs and no resources in CloudFormation; the fix answers so."""
    from moto.cloudformation.models import Stack as FakeStack

    original_outputs, original_resources = FakeStack.outputs, FakeStack.stack_resources

    def deleted(stack: Any) -> bool:
        return str(stack.status).startswith("DELETE")

    patch.set(FakeStack, "outputs", property(lambda self: None if deleted(self) else original_outputs.fget(self)))
    patch.set(FakeStack, "stack_resources", property(lambda self: [] if deleted(self) else original_resources.fget(self)))


@fix
def stack_events_name_each_resource(patch: Patcher) -> None:
    """Defect. CloudFormation writes a CREATE_IN_PROGRESS and a CREATE_COMPLETE event for each
    resource it creates, with its logical and physical ids and type (DescribeStackEvents,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackEvent.html); moto writes
    the stack's own events only, so an operator watching the events (or taskcat's verdict) could not
    tell which resources were made. The fix writes both events for every resource moto created, in
    the order it created them, before the stack's CREATE_COMPLETE; a type moto does not model gets
    no event, as it gets no resource."""
    from moto.cloudformation.models import Event
    from moto.cloudformation.models import Stack as FakeStack

    original = FakeStack.mark_creation_complete

    def mark_creation_complete(self: Any) -> None:
        created = getattr(self.resource_map, "_parsed_resources", {})
        for logical_id, body in (self.template_dict.get("Resources") or {}).items():
            instance = created.get(logical_id)
            if instance is None:
                continue
            physical = str(getattr(instance, "physical_resource_id", "") or "")
            for status in ("CREATE_IN_PROGRESS", "CREATE_COMPLETE"):
                self.events.append(Event(self.stack_id, self.name, logical_id, physical, body.get("Type", ""), status, None, None))
        original(self)

    patch.set(FakeStack, "mark_creation_complete", mark_creation_complete)


@fix
def switched_off_outputs_export_nothing(patch: Patcher) -> None:
    """Defect. An output whose Condition is false does not exist in CloudFormation, nor does its
    export. moto leaves such outputs out of the stack's outputs but still evaluates their exports,
    and then fails on the resource the condition kept out ("Fn::GetAtt references undefined
    resource"). The fix leaves their exports out too."""
    from moto.cloudformation import parsing

    original = parsing.OutputMap.exports

    def exports(self: Any) -> list[Any]:
        conditions = self._resource_map.lazy_condition_map
        switched_off = {name for name, body in (self._output_json_map or {}).items() if "Condition" in body and not conditions.get(body["Condition"])}
        if not switched_off:
            return original.fget(self)
        kept = {name: body for name, body in self._output_json_map.items() if name not in switched_off}
        saved, self._output_json_map = self._output_json_map, kept
        try:
            return original.fget(self)
        finally:
            self._output_json_map = saved

    patch.set(parsing.OutputMap, "exports", property(exports))


@fix
def kms_key_tags_from_cloudformation(patch: Patcher) -> None:
    """Defect. CloudFormation gives a key's tags as Key/Value; moto's handler passes them to its
    API model, which reads TagKey/TagValue, and fails. And it keeps the KeyPolicy object as given
    where the model keeps the policy's JSON text, so every call that checks the key policy
    (DescribeKey among them) failed. The fix passes both as the model reads them."""
    from moto.kms import models as kms

    original = kms.Key.create_from_cloudformation_json.__func__

    def create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        properties = dict(cloudformation_json.get("Properties", {}))
        if "Tags" in properties:
            properties["Tags"] = [{"TagKey": tag["Key"], "TagValue": tag["Value"]} for tag in properties["Tags"]]
        if isinstance(properties.get("KeyPolicy"), dict):
            properties["KeyPolicy"] = json.dumps(properties["KeyPolicy"])
        return original(cls, resource_name, {**cloudformation_json, "Properties": properties}, account_id, region_name, **kwargs)

    patch.set(kms.Key, "create_from_cloudformation_json", classmethod(create))


@fix
def ecr_repository_properties_from_cloudformation(patch: Patcher) -> None:
    """Defect. moto's CloudFormation handler passes ImageScanningConfiguration and
    EncryptionConfiguration with CloudFormation's capitalised keys where its API model reads the
    API's camel-case keys, so scan-on-push and the KMS key were lost; it ignores EmptyOnDelete,
    so a stack whose repositories hold images could not be deleted; and it ignores LifecyclePolicy,
    so no lifecycle rule applied. The fix passes the four on."""
    from moto.ecr import models as ecr

    original = ecr.Repository.create_from_cloudformation_json.__func__

    def camel(mapping: dict[str, Any] | None) -> dict[str, Any] | None:
        return {key[:1].lower() + key[1:]: value for key, value in mapping.items()} if mapping else mapping

    def create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        properties = dict(cloudformation_json.get("Properties", {}))
        for key in ("ImageScanningConfiguration", "EncryptionConfiguration"):
            if key in properties:
                properties[key] = camel(properties[key])
        repository = original(cls, resource_name, {**cloudformation_json, "Properties": properties}, account_id, region_name, **kwargs)
        repository.empty_on_delete = bool(properties.get("EmptyOnDelete", False))
        lifecycle = properties.get("LifecyclePolicy", {}).get("LifecyclePolicyText")
        if lifecycle:
            backend = ecr.ecr_backends[account_id][region_name]
            backend.put_lifecycle_policy(registry_id=account_id, repository_name=repository.name, lifecycle_policy_text=lifecycle)
        return repository

    def delete(self: Any, account_id: str, region_name: str) -> None:
        ecr.ecr_backends[account_id][region_name].delete_repository(self.name, force=getattr(self, "empty_on_delete", False))

    patch.set(ecr.Repository, "create_from_cloudformation_json", classmethod(create))
    patch.set(ecr.Repository, "delete", delete)


@fix
def ecr_image_digest_is_the_manifest_digest(patch: Patcher) -> None:
    """Defect. ECR names an image by the SHA-256 digest of its manifest, as every registry does
    (ECR API reference, ImageIdentifier: "The sha256 digest of the image manifest"); moto hashes
    the concatenated layer digests instead, so the digest a service would pull by was not the
    image's. The fix computes the digest from the manifest's bytes, as pushed."""
    import hashlib

    from moto.ecr import models as ecr

    def create_digest(self: Any) -> None:
        self._image_digest = "sha256:" + hashlib.sha256(self.image_manifest.encode("utf-8")).hexdigest()

    patch.set(ecr.Image, "_create_digest", create_digest)


@fix
def s3_reports_eventbridge_delivery(patch: Patcher) -> None:
    """Defect. moto stores a bucket's EventBridgeConfiguration (and sends its events) but leaves it
    out of GetBucketNotificationConfiguration, so a reader could not tell that delivery is on (S3
    API reference, GetBucketNotificationConfiguration: EventBridgeConfiguration, "Enables delivery
    of events to Amazon EventBridge"). The fix adds it to the answer when it is on."""
    from moto.s3 import responses as s3

    original = s3.S3Response.get_bucket_notification

    def get_bucket_notification(self: Any) -> Any:
        answer = original(self)
        configuration = self.backend.get_bucket_notification_configuration(self.bucket_name)
        if configuration is None or configuration.event_bridge is None:
            return answer
        status, headers, body = answer if isinstance(answer, tuple) else (200, {}, answer)
        text = body.decode() if isinstance(body, bytes) else str(body)
        marker = "</NotificationConfiguration>"
        if "<EventBridgeConfiguration" in text:
            return answer
        if marker in text:
            text = text.replace(marker, "<EventBridgeConfiguration></EventBridgeConfiguration>" + marker)
        else:  # moto answered with an empty result: the document is the EventBridge element alone
            text = '<?xml version="1.0" encoding="UTF-8"?><NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            text += "<EventBridgeConfiguration></EventBridgeConfiguration>" + marker
        return status, {key: value for key, value in headers.items() if key.lower() != "content-length"}, text

    patch.set(s3.S3Response, "get_bucket_notification", get_bucket_notification)


@fix
def sns_email_subscriptions_wait_for_confirmation(patch: Patcher) -> None:
    """Missing rule. An e-mail subscription is pending until its owner follows the link SNS mails
    them; until then SNS lists it with the ARN "PendingConfirmation" and delivers nothing to it
    (SNS API reference, Subscribe and ListSubscriptionsByTopic). moto confirms every subscription at
    once. The fix keeps e-mail subscriptions pending: no mail can be confirmed locally."""
    import copy

    from moto.sns import models as sns

    original_subscribe = sns.SNSBackend.subscribe
    original_list = sns.SNSBackend.list_subscriptions_by_topic

    def subscribe(self: Any, topic_arn: str, endpoint: str, protocol: str) -> Any:
        subscription = original_subscribe(self, topic_arn, endpoint, protocol)
        if protocol in ("email", "email-json"):
            subscription.attributes["PendingConfirmation"] = "true"
            subscription.attributes["ConfirmationWasAuthenticated"] = "false"
        return subscription

    def listed(subscription: Any) -> Any:
        if subscription.attributes.get("PendingConfirmation") != "true":
            return subscription
        shown = copy.copy(subscription)
        shown.arn = "PendingConfirmation"
        return shown

    def list_subscriptions_by_topic(self: Any, topic_arn: str, next_token: str | None = None) -> Any:
        subscriptions, token = original_list(self, topic_arn, next_token=next_token)
        return [listed(subscription) for subscription in subscriptions], token

    patch.set(sns.SNSBackend, "subscribe", subscribe)
    patch.set(sns.SNSBackend, "list_subscriptions_by_topic", list_subscriptions_by_topic)


@fix
def log_group_key_from_cloudformation(patch: Patcher) -> None:
    """Defect. The CloudFormation handler passes KmsKeyId where the log-group model reads kmsKeyId,
    so the log group's key was lost. The fix passes it under the name the model reads."""
    from moto.logs import models as logs

    original = logs.LogGroup.create_from_cloudformation_json.__func__

    def create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        properties = dict(cloudformation_json.get("Properties", {}))
        if "KmsKeyId" in properties:
            properties["kmsKeyId"] = properties["KmsKeyId"]
        return original(cls, resource_name, {**cloudformation_json, "Properties": properties}, account_id, region_name, **kwargs)

    patch.set(logs.LogGroup, "create_from_cloudformation_json", classmethod(create))


@fix
def access_denied_in_the_services_protocol(patch: Patcher) -> None:
    """Defect. moto answers every refused authorisation with the query protocol's XML error, whatever
    the service speaks; a client of a JSON-protocol service (SQS, EventBridge, KMS, ECS, CloudWatch
    Logs) then finds no error code in the body and is left with the HTTP status, 403, which an expired
    token or a bad signature also gives. AWS answers a JSON request's error as JSON, its type in
    "__type" (AWS JSON 1.0/1.1 protocols, https://smithy.io/2.0/aws/protocols/aws-json-1_0-protocol.html),
    and SQS, compatible with its former query protocol, adds the query error code in the
    x-amzn-query-error header (https://smithy.io/2.0/aws/protocols/aws-query-protocol.html#aws-protocols-awsquerycompatible-trait),
    which is what botocore reports as the code. The fix answers a JSON request's refusal so:
    AccessDeniedException, and AccessDenied for SQS."""
    from moto.core.responses import BaseResponse

    original = BaseResponse.call_action

    def call_action(self: Any) -> Any:
        status, headers, body = original(self)
        json_request = bool(self.headers.get("X-Amz-Target")) if hasattr(self.headers, "get") else False
        if status == 403 and json_request and isinstance(body, str) and body.lstrip().startswith("<?xml"):
            code = re.search(r"<Code>(.*?)</Code>", body, re.DOTALL)
            message = re.search(r"<Message>(.*?)</Message>", body, re.DOTALL)
            # an authorisation refusal becomes the protocol's access-denied code; any other 403 (a bad
            # signature, an unknown or expired token) keeps its own code, so that it is never a denial
            query_code = code.group(1) if code else "AccessDenied"
            error_type = "AccessDeniedException" if query_code == "AccessDenied" else query_code
            body = json.dumps({"__type": error_type, "message": message.group(1) if message else "Access denied"})
            headers = {**headers, "Content-Type": "application/x-amz-json-1.0", "X-Amzn-ErrorType": error_type}
            if getattr(self, "service_name", "") == "sqs":
                headers["x-amzn-query-error"] = f"{query_code};Sender"
        return status, headers, body

    patch.set(BaseResponse, "call_action", call_action)


@fix
def sns_and_eventbridge_authorised_on_their_resource(patch: Patcher) -> None:
    """Defect. moto authorises SNS and EventBridge requests against Resource "*" because it does not
    determine their resource (it does for S3 and SQS), so a policy that names its topic or bus was
    denied everything. The fix names the request's topic or bus, as AWS evaluates it."""
    from moto.events.responses import EventsHandler
    from moto.sns.responses import SNSResponse

    def topic(self: Any) -> str:
        return self._get_param("TopicArn") or self._get_param("TargetArn") or "*"

    def bus(self: Any) -> str:
        entries = self._get_param("Entries") or []
        if not entries or self._get_action() != "PutEvents":
            return "*"
        name = entries[0].get("EventBusName") or "default"
        return name if name.startswith("arn:") else f"arn:aws:events:{self.region}:{self.current_account}:event-bus/{name}"

    patch.set(SNSResponse, "_determine_resource", topic)
    patch.set(EventsHandler, "_determine_resource", bus)


@fix
def ecr_authorised_on_its_repository(patch: Patcher) -> None:
    """Defect. moto authorises ECR requests against Resource "*" (it determines no resource for
    them), so a policy that names its repositories (ecr:DescribeImages on the job repositories)
    was denied. The fix names the request's repository, as AWS evaluates it (Service Authorization
    Reference, Amazon ECR: the repository resource type); GetAuthorizationToken stays on "*"."""
    from moto.ecr.responses import ECRResponse

    def repository(self: Any) -> str:
        name = self._get_param("repositoryName")
        if not name:
            return "*"
        account = self._get_param("registryId") or self.current_account
        return f"arn:aws:ecr:{self.region}:{account}:repository/{name}"

    patch.set(ECRResponse, "_determine_resource", repository)


def _may_be_no_value(written: Any) -> bool:
    """An element written as AWS::NoValue, or as a Fn::If one of whose branches may be it."""
    return isinstance(written, dict) and (written == {"Ref": "AWS::NoValue"} or "Fn::If" in written)


@fix
def no_value_in_a_list_removes_the_element(patch: Patcher) -> None:
    """Defect. In CloudFormation, a list element that evaluates to AWS::NoValue (a Fn::If whose chosen
    branch is {"Ref": "AWS::NoValue"}) is removed from the list (pseudo parameters, AWS::NoValue:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html);
    moto leaves a null in its place, and a statement list holding a null broke the access check of
    every call made with the role (a TypeError, answered 500). The fix drops such elements."""
    from moto.cloudformation import parsing

    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        cleaned = original(resource_json, resources_map)
        if isinstance(resource_json, list) and isinstance(cleaned, list) and len(cleaned) == len(resource_json):
            return [value for value, written in zip(cleaned, resource_json, strict=True) if not (value is None and _may_be_no_value(written))]
        return cleaned

    patch.set(parsing, "clean_json", clean_json)


@fix
def cloudwatch_alarm_reads_authorised_on_the_alarm(patch: Patcher) -> None:
    """Defect. moto authorises CloudWatch requests against Resource "*", so a policy that names
    the alarms it may read (cloudwatch:DescribeAlarms on their ARNs: the Service Authorization
    Reference lists the alarm resource type for it,
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.md)
    was denied; and it asked for the action under the request's signing name (monitoring:...), not
    CloudWatch's IAM prefix (cloudwatch:...), so no policy naming a CloudWatch action matched. The fix
    names the alarm of a DescribeAlarms that asks for one alarm by name (other requests stay on "*"),
    and the action under the cloudwatch prefix."""
    from moto.cloudwatch.responses import CloudWatchResponse
    from moto.iam.access_control import IAMRequestBase

    original = IAMRequestBase.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if self._action.startswith("monitoring:"):
            self._action = "cloudwatch:" + self._action.split(":", 1)[1]

    def alarm(self: Any) -> str:
        if self._get_action() != "DescribeAlarms":
            return "*"
        names = self._get_param("AlarmNames", [])
        if len(names) != 1:
            return "*"
        return f"arn:aws:cloudwatch:{self.region}:{self.current_account}:alarm:{names[0]}"

    patch.set(CloudWatchResponse, "_determine_resource", alarm)
    patch.set(IAMRequestBase, "__init__", init)


@fix
def inline_role_policies_read_as_json(patch: Patcher) -> None:
    """Defect. moto's CloudFormation handler stores inline role policies as objects where its IAM
    model stores JSON text, and its access check then failed with an error on every call made with
    the role. The fix reads such a document as the JSON it is."""
    from moto.iam import access_control

    original = access_control.IAMPolicy.__init__

    def init(self: Any, policy: Any) -> None:
        if isinstance(policy, dict) and "policy_document" not in policy:
            policy = json.dumps(policy)
        original(self, policy)

    patch.set(access_control.IAMPolicy, "__init__", init)


@fix
def sqs_batch_calls_need_the_single_action(patch: Patcher) -> None:
    """Defect. AWS authorises SendMessageBatch, DeleteMessageBatch and ChangeMessageVisibilityBatch
    with the permission of the single action (sqs:SendMessage, ...; SQS developer guide, "Amazon SQS
    API permissions"); moto asks for an action named after the batch call, which no policy grants."""
    from moto.iam.access_control import IAMRequestBase

    original = IAMRequestBase.__init__
    single = {
        "sqs:SendMessageBatch": "sqs:SendMessage",
        "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    }

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self._action = single.get(self._action, self._action)

    patch.set(IAMRequestBase, "__init__", init)


@fix
def ecs_cluster_deleted_with_its_stack(patch: Patcher) -> None:
    """Defect. moto's CloudFormation model of a cluster has no delete, so deleting the stack left the
    cluster behind. The fix deletes it, as CloudFormation does."""
    from moto.ecs import models as ecs

    def delete(self: Any, account_id: str, region_name: str) -> None:
        ecs.ecs_backends[account_id][region_name].delete_cluster(self.arn)

    patch.set(ecs.Cluster, "delete", delete)


@fix
def task_definitions_keep_their_properties(patch: Patcher) -> None:
    """Defect. moto's CloudFormation handler registers a task definition with its family,
    containers, volumes and memory only: the task and execution roles, CPU, network mode,
    compatibilities and runtime platform were lost, so RunTask could check no PassRole and the
    live checks saw none of them. The fix registers every property the template gives (on update,
    a new revision, as CloudFormation makes one)."""
    from moto.core.utils import pascal_to_camelcase, remap_nested_keys
    from moto.ecs import models as ecs

    def register(properties: dict[str, Any], account_id: str, region_name: str) -> Any:
        backend = ecs.ecs_backends[account_id][region_name]
        return backend.register_task_definition(
            family=properties.get("Family") or f"task-definition-{abs(hash(json.dumps(properties, sort_keys=True, default=str))) % 10**6}",
            container_definitions=remap_nested_keys(properties.get("ContainerDefinitions", []), pascal_to_camelcase),
            volumes=remap_nested_keys(properties.get("Volumes", []), pascal_to_camelcase),
            network_mode=properties.get("NetworkMode"),
            requires_compatibilities=properties.get("RequiresCompatibilities"),
            cpu=properties.get("Cpu"),
            memory=properties.get("Memory"),
            task_role_arn=properties.get("TaskRoleArn"),
            execution_role_arn=properties.get("ExecutionRoleArn"),
            runtime_platform=remap_nested_keys(properties["RuntimePlatform"], pascal_to_camelcase) if "RuntimePlatform" in properties else None,
            tags=remap_nested_keys(properties.get("Tags", []), pascal_to_camelcase) or None,
        )

    def create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        return register(cloudformation_json["Properties"], account_id, region_name)

    def update(cls: Any, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> Any:
        ecs.ecs_backends[account_id][region_name].deregister_task_definition(original_resource.arn)
        return register(cloudformation_json["Properties"], account_id, region_name)

    patch.set(ecs.TaskDefinition, "create_from_cloudformation_json", classmethod(create))
    patch.set(ecs.TaskDefinition, "update_from_cloudformation_json", classmethod(update))


@fix
def cloudwatch_alarms_from_cloudformation(patch: Patcher) -> None:
    """Defect. moto models metric alarms (PutMetricAlarm, DescribeAlarms) but its CloudFormation
    skips AWS::CloudWatch::Alarm with a warning, so no deployed alarm could be read back. The fix
    creates each alarm through moto's own alarm model, metric-math alarms included. moto computes
    no alarm state from metrics: a deployed alarm shows its definition, not whether it fires."""
    from moto.cloudformation import parsing
    from moto.cloudwatch import models as cloudwatch

    def queries(metrics: list[dict[str, Any]]) -> list[Any] | None:
        found = []
        for metric in metrics:
            stat = metric.get("MetricStat")
            metric_stat = None
            if stat:
                dimensions = [cloudwatch.Dimension(name=d["Name"], value=d["Value"]) for d in stat["Metric"].get("Dimensions", [])]
                metric_stat = cloudwatch.MetricStat(
                    metric=cloudwatch.Metric(metric_name=stat["Metric"]["MetricName"], namespace=stat["Metric"]["Namespace"], dimensions=dimensions),
                    period=stat.get("Period"),
                    stat=stat.get("Stat"),
                    unit=stat.get("Unit"),
                )
            found.append(
                cloudwatch.MetricDataQuery(
                    query_id=metric["Id"],
                    label=metric.get("Label"),
                    period=metric.get("Period"),
                    return_data=metric.get("ReturnData"),
                    expression=metric.get("Expression"),
                    metric_stat=metric_stat,
                )
            )
        return found or None

    class AlarmFromCloudFormation:
        """The CloudFormation face of moto's alarm model (a plain class: moto finds it through the
        patched model map, and undoing the fix leaves nothing registered)."""

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::CloudWatch::Alarm"

        @staticmethod
        def cloudformation_name_type() -> str:
            return "AlarmName"

        @staticmethod
        def has_cfn_attr(attribute: str) -> bool:
            return False  # no attribute of an alarm is read by Fn::GetAtt here

        @classmethod
        def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
            p = cloudformation_json["Properties"]
            backend = cloudwatch.cloudwatch_backends[account_id][region_name]
            alarm = backend.put_metric_alarm(
                name=p.get("AlarmName", resource_name),
                namespace=p.get("Namespace"),
                metric_name=p.get("MetricName"),
                comparison_operator=p["ComparisonOperator"],
                evaluation_periods=p["EvaluationPeriods"],
                period=p.get("Period"),
                threshold=p.get("Threshold"),
                statistic=p.get("Statistic"),
                description=p.get("AlarmDescription"),
                dimensions=p.get("Dimensions", []),
                alarm_actions=p.get("AlarmActions", []),
                metric_data_queries=queries(p.get("Metrics", [])),
                ok_actions=p.get("OKActions"),
                insufficient_data_actions=p.get("InsufficientDataActions"),
                treat_missing_data=p.get("TreatMissingData"),
                datapoints_to_alarm=p.get("DatapointsToAlarm"),
            )
            alarm.physical_resource_id = alarm.name
            alarm.is_created = lambda: True  # what CloudFormation asks of every resource it made
            return alarm

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> None:
            cloudwatch.cloudwatch_backends[account_id][region_name].delete_alarms([resource_name])

    original_map = parsing.get_model_map

    def model_map() -> dict[str, Any]:
        return {**original_map(), "AWS::CloudWatch::Alarm": AlarmFromCloudFormation}

    patch.set(parsing, "get_model_map", model_map)


@fix
def network_interfaces_have_a_private_dns_name(patch: Patcher) -> None:
    """Defect. moto's RunTask of an awsvpc task reads a network interface's private DNS name, which
    its model never sets, and fails with an AttributeError: no Fargate task could be run. The fix
    derives the name from the private address, in EC2's format (ip-10-0-1-5.ec2.internal)."""
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface

    def private_dns_name(self: Any) -> str:
        domain = "ec2.internal" if self.ec2_backend.region_name == "us-east-1" else f"{self.ec2_backend.region_name}.compute.internal"
        return f"ip-{self.private_ip_address.replace('.', '-')}.{domain}"

    patch.set(NetworkInterface, "private_dns_name", property(private_dns_name))


@fix
def ecs_tasks_carry_their_start_time(patch: Patcher) -> None:
    """Missing rule. DescribeTasks returns when each task was created and started (the ECS API's Task
    shape, createdAt and startedAt, in botocore's ECS model); moto's tasks carry neither, so nothing
    can tell how long a task has run (the deadline check stops one-shot tasks past their deadline).
    The fix stamps both when moto creates the task (moto's tasks start RUNNING at once)."""
    from moto.core.utils import utcnow
    from moto.ecs.models import Task

    original = Task.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.created_at = self.started_at = utcnow()

    patch.set(Task, "__init__", __init__)


@fix
def events_ecs_targets_in_the_api_shape(patch: Patcher) -> None:
    """Defect. An ECS target's parameters are cased differently in CloudFormation
    (NetworkConfiguration.AwsVpcConfiguration, CapacityProvider, Weight, Base) and in the EventBridge
    API (awsvpcConfiguration, capacityProvider, weight, base). moto stores the CloudFormation keys,
    and a client then reads a target without network configuration or capacity provider strategy.
    The fix stores the target in the API's shape, as CloudFormation passes it to EventBridge."""
    from moto.events import models as events

    original = events.EventsBackend.put_targets

    def put_targets(self: Any, name: str, event_bus_arn: str | None, targets: list[dict[str, Any]]) -> Any:
        return original(self, name, event_bus_arn, [ecs_target_in_the_api_shape(target) for target in targets])

    patch.set(events.EventsBackend, "put_targets", put_targets)


def ecs_target_in_the_api_shape(target: dict[str, Any]) -> dict[str, Any]:
    """An ECS target of a rule or schedule as the EventBridge and Scheduler APIs spell it: CloudFormation
    writes AwsVpcConfiguration (rules) or AwsvpcConfiguration (schedules) and CapacityProvider, the
    APIs awsvpcConfiguration and capacityProvider."""
    parameters = target.get("EcsParameters")
    if not parameters:
        return target
    parameters = dict(parameters)
    network = dict(parameters.get("NetworkConfiguration", {}))
    for spelling in ("AwsVpcConfiguration", "AwsvpcConfiguration"):
        if spelling in network:
            network["awsvpcConfiguration"] = network.pop(spelling)
            parameters["NetworkConfiguration"] = network
    if "CapacityProviderStrategy" in parameters:
        parameters["CapacityProviderStrategy"] = [
            {key[:1].lower() + key[1:]: value for key, value in item.items()} for item in parameters["CapacityProviderStrategy"]
        ]
    return {**target, "EcsParameters": parameters}


@fix
def scheduler_schedules_from_cloudformation(patch: Patcher) -> None:
    """Defect. moto models EventBridge Scheduler (CreateSchedule, GetSchedule, UpdateSchedule) but its
    CloudFormation skips AWS::Scheduler::Schedule, so a deployed stack had no schedule to read or to
    disable (teardown disables them first). The fix creates each schedule through moto's own model,
    its ECS target in the API's shape; the physical id is the schedule's name, as CloudFormation's
    (AWS::Scheduler::Schedule, "Return values"). moto runs no schedule: the local runner does."""
    from moto.cloudformation import parsing
    from moto.scheduler import models as scheduler

    class ScheduleFromCloudFormation:
        """The CloudFormation face of moto's schedule model (found through the patched model map)."""

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Scheduler::Schedule"

        @staticmethod
        def cloudformation_name_type() -> str:
            return "Name"

        @staticmethod
        def has_cfn_attr(attribute: str) -> bool:
            return attribute == "Arn"

        @classmethod
        def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
            p = cloudformation_json["Properties"]
            schedule = scheduler.scheduler_backends[account_id][region_name].create_schedule(
                description=p.get("Description"),
                end_date=p.get("EndDate"),
                flexible_time_window=p["FlexibleTimeWindow"],
                group_name=p.get("GroupName"),
                kms_key_arn=p.get("KmsKeyArn"),
                name=p.get("Name", resource_name),
                schedule_expression=p["ScheduleExpression"],
                schedule_expression_timezone=p.get("ScheduleExpressionTimezone"),
                start_date=p.get("StartDate"),
                state=p.get("State"),
                target=ecs_target_in_the_api_shape(dict(p["Target"])),
                action_after_completion=None,
            )
            schedule.physical_resource_id = schedule.name
            schedule.get_cfn_attribute = lambda attribute: schedule.arn
            schedule.is_created = lambda: True  # what CloudFormation asks of every resource it made
            return schedule

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> None:
            group = cloudformation_json.get("Properties", {}).get("GroupName")
            scheduler.scheduler_backends[account_id][region_name].delete_schedule(group, resource_name)

    original_map = parsing.get_model_map

    def model_map() -> dict[str, Any]:
        return {**original_map(), "AWS::Scheduler::Schedule": ScheduleFromCloudFormation}

    patch.set(parsing, "get_model_map", model_map)


@fix
def events_bus_ref_is_its_name(patch: Patcher) -> None:
    """Defect. CloudFormation's Ref of an AWS::Events::EventBus returns the bus's name (CloudFormation
    user guide, AWS::Events::EventBus, "Return values"); moto's model
    has no physical id, so Ref returned the Python object (every property built from it broke) and
    the stack's resource list showed the bus without an id. The fix gives the bus its name as id."""
    from moto.events import models as events

    patch.set(events.EventBus, "physical_resource_id", property(lambda self: self.name))


@fix
def events_rule_ref_on_a_custom_bus(patch: Patcher) -> None:
    """Defect. CloudFormation's Ref of an AWS::Events::Rule on a custom event bus returns
    "busname|rulename" (cloudformation-coverage-roadmap#1131); moto returns the rule name, which hid
    outputs and alarm dimensions that took a rule's name from its Ref. The fix returns what
    CloudFormation returns, and deletes by the rule's name."""
    from moto.events import models as events

    def physical_resource_id(self: Any) -> str:
        bus = (self.event_bus_name or "default").rsplit("/", 1)[-1]
        return self.name if bus == "default" else f"{bus}|{self.name}"

    original_delete = events.Rule.delete_from_cloudformation_json.__func__

    def delete(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> None:
        original_delete(cls, resource_name.rsplit("|", 1)[-1], cloudformation_json, account_id, region_name)

    patch.set(events.Rule, "physical_resource_id", property(physical_resource_id))
    patch.set(events.Rule, "delete_from_cloudformation_json", classmethod(delete))


@fix
def signatures_of_requests_without_a_body(patch: Patcher) -> None:
    """Defect. To check a request's SigV4 signature moto re-signs it with its parsed form data as the
    body and its path without the query; for a request with no body and no form (a REST GET such as
    Scheduler's GetSchedule or ListSchedules) that data is the request's headers, so every such call
    of an IAM user failed with SignatureDoesNotMatch. The fix re-signs what was sent: the path with
    its query string, and the empty body."""
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam.access_control import IAMRequestBase

    original_authorise = ActionAuthenticatorMixin._authenticate_and_authorize_action
    original_request = IAMRequestBase._create_aws_request

    def authorise(self: Any, iam_request_cls: Any, resource: str = "*") -> None:
        token = SIGNED_QUERY.set(urlparse(self.uri).query)
        try:
            original_authorise(self, iam_request_cls, resource)
        finally:
            SIGNED_QUERY.reset(token)

    def create_aws_request(self: Any) -> Any:
        request = original_request(self)
        sent_query = urlparse(self._path).query or SIGNED_QUERY.get()
        form = {key.lower() for key in self._data}
        from_headers = form == {key.lower() for key in self._headers.keys()}  # noqa: SIM118 (werkzeug headers iterate as pairs)
        from_query = bool(sent_query) and form == {key.lower() for key in parse_qs(sent_query, keep_blank_values=True)}
        if not self._body and (from_headers or from_query):  # nothing was in the body: sign none
            request.data = b""
            if sent_query and "?" not in self._path:
                request.url = f"{self._path}?{sent_query}"
        return request

    patch.set(ActionAuthenticatorMixin, "_authenticate_and_authorize_action", authorise)
    patch.set(IAMRequestBase, "_create_aws_request", create_aws_request)


# --- missing rules: what AWS enforces and moto does not -----------------------------------------


@fix
def policy_conditions_evaluated(patch: Patcher) -> None:
    """Missing rule. moto ignores a statement's Condition for identity policies (it evaluates only
    StringEquals, only in trust policies, and treats a key absent from the request as a match),
    and a statement whose condition fails is an explicit deny in moto where AWS just does not apply
    it. The fix decides conditions as AWS does (riskbatch_infra/iam_conditions.py, after the IAM
    user guide), against a request context holding the keys the templates use:
    aws:SecureTransport (the request's scheme), s3:prefix (ListObjects), ecs:cluster (RunTask,
    StartTask), iam:PassedToService (set by the PassRole check on RunTask), and aws:SourceAccount /
    aws:SourceArn when the local runner acts as a service. A statement without Resource (a trust
    policy) now takes its Effect, where moto allowed even a Deny."""
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    from .iam_conditions import condition_holds

    def is_action_permitted(self: Any, action: str, resource: str = "*", principal: str | None = None, incoming_condition_values: Any = None) -> Any:
        statement = self._statement
        concerned = not self._check_element_matches("NotAction", action) if "NotAction" in statement else self._check_element_matches("Action", action)
        if not concerned or self.is_unknown_principal(statement.get("Principal")):
            return PermissionResult.NEUTRAL
        if principal and not self._check_principal(principal):
            return PermissionResult.DENIED  # moto's reading of a trust policy's principal, unchanged
        context = {**(REQUEST_CONTEXT.get() or {}), **{key.lower(): as_list(value) for key, value in (incoming_condition_values or {}).items()}}
        if "Condition" in statement and not condition_holds(statement["Condition"], context):
            return PermissionResult.NEUTRAL
        effect = PermissionResult.PERMITTED if statement["Effect"] == "Allow" else PermissionResult.DENIED
        if "NotResource" in statement:
            return effect if not self._check_element_matches("NotResource", resource) else PermissionResult.NEUTRAL
        if not statement.get("Resource"):
            return effect
        return effect if self._check_element_matches("Resource", resource) else PermissionResult.NEUTRAL

    original = ActionAuthenticatorMixin._authenticate_and_authorize_action

    def authorise(self: Any, iam_request_cls: Any, resource: str = "*") -> None:
        with request_context(_context_of(self)):
            original(self, iam_request_cls, resource)

    patch.set(IAMPolicyStatement, "is_action_permitted", is_action_permitted)
    patch.set(ActionAuthenticatorMixin, "_authenticate_and_authorize_action", authorise)


def _context_of(response: Any) -> dict[str, list[str]]:
    """The condition keys of a request, as AWS sets them for the calls the jobs and probes make."""
    context = {"aws:securetransport": ["true" if urlparse(response.uri).scheme == "https" else "false"]}
    service = getattr(response, "service_name", "")
    if service == "s3" and "prefix" in getattr(response, "querystring", {}):
        context["s3:prefix"] = [response.querystring["prefix"][0]]
    if service == "ecs" and response._get_action() in {"RunTask", "StartTask", "ListTasks", "StopTask", "DescribeTasks"}:
        cluster = response._get_param("cluster") or "default"
        if not cluster.startswith("arn:"):
            cluster = f"arn:aws:ecs:{response.region}:{response.current_account}:cluster/{cluster}"
        context["ecs:cluster"] = [cluster]
    return context


@fix
def ec2_refuses_descriptions_outside_its_character_set(patch: Patcher) -> None:
    """Missing rule. EC2 allows only a-zA-Z0-9 ._-:/()#,@[]+=&;{}!$* (at most 255) in security-group
    and rule descriptions (CreateSecurityGroup, IpRange:
    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IpRange.html) and answers anything
    else with InvalidParameterValue; moto accepts any text, and its CloudFormation handler drops rule
    descriptions unchecked. The fix checks CreateSecurityGroup, AuthorizeSecurityGroupIngress/Egress
    and the group's inline rules from CloudFormation with the constraint table of naming.py."""
    from moto.ec2.exceptions import InvalidParameterValue
    from moto.ec2.models.security_groups import SecurityGroup, SecurityGroupBackend

    from .naming import EC2_DESCRIPTION, EC2_DESCRIPTION_MAX

    def check(description: Any, field: str) -> None:
        import re

        if description is None:
            return
        if len(str(description)) > EC2_DESCRIPTION_MAX or not re.fullmatch(EC2_DESCRIPTION, str(description)):
            allowed = "a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*"
            raise InvalidParameterValue(f"Invalid {field}: {description!r}. Valid descriptions are strings less than 256 characters from: {allowed}")

    def rule_descriptions(*collections: Any) -> Iterator[Any]:
        for collection in collections:
            for item in collection or []:
                if isinstance(item, dict):
                    yield item.get("Description")

    original_create = SecurityGroupBackend.create_security_group

    def create_security_group(self: Any, name: str, description: str, *args: Any, **kwargs: Any) -> Any:
        check(description, "group description")
        return original_create(self, name, description, *args, **kwargs)

    def authorising(original: Callable[..., Any]) -> Callable[..., Any]:
        def authorise(self: Any, *args: Any, **kwargs: Any) -> Any:
            for description in rule_descriptions(kwargs.get("ip_ranges"), kwargs.get("source_groups"), kwargs.get("prefix_list_ids")):
                check(description, "rule description")
            return original(self, *args, **kwargs)

        return authorise

    original_cfn = SecurityGroup.create_from_cloudformation_json.__func__

    def create_from_cloudformation(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        properties = cloudformation_json.get("Properties", {})
        check(properties.get("GroupDescription"), "group description")
        for description in rule_descriptions(properties.get("SecurityGroupIngress"), properties.get("SecurityGroupEgress")):
            check(description, "rule description")
        return original_cfn(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)

    patch.set(SecurityGroupBackend, "create_security_group", create_security_group)
    patch.set(SecurityGroupBackend, "authorize_security_group_ingress", authorising(SecurityGroupBackend.authorize_security_group_ingress))
    patch.set(SecurityGroupBackend, "authorize_security_group_egress", authorising(SecurityGroupBackend.authorize_security_group_egress))
    patch.set(SecurityGroup, "create_from_cloudformation_json", classmethod(create_from_cloudformation))


@fix
def eventbridge_delivery_to_an_encrypted_queue_needs_the_key(patch: Patcher) -> None:
    """Missing rule. To put an event in a queue encrypted with a customer key, EventBridge needs
    kms:GenerateDataKey from the key policy, and its KMS request carries no aws:SourceAccount,
    aws:SourceArn or aws:SourceOrgID (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html),
    so a statement conditioned on them never applies and the event is dropped (the rule's
    FailedInvocations counts it; nothing reaches the queue). moto delivers to any queue. The fix
    decides the key policy as AWS does (riskbatch_infra/key_policy.py) and drops what AWS drops."""
    import warnings

    from moto.events.models import Rule
    from moto.kms import kms_backends
    from moto.sqs import sqs_backends

    from .key_policy import EVENTS, request_context, service_may_use_key

    original = Rule._send_to_sqs_queue

    def key_allows(rule: Any, queue_name: str) -> bool:
        queue = sqs_backends[rule.account_id][rule.region_name].get_queue(queue_name)
        key_id = getattr(queue, "kms_master_key_id", None)
        if not key_id or key_id.startswith("alias/aws/"):
            return True  # SQS-managed encryption or the AWS managed key: nothing for the key policy to grant
        kms = kms_backends[rule.account_id][rule.region_name]
        key = kms.describe_key(kms.any_id_to_key_id(key_id))
        context = request_context(EVENTS, rule.account_id, rule.arn)
        return service_may_use_key(json.loads(key.policy), EVENTS, "kms:GenerateDataKey", context)

    def send_to_sqs_queue(self: Any, resource_id: str, event: dict[str, Any], group_id: str | None = None) -> None:
        if not key_allows(self, resource_id):
            warnings.warn(f"EventBridge may not use the key of {resource_id}: event dropped (FailedInvocations)", stacklevel=2)
            return
        original(self, resource_id, event, group_id)

    patch.set(Rule, "_send_to_sqs_queue", send_to_sqs_queue)


@fix
def s3_missing_key_is_forbidden_without_list_bucket(patch: Patcher) -> None:
    """Missing rule. S3 answers HeadObject and GetObject of a missing key with 404 only when the
    caller has s3:ListBucket on the bucket, and with 403 otherwise; that check carries no s3:prefix,
    so a ListBucket granted under a prefix condition does not count (S3 API reference, HeadObject
    and GetObject, "Permissions": https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html).
    moto always answers 404. The fix answers 403 unless the caller may ListBucket without a prefix."""
    from moto.iam.access_control import S3IAMRequest
    from moto.s3.exceptions import BucketAccessDeniedError, MissingKey
    from moto.s3.responses import S3Response

    def may_list(response: Any, bucket: str) -> bool:
        return caller_may(response, S3IAMRequest, "s3:ListBucket", f"arn:aws:s3:::{bucket}", {})

    original_head = S3Response.head_object

    def head_object(self: Any, bucket_name: str, query: dict[str, Any], key_name: str, headers: dict[str, Any]) -> Any:
        status, response_headers, body = original_head(self, bucket_name, query, key_name, headers)
        if status == 404 and not may_list(self, bucket_name):
            return 403, {}, ""
        return status, response_headers, body

    original_get = S3Response.get_object

    def get_object(self: Any) -> Any:
        try:
            return original_get(self)
        except MissingKey:
            if may_list(self, self.bucket_name):
                raise
            raise BucketAccessDeniedError(bucket=self.bucket_name) from None

    patch.set(S3Response, "head_object", head_object)
    patch.set(S3Response, "get_object", get_object)


@fix
def ecs_run_task_authorised_on_its_task_definition_with_pass_role(patch: Patcher) -> None:
    """Missing rule. AWS authorises ecs:RunTask on the task definition (with the ecs:cluster
    condition key), and requires iam:PassRole, with iam:PassedToService ecs-tasks.amazonaws.com, on
    the task and execution roles the task will get (ECS developer guide, "Amazon ECS task execution
    IAM role" and "Task IAM role"; service authorization reference, Amazon ECS). moto authorises
    RunTask against "*" and checks no PassRole. The fix does both, and authorises StopTask and
    DescribeTasks on the task they name, as the service authorization reference lists them."""
    from moto.core.exceptions import AccessDeniedError
    from moto.ecs.responses import EC2ContainerServiceResponse
    from moto.iam.access_control import IAMRequest

    def task_definition_arn(self: Any) -> str:
        if self._get_action() in {"StopTask", "DescribeTasks"}:
            return task_arn(self)
        if self._get_action() not in {"RunTask", "StartTask"}:
            return "*"
        try:
            return self.ecs_backend.describe_task_definition(self._get_param("taskDefinition")).arn
        except Exception:
            return "*"

    def task_arn(self: Any) -> str:
        """StopTask and DescribeTasks are authorised on the task (its long ARN names the cluster); one
        resource a request here, so DescribeTasks is judged on its first task (ours ask for one cluster's)."""
        task = self._get_param("task") or (self._get_param("tasks") or ["*"])[0]
        if task.startswith("arn:") or task == "*":
            return task
        cluster = (self._get_param("cluster") or "default").rsplit("/", 1)[-1]
        return f"arn:aws:ecs:{self.region}:{self.current_account}:task/{cluster}/{task}"

    original = EC2ContainerServiceResponse.run_task

    def run_task(self: Any) -> Any:
        try:
            definition = self.ecs_backend.describe_task_definition(self._get_param("taskDefinition"))
        except Exception:
            return original(self)
        overrides = self._get_param("overrides") or {}
        roles = {getattr(definition, "task_role_arn", None), getattr(definition, "execution_role_arn", None)}
        roles |= {overrides.get("taskRoleArn"), overrides.get("executionRoleArn")}
        for role in sorted(role for role in roles if role):
            if not caller_may(self, IAMRequest, "iam:PassRole", role, {"iam:PassedToService": [ECS_TASKS]}):
                raise AccessDeniedError(user_arn="the caller", action=f"iam:PassRole on {role}")
        return original(self)

    patch.set(EC2ContainerServiceResponse, "_determine_resource", task_definition_arn)
    patch.set(EC2ContainerServiceResponse, "run_task", run_task)


@fix
def iam_simulate_principal_policy(patch: Patcher) -> None:
    """Missing rule. IAM's SimulatePrincipalPolicy answers whether a principal's policies allow an
    action on a resource for a given context (IAM API reference, SimulatePrincipalPolicy); moto does
    not implement it. The least-privilege probes use it for what no API call of the principal's own
    can show (PassRole to another service). The fix evaluates the role's or user's identity policies
    with the same statement and condition logic as every other request."""
    from moto.core.responses import ActionResult
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.iam.responses import IamResponse

    def simulate_principal_policy(self: Any) -> Any:
        source = self._get_param("PolicySourceArn")
        principal = self.backend.get_role_by_arn(source) if ":role/" in source else self.backend.get_user(source.rsplit("/", 1)[-1])
        policies = list(principal.policies.values()) + list(principal.managed_policies.values())
        context = {entry["ContextKeyName"]: list(entry.get("ContextKeyValues", [])) for entry in self._get_param("ContextEntries") or []}
        results = []
        for action in self._get_param("ActionNames") or []:
            for resource in self._get_param("ResourceArns") or ["*"]:
                decision = "implicitDeny"
                with request_context(context):
                    for policy in policies:
                        verdict = IAMPolicy(policy).is_action_permitted(action, resource)
                        if verdict == PermissionResult.DENIED:
                            decision = "explicitDeny"
                            break
                        if verdict == PermissionResult.PERMITTED:
                            decision = "allowed"
                results.append(
                    {"EvalActionName": action, "EvalResourceName": resource, "EvalDecision": decision, "MatchedStatements": [], "MissingContextValues": []}
                )
        return ActionResult({"EvaluationResults": results, "IsTruncated": False})

    patch.set(IamResponse, "simulate_principal_policy", simulate_principal_policy)


# --- stand-in: the local runner plays ECS and EventBridge ---------------------------------------


# The local account's Fargate vCPU quotas (each account has its own; AWS adjusts them on request).
FARGATE_VCPU_QUOTA_VARIABLE = "RISKBATCH_FARGATE_VCPU_QUOTA"
FARGATE_QUOTAS = {"L-3032A538": "Fargate On-Demand vCPU resource count", "L-36FBB829": "Fargate Spot vCPU resource count"}


@fix
def service_quotas_answer_for_fargate(patch: Patcher) -> None:
    """Stand-in. moto's Service Quotas knows the VPC's quotas only, so GetServiceQuota for
    Fargate's vCPU quotas (service code fargate, ECS developer guide "Amazon ECS service quotas")
    found nothing. The fix answers for the two with the local account's value, 64 vCPU unless the
    emulator is started with RISKBATCH_FARGATE_VCPU_QUOTA, in the shape of the Service Quotas API."""
    import os

    from moto.servicequotas import models as quotas

    original = quotas.ServiceQuotasBackend.get_service_quota

    def get_service_quota(self: Any, service_code: str, quota_code: str) -> dict[str, Any]:
        if service_code == "fargate" and quota_code in FARGATE_QUOTAS:
            return {
                "ServiceCode": "fargate",
                "ServiceName": "AWS Fargate",
                "QuotaArn": f"arn:aws:servicequotas:{self.region_name}:{self.account_id}:fargate/{quota_code}",
                "QuotaCode": quota_code,
                "QuotaName": FARGATE_QUOTAS[quota_code],
                "Value": float(os.environ.get(FARGATE_VCPU_QUOTA_VARIABLE, "64")),
                "Unit": "None",
                "Adjustable": True,
                "GlobalQuota": False,
            }
        return original(self, service_code, quota_code)

    patch.set(quotas.ServiceQuotasBackend, "get_service_quota", get_service_quota)


@fix
def local_runner_assumes_roles_as_ecs_or_eventbridge(patch: Patcher) -> None:
    """Stand-in. Task roles trust only ecs-tasks.amazonaws.com, the ingestion trigger's role only
    events.amazonaws.com and the pre-night schedule's role only scheduler.amazonaws.com; the emulator
    has none of these services, and its trust check fails with an error
    on a service-only principal. Exactly one IAM user, LOCAL_ECS_AGENT (the local runner), may
    assume a role as one of those services would: when a trust statement allows that service
    sts:AssumeRole and its conditions hold for a request from that service in this account
    (aws:SourceAccount). Every other principal is judged by moto; a service-only trust policy
    denies it, as in AWS."""
    from moto.iam.access_control import IAMRequestBase

    from .iam_conditions import condition_holds

    original = IAMRequestBase._check_role_trust_relationship

    def trusted_as_a_service(document: dict[str, Any], account: str) -> bool:
        for statement in as_list(document.get("Statement", [])):
            services = as_list(statement.get("Principal", {}).get("Service", [])) if isinstance(statement.get("Principal"), dict) else []
            if (
                statement.get("Effect") == "Allow"
                and set(services) & set(PLAYED_SERVICES)
                and "sts:AssumeRole" in as_list(statement.get("Action", []))
                and condition_holds(statement.get("Condition", {}), {"aws:SourceAccount": [account]})
            ):
                return True
        return False

    def check_trust(self: Any, role_arn: str) -> bool:
        role = self.backend.get_role_by_arn(role_arn)
        document = role.assume_role_policy_document
        document = json.loads(document) if isinstance(document, str) else document
        if self._access_key.arn.endswith(f":user/{LOCAL_ECS_AGENT}"):
            return trusted_as_a_service(document, self.account_id)
        try:
            return original(self, role_arn)
        except TypeError:
            return False  # a service-only trust policy: an IAM user is not that service

    patch.set(IAMRequestBase, "_check_role_trust_relationship", check_trust)


@fix
def deletion_policy_from_the_language_extensions(patch: Patcher) -> None:
    """Defect. Under the AWS::LanguageExtensions transform, DeletionPolicy and UpdateReplacePolicy
    may be an intrinsic function that resolves to a policy (CloudFormation user guide, "Intrinsic
    function references in DeletionPolicy and UpdateReplacePolicy attributes":
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/function-refs-in-policy-attributes.html).
    moto keeps a resource only when its DeletionPolicy is the literal "Retain", so a production stack's
    {"Fn::If": ["IsProduction", "Retain", "Delete"]} deletes the audit data. The fix resolves Fn::If
    (through the stack's conditions) and Ref (to a parameter) before the stack's resources are deleted."""
    from moto.cloudformation.parsing import ResourceMap

    def resolved(resources: Any, policy: Any) -> Any:
        if isinstance(policy, dict) and "Fn::If" in policy:
            condition, when_true, when_false = policy["Fn::If"]
            return resolved(resources, when_true if resources.lazy_condition_map[condition] else when_false)
        if isinstance(policy, dict) and "Ref" in policy:
            return resources.resolved_parameters.get(policy["Ref"], policy)
        return policy

    original = ResourceMap.delete

    def delete(self: Any) -> None:
        for logical_id, body in list(self._resource_json_map.items()):
            policies = {key: resolved(self, body[key]) for key in ("DeletionPolicy", "UpdateReplacePolicy") if isinstance(body.get(key), dict)}
            if policies:
                self._resource_json_map[logical_id] = {**body, **policies}
        original(self)

    patch.set(ResourceMap, "delete", delete)


@fix
def s3_object_lock_configuration_authorised_as_its_action(patch: Patcher) -> None:
    """Defect. GetObjectLockConfiguration and PutObjectLockConfiguration (GET and PUT /?object-lock)
    are authorised as s3:GetBucketObjectLockConfiguration and s3:PutBucketObjectLockConfiguration
    (Service Authorization Reference, Amazon S3:
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html). moto's
    action map lacks "object-lock", so it authorises the read as s3:ListBucket and the write as
    s3:CreateBucket. The fix names the request by its action."""
    from moto.s3.responses import S3Response

    actions = {"GET": "GetBucketObjectLockConfiguration", "PUT": "PutBucketObjectLockConfiguration"}
    original = S3Response._set_action

    def set_action(self: Any, action_resource_type: str, method: str, querystring: dict[str, Any]) -> None:
        original(self, action_resource_type, method, querystring)
        if action_resource_type == "BUCKET" and "object-lock" in querystring and method in actions:
            self.data["Action"] = actions[method]

    patch.set(S3Response, "_set_action", set_action)


def apply_fixes() -> Patcher:
    """Apply every fix; refuse a moto version they were not written for."""
    import moto

    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(
            f"the emulator fixes are written for moto {MOTO_VERSION}, found {moto.__version__}: re-check each fix and its test, then update MOTO_VERSION"
        )
    patcher = Patcher()
    for each in FIXES:
        each(patcher)
    return patcher


if __name__ == "__main__":
    from moto import server

    apply_fixes()
    server.main()

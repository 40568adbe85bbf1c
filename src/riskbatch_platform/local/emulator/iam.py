"""IAM: policy conditions, signatures, the services' answer for a denial, the policy simulator, role trust.

Each fix says which kind it is (a defect, a missing rule, a stand-in): see the package's first lines."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlparse

from riskbatch_platform.analysis.resolve import as_list

from .patching import LOCAL_ECS_AGENT, PLAYED_SERVICES, REQUEST_CONTEXT, SIGNED_QUERY, Patcher, fix, request_context


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
def roles_listed_from_a_copy(patch: Patcher) -> None:
    """Defect. moto lists the roles by iterating its dictionary of them (create_role checks the new name against
    every role that way), and its server answers each request on a thread of its own. Two stacks created at once
    (taskcat creates one per region in parallel, and IAM is global) add a role while the other iterates:
    "dictionary changed size during iteration", a 500 for the CreateStack call and a stack that never starts.
    The fix lists the roles from a copy taken in one step (list() copies a dictionary's values under the
    interpreter's lock, where a loop over them lets another thread in between two roles)."""
    from moto.iam.models import IAMBackend

    patch.set(IAMBackend, "get_roles", lambda self: list(self.roles.values()))


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


@fix
def policy_conditions_evaluated(patch: Patcher) -> None:
    """Missing rule. moto ignores a statement's Condition for identity policies (it evaluates only
    StringEquals, only in trust policies, and treats a key absent from the request as a match),
    and a statement whose condition fails is an explicit deny in moto where AWS just does not apply
    it. The fix decides conditions as AWS does (riskbatch_platform/analysis/iam_conditions.py, after the IAM
    user guide), against a request context holding the keys the templates use:
    aws:SecureTransport (the request's scheme), s3:prefix (ListObjects), ecs:cluster (RunTask,
    StartTask), iam:PassedToService (set by the PassRole check on RunTask), and aws:SourceAccount /
    aws:SourceArn when the local runner acts as a service. A statement without Resource (a trust
    policy) now takes its Effect, where moto allowed even a Deny."""
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    from riskbatch_platform.analysis.iam_conditions import condition_holds

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

    from riskbatch_platform.analysis.iam_conditions import condition_holds

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

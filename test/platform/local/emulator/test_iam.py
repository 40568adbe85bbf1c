"""The IAM fixes (src/riskbatch_platform/local/emulator/iam.py): each defect or missing rule is there in moto as shipped, and gone with the fix.

Policy conditions (s3:prefix, aws:SecureTransport, s3:signatureversion), the policy simulator's PassRole decision,
the local runner's role trust, inline role policies from a template, a denial in the service's own protocol,
and the signatures of requests without a body. Runs moto in-process (mock_aws); IAM is enforced only inside
`enforced()`, after the users, roles and resources of a case are created.
"""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from riskbatch_platform.local import emulator
from riskbatch_platform.local.emulator.patching import LOCAL_ECS_AGENT
from test.platform.local.emulator.support import ACCOUNT, LIST_RUNS_ONLY, REGION, _code, _deploy, _trigger_policy, _user, enforced, patched


def _list(session: boto3.Session, prefix: str) -> str:
    return _code(lambda: session.client("s3").list_objects_v2(Bucket="out", Prefix=prefix))


def test_moto_ignores_the_s3_prefix_condition(aws: None) -> None:
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="out")
    session = _user("lister", LIST_RUNS_ONLY)
    with enforced():
        assert _list(session, "reports/") == "OK"  # the defect: AWS denies this


def test_the_s3_prefix_condition_is_evaluated(aws: None) -> None:
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="out")
    session = _user("lister", LIST_RUNS_ONLY)
    with patched(emulator.iam.policy_conditions_evaluated), enforced():
        assert _list(session, "runs/r1/") == "OK"
        assert _list(session, "reports/") == "denied"
        assert _code(lambda: session.client("s3").list_objects_v2(Bucket="out")) == "denied"  # no prefix: the key is absent


def test_a_deny_on_plain_http_follows_the_scheme(aws: None) -> None:
    """aws:SecureTransport is the request's scheme: in-process requests are https."""
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="out")
    deny_http = {"Effect": "Deny", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::out", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    session = _user("tls", [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::out"}, deny_http])
    with patched(emulator.iam.policy_conditions_evaluated), enforced():
        assert _list(session, "") == "OK"
    session = _user(
        "tls2",
        [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::out"}, {**deny_http, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}],
    )
    with patched(emulator.iam.policy_conditions_evaluated), enforced():
        assert _list(session, "") == "denied"


def test_simulate_principal_policy_is_missing_in_moto(aws: None) -> None:
    boto3.client("iam", region_name=REGION).create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    with pytest.raises(NotImplementedError):
        boto3.client("iam", region_name=REGION).simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:role/r", ActionNames=["iam:PassRole"])


def test_simulate_principal_policy_decides_pass_role_by_the_service(aws: None) -> None:
    iam = boto3.client("iam", region_name=REGION)
    iam.create_role(RoleName="trigger", AssumeRolePolicyDocument="{}")
    document = {"Version": "2012-10-17", "Statement": _trigger_policy("arn:aws:ecs:us-east-1:123456789012:task-definition/ingest:1")}
    iam.put_role_policy(RoleName="trigger", PolicyName="p", PolicyDocument=json.dumps(document))

    def decision(service: str, role: str = "task") -> str:
        (result,) = iam.simulate_principal_policy(
            PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:role/trigger",
            ActionNames=["iam:PassRole"],
            ResourceArns=[f"arn:aws:iam::{ACCOUNT}:role/{role}"],
            ContextEntries=[{"ContextKeyName": "iam:PassedToService", "ContextKeyValues": [service], "ContextKeyType": "string"}],
        )["EvaluationResults"]
        return result["EvalDecision"]

    with patched(emulator.iam.policy_conditions_evaluated, emulator.iam.iam_simulate_principal_policy):
        assert decision("ecs-tasks.amazonaws.com") == "allowed"
        assert decision("lambda.amazonaws.com") == "implicitDeny"
        assert decision("ecs-tasks.amazonaws.com", role="other") == "implicitDeny"


def _service_role(name: str, service: str, account: str = ACCOUNT) -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:SourceAccount": account}}}
        ],
    }
    return boto3.client("iam", region_name=REGION).create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


def test_only_the_local_runner_assumes_service_roles_and_only_as_the_services_it_plays(aws: None) -> None:
    task = _service_role("task", "ecs-tasks.amazonaws.com")
    trigger = _service_role("trigger", "events.amazonaws.com")
    lambda_role = _service_role("fn", "lambda.amazonaws.com")
    elsewhere = _service_role("elsewhere", "ecs-tasks.amazonaws.com", account="210987654321")
    assume = [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]
    agent, other = _user(LOCAL_ECS_AGENT, assume), _user("someone", assume)

    def code(session: boto3.Session, role: str) -> str:
        return _code(lambda: session.client("sts").assume_role(RoleArn=role, RoleSessionName="session"))

    with patched(emulator.iam.local_runner_assumes_roles_as_ecs_or_eventbridge, emulator.iam.policy_conditions_evaluated), enforced():
        assert code(agent, task) == "OK" and code(agent, trigger) == "OK"
        assert code(agent, lambda_role) == "denied"
        assert code(agent, elsewhere) == "denied"  # aws:SourceAccount of another account
        assert code(other, task) == "denied"


ROLE_WITH_INLINE_POLICY = {
    "Resources": {
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": "role-x",
                "AssumeRolePolicyDocument": {
                    "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/caller"}, "Action": "sts:AssumeRole"}]
                },
                "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "sqs:ListQueues", "Resource": "*"}]}}],
            },
        }
    }
}


def _list_queues_as_the_role() -> str:
    _deploy(ROLE_WITH_INLINE_POLICY)
    caller = _user("caller", [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}])
    with enforced():
        keys = caller.client("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/role-x", RoleSessionName="session")["Credentials"]
        role = boto3.Session(
            aws_access_key_id=keys["AccessKeyId"], aws_secret_access_key=keys["SecretAccessKey"], aws_session_token=keys["SessionToken"], region_name=REGION
        )
        try:
            return _code(lambda: role.client("sqs").list_queues())
        except KeyError as error:  # moto's access check looks for the policy document its CloudFormation model never stored
            return f"KeyError: {error}"


def test_moto_cannot_read_inline_role_policies_from_cloudformation(aws: None) -> None:
    assert _list_queues_as_the_role() == "KeyError: 'policy_document'"


def test_inline_role_policies_from_cloudformation_are_read(aws: None) -> None:
    with patched(emulator.iam.inline_role_policies_read_as_json):
        assert _list_queues_as_the_role() == "OK"


SIGV2_DENIAL = {  # the policy taskcat puts on its staging bucket: no Signature Version 2 uploads
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::staging", "arn:aws:s3:::staging/*"],
            "Condition": {"StringEquals": {"s3:signatureversion": "AWS"}},
        }
    ],
}


def _upload_to_taskcats_bucket() -> str:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="staging")
    s3.put_bucket_policy(Bucket="staging", Policy=json.dumps(SIGV2_DENIAL))
    uploader = _user("uploader", [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}])
    with enforced():
        return _code(lambda: uploader.client("s3").put_object(Bucket="staging", Key="templates/t.json", Body=b"{}"))


def test_moto_applies_a_conditional_bucket_denial_to_every_upload(aws: None) -> None:
    assert _upload_to_taskcats_bucket() == "denied"


def test_a_signature_version_4_upload_passes_the_signature_version_2_denial(aws: None) -> None:
    with patched(emulator.iam.policy_conditions_evaluated):
        assert _upload_to_taskcats_bucket() == "OK"


def _refusal_codes() -> tuple[str, str]:
    """The error codes botocore reads from a refused SQS (JSON protocol) and EventBridge call."""
    queue = boto3.client("sqs", region_name=REGION).create_queue(QueueName="sqs-refused")["QueueUrl"]
    nobody = _user("nobody", [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}])
    codes = []
    with enforced():
        for call in (lambda: nobody.client("sqs").send_message(QueueUrl=queue, MessageBody="x"), lambda: nobody.client("events").list_rules()):
            try:
                call()
                codes.append("OK")
            except ClientError as error:
                codes.append(str(error.response["Error"]["Code"]))
    return codes[0], codes[1]


def test_moto_refuses_a_json_request_in_xml_so_no_code_can_be_read(aws: None) -> None:
    assert _refusal_codes() == ("403", "403")


def test_a_json_request_is_refused_with_its_protocols_access_denied_code(aws: None) -> None:
    with patched(emulator.iam.access_denied_in_the_services_protocol):
        assert _refusal_codes() == ("AccessDenied", "AccessDeniedException")


def test_a_json_request_with_a_bad_signature_keeps_its_own_code_and_is_no_denial(aws: None) -> None:
    """An expired token or a bad signature must fail a probe, never count as a denial."""
    queue = boto3.client("sqs", region_name=REGION).create_queue(QueueName="sqs-bad-key")["QueueUrl"]
    user = _user("badkey", [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}])
    forged = boto3.Session(aws_access_key_id=user.get_credentials().access_key, aws_secret_access_key="not-the-secret", region_name=REGION)
    with patched(emulator.iam.access_denied_in_the_services_protocol), enforced(), pytest.raises(ClientError) as refused:
        forged.client("sqs").send_message(QueueUrl=queue, MessageBody="x")
    assert refused.value.response["Error"]["Code"] not in {"AccessDenied", "AccessDeniedException", "403"}


def _list_schedules_as_a_user() -> tuple[str, str]:
    scheduler = _user("scheduler-reader", [{"Effect": "Allow", "Action": "scheduler:*", "Resource": "*"}]).client("scheduler")
    with enforced():
        return _code(lambda: scheduler.list_schedules()), _code(lambda: scheduler.list_schedules(MaxResults=5))


def test_moto_refuses_the_signature_of_a_request_without_a_body(aws: None) -> None:
    assert _list_schedules_as_a_user() == ("denied", "denied")  # SignatureDoesNotMatch, HTTP 403


def test_signatures_of_requests_without_a_body(aws: None) -> None:
    with patched(emulator.iam.signatures_of_requests_without_a_body):
        assert _list_schedules_as_a_user() == ("OK", "OK")


def _a_role_added_while_the_roles_are_listed() -> str:
    from moto.iam.models import iam_backends

    backend = iam_backends[ACCOUNT]["global"]
    for name in ("first", "second"):
        backend.create_role(name, "{}", "/", None, "", [], None)
    listed = iter(backend.get_roles())
    next(listed)
    backend.create_role("added-meanwhile", "{}", "/", None, "", [], None)  # another request's thread, in between
    try:
        list(listed)
    except RuntimeError as error:
        return str(error)
    return "OK"


def test_moto_lists_roles_from_the_dictionary_another_thread_changes(aws: None) -> None:
    assert _a_role_added_while_the_roles_are_listed() == "dictionary changed size during iteration"


def test_roles_are_listed_from_a_copy(aws: None) -> None:
    with patched(emulator.iam.roles_listed_from_a_copy):
        assert _a_role_added_while_the_roles_are_listed() == "OK"

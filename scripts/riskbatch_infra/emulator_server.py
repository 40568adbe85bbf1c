"""moto's server with eight documented fixes, so that the local target reports what the template asked.

Each fix passes a value the template or the API call already holds through to where moto
forgot it; none invents behaviour moto does not have.

1. Change sets: moto's ChangeSet.apply updates the stack's resources but not its parameters,
   outputs or exports (its create and update paths do), so a stack deployed through change sets
   showed no outputs and failed to delete. The fix does what those paths do after the resources
   change.
2. ECR: moto's CloudFormation handler passes ImageScanningConfiguration and
   EncryptionConfiguration through with CloudFormation's capitalised keys, where its API model
   reads the API's camel-case keys, so scan-on-push and the KMS key were lost; and it ignores
   EmptyOnDelete, so a stack whose repositories hold images could not be deleted. The fix
   passes the three values through.
3. CloudWatch Logs: the handler passes KmsKeyId where the model reads kmsKeyId, so the log
   group's key was lost.
4. IAM enforcement for SNS and EventBridge: moto authorises their requests against Resource "*"
   because it does not determine the resource of the request (it does for S3 and SQS), so a
   policy that names its topic or bus, as least privilege requires, was denied everything. The
   fix names the request's resource (the topic, the event bus) the way AWS evaluates it.
5. Task roles: they trust only the service principal ecs-tasks.amazonaws.com, and the emulator
   has no ECS to assume them (its trust check even fails with an error on a service-only
   principal). The local runner plays ECS: exactly one IAM user, LOCAL_ECS_AGENT, may assume
   a role whose trust policy allows ecs-tasks.amazonaws.com to, as the ECS agent does in AWS.
   For every other principal a service-only trust policy denies, as in AWS.
6. Inline role policies from CloudFormation: moto's handler stores them as objects where its
   IAM model stores JSON text, and its access check then fails with an error on every call
   made with the role. The fix reads such a document as the JSON it is.
7. SQS batch calls: AWS authorises SendMessageBatch, DeleteMessageBatch and
   ChangeMessageVisibilityBatch with the permission of the single action (sqs:SendMessage, ...);
   moto asks for an action named after the batch call, which no policy grants. The fix asks for
   the action AWS asks for.
8. ECS clusters: moto's CloudFormation model of a cluster has no delete, so deleting the stack
   left the cluster behind. The fix deletes it, as CloudFormation does.

Run as a script: `python emulator_server.py -H 127.0.0.1 -p PORT` (moto.server's arguments).
"""

from __future__ import annotations

import json
from typing import Any

LOCAL_ECS_AGENT = "riskbatch-local-ecs-agent"
ECS_TASKS = "ecs-tasks.amazonaws.com"


def _camel(mapping: dict[str, Any] | None) -> dict[str, Any] | None:
    if not mapping:
        return mapping
    return {key[:1].lower() + key[1:]: value for key, value in mapping.items()}


def apply_fixes() -> None:
    from moto.cloudformation import models as cloudformation
    from moto.ecr import models as ecr
    from moto.logs import models as logs

    def apply_change_set(self: Any) -> None:
        stack = self.stack
        stack.resource_map.update(self.template_dict, self.parameters)
        stack.template = self.template
        stack.template_dict = stack.parse_template(self.template)
        stack.parameters = self.parameters
        stack.output_map = stack._create_output_map()
        backend = cloudformation.cloudformation_backends[stack.account_id][stack.region_name]
        for export in stack.exports:
            backend.exports[export.name] = export

    cloudformation.ChangeSet.apply = apply_change_set

    repository_from_cfn = ecr.Repository.create_from_cloudformation_json.__func__

    def repository_with_api_keys(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        properties = dict(cloudformation_json.get("Properties", {}))
        for key in ("ImageScanningConfiguration", "EncryptionConfiguration"):
            if key in properties:
                properties[key] = _camel(properties[key])
        repository = repository_from_cfn(cls, resource_name, {**cloudformation_json, "Properties": properties}, account_id, region_name, **kwargs)
        repository.empty_on_delete = bool(properties.get("EmptyOnDelete", False))
        return repository

    ecr.Repository.create_from_cloudformation_json = classmethod(repository_with_api_keys)

    def delete_repository(self: Any, account_id: str, region_name: str) -> None:
        ecr.ecr_backends[account_id][region_name].delete_repository(self.name, force=getattr(self, "empty_on_delete", False))

    ecr.Repository.delete = delete_repository

    log_group_from_cfn = logs.LogGroup.create_from_cloudformation_json.__func__

    def log_group_with_key(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        properties = dict(cloudformation_json.get("Properties", {}))
        if "KmsKeyId" in properties:
            properties["kmsKeyId"] = properties["KmsKeyId"]
        return log_group_from_cfn(cls, resource_name, {**cloudformation_json, "Properties": properties}, account_id, region_name, **kwargs)

    logs.LogGroup.create_from_cloudformation_json = classmethod(log_group_with_key)

    from moto.events.responses import EventsHandler
    from moto.sns.responses import SNSResponse

    def topic_of_request(self: Any) -> str:
        return self._get_param("TopicArn") or self._get_param("TargetArn") or "*"

    def bus_of_request(self: Any) -> str:
        entries = self._get_param("Entries") or []
        if not entries or self._get_action() != "PutEvents":
            return "*"
        bus = entries[0].get("EventBusName") or "default"
        return bus if bus.startswith("arn:") else f"arn:aws:events:{self.region}:{self.current_account}:event-bus/{bus}"

    SNSResponse._determine_resource = topic_of_request
    EventsHandler._determine_resource = bus_of_request

    from moto.iam.access_control import IAMRequestBase

    trust_as_moto_does = IAMRequestBase._check_role_trust_relationship

    def trusts_ecs_tasks(document: Any) -> bool:
        statements = document.get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            services = statement.get("Principal", {}).get("Service", [])
            actions = statement.get("Action", [])
            if (
                statement.get("Effect") == "Allow"
                and ECS_TASKS in (services if isinstance(services, list) else [services])
                and "sts:AssumeRole" in (actions if isinstance(actions, list) else [actions])
            ):
                return True
        return False

    def check_trust(self: Any, role_arn: str) -> bool:
        role = self.backend.get_role_by_arn(role_arn)
        document = role.assume_role_policy_document
        document = json.loads(document) if isinstance(document, str) else document
        if self._access_key.arn.endswith(f":user/{LOCAL_ECS_AGENT}"):
            return trusts_ecs_tasks(document)
        try:
            return trust_as_moto_does(self, role_arn)
        except TypeError:
            return False  # a service-only trust policy: an IAM user is not that service

    IAMRequestBase._check_role_trust_relationship = check_trust

    from moto.iam import access_control

    policy_as_moto_reads_it = access_control.IAMPolicy.__init__

    def read_policy(self: Any, policy: Any) -> None:
        if isinstance(policy, dict) and "policy_document" not in policy:
            policy = json.dumps(policy)
        policy_as_moto_reads_it(self, policy)

    access_control.IAMPolicy.__init__ = read_policy

    request_as_moto_names_it = IAMRequestBase.__init__
    batch_permissions = {
        "sqs:SendMessageBatch": "sqs:SendMessage",
        "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    }

    def name_request(self: Any, *args: Any, **kwargs: Any) -> None:
        request_as_moto_names_it(self, *args, **kwargs)
        self._action = batch_permissions.get(self._action, self._action)

    IAMRequestBase.__init__ = name_request

    from moto.ecs import models as ecs

    def delete_cluster(self: Any, account_id: str, region_name: str) -> None:
        ecs.ecs_backends[account_id][region_name].delete_cluster(self.arn)

    ecs.Cluster.delete = delete_cluster


if __name__ == "__main__":
    from moto import server

    apply_fixes()
    server.main()

"""moto's server with three documented fixes, so that the local target reports what the template asked.

Each fix passes a value the template or the API call already holds through to where moto
forgot it; none invents behaviour moto does not have.

1. Change sets: moto's ChangeSet.apply updates the stack's resources but not its parameters
   or outputs (its Stack.update does both), so a stack deployed through change sets showed no
   outputs. The fix does what Stack.update does after the resources change.
2. ECR: moto's CloudFormation handler passes ImageScanningConfiguration and
   EncryptionConfiguration through with CloudFormation's capitalised keys, where its API model
   reads the API's camel-case keys, so scan-on-push and the KMS key were lost.
3. CloudWatch Logs: the handler passes KmsKeyId where the model reads kmsKeyId, so the log
   group's key was lost.

Run as a script: `python emulator_server.py -H 127.0.0.1 -p PORT` (moto.server's arguments).
"""

from __future__ import annotations

from typing import Any


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

    cloudformation.ChangeSet.apply = apply_change_set

    repository_from_cfn = ecr.Repository.create_from_cloudformation_json.__func__

    def repository_with_api_keys(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        properties = dict(cloudformation_json.get("Properties", {}))
        for key in ("ImageScanningConfiguration", "EncryptionConfiguration"):
            if key in properties:
                properties[key] = _camel(properties[key])
        return repository_from_cfn(cls, resource_name, {**cloudformation_json, "Properties": properties}, account_id, region_name, **kwargs)

    ecr.Repository.create_from_cloudformation_json = classmethod(repository_with_api_keys)

    log_group_from_cfn = logs.LogGroup.create_from_cloudformation_json.__func__

    def log_group_with_key(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        properties = dict(cloudformation_json.get("Properties", {}))
        if "KmsKeyId" in properties:
            properties["kmsKeyId"] = properties["KmsKeyId"]
        return log_group_from_cfn(cls, resource_name, {**cloudformation_json, "Properties": properties}, account_id, region_name, **kwargs)

    logs.LogGroup.create_from_cloudformation_json = classmethod(log_group_with_key)


if __name__ == "__main__":
    from moto import server

    apply_fixes()
    server.main()

"""CloudWatch Logs: the log group's key from a template.

Each fix says which kind it is (a defect, a missing rule, a stand-in): see the package's first lines."""

from __future__ import annotations

from typing import Any

from .patching import Patcher, fix


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

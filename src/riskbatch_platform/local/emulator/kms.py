"""KMS: what moto loses of a key declared in a template.

Each fix says which kind it is (a defect, a missing rule, a stand-in): see the package's first lines."""

from __future__ import annotations

import json
from typing import Any

from .patching import Patcher, fix


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

"""The copy of lib/TapStack.json that the local emulator (moto) can deploy.

The template is written for AWS and is never changed to please the emulator. moto's
CloudFormation engine has a few plain defects; each transformation below works around
exactly one of them, on a deep copy, and says which. Everything else reaches the emulator
as written (resource types moto does not model are skipped by moto itself and reported
by `coverage_report`).
"""

from __future__ import annotations

import copy
from typing import Any

# moto models these types but mishandles a property it does not need; the property is
# dropped in the copy. (type, property, defect)
PROPERTIES_THE_EMULATOR_CANNOT_PARSE: list[tuple[str, str, str]] = [
    ("AWS::KMS::Key", "Tags", "moto's KMS handler reads tags as TagKey/TagValue"),
]


def emulator_template(template: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Return the deployable copy and one line per change made to it."""
    result = copy.deepcopy(template)
    resources = result["Resources"]
    changes: list[str] = []

    for name, output in result.get("Outputs", {}).items():
        if "Condition" in output and "Export" in output:
            # moto evaluates every export, even of an output whose condition is false, and
            # then fails on the absent resource; nothing local imports these exports.
            del output["Export"]
            changes.append(f"output {name}: export dropped (moto evaluates exports of switched-off outputs)")

    for resource_type, prop, defect in PROPERTIES_THE_EMULATOR_CANNOT_PARSE:
        for logical_id, resource in resources.items():
            if resource["Type"] == resource_type and prop in resource.get("Properties", {}):
                del resource["Properties"][prop]
                changes.append(f"{logical_id}: dropped {prop} ({defect})")
    return result, changes

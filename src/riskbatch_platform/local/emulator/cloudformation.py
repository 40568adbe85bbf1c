"""CloudFormation: change sets, parameters, outputs, events and template values moto loses.

Each fix says which kind it is (a defect, a missing rule, a stand-in): see the package's first lines."""

from __future__ import annotations

import json
import re
from typing import Any

from .patching import _MISSING, Patcher, fix


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
    (riskbatch_platform.analysis.resolve) and lists every value that differs, at its JSON path. What only an
    account knows (a Ref or GetAtt of another resource) resolves to the same placeholder on both
    sides, so it shows as changed only when its name changes. RequiresRecreation comes from the
    resource type's schema (cfn-lint's copy): Always for a create-only property, else Never (AWS
    says Conditionally where it depends on a value; the emulator cannot tell). A value that changed while
    the property is written the same in both templates changed through a parameter: its detail says
    ChangeSource ParameterReference and names the parameter as CausingEntity, one detail per changed
    parameter the property refers to (directly, in a Sub, or through a condition of an If), as AWS
    names the parameter whose value changed (API reference, ResourceChangeDetail:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChangeDetail.html).
    Any other change is said as DirectModification."""
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
            changed = _changed_parameters((self.stack.template_dict, self.stack.parameters), (self.template_dict, self.parameters))
        except ValueError:  # a template resolve.py cannot read: moto's own answer stands
            return changes
        by_id = {change.logical_resource_id: change for change in changes}
        for logical_id, body in after.items():
            if logical_id not in before:
                continue
            written = tuple(template["Resources"][logical_id].get("Properties", {}) for template in (self.stack.template_dict, self.template_dict))
            causes = _Causes(self.template_dict, written, changed)
            details = _property_details(body["Type"], before[logical_id].get("Properties", {}), body.get("Properties", {}), region, causes)
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


def _declared_values(template: dict[str, Any], parameters: dict[str, Any]) -> dict[str, str]:
    declared = template.get("Parameters", {})
    return {key: ",".join(value) if isinstance(value, list) else str(value) for key, value in (parameters or {}).items() if key in declared}


def _resolved(template: dict[str, Any], parameters: dict[str, Any], region: str, account: str, stack_name: str) -> dict[str, Any]:
    from riskbatch_platform.analysis.resolve import resolve

    return dict(resolve(template, _declared_values(template, parameters), region=region, account=account, stack_name=stack_name)["Resources"])


def _changed_parameters(before: tuple[dict[str, Any], dict[str, Any]], after: tuple[dict[str, Any], dict[str, Any]]) -> set[str]:
    """The parameters whose value (defaults filled in) differs between the stack and the change set."""
    from riskbatch_platform.analysis.resolve import Context

    old, new = (Context(template, _declared_values(template, parameters)).values for template, parameters in (before, after))
    return {name for name, value in new.items() if name in old and old[name] != value}


class _Causes:
    """Which changed parameters a property's change comes from: those it refers to, when it is written the same in both templates."""

    def __init__(self, template: dict[str, Any], written: tuple[dict[str, Any], dict[str, Any]], changed: set[str]) -> None:
        self.template, self.written, self.changed = template, written, changed

    def of(self, name: str) -> list[str]:
        before, after = (properties.get(name, _MISSING) for properties in self.written)
        if before != after or not self.changed:
            return []
        return sorted(self._referenced(after) & self.changed)

    def _referenced(self, node: Any) -> set[str]:
        declared = self.template.get("Parameters", {})
        if isinstance(node, list):
            return set().union(*(self._referenced(item) for item in node)) if node else set()
        if not isinstance(node, dict):
            return set()
        found: set[str] = set()
        for key, value in node.items():
            if key == "Ref" and value in declared:
                found.add(value)
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                found |= {name for name in re.findall(r"\$\{([^}!.]+)\}", text) if name in declared}
                found |= self._referenced(value if isinstance(value, str) else value[1])
            elif key in ("Fn::If", "Condition"):
                condition = value[0] if key == "Fn::If" else value
                found |= self._referenced(self.template.get("Conditions", {}).get(condition, {}))
                found |= self._referenced(value[1:] if key == "Fn::If" else [])
            else:
                found |= self._referenced(value)
        return found


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


def _property_details(resource_type: str, before: dict[str, Any], after: dict[str, Any], region: str, causes: _Causes | None = None) -> list[dict[str, Any]]:
    replaced = _create_only(resource_type, region)
    details: list[dict[str, Any]] = []
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
        parameters = causes.of(name) if causes else []
        if not parameters:
            details.append({"Target": target, "Evaluation": "Static", "ChangeSource": "DirectModification"})
        for parameter in parameters:
            details.append({"Target": dict(target), "Evaluation": "Static", "ChangeSource": "ParameterReference", "CausingEntity": parameter})
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
def resources_switched_on_by_an_update_are_created(patch: Patcher) -> None:
    """Defect. An update whose parameters turn a resource's Condition true creates that resource
    (template reference, Conditions: "a resource is created only when its condition is true", at
    every create and update: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/conditions-section-structure.html).
    moto's update adds only the resources the template text adds or that refer to a changed
    parameter, so a resource switched on by a condition appeared only when something later read it
    (DescribeStackResources, an output): after the deploy's third phase the scalable targets did not
    exist until the suite listed the stack. The fix creates, at the end of an update, every resource
    of the template whose condition holds."""
    from moto.cloudformation import parsing

    original = parsing.ResourceMap.update

    def update(self: Any, template: dict[str, Any], parameters: dict[str, Any] | None = None) -> None:
        original(self, template, parameters)
        for logical_id, body in (template.get("Resources") or {}).items():
            condition = body.get("Condition")
            if self._parsed_resources.get(logical_id) is None and (not condition or self.lazy_condition_map[condition]):
                self._parsed_resources.pop(logical_id, None)
                _ = self[logical_id]  # moto creates a resource when it is first read

    patch.set(parsing.ResourceMap, "update", update)

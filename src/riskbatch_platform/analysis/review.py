"""What a template change does to a running stack, for the reviewer of a pull request.

Compares two versions of a template (the base of the pull request and the working tree):
resources added, removed and modified, with the changed property paths; whether each
modification updates in place or replaces the resource, read from the resource provider schemas
cfn-lint ships (createOnlyProperties; conditionalCreateOnlyProperties where a schema has them);
the IAM delta per policy; network exposure; encryption, retention and deletion policy;
parameters, outputs and exports. Some changes need a security reviewer: IAM widening, new
exposure, encryption switched off, the replacement or removal of a stateful resource, a removed
or renamed export.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from riskbatch_platform.analysis.access_grants import grant_delta
from riskbatch_platform.analysis.resolve import NAME_PROPERTIES, as_list
from riskbatch_platform.analysis.statement_delta import condition_delta, effect_delta, exceptions_delta, principal_delta

# Resources whose replacement or removal loses data, history or references held elsewhere.
STATEFUL_TYPES = {
    "AWS::KMS::Key": "everything encrypted under it becomes unreadable once the old key is deleted",
    "AWS::ECR::Repository": "its images and their scan history go",
    "AWS::Logs::LogGroup": "its log history (the audit trail) goes",
    "AWS::SQS::Queue": "messages in flight are lost",
    "AWS::SNS::Topic": "its subscriptions, e-mail confirmations included, go",
    "AWS::IAM::Role": "whatever trusts or names the role by ARN breaks",
}
# RepositoryPolicyText: an ECR repository's policy; Policy: an EventBridge event bus's resource policy
POLICY_PROPERTIES = ("PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument", "RepositoryPolicyText", "Policy")
ENCRYPTION_PROPERTIES = ("KmsKeyId", "KmsMasterKeyId", "KmsKeyArn", "EncryptionConfiguration", "SSESpecification", "KmsKey", "SqsManagedSseEnabled")
RETENTION_PROPERTIES = ("RetentionInDays", "MessageRetentionPeriod")
WORLD = ('"0.0.0.0/0"', '"::/0"')  # every IPv4 address (CidrIp) and every IPv6 address (CidrIpv6)
# Types whose "replacement" under the same name is a new revision, not a name clash: a task definition's
# change is a new revision of its family ("A task definition revision is a copy of the current task definition
# with the new parameter values": "Updating an Amazon ECS task definition using the console",
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/update-task-definition-console-v2.html).
CLASS_VARIABLE = "RISKBATCH_ENVIRONMENT_CLASS"  # the class a stack declares; it picks the model configuration's scenario floor
REVISIONED_TYPES = {
    "AWS::ECS::TaskDefinition": "a new revision of its family is registered, and the services and rules that use it move to that revision",
}


@dataclass
class Finding:
    category: str  # resources, iam, network, encryption, retention, model, interface
    subject: str
    change: str
    needs_security_review: bool = False


@dataclass
class Review:
    findings: list[Finding] = field(default_factory=list)
    replacements: dict[str, str] = field(default_factory=dict)  # logical id -> True / Conditional

    def add(self, category: str, subject: str, change: str, security: bool = False) -> None:
        self.findings.append(Finding(category, subject, change, security))

    @property
    def needs_security_review(self) -> bool:
        return any(finding.needs_security_review for finding in self.findings)


def finding_line(finding: Finding) -> str:
    """One finding on one line, as riskbatch-review's table and riskbatch-deploy --plan both say it."""
    return f"{'⚠' if finding.needs_security_review else '-'} {finding.category}: {finding.subject}: {finding.change}"


def changed_paths(before: Any, after: Any, path: str = "", depth: int = 6) -> list[str]:
    """The property paths whose values differ (dicts by key; a list or a deep value as a whole)."""
    if before == after:
        return []
    if isinstance(before, dict) and isinstance(after, dict) and depth > 0:
        found = []
        for key in list(before) + [key for key in after if key not in before]:
            found += changed_paths(before.get(key), after.get(key), f"{path}.{key}" if path else key, depth - 1)
        return found
    return [path or "(whole)"]


def _schema(resource_type: str) -> dict[str, Any]:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    try:
        return PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
    except Exception:  # a type cfn-lint does not know: no replacement can be read
        return {}


def replacement(resource_type: str, paths: list[str]) -> str:
    """True when a changed property is create-only, Conditional when it is conditionally so, else False."""
    schema = _schema(resource_type)

    def tops(key: str) -> set[str]:
        return {pointer.split("/")[2] for pointer in schema.get(key, []) if pointer.startswith("/properties/")}

    changed = {path.split(".")[0] for path in paths}
    if changed & tops("createOnlyProperties"):
        return "True"
    if changed & tops("conditionalCreateOnlyProperties"):
        return "Conditional"
    return "False"


def _statements(properties: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every policy statement of a resource, keyed by where it is (policy and Sid, or its index)."""
    found: dict[str, dict[str, Any]] = {}

    def collect(document: Any, where: str) -> None:
        if isinstance(document, dict):
            for index, statement in enumerate(as_list(document.get("Statement", []))):
                found[f"{where}:{statement.get('Sid', index)}"] = statement

    for key in POLICY_PROPERTIES:
        if key in properties:
            collect(properties[key], key)
    for policy in properties.get("Policies", []) if isinstance(properties.get("Policies"), list) else []:
        name = policy.get("PolicyName")
        collect(policy.get("PolicyDocument"), f"Policies[{name.get('Fn::Sub', name) if isinstance(name, dict) else name}]")
    return found


def _actions(statement: dict[str, Any]) -> set[str]:
    return {str(action) for action in as_list(statement.get("Action", []))}


def _resources(statement: dict[str, Any]) -> set[str]:
    return {json.dumps(resource, sort_keys=True) for resource in as_list(statement.get("Resource", []))}


def iam_delta(review: Review, logical_id: str, before: dict[str, Any], after: dict[str, Any], account: str | None = None) -> None:
    """Each statement's change; account: the stack's account, when the templates are resolved, to tell its own principals from others."""
    old, new = _statements(before), _statements(after)
    old_services = {action.split(":")[0] for statement in old.values() if statement.get("Effect") == "Allow" for action in _actions(statement)}
    for where in sorted(set(old) | set(new)):
        was, now = old.get(where), new.get(where)
        if was == now:
            continue
        subject = f"{logical_id} {where}"
        if now is None:
            if was.get("Effect") == "Deny":
                effect_delta(review, subject, was, now)
            else:
                review.add("iam", subject, "statement removed")
            continue
        allow = now.get("Effect") == "Allow"
        added_actions = _actions(now) - (_actions(was) if was else set())
        added_resources = _resources(now) - (_resources(was) if was else set())
        if was is None:
            review.add("iam", subject, f"statement added: {now.get('Effect')} {sorted(_actions(now))} on {sorted(_resources(now))}", allow)
        else:
            effect_delta(review, subject, was, now)
            if added_actions:
                review.add("iam", subject, f"actions added: {sorted(added_actions)}", allow)
            if added_resources:
                review.add("iam", subject, f"resources added: {sorted(added_resources)}", allow)
            removed = (_actions(was) - _actions(now)) | {f"resource {r}" for r in _resources(was) - _resources(now)}
            if removed and now.get("Effect") == "Deny":
                review.add("iam", subject, f"a Deny narrowed: {sorted(removed)} no longer denied", True)
            elif removed:
                review.add("iam", subject, f"narrowed: {sorted(removed)} removed")
        principal_delta(review, subject, was, now, account)
        exceptions_delta(review, subject, was, now)
        condition_delta(review, subject, was, now)
        if allow and any("*" in action for action in added_actions):
            review.add("iam", subject, "widening: a wildcard action", True)
        if allow and '"*"' in added_resources:
            review.add("iam", subject, 'widening: Resource "*"', True)
        new_services = {action.split(":")[0] for action in added_actions} - old_services
        if allow and new_services and old:  # a new role's every statement is new access already reported
            review.add("iam", subject, f"widening: a new service {sorted(new_services)}", True)


def network_delta(review: Review, logical_id: str, before: dict[str, Any], after: dict[str, Any], resource_type: str) -> None:
    for key in ("SecurityGroupIngress", "SecurityGroupEgress"):
        old = [json.dumps(rule, sort_keys=True) for rule in before.get(key, [])]
        new = [json.dumps(rule, sort_keys=True) for rule in after.get(key, [])]
        for rule in sorted(set(new) - set(old)):
            review.add("network", logical_id, f"{key} added: {rule}", key == "SecurityGroupIngress" or any(world in rule for world in WORLD))
        for rule in sorted(set(old) - set(new)):
            review.add("network", logical_id, f"{key} removed: {rule}")
    if resource_type in ("AWS::EC2::SecurityGroupIngress",) and before != after:
        review.add("network", logical_id, "ingress rule changed", True)
    text_before, text_after = json.dumps(before), json.dumps(after)
    if '"AssignPublicIp": "ENABLED"' in text_after and '"AssignPublicIp": "ENABLED"' not in text_before:
        review.add("network", logical_id, "a public IP assigned (AssignPublicIp ENABLED)", True)
    for path in changed_paths(before, after):
        if path.split(".")[-1] in ("Subnets", "SubnetIds"):
            review.add("network", logical_id, f"subnets changed ({path})")


def encryption_delta(review: Review, logical_id: str, before: dict[str, Any], after: dict[str, Any]) -> None:
    for path in changed_paths(before, after):
        leaf = path.split(".")[-1]
        top = path.split(".")[0]
        if leaf in ENCRYPTION_PROPERTIES or top in ENCRYPTION_PROPERTIES:
            removed = _get(after, path) in (None, False, "", {}) and _get(before, path) not in (None, False)
            review.add("encryption", logical_id, f"{path}: {'removed (encryption off)' if removed else 'changed'}", removed)
        if leaf in RETENTION_PROPERTIES:
            was, now = _get(before, path), _get(after, path)
            shortened = _shortened(was, now)
            review.add("retention", logical_id, f"retention {path}: {was} -> {now}" + (": shortened, what is older is deleted" if shortened else ""), shortened)


def _shortened(before: Any, after: Any) -> bool:
    """A retention set shorter than it was: CloudWatch Logs deletes log events past a log group's retention ("When log
    events reach their retention setting they are marked for deletion": CloudWatch Logs API reference,
    PutRetentionPolicy, https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html),
    a queue its messages past MessageRetentionPeriod. A value written as a function ({"Ref": ...}) cannot be compared."""
    try:
        return after is not None and int(after) < int(before)
    except (TypeError, ValueError):
        return False


def retention_delta(review: Review, logical_id: str, attributes: tuple[dict, dict]) -> None:
    """How long the resource and its data are kept: DeletionPolicy and UpdateReplacePolicy (not encryption)."""
    for key in ("DeletionPolicy", "UpdateReplacePolicy"):
        if attributes[0].get(key) != attributes[1].get(key):
            before, after = (_policy_text(attribute.get(key)) for attribute in attributes)
            # a conditional policy ({"Fn::If": [...]}) that can resolve to Retain keeps data too
            review.add("retention", logical_id, f"{key}: {before} -> {after}", "Retain" in after)


def _declared_classes(properties: dict[str, Any]) -> list[str]:
    """Each container's declared class, as the job reads it (riskbatch.model.settings.environment_class): only exactly
    non-production is non-production; missing or any other value (an unresolved Ref too) is production."""
    containers = properties.get("ContainerDefinitions", [])
    values = [{item.get("Name"): item.get("Value") for item in container.get("Environment", [])}.get(CLASS_VARIABLE) for container in containers]
    return ["non-production" if isinstance(value, str) and value.strip() == "non-production" else "production" for value in values]


def environment_class_delta(review: Review, logical_id: str, before: dict[str, Any], after: dict[str, Any], resource_type: str) -> None:
    """A task that moves from production to non-production may run its nights below the production scenario floor."""
    if resource_type == "AWS::ECS::TaskDefinition" and "production" in _declared_classes(before) and "production" not in _declared_classes(after):
        review.add("model", logical_id, f"weakening: {CLASS_VARIABLE} production -> non-production: its nights may run below the production floor", True)


def _policy_text(policy: Any) -> str:
    """A DeletionPolicy or UpdateReplacePolicy as written: a word, or the function that resolves to one."""
    return json.dumps(policy) if isinstance(policy, dict) else str(policy)


def _get(document: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(document, dict):
            return None
        document = document.get(part)
    return document


def interface_delta(review: Review, before: dict[str, Any], after: dict[str, Any]) -> None:
    for section in ("Parameters", "Outputs"):
        old, new = before.get(section, {}), after.get(section, {})
        for name in sorted(set(old) | set(new)):
            if name not in new:
                review.add("interface", f"{section[:-1]} {name}", "removed")
            elif name not in old:
                review.add("interface", f"{section[:-1]} {name}", "added")
            elif old[name] != new[name]:
                review.add("interface", f"{section[:-1]} {name}", f"changed: {', '.join(changed_paths(old[name], new[name]))}")
    old_exports = {name: json.dumps(body["Export"]["Name"], sort_keys=True) for name, body in before.get("Outputs", {}).items() if "Export" in body}
    new_exports = {name: json.dumps(body["Export"]["Name"], sort_keys=True) for name, body in after.get("Outputs", {}).items() if "Export" in body}
    for name, export in sorted(old_exports.items()):
        if name not in new_exports:
            review.add("interface", f"export of {name}", f"removed ({export}): every stack that imports it breaks", True)
        elif new_exports[name] != export:
            review.add("interface", f"export of {name}", f"renamed {export} -> {new_exports[name]}: importers break", True)


def review_templates(before: dict[str, Any], after: dict[str, Any], account: str | None = None) -> Review:
    """What changes from one template to the other; account: the stack's, when both are resolved with it."""
    review = Review()
    old, new = before.get("Resources", {}), after.get("Resources", {})
    for logical_id in sorted(set(old) | set(new)):
        was, now = old.get(logical_id), new.get(logical_id)
        if was == now:
            continue
        if now is None:
            kind = was["Type"]
            loss = STATEFUL_TYPES.get(kind)
            review.add("resources", f"{logical_id} ({kind})", "removed" + (f": stateful, {loss}" if loss else ""), bool(loss))
            iam_delta(review, logical_id, was.get("Properties", {}), {}, account)  # a removed policy takes its Deny statements with it
            continue
        if was is None:
            review.add("resources", f"{logical_id} ({now['Type']})", "added")
            iam_delta(review, logical_id, {}, now.get("Properties", {}), account)  # a new role or policy is new access
            network_delta(review, logical_id, {}, now.get("Properties", {}), now["Type"])
            grant_delta(review, logical_id, now["Type"], {}, now.get("Properties", {}))
            continue
        kind = now["Type"]
        before_props, after_props = was.get("Properties", {}), now.get("Properties", {})
        paths = changed_paths(before_props, after_props)
        replaced = replacement(kind, paths) if kind == was["Type"] else "True"
        note = f"modified: {', '.join(paths) or 'attributes'}; replacement {replaced}"
        stateful = STATEFUL_TYPES.get(kind)
        named = NAME_PROPERTIES.get(kind) in before_props and NAME_PROPERTIES.get(kind) not in paths
        if replaced != "False":
            review.replacements[logical_id] = replaced
            if stateful:
                note += f" of a stateful resource: {stateful}"
            if kind in REVISIONED_TYPES:
                note += f"; {REVISIONED_TYPES[kind]}"
            elif named:
                note += "; its custom name is unchanged, and CloudFormation cannot replace a custom-named resource under the same name"
        review.add("resources", f"{logical_id} ({kind})", note, replaced != "False" and bool(stateful))
        iam_delta(review, logical_id, before_props, after_props, account)
        network_delta(review, logical_id, before_props, after_props, kind)
        grant_delta(review, logical_id, kind, before_props if kind == was["Type"] else {}, after_props)
        encryption_delta(review, logical_id, before_props, after_props)
        retention_delta(review, logical_id, (was, now))
        environment_class_delta(review, logical_id, before_props, after_props, kind)
    interface_delta(review, before, after)
    return review


def requirements_review(before: dict[str, Any] | None, after: dict[str, Any]) -> Review:
    """What a change does to the compliance table's requirements (compliance/requirements.json).

    A requirement dropped, or a guard rule or test no longer enforcing one, weakens what the table
    proves: a security reviewer decides. A new requirement or a new enforcer is listed only.
    """
    review = Review()
    enforcers = {
        side: {each["requirement"]: set(each.get("guard_rules", [])) | set(each.get("tests", [])) for each in (document or {}).get("requirements", [])}
        for side, document in (("before", before), ("after", after))
    }
    old, new = enforcers["before"], enforcers["after"]
    for name in sorted(set(old) | set(new)):
        if name not in new:
            review.add("compliance", name, "requirement removed from the table", security=True)
        elif name not in old:
            review.add("compliance", name, "requirement added, enforced by " + ", ".join(sorted(new[name])))
        else:
            if old[name] - new[name]:
                review.add("compliance", name, "no longer enforced by " + ", ".join(sorted(old[name] - new[name])), security=True)
            if new[name] - old[name]:
                review.add("compliance", name, "also enforced by " + ", ".join(sorted(new[name] - old[name])))
    return review


def compliance_delta(base: list[dict[str, str]], head: list[dict[str, str]]) -> list[tuple[str, str, str]]:
    """(requirement, status at BASE, status here) for every requirement of make validate's table
    whose status changed, or that is new or gone ("-")."""
    before = {row["requirement"]: row["status"] for row in base}
    after = {row["requirement"]: row["status"] for row in head}
    return [(name, before.get(name, "-"), after.get(name, "-")) for name in sorted(set(before) | set(after)) if before.get(name) != after.get(name)]


def markdown(
    reviews: dict[str, Review], counts: dict[str, dict[str, tuple[int, int]]] | None = None, compliance: list[tuple[str, str, str]] | None = None
) -> str:
    """The pull-request comment."""
    lines = ["## Template review", ""]
    needs = [name for name, review in reviews.items() if review.needs_security_review]
    lines.append("**Needs a security reviewer:** " + ", ".join(needs) if needs else "No change needs a security reviewer.")
    for name, review in reviews.items():
        lines += ["", f"### {name}", ""]
        if not review.findings:
            lines.append("No change.")
            continue
        lines += ["| | area | what | change |", "| --- | --- | --- | --- |"]
        for finding in review.findings:
            flag = "⚠" if finding.needs_security_review else ""
            lines.append(f"| {flag} | {finding.category} | `{finding.subject}` | {finding.change.replace('|', '/')} |")
    if counts:
        lines += ["", "### Checks at the base and here", "", "| template | check | base | here |", "| --- | --- | --- | --- |"]
        for name, by_check in counts.items():
            for check, (base, head) in by_check.items():
                lines.append(f"| {name} | {check} | {base} | {head} |")
    if compliance is not None:
        lines += ["", "### Compliance table (make validate): requirements whose status changed", ""]
        if not compliance:
            lines.append("None.")
        else:
            lines += ["| requirement | base | here |", "| --- | --- | --- |"]
            lines += [f"| {name} | {base} | {head} |" for name, base, head in compliance]
    return "\n".join(lines) + "\n"


def as_json(reviews: dict[str, Review]) -> str:
    document = {
        name: {"needs_security_review": r.needs_security_review, "replacements": r.replacements, "findings": [asdict(f) for f in r.findings]}
        for name, r in reviews.items()
    }
    return json.dumps(document, indent=2)

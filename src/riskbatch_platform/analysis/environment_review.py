"""riskbatch-review's view of one environment: a template resolved with that environment's parameter file
(config/<env>.json) at the base and here, then reviewed.

Template text is not enough: a log group's `{"Ref": "LogRetentionInDays"}` or a rule's `{"Ref": "ClientCidr"}`
reads the same whatever the value, so a retention cut or a CIDR opened in config/prod.json alone changes no
line of the template. Each side is resolved with its own revision's values by the resolver `--plan`'s live
review uses (riskbatch_platform.analysis.resolve), and the two resolved templates go through
review_templates, in the same words and with the same ⚠.
"""

from __future__ import annotations

from typing import Any

from riskbatch_platform.analysis.resolve import UNRESOLVABLE, Context, resolve
from riskbatch_platform.analysis.review import Review, review_templates

Values = dict[str, str]


def applies(template: dict[str, Any] | None, values: Values | None) -> bool:
    """A parameter file is one of this template's environments when the template declares every parameter it sets."""
    return template is not None and values is not None and bool(values) and set(values) <= set(template.get("Parameters", {}))


def _declared(template: dict[str, Any], values: Values) -> Values:
    declared = template.get("Parameters", {})
    return {key: value for key, value in values.items() if key in declared}


def _pseudo(values: Values) -> dict[str, str]:
    suffix = values.get("EnvironmentSuffix")
    return {"stack_name": f"riskbatch-{suffix}"} if suffix else {}


def parameter_changes(review: Review, name: str, before: Values | None, after: Values | None) -> None:
    """Each value the file changes, added or drops (what it does to the stack is in the resolved review below it)."""
    before, after = before or {}, after or {}
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            review.add("parameters", f"{name} {key}", f"{before.get(key, '(not set)')} -> {after.get(key, '(not set)')}")


def environment_review(name: str, templates: tuple[dict[str, Any] | None, dict[str, Any]], values: tuple[Values | None, Values | None]) -> Review:
    """The changes to one environment's stack: (base, head) templates, each resolved with (base, head) values of the
    environment's file. A file new here: the base template with the new values (only the template's changes show)."""
    base_template, head_template = templates
    base_values, head_values = values
    review = Review()
    parameter_changes(review, name, base_values, head_values)
    if head_values is None:
        review.add("parameters", name, "removed: the environment's parameter file is gone")
        return review
    before_values = head_values if base_values is None else base_values
    try:
        after = resolve(head_template, _declared(head_template, head_values), **_pseudo(head_values))
        before = resolve(base_template, _declared(base_template, before_values), **_pseudo(before_values)) if base_template else {"Resources": {}}
    except UNRESOLVABLE as error:
        review.add("parameters", name, f"cannot be resolved ({error}): only the template as written is reviewed, a change made by a value alone is not shown")
        return review
    review.findings += review_templates(before, after, Context.account).findings
    return review

"""riskbatch-review in git mode reviews each environment's parameter file too: the template at the base resolved
with the file at the base, against the template here resolved with the file here. A value changed in the file
alone (a retention cut, a CIDR opened) changes no line of the template, and must be reviewed all the same."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from riskbatch_platform.analysis import review_change
from riskbatch_platform.analysis.environment_review import applies, environment_review
from test.template_model import REPO_ROOT

PROD = "config/prod.json"


def _head(relative: str) -> dict[str, Any]:
    return json.loads((REPO_ROOT / relative).read_text(encoding="utf-8"))


def _review_with_base(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, base_files: dict[str, dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    """riskbatch-review against a BASE whose files are the working tree's but for base_files."""

    def at_base(base: str, relative: str) -> dict | None:
        return copy.deepcopy(base_files[relative]) if relative in base_files else _head(relative)

    monkeypatch.setattr(review_change, "at_base", at_base)
    configs = sorted(path.relative_to(REPO_ROOT).as_posix() for path in (REPO_ROOT / "config").glob("*.json"))
    monkeypatch.setattr(review_change, "config_files_at", lambda base: configs)
    code = review_change.main(["BASE", "--out", str(tmp_path), "--no-counts"])
    return code, json.loads((tmp_path / "review.json").read_text(encoding="utf-8"))


def test_a_retention_cut_made_only_in_the_parameter_file_needs_a_security_reviewer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # events past a log group's retention are deleted ("When log events reach their retention setting they are marked
    # for deletion": CloudWatch Logs API reference, PutRetentionPolicy,
    # https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html)
    here = _head(PROD)
    days = int(here["Parameters"]["LogRetentionInDays"])
    allowed = json.loads((REPO_ROOT / "lib/TapStack.json").read_text(encoding="utf-8"))["Parameters"]["LogRetentionInDays"]["AllowedValues"]
    longer = min(value for value in allowed if int(value) > days)  # at the base prod kept its logs longer: here it cuts them
    base = copy.deepcopy(here)
    base["Parameters"]["LogRetentionInDays"] = str(longer)

    code, report = _review_with_base(monkeypatch, tmp_path, {PROD: base})

    assert report["lib/TapStack.json"]["findings"] == []  # the template's text is the same at both revisions
    prod = report[f"lib/TapStack.json with {PROD}"]
    assert prod["needs_security_review"] and code == 1
    cut = [f for f in prod["findings"] if f["category"] == "retention"]
    assert cut and all(f["needs_security_review"] and f"{longer} -> {days}" in f["change"] and "shortened" in f["change"] for f in cut)
    valued = {"category": "parameters", "subject": f"{PROD} LogRetentionInDays", "change": f"{longer} -> {days}", "needs_security_review": False}
    assert valued in prod["findings"]
    assert report["lib/TapStack.json with config/dev.json"]["findings"] == []  # dev's file did not change
    assert "lib/VpcEndpoints.json with config/prod.json" not in report  # prod.json sets parameters that template does not declare
    comment = (tmp_path / "review.md").read_text(encoding="utf-8")
    assert f"### lib/TapStack.json with {PROD}" in comment and any(line.startswith("| ⚠ | retention |") for line in comment.splitlines())


def test_a_cidr_opened_in_an_environments_values_is_new_exposure() -> None:
    """The endpoints' security group admits ClientCidr: opened to 0.0.0.0/0 by a value, no line of the template changes."""
    template = _head("lib/VpcEndpoints.json")
    required = {name: "x" for name, body in template["Parameters"].items() if "Default" not in body}
    base = {**required, "VpcId": "vpc-0123456789abcdef0", "ClientCidr": "10.0.0.0/16"}
    review = environment_review("config/endpoints.json", (template, template), (base, {**base, "ClientCidr": "0.0.0.0/0"}))
    opened = [f for f in review.findings if f.category == "network" and f.needs_security_review]
    assert opened and all('"CidrIp": "0.0.0.0/0"' in f.change for f in opened) and review.needs_security_review


def test_a_new_environment_file_shows_only_what_the_template_changes() -> None:
    """A file that is not at the base: the base template is resolved with the new values, so an unchanged template shows
    nothing but the values themselves (it is not reviewed as a whole new stack)."""
    template, values = _head("lib/TapStack.json"), _head(PROD)["Parameters"]
    review = environment_review("config/staging.json", (template, template), (None, values))
    assert review.findings and {f.category for f in review.findings} == {"parameters"} and not review.needs_security_review
    assert applies(template, values) and not applies(_head("lib/VpcEndpoints.json"), values)


def test_production_declared_non_production_in_its_parameter_file_needs_a_security_reviewer() -> None:
    """The class a stack declares picks its scenario floor: config/prod.json turned non-production would let its nights
    run 100 scenarios (VaR 99 % the single worst one); the template's text is the same, each task's resolved value is not."""
    here = _head(PROD)
    assert here["Parameters"]["EnvironmentClass"] == "production"
    lowered = copy.deepcopy(here)
    lowered["Parameters"]["EnvironmentClass"] = "non-production"
    template = _head("lib/TapStack.json")
    tasks = {name for name, body in template["Resources"].items() if body["Type"] == "AWS::ECS::TaskDefinition"}

    lowered_review = environment_review(PROD, (template, template), (here["Parameters"], lowered["Parameters"]))
    weakened = {f.subject for f in lowered_review.findings if f.category == "model" and f.needs_security_review and "weakening" in f.change}
    assert weakened == tasks and lowered_review.needs_security_review
    raised = environment_review(PROD, (template, template), (lowered["Parameters"], here["Parameters"]))
    assert not [f for f in raised.findings if f.category == "model"]  # back to production: nothing lowered

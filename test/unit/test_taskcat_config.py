"""The taskcat configuration names the template and only parameters it declares, in three regions."""

from __future__ import annotations

import yaml

from test.template_model import REPO_ROOT, Template

CONFIG = yaml.safe_load((REPO_ROOT / ".taskcat.yml").read_text(encoding="utf-8"))


def _tests() -> dict:
    return CONFIG["tests"]


def test_every_test_deploys_the_template() -> None:
    assert _tests()
    for test in _tests().values():
        assert (REPO_ROOT / test["template"]).resolve() == (REPO_ROOT / "lib" / "TapStack.json").resolve()


def test_only_declared_parameters_are_passed(template: Template) -> None:
    declared = set(template.parameters())
    passed = set(CONFIG["project"]["parameters"])
    for test in _tests().values():
        passed |= set(test.get("parameters", {}))
    assert passed - declared == set()


def test_every_parameter_without_a_default_is_given(template: Template) -> None:
    required = {name for name, body in template.parameters().items() if "Default" not in body}
    for test in _tests().values():
        given = set(CONFIG["project"]["parameters"]) | set(test.get("parameters", {}))
        assert required <= given


def test_three_regions_with_us_east_1_and_a_unique_suffix_per_run() -> None:
    regions = {region for test in _tests().values() for region in test.get("regions", CONFIG["project"]["regions"])}
    assert "us-east-1" in regions and len(regions) >= 3
    assert CONFIG["project"]["parameters"]["EnvironmentSuffix"] == "$[taskcat_random-string]"


def test_each_region_has_its_own_overrides() -> None:
    overrides = [frozenset(test.get("parameters", {}).items()) for test in _tests().values()]
    assert len(set(overrides)) == len(overrides) and all(overrides)


def test_services_stay_off_in_a_run_that_pushes_no_images() -> None:
    assert CONFIG["project"]["parameters"]["DeployServices"] == "false"
    assert all(test.get("parameters", {}).get("DeployServices", "false") == "false" for test in _tests().values())

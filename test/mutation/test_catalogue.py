"""The mutation catalogue stays in step with the template: every mutation still changes it."""

from __future__ import annotations

import pytest

from test.mutation.catalogue import MUTATIONS, Mutation
from test.template_model import REPO_ROOT, Template


def test_catalogue_is_large_enough() -> None:
    assert len(MUTATIONS) >= 50
    assert len({mutation.name for mutation in MUTATIONS}) == len(MUTATIONS)


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda mutation: mutation.name)
def test_mutation_changes_the_template(template: Template, mutation: Mutation) -> None:
    mutant = mutation.apply(template.doc)
    assert mutant != template.doc


def _changed_resources(before: dict, after: dict) -> set[str]:
    resources = set(before["Resources"]) | set(after["Resources"])
    return {logical_id for logical_id in resources if before["Resources"].get(logical_id) != after["Resources"].get(logical_id)}


@pytest.mark.parametrize("mutation", [m for m in MUTATIONS if m.name.endswith(("-first", "-last"))], ids=lambda mutation: mutation.name)
def test_a_first_or_last_mutation_edits_the_first_or_last_instance(template: Template, mutation: Mutation) -> None:
    """The instances are the resources of the edited one's type that hold the edited property."""
    mutant = mutation.apply(template.doc)
    (changed,) = _changed_resources(template.doc, mutant)
    before, after = template.resources[changed], mutant["Resources"][changed]
    edited = {
        key for key in set(before.get("Properties", {})) | set(after.get("Properties", {})) if before["Properties"].get(key) != after["Properties"].get(key)
    }
    instances = [lid for lid, body in template.resources.items() if body["Type"] == before["Type"] and edited <= set(body.get("Properties", {}))]
    assert changed == (instances[0] if mutation.name.endswith("-first") else instances[-1]), instances


def test_every_requirement_names_its_tests_and_they_exist() -> None:
    """A requirement without tests could never kill its mutants; a named test that does not exist never runs."""
    import subprocess
    import sys

    from test.mutation.requirement_tests import REQUIREMENT_TESTS

    assert {mutation.requirement for mutation in MUTATIONS} <= set(REQUIREMENT_TESTS)
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "test/unit"]
    collected = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    node_ids = {line.removeprefix("test/unit/") for line in collected.splitlines() if "::" in line}
    for requirement, tests in REQUIREMENT_TESTS.items():
        assert tests, requirement
        for test in tests:
            assert any(node == test or node.startswith(f"{test}[") for node in node_ids), f"{requirement}: no test {test}"


def test_the_runner_refuses_to_judge_mutants_of_a_template_that_already_fails(template: Template, tmp_path) -> None:
    """With key rotation off in the template, every mutant would look killed: the runner must stop at its baseline."""
    import copy
    import json
    import subprocess
    import sys

    broken = copy.deepcopy(template.doc)
    broken["Resources"]["RiskBatchKey"]["Properties"]["EnableKeyRotation"] = False
    path = tmp_path / "TapStack.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "test.mutation.run", "--template", str(path), "--only", "desired-count"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 2, run.stdout + run.stderr
    assert "baseline" in run.stderr and "killed" not in run.stdout


def _raised(error: BaseException) -> pytest.ExceptionInfo[BaseException]:
    try:
        raise error
    except BaseException:
        return pytest.ExceptionInfo.from_current()


@pytest.mark.parametrize(
    ("when", "error", "counts"),
    [
        ("call", AssertionError("the requirement"), True),
        ("call", pytest.fail.Exception("explicitly failed"), True),
        ("call", KeyError("StopTimeout"), False),  # the test could not read the mutant
        ("call", TypeError("not subscriptable"), False),
        ("setup", AssertionError("in a fixture"), False),
    ],
    ids=["assert", "pytest.fail", "KeyError", "TypeError", "fixture"],
)
def test_a_mutant_is_killed_only_by_an_assertion_in_the_tests_call(when: str, error: BaseException, counts: bool) -> None:
    from test.mutation.run import failed_by_assertion

    assert failed_by_assertion(when, _raised(error)) is counts


def test_no_requirement_is_judged_by_a_check_of_derived_files() -> None:
    """The format check and the docs' generated tables are regenerated in a pull request (make fmt,
    make docs), so they cannot stand for a requirement."""
    from test.mutation.requirement_tests import REQUIREMENT_TESTS

    derived = ("test_template_format.py::", "test_docs.py::")
    assert not [test for tests in REQUIREMENT_TESTS.values() for test in tests if test.startswith(derived)]

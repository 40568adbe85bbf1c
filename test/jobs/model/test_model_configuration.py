"""The versioned model configuration governs what a night may run: who approved the version and when, and the
fewest scenarios each environment may run (at 100 scenarios VaR 99 % is the single worst scenario, and its
Monte Carlo error is as large as the figure's day-to-day change)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from riskbatch.model.settings import (
    ENVIRONMENT_CLASS_VARIABLE,
    PARAMETER_VARIABLES,
    POLICY_VARIABLES,
    ConfigurationError,
    configured_run,
    environment_class,
    load_model_config,
)


@pytest.fixture(autouse=True)
def no_model_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in [*PARAMETER_VARIABLES.values(), *POLICY_VARIABLES.values(), "RISKBATCH_ENVIRONMENT", ENVIRONMENT_CLASS_VARIABLE]:
        monkeypatch.delenv(variable, raising=False)


@pytest.mark.parametrize(
    ("declared", "scenarios", "refused"),
    [("production", "100", True), ("production", "49999", True), ("production", "50000", False), ("non-production", "100", False)],
)
def test_production_runs_no_fewer_scenarios_than_its_floor(monkeypatch: pytest.MonkeyPatch, declared: str, scenarios: str, refused: bool) -> None:
    monkeypatch.setenv("RISKBATCH_ENVIRONMENT", "prod")
    monkeypatch.setenv(ENVIRONMENT_CLASS_VARIABLE, declared)
    monkeypatch.setenv("RISK_SCENARIOS", scenarios)
    if refused:
        with pytest.raises(ConfigurationError, match=f"RISK_SCENARIOS={scenarios} is below the floor of 50,000 scenarios .* environment 'prod'"):
            configured_run(input_seed=1)
    else:
        assert configured_run(input_seed=1)[0].scenarios == int(scenarios)


@pytest.mark.parametrize("suffix", ["live", "bench", "demo", "local", "dev", "itest", "preflight", "prod-eu"])
def test_a_stack_that_declares_no_class_gets_the_production_floor_whatever_its_name(monkeypatch: pytest.MonkeyPatch, suffix: str) -> None:
    """No stack name lowers the floor: a production stack called live (or bench, or dev) that declares nothing runs
    under the production floor."""
    monkeypatch.setenv("RISKBATCH_ENVIRONMENT", suffix)
    monkeypatch.setenv("RISK_SCENARIOS", "100")
    with pytest.raises(ConfigurationError, match=f"below the floor of 50,000 scenarios .* environment {suffix!r} \\(production: {ENVIRONMENT_CLASS_VARIABLE}="):
        configured_run(input_seed=1)


@pytest.mark.parametrize("declared", ["", " ", "nonprod", "Non-Production", "non_production", "test", "dev"])
def test_an_unknown_class_fails_safe_to_the_production_floor(monkeypatch: pytest.MonkeyPatch, declared: str) -> None:
    monkeypatch.setenv("RISKBATCH_ENVIRONMENT", "dev")
    monkeypatch.setenv(ENVIRONMENT_CLASS_VARIABLE, declared)
    monkeypatch.setenv("RISK_SCENARIOS", "100")
    assert environment_class(declared) == "production"
    with pytest.raises(ConfigurationError, match=r"below the floor of 50,000 scenarios .* \(production:"):
        configured_run(input_seed=1)


@pytest.mark.parametrize("suffix", ["prod-eu", "live", "team-a"])
def test_a_stack_declared_non_production_runs_below_the_production_floor_whatever_its_name(monkeypatch: pytest.MonkeyPatch, suffix: str) -> None:
    monkeypatch.setenv("RISKBATCH_ENVIRONMENT", suffix)
    monkeypatch.setenv(ENVIRONMENT_CLASS_VARIABLE, "non-production")
    monkeypatch.setenv("RISK_SCENARIOS", "2000")
    config = load_model_config()
    assert configured_run(input_seed=1)[0].scenarios == 2000 and config.scenario_floor("non-production") <= 2000 < config.scenario_floor("production")


def test_the_floor_follows_the_class_the_template_and_the_parameters_files_declare() -> None:
    """The template's default is production; config/prod.json declares production, config/dev.json non-production."""
    root = Path(__file__).resolve().parents[3]
    config = load_model_config()
    template = json.loads((root / "lib" / "TapStack.json").read_text())
    declared = {name: json.loads((root / "config" / f"{name}.json").read_text())["Parameters"]["EnvironmentClass"] for name in ("prod", "dev")}
    default = template["Parameters"]["EnvironmentClass"]["Default"]
    assert config.scenario_floor(default) == config.scenario_floor(declared["prod"]) == config.scenario_floor(None) > config.scenario_floor(declared["dev"])
    assert environment_class(declared["prod"]) == "production" and environment_class(declared["dev"]) == "non-production"


def test_the_configuration_keeps_the_floors_and_no_list_of_names(tmp_path: Path) -> None:
    """The approved configuration holds the two floors only; a list of stack names declared non-production is refused."""
    assert set(load_model_config().scenario_floors) == {"production", "non_production"}
    shipped = json.loads(load_model_config.__defaults__[0].read_text())
    shipped["scenario_floors"]["non_production_environments"] = ["live"]
    listed = tmp_path / "model_config.json"
    listed.write_text(json.dumps(shipped))
    with pytest.raises(ConfigurationError, match=r"malformed.*non_production_environments"):
        load_model_config(listed)


def test_the_configurations_own_figure_passes_its_floor_in_every_class() -> None:
    config = load_model_config()
    assert all(config.parameters["scenarios"] >= config.scenario_floor(declared) for declared in ("production", "non-production", None))


def test_every_version_says_who_approved_it_and_when_and_the_run_records_it() -> None:
    config = load_model_config()
    assert config.approval["approved_by"] and dt.date.fromisoformat(config.approval["approved_at"])
    _, record = configured_run(input_seed=1)
    assert record["approval"] == config.approval and record["version"] == config.version


def test_a_configuration_without_its_approval_is_refused(tmp_path: Path) -> None:
    shipped = json.loads(load_model_config.__defaults__[0].read_text())
    del shipped["approval"]
    unapproved = tmp_path / "model_config.json"
    unapproved.write_text(json.dumps(shipped))
    with pytest.raises(ConfigurationError, match="malformed"):
        load_model_config(unapproved)


def test_the_reports_audit_trail_names_the_approval() -> None:
    from riskbatch.reporting.pages import _model_config_rows

    _, record = configured_run(input_seed=1)
    rows = dict(_model_config_rows({"model_config": record}))
    assert rows["model configuration approved"] == f"by {record['approval']['approved_by']} on {record['approval']['approved_at']}"
    older = {key: value for key, value in record.items() if key != "approval"}  # a run made with an earlier version
    assert dict(_model_config_rows({"model_config": older}))["model configuration approved"].startswith("not recorded")

"""The versioned model configuration governs what a night may run: who approved the version and when, and the
fewest scenarios each environment may run (at 100 scenarios VaR 99 % is the single worst scenario, and its
Monte Carlo error is as large as the figure's day-to-day change)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from riskbatch.model.settings import PARAMETER_VARIABLES, POLICY_VARIABLES, ConfigurationError, configured_run, load_model_config


@pytest.fixture(autouse=True)
def no_model_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in [*PARAMETER_VARIABLES.values(), *POLICY_VARIABLES.values(), "RISKBATCH_ENVIRONMENT"]:
        monkeypatch.delenv(variable, raising=False)


@pytest.mark.parametrize(
    ("environment", "scenarios", "refused"), [("prod", "100", True), ("prod", "49999", True), ("prod", "50000", False), ("dev", "100", False)]
)
def test_production_runs_no_fewer_scenarios_than_its_floor(monkeypatch: pytest.MonkeyPatch, environment: str, scenarios: str, refused: bool) -> None:
    monkeypatch.setenv("RISKBATCH_ENVIRONMENT", environment)
    monkeypatch.setenv("RISK_SCENARIOS", scenarios)
    if refused:
        with pytest.raises(ConfigurationError, match=f"RISK_SCENARIOS={scenarios} is below the floor of 50,000 scenarios .* environment 'prod'"):
            configured_run(input_seed=1)
    else:
        assert configured_run(input_seed=1)[0].scenarios == int(scenarios)


@pytest.mark.parametrize("environment", ["production", "prod-eu", "prd", "PROD"])
def test_a_production_stack_by_any_other_name_gets_the_production_floor(monkeypatch: pytest.MonkeyPatch, environment: str) -> None:
    """Only the environments the configuration declares non-production run below the production floor: a
    production stack whose suffix is not exactly prod is not a loophole."""
    monkeypatch.setenv("RISKBATCH_ENVIRONMENT", environment)
    monkeypatch.setenv("RISK_SCENARIOS", "100")
    with pytest.raises(ConfigurationError, match=f"below the floor of 50,000 scenarios .* environment {environment!r} \\(production:"):
        configured_run(input_seed=1)


def test_the_floor_follows_the_class_the_template_and_the_parameters_files_give_an_environment() -> None:
    """The template's IsProduction suffix and config/prod.json's are production; config/dev.json's is declared
    non-production (its small nights allowed); an undeclared one is production."""
    root = Path(__file__).resolve().parents[3]
    config = load_model_config()
    template = json.loads((root / "lib" / "TapStack.json").read_text())
    (production_suffix,) = [value for value in template["Conditions"]["IsProduction"]["Fn::Equals"] if isinstance(value, str)]
    suffix = {name: json.loads((root / "config" / f"{name}.json").read_text())["Parameters"]["EnvironmentSuffix"] for name in ("prod", "dev")}
    production = config.scenario_floor(production_suffix)
    assert production == config.scenario_floor(suffix["prod"]) == config.scenario_floor("an-undeclared-one") > config.scenario_floor(suffix["dev"])
    assert config.environment_class(suffix["prod"]) == "production" and config.environment_class(suffix["dev"]) == "non-production"


def test_the_configurations_own_figure_passes_its_floor_in_every_environment() -> None:
    config = load_model_config()
    declared = config.scenario_floors["non_production_environments"]
    assert declared and all(config.parameters["scenarios"] >= config.scenario_floor(name) for name in [*declared, "prod"])


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

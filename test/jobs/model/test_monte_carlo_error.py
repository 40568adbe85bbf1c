"""The Monte Carlo standard error of VaR 99 % is reported against the tolerance of the model configuration,
and a figure too noisy to read is a warning on page one. Before, only the scenario floor bounded it, and no
figure said how precise tonight's VaR was."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from riskbatch.model.monte_carlo_error import monte_carlo_error
from riskbatch.model.risk_model import risk_figures
from riskbatch.model.settings import load_model_config
from riskbatch.reporting.page_one import warning_lines


def _summary(pnl: np.ndarray, tolerance: float) -> dict:
    return {
        "firm": risk_figures(pnl),
        "model_config": {"monte_carlo": {"var_99_relative_standard_error": tolerance}},
        "reporting_currency": "USD",
        "limits": [],
        "data_quality": {"held_last_prices": [], "excluded_positions": 0, "findings": []},
        "market_as_of": "2026-11-25",
        "business_date": "2026-11-25",
        "risk_model": {"shrinkage": 0.0, "jitter": 0.0},
    }


@pytest.mark.parametrize("scenarios", [2_000, 200_000])
def test_the_standard_error_is_the_quantile_standard_error_of_the_sample(scenarios: int) -> None:
    pnl = np.random.default_rng(8).standard_normal(scenarios) * 1e6
    error = monte_carlo_error(risk_figures(pnl), 0.02)
    q = norm.ppf(0.99)
    expected = np.sqrt(0.01 * 0.99 / scenarios) / norm.pdf(q) * 1e6  # the asymptotic standard error of a quantile
    assert error["standard_error"] == pytest.approx(expected, rel=0.25)
    assert error["within"] == (error["relative"] <= 0.02) and error["within"] == (scenarios == 200_000)


def test_a_figure_over_the_tolerance_is_a_warning_on_page_one_and_the_configuration_sets_it() -> None:
    config = load_model_config()
    tolerance = config.monte_carlo["var_99_relative_standard_error"]
    assert tolerance == 0.02 and config.record()["monte_carlo"] == {"var_99_relative_standard_error": 0.02}
    noisy = np.random.default_rng(9).standard_normal(1_000) * 1e6
    (line,) = [line for line in warning_lines(_summary(noisy, tolerance)) if "Monte Carlo standard error" in line]
    assert "above the 2.0% the model configuration tolerates: run more scenarios" in line
    precise = np.random.default_rng(9).standard_normal(200_000) * 1e6
    assert not any("Monte Carlo standard error" in line for line in warning_lines(_summary(precise, tolerance)))

"""The Monte Carlo standard error of VaR 99 % against the tolerance the model configuration sets.

A scenario floor per environment bounds how few scenarios a night may run; the standard error says
how precise tonight's figure is on tonight's book: half the width of its 95 % order-statistic
interval over 1.96, relative to the figure. Over the tolerance, the report warns on its first page
(the figure is published with its interval, and the warning says to run more scenarios)."""

from __future__ import annotations

from typing import Any

Z_95 = 1.959963984540054


def monte_carlo_error(figures: dict[str, Any], tolerance: float | None) -> dict[str, Any]:
    """{standard_error, relative, tolerance, within} of a scope's VaR 99 % (risk_figures' output)."""
    low, high = figures["ci_95"]["var_99"]
    error = (float(high) - float(low)) / (2 * Z_95)
    var = abs(float(figures["var_99"]))
    relative = error / var if var > 0 else 0.0
    return {"standard_error": error, "relative": relative, "tolerance": tolerance, "within": tolerance is None or relative <= tolerance}

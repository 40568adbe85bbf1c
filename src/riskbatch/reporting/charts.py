"""The report's charts: amounts on their axes in millions of the reporting currency.

matplotlib's default formatter writes large amounts as 0.25 with a "1e6" offset in the axis
corner, which a reader at 08:00 misses; every money axis here says "USD millions" in its label
and writes each tick in millions with thousands separators (1,250.5), with as many decimals as
the ticks need to differ, and no offset.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

DPI = 130
EXCEPTIONS_CHART_HEIGHT = 3.1  # inches: 403 pixels at 130 dpi
TREND_NIGHTS = 60  # about three months of business days
TREND_CHART_HEIGHT = 3.0  # inches: 390 pixels at 130 dpi


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def millions_formatter() -> Any:
    """A tick formatter that writes amounts in millions with thousands separators and no offset."""
    from matplotlib.ticker import Formatter

    class Millions(Formatter):
        ticks: tuple[float, ...] = ()

        def set_locs(self, locs: Any) -> None:  # the axis tells every tick before it asks for labels
            self.ticks = tuple(locs)

        def _decimals(self) -> int:
            values = np.asarray(self.ticks, dtype=float) / 1e6
            if len(values) < 2:
                return 2
            step = float(np.min(np.diff(np.sort(values)))) or 1.0
            for decimals in range(8):  # the fewest decimals that write every tick exactly
                if np.all(np.abs(np.round(values, decimals) - values) <= 1e-6 * step):
                    return decimals
            return 8

        def __call__(self, x: float, pos: int | None = None) -> str:
            decimals = self._decimals()
            value = round(x / 1e6, decimals)
            return f"{value + 0.0:,.{decimals}f}"  # + 0.0: no "-0.0"

    return Millions()


def money_axis(axis: Any, which: str, what: str, currency: str) -> None:
    """Label the x or y axis of `axis` as `what` in millions of `currency`, its ticks formatted so."""
    target = axis.xaxis if which == "x" else axis.yaxis
    target.set_major_formatter(millions_formatter())
    (axis.set_xlabel if which == "x" else axis.set_ylabel)(f"{what} ({currency} millions)" if what else f"{currency} millions")


def png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    _pyplot().close(figure)
    return buffer.getvalue()


# The histogram's three marks, each its own colour and line style (VaR 99 % and ES 97.5 % lie close
# together: colour alone or style alone would not tell them apart in print or in grey).
HISTOGRAM_MARKS = (
    ("var_95", "VaR 95 %", "#e08a00", "--"),
    ("var_99", "VaR 99 %", "#b22222", "-"),
    ("es_975", "ES 97.5 %", "#5b2a86", (0, (1, 1.5))),
)


def legend_below(axis: Any, columns: int, fontsize: float = 7, below: float = 0.15) -> Any:
    """The legend under the axes (`below` the axes' height under them, past the tick labels and the
    axis label), outside the plotted area: it covers no data."""
    return axis.legend(fontsize=fontsize, loc="upper center", bbox_to_anchor=(0.5, -below), ncol=columns, frameon=False)


def pnl_histogram(firm_pnl: np.ndarray, figures: dict[str, Any], currency: str) -> Any:
    """The firm's scenario P&L with its VaR 95 %, VaR 99 % and ES 97.5 % marked, as losses (at minus the figure)."""
    figure, axis = _pyplot().subplots(figsize=(7.0, 3.6))
    axis.hist(firm_pnl, bins=120, color="#9fb4d3")
    for key, label, colour, style in HISTOGRAM_MARKS:
        axis.axvline(-figures[key], color=colour, linestyle=style, linewidth=1.6, label=f"{label}: loss of {figures[key]:,.0f}")
    money_axis(axis, "x", "firm P&L over the horizon", currency)
    axis.set_ylabel("scenarios")
    legend_below(axis, len(HISTOGRAM_MARKS), fontsize=8, below=0.25)
    figure.tight_layout()
    return figure


def position_label(item: dict[str, Any]) -> str:
    """A position as a reader knows it: its portfolio, underlying and kind, its ID last."""
    return f"{item['portfolio_id']} {item['underlying']} {item['instrument_type']} ({item['position_id']})"


def contributions_chart(top: list[dict[str, Any]], currency: str) -> Any:
    """The largest contributions to ES 97.5 %, one bar a position, labelled by portfolio and instrument."""
    figure, bars = _pyplot().subplots(figsize=(7.0, 3.0))
    bars.barh([position_label(item) for item in top][::-1], [item["es_contribution"] for item in top][::-1], color="#6b8e23")
    bars.tick_params(axis="y", labelsize=7)
    money_axis(bars, "x", "contribution to ES 97.5 %", currency)
    figure.tight_layout()
    return figure


def exceptions_chart(series: list[dict[str, Any]], currency: str) -> Any:
    """Hypothetical P&L day by day against minus VaR 99 % (and 97.5 %), the exceptions marked."""
    days = np.arange(len(series))
    pnl = np.array([point["pnl"] for point in series])
    figure, axis = _pyplot().subplots(figsize=(7.0, EXCEPTIONS_CHART_HEIGHT))
    axis.bar(days, pnl, color="#9aa9bd", width=1.0, label="hypothetical P&L")
    axis.plot(days, [-point["var_99"] for point in series], color="#b22222", linewidth=1.0, label="VaR 99 % (as a loss)")
    if all(point["var_975"] is not None for point in series):
        axis.plot(days, [-point["var_975"] for point in series], color="#d2691e", linewidth=0.8, linestyle="--", label="VaR 97.5 % (as a loss)")
    hits = [i for i, point in enumerate(series) if point["exception"]]
    axis.scatter(hits, pnl[hits], color="#b22222", marker="v", zorder=3, s=18, label=f"exceptions ({len(hits)})")
    ticks = days[:: max(1, len(series) // 5)]
    axis.set_xticks(ticks, [series[i]["var_date"] for i in ticks], fontsize=7)
    money_axis(axis, "y", "one-day P&L", currency)
    legend_below(axis, 4)
    figure.tight_layout()
    return figure


def var_trend(records: list[dict[str, Any]], horizon_days: int, currency: str, nights: int = TREND_NIGHTS) -> list[dict[str, Any]]:
    """The firm's VaR 95 %, VaR 99 % and ES 97.5 % of the last `nights` nights of the history, tonight's
    included: only the nights with tonight's horizon and reporting currency (another is no comparison)."""
    comparable = [r for r in records if r.get("horizon_days", 1) == horizon_days and r.get("reporting_currency", currency) == currency and r.get("var")]
    return [{"business_date": r["business_date"], **{key: r["var"]["firm"][key] for key in ("var_95", "var_99", "es_975")}} for r in comparable[-nights:]]


def var_trend_chart(trend: list[dict[str, Any]], currency: str, limits: dict[str, float]) -> Any:
    """The firm's VaR and ES night by night, with the firm's limits on them as dashed lines."""
    nights = np.arange(len(trend))
    figure, axis = _pyplot().subplots(figsize=(7.0, TREND_CHART_HEIGHT))
    lines = (("var_95", "VaR 95 %", "#7a8fb0", "-", (0, (1, 1))), ("var_99", "VaR 99 %", "#1f3b73", "-", ":"), ("es_975", "ES 97.5 %", "#6b8e23", "--", "-."))
    for key, label, colour, style, limit_style in lines:
        values = [point[key] for point in trend]
        axis.plot(nights, values, color=colour, linestyle=style, linewidth=1.2, label=label, marker="o" if len(trend) < 15 else None, markersize=3)
        if key in limits:
            axis.axhline(limits[key], color="#b22222", linestyle=limit_style, linewidth=1.0, label=f"limit {label}: {limits[key]:,.0f}")
    axis.scatter([nights[-1]], [trend[-1]["var_99"]], color="#1f3b73", zorder=3, s=22)
    ticks = nights[:: max(1, len(trend) // 6)]
    axis.set_xticks(ticks, [trend[i]["business_date"] for i in ticks], fontsize=7)
    money_axis(axis, "y", "", currency)
    axis.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=5, frameon=False)  # below: the lines stay clear
    figure.tight_layout()
    return figure

"""``python -m apsystems plan ... --plot plan.png``: the plan's month-by-month figures as a picture.

Two panels share the months: API calls a month (the quota as a line) and the mean data age
over the solar hours, for the reference's static interval and our adaptive plan (and, south of
the equator, the reference as published with its latitude sign bug). It draws the same
``PlanReport`` the table prints, so the picture and the table cannot disagree.

matplotlib is a development dependency (requirements-dev.txt), imported only when a plot is
asked for: the apps never import this module, and AppDaemon never needs matplotlib.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apsystems.budget.simulation import YearFigures
    from apsystems.cli.plan import PlanReport

MONTH_LABELS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class PlotUnavailableError(RuntimeError):
    """matplotlib is not installed (it is a development dependency only)."""


def _pyplot() -> Any:
    try:
        import matplotlib  # noqa: PLC0415 - lazy: only `--plot` needs it

        matplotlib.use("Agg")  # files only, no display
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError as exc:
        raise PlotUnavailableError(
            "--plot needs matplotlib, a development dependency: `pip install -r requirements-dev.txt`"
            " (or `pip install matplotlib`)"
        ) from exc
    return plt


def _series(report: PlanReport) -> list[tuple[str, YearFigures, str, str]]:
    """(label, figures, colour, line style) for each method drawn."""
    series = [
        (f"reference: static {report.reference.interval_s / 60:g} min", report.static, "tab:gray", "--"),
        ("ours: adaptive", report.adaptive, "tab:orange", "-"),
    ]
    if report.scenario.site.latitude < 0:
        series.append(("reference as published (sign bug)", report.static_unfixed, "tab:red", ":"))
    return series


def plot_report(report: PlanReport, path: Path) -> Path:
    """Write the picture to ``path`` (PNG, SVG or PDF by its suffix); returns the path."""
    plt = _pyplot()
    figure = draw_report(report)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        figure.savefig(path, dpi=110)
    finally:
        plt.close(figure)
    return path


def draw_report(report: PlanReport) -> Any:
    """The matplotlib figure: calls (top) and data age (bottom), one line per method, x = month 1-12."""
    plt = _pyplot()
    scenario = report.scenario
    months = range(1, 13)
    figure, (calls_axis, age_axis) = plt.subplots(2, 1, figsize=(9, 7), sharex=True, constrained_layout=True)
    for label, figures, colour, style in _series(report):
        calls_axis.plot(months, [m.calls for m in figures.months], style, color=colour, marker="o", label=label)
        ages = [m.mean_age_s / 60 if m.solar_hours else float("nan") for m in figures.months]
        age_axis.plot(months, ages, style, color=colour, marker="o", label=label)
    quota = scenario.settings.quota
    calls_axis.axhline(quota, color="black", linewidth=1)
    highest = max([quota] + [m.calls for _label, figures, _c, _s in _series(report) for m in figures.months])
    calls_axis.set_ylim(0, highest * 1.15)
    calls_axis.text(
        0.99, quota, f"quota {quota} ", transform=calls_axis.get_yaxis_transform(), ha="right", va="bottom", fontsize=9
    )
    calls_axis.set_ylabel("API calls in the month")
    calls_axis.legend(loc="lower left", fontsize=9)
    calls_axis.grid(alpha=0.3)
    age_axis.set_ylabel("mean data age, solar hours (min)")
    age_axis.set_ylim(bottom=0)
    age_axis.grid(alpha=0.3)
    age_axis.set_xticks(list(months), MONTH_LABELS)
    site, fleet = scenario.site, scenario.fleet
    figure.suptitle(
        f"API plan {scenario.year}: lat {site.latitude:g}, {fleet.inverters} inverter(s), {fleet.ecus} ECU(s),"
        f" quota {quota}/month (python -m apsystems plan)",
        fontsize=11,
    )
    return figure

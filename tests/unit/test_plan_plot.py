"""``python -m apsystems plan ... --plot FILE``: the picture shows the planner's own month figures.

The lines are compared with the report the table prints (same ``build_report``), and the PNG
the command writes is checked as a PNG of the expected size. Without matplotlib the command
fails with exit code 2 and says how to install it.
"""

from __future__ import annotations

import io
import math
import struct
import sys
from pathlib import Path

import pytest

from apsystems.budget.pacing import BudgetSettings, Fleet
from apsystems.budget.simulation import Scenario
from apsystems.budget.solar_window import Site
from apsystems.cli.main import main
from apsystems.cli.plan import EXIT_USAGE, build_report

pytest.importorskip("matplotlib", reason="matplotlib is a development dependency (requirements-dev.txt)")

from apsystems.cli.plan_plot import draw_report

LONDON = (
    "--lat",
    "51.5",
    "--lon",
    "-0.12",
    "--tz",
    "Europe/London",
    "--inverters",
    "6",
    "--ecus",
    "1",
    "--year",
    "2027",
)


def _report(latitude: float, zone: str):
    scenario = Scenario(
        Site(latitude, 138.6 if latitude < 0 else -0.12, zone), Fleet(6, 1), 2027, BudgetSettings(quota=1000)
    )
    return build_report(scenario)


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_lines_are_the_reports_month_figures() -> None:
    report = _report(51.5, "Europe/London")
    figure = draw_report(report)
    calls_axis, age_axis = figure.axes
    calls = {
        line.get_label(): list(line.get_ydata())
        for line in calls_axis.get_lines()
        if not line.get_label().startswith("_")
    }
    ages = {
        line.get_label(): list(line.get_ydata())
        for line in age_axis.get_lines()
        if not line.get_label().startswith("_")
    }
    ours, reference = "ours: adaptive", f"reference: static {report.reference.interval_s / 60:g} min"
    assert set(calls) == {ours, reference}, "north of the equator: two methods, no sign-bug line"
    assert calls[ours] == [m.calls for m in report.adaptive.months]
    assert calls[reference] == [m.calls for m in report.static.months]
    assert [round(a, 6) for a in ages[ours]] == [round(m.mean_age_s / 60, 6) for m in report.adaptive.months]
    assert [round(a, 6) for a in ages[reference]] == [round(m.mean_age_s / 60, 6) for m in report.static.months]
    quota_lines = [line for line in calls_axis.get_lines() if line.get_label().startswith("_")]
    assert any(set(line.get_ydata()) == {1000} for line in quota_lines), "the quota is drawn as a line"


def test_southern_site_adds_the_sign_bug_line() -> None:
    report = _report(-35.0, "Australia/Adelaide")
    calls_axis = draw_report(report).axes[0]
    labels = [line.get_label() for line in calls_axis.get_lines() if not line.get_label().startswith("_")]
    assert "reference as published (sign bug)" in labels
    bug = next(line for line in calls_axis.get_lines() if line.get_label() == "reference as published (sign bug)")
    assert list(bug.get_ydata()) == [m.calls for m in report.static_unfixed.months]
    assert max(bug.get_ydata()) > 1000, "the published formula overruns the quota in the southern summer"


def test_cli_writes_the_png_and_still_prints_the_table(tmp_path: Path) -> None:
    target = tmp_path / "out" / "plan.png"
    out = io.StringIO()
    assert main(["plan", *LONDON, "--plot", str(target)], out=out) == 0
    assert "ours: adaptive" in out.getvalue(), "the table is printed as without --plot"
    assert _png_size(target) == (990, 770), "9 x 7 inches at 110 dpi"


def test_without_matplotlib_the_error_says_how_to_install(tmp_path: Path, monkeypatch, capsys) -> None:
    for name in [name for name in sys.modules if name == "matplotlib" or name.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    target = tmp_path / "plan.png"
    assert main(["plan", *LONDON, "--plot", str(target)], out=io.StringIO()) == EXIT_USAGE
    assert "requirements-dev.txt" in capsys.readouterr().err
    assert not target.exists()


def test_month_without_solar_hours_is_a_gap_not_zero() -> None:
    """Polar night: no solar hours, no data age to show (NaN leaves a gap instead of a false 0 min)."""
    report = _report(78.0, "Arctic/Longyearbyen")
    ages = draw_report(report).axes[1].get_lines()[1].get_ydata()
    dark = [index for index, month in enumerate(report.adaptive.months) if not month.solar_hours]
    assert dark, "78° N has months without sun"
    assert all(math.isnan(ages[index]) for index in dark)

"""``python -m apsystems plan`` and the year benchmark: what a user reads before installing.

The planner's figures come from the same year simulation as tests/unit/test_budget_simulation.py,
so these tests check what the command shows (12 months, both methods, the reference's own
numbers, the sign bug's overrun south of the equator, clear errors), not the pacing itself.
The full benchmark (10 scenarios, about 5 s) is a benchmark, not a test: here it runs one
reduced scenario.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from apsystems.budget.simulation import Scenario, YearFigures, simulate_static
from apsystems.cli.main import main
from apsystems.cli.plan import EXIT_USAGE, MONTHS, run_plan, zone_for_longitude
from benchmarks import budget_year

REPO = Path(__file__).resolve().parents[2]
LONDON = ("--lat", "51.5", "--lon", "-0.12", "--tz", "Europe/London", "--inverters", "6", "--ecus", "1")
ADELAIDE = ("--lat", "-35", "--lon", "138.6", "--tz", "Australia/Adelaide", "--inverters", "6", "--ecus", "1")
YEAR = ("--year", "2027")


def plan(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(["plan", *argv], out=out), out.getvalue()


def table(*argv: str) -> str:
    code, text = plan(*argv)
    assert code == 0, text
    return text


def document(*argv: str) -> dict[str, Any]:
    code, text = plan(*argv, "--json")
    assert code == 0, text
    parsed: dict[str, Any] = json.loads(text)
    return parsed


@pytest.fixture(scope="module")
def london_table() -> str:
    return table(*LONDON, *YEAR)


@pytest.fixture(scope="module")
def london_json() -> dict[str, Any]:
    return document(*LONDON, *YEAR)


@pytest.fixture(scope="module")
def adelaide_table() -> str:
    return table(*ADELAIDE, *YEAR)


@pytest.fixture(scope="module")
def adelaide_json() -> dict[str, Any]:
    return document(*ADELAIDE, *YEAR)


def month_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line[:3] in MONTHS and line[3:5] == "  "]


def test_table_has_twelve_months_and_both_methods(london_table: str) -> None:
    rows = month_rows(london_table)
    assert [row[:3] for row in rows] == list(MONTHS)
    assert "reference: static, sign fixed" in london_table and "ours: adaptive" in london_table
    header = next(line for line in london_table.splitlines() if line.startswith("month"))
    assert header.count("calls") == 2 and header.count("share") == 2
    assert header.count("interval") == 2 and header.count("data age") == 2 and "hours" in header
    for row in rows:
        assert row.count("%") == 2 and row.count(" min") == 2, row  # both methods' share and data age
    assert any(line.startswith("year ") for line in london_table.splitlines())


def test_reference_line_reproduces_3300_s_and_817_calls(london_table: str, london_json: dict[str, Any]) -> None:
    line = next(line for line in london_table.splitlines() if line.startswith("Reference static interval"))
    assert "3300 s" in line and "817 calls/month" in line
    assert london_table.index(line) < london_table.index("month hours")  # above the table
    assert london_json["reference"]["interval_s"] == 3300
    assert london_json["reference"]["monthly_calls_estimate"] == 817
    assert "sign bug only matters south of the equator" in london_table


def test_json_has_the_documented_keys(london_json: dict[str, Any]) -> None:
    assert london_json["quota"] == 1000
    months = london_json["months"]
    assert [m["month"] for m in months] == list(range(1, 13))
    for month in months:
        for method in ("static", "adaptive", "static_unfixed"):
            figures = month[method]
            assert {"calls", "mean_age_s", "share", "mean_interval_s", "solar_hours"} <= figures.keys()
            assert figures["calls"] > 0 and figures["mean_age_s"] > 0
            assert figures["share"] == pytest.approx(figures["calls"] / 1000, abs=1e-4)
        assert month["static"]["mean_interval_s"] == 3300


def test_table_and_json_show_the_same_figures(london_table: str, london_json: dict[str, Any]) -> None:
    for row, month in zip(month_rows(london_table), london_json["months"], strict=True):
        fields = row.replace("|", " ").split()
        assert int(fields[2]) == month["static"]["calls"]
        assert f"{month['adaptive']['mean_age_s'] / 60:.1f} min" in row


def test_adaptive_within_quota_and_fresher_at_51_5(london_json: dict[str, Any]) -> None:
    for month in london_json["months"]:
        assert month["adaptive"]["calls"] <= 1000
        assert month["adaptive"]["share"] >= 0.95
        assert month["adaptive"]["mean_age_s"] < month["static"]["mean_age_s"]
    totals = london_json["year_totals"]
    # The plan now runs the apps' own hh:48 poll timing (uneven gaps): 0.67, where the old model said 0.58.
    assert totals["adaptive"]["mean_age_s"] <= 0.7 * totals["static"]["mean_age_s"]


def test_minus_35_shows_the_unfixed_formula_overrunning(adelaide_table: str, adelaide_json: dict[str, Any]) -> None:
    months = {m["month"]: m for m in adelaide_json["months"]}
    summer = [months[m]["static_unfixed"]["calls"] for m in (11, 12, 1)]
    assert max(summer) > 1000
    assert all(m["adaptive"]["calls"] <= 1000 for m in months.values())
    assert all(m["static"]["calls"] <= 1000 for m in months.values())  # the sign fixed: within the quota
    assert adelaide_json["reference_unfixed"]["monthly_calls_real"] > 1000
    assert "latitude sign bug" in adelaide_table and "over the quota" in adelaide_table
    december = next(row for row in month_rows(adelaide_table) if row.startswith("Dec"))
    assert december.endswith(f"{months[12]['static_unfixed']['calls']}!")


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (("--lat", "95", "--inverters", "6"), "latitude 95"),
        (("--lat", "-90.5", "--inverters", "6"), "latitude -90.5"),
        (("--lat", "north", "--inverters", "6"), "'north'"),
        (("--lat", "50", "--inverters", "-1"), "inverters -1"),
        (("--lat", "50", "--inverters", "6", "--tz", "Mars/Olympus_Mons"), "'Mars/Olympus_Mons'"),
        (("--lat", "50", "--inverters", "6", "--quota", "0"), "quota 0"),
        (("--lat", "50", "--lon", "181", "--inverters", "6"), "longitude 181"),
    ],
)
def test_invalid_input_exits_2_naming_the_value(
    argv: tuple[str, ...], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        plan(*argv)
    assert exited.value.code == EXIT_USAGE
    assert named in capsys.readouterr().err


def test_invalid_input_exit_code_from_the_command_line() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO / "apps")}
    done = subprocess.run(
        [sys.executable, "-m", "apsystems", "plan", "--lat", "95", "--inverters", "6"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "latitude 95" in done.stderr and done.stdout == ""


def test_run_plan_refuses_a_bad_namespace_too(capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(
        lat=50.0, lon=0.0, tz="Nowhere/Town", inverters=6, ecus=1, quota=1000, year=2027, json=False
    )
    assert run_plan(args, io.StringIO()) == EXIT_USAGE
    assert "Nowhere/Town" in capsys.readouterr().err


def test_defaults_year_is_this_year_and_zone_follows_the_longitude() -> None:
    parsed = document("--lat", "-35", "--lon", "138.6", "--inverters", "6")
    assert parsed["year"] == date.today().year
    assert parsed["site"]["time_zone"] == "Etc/GMT-9"  # UTC+9, POSIX sign
    assert parsed["fleet"] == {"inverters": 6, "ecus": 1, "meters": 0, "storages": 0}


@pytest.mark.parametrize(
    ("longitude", "name"),
    [(0.0, "Etc/GMT"), (-0.12, "Etc/GMT"), (138.6, "Etc/GMT-9"), (-74.0, "Etc/GMT+5"), (180.0, "Etc/GMT-12")],
)
def test_zone_for_longitude(longitude: float, name: str) -> None:
    assert zone_for_longitude(longitude) == name
    ZoneInfo(name)  # exists


def test_every_whole_hour_zone_exists() -> None:
    for longitude in range(-180, 181, 5):
        ZoneInfo(zone_for_longitude(float(longitude)))


def test_benchmark_reduced_run_prints_months_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert budget_year.main(["--latitudes", "51.5", "--fleets", "6/1"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.split()[:1] and line.split()[0] in MONTHS]
    assert [row[0] for row in rows] == list(MONTHS)
    for row in rows:
        calls, share, history, manual = int(row[3]), row[4], int(row[7]), int(row[8])
        assert calls <= 1000 and share.endswith("%")
        assert history == 0  # no history app unless --history
        assert manual == budget_year.ISSUE_MANUAL_PER_MONTH  # the issue's scenario is the default
    assert "adaptive months over quota: 0" in out


def test_benchmark_prints_the_history_calls_next_to_the_polls(capsys: pytest.CaptureFixture[str]) -> None:
    assert budget_year.main(["--latitudes", "51.5", "--fleets", "6/1", "--history", "--summary-only"]) == 0
    assert budget_year.main(["--latitudes", "51.5", "--fleets", "6/1", "--history"]) == 0
    out = capsys.readouterr().out
    assert "energy history (backfill of 44 calls)" in out
    rows = [line.split() for line in out.splitlines() if line.split()[:1] and line.split()[0] in MONTHS]
    history = [int(row[7]) for row in rows]
    assert len(history) == 12 and sum(history) >= 2 * 365 + 44


def test_benchmark_defaults_are_the_issue_scenario() -> None:
    assert budget_year.ISSUE_LATITUDES == (64.0, 51.5, 0.0, -33.9, -45.0)
    assert budget_year.ISSUE_FLEETS == ((6, 1), (30, 3))
    assert budget_year.ISSUE_FAILURE_RATE == 0.05
    assert all(lat in budget_year.SITES for lat in budget_year.ISSUE_LATITUDES)


def test_benchmark_exits_1_when_a_month_is_over_quota(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def overrunning(scenario: Scenario) -> YearFigures:
        return simulate_static(scenario, fix_latitude_sign=False)  # the sign bug overruns at -35 in summer

    monkeypatch.setattr(budget_year, "simulate_adaptive", overrunning)
    assert budget_year.main(["--latitudes", "-35", "--fleets", "6/1", "--summary-only"]) == 1
    assert "OVER QUOTA" in capsys.readouterr().out

"""Meters and batteries in the budget: the poll cost, the night cadence, the plan CLI and a year of them.

Worked by hand on a UTC site whose window is 08:00-16:00 every day (8 solar hours, 16 dark).
"""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from apsystems.budget.config import BudgetConfig
from apsystems.budget.core import BudgetCore
from apsystems.budget.ledger import CallLedger
from apsystems.budget.pacing import BudgetSettings, Fleet
from apsystems.budget.simulation import Scenario, simulate_adaptive
from apsystems.budget.solar_window import Site
from apsystems.cli.main import main as cli_main
from tests.unit.test_pacing import SIX, planner, utc

HOUSEHOLD = Fleet(inverters=6, ecus=1, meters=1, storages=1)
YEAR = 2027
LATITUDES = {
    64.0: Site(64.0, -21.94, "Atlantic/Reykjavik"),
    51.5: Site(51.5, -0.12, "Europe/London"),
    0.0: Site(0.0, 32.58, "Africa/Kampala"),
    -33.9: Site(-33.9, 18.42, "Africa/Johannesburg"),
    -45.0: Site(-45.0, 170.5, "Pacific/Auckland"),
}


def test_a_poll_reads_every_meter_once_and_every_battery_twice() -> None:
    p = planner()
    assert p.poll_cost(SIX) == 1
    assert p.poll_cost(HOUSEHOLD) == 1 + 1 + 2
    assert planner(poll_source="ecu").poll_cost(Fleet(6, 3, meters=2, storages=0)) == 3 + 2


def test_an_inverters_only_site_plans_exactly_as_before() -> None:
    p = planner()
    plan = p.plan(utc(2027, 4, 1, 8), 0, SIX)
    assert plan.night_interval_s == 0 and p.night_plan(SIX, 2027, 4) == (0, 0)
    # 30 days x (summary 1 + detail 6 + batch 1) = 240 fixed, as the inverters-only plan always had
    assert plan.fixed_calls_remaining == 240


def test_the_users_night_interval_when_the_quota_carries_it() -> None:
    p = planner(quota=100_000, night_interval_s=3600)
    interval, reads = p.night_plan(HOUSEHOLD, 2027, 4)
    assert (interval, reads) == (3600, 16)  # 16 dark hours, one read an hour
    # fixed a day: summary 1 + detail 6 + batch 1 + closing 2 + 16 night reads x 3 calls = 58
    assert p.daily_fixed_calls(HOUSEHOLD, utc(2027, 4, 1).date()) == 58
    assert p.plan(utc(2027, 4, 1, 8), 0, HOUSEHOLD).fixed_calls_remaining == 30 * 58


def test_the_night_interval_stretches_to_fit_the_quota() -> None:
    p = planner(night_interval_s=3600)
    # room 1000 - 30 reserve - 30 x (1 + 1 + 2) = 850; a third is 283 calls, 9.4 a day, 3.1 reads
    # of 3 calls: 3 reads a night over 16 dark hours -> every 19200 s
    assert p.night_plan(HOUSEHOLD, 2027, 4) == (19200, 3)
    plan = p.plan(utc(2027, 4, 1, 8), 0, HOUSEHOLD)
    assert plan.night_interval_s == 19200 and plan.poll_cost == 4
    assert plan.projected_month_calls <= 1000


def test_night_interval_setting_is_validated() -> None:
    with pytest.raises(ValueError, match="night_interval 60 must be an integer from 900 to 86400"):
        BudgetSettings(night_interval_s=60)
    with pytest.raises(ValueError, match="storages"):
        Fleet(storages=-1)


def test_core_plans_night_reads_outside_the_window_only(tmp_path: Path) -> None:
    now = [datetime(2027, 4, 1, 20, tzinfo=timezone.utc)]
    site = Site(0.0, 0.0, "UTC")
    cfg = BudgetConfig(
        app_id="A" * 32,
        sid="S",
        settings=BudgetSettings(quota=100_000),
        latitude=site.latitude,
        longitude=site.longitude,
        time_zone="UTC",
        month_time_zone=None,
        sunrise_offset_min=0,
        sunset_offset_min=0,
    )
    core = BudgetCore(cfg, clock=lambda: now[0], ledger=CallLedger(None, timezone.utc), state_path=tmp_path / "s.json")
    assert not core.household_read_due(None)  # no meter, no battery: never
    assert core.set_household(meters=1, storages=1) and not core.set_household(meters=1, storages=1)
    assert core.household_read_due(None)
    assert not core.household_read_due(now[0] - timedelta(minutes=30))
    assert core.household_read_due(now[0] - timedelta(hours=1))
    now[0] = datetime(2027, 4, 1, 12, tzinfo=timezone.utc)
    assert not core.household_read_due(None)  # by day, production's polls read them
    assert core.plan().poll_cost == 4
    restarted = BudgetCore(
        cfg, clock=lambda: now[0], ledger=CallLedger(None, timezone.utc), state_path=tmp_path / "s.json"
    )
    assert (restarted.fleet.meters, restarted.fleet.storages) == (1, 1)
    core.set_site(inverters=6, ecus=1, poll_source=core.poll_source, time_zone="UTC")
    assert (core.fleet.meters, core.fleet.storages) == (1, 1)  # the inverter scan keeps them


@pytest.mark.parametrize("latitude", list(LATITUDES))
def test_a_year_with_a_meter_and_a_battery_stays_within_the_quota(latitude: float) -> None:
    scenario = Scenario(
        LATITUDES[latitude], Fleet(6, 1, meters=1, storages=1), YEAR, failure_rate=0.05, manual_per_month=20
    )
    figures = simulate_adaptive(scenario)
    for month in figures.months:
        assert month.calls <= month.quota, (latitude, month)
        assert month.fixed_calls > 0 and month.polls > 0


def test_plan_cli_counts_meters_and_batteries() -> None:
    out = io.StringIO()
    args = ["plan", "--lat", "51.5", "--tz", "Europe/London", "--inverters", "6", "--year", "2027"]
    assert cli_main([*args, "--meters", "1", "--storage", "1", "--json"], out) == 0
    data = json.loads(out.getvalue())
    assert data["fleet"] == {"inverters": 6, "ecus": 1, "meters": 1, "storages": 1}
    assert all(m["adaptive"]["calls"] <= 1000 for m in data["months"])

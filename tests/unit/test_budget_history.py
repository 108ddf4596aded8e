"""The energy history's calls in the budget: fixed evening calls, a backfill spread over days
that lengthens no day's production interval by more than 10 %, its own purpose, the year."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from apsystems.budget.core import BudgetCore
from apsystems.budget.pacing import (
    HISTORY_DAILY_CALLS,
    HISTORY_MAX_GROWTH,
    BudgetPlanner,
    BudgetSettings,
    Fleet,
    PollSource,
    history_backfill,
)
from apsystems.budget.simulation import MonthFigures, Scenario, SimulatedClock, simulate_adaptive
from apsystems.budget.solar_window import Site, SolarCalendar

from .test_budget_core import LONDON, make_core, spend

SIX = Fleet(inverters=6, ecus=1, history_daily_calls=HISTORY_DAILY_CALLS)
SITES = [
    Site(51.5, -0.12, "Europe/London"),
    Site(65.0, 25.47, "Europe/Helsinki"),
    Site(-35.0, 138.6, "Australia/Adelaide"),
]


def test_backfill_share_keeps_the_interval_growth_within_ten_percent() -> None:
    assert history_backfill(0, 10, 44) == (0, 0)
    assert history_backfill(500, 10, 0) == (0, 0)
    per_day, month = history_backfill(550, 10, 1000)
    assert (per_day, month) == (5, 50)
    assert 550 / (550 - month) <= 1 + HISTORY_MAX_GROWTH
    assert history_backfill(550, 10, 7) == (5, 7)  # never more than the backlog


@pytest.mark.parametrize("site", SITES, ids=lambda s: s.time_zone)
def test_no_day_of_the_year_polls_more_than_ten_percent_slower_with_a_backfill(site: Site) -> None:
    planner = BudgetPlanner(BudgetSettings(), SolarCalendar(site, 30, 30))
    start = datetime(2027, 1, 1, 12, tzinfo=planner.calendar.tz)
    for day in range(0, 365, 3):
        for used_share in (0.0, 0.4, 0.8):
            now = start + timedelta(days=day)
            used = int(used_share * (now.day - 1) / 31 * 1000)
            without = planner.plan(now, used, SIX)
            with_backfill = planner.plan(now, used, SIX, history_backlog=10_000)
            assert with_backfill.interval_s <= without.interval_s * (1 + HISTORY_MAX_GROWTH) + 1, (now, used)
            assert with_backfill.projected_month_calls <= 1000 or without.projected_month_calls > 1000
            assert with_backfill.history_backfill_planned == with_backfill.history_backfill_per_day * (
                (planner._month(now).last_day - planner.calendar.local_date(now)).days + 1
            )


def test_history_daily_calls_are_fixed_jobs() -> None:
    planner = BudgetPlanner(BudgetSettings(), SolarCalendar(SITES[0], 30, 30))
    now = datetime(2027, 6, 1, 5, tzinfo=planner.calendar.tz)
    plain = planner.plan(now, 0, Fleet(inverters=6, ecus=1))
    assert planner.plan(now, 0, SIX).fixed_calls_remaining == plain.fixed_calls_remaining + 30 * HISTORY_DAILY_CALLS


def test_core_spends_todays_backfill_share_then_refuses_until_tomorrow(tmp_path: Path) -> None:
    clock = SimulatedClock(datetime(2027, 6, 15, 22, 30, tzinfo=LONDON))
    core = make_core(clock, tmp_path)
    core.set_site(inverters=6, ecus=1, poll_source=PollSource.SYSTEM, time_zone="Europe/London")
    core.set_history(enabled=True, backlog=44)
    per_day = core.plan().history_backfill_per_day
    assert per_day >= 1
    assert spend(core, clock, HISTORY_DAILY_CALLS, "history_daily")
    spent = 0
    while spend(core, clock, 1, "history"):
        spent += 1
    assert spent == per_day
    assert "continues on a later day" in core.last_refusal
    _, attributes, _ = core.sensor()
    assert attributes["calls_by_purpose"] == {"history_daily": HISTORY_DAILY_CALLS, "history": per_day}
    assert attributes["history_backlog"] == 44

    again = make_core(clock, tmp_path)  # a restart keeps today's count and the backlog
    assert again.history_backlog == 44 and again.fleet.history_daily_calls == HISTORY_DAILY_CALLS
    assert not spend(again, clock, 1, "history")
    clock.now += timedelta(days=1)
    assert spend(again, clock, 1, "history")
    assert again.purpose_calls()["history"] == per_day + 1


def test_no_backfill_after_the_quota_is_reported_exhausted() -> None:
    clock = SimulatedClock(datetime(2027, 6, 15, 22, 30, tzinfo=LONDON))
    core: BudgetCore = make_core(clock)
    core.set_site(inverters=6, ecus=1, poll_source=PollSource.SYSTEM, time_zone="Europe/London")
    core.set_history(enabled=True, backlog=44)
    assert spend(core, clock, 1, "history", code=2005)
    assert not spend(core, clock, 1, "history")
    with pytest.raises(ValueError, match="backlog"):
        core.set_history(enabled=True, backlog=-1)


def test_a_year_with_history_stays_within_the_quota_and_finishes_the_backfill() -> None:
    def year(backlog: int) -> tuple[MonthFigures, ...]:
        scenario = Scenario(
            SITES[0], Fleet(6, 1), 2027, failure_rate=0.05, manual_per_month=20, history=True, history_backlog=backlog
        )
        return simulate_adaptive(scenario).months

    plain, with_backfill = year(0), year(44)
    assert all(not m.over_quota for m in with_backfill)
    assert sum(m.history_calls for m in with_backfill) == sum(m.history_calls for m in plain) + 44
    assert all(m.history_calls >= HISTORY_DAILY_CALLS * 28 for m in with_backfill)
    for a, b in zip(with_backfill, plain, strict=True):
        assert a.mean_interval_s <= b.mean_interval_s * (1 + HISTORY_MAX_GROWTH), a.month

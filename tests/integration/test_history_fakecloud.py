"""The history runner against the fake cloud, through the real budget core, into a recorder
that keeps rows the way Home Assistant does (one sum per start, an import replaces equal starts)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from apsystems.api.client import ApsystemsClient
from apsystems.budget.config import BudgetConfig
from apsystems.budget.core import BudgetCore
from apsystems.budget.ledger import CallLedger
from apsystems.budget.pacing import BudgetSettings, PollSource
from apsystems.budget.simulation import SimulatedClock
from apsystems.common.months import zone
from apsystems.history.book import StatisticRow
from apsystems.history.hours import day_span
from apsystems.history.metadata import solar_statistic_id
from apsystems.history.recorder_ws import ImportRefused
from apsystems.history.runner import HistoryOptions, HistoryRunner
from apsystems.history.store import history_file, load_history, save_history
from fakes.apsystems_cloud import DEFAULT_APP_ID, DEFAULT_APP_SECRET, FakeCloud, preset
from fakes.apsystems_cloud.site import site_from_dict

LONDON = zone("Europe/London")
EVENING = datetime(2026, 6, 15, 21, 30, tzinfo=timezone.utc)  # 22:30 BST: every window has closed
INSTALLED = date(2026, 6, 15) - timedelta(days=420)


class Recorder:
    """Keeps what Home Assistant keeps; ``refuse`` makes it answer like a non-admin token."""

    def __init__(self) -> None:
        self.sums: dict[datetime, float] = {}
        self.metadata: dict[str, Any] | None = None
        self.refuse: ImportRefused | None = None
        self.imports = 0

    def import_rows(self, metadata: dict[str, Any], rows: Sequence[StatisticRow]) -> None:
        if self.refuse is not None:
            raise self.refuse
        self.metadata = metadata
        self.imports += 1
        for row in rows:
            self.sums[row.start] = row.as_ha()["sum"]

    def changes(self) -> dict[datetime, float]:
        out: dict[datetime, float] = {}
        previous = 0.0
        for start in sorted(self.sums):
            out[start] = round(self.sums[start] - previous, 6)
            previous = self.sums[start]
        return out


class World:
    def __init__(self, cloud: FakeCloud, folder: Path) -> None:
        self.cloud = cloud
        self.folder = folder
        self.clock = SimulatedClock(EVENING)
        self.sent = 0
        cfg = BudgetConfig(
            app_id=DEFAULT_APP_ID,
            sid=cloud.sid,
            settings=BudgetSettings(),
            latitude=51.5,
            longitude=-0.13,
            time_zone="Europe/London",
            month_time_zone=None,
            sunrise_offset_min=30,
            sunset_offset_min=30,
        )
        self.core = BudgetCore(cfg, clock=self.clock, ledger=CallLedger(None, LONDON), state_path=folder / "b.json")
        self.core.set_site(inverters=4, ecus=1, poll_source=PollSource.SYSTEM, time_zone="Europe/London")
        self.client = ApsystemsClient(
            DEFAULT_APP_ID,
            DEFAULT_APP_SECRET,
            base_url=cloud.url,
            on_request=self.count,
            clock=cloud.clock.timestamp,
        )
        self.reader = ApsystemsClient(DEFAULT_APP_ID, DEFAULT_APP_SECRET, base_url=cloud.url)  # the test's own eyes
        self.recorder = Recorder()
        self.stat = solar_statistic_id(cloud.sid)
        self.runner = self.start()

    def count(self, request: Any) -> None:
        self.sent += 1
        self.core.record(request)

    def start(self, options: HistoryOptions | None = None) -> HistoryRunner:
        path = history_file(self.folder, self.stat)
        return HistoryRunner(
            options or HistoryOptions(self.cloud.sid),
            load_history(path, self.stat, LONDON),
            cloud=self.client,
            budget=self.core,
            recorder=self.recorder,
            save=lambda h: save_history(path, h),
            log=lambda message, level: None,
        )

    @property
    def today(self) -> date:
        return self.clock.now.astimezone(LONDON).date()

    def evening(self) -> None:
        self.runner.evening(self.today)
        self.runner.backfill(self.today)

    def next_day(self) -> None:
        self.clock.now += timedelta(days=1)
        self.cloud.clock.set_fixed(self.clock.now)

    def hourly(self, day: date) -> list[float]:
        return [v or 0.0 for v in self.reader.system_energy(self.cloud.sid, "hourly", day).values]

    def daily(self, year: int, month: int) -> list[float]:
        return [v or 0.0 for v in self.reader.system_energy(self.cloud.sid, "daily", f"{year}-{month:02d}").values]

    def recorded_day(self, day: date) -> float:
        start, end = day_span(day, LONDON)
        return sum(v for t, v in self.recorder.changes().items() if start <= t < end)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    spec = preset("demo").to_dict() | {"create_date": INSTALLED.isoformat()}
    with FakeCloud(site=preset("demo")) as cloud:
        cloud.clock.set_fixed(EVENING)
        cloud.put_site(site_from_dict(spec))
        w = World(cloud, tmp_path)
        yield w
        w.client.close()
        w.reader.close()


def run_until_complete(world: World, limit_days: int = 90) -> int:
    for day in range(limit_days):
        world.evening()
        if world.runner.status == "complete":
            return day + 1
        world.next_day()
    raise AssertionError(f"not complete after {limit_days} days: {world.runner.attributes()}")


def test_backfill_matches_the_cloud_hour_by_hour_and_day_by_day(world: World) -> None:
    days = run_until_complete(world)
    runner, recorder = world.runner, world.recorder
    assert recorder.metadata is not None and recorder.metadata["statistic_id"] == world.stat
    assert min(recorder.changes().values()) >= 0
    today = world.today
    changes = recorder.changes()
    for back in range(0, 30):
        day = today - timedelta(days=back)
        for hour, value in enumerate(world.hourly(day)):
            start = datetime(day.year, day.month, day.day, hour, tzinfo=LONDON).astimezone(timezone.utc)
            assert changes.get(start, 0.0) == pytest.approx(value, abs=0.001), (day, hour)
    day = INSTALLED
    while day <= today:
        assert world.recorded_day(day) == pytest.approx(world.daily(day.year, day.month)[day.day - 1], abs=0.001), day
        day += timedelta(days=1)
    lifetime = world.reader.system_summary(world.cloud.sid).lifetime
    assert lifetime is not None
    assert sum(changes.values()) == pytest.approx(lifetime, abs=0.01)
    attributes = runner.attributes()
    assert attributes["first_day"] == INSTALLED.isoformat() and attributes["days_left"] == 0
    # every call is counted by the budget: the details, 14+ months, the hourly days, two each evening
    assert attributes["calls_spent"] == world.sent >= 1 + 14 + 2 * days
    assert world.core.purpose_calls()["history_daily"] == 2 * days
    print(f"backfill of {INSTALLED} .. {today}: {days} evenings, {attributes['calls_spent']} calls")


def test_a_correction_is_reflected_and_no_hour_goes_negative(world: World) -> None:
    run_until_complete(world)
    corrected = world.today - timedelta(days=2)
    world.cloud.correct_day(corrected, 1.1)
    world.next_day()
    world.evening()  # the evening check finds the corrected day and reads it again
    assert world.recorded_day(corrected) == pytest.approx(
        world.daily(corrected.year, corrected.month)[corrected.day - 1], abs=0.001
    )
    assert min(world.recorder.changes().values()) >= 0
    assert world.runner.status == "complete"


def test_a_restart_changes_nothing(world: World) -> None:
    run_until_complete(world)
    before = dict(world.recorder.sums)
    imports = world.recorder.imports
    world.runner = world.start()
    world.evening()
    assert world.recorder.sums == before
    assert world.runner.status == "complete"
    assert world.recorder.imports == imports  # the same day read again: the same sums, nothing to import


def test_a_refused_import_is_an_error_with_advice_and_recovers(world: World) -> None:
    world.recorder.refuse = ImportRefused("not_admin", "Unauthorized")
    world.evening()
    assert world.runner.status == "error"
    notice = world.runner.notice()
    assert notice is not None and "admin user" in notice[1]
    world.recorder.refuse = None
    world.runner.sync()
    assert world.runner.notice() is None and world.recorder.sums


def test_history_since_replaces_the_installation_date(world: World) -> None:
    since = world.today - timedelta(days=45)
    world.runner = world.start(HistoryOptions(world.cloud.sid, history_days=10, history_since=since))
    run_until_complete(world)
    assert world.runner.attributes()["first_day"] == since.isoformat()
    assert world.cloud.calls.count("system_details") == 0
    assert min(world.recorder.sums) >= datetime.combine(since, datetime.min.time(), LONDON) - timedelta(hours=1)

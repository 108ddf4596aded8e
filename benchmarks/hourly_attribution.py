"""How well the lifetime sensor attributes energy to the right clock hour.

HA's Energy dashboard files a ``total_increasing`` sensor's increase under the hour in which
the state changed. This simulation runs the production logic (``ProductionTracker``) against
the fake cloud through one clear June day in London, polling when the budget core says (the
production app's own loop timing),
and compares the sensor's increase in each clock hour with the hour's true production. It
prints the figure next to the same figure for a sensor updated once a day.

Run: ``.venv/bin/python -m benchmarks.hourly_attribution``
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from apsystems.api.client import ApsystemsClient, RequestRecord
from apsystems.budget.config import BudgetConfig
from apsystems.budget.core import BudgetCore
from apsystems.budget.ledger import CallLedger
from apsystems.budget.pacing import BudgetSettings, PollSource
from apsystems.budget.simulation import SimulatedClock, quiet
from apsystems.budget.solar_window import DEFAULT_OFFSET_MIN
from apsystems.production.tracker import ProductionTracker
from apsystems.production.wakeups import MIN_DELAY_S, seconds_to_next
from fakes.apsystems_cloud import DEFAULT_APP_ID, DEFAULT_APP_SECRET, FakeCloud, preset
from fakes.apsystems_cloud.weather import day_weather

LONDON = ZoneInfo("Europe/London")
QUOTA = 1000
PRODUCING_KWH = 0.01  # hours below this are dawn/dusk noise, not production


@dataclass(frozen=True)
class Attribution:
    day: date
    polls: int
    true_hourly: list[float]
    sensor_hourly: list[float]
    once_a_day_hourly: list[float]
    day_total_sensor: float
    day_total_cloud: float
    lifetime_sensor: float
    lifetime_cloud: float

    @staticmethod
    def error(measured: list[float], truth: list[float]) -> tuple[float, float]:
        """(mean relative error over producing hours, energy-weighted error) as fractions."""
        hours = [h for h, t in enumerate(truth) if t >= PRODUCING_KWH]
        relative = sum(abs(measured[h] - truth[h]) / truth[h] for h in hours) / len(hours)
        weighted = sum(abs(measured[h] - truth[h]) for h in hours) / sum(truth[h] for h in hours)
        return relative, weighted


def clear_june_day(seed: int = 1, latitude: float = 51.5, year: int = 2026) -> date:
    """The first clear day from mid-June in the fake's seeded weather."""
    day = date(year, 6, 15)
    while day_weather(seed, day, 288, latitude).kind != "clear":
        day += timedelta(days=1)
    return day


def simulate(day: date, state_dir: Path) -> Attribution:
    site = preset("demo")
    site.upload_interval_min = 15  # the ECU uploads every 15 minutes, as real ones do
    with FakeCloud(site=site) as cloud:
        start = datetime.combine(day, datetime.min.time(), LONDON)
        cloud.clock.set_fixed(start)
        clock = SimulatedClock(start)
        core = BudgetCore(
            BudgetConfig(
                app_id=DEFAULT_APP_ID,
                sid=cloud.sid,
                settings=BudgetSettings(quota=QUOTA, poll_source=PollSource.ECU),
                latitude=51.5,
                longitude=-0.13,
                time_zone="Europe/London",
                month_time_zone=None,
                sunrise_offset_min=DEFAULT_OFFSET_MIN,
                sunset_offset_min=DEFAULT_OFFSET_MIN,
            ),
            clock=clock,
            ledger=CallLedger(None, LONDON),
            log=quiet,
        )
        used = round((day.day - 1) / 30 * QUOTA * 0.97)  # a month on plan so far
        core.ledger.record(DEFAULT_APP_ID, start.replace(day=1), count=used)

        def hook(request: RequestRecord) -> None:  # notices are the budget app's business
            core.record(request)

        client = ApsystemsClient(
            DEFAULT_APP_ID, DEFAULT_APP_SECRET, base_url=cloud.url, on_request=hook, clock=cloud.clock.timestamp
        )
        eids = tuple(e.ecu.eid for e in client.inverters(cloud.sid))
        core.set_site(inverters=4, ecus=len(eids), poll_source=PollSource.ECU, time_zone="Europe/London")
        tracker = ProductionTracker(client, cloud.sid, LONDON, eids, PollSource.ECU, state_dir / "prod.json")
        calendar = core.calendar
        tracker.refresh_summary(start)
        window = calendar.window(day)
        assert window.start is not None and window.end is not None
        boundaries = [start + timedelta(hours=h) for h in range(25)]
        lifetime_at: dict[int, float] = {}
        now = window.start
        polls = 0
        events = sorted([(b, "mark", i) for i, b in enumerate(boundaries)])
        while now < window.end:  # the production app's loop: wake, poll when the budget says so, sleep
            for moment, _, index in [e for e in events if e[0] <= now and e[2] not in lifetime_at]:
                lifetime_at[index] = tracker.readings(moment, calendar.is_open(moment)).total_kwh or 0.0
            cloud.clock.set_fixed(now)
            clock.now = now
            if core.poll_due(MIN_DELAY_S):
                with core.spending(tracker.calls_per_poll, "poll") as decision:
                    if decision.allowed:
                        tracker.poll(now)
                        polls += 1
            now += timedelta(seconds=seconds_to_next(now, core, LONDON))
        end_of_day = start + timedelta(days=1)
        cloud.clock.set_fixed(window.end + timedelta(minutes=5))
        tracker.refresh_summary(window.end + timedelta(minutes=5), closing=True)
        readings = tracker.readings(end_of_day - timedelta(minutes=1), False)
        for index, moment in enumerate(boundaries):
            if index not in lifetime_at:
                lifetime_at[index] = tracker.readings(moment, calendar.is_open(moment)).total_kwh or 0.0
        cloud.clock.set_fixed(end_of_day + timedelta(hours=1))
        truth = [v or 0.0 for v in client.system_energy(cloud.sid, "hourly", day).values]
        sensor = [round(lifetime_at[h + 1] - lifetime_at[h], 4) for h in range(24)]
        close_hour = (window.end + timedelta(minutes=5)).astimezone(LONDON).hour
        once = [0.0] * 24
        once[close_hour] = sum(truth)
        summary = client.system_summary(cloud.sid)
        return Attribution(
            day,
            polls,
            truth,
            sensor,
            once,
            readings.today_kwh,
            sum(truth),
            readings.total_kwh or 0.0,
            summary.lifetime or 0.0,
        )


def main() -> int:
    day = clear_june_day()
    with tempfile.TemporaryDirectory() as folder:
        result = simulate(day, Path(folder))
    ours, ours_weighted = Attribution.error(result.sensor_hourly, result.true_hourly)
    once, once_weighted = Attribution.error(result.once_a_day_hourly, result.true_hourly)
    print(f"Clear June day {day} at lat 51.5 (London), 4 × DS3, ECU uploads every 15 min, {result.polls} polls")
    print(f"{'hour':>4} {'true kWh':>9} {'sensor':>8} {'once/day':>9}")
    for hour in range(24):
        if result.true_hourly[hour] or result.sensor_hourly[hour] or result.once_a_day_hourly[hour]:
            print(
                f"{hour:>4} {result.true_hourly[hour]:>9.3f} {result.sensor_hourly[hour]:>8.3f}"
                f" {result.once_a_day_hourly[hour]:>9.3f}"
            )
    print(
        f"mean hourly error over producing hours: ours {ours:.1%} (energy-weighted {ours_weighted:.1%});"
        f" once a day {once:.1%} (energy-weighted {once_weighted:.1%})"
    )
    print(
        f"day total: sensor {result.day_total_sensor:.3f} kWh, cloud {result.day_total_cloud:.3f} kWh;"
        f" lifetime: sensor {result.lifetime_sensor:.3f}, cloud {result.lifetime_cloud:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

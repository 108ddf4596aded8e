"""A year of polling, poll by poll, with the product's own budget core; and the reference.

The budget's promises (never over the quota, nearly all of it used, polls only in the
solar window) are about a whole year at any latitude, which no unit test of one plan can
show. This module drives the same ``BudgetCore`` object the budget app wraps through a
simulated clock, with a simulated cloud answering every call through the core's call hook,
and wakes the production loop with the app's own ``seconds_to_next``; so the benchmark, the
planner CLI and a fast test all print figures of the apps' code path.

The fixed jobs' times are a model of the apps' schedule: inverter detail at 12:30, the daily
summary at the window's end, batch power at 23:00, manual actions at random times.
"""

from __future__ import annotations

import heapq
import random
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from enum import IntEnum

from apsystems.api.errors import QUOTA_CODE
from apsystems.budget.config import BudgetConfig
from apsystems.budget.core import BudgetCore
from apsystems.budget.ledger import CallLedger
from apsystems.budget.pacing import HISTORY_DAILY_CALLS, BudgetSettings, Fleet, PollSource
from apsystems.budget.solar_window import Site, SolarCalendar
from apsystems.budget.static_interval import static_interval
from apsystems.common.months import days_in_month, month_key
from apsystems.production.tracker import calls_per_poll
from apsystems.production.wakeups import MIN_DELAY_S, seconds_to_next

APP_ID = "SIMULATED"
DETAIL_TIME = (12, 30)
BATCH_TIME = (23, 0)
CLOSE_DAY_TIME = (0, 5)  # meters and batteries read the past day's final totals
HISTORY_TIME = (22, 30)  # the history app's evening: after every window has closed
OK_CODE = 0
FAILED_CODE = 5000


@dataclass(frozen=True)
class Scenario:
    """One installation and one year to replay."""

    site: Site
    fleet: Fleet
    year: int
    settings: BudgetSettings = field(default_factory=BudgetSettings)
    sunrise_offset_min: float = 30
    sunset_offset_min: float = 30
    failure_rate: float = 0.0
    manual_per_month: int = 0
    manual_cost: int = 1
    seed: int = 0
    # The energy history app: its daily re-read and check, and a backfill of this many calls
    # waiting on 1 January (a new install with years of history in the cloud).
    history: bool = False
    history_backlog: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.failure_rate < 1.0:
            raise ValueError(f"failure_rate {self.failure_rate!r} must be from 0 to below 1")
        if self.manual_per_month < 0 or self.manual_cost < 1:
            raise ValueError("manual_per_month must be >= 0 and manual_cost >= 1")
        if self.history_backlog < 0 or (self.history_backlog and not self.history):
            raise ValueError("history_backlog must be >= 0 and needs history")

    @property
    def label(self) -> str:
        source = ", ECU polls" if self.settings.poll_source is PollSource.ECU else ""
        household = ""
        if self.fleet.meters or self.fleet.storages:
            household = f" / {self.fleet.meters} meter / {self.fleet.storages} battery"
        return f"lat {self.site.latitude:g}, {self.fleet.inverters} inv / {self.fleet.ecus} ECU{household}{source}"


@dataclass(frozen=True)
class MonthFigures:
    """What one method did in one month."""

    month: int
    solar_hours: float
    calls: int
    quota: int
    polls: int
    fixed_calls: int
    manual_calls: int
    refused: int
    mean_interval_s: float
    min_interval_s: int
    max_interval_s: int
    all_at_min_interval: bool
    polls_outside_window: int
    mean_age_s: float
    history_calls: int = 0  # the energy history's calls (daily re-read and check, backfill)

    @property
    def share(self) -> float:
        return self.calls / self.quota

    @property
    def over_quota(self) -> bool:
        return self.calls > self.quota


@dataclass(frozen=True)
class YearFigures:
    """Twelve months of one method for one scenario."""

    scenario: Scenario
    method: str
    interval_note: str
    months: tuple[MonthFigures, ...]

    @property
    def max_calls(self) -> int:
        return max(m.calls for m in self.months)

    @property
    def min_share(self) -> float:
        return min(m.share for m in self.months)

    @property
    def mean_age_s(self) -> float:
        """Mean data age over the year's solar window (months weighted by their solar hours)."""
        hours = sum(m.solar_hours for m in self.months)
        return sum(m.mean_age_s * m.solar_hours for m in self.months) / hours if hours else 0.0


class _Kind(IntEnum):
    """Event kinds; the order breaks ties (fixed jobs before a poll at the same instant)."""

    DETAIL = 0
    SUMMARY = 1
    BATCH = 2
    MANUAL = 3
    POLL = 4
    CLOSE_DAY = 5
    NIGHT_READ = 6
    HISTORY = 7


def _local(day: date, hm: tuple[int, int], site: Site) -> float:
    return datetime(day.year, day.month, day.day, hm[0], hm[1], tzinfo=site.tz).timestamp()


def _year_days(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days)]


def _month_age(polls: Sequence[float], window: SolarCalendar, year: int, month: int) -> tuple[float, float]:
    """(window seconds, integral of data age over them) for a month.

    The age is the time since the last successful poll, restarting at each window opening:
    the night's staleness is nobody's concern, and both methods start at the same opening.
    """
    total = 0.0
    integral = 0.0
    for d in range(1, days_in_month(year, month) + 1):
        for start, end in window.window(date(year, month, d)).spans:
            lo = bisect_left(polls, start)
            hi = bisect_right(polls, end)
            previous = start
            for t in polls[lo:hi]:
                integral += (t - previous) ** 2 / 2.0
                previous = t
            integral += (end - previous) ** 2 / 2.0
            total += end - start
    return total, integral


class _Tally:
    """Per-month counters shared by both methods."""

    def __init__(self) -> None:
        self.calls = [0] * 13
        self.polls = [0] * 13
        self.fixed = [0] * 13
        self.manual = [0] * 13
        self.refused = [0] * 13
        self.history = [0] * 13
        self.outside = [0] * 13
        self.intervals: list[list[int]] = [[] for _ in range(13)]
        self.min_planned = [True] * 13
        self.ok_polls: list[float] = []


def _figures(scenario: Scenario, tally: _Tally, window_cal: SolarCalendar) -> tuple[MonthFigures, ...]:
    months = []
    ok_polls = sorted(tally.ok_polls)
    for m in range(1, 13):
        seconds, integral = _month_age(ok_polls, window_cal, scenario.year, m)
        intervals = tally.intervals[m]
        months.append(
            MonthFigures(
                month=m,
                solar_hours=window_cal.solar_seconds_in_month(scenario.year, m) / 3600.0,
                calls=tally.calls[m],
                quota=scenario.settings.quota,
                polls=tally.polls[m],
                fixed_calls=tally.fixed[m],
                manual_calls=tally.manual[m],
                refused=tally.refused[m],
                mean_interval_s=sum(intervals) / len(intervals) if intervals else 0.0,
                min_interval_s=min(intervals, default=0),
                max_interval_s=max(intervals, default=0),
                all_at_min_interval=bool(intervals) and tally.min_planned[m],
                polls_outside_window=tally.outside[m],
                mean_age_s=integral / seconds if seconds else 0.0,
                history_calls=tally.history[m],
            )
        )
    return tuple(months)


class SimulatedClock:
    """The simulated time the core reads: set ``now``, and the core sees it."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class _Sent:
    """A request as the client's call hook reports it."""

    sent_at: float
    code: int | None


class SimulatedCloud:
    """Answers like the cloud: its own count per month, 2005 past the quota, some calls failing."""

    def __init__(self, quota: int, failure_rate: float, rng: random.Random, tz: tzinfo) -> None:
        self.quota, self.failure_rate, self.rng, self.tz = quota, failure_rate, rng, tz
        self.counted: dict[str, int] = {}

    def answer(self, now: datetime) -> int:
        key = month_key(now, self.tz)
        self.counted[key] = self.counted.get(key, 0) + 1
        if self.counted[key] > self.quota:
            return QUOTA_CODE
        return FAILED_CODE if self.rng.random() < self.failure_rate else OK_CODE


class _AdaptiveRun:
    """One year of the product's own budget core and production loop timing, in simulated time.

    The production loop wakes when ``seconds_to_next`` says, as the app does, and polls when
    the core says a poll is due; fixed jobs and manual actions come at their model times. Every
    call goes through the core's spending decision and its call hook.
    """

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.site, self.fleet, self.settings = scenario.site, scenario.fleet, scenario.settings
        self.rng = random.Random(scenario.seed)  # noqa: S311 - reproducible failures, not secrets
        self.clock = SimulatedClock(datetime(scenario.year, 1, 1, tzinfo=self.site.tz))
        cfg = BudgetConfig(
            app_id=APP_ID,
            sid="SIMULATED",
            settings=self.settings,
            latitude=self.site.latitude,
            longitude=self.site.longitude,
            time_zone=self.site.time_zone,
            month_time_zone=None,
            sunrise_offset_min=scenario.sunrise_offset_min,
            sunset_offset_min=scenario.sunset_offset_min,
        )
        self.core = BudgetCore(cfg, clock=self.clock, ledger=CallLedger(None, self.site.tz), log=quiet)
        self.core.set_site(
            inverters=self.fleet.inverters,
            ecus=self.fleet.ecus,
            poll_source=self.settings.poll_source,
            time_zone=self.site.time_zone,
        )
        self.core.set_household(meters=self.fleet.meters, storages=self.fleet.storages)
        self.last_household_read: datetime | None = None
        self.history_backlog = scenario.history_backlog
        if scenario.history:
            self.core.set_history(enabled=True, backlog=self.history_backlog)
        self.calendar = self.core.calendar
        self.cloud = SimulatedCloud(self.settings.quota, scenario.failure_rate, self.rng, self.site.tz)
        self.uids = [f"{i:012d}" for i in range(self.fleet.inverters)]
        self.tally = _Tally()
        self.events: list[tuple[float, _Kind, int]] = []
        self.seq = 0

    def push(self, t: float, kind: _Kind) -> None:
        self.seq += 1
        heapq.heappush(self.events, (t, kind, self.seq))

    def schedule_year(self) -> None:
        year, site = self.scenario.year, self.site
        for day in _year_days(year):
            self.push(_local(day, DETAIL_TIME, site), _Kind.DETAIL)
            spans = self.calendar.window(day).spans
            self.push(spans[-1][1] - 60.0 if spans else _local(day, (12, 0), site), _Kind.SUMMARY)
            self.push(_local(day, BATCH_TIME, site), _Kind.BATCH)
            if self.fleet.household_devices:
                self.push(_local(day, CLOSE_DAY_TIME, site), _Kind.CLOSE_DAY)
            if self.scenario.history:
                self.push(_local(day, HISTORY_TIME, site), _Kind.HISTORY)
        for m in range(1, 13):
            start = datetime(year, m, 1, tzinfo=site.tz).timestamp()
            end = _local(date(year, m, days_in_month(year, m)), (23, 59), site)
            for _ in range(self.scenario.manual_per_month):
                self.push(self.rng.uniform(start, end), _Kind.MANUAL)
        self.push(self.clock.now.timestamp(), _Kind.POLL)
        if self.fleet.household_read_cost:
            self.push(self.clock.now.timestamp(), _Kind.NIGHT_READ)

    def send(self, now: datetime, count: int) -> bool:
        """Send ``count`` calls through the call hook; True if the first succeeded."""
        ok = True
        for i in range(count):
            code = self.cloud.answer(now)
            self.core.record(_Sent(now.timestamp(), code))
            if i == 0:
                ok = code == OK_CODE
        self.tally.calls[now.month] += count
        return ok

    def spend(self, now: datetime, cost: int, purpose: str) -> bool:
        """Ask the core, send if allowed; True if sent."""
        if cost <= 0:
            return False
        with self.core.spending(cost, purpose) as decision:
            if decision.allowed:
                self.send(now, cost)
        if not decision.allowed:
            self.tally.refused[now.month] += cost
        return decision.allowed

    def wake(self, now: datetime) -> None:
        """The production loop: poll when due, then sleep until the loop's next wake-up."""
        if self.core.poll_due(MIN_DELAY_S):
            cost = calls_per_poll(self.core.poll_source, self.fleet.ecus)
            with self.core.spending(cost, "poll") as decision:
                if decision.allowed:
                    tally = self.tally
                    if not self.calendar.is_open(now):
                        tally.outside[now.month] += 1
                    if self.send(now, cost):
                        tally.ok_polls.append(now.timestamp())
                    tally.polls[now.month] += 1
            if decision.allowed and self.spend(now, self.fleet.household_read_cost, "extra_poll"):
                self.last_household_read = now  # the meters app reads with every production poll
            if decision.allowed:
                interval = self.core.plan().interval_s
                self.tally.intervals[now.month].append(interval)
                if interval != self.settings.min_interval_s:
                    self.tally.min_planned[now.month] = False
        delay = seconds_to_next(now, self.core, self.core.tz)
        self.push(now.timestamp() + delay, _Kind.POLL)

    def night_read(self, now: datetime) -> None:
        """Meters and batteries after sunset: a read when the core says one is due, then the next check."""
        cost = self.fleet.household_read_cost
        if self.core.household_read_due(self.last_household_read, MIN_DELAY_S) and self.spend(now, cost, "household"):
            self.tally.fixed[now.month] += cost
            self.last_household_read = now
        t = now.timestamp()
        spans = self.calendar.window_at(now).spans
        ends = [end for start, end in spans if start <= t < end]
        after = ends[0] + 1.0 if ends else t + self.core.plan().night_interval_s
        self.push(max(after, t + MIN_DELAY_S), _Kind.NIGHT_READ)

    def history_evening(self, now: datetime) -> None:
        """The history app's evening: re-read today and check the month, then today's backfill share."""
        if self.spend(now, HISTORY_DAILY_CALLS, "history_daily"):
            self.tally.history[now.month] += HISTORY_DAILY_CALLS
        while self.history_backlog > 0 and self.spend_quietly(now, 1, "history"):
            self.tally.history[now.month] += 1
            self.history_backlog -= 1
            self.core.set_history(enabled=True, backlog=self.history_backlog)

    def spend_quietly(self, now: datetime, cost: int, purpose: str) -> bool:
        """Like ``spend``, but a refusal is the end of today's share, not a refused call."""
        with self.core.spending(cost, purpose) as decision:
            if decision.allowed:
                self.send(now, cost)
        return decision.allowed

    def run(self) -> YearFigures:
        self.schedule_year()
        year_end = datetime(self.scenario.year + 1, 1, 1, tzinfo=self.site.tz).timestamp()
        settings = self.settings
        while self.events:
            t, kind, _ = heapq.heappop(self.events)
            if t >= year_end:
                break
            now = datetime.fromtimestamp(t, self.site.tz)
            self.clock.now = now
            if kind is _Kind.POLL:
                self.wake(now)
            elif kind is _Kind.DETAIL:
                due = self.core.detail_due(self.uids) if settings.inverter_detail else []
                self.tally.fixed[now.month] += len(due) if self.spend(now, len(due), "detail") else 0
            elif kind is _Kind.SUMMARY:
                self.tally.fixed[now.month] += 1 if self.spend(now, int(settings.daily_summary), "summary") else 0
            elif kind is _Kind.BATCH:
                ecus = self.fleet.ecus if settings.batch_power else 0
                self.tally.fixed[now.month] += ecus if self.spend(now, ecus, "batch") else 0
            elif kind is _Kind.CLOSE_DAY:
                devices = self.fleet.household_devices
                self.tally.fixed[now.month] += devices if self.spend(now, devices, "household") else 0
            elif kind is _Kind.NIGHT_READ:
                self.night_read(now)
            elif kind is _Kind.HISTORY:
                self.history_evening(now)
            else:
                cost = self.scenario.manual_cost
                self.tally.manual[now.month] += cost if self.spend(now, cost, "manual") else 0
        note = "auto" if settings.auto_interval else f"fixed {settings.scan_interval_s} s"
        return YearFigures(self.scenario, "adaptive", note, _figures(self.scenario, self.tally, self.calendar))


def quiet(_message: str, _level: str) -> None:
    """The simulation's log: a year of plan lines would drown the figures."""


def simulate_adaptive(scenario: Scenario) -> YearFigures:
    """Replay the year with the budget core the apps run and the production loop's timing."""
    return _AdaptiveRun(scenario).run()


def simulate_static(scenario: Scenario, *, fix_latitude_sign: bool = True) -> YearFigures:
    """Replay the reference integration: one interval, polls from sunrise + 30 min to sunset.

    Its fixed calls are the daily summary, every inverter's detail and batch power per ECU;
    the poll at each window opening is its sunrise re-trigger. Failures and manual actions
    are applied as in the adaptive run. Nothing stops it at the quota (the server would
    answer 2005), so its months may exceed it.
    """
    site, fleet = scenario.site, scenario.fleet
    estimate = static_interval(
        site.latitude,
        fleet.inverters,
        fleet.ecus,
        quota=scenario.settings.quota,
        fix_latitude_sign=fix_latitude_sign,
    )
    interval = float(estimate.interval_s)
    reference = SolarCalendar(site, 30, 0)
    measured = SolarCalendar(site, scenario.sunrise_offset_min, scenario.sunset_offset_min)
    rng = random.Random(scenario.seed)  # noqa: S311 - reproducible failures, not secrets
    tally = _Tally()
    for day in _year_days(scenario.year):
        m = day.month
        spans = reference.window(day).spans
        for start, end in spans:
            t = start
            while t <= end:
                if rng.random() >= scenario.failure_rate:
                    tally.ok_polls.append(t)
                tally.polls[m] += 1
                tally.intervals[m].append(estimate.interval_s)
                t += interval
        # Summary and inverter detail run in the window only; batch power at 23:00 always.
        tally.fixed[m] += (1 + fleet.inverters if spans else 0) + fleet.ecus
    for m in range(1, 13):
        tally.manual[m] = scenario.manual_per_month * scenario.manual_cost
        tally.calls[m] = tally.polls[m] + tally.fixed[m] + tally.manual[m]
        tally.min_planned[m] = False
    sign = "" if fix_latitude_sign else ", latitude sign bug"
    note = f"static {estimate.interval_s} s{sign}"
    return YearFigures(scenario, "static", note, _figures(scenario, tally, measured))

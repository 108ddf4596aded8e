"""The adaptive polling plan and the hard stop.

A static interval sized for the longest day wastes most of the quota in every other month.
Instead, after every poll, what is left of the month's quota (minus the calls the remaining
days' fixed jobs need and a small reserve for manual actions) is spread evenly over the
solar seconds left in the month. Mistakes self-correct: a poll too many now lengthens the
next intervals a little. The hard stop (``check_call``) is separate and absolute: no call
beyond the quota, and none after a 2005 answer except one probe a day.

Everything takes ``now`` and the site as inputs, so a whole year can be simulated quickly.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from enum import Enum
from typing import Any, Literal, NamedTuple

from apsystems.budget.ledger import LedgerStatus
from apsystems.budget.solar_window import SolarCalendar
from apsystems.common.months import month_bounds, require_aware

_LOGGER = logging.getLogger(__name__)

DEFAULT_QUOTA = 1000
QUOTA_LIMITS = (1, 100_000_000)
DEFAULT_RESERVE_FRACTION = 0.03
RESERVE_FRACTION_LIMITS = (0.0, 0.5)
MAX_INTERVAL_S = 7200
DEFAULT_MIN_INTERVAL_S = 900  # the ECU's upload cadence: polling faster returns the same data
MIN_INTERVAL_LIMITS = (300, MAX_INTERVAL_S)
DEFAULT_SCAN_INTERVAL_S = 1800
SCAN_INTERVAL_LIMITS = (1800, MAX_INTERVAL_S)
SECONDS_PER_HOUR = 3600.0
# Meters and batteries (storage ECUs): one read of a meter is one call (its minutely period);
# a battery needs two (``latest`` for SoC and mode, the minutely period for the day's energy).
METER_READ_CALLS = 1
STORAGE_READ_CALLS = 2
DEFAULT_NIGHT_INTERVAL_S = 3600
NIGHT_INTERVAL_LIMITS = (900, 86_400)
# Night reads may take at most this share of what the month leaves after the reserve and the
# daily jobs; beyond it their interval is stretched (the rest is the daytime polls' and detail's).
NIGHT_SHARE = 1 / 3
# Energy history (issue 14): the evening re-read of today's hourly energy and the check of
# this month's daily values are fixed jobs; the backfill may lengthen the production
# interval by at most HISTORY_MAX_GROWTH.
HISTORY_DAILY_CALLS = 2
HISTORY_MAX_GROWTH = 0.10

PlanMode = Literal["auto", "fixed"]


class PollSource(str, Enum):
    """Where production polls read from, which sets what one poll costs."""

    SYSTEM = "system"  # system hourly energy: one call
    ECU = "ecu"  # ECU minutely energy: one call per ECU


def _int_in(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} {value!r} must be an integer from {low} to {high}")
    return value


@dataclass(frozen=True)
class BudgetSettings:
    """The user's budget options (apps.yaml), validated: a bad value names itself and its range.

    ``poll_source`` also accepts the YAML string ("system" or "ecu").
    """

    quota: int = DEFAULT_QUOTA
    auto_interval: bool = True
    scan_interval_s: int = DEFAULT_SCAN_INTERVAL_S
    min_interval_s: int = DEFAULT_MIN_INTERVAL_S
    reserve_fraction: float = DEFAULT_RESERVE_FRACTION
    poll_source: PollSource = PollSource.SYSTEM
    daily_summary: bool = True
    inverter_detail: bool = True
    batch_power: bool = True
    night_interval_s: int = DEFAULT_NIGHT_INTERVAL_S

    def __post_init__(self) -> None:
        _int_in("quota", self.quota, *QUOTA_LIMITS)
        _int_in("night_interval", self.night_interval_s, *NIGHT_INTERVAL_LIMITS)
        _int_in("scan_interval", self.scan_interval_s, *SCAN_INTERVAL_LIMITS)
        _int_in("min_interval", self.min_interval_s, *MIN_INTERVAL_LIMITS)
        low, high = RESERVE_FRACTION_LIMITS
        fraction = self.reserve_fraction
        if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not low <= fraction <= high:
            raise ValueError(f"reserve_fraction {fraction!r} must be a number from {low} to {high}")
        for name in ("auto_interval", "daily_summary", "inverter_detail", "batch_power"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} {getattr(self, name)!r} must be true or false")
        try:
            source = PollSource(self.poll_source)
        except ValueError:
            allowed = ", ".join(s.value for s in PollSource)
            raise ValueError(f"poll_source {self.poll_source!r} must be one of {allowed}") from None
        object.__setattr__(self, "poll_source", source)

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> BudgetSettings:
        """Settings from an app's apps.yaml arguments (YAML names; absent keys keep their defaults)."""
        names = {
            "quota": "quota",
            "auto_interval": "auto_interval",
            "scan_interval": "scan_interval_s",
            "min_interval": "min_interval_s",
            "reserve_fraction": "reserve_fraction",
            "poll_source": "poll_source",
            "daily_summary": "daily_summary",
            "inverter_detail": "inverter_detail",
            "batch_power": "batch_power",
        }
        return cls(**{field: args[key] for key, field in names.items() if key in args})

    @property
    def monthly_reserve(self) -> int:
        """Calls kept back for manual refreshes and scans at the start of a month."""
        return math.ceil(self.quota * self.reserve_fraction - 1e-9)


@dataclass(frozen=True)
class Fleet:
    """What discovery found: the counts the fixed jobs and the poll cost depend on."""

    inverters: int = 0
    ecus: int = 1
    meters: int = 0
    storages: int = 0
    history_daily_calls: int = 0  # the history app's daily calls (fixed jobs) when it runs

    def __post_init__(self) -> None:
        _int_in("inverters", self.inverters, 0, 10_000)
        _int_in("ecus", self.ecus, 0, 1_000)
        _int_in("meters", self.meters, 0, 100)
        _int_in("storages", self.storages, 0, 100)
        _int_in("history_daily_calls", self.history_daily_calls, 0, 100)

    @property
    def household_read_cost(self) -> int:
        """Calls one read of every meter and battery spends."""
        return METER_READ_CALLS * self.meters + STORAGE_READ_CALLS * self.storages

    @property
    def household_devices(self) -> int:
        """Meters and batteries: each closes its day with one read of the past day's totals."""
        return self.meters + self.storages


@dataclass(frozen=True)
class Plan:
    """The pacing decision at one moment; its fields are meant as sensor attributes."""

    mode: PlanMode
    interval_s: int
    next_poll: datetime | None
    polls_left: int
    polls_needed: int
    poll_cost: int
    solar_seconds_left: float
    used: int
    quota: int
    reserve: int
    fixed_calls_remaining: int
    detail_rotation_days: int
    detail_calls_today: int
    projected_month_calls: int
    over_quota: bool
    polls_stop_early: bool
    reason: str
    night_interval_s: int = 0  # meters and batteries outside the solar window; 0: none to read
    history_backfill_per_day: int = 0  # backfill calls a day may spend (0: none now)
    history_backfill_planned: int = 0  # backfill calls counted in this month's projection

    @property
    def paused(self) -> bool:
        """No production poll fits in what is left this month."""
        return self.polls_left <= 0

    def as_attributes(self) -> dict[str, Any]:
        """JSON-friendly values for ``set_state`` attributes."""
        attrs = asdict(self)
        attrs["next_poll"] = None if self.next_poll is None else self.next_poll.isoformat()
        attrs["solar_seconds_left"] = round(self.solar_seconds_left)
        attrs["remaining"] = max(0, self.quota - self.used)
        attrs["projected"] = self.projected_month_calls
        return attrs


@dataclass(frozen=True)
class CallDecision:
    """Whether a call may be sent now, and why (for the log and the sensor)."""

    allowed: bool
    probe: bool
    reason: str


def check_call(status: LedgerStatus, cost: int, quota: int, *, keep: int = 0) -> CallDecision:
    """The hard stop: may ``cost`` calls be sent now without passing ``quota - keep``?

    After a 2005 answer nothing is sent until the month rolls over, except one single-call
    probe a day (``status.probe_allowed``) that would notice an earlier reset.
    """
    if isinstance(cost, bool) or not isinstance(cost, int) or cost < 1:
        raise ValueError(f"cost {cost!r} must be a positive integer")
    if status.exhausted:
        if status.probe_allowed and cost == 1:
            return CallDecision(True, True, "quota reported exhausted (2005): today's probe")
        return CallDecision(False, False, f"quota reported exhausted (2005) in {status.month}; waiting for the reset")
    limit = quota - max(0, keep)
    if status.used + cost > limit:
        held = f" ({keep} kept back)" if keep > 0 else ""
        return CallDecision(
            False, False, f"{status.used} + {cost} calls would pass {limit} of the quota of {quota}{held}"
        )
    return CallDecision(True, False, f"{status.used + cost} of {quota} calls")


def _due_index(day: date, rotation_days: int) -> int:
    return day.toordinal() % rotation_days


def inverters_due(uids: Sequence[str], day: date, rotation_days: int) -> list[str]:
    """The inverters whose detail is fetched on ``day``: every ``rotation_days``-th in uid order."""
    _int_in("rotation_days", rotation_days, 1, 10_000)
    slot = _due_index(day, rotation_days)
    return [uid for i, uid in enumerate(sorted(uids)) if i % rotation_days == slot]


def detail_calls_on(inverters: int, day: date, rotation_days: int) -> int:
    """How many inverters ``inverters_due`` returns on ``day`` (without naming them)."""
    return _detail_calls_between(inverters, rotation_days, day.toordinal(), day.toordinal())


def _detail_calls_between(inverters: int, rotation_days: int, first: int, last: int) -> int:
    """Detail calls over the day ordinals first..last, in closed form (called after every poll)."""
    if last < first or inverters <= 0:
        return 0
    whole, extra = divmod(inverters, rotation_days)

    def slots_below(x: int) -> int:  # days o in [0, x) with o % r < extra
        return (x // rotation_days) * extra + min(x % rotation_days, extra)

    return whole * (last - first + 1) + slots_below(last + 1) - slots_below(first)


class _Month(NamedTuple):
    year: int
    month: int
    start: datetime
    end: datetime
    last_day: date  # the site's local date of the month's last instant


class BudgetPlanner:
    """Pacing for one App ID and site. Month boundaries follow ``month_tz`` (default: the site's)."""

    def __init__(self, settings: BudgetSettings, calendar: SolarCalendar, month_tz: tzinfo | None = None) -> None:
        self.settings = settings
        self.calendar = calendar
        self.month_tz = month_tz or calendar.tz
        self._lock = threading.Lock()
        self._rotation: dict[tuple[Fleet, int, int], int] = {}
        self._night: dict[tuple[Fleet, int, int], tuple[int, int]] = {}
        self._months: dict[tuple[int, int], _Month] = {}

    # ---- costs -------------------------------------------------------------------------------

    def poll_cost(self, fleet: Fleet) -> int:
        """Calls one production poll spends, with one read of every meter and battery."""
        production = max(1, fleet.ecus) if self.settings.poll_source is PollSource.ECU else 1
        return production + fleet.household_read_cost

    def _jobs_daily_calls(self, fleet: Fleet) -> int:
        """Fixed calls a day that do not depend on the month: summary, batch, closing the day."""
        summary = 1 if self.settings.daily_summary else 0
        batch = fleet.ecus if self.settings.batch_power else 0
        return summary + batch + fleet.household_devices + fleet.history_daily_calls

    def _base_daily_calls(self, fleet: Fleet, year: int, month: int) -> int:
        """Fixed calls a day other than inverter detail (night reads of meters and batteries included)."""
        return self._jobs_daily_calls(fleet) + self.night_plan(fleet, year, month)[1] * fleet.household_read_cost

    def night_plan(self, fleet: Fleet, year: int, month: int) -> tuple[int, int]:
        """(seconds between night reads, night reads a day) for the meters and batteries this month.

        The user's ``night_interval`` unless the month's quota cannot carry it: night reads
        may take ``NIGHT_SHARE`` of what is left after the reserve and the daily jobs (summary,
        batch, closing the day); a longer interval is planned then (logged).
        """
        if fleet.household_read_cost == 0:
            return 0, 0
        key = (fleet, year, month)
        cached = self._night.get(key)
        if cached is not None:
            return cached
        start, end, first, last = self._month_days(year, month)
        days = (last - first).days + 1
        solar = self.calendar.solar_seconds_between(start, end)
        dark_per_day = max(0.0, (end - start).total_seconds() - solar) / days
        room = self.settings.quota - self.settings.monthly_reserve - days * self._jobs_daily_calls(fleet)
        per_day = max(0.0, room * NIGHT_SHARE) / days / fleet.household_read_cost
        interval = self.settings.night_interval_s
        if math.ceil(dark_per_day / interval) > per_day:
            high = NIGHT_INTERVAL_LIMITS[1]
            interval = high if per_day < 1 else max(interval, min(high, math.ceil(dark_per_day / math.floor(per_day))))
            _LOGGER.info(
                "%04d-%02d: meters and batteries read every %d s at night (asked: %d s) to stay within the quota",
                year,
                month,
                interval,
                self.settings.night_interval_s,
            )
        result = (interval, math.ceil(dark_per_day / interval) if dark_per_day > 0 else 0)
        with self._lock:
            self._night[key] = result
        return result

    def _detail_inverters(self, fleet: Fleet) -> int:
        return fleet.inverters if self.settings.inverter_detail else 0

    def _month_days(self, year: int, month: int) -> tuple[datetime, datetime, date, date]:
        start, end = month_bounds(datetime(year, month, 15, 12, tzinfo=self.month_tz), self.month_tz)
        first = self.calendar.local_date(start)
        last = self.calendar.local_date(end - timedelta(microseconds=1))
        return start, end, first, last

    def rotation_days(self, fleet: Fleet, year: int, month: int) -> int:
        """Days over which per-inverter detail rotates in this month (1: every inverter daily).

        The smallest number of days that leaves room, after the fixed jobs and the reserve,
        for one production poll per solar hour of the month; at most one inverter a day.
        """
        key = (fleet, year, month)
        cached = self._rotation.get(key)
        if cached is not None:
            return cached
        inverters = self._detail_inverters(fleet)
        start, end, first, last = self._month_days(year, month)
        days = (last - first).days + 1
        solar_hours = self.calendar.solar_seconds_between(start, end) / SECONDS_PER_HOUR
        hourly_polls = self.poll_cost(fleet) * math.ceil(solar_hours)
        room = self.settings.quota - self.settings.monthly_reserve - days * self._base_daily_calls(fleet, year, month)
        chosen = max(1, inverters)
        for r in range(1, max(1, inverters) + 1):
            detail = _detail_calls_between(inverters, r, first.toordinal(), last.toordinal())
            if room - detail >= hourly_polls:
                chosen = r
                break
        else:
            if inverters > 0:
                _LOGGER.warning(
                    "%04d-%02d: even one inverter's detail a day leaves no room for an hourly poll (%d inverters)",
                    year,
                    month,
                    inverters,
                )
        with self._lock:
            self._rotation[key] = chosen
        return chosen

    def daily_fixed_calls(self, fleet: Fleet, day: date) -> int:
        """Calls the fixed jobs need on the local ``day``: summary, the due inverters, batch per ECU."""
        r = self.rotation_days(fleet, day.year, day.month)
        base = self._base_daily_calls(fleet, day.year, day.month)
        return base + detail_calls_on(self._detail_inverters(fleet), day, r)

    def fixed_calls_remaining(self, fleet: Fleet, now: datetime, sent_today: int = 0) -> int:
        """Fixed-job calls still to come this month: today's not yet sent, and every later day's."""
        month = self._month(require_aware(now))
        return self._fixed_left(fleet, month, self.calendar.local_date(now), sent_today)

    def _fixed_left(self, fleet: Fleet, month: _Month, today: date, sent_today: int) -> int:
        r = self.rotation_days(fleet, month.year, month.month)
        base = self._base_daily_calls(fleet, month.year, month.month)
        inverters = self._detail_inverters(fleet)
        first = today.toordinal()
        last = month.last_day.toordinal()
        today_calls = base + _detail_calls_between(inverters, r, first, first)
        later = base * max(0, last - first) + _detail_calls_between(inverters, r, first + 1, last)
        return max(0, today_calls - max(0, sent_today)) + later

    def reserve_at(self, now: datetime) -> int:
        """Calls kept back at ``now``: the monthly reserve pro rata to the time left in the month.

        Manual actions come at any time, so what they may still need shrinks as the month
        passes; a constant reserve would leave it unused at every month's end.
        """
        return self._reserve(self._month(require_aware(now)), now)

    def _reserve(self, month: _Month, now: datetime) -> int:
        left = max(0.0, min(1.0, (month.end - now) / (month.end - month.start)))
        return math.ceil(self.settings.monthly_reserve * left - 1e-9)

    def _month(self, now: datetime) -> _Month:
        """The month containing ``now`` (in ``month_tz``), cached: asked after every poll."""
        local = now.astimezone(self.month_tz)
        key = (local.year, local.month)
        cached = self._months.get(key)
        if cached is None:
            start, end = month_bounds(now, self.month_tz)
            last_day = self.calendar.local_date(end - timedelta(microseconds=1))
            cached = _Month(local.year, local.month, start, end, last_day)
            self._months[key] = cached
        return cached

    # ---- scheduling ------------------------------------------------------------------------

    def next_poll_time(self, now: datetime, interval_s: float) -> datetime | None:
        """``now + interval`` if that is in the solar window, else the next opening."""
        candidate = require_aware(now).astimezone(timezone.utc) + timedelta(seconds=interval_s)
        return self.calendar.next_open(candidate)

    def _polls_at_interval(self, now: datetime, end: datetime, interval_s: int) -> int:
        """Polls a fixed interval makes from ``now`` (just polled) to ``end``.

        One at each window opening, then one every interval while the window is open.
        """
        t0 = now.timestamp()
        t1 = end.timestamp()
        count = 0
        day = self.calendar.local_date(now)
        last = self.calendar.local_date(end - timedelta(microseconds=1))
        while day <= last:
            for start, span_end in self.calendar.window(day).spans:
                stop = min(span_end, t1)
                if stop <= t0 or start >= t1:
                    continue
                if start <= t0:
                    count += int((stop - t0) // interval_s)
                else:
                    count += int((stop - start) // interval_s) + 1
            day += timedelta(days=1)
        return count

    # ---- the plan ----------------------------------------------------------------------------

    def plan(
        self,
        now: datetime,
        used: int,
        fleet: Fleet,
        *,
        fixed_calls_sent_today: int = 0,
        history_backlog: int = 0,
        history_sent_today: int = 0,
    ) -> Plan:
        """The interval until the next poll, given the calls ``used`` so far this month.

        Auto: solar seconds left ÷ polls left, where polls left = (quota − used − reserve −
        fixed calls remaining) ÷ poll cost, clamped to [min_interval, 7200 s]. Fixed: the
        configured scan interval, with the month projected to warn when it cannot fit.
        """
        require_aware(now)
        settings = self.settings
        month = self._month(now)
        month_end = month.end
        solar_left = self.calendar.solar_seconds_between(now, month_end)
        rotation = self.rotation_days(fleet, month.year, month.month)
        today = self.calendar.local_date(now)
        detail_today = detail_calls_on(self._detail_inverters(fleet), today, rotation)
        cost = self.poll_cost(fleet)
        fixed_left = self._fixed_left(fleet, month, today, fixed_calls_sent_today)
        reserve = self._reserve(month, now)
        spare = settings.quota - used - reserve - fixed_left
        per_day, backfill = history_backfill(spare, (month.last_day - today).days + 1, history_backlog)
        spare -= backfill
        polls_left = max(0, spare // cost)
        notes: list[str] = []
        mode, interval, polls_needed = self._interval(now, month_end, solar_left, polls_left, notes)
        planned_polls = min(polls_needed, polls_left) if mode == "auto" else polls_needed
        projected = used + fixed_left + backfill + cost * planned_polls
        over_quota = projected > settings.quota or used + fixed_left > settings.quota
        stop_early = polls_needed > polls_left
        if polls_left <= 0:
            next_poll = self.calendar.next_open(month_end)
            notes.append("no poll fits in this month's quota; polls resume next month")
        else:
            next_poll = self.next_poll_time(now, interval)
            if stop_early:
                notes.append(f"quota runs out about {polls_needed - polls_left} polls before the month ends")
        if over_quota:
            notes.append(f"projected {projected} calls exceed the quota of {settings.quota}")
        if rotation > 1:
            notes.append(f"inverter detail rotates over {rotation} days")
        if backfill:
            left_today = max(0, per_day - history_sent_today)
            notes.append(f"history backfill {backfill} call(s) this month, {left_today} today")
        reason = (
            f"{mode}: {solar_left / SECONDS_PER_HOUR:.1f} solar h left, {polls_left} polls of {cost} call(s) left"
            f" after {fixed_left} fixed and {reserve} reserve -> {interval} s"
        )
        if notes:
            reason += "; " + "; ".join(notes)
        return Plan(
            mode=mode,
            interval_s=interval,
            next_poll=next_poll,
            polls_left=polls_left,
            polls_needed=polls_needed,
            poll_cost=cost,
            solar_seconds_left=solar_left,
            used=used,
            quota=settings.quota,
            reserve=reserve,
            fixed_calls_remaining=fixed_left,
            detail_rotation_days=rotation,
            detail_calls_today=detail_today,
            projected_month_calls=projected,
            over_quota=over_quota,
            polls_stop_early=stop_early,
            reason=reason,
            night_interval_s=self.night_plan(fleet, month.year, month.month)[0],
            history_backfill_per_day=per_day if history_backlog > 0 else 0,
            history_backfill_planned=backfill,
        )

    def _interval(
        self, now: datetime, month_end: datetime, solar_left: float, polls_left: int, notes: list[str]
    ) -> tuple[PlanMode, int, int]:
        """(mode, interval, polls needed to the month's end); notes say why the interval is clamped."""
        settings = self.settings
        if not settings.auto_interval:
            interval = settings.scan_interval_s
            return "fixed", interval, self._polls_at_interval(now, month_end, interval)
        if polls_left > 0:
            raw = solar_left / polls_left
            interval = max(settings.min_interval_s, min(MAX_INTERVAL_S, math.ceil(raw)))
            if raw < settings.min_interval_s:
                notes.append(f"raised to min_interval {settings.min_interval_s} s")
            elif raw > MAX_INTERVAL_S:
                notes.append(f"capped at {MAX_INTERVAL_S} s")
        else:
            interval = MAX_INTERVAL_S
        return "auto", interval, math.ceil(solar_left / interval) if solar_left > 0 else 0

    def may_poll(self, status: LedgerStatus, plan: Plan, cost: int | None = None) -> CallDecision:
        """The hard stop for a poll (``cost`` calls, default one production poll): it must also
        leave the fixed jobs and the reserve."""
        if plan.polls_left <= 0 and not status.exhausted:
            return CallDecision(False, False, "no production poll left this month after the fixed jobs and reserve")
        keep = plan.reserve + plan.fixed_calls_remaining
        return check_call(status, plan.poll_cost if cost is None else cost, self.settings.quota, keep=keep)

    def may_backfill(self, status: LedgerStatus, plan: Plan, cost: int, sent_today: int) -> CallDecision:
        """The hard stop for history backfill: today's share only, leaving fixed jobs and reserve."""
        if sent_today + cost > plan.history_backfill_per_day:
            return CallDecision(
                False,
                False,
                f"history backfill has spent {sent_today} of today's {plan.history_backfill_per_day} call(s);"
                " it continues on a later day",
            )
        keep = plan.reserve + plan.fixed_calls_remaining
        return check_call(status, cost, self.settings.quota, keep=keep)

    def may_call(self, status: LedgerStatus, cost: int = 1) -> CallDecision:
        """The hard stop for a fixed job or a manual action: anything up to the quota."""
        return check_call(status, cost, self.settings.quota)


def history_backfill(spare: int, days_left: int, backlog: int) -> tuple[int, int]:
    """(calls a day, calls this month) the history backfill may spend.

    Spending ``b`` of the ``spare`` calls left for polls lengthens the interval by
    ``spare / (spare - b)``; keeping ``b ≤ spare · g / (1 + g)`` caps that at ``1 + g``
    (g = HISTORY_MAX_GROWTH) for every remaining day, and the same share per day spreads
    the backfill over the month instead of spending it at once.
    """
    if backlog <= 0 or spare <= 0 or days_left <= 0:
        return 0, 0
    month_share = math.floor(spare * HISTORY_MAX_GROWTH / (1 + HISTORY_MAX_GROWTH) + 1e-9)
    per_day = month_share // days_left
    return per_day, min(backlog, per_day * days_left)

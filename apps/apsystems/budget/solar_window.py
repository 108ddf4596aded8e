"""The solar window: when production polls are worth their quota.

A poll spends one call of a small monthly quota, and at night it returns nothing new, so
polls happen only from sunrise + ``sunrise_offset`` to sunset + ``sunset_offset`` (the ECU
uploads the day's last readings a little after sunset). The pacing spreads the quota over
the solar seconds left in the month, so those must be cheap to ask for after every poll:
windows are cached per date and summed with per-month prefix sums.

Times are handled internally as POSIX seconds: arithmetic on aware datetimes that share a
zoneinfo is wall-clock arithmetic and goes wrong on DST days.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Literal

from astral import Observer
from astral.sun import elevation, sunrise, sunset

from apsystems.common.months import days_in_month, month_bounds, require_aware, zone

_LOGGER = logging.getLogger(__name__)

OFFSET_MIN_LIMITS = (0, 120)
DEFAULT_OFFSET_MIN = 30
# Apparent elevation of the sun's centre at sunrise/sunset (radius + refraction), degrees.
HORIZON_DEG = -0.833
# How far ahead next_open() looks: longer than any polar night.
_SEARCH_DAYS = 370

WindowKind = Literal["normal", "polar_day", "polar_night"]
_Span = tuple[float, float]


def _offset(name: str, value: float) -> float:
    """Validated offset in minutes."""
    low, high = OFFSET_MIN_LIMITS
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"{name} {value!r} must be a number of minutes from {low} to {high}")
    return float(value)


@dataclass(frozen=True)
class Site:
    """Where the panels are: the sun times and the local calendar follow from it."""

    latitude: float
    longitude: float
    time_zone: str = "UTC"

    def __post_init__(self) -> None:
        if isinstance(self.latitude, bool) or not isinstance(self.latitude, int | float):
            raise ValueError(f"latitude {self.latitude!r} must be a number from -90 to 90")
        if not -90.0 <= self.latitude <= 90.0:
            raise ValueError(f"latitude {self.latitude!r} must be from -90 to 90")
        if isinstance(self.longitude, bool) or not isinstance(self.longitude, int | float):
            raise ValueError(f"longitude {self.longitude!r} must be a number from -180 to 180")
        if not -180.0 <= self.longitude <= 180.0:
            raise ValueError(f"longitude {self.longitude!r} must be from -180 to 180")
        zone(self.time_zone)

    @property
    def tz(self) -> tzinfo:
        return zone(self.time_zone)


@dataclass(frozen=True)
class SolarWindow:
    """One local date's polling window, clipped to that date (it never crosses midnight).

    ``spans`` are (start, end) POSIX seconds, sorted and disjoint; usually one, two on the
    days near the polar circles when the sun sets after midnight and rises again later.
    """

    day: date
    kind: WindowKind
    spans: tuple[_Span, ...]
    tz: tzinfo

    @property
    def seconds(self) -> float:
        return sum(end - start for start, end in self.spans)

    @property
    def start(self) -> datetime | None:
        """First opening, local time; None when the window is empty."""
        return datetime.fromtimestamp(self.spans[0][0], self.tz) if self.spans else None

    @property
    def end(self) -> datetime | None:
        """Last closing, local time; None when the window is empty."""
        return datetime.fromtimestamp(self.spans[-1][1], self.tz) if self.spans else None

    def contains(self, now: datetime) -> bool:
        t = require_aware(now).timestamp()
        return any(start <= t < end for start, end in self.spans)

    def overlap(self, t0: float, t1: float) -> float:
        """Window seconds inside [t0, t1) (POSIX seconds)."""
        return sum(max(0.0, min(end, t1) - max(start, t0)) for start, end in self.spans)

    def seconds_after(self, now: datetime) -> float:
        return self.overlap(require_aware(now).timestamp(), math.inf)


class SolarCalendar:
    """Solar windows of a site, with the sums the pacing needs; cached and thread-safe."""

    def __init__(
        self,
        site: Site,
        sunrise_offset_min: float = DEFAULT_OFFSET_MIN,
        sunset_offset_min: float = DEFAULT_OFFSET_MIN,
    ) -> None:
        self.site = site
        self.tz = site.tz
        self.sunrise_offset_min = _offset("sunrise_offset", sunrise_offset_min)
        self.sunset_offset_min = _offset("sunset_offset", sunset_offset_min)
        self._observer = Observer(latitude=site.latitude, longitude=site.longitude, elevation=0.0)
        self._lock = threading.Lock()
        self._events: dict[date, tuple[float | None, float | None]] = {}
        self._windows: dict[date, SolarWindow] = {}
        self._prefix: dict[tuple[int, int], list[float]] = {}

    def __repr__(self) -> str:
        return (
            f"SolarCalendar({self.site!r}, sunrise_offset_min={self.sunrise_offset_min:g},"
            f" sunset_offset_min={self.sunset_offset_min:g})"
        )

    # ---- dates ---------------------------------------------------------------------------

    def local_date(self, now: datetime) -> date:
        return require_aware(now).astimezone(self.tz).date()

    def _date_of(self, t: float) -> date:
        return datetime.fromtimestamp(t, self.tz).date()

    def _day_start(self, day: date) -> float:
        return datetime(day.year, day.month, day.day, tzinfo=self.tz).timestamp()

    # ---- sun events ------------------------------------------------------------------------

    def _sun_events(self, day: date) -> tuple[float | None, float | None]:
        """Sunrise and sunset on the local ``day`` (POSIX seconds), None where there is none."""
        cached = self._events.get(day)
        if cached is not None:
            return cached
        rise: float | None
        set_: float | None
        try:
            rise = sunrise(self._observer, day, self.tz).timestamp()
        except ValueError:
            rise = None
        try:
            set_ = sunset(self._observer, day, self.tz).timestamp()
        except ValueError:
            set_ = None
        self._events[day] = (rise, set_)
        return rise, set_

    def _sun_is_up(self, t: float) -> bool:
        moment = datetime.fromtimestamp(t, timezone.utc)
        return float(elevation(self._observer, moment, with_refraction=False)) > HORIZON_DEG

    def _daylight_arcs(self, day: date) -> list[_Span]:
        """Sun-up intervals around ``day``, from the sunrises and sunsets of the days either side.

        Walking the events in time order (instead of pairing each date's sunrise with its
        sunset) copes with sunsets after midnight and with days that have only one event.
        """
        events: list[tuple[float, bool]] = []
        for d in (day - timedelta(days=1), day, day + timedelta(days=1)):
            rise, set_ = self._sun_events(d)
            if rise is not None:
                events.append((rise, True))
            if set_ is not None:
                events.append((set_, False))
        if not events:  # no sunrise or sunset for three days: polar day or polar night
            middle = self._day_start(day) + 12 * 3600.0
            return [(-math.inf, math.inf)] if self._sun_is_up(middle) else []
        events.sort()
        up = not events[0][1]  # before a sunrise the sun is down, before a sunset it is up
        arcs: list[_Span] = []
        arc_start = -math.inf
        for t, is_rise in events:
            if is_rise and not up:
                up, arc_start = True, t
            elif not is_rise and up:
                up = False
                arcs.append((arc_start, t))
        if up:
            arcs.append((arc_start, math.inf))
        return arcs

    # ---- windows ---------------------------------------------------------------------------

    def window(self, day: date) -> SolarWindow:
        """The polling window of the local ``day`` (cached)."""
        cached = self._windows.get(day)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._windows.get(day)
            if cached is None:
                cached = self._compute_window(day)
                self._windows[day] = cached
            return cached

    def _compute_window(self, day: date) -> SolarWindow:
        day_start = self._day_start(day)
        day_end = self._day_start(day + timedelta(days=1))
        arcs = self._daylight_arcs(day)
        raw = sum(max(0.0, min(e, day_end) - max(s, day_start)) for s, e in arcs)
        kind: WindowKind = "normal"
        if raw <= 0.0:
            kind = "polar_night"
        elif raw >= day_end - day_start:
            kind = "polar_day"
        rise_shift = self.sunrise_offset_min * 60.0
        set_shift = self.sunset_offset_min * 60.0
        spans: list[_Span] = []
        for s, e in arcs:
            start = max(s + rise_shift, day_start)
            end = min(e + set_shift, day_end)
            if end <= start:
                continue
            if spans and start <= spans[-1][1]:  # offsets can close a short night: merge
                spans[-1] = (spans[-1][0], max(spans[-1][1], end))
            else:
                spans.append((start, end))
        if kind != "normal":
            _LOGGER.debug("%s at %s on %s", kind, self.site, day)
        return SolarWindow(day=day, kind=kind, spans=tuple(spans), tz=self.tz)

    def window_at(self, now: datetime) -> SolarWindow:
        return self.window(self.local_date(now))

    def is_open(self, now: datetime) -> bool:
        """True when ``now`` is inside its date's solar window."""
        return self.window_at(now).contains(now)

    def seconds_remaining_today(self, now: datetime) -> float:
        """Window seconds left on ``now``'s local date (0 after the window)."""
        return self.window_at(now).seconds_after(now)

    def next_open(self, now: datetime) -> datetime | None:
        """``now`` if the window is open, else the next opening; None if none within a year."""
        t = require_aware(now).timestamp()
        day = self.local_date(now)
        for _ in range(_SEARCH_DAYS):
            for start, end in self.window(day).spans:
                if end > t:
                    return datetime.fromtimestamp(max(start, t), self.tz)
            day += timedelta(days=1)
        return None

    # ---- sums ----------------------------------------------------------------------------

    def _month_prefix(self, year: int, month: int) -> list[float]:
        """prefix[i] = window seconds of days 1..i of the month."""
        key = (year, month)
        prefix = self._prefix.get(key)
        if prefix is None:
            prefix = [0.0]
            for d in range(1, days_in_month(year, month) + 1):
                prefix.append(prefix[-1] + self.window(date(year, month, d)).seconds)
            self._prefix[key] = prefix
        return prefix

    def _full_days(self, first: date, stop: date) -> float:
        """Window seconds of the whole days first..stop-1."""
        total = 0.0
        day = first
        while day < stop:
            prefix = self._month_prefix(day.year, day.month)
            if (stop.year, stop.month) == (day.year, day.month):
                return total + prefix[stop.day - 1] - prefix[day.day - 1]
            total += prefix[-1] - prefix[day.day - 1]
            day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        return total

    def solar_seconds_between(self, start: datetime, end: datetime) -> float:
        """Window seconds inside [start, end)."""
        t0 = require_aware(start, "start").timestamp()
        t1 = require_aware(end, "end").timestamp()
        if t1 <= t0:
            return 0.0
        first = self._date_of(t0)
        last = self._date_of(t1)
        if first == last:
            return self.window(first).overlap(t0, t1)
        return (
            self.window(first).overlap(t0, math.inf)
            + self._full_days(first + timedelta(days=1), last)
            + self.window(last).overlap(-math.inf, t1)
        )

    def solar_seconds_left_in_month(self, now: datetime, month_tz: tzinfo | None = None) -> float:
        """Window seconds from ``now`` to the end of its month (month as seen from ``month_tz``)."""
        _, end = month_bounds(now, month_tz or self.tz)
        return self.solar_seconds_between(now, end)

    def solar_seconds_in_month(self, year: int, month: int, month_tz: tzinfo | None = None) -> float:
        """Window seconds of a whole calendar month."""
        tz = month_tz or self.tz
        start = datetime(year, month, 1, tzinfo=tz)
        _, end = month_bounds(start, tz)
        return self.solar_seconds_between(start, end)

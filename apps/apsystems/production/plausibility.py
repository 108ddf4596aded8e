"""Which production values can be real: limits from the site, the time elapsed and physics.

A value the cloud sends once (a lifetime of 1e308, a negative today, -1 MW of power) must not
stick: lifetime totals never go down, so one bad total would stay for ever. Limits:

* a physical maximum, unless the site's capacity (from the system details) gives a lower one;
* energy cannot grow faster than that power for the time elapsed (today since midnight, the
  month since its first day, lifetime since the last accepted value, a 5-minute point since the
  point before it: after an upload gap the cloud puts the missing energy into the next point);
* no energy or power is negative, NaN or infinite.

A lifetime jump beyond the limit is held back until a second reading confirms it (a cloud
correction after an ECU swap is real and repeats; a glitch does not). Pure: no AppDaemon, no I/O.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from apsystems.api.records import EcuMinutely, EnergySummary
from apsystems.production.energy_book import minute_of_day

_LOGGER = logging.getLogger(__name__)

PHYSICAL_MAX_KW = 1000.0
"""With no capacity known: beyond any installation an end-user OpenAPI account covers."""
CAPACITY_MARGIN = 1.3
"""Inverters may deliver somewhat above the nameplate (cold panels, cloud edges)."""
SLACK_KWH = 0.05
"""API rounding (two decimals) and an interval's labelling."""
MAX_LIFETIME_YEARS = 50
CURVE_STEP_MINUTES = 5
CURVE_STEP = timedelta(minutes=CURVE_STEP_MINUTES)
NEGATIVE_NOISE_W = 1.0
"""A standby reading of -0.3 W is 0, not a fault."""


@dataclass(frozen=True)
class Limits:
    """The most one site can produce."""

    max_power_kw: float = PHYSICAL_MAX_KW

    @classmethod
    def for_capacity(cls, capacity_kw: float | None) -> Limits:
        """From the capacity of the system details; the physical maximum when unknown or absurd."""
        if capacity_kw is None or not math.isfinite(capacity_kw) or capacity_kw <= 0:
            return cls()
        return cls(min(PHYSICAL_MAX_KW, capacity_kw * CAPACITY_MARGIN))

    def max_energy_kwh(self, elapsed: timedelta) -> float:
        hours = max(0.0, elapsed.total_seconds() / 3600.0)
        return self.max_power_kw * hours + SLACK_KWH

    @property
    def max_lifetime_kwh(self) -> float:
        return self.max_energy_kwh(timedelta(days=365 * MAX_LIFETIME_YEARS))


def _bad_number(value: float) -> str | None:
    if not math.isfinite(value):
        return "not a finite number"
    if value < 0:
        return "negative"
    return None


def point_spans(times: tuple[str, ...]) -> list[timedelta]:
    """The time each point of a curve can stand for: since the point before it (the day's first
    since midnight); an unreadable label counts as one interval, the curve's usual step."""
    spans: list[timedelta] = []
    previous = 0
    for label in times:
        minute = minute_of_day(label)
        if minute is None or minute <= previous:
            spans.append(CURVE_STEP)
            continue
        spans.append(timedelta(minutes=max(minute - previous, CURVE_STEP_MINUTES)))
        previous = minute
    return spans


class PlausibilityGuard:
    """Screens the values of one system before the energy book takes them; logs every rejection."""

    def __init__(self, sid: str, limits: Limits | None = None) -> None:
        self.sid = sid
        self.limits = limits or Limits()
        self._lifetime_seen: tuple[float, datetime] | None = None
        self._held: tuple[float, datetime] | None = None
        self.rejected = 0

    def _reject(self, field: str, raw: object, why: str) -> None:
        self.rejected += 1
        _LOGGER.warning(
            "APsystems %s for system %s: %r rejected (%s); the last good value stays", field, self.sid, raw, why
        )

    def energy(self, field: str, value: float | None, limit_kwh: float) -> float | None:
        """``value`` when it can be real within ``limit_kwh``, else None (logged with the raw value)."""
        if value is None:
            return None
        why = _bad_number(value)
        if why is None and value > limit_kwh:
            why = f"more than the {limit_kwh:.2f} kWh possible ({self.limits.max_power_kw:g} kW for the time elapsed)"
        if why is not None:
            self._reject(field, value, why)
            return None
        return value

    def power_w(self, field: str, watts: float | None) -> float | None:
        """Watts when real; a tiny negative standby value reads 0."""
        if watts is None:
            return None
        if math.isfinite(watts) and -NEGATIVE_NOISE_W <= watts < 0:
            return 0.0
        why = _bad_number(watts)
        if why is None and watts > self.limits.max_power_kw * 1000.0:
            why = f"more than the {self.limits.max_power_kw:g} kW this site can produce"
        if why is not None:
            self._reject(field, watts, why)
            return None
        return watts

    def lifetime(self, value: float | None, now: datetime, known_kwh: float | None) -> float | None:
        """A lifetime total, held back when it jumps further than the time since the last one allows."""
        value = self.energy("lifetime", value, self.limits.max_lifetime_kwh)
        if value is None:
            return None
        if self._lifetime_seen is None and known_kwh is not None:
            self._lifetime_seen = (known_kwh, now - timedelta(days=1))  # the last summary was at most a day ago
        if self._lifetime_seen is not None:
            previous, at = self._lifetime_seen
            if value - previous > self.limits.max_energy_kwh(now - at) and not self._confirms(value, now):
                self._held = (value, now)
                _LOGGER.warning(
                    "APsystems lifetime for system %s jumped from %.3f to %r kWh; held back until a second reading"
                    " confirms it",
                    self.sid,
                    previous,
                    value,
                )
                return None
        self._held = None
        self._lifetime_seen = (value, now)
        return value

    def _confirms(self, value: float, now: datetime) -> bool:
        if self._held is None:
            return False
        held, at = self._held
        return abs(value - held) <= self.limits.max_energy_kwh(now - at)

    def summary(self, summary: EnergySummary, now: datetime, known_lifetime_kwh: float | None) -> EnergySummary:
        """The summary with every implausible field replaced by None (which the book skips)."""
        local = now
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        month_start = midnight.replace(day=1)
        year_start = month_start.replace(month=1)
        return replace(
            summary,
            today=self.energy("today", summary.today, self.limits.max_energy_kwh(local - midnight)),
            month=self.energy("month", summary.month, self.limits.max_energy_kwh(local - month_start)),
            year=self.energy("year", summary.year, self.limits.max_energy_kwh(local - year_start)),
            lifetime=self.lifetime(summary.lifetime, now, known_lifetime_kwh),
        )

    def today_kwh(self, value: float, now: datetime) -> float | None:
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return self.energy("today", value, self.limits.max_energy_kwh(now - midnight))

    def hourly(self, values: list[float]) -> list[float]:
        """Hourly kWh with each impossible hour read as 0 (never more than an hour at full power)."""
        hour_limit = self.limits.max_energy_kwh(timedelta(hours=1))
        return [self.energy(f"hour {index}", value, hour_limit) or 0.0 for index, value in enumerate(values)]

    def curve(self, curve: EcuMinutely) -> EcuMinutely:
        """A 5-minute curve with impossible points and an impossible today removed."""
        spans = point_spans(curve.times)
        return replace(
            curve,
            energy_kwh=tuple(
                self.energy("5-minute energy", v, self.limits.max_energy_kwh(span))
                for v, span in zip(curve.energy_kwh, spans, strict=False)
            ),
            power_w=tuple(self.power_w("power", w) for w in curve.power_w),
            today_kwh=self.energy("today", curve.today_kwh, self.limits.max_energy_kwh(timedelta(days=1))),
        )

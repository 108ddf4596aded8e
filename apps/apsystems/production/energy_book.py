"""Energy bookkeeping for the system sensors: today, the hourly breakdown, and lifetime.

Lifetime is the start-of-day total plus today's progress, so the Energy dashboard sees
production hour by hour instead of one jump a day. The start-of-day total comes from the
daily summary (lifetime minus today) and, between summaries, rolls forward at midnight.
No published total ever goes down: HA would read a drop as a meter reset.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from apsystems.api.records import EcuMinutely, EnergySummary

_LOGGER = logging.getLogger(__name__)

HOURS = 24
# Differences below this are API rounding (values come with 2 decimals), not news.
EPSILON_KWH = 0.005


def minute_of_day(label: str) -> int | None:
    """The minute a 5-minute curve's ``HH:mm`` label stands at (``24:00`` ends the day); None when
    it is no such label."""
    try:
        hours, minutes = (int(part) for part in label.split(":", 1))
    except ValueError:
        return None
    return hours * 60 + minutes if 0 <= hours <= 24 and 0 <= minutes < 60 else None


def bin_minutely_by_hour(times: tuple[str, ...], energy_kwh: tuple[float | None, ...]) -> list[float]:
    """24 hourly kWh values from 5-minute energy; a label ``HH:mm`` ends its interval."""
    hourly = [0.0] * HOURS
    for label, value in zip(times, energy_kwh, strict=False):
        minute = minute_of_day(label)
        if value is None or minute is None:
            continue
        index = max(0, (minute - 1) // 60)
        if index < HOURS:
            hourly[index] += value
    return [round(v, 4) for v in hourly]


@dataclass
class EnergyBook:
    """The persisted energy state of one system and the rules that move it forward."""

    day: date | None = None
    start_of_day_kwh: float | None = None
    today_kwh: float = 0.0
    hourly_kwh: list[float] = field(default_factory=lambda: [0.0] * HOURS)
    total_kwh: float | None = None
    month_start_kwh: float | None = None
    year_start_kwh: float | None = None
    summary_day: date | None = None

    # ---- persistence -----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat() if self.day else None,
            "start_of_day_kwh": self.start_of_day_kwh,
            "today_kwh": self.today_kwh,
            "hourly_kwh": list(self.hourly_kwh),
            "total_kwh": self.total_kwh,
            "month_start_kwh": self.month_start_kwh,
            "year_start_kwh": self.year_start_kwh,
            "summary_day": self.summary_day.isoformat() if self.summary_day else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnergyBook:
        """Rebuild from a state file; a damaged field falls back to 'unknown', never to 0 for totals."""
        hourly = data.get("hourly_kwh")
        return cls(
            day=_date_or_none(data.get("day")),
            start_of_day_kwh=_float_or_none(data.get("start_of_day_kwh")),
            today_kwh=_float_or_none(data.get("today_kwh")) or 0.0,
            hourly_kwh=[_float_or_none(v) or 0.0 for v in hourly][:HOURS]
            if isinstance(hourly, list) and len(hourly) == HOURS
            else [0.0] * HOURS,
            total_kwh=_float_or_none(data.get("total_kwh")),
            month_start_kwh=_float_or_none(data.get("month_start_kwh")),
            year_start_kwh=_float_or_none(data.get("year_start_kwh")),
            summary_day=_date_or_none(data.get("summary_day")),
        )

    # ---- rules -----------------------------------------------------------------------

    def roll_to(self, day: date) -> bool:
        """Move to ``day`` (the system's local date); True when today's values were reset."""
        if self.day == day:
            return False
        if self.day is not None and day < self.day:
            _LOGGER.warning("Ignoring a date going backwards (%s after %s)", day, self.day)
            return False
        if self.day is not None:
            # Close the finished day into the running totals; a new month or year starts at 0.
            if self.start_of_day_kwh is not None:
                self.start_of_day_kwh = round(self.start_of_day_kwh + self.today_kwh, 4)
            same_year = day.year == self.day.year
            same_month = same_year and day.month == self.day.month
            if self.month_start_kwh is not None:
                self.month_start_kwh = round(self.month_start_kwh + self.today_kwh, 4) if same_month else 0.0
            if self.year_start_kwh is not None:
                self.year_start_kwh = round(self.year_start_kwh + self.today_kwh, 4) if same_year else 0.0
        self.day = day
        self.today_kwh = 0.0
        self.hourly_kwh = [0.0] * HOURS
        return True

    def apply_today(self, day: date, today_kwh: float | None, hourly_kwh: list[float] | None = None) -> None:
        """Record today's production so far; a lower value than already seen today is ignored."""
        self.roll_to(day)
        if hourly_kwh is not None and len(hourly_kwh) == HOURS:
            # Keep each hour's best value: a partial answer must not erase an hour already known.
            self.hourly_kwh = [round(max(old, new), 4) for old, new in zip(self.hourly_kwh, hourly_kwh, strict=True)]
        if today_kwh is None:
            return
        if today_kwh + EPSILON_KWH < self.today_kwh:
            _LOGGER.info(
                "APsystems reported today %.3f kWh, lower than %.3f already seen; kept the higher value",
                today_kwh,
                self.today_kwh,
            )
            return
        self.today_kwh = max(self.today_kwh, round(today_kwh, 4))

    def apply_ecu_minutely(self, day: date, curves: list[EcuMinutely]) -> None:
        """Sum the ECUs' 5-minute curves: today and the hourly breakdown in one call per ECU."""
        hourly = [0.0] * HOURS
        today = 0.0
        for curve in curves:
            for index, value in enumerate(bin_minutely_by_hour(curve.times, curve.energy_kwh)):
                hourly[index] += value
            binned = sum(v for v in curve.energy_kwh if v is not None)
            today += curve.today_kwh if curve.today_kwh is not None else binned
        self.apply_today(day, today, [round(v, 4) for v in hourly])

    def apply_summary(self, day: date, summary: EnergySummary) -> None:
        """Adopt the cloud's lifetime/month/year; lifetime only ever moves the baseline up."""
        self.roll_to(day)
        if summary.today is not None:
            self.apply_today(day, summary.today)
        # Without the summary's today (not uploaded yet, or rejected), today's known progress.
        today = summary.today if summary.today is not None else self.today_kwh
        if summary.month is not None:
            self.month_start_kwh = round(max(0.0, summary.month - today), 4)
        if summary.year is not None:
            self.year_start_kwh = round(max(0.0, summary.year - today), 4)
        self.summary_day = day
        if summary.lifetime is None or summary.lifetime <= 0:
            return
        candidate = summary.lifetime - today
        if self.start_of_day_kwh is None or candidate > self.start_of_day_kwh + EPSILON_KWH:
            self.start_of_day_kwh = round(candidate, 4)
        elif candidate + EPSILON_KWH < self.start_of_day_kwh:
            _LOGGER.info(
                "APsystems lifetime %.3f kWh is below the %.3f kWh already counted; kept the higher value",
                summary.lifetime,
                self.start_of_day_kwh + self.today_kwh,
            )

    def lifetime_kwh(self) -> float | None:
        """The lifetime total to publish: never lower than before, None until a baseline is known."""
        if self.start_of_day_kwh is None:
            return self.total_kwh
        value = round(self.start_of_day_kwh + self.today_kwh, 3)
        if self.total_kwh is not None and value < self.total_kwh:
            return self.total_kwh
        self.total_kwh = value
        return value

    def month_kwh(self) -> float | None:
        """This month's production so far (the summary's month plus today's progress)."""
        return None if self.month_start_kwh is None else round(self.month_start_kwh + self.today_kwh, 3)

    def year_kwh(self) -> float | None:
        """This year's production so far."""
        return None if self.year_start_kwh is None else round(self.year_start_kwh + self.today_kwh, 3)

    def needs_summary(self, day: date) -> bool:
        """True when no summary has been read for ``day`` (start-up, or a new day)."""
        return self.summary_day != day or self.start_of_day_kwh is None


def _float_or_none(value: Any) -> float | None:
    """A stored energy: finite and not negative, else unknown (an Infinity once written must not come back)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) and number >= 0 else None


def _date_or_none(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None

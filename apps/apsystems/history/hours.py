"""Where the cloud's hourly and daily values go on Home Assistant's hour grid.

The cloud labels hourly values by local hour 0–23 of the system's day. A local hour that
does not exist (the spring-forward gap) passes its energy to the next hour; the repeated
hour of the autumn change is the cloud's one label, placed on its first occurrence.

An older day known only by its total goes into one row at local noon (``DAILY_ROW_HOUR``):
noon lies inside every production day, so the day's bar stands where the energy was made;
it exists on every day (clock changes happen at night); and it stays on the same calendar
day in Home Assistant's day view even when Home Assistant's time zone differs from the
system's by up to eleven hours.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, timezone, tzinfo

from apsystems.history.book import to_wh

DAILY_ROW_HOUR = 12


def local_hour_start(day: date, hour: int, tz: tzinfo) -> datetime | None:
    """The UTC start of local ``hour`` on ``day``; None for an hour the clock skips."""
    wall = datetime.combine(day, time(hour), tzinfo=tz)
    utc = wall.astimezone(timezone.utc)
    if utc.astimezone(tz).replace(tzinfo=None) != wall.replace(tzinfo=None):
        return None
    return utc


def day_hours(day: date, hourly_kwh: Sequence[float | None], tz: tzinfo) -> dict[datetime, int]:
    """Every local hour of ``day`` (zero ones too) → Wh, from the cloud's 24 hourly values."""
    if len(hourly_kwh) != 24:
        raise ValueError(f"hourly energy of {day} has {len(hourly_kwh)} values, not 24")
    out: dict[datetime, int] = {}
    carried = 0
    for hour, kwh in enumerate(hourly_kwh):
        wh = carried + (to_wh(kwh) if kwh is not None else 0)
        if wh < 0:
            raise ValueError(f"hourly energy of {day} hour {hour} is negative ({kwh})")
        start = local_hour_start(day, hour, tz)
        if start is None:
            carried = wh
            continue
        carried = 0
        out[start] = wh
    if carried:  # a skipped last hour (no zone does this, but nothing is lost)
        out[max(out)] += carried
    return out


def day_row(day: date, kwh: float, tz: tzinfo) -> dict[datetime, int]:
    """An older day's total as one row at local noon."""
    wh = to_wh(kwh)
    if wh < 0:
        raise ValueError(f"daily energy of {day} is negative ({kwh})")
    start = local_hour_start(day, DAILY_ROW_HOUR, tz)
    assert start is not None  # noon always exists
    return {start: wh}


def day_span(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """The UTC instants where local ``day`` starts and ends (23, 24 or 25 hours apart)."""
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(timezone.utc)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(timezone.utc)
    return start, end

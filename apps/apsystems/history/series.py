"""The solar history of one system: its statistic book and what is known about each day.

A day is ``hourly`` once a whole-day hourly read after the day's production ended is in the
book, ``daily`` when only its total is (one noon row), and ``partial`` while only some closed
hours are (today from production's data, or a day read while it was still running).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Literal

from apsystems.history.book import StatisticBook, to_wh
from apsystems.history.hours import day_hours, day_row, day_span, local_hour_start

DayState = Literal["hourly", "daily", "partial"]
DAY_STATES: frozenset[str] = frozenset({"hourly", "daily", "partial"})


@dataclass(frozen=True)
class HourlyDay:
    """Read one day's hourly energy (one call)."""

    day: date

    @property
    def label(self) -> str:
        return self.day.isoformat()


@dataclass(frozen=True)
class DailyMonth:
    """Read one month's daily energy (one call) for the listed days."""

    year: int
    month: int
    days: tuple[date, ...]

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


Task = HourlyDay | DailyMonth


class SolarHistory:
    """The book plus each day's state; every change goes through here so both stay in step."""

    def __init__(self, book: StatisticBook, tz: tzinfo, days: Mapping[date, DayState] | None = None) -> None:
        self.book = book
        self.tz = tz
        self.days: dict[date, DayState] = dict(days or {})
        self.calls_spent = 0  # cloud calls the history has made, over its whole life
        self.since: date | None = None  # the first day to import (installation or the user's date)
        self.evening_on: date | None = None  # the last day whose evening re-read is done

    # ---- what the cloud said ----------------------------------------------------------------

    def apply_hourly(self, day: date, hourly_kwh: Sequence[float | None], *, complete: bool) -> int:
        """A day's 24 hourly values; ``complete`` when read after its production ended.

        Returns how many hours changed. A partial read never replaces a complete day.
        """
        if not complete and self.days.get(day) == "hourly":
            return 0
        moved = self.book.set_hours(day_hours(day, hourly_kwh, self.tz))
        self.days[day] = "hourly" if complete else "partial"
        return len(moved)

    def apply_closed_hours(self, day: date, hourly_kwh: Sequence[float | None], closed_hours: int) -> int:
        """Today's closed hours (local ``0 … closed_hours-1``) from data production already fetched."""
        if self.days.get(day) == "hourly" or closed_hours <= 0:
            return 0
        values: list[float | None] = [v if h < closed_hours else None for h, v in enumerate(hourly_kwh)]
        hours = day_hours(day, values, self.tz)
        end = self._closed_end(day, closed_hours)
        keep = {start: wh for start, wh in hours.items() if start < end}
        moved = self.book.set_hours(keep)
        if self.days.get(day) is None:
            self.days[day] = "partial"
        return len(moved)

    def apply_daily(self, task: DailyMonth, daily_kwh: Sequence[float | None]) -> int:
        """A month's daily values for the task's days; days known hourly keep their hours."""
        moved = 0
        for day in task.days:
            index = day.day - 1
            if self.days.get(day) == "hourly" or index >= len(daily_kwh):
                continue
            value = daily_kwh[index]
            moved += len(self.book.set_hours(day_row(day, value or 0.0, self.tz)))
            self.days[day] = "daily"
        return moved

    def reconcile_month(self, year: int, month: int, daily_kwh: Sequence[float | None], before: date) -> list[date]:
        """Compare the month's daily values with the book (days before ``before``).

        A daily day that moved is fixed at once (its one row); an hourly day whose hours no
        longer add up to the cloud's day is marked partial, so the plan reads it again.
        Returns the days found different.
        """
        found: list[date] = []
        for index, value in enumerate(daily_kwh):
            day = date(year, month, index + 1)
            state = self.days.get(day)
            if day >= before or state is None or value is None:
                continue
            if self.day_wh(day) == to_wh(value):
                continue
            found.append(day)
            if state == "daily":
                self.book.set_hours(day_row(day, value, self.tz))
            else:
                self.days[day] = "partial"
        return found

    def day_wh(self, day: date) -> int:
        start, end = day_span(day, self.tz)
        return self.book.total_between(start, end)

    # ---- the plan --------------------------------------------------------------------------------

    def tasks(self, today: date, history_days: int, since: date) -> list[Task]:
        """What the backfill still has to read, oldest first.

        Oldest first keeps every step an append: each import adds rows after the ones already
        in Home Assistant instead of moving the sums of everything newer.
        """
        hourly_from = max(since, today - timedelta(days=history_days))
        months: dict[tuple[int, int], list[date]] = {}
        day = since
        while day < hourly_from:
            if self.days.get(day) not in ("hourly", "daily"):
                months.setdefault((day.year, day.month), []).append(day)
            day += timedelta(days=1)
        out: list[Task] = [DailyMonth(y, m, tuple(days)) for (y, m), days in sorted(months.items())]
        day = hourly_from
        while day < today:
            if self.days.get(day) != "hourly":
                out.append(HourlyDay(day))
            day += timedelta(days=1)
        return out

    def imported_days(self) -> tuple[date | None, date | None]:
        """First and last day with data in the book (for the sensor)."""
        known = sorted(self.days)
        return (known[0], known[-1]) if known else (None, None)

    # ---- persistence ---------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "book": self.book.to_json(),
            "days": {day.isoformat(): state for day, state in sorted(self.days.items())},
            "calls_spent": self.calls_spent,
            "since": self.since.isoformat() if self.since else None,
            "evening_on": self.evening_on.isoformat() if self.evening_on else None,
        }

    @classmethod
    def from_json(cls, statistic_id: str, tz: tzinfo, data: Mapping[str, Any]) -> SolarHistory:
        """The saved history; ValueError naming the problem when the file is not usable."""
        book_data = data.get("book")
        days_data = data.get("days")
        if not isinstance(book_data, dict) or not isinstance(days_data, dict):
            raise ValueError("book or days missing")
        days: dict[date, DayState] = {}
        for key, state in days_data.items():
            if state not in DAY_STATES:
                raise ValueError(f"day {key} has state {state!r}")
            days[date.fromisoformat(key)] = state
        history = cls(StatisticBook.from_json(statistic_id, book_data), tz, days)
        calls = data.get("calls_spent", 0)
        history.calls_spent = calls if isinstance(calls, int) and not isinstance(calls, bool) and calls >= 0 else 0
        history.since = _opt_date(data.get("since"))
        history.evening_on = _opt_date(data.get("evening_on"))
        return history

    def _closed_end(self, day: date, closed_hours: int) -> datetime:
        """Where the first open hour starts (hours from there on are not imported yet)."""
        for hour in range(closed_hours, 24):
            boundary = local_hour_start(day, hour, self.tz)
            if boundary is not None:
                return boundary
        return day_span(day, self.tz)[1]


def _opt_date(value: object) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else None

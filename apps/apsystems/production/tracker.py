"""Production tracking for one system: polls, the daily summary, and what to publish.

This is the logic behind the production app, free of AppDaemon so that a whole day can be
simulated against the fake cloud with an injected clock. Errors never escape a poll: each
becomes an ``Outcome`` the app reacts to (keep values, notify, or tell the budget).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Literal, TypeVar

from apsystems.api.client import ApsystemsClient
from apsystems.api.errors import (
    ApsystemsError,
    AuthError,
    NoDataError,
    QuotaExhaustedError,
    RateLimitedError,
    TransientError,
)
from apsystems.api.records import EcuMinutely
from apsystems.budget.pacing import PollSource
from apsystems.common.json_file import read_json_object, write_json_atomic
from apsystems.common.months import localize
from apsystems.production.energy_book import HOURS, EnergyBook
from apsystems.production.plausibility import Limits, PlausibilityGuard

_LOGGER = logging.getLogger(__name__)

_T = TypeVar("_T")
OutcomeKind = Literal["ok", "no_data", "transient", "auth", "quota", "rate_limited", "error"]


@dataclass(frozen=True)
class Outcome:
    """What one poll or summary fetch came to; ``code`` is the API's code when there was one."""

    kind: OutcomeKind
    message: str = ""
    code: int | None = None

    @property
    def succeeded(self) -> bool:
        """The API answered normally (1001, no data, is a normal answer)."""
        return self.kind in ("ok", "no_data")


def outcome_of(exc: ApsystemsError) -> Outcome:
    """Sort an error into the few reactions the apps have."""
    kind: OutcomeKind
    if isinstance(exc, NoDataError):
        kind = "no_data"
    elif isinstance(exc, AuthError):
        kind = "auth"
    elif isinstance(exc, QuotaExhaustedError):
        kind = "quota"
    elif isinstance(exc, RateLimitedError):
        kind = "rate_limited"
    elif isinstance(exc, TransientError):
        kind = "transient"
    else:
        kind = "error"
    return Outcome(kind, str(exc), exc.code)


def resolve_poll_source(requested: str, ecu_count: int) -> PollSource:
    """``auto``: ECU minutely for one ECU (one call gives power, the 5-minute curve and today)."""
    if requested == "auto":
        return PollSource.ECU if ecu_count == 1 else PollSource.SYSTEM
    try:
        return PollSource(requested)
    except ValueError:
        raise ValueError(f"poll_source {requested!r} must be one of auto, ecu, system") from None


def calls_per_poll(source: PollSource, ecu_count: int) -> int:
    """What one production poll spends: one call, or one per ECU for ECU minutely data."""
    return ecu_count if source is PollSource.ECU else 1


@dataclass(frozen=True)
class PowerReading:
    watts: float
    measured_at: datetime  # aware, in the system's time zone


@dataclass(frozen=True)
class Readings:
    """Everything the production app publishes, in HA units."""

    day: date
    today_kwh: float
    hourly_kwh: tuple[float, ...]
    total_kwh: float | None
    month_kwh: float | None
    year_kwh: float | None
    power: PowerReading | None


def _local_time(day: date, label: str, tz: tzinfo) -> datetime | None:
    try:
        hours, minutes = (int(p) for p in label.split(":", 1))
        naive = datetime.combine(day, time(hours % 24, minutes))
    except ValueError:
        return None
    return localize(naive, tz)


def _iso_or_none(value: object, parse: Callable[[str], _T]) -> _T | None:
    """An ISO date/time from a state file; anything unreadable counts as unknown."""
    if not isinstance(value, str):
        return None
    try:
        return parse(value)
    except ValueError:
        return None


def latest_power(day: date, curves: list[EcuMinutely], tz: tzinfo) -> PowerReading | None:
    """Sum of each ECU's latest power point, timed at the oldest of them."""
    total = 0.0
    oldest: datetime | None = None
    for curve in curves:
        points = [(t, p) for t, p in zip(curve.times, curve.power_w, strict=False) if p is not None]
        if not points:
            continue
        label, watts = points[-1]
        measured = _local_time(day, label, tz)
        if measured is None:
            continue
        total += watts
        oldest = measured if oldest is None or measured < oldest else oldest
    return PowerReading(round(total, 1), oldest) if oldest is not None else None


def power_from_hourly(day: date, hourly: list[float], now: datetime, tz: tzinfo) -> PowerReading | None:
    """With hourly data only, the last complete hour's average power, timed at that hour's end."""
    current_hour = now.astimezone(tz).hour if now.astimezone(tz).date() == day else HOURS
    for hour in range(min(current_hour, HOURS) - 1, -1, -1):
        if hourly[hour] > 0:
            end = _local_time(day, f"{hour}:00", tz)
            return PowerReading(round(hourly[hour] * 1000.0, 1), end + timedelta(hours=1)) if end else None
    return None


class ProductionTracker:
    """Polls one system, keeps its energy book on disk, and says what to publish."""

    def __init__(
        self,
        client: ApsystemsClient,
        sid: str,
        tz: tzinfo,
        eids: tuple[str, ...],
        source: PollSource,
        state_path: Path,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.client = client
        self.sid = sid
        self.tz = tz
        self.eids = eids
        self.source = source
        self.state_path = state_path
        self._on_change = on_change
        self.book = EnergyBook()
        self.power: PowerReading | None = None
        self.closing_summary_day: date | None = None
        self.last_poll_at: datetime | None = None
        self.guard = PlausibilityGuard(sid)
        self._load()

    def set_capacity(self, capacity_kw: float | None) -> None:
        """The site's capacity (system details) bounds what a reading may claim."""
        self.guard.limits = Limits.for_capacity(capacity_kw)

    @property
    def calls_per_poll(self) -> int:
        return calls_per_poll(self.source, len(self.eids))

    def local_day(self, now: datetime) -> date:
        return now.astimezone(self.tz).date()

    # ---- persistence -------------------------------------------------------------------

    def _load(self) -> None:
        data = read_json_object(self.state_path)
        if data is None:
            return
        book = data.get("book")
        if isinstance(book, dict):
            self.book = EnergyBook.from_dict(book)
        self.closing_summary_day = _iso_or_none(data.get("closing_summary_day"), date.fromisoformat)
        self.last_poll_at = _iso_or_none(data.get("last_poll_at"), datetime.fromisoformat)
        power = data.get("power")
        if isinstance(power, dict):
            try:
                self.power = PowerReading(float(power["watts"]), datetime.fromisoformat(str(power["measured_at"])))
            except (KeyError, TypeError, ValueError):
                self.power = None

    def save(self) -> None:
        power = None
        if self.power is not None:
            power = {"watts": self.power.watts, "measured_at": self.power.measured_at.isoformat()}
        closing = self.closing_summary_day.isoformat() if self.closing_summary_day else None
        write_json_atomic(
            self.state_path,
            {
                "sid": self.sid,
                "book": self.book.to_dict(),
                "power": power,
                "closing_summary_day": closing,
                "last_poll_at": self.last_poll_at.isoformat() if self.last_poll_at else None,
            },
        )

    # ---- API work ----------------------------------------------------------------------

    def poll(self, now: datetime) -> Outcome:
        """One production poll (1 call, or 1 per ECU); values change only on a good answer."""
        day = self.local_day(now)
        self.last_poll_at = now
        try:
            if self.source is PollSource.ECU:
                curves = []
                for eid in self.eids:
                    try:
                        curves.append(self.guard.curve(self.client.ecu_energy_minutely(self.sid, eid, day)))
                    except NoDataError:
                        continue
                if not curves:
                    return Outcome("no_data", "no 5-minute data yet today", 1001)
                self.book.apply_ecu_minutely(day, curves)
                power = latest_power(day, curves, self.tz)
            else:
                hourly = self.client.system_energy(self.sid, "hourly", day)
                values = self.guard.hourly([v or 0.0 for v in hourly.values][:HOURS])
                values += [0.0] * (HOURS - len(values))
                self.book.apply_today(day, self.guard.today_kwh(sum(values), now.astimezone(self.tz)), values)
                power = power_from_hourly(day, values, now, self.tz)
        except ApsystemsError as exc:
            self.save()  # remember the attempt, so a restart does not poll again at once
            return outcome_of(exc)
        if power is not None and (self.power is None or power.measured_at >= self.power.measured_at):
            self.power = power
        self.save()
        return Outcome("ok")

    def needs_summary(self, now: datetime, *, window_open: bool, window_closed_today: bool, starting: bool) -> bool:
        """Whether to read the daily summary now (one call); never at night once a baseline exists.

        Without a lifetime baseline nothing can be published, so it is read at once. Otherwise:
        once after the solar window closes, and at start-up inside the window when none is
        known for today (month and year roll forward from the last summary in between).
        """
        day = self.local_day(now)
        if self.book.start_of_day_kwh is None:
            return True
        if window_closed_today:
            return self.closing_summary_day != day
        return starting and window_open and self.book.needs_summary(day)

    def refresh_summary(self, now: datetime, *, closing: bool = False) -> Outcome:
        """The daily summary: lifetime baseline, month and year (1 call)."""
        day = self.local_day(now)
        try:
            summary = self.client.system_summary(self.sid)
        except ApsystemsError as exc:
            return outcome_of(exc)
        summary = self.guard.summary(summary, now.astimezone(self.tz), self.book.total_kwh)
        self.book.apply_summary(day, summary)
        if closing:
            self.closing_summary_day = day
        self.save()
        return Outcome("ok")

    def readings(self, now: datetime, window_open: bool) -> Readings:
        """What to publish now; after the solar window closes the power reads 0."""
        day = self.local_day(now)
        rolled = self.book.roll_to(day)
        floor_before = self.book.total_kwh
        total = self.book.lifetime_kwh()
        if rolled or total != floor_before:
            self.save()
        power = self.power if window_open else PowerReading(0.0, now.astimezone(self.tz))
        return Readings(
            day=day,
            today_kwh=round(self.book.today_kwh, 3),
            hourly_kwh=tuple(self.book.hourly_kwh),
            total_kwh=total,
            month_kwh=self.book.month_kwh(),
            year_kwh=self.book.year_kwh(),
            power=power,
        )

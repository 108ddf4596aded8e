"""Lifetime energy counters of a meter or battery built from the cloud's daily totals.

A poll reads one minutely answer, which carries today's totals but no lifetime. The lifetime
is the sum of the closed days plus today's total so far: a day is closed with its final
totals (the minutely answer for that date, read once after midnight) or, if that read never
succeeds, with the last totals seen. The counter starts from the cloud's own lifetime (the
summary read at discovery) so it matches the EMA app from the first day.

Every published value is the largest so far: a cloud answer that dips (a late re-count, a
rounding change) never makes a ``total_increasing`` sensor go down.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass
class LifetimeCounter:
    """Closed days, the open day's totals and the published maxima, per energy key (kWh)."""

    keys: tuple[str, ...]
    day: date | None = None
    closed: dict[str, float] = field(default_factory=dict)
    today: dict[str, float] = field(default_factory=dict)
    published: dict[str, float] = field(default_factory=dict)

    def seed(self, day: date, lifetime: Mapping[str, float | None], today: Mapping[str, float | None]) -> None:
        """Start from the cloud's lifetime (which includes ``today``) on ``day``; once only."""
        if self.day is not None:
            return
        self.day = day
        for k in self.keys:
            now = max(0.0, float(today.get(k) or 0.0))
            self.today[k] = now
            self.closed[k] = max(0.0, float(lifetime.get(k) or 0.0) - now)
        self._publish()

    def open_day(self) -> date | None:
        return self.day

    def close_day(self, day: date, final: Mapping[str, float]) -> None:
        """The final totals of ``day`` (the open day), read after it ended."""
        if self.day is None or day != self.day:
            return
        for k in self.keys:
            self.today[k] = max(self.today.get(k, 0.0), float(final.get(k, 0.0)))
        self._publish()

    def observe(self, day: date, today: Mapping[str, float]) -> dict[str, float]:
        """Take today's totals read on ``day``; returns the lifetime to publish."""
        if self.day is None:
            self.day = day
        elif day < self.day:
            return dict(self.published)  # an answer for a day already closed changes nothing
        elif day > self.day:
            for k in self.keys:
                self.closed[k] = self.closed.get(k, 0.0) + self.today.get(k, 0.0)
            self.today = {}
            self.day = day
        for k in self.keys:
            self.today[k] = max(self.today.get(k, 0.0), float(today.get(k, 0.0)))
        self._publish()
        return dict(self.published)

    def _publish(self) -> None:
        for k in self.keys:
            value = self.closed.get(k, 0.0) + self.today.get(k, 0.0)
            self.published[k] = max(self.published.get(k, 0.0), value)

    # ---- persistence (plain JSON) ------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "day": None if self.day is None else self.day.isoformat(),
            "closed": dict(self.closed),
            "today": dict(self.today),
            "published": dict(self.published),
        }

    @classmethod
    def from_json(cls, keys: Iterable[str], data: Mapping[str, Any] | None) -> LifetimeCounter:
        """A counter from saved JSON; anything malformed starts that part afresh (logged by the caller)."""
        counter = cls(tuple(keys))
        if not isinstance(data, Mapping):
            return counter
        try:
            raw_day = data.get("day")
            counter.day = date.fromisoformat(raw_day) if isinstance(raw_day, str) else None
        except ValueError:
            counter.day = None
        for name in ("closed", "today", "published"):
            saved = data.get(name)
            if isinstance(saved, Mapping):
                getattr(counter, name).update(
                    {
                        k: float(v)
                        for k, v in saved.items()
                        if k in counter.keys and isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
                    }
                )
        return counter

"""One external statistic's rows: an energy change per hour and a running sum.

Generic on purpose (a statistic id and hour changes), so meters and batteries can reuse it.
Energies are kept in integer watt-hours, so a running sum over years never drifts.

Home Assistant replaces a row whose start it already has, so importing a row again is
harmless; what must never happen is a row whose ``sum`` is lower than the row before it
(the dashboard would draw a negative hour). A changed hour changes the sum of every later
row, so the book keeps one watermark: every row up to ``clean_through`` is in Home Assistant
with its current sum, and every later row is due. A change at hour X moves the watermark
back to just before X.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

HOUR = timedelta(hours=1)
WH_PER_KWH = 1000


def to_wh(kwh: float) -> int:
    """kWh (the cloud's two-decimal strings, parsed) to whole watt-hours."""
    return round(kwh * WH_PER_KWH)


def hour_start(at: datetime) -> datetime:
    """The UTC top of the hour ``at`` falls in; a naive time is refused (it is ambiguous)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"hour {at!r} has no time zone")
    utc = at.astimezone(timezone.utc)
    return utc.replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class StatisticRow:
    """One row for ``recorder/import_statistics``: the hour's start and the running sum."""

    start: datetime
    sum_wh: int

    def as_ha(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "sum": self.sum_wh / WH_PER_KWH}


class StatisticBook:
    """Hour changes of one statistic and how far Home Assistant holds them with current sums."""

    def __init__(
        self,
        statistic_id: str,
        changes: Mapping[datetime, int] | None = None,
        clean_through: datetime | None = None,
    ) -> None:
        self.statistic_id = statistic_id
        self._changes: dict[datetime, int] = {}
        self.clean_through = clean_through
        for start, wh in (changes or {}).items():
            self._changes[hour_start(start)] = _checked(start, wh)

    # ---- changes -------------------------------------------------------------------------------

    def set_hours(self, changes: Mapping[datetime, int]) -> list[datetime]:
        """Set the change of these hours (Wh, ≥ 0); returns the hours whose value really changed.

        A zero is stored like any value: it becomes a row, so a later value for that hour
        replaces it and an hour once imported is never left behind with a stale sum.
        """
        moved: list[datetime] = []
        for raw_start, wh in changes.items():
            start = hour_start(raw_start)
            value = _checked(start, wh)
            if self._changes.get(start) != value:
                self._changes[start] = value
                moved.append(start)
        if self._changes and self._changes[min(self._changes)] != 0:
            # An anchor row of sum 0 just before the first hour: whatever Home Assistant
            # does for the first row of a statistic, the first real hour's change is its value.
            # Older anchors stay as zero rows, so none is left in HA with a stale sum of 0.
            anchor = min(self._changes) - HOUR
            self._changes[anchor] = 0
            moved.append(anchor)
        if moved:
            self._dirty_from(min(moved))
        return sorted(moved)

    def change_of(self, start: datetime) -> int | None:
        return self._changes.get(hour_start(start))

    def total_between(self, first: datetime, end: datetime) -> int:
        """Wh of the hours in ``[first, end)``."""
        return sum(wh for start, wh in self._changes.items() if first <= start < end)

    @property
    def hours(self) -> int:
        return len(self._changes)

    @property
    def first_hour(self) -> datetime | None:
        return min(self._changes) if self._changes else None

    @property
    def last_hour(self) -> datetime | None:
        return max(self._changes) if self._changes else None

    def total_wh(self) -> int:
        return sum(self._changes.values())

    # ---- rows for Home Assistant -----------------------------------------------------------------

    def rows(self) -> list[StatisticRow]:
        """Every row with its running sum, oldest first."""
        out: list[StatisticRow] = []
        running = 0
        for start in sorted(self._changes):
            running += self._changes[start]
            out.append(StatisticRow(start, running))
        return out

    def due_rows(self) -> list[StatisticRow]:
        """The rows Home Assistant does not hold with their current sum (all after the watermark)."""
        if self.clean_through is None:
            return self.rows()
        mark = self.clean_through
        return [row for row in self.rows() if row.start > mark]

    def mark_imported(self, rows: Iterable[StatisticRow]) -> None:
        """Home Assistant accepted these rows: move the watermark to the newest one still current.

        Only rows that still carry the book's current sums count (a change that arrived while
        the import was on its way keeps the hours after it due).
        """
        accepted = {row.start: row.sum_wh for row in rows}
        for row in self.due_rows():
            if accepted.get(row.start) != row.sum_wh:
                break
            self.clean_through = row.start

    # ---- persistence --------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "statistic_id": self.statistic_id,
            "changes": {str(int(start.timestamp())): wh for start, wh in sorted(self._changes.items())},
            "clean_through": self.clean_through.isoformat() if self.clean_through else None,
        }

    @classmethod
    def from_json(cls, statistic_id: str, data: Mapping[str, Any]) -> StatisticBook:
        """The saved book; ValueError naming the problem when it is not one of ours."""
        if data.get("statistic_id") != statistic_id:
            raise ValueError(f"the file holds {data.get('statistic_id')!r}, not {statistic_id!r}")
        raw = data.get("changes")
        if not isinstance(raw, dict):
            raise ValueError("changes is not an object")
        changes: dict[datetime, int] = {}
        for key, wh in raw.items():
            if not isinstance(wh, int) or isinstance(wh, bool):
                raise ValueError(f"change {key} is {wh!r}, not whole Wh")
            changes[datetime.fromtimestamp(int(key), timezone.utc)] = wh
        mark = data.get("clean_through")
        clean = datetime.fromisoformat(mark) if isinstance(mark, str) else None
        if clean is not None and clean.tzinfo is None:
            raise ValueError("clean_through has no time zone")
        return cls(statistic_id, changes, clean)

    # ---- internals -------------------------------------------------------------------------------------

    def _dirty_from(self, start: datetime) -> None:
        if self.clean_through is not None and self.clean_through >= start:
            earlier = [hour for hour in self._changes if hour < start]
            self.clean_through = max(earlier) if earlier else None


def _checked(start: datetime, wh: int) -> int:
    if isinstance(wh, bool) or not isinstance(wh, int) or wh < 0:
        raise ValueError(f"energy of the hour {start.isoformat()} must be whole Wh ≥ 0, got {wh!r}")
    return wh

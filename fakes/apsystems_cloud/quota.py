"""The monthly call quota, per App ID, with the month boundary in a chosen time zone.

The reference leaves the reset time zone undocumented, so it is configurable (default: the
site's zone); every request that gets past authentication counts, including the ones that
then fail, because the client's ledger must assume the same.
"""

from __future__ import annotations

import threading
from datetime import datetime, tzinfo

DEFAULT_MONTHLY_QUOTA = 1000


class QuotaLedger:
    """used[(app_id, 'YYYY-MM')] with a default limit and optional per-App-ID limits."""

    def __init__(self, limit: int = DEFAULT_MONTHLY_QUOTA, tz: tzinfo | None = None) -> None:
        self._lock = threading.Lock()
        self.limit = limit
        self.tz = tz
        self.limits: dict[str, int] = {}
        self._used: dict[tuple[str, str], int] = {}

    def month_key(self, now: datetime) -> str:
        local = now.astimezone(self.tz) if self.tz is not None else now
        return f"{local.year:04d}-{local.month:02d}"

    def limit_for(self, app_id: str) -> int:
        return self.limits.get(app_id, self.limit)

    def consume(self, app_id: str, now: datetime) -> tuple[bool, int]:
        """Count one request; (allowed, used after counting). Beyond the limit → not allowed."""
        key = (app_id, self.month_key(now))
        with self._lock:
            used = self._used.get(key, 0) + 1
            self._used[key] = used
        return used <= self.limit_for(app_id), used

    def used(self, app_id: str, now: datetime) -> int:
        with self._lock:
            return self._used.get((app_id, self.month_key(now)), 0)

    def set_used(self, app_id: str, used: int, now: datetime | None = None, month: str | None = None) -> None:
        """Pretend ``used`` calls were already made in ``month`` (default: the month of ``now``)."""
        if month is None:
            if now is None:
                raise ValueError("give now or month")
            month = self.month_key(now)
        with self._lock:
            self._used[(app_id, month)] = used

    def set_limit(self, limit: int, app_id: str | None = None) -> None:
        with self._lock:
            if app_id is None:
                self.limit = limit
            else:
                self.limits[app_id] = limit

    def reset(self) -> None:
        with self._lock:
            self._used.clear()

    def snapshot(self, now: datetime) -> dict[str, object]:
        month = self.month_key(now)
        with self._lock:
            used = {app: n for (app, m), n in self._used.items() if m == month}
            history = {f"{app}/{m}": n for (app, m), n in sorted(self._used.items())}
        return {
            "month": month,
            "limit": self.limit,
            "limits": dict(self.limits),
            "used": used,
            "history": history,
            "timezone": str(self.tz) if self.tz is not None else "UTC",
        }

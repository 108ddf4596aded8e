"""Call counting and the request log, so tests can assert exactly what a client spent."""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class LoggedRequest:
    """One API request as the fake saw it."""

    time: str
    app_id: str | None
    method: str
    path: str
    query: str
    route: str
    http_status: int
    code: int | None
    fault: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class CallStats:
    """Totals per App ID and per route kind, plus a bounded log. Control calls are not counted."""

    def __init__(self, log_size: int = 10_000) -> None:
        self._lock = threading.Lock()
        self.total = 0
        self.by_app: Counter[str] = Counter()
        self.by_route: Counter[str] = Counter()
        self.by_code: Counter[str] = Counter()
        self._by_app_route: Counter[tuple[str, str]] = Counter()
        self.log: deque[LoggedRequest] = deque(maxlen=log_size)

    def record(self, entry: LoggedRequest) -> None:
        with self._lock:
            self.total += 1
            self.by_app[entry.app_id or "-"] += 1
            self.by_route[entry.route] += 1
            self._by_app_route[(entry.app_id or "-", entry.route)] += 1
            self.by_code[str(entry.code) if entry.code is not None else f"http{entry.http_status}"] += 1
            self.log.append(entry)

    def count(self, route: str | None = None, app_id: str | None = None) -> int:
        """Requests of a route kind (exact, or a prefix like ``system_energy``) and/or App ID."""
        with self._lock:
            pairs = list(self._by_app_route.items())
        return sum(
            n
            for (app, kind), n in pairs
            if (route is None or kind == route or kind.startswith(route + ":")) and (app_id is None or app == app_id)
        )

    def entries(self, limit: int | None = None) -> list[LoggedRequest]:
        with self._lock:
            items = list(self.log)
        return items[-limit:] if limit else items

    def reset(self) -> None:
        with self._lock:
            self.total = 0
            self.by_app.clear()
            self.by_route.clear()
            self.by_code.clear()
            self._by_app_route.clear()
            self.log.clear()

    def snapshot(self, log_limit: int | None = 100) -> dict[str, Any]:
        with self._lock:
            items = list(self.log)
            return {
                "total": self.total,
                "by_app": dict(self.by_app),
                "by_route": dict(self.by_route),
                "by_code": dict(self.by_code),
                "log": [e.to_dict() for e in (items[-log_limit:] if log_limit else items)],
            }

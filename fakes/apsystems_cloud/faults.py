"""Fault injection: wrong Content-Type, broken JSON, HTTP errors, delays, dropped
connections and any API code, either at a seeded rate or on the next N matching calls.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

# What each kind does to the response:
#   code           HTTP 200 {"data": null, "code": <code>}
#   http_status    HTTP <status> with a small HTML body
#   octet_stream   the normal body, served as application/octet-stream
#   malformed_json the normal body cut short (invalid JSON), as application/json
#   delay          sleep <delay_s> real seconds, then answer normally (combines with others)
#   drop           close the connection without any response
#   absurd_huge    the normal answer with every number in its data replaced by "1e308"
#   absurd_negative the normal answer with every number in its data replaced by -1000000
# Hostile answers (for the client's bounds; the call is counted by the quota like any other):
#   trickle        the normal body, one byte every <delay_s> seconds (default 3)
#   redirect       HTTP <status> (default 302) to <location> (default another host)
#   nest           a body nested <size> levels deep (default 100,000): {"code":0,"data":[[[…]]]}
#   inflate        a gzip body that inflates to <size> bytes (default 50 MB) of valid JSON
#   corrupt        <size> bytes (default 64) of binary garbage as application/json
KINDS = ("code", "http_status", "octet_stream", "malformed_json", "delay", "drop", "absurd_huge", "absurd_negative")
ABSURD_VALUES: dict[str, object] = {"absurd_huge": "1e308", "absurd_negative": -1_000_000}
HOSTILE_KINDS = ("trickle", "redirect", "nest", "inflate", "corrupt")
HOSTILE_DEFAULT_SIZE = {"nest": 100_000, "inflate": 50 * 1024 * 1024, "corrupt": 64}
DEFAULT_REDIRECT = "http://collector.invalid/steal"


@dataclass
class Fault:
    """One rule. No ``rate`` and no ``times`` means: every matching call until cleared."""

    id: int
    kind: str
    code: int = 5000
    status: int = 500
    delay_s: float = 0.0
    rate: float | None = None
    times: int | None = None
    path_contains: str | None = None
    route: str | None = None
    fired: int = 0
    size: int = 0
    location: str = DEFAULT_REDIRECT

    def matches(self, path: str, route: str) -> bool:
        if self.path_contains is not None and self.path_contains not in path:
            return False
        return self.route is None or self.route == route or route.startswith(self.route + ":")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Applied:
    """Faults chosen for one request: at most one outcome, plus an optional delay."""

    outcome: Fault | None
    delay_s: float

    @property
    def label(self) -> str | None:
        parts: list[str] = []
        if self.delay_s:
            parts.append(f"delay:{self.delay_s:g}")
        if self.outcome is not None:
            o = self.outcome
            detail = {"code": f":{o.code}", "http_status": f":{o.status}"}.get(o.kind, "")
            parts.append(o.kind + detail)
        return "+".join(parts) or None


class FaultInjector:
    """Thread-safe list of fault rules; the RNG is seeded so rates are reproducible."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rules: list[Fault] = []
        self._next_id = 1
        self._seed = seed
        self._rng = random.Random(seed)

    def inject(
        self,
        kind: str,
        *,
        code: int = 5000,
        status: int = 500,
        delay_s: float = 0.0,
        rate: float | None = None,
        times: int | None = None,
        path_contains: str | None = None,
        route: str | None = None,
        size: int | None = None,
        location: str = DEFAULT_REDIRECT,
    ) -> Fault:
        """Add a rule. ``route`` matches a route kind exactly or as a prefix (``system_energy``)."""
        if kind not in KINDS + HOSTILE_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {', '.join(KINDS + HOSTILE_KINDS)}")
        if rate is not None and not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be in [0, 1]")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            if kind == "redirect" and status == 500:
                status = 302
            if kind == "trickle" and not delay_s:
                delay_s = 3.0
            chosen_size = HOSTILE_DEFAULT_SIZE.get(kind, 0) if size is None else size
            fault = Fault(
                self._next_id, kind, code, status, delay_s, rate, times, path_contains, route, 0, chosen_size, location
            )
            self._next_id += 1
            self._rules.append(fault)
            return fault

    def inject_code(self, code: int, **kwargs: Any) -> Fault:
        """Shortcut: answer ``{"data": null, "code": code}``."""
        return self.inject("code", code=code, **kwargs)

    def from_dict(self, raw: Mapping[str, Any]) -> Fault:
        """Build a rule from control-endpoint JSON."""
        allowed = {"kind", "code", "status", "delay_s", "rate", "times", "path_contains", "route", "size", "location"}
        unknown = set(raw) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        kind = str(raw.get("kind", "code"))
        return self.inject(
            kind,
            code=int(raw.get("code", 5000)),
            status=int(raw.get("status", 500)),
            delay_s=float(raw.get("delay_s", 0.0)),
            rate=None if raw.get("rate") is None else float(raw["rate"]),
            times=None if raw.get("times") is None else int(raw["times"]),
            path_contains=raw.get("path_contains"),
            route=raw.get("route"),
            size=None if raw.get("size") is None else int(raw["size"]),
            location=str(raw.get("location", DEFAULT_REDIRECT)),
        )

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [f for f in self._rules if f.id != fault_id]
            return len(self._rules) != before

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def reseed(self, seed: int) -> None:
        with self._lock:
            self._seed = seed
            self._rng = random.Random(seed)

    @property
    def rules(self) -> list[Fault]:
        with self._lock:
            return list(self._rules)

    def pick(self, path: str, route: str) -> Applied:
        """Decide the faults for one request, consuming 'next N' budgets and RNG draws."""
        outcome: Fault | None = None
        delay = 0.0
        with self._lock:
            for rule in list(self._rules):
                if not rule.matches(path, route):
                    continue
                if rule.kind != "delay" and outcome is not None:
                    continue
                if rule.rate is not None and self._rng.random() >= rule.rate:
                    continue
                rule.fired += 1
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self._rules.remove(rule)
                if rule.kind == "delay":
                    delay += rule.delay_s
                elif rule.kind == "trickle":
                    outcome = rule
                else:
                    outcome = rule
        return Applied(outcome, delay)

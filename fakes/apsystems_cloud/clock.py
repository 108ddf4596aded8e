"""The fake cloud's clock: fixed, offset from real time, or running at a speed factor.

Everything time-dependent in the fake (data availability, the quota month, the signature
skew check, token expiry) reads this one clock, so a test can pin it and a demo can
compress a day into minutes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone


def _aware(when: datetime) -> datetime:
    """Reject naive datetimes: a naive 'now' silently means the host's zone, never wanted here."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"datetime must be timezone-aware: {when!r}")
    return when


def parse_datetime(text: str) -> datetime:
    """ISO 8601 with an offset (a trailing Z is accepted); used by the control endpoints and CLI."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    return _aware(datetime.fromisoformat(value))


class FakeClock:
    """fake_now = base_fake + (real_now - base_real) * speed; fixed mode is speed 0.

    One formula for every mode keeps switching between modes at run time continuous.
    """

    def __init__(self, real_time: Callable[[], float] = time.time) -> None:
        self._real_time = real_time
        self._lock = threading.Lock()
        self._mode = "real"
        self._base_real = real_time()
        self._base_fake = self._base_real
        self._speed = 1.0

    # --- reading -------------------------------------------------------------------------
    def timestamp(self) -> float:
        """Fake 'now' as Unix epoch seconds."""
        with self._lock:
            return self._base_fake + (self._real_time() - self._base_real) * self._speed

    def now(self) -> datetime:
        """Fake 'now' as an aware UTC datetime."""
        return datetime.fromtimestamp(self.timestamp(), tz=timezone.utc)

    @property
    def mode(self) -> str:
        return self._mode

    def describe(self) -> dict[str, object]:
        """What the control endpoint reports."""
        now = self.now()
        with self._lock:
            return {
                "mode": self._mode,
                "now": now.isoformat(),
                "epoch_ms": int(now.timestamp() * 1000),
                "speed": self._speed,
                "offset_s": self._base_fake - self._base_real if self._mode == "offset" else 0.0,
            }

    # --- setting -------------------------------------------------------------------------
    def _rebase(self, mode: str, fake_ts: float, speed: float) -> None:
        with self._lock:
            self._mode = mode
            self._base_real = self._real_time()
            self._base_fake = fake_ts
            self._speed = speed

    def set_fixed(self, when: datetime) -> None:
        """Freeze time at ``when`` (tests: deterministic data and quota months)."""
        self._rebase("fixed", _aware(when).timestamp(), 0.0)

    def set_offset(self, offset: timedelta | float) -> None:
        """Run at real speed, shifted by ``offset`` (seconds or timedelta)."""
        seconds = offset.total_seconds() if isinstance(offset, timedelta) else float(offset)
        self._rebase("offset", self._real_time() + seconds, 1.0)

    def set_speed(self, speed: float, start: datetime | None = None) -> None:
        """Run ``speed`` times faster than real time from ``start`` (default: the current fake now)."""
        if speed <= 0:
            raise ValueError("speed must be positive; use set_fixed to stop the clock")
        begin = _aware(start).timestamp() if start is not None else self.timestamp()
        self._rebase("speed", begin, float(speed))

    def set_real(self) -> None:
        """Back to the real wall clock."""
        self._rebase("real", self._real_time(), 1.0)

    def advance(self, delta: timedelta | float) -> None:
        """Jump forward (or back, if negative) by ``delta``, keeping the current mode."""
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        with self._lock:
            self._base_fake += seconds

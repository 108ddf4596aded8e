"""The one time-zone helper, and calendar-month arithmetic in a chosen zone.

The API quota resets per calendar month, but in a time zone APsystems does not document, so
the ledger and the planner both take the zone as an input and share these helpers. The API
reports a system's zone as an IANA name or, for some systems, as an offset like ``GMT+8``;
``zone`` understands both, and ``zone_or`` falls back instead of failing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_LOGGER = logging.getLogger(__name__)
# "GMT+8", "UTC+05:30", "UTC-3", "GMT +0800": an offset east of Greenwich, as people write it
# (not the POSIX "Etc/GMT+8", which IANA names the other way round and ZoneInfo handles).
_OFFSET = re.compile(r"^(?:GMT|UTC)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)
_warned: set[tuple[str, str]] = set()


def zone(tz: str | tzinfo) -> tzinfo:
    """A tzinfo from an IANA name (or a tzinfo as is); ValueError naming a bad name."""
    if isinstance(tz, tzinfo):
        return tz
    text = tz.strip() if isinstance(tz, str) else tz
    offset = _OFFSET.match(text) if isinstance(text, str) else None
    if offset is not None:
        sign, hours, minutes = offset.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
        if delta > timedelta(hours=14) or int(minutes or 0) >= 60:
            raise ValueError(f"time zone {tz!r} is an offset beyond UTC±14:00")
        return timezone(-delta if sign == "-" else delta, text)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(
            f"time zone {tz!r} is not a known IANA time zone (e.g. 'Europe/London') or offset (e.g. 'UTC+05:30')"
        ) from exc


def zone_or(tz: str | None, fallback: str | tzinfo, warn: Callable[[str], None] | None = None) -> tzinfo:
    """``zone(tz)``, or the fallback with one warning per bad value (a cached value never blocks start-up)."""
    if tz:
        try:
            return zone(tz)
        except ValueError as exc:
            key = (str(tz), str(fallback))
            if key not in _warned:
                _warned.add(key)
                (warn or _LOGGER.warning)(f"{exc}; using {fallback} instead")
    return zone(fallback)


def require_aware(now: datetime, name: str = "now") -> datetime:
    """``now`` unchanged if it carries a time zone; a naive time is ambiguous, so refuse it."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"{name} {now.isoformat()} must be timezone-aware")
    return now


def month_key(now: datetime, tz: tzinfo) -> str:
    """``YYYY-MM`` of the month ``now`` falls in, seen from ``tz``."""
    local = require_aware(now).astimezone(tz)
    return f"{local.year:04d}-{local.month:02d}"


def next_month_key(key: str) -> str:
    """The ``YYYY-MM`` after ``key``."""
    year, month = (int(part) for part in key.split("-"))
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


@lru_cache(maxsize=512)
def first_of_month(year: int, month: int, tz: tzinfo) -> datetime:
    """Local midnight starting ``year-month`` in ``tz``, as a UTC instant (cached: asked after every poll)."""
    return datetime(year, month, 1, tzinfo=tz).astimezone(timezone.utc)


def month_bounds(now: datetime, tz: tzinfo) -> tuple[datetime, datetime]:
    """UTC instants where the month containing ``now`` (seen from ``tz``) starts and ends."""
    local = require_aware(now).astimezone(tz)
    start = first_of_month(local.year, local.month, tz)
    end = first_of_month(local.year + local.month // 12, local.month % 12 + 1, tz)
    return start, end


def days_in_month(year: int, month: int) -> int:
    """Number of days of ``year-month``."""
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - date(year, month, 1)).days


def localize(naive: datetime, tz: tzinfo) -> datetime:
    """Attach ``tz`` to a local wall-clock time; pytz zones need ``localize()`` for the right offset."""
    attach = getattr(tz, "localize", None)
    return attach(naive) if callable(attach) else naive.replace(tzinfo=tz)

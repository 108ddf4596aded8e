"""Calendar-month arithmetic in a chosen time zone.

The API quota resets per calendar month, but in a time zone APsystems does not document, so
the ledger and the planner both take the zone as an input and share these helpers.
"""

from __future__ import annotations

from datetime import date, datetime, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(tz: str | tzinfo) -> tzinfo:
    """A tzinfo from an IANA name (or a tzinfo as is); ValueError naming a bad name."""
    if isinstance(tz, tzinfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"time zone {tz!r} is not a known IANA time zone (e.g. 'Europe/London')") from exc


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

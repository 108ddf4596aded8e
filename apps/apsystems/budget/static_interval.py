"""The reference integration's static scan interval (apsystems-openapi.md §12.4).

Kept for two reasons: the start-up log line states what the reference would have chosen,
and the planner shows it beside our adaptive plan. It sizes one interval for the longest
day of the year; the reference forgot to mirror the declination for southern latitudes
(it sized for the *shortest* day there and overran the quota in the southern summer), so
the absolute latitude is used unless the bug is asked for explicitly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_INTERVAL_S = 1800
MAX_INTERVAL_S = 7200
STEP_S = 300
REFERENCE_QUOTA = 1000
SAFETY_FACTOR = 0.85
DAYS_PER_MONTH = 31
OBLIQUITY_DEG = 23.44
SUNRISE_OFFSET_H = 0.5
STORAGE_DAILY_CALLS = 2


@dataclass(frozen=True)
class StaticEstimate:
    """The reference's interval and monthly estimate for one installation."""

    latitude: float
    inverters: int
    ecus: int
    storage: bool
    quota: int
    latitude_sign_fixed: bool
    longest_day_h: float
    window_h: float
    fixed_daily_calls: int
    interval_s: int
    monthly_calls: float

    @property
    def monthly_calls_rounded(self) -> int:
        return round(self.monthly_calls)

    @property
    def over_quota(self) -> bool:
        return self.monthly_calls > self.quota

    def log_line(self) -> str:
        """The reference's INFO line, for comparison with ours."""
        return (
            f"Auto scan-interval: {self.interval_s}s ({self.interval_s / 60:g} min) for {self.inverters} inverter(s)/"
            f"{self.ecus} ECU(s) at lat {self.latitude:g} — est. {self.monthly_calls_rounded} calls/month"
            f" (quota {self.quota})"
        )


def longest_day_hours(latitude: float, *, fix_latitude_sign: bool = True) -> float:
    """Day length at the summer solstice (no refraction); the reference's L(lat)."""
    lat = abs(latitude) if fix_latitude_sign else latitude
    x = -math.tan(math.radians(lat)) * math.tan(math.radians(OBLIQUITY_DEG))
    return 2.0 * math.degrees(math.acos(max(-1.0, min(1.0, x)))) / 15.0


def static_interval(
    latitude: float,
    inverters: int,
    ecus: int = 1,
    *,
    storage: bool = False,
    quota: int = REFERENCE_QUOTA,
    fix_latitude_sign: bool = True,
) -> StaticEstimate:
    """The reference formula: I = W·3600 / (quota·0.85/31 − F), rounded up to 300 s, in [1800, 7200]."""
    if not -90.0 <= latitude <= 90.0:
        raise ValueError(f"latitude {latitude!r} must be from -90 to 90")
    if inverters < 0:
        raise ValueError(f"inverters {inverters!r} must not be negative")
    if ecus < 0:
        raise ValueError(f"ecus {ecus!r} must not be negative")
    if quota < 1:
        raise ValueError(f"quota {quota!r} must be at least 1")
    longest = longest_day_hours(latitude, fix_latitude_sign=fix_latitude_sign)
    window = max(0.0, longest - SUNRISE_OFFSET_H)
    fixed = 2 + inverters + ecus + (STORAGE_DAILY_CALLS if storage else 0)
    per_day = quota * SAFETY_FACTOR / DAYS_PER_MONTH - fixed
    if per_day <= 0 or window <= 0:
        interval = MAX_INTERVAL_S
    else:
        raw = window * 3600.0 / per_day
        interval = math.ceil(raw / STEP_S) * STEP_S
        interval = max(MIN_INTERVAL_S, min(MAX_INTERVAL_S, interval))
    monthly = DAYS_PER_MONTH * ((3600.0 / interval) * window + fixed)
    return StaticEstimate(
        latitude=latitude,
        inverters=inverters,
        ecus=ecus,
        storage=storage,
        quota=quota,
        latitude_sign_fixed=fix_latitude_sign,
        longest_day_h=longest,
        window_h=window,
        fixed_daily_calls=fixed,
        interval_s=interval,
        monthly_calls=monthly,
    )


def calls_for_window(window_h: float, interval_s: int, fixed_daily_calls: int, days: int = DAYS_PER_MONTH) -> float:
    """The formula's monthly count for another day length, e.g. the real southern summer day."""
    return days * ((3600.0 / interval_s) * max(0.0, window_h) + fixed_daily_calls)

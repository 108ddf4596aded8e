"""Sun position (NOAA general solar position formulas) and a clear-sky plane-of-array model.

Written for speed: the declination and equation of time are computed once per day, so a
5-minute point costs a handful of trig calls; three years of history then take well under
a second. Accuracy (a few tenths of a degree) is far beyond what a plausible fake needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timezone

DEG = math.pi / 180.0
SOLAR_CONSTANT_W_M2 = 1353.0
GROUND_ALBEDO = 0.2


@dataclass(frozen=True)
class SunDay:
    """Per-day solar quantities: declination (radians) and equation of time (minutes)."""

    declination: float
    eot_minutes: float


def sun_day(day: date, hour_utc: float = 12.0) -> SunDay:
    """NOAA's Fourier fits for declination and equation of time at ``hour_utc`` on ``day``."""
    days_in_year = 366 if (day.year % 4 == 0 and (day.year % 100 != 0 or day.year % 400 == 0)) else 365
    gamma = 2.0 * math.pi / days_in_year * (day.timetuple().tm_yday - 1 + (hour_utc - 12.0) / 24.0)
    eot = 229.18 * (
        0.000075
        + 0.001868 * math.cos(gamma)
        - 0.032077 * math.sin(gamma)
        - 0.014615 * math.cos(2 * gamma)
        - 0.040849 * math.sin(2 * gamma)
    )
    decl = (
        0.006918
        - 0.399912 * math.cos(gamma)
        + 0.070257 * math.sin(gamma)
        - 0.006758 * math.cos(2 * gamma)
        + 0.000907 * math.sin(2 * gamma)
        - 0.002697 * math.cos(3 * gamma)
        + 0.00148 * math.sin(3 * gamma)
    )
    return SunDay(decl, eot)


def hour_angle(epoch_s: float, longitude: float, eot_minutes: float) -> float:
    """Hour angle in radians (0 at solar noon, negative in the morning)."""
    utc_minutes = (epoch_s % 86400.0) / 60.0
    true_solar_minutes = utc_minutes + eot_minutes + 4.0 * longitude
    return (true_solar_minutes / 4.0 - 180.0) * DEG


def sun_vector(lat_rad: float, declination: float, ha: float) -> tuple[float, float, float]:
    """Unit vector to the sun in local (east, north, up) coordinates."""
    cos_d = math.cos(declination)
    sin_d = math.sin(declination)
    cos_h = math.cos(ha)
    east = -cos_d * math.sin(ha)
    north = math.cos(lat_rad) * sin_d - math.sin(lat_rad) * cos_d * cos_h
    up = math.sin(lat_rad) * sin_d + math.cos(lat_rad) * cos_d * cos_h
    return east, north, up


def sun_position(latitude: float, longitude: float, when: datetime) -> tuple[float, float]:
    """(elevation, azimuth) in degrees; azimuth clockwise from north. No refraction."""
    utc = when.astimezone(timezone.utc)
    hours = utc.hour + utc.minute / 60.0 + utc.second / 3600.0
    sd = sun_day(utc.date(), hours)
    east, north, up = sun_vector(latitude * DEG, sd.declination, hour_angle(utc.timestamp(), longitude, sd.eot_minutes))
    elevation = math.degrees(math.asin(max(-1.0, min(1.0, up))))
    azimuth = math.degrees(math.atan2(east, north)) % 360.0
    return elevation, azimuth


def panel_normal(tilt_deg: float, azimuth_deg: float) -> tuple[float, float, float]:
    """Unit normal of a panel (east, north, up); azimuth 180 faces south."""
    t = tilt_deg * DEG
    a = azimuth_deg * DEG
    return math.sin(t) * math.sin(a), math.sin(t) * math.cos(a), math.cos(t)


def air_mass(sin_elevation: float) -> float:
    """Kasten–Young relative air mass."""
    elev_deg = math.degrees(math.asin(sin_elevation))
    return 1.0 / (sin_elevation + 0.50572 * float((elev_deg + 6.07995) ** -1.6364))


def clear_sky_poa(sun: tuple[float, float, float], normal: tuple[float, float, float]) -> float:
    """Plane-of-array irradiance (W/m²) under a clear sky; 0 with the sun below the horizon.

    Meinel's beam model with a 10 % diffuse share, isotropic sky and ground reflection.
    """
    east, north, up = sun
    if up <= 0.0:
        return 0.0
    dni = SOLAR_CONSTANT_W_M2 * float(0.7 ** float(air_mass(up) ** 0.678))
    dhi = 0.1 * dni
    ghi = dni * up + dhi
    n_e, n_n, n_u = normal
    cos_aoi = east * n_e + north * n_n + up * n_u
    beam = dni * cos_aoi if cos_aoi > 0.0 else 0.0
    return beam + dhi * (1.0 + n_u) / 2.0 + GROUND_ALBEDO * ghi * (1.0 - n_u) / 2.0

"""Where the site is: Home Assistant's location and time zone, AppDaemon's as a fallback.

The AppDaemon add-on writes its own ``appdaemon.yaml`` with Amsterdam's coordinates and time
zone, and most users never edit it. The solar window, and with it every poll, must follow the
place Home Assistant knows (Settings > System > General), so that one comes first; explicit
``latitude``/``longitude``/``time_zone`` in apps.yaml still override both (the budget's
argument parser applies them). A mismatch between the two is worth one warning: AppDaemon's
own scheduler (sunrise/sunset callbacks, ``time_zone``) still uses its values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEGREES_APART = 0.5


@dataclass(frozen=True)
class Location:
    """A place on Earth and its time zone, with where the values came from (for the log)."""

    latitude: float
    longitude: float
    time_zone: str
    source: str


def _coordinate(value: Any, low: float, high: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and low <= number <= high else None


def from_home_assistant(config: Any) -> Location | None:
    """Home Assistant's ``/api/config`` answer (the HASS plugin's config) as a Location, if usable."""
    if not isinstance(config, Mapping):
        return None
    latitude = _coordinate(config.get("latitude"), -90.0, 90.0)
    longitude = _coordinate(config.get("longitude"), -180.0, 180.0)
    time_zone = config.get("time_zone")
    if latitude is None or longitude is None or not isinstance(time_zone, str) or not time_zone:
        return None
    return Location(latitude, longitude, time_zone, "Home Assistant")


def mismatch(home: Location, appdaemon: Location) -> str | None:
    """A one-line warning when AppDaemon's location or time zone is not Home Assistant's."""
    problems: list[str] = []
    if (
        abs(home.latitude - appdaemon.latitude) > DEGREES_APART
        or abs(home.longitude - appdaemon.longitude) > DEGREES_APART
    ):
        problems.append(
            f"location {appdaemon.latitude:g}, {appdaemon.longitude:g} "
            f"(Home Assistant: {home.latitude:g}, {home.longitude:g})"
        )
    if home.time_zone != appdaemon.time_zone:
        problems.append(f"time zone {appdaemon.time_zone} (Home Assistant: {home.time_zone})")
    if not problems:
        return None
    return (
        "AppDaemon's appdaemon.yaml has " + " and ".join(problems) + "; the APsystems apps use Home "
        "Assistant's values. Set latitude, longitude and time_zone in appdaemon.yaml to Home "
        "Assistant's to silence this (AppDaemon's own sun and time callbacks use them)."
    )


def site_location(ha_config: Any, appdaemon: Location) -> tuple[Location, str | None]:
    """The location the apps use by default, and the warning to log once (or None)."""
    home = from_home_assistant(ha_config)
    if home is None:
        return appdaemon, None
    return home, mismatch(home, appdaemon)

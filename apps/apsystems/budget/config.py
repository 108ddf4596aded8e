"""The budget app's apps.yaml arguments, validated with messages that name the bad value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apsystems.budget.pacing import BudgetSettings
from apsystems.budget.solar_window import DEFAULT_OFFSET_MIN
from apsystems.common.args import PUBLISH_KEYS, check_keys, required_text, system_id
from apsystems.common.months import zone

# apps.yaml name -> BudgetSettings field name
SETTING_NAMES = {
    "monthly_quota": "quota",
    "auto_interval": "auto_interval",
    "scan_interval": "scan_interval_s",
    "min_interval": "min_interval_s",
    "reserve_fraction": "reserve_fraction",
    "daily_summary": "daily_summary",
    "inverter_detail": "inverter_detail",
    "batch_power": "batch_power",
    "night_interval": "night_interval_s",  # meters and batteries after sunset
}
LABEL = "budget app"
OWN_KEYS = (
    frozenset(
        {
            "app_id",
            "sid",
            "latitude",
            "longitude",
            "time_zone",
            "month_time_zone",
            "state_dir",
            "sunrise_offset",
            "sunset_offset",
            "check_on_start",
        }
    )
    | PUBLISH_KEYS
)


@dataclass(frozen=True)
class BudgetConfig:
    app_id: str
    sid: str
    settings: BudgetSettings
    latitude: float
    longitude: float
    time_zone: str
    month_time_zone: str | None
    sunrise_offset_min: float
    sunset_offset_min: float
    check_on_start: bool = False


def _offset(args: Mapping[str, Any], key: str) -> float:
    value = args.get(key, DEFAULT_OFFSET_MIN)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 120:
        raise ValueError(f"{key} {value!r} must be a number of minutes from 0 to 120")
    return float(value)


def _degrees(args: Mapping[str, Any], key: str, default: float, limit: float) -> float:
    value = args.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not -limit <= value <= limit:
        raise ValueError(f"{key} {value!r} must be a number of degrees from {-limit:g} to {limit:g}")
    return float(value)


def _flag(args: Mapping[str, Any], key: str) -> bool:
    value = args.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"{key} {value!r} must be true or false")
    return value


def _zone_name(key: str, name: str) -> None:
    try:
        zone(name)
    except ValueError as exc:
        raise ValueError(f"{key}: {exc}") from None


def _settings(args: Mapping[str, Any]) -> BudgetSettings:
    """The settings, with the apps.yaml key (``monthly_quota``, not ``quota``) in every message."""
    try:
        return BudgetSettings(**{field: args[key] for key, field in SETTING_NAMES.items() if key in args})
    except ValueError as exc:
        text = str(exc)
        for key, field in SETTING_NAMES.items():
            if text.startswith(f"{field} ") and key != field:
                text = key + text[len(field) :]
                break
        raise ValueError(text) from None


def parse_budget_args(
    args: Mapping[str, Any], *, default_latitude: float, default_longitude: float, default_time_zone: str
) -> BudgetConfig:
    """Validate the arguments; raises ValueError naming the first bad key and what is allowed."""
    check_keys(args, set(SETTING_NAMES) | OWN_KEYS, LABEL)
    app_id = required_text(args, "app_id", "aps_app_id", LABEL)
    sid = system_id(args, LABEL)
    settings = _settings(args)
    time_zone = str(args.get("time_zone") or default_time_zone)
    _zone_name("time_zone", time_zone)
    month_tz = args.get("month_time_zone")
    if month_tz is not None:
        _zone_name("month_time_zone", str(month_tz))
    return BudgetConfig(
        app_id=app_id,
        sid=sid,
        settings=settings,
        latitude=_degrees(args, "latitude", default_latitude, 90),
        longitude=_degrees(args, "longitude", default_longitude, 180),
        time_zone=time_zone,
        month_time_zone=None if month_tz is None else str(month_tz),
        sunrise_offset_min=_offset(args, "sunrise_offset"),
        sunset_offset_min=_offset(args, "sunset_offset"),
        check_on_start=_flag(args, "check_on_start"),
    )

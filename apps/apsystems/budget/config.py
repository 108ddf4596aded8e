"""The budget app's apps.yaml arguments, validated with messages that name the bad value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apsystems.budget.pacing import BudgetSettings
from apsystems.budget.solar_window import DEFAULT_OFFSET_MIN
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
}
OWN_KEYS = frozenset(
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
    }
)
APPDAEMON_KEYS = frozenset(
    {
        "name",
        "module",
        "class",
        "config_path",
        "priority",
        "dependencies",
        "log",
        "log_level",
        "disable",
        "plugin",
        "pin_app",
        "pin_thread",
        "global_dependencies",
    }
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


def _offset(args: Mapping[str, Any], key: str) -> float:
    value = args.get(key, DEFAULT_OFFSET_MIN)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 120:
        raise ValueError(f"{key} {value!r} must be a number of minutes from 0 to 120")
    return float(value)


def parse_budget_args(
    args: Mapping[str, Any], *, default_latitude: float, default_longitude: float, default_time_zone: str
) -> BudgetConfig:
    """Validate the arguments; raises ValueError naming the first bad key and what is allowed."""
    unknown = sorted(set(args) - set(SETTING_NAMES) - OWN_KEYS - APPDAEMON_KEYS)
    if unknown:
        allowed = ", ".join(sorted(set(SETTING_NAMES) | OWN_KEYS))
        raise ValueError(f"unknown argument(s) {', '.join(unknown)}; the budget app accepts {allowed}")
    for key in ("app_id", "sid"):
        if not isinstance(args.get(key), str) or not str(args[key]).strip():
            raise ValueError(f"{key} is missing: add `{key}: !secret aps_{key}` to the budget app in apps.yaml")
    settings = BudgetSettings(**{field: args[key] for key, field in SETTING_NAMES.items() if key in args})
    time_zone = str(args.get("time_zone") or default_time_zone)
    zone(time_zone)
    month_tz = args.get("month_time_zone")
    if month_tz is not None:
        zone(str(month_tz))
    return BudgetConfig(
        app_id=str(args["app_id"]).strip(),
        sid=str(args["sid"]).strip(),
        settings=settings,
        latitude=float(args.get("latitude", default_latitude)),
        longitude=float(args.get("longitude", default_longitude)),
        time_zone=time_zone,
        month_time_zone=None if month_tz is None else str(month_tz),
        sunrise_offset_min=_offset(args, "sunrise_offset"),
        sunset_offset_min=_offset(args, "sunset_offset"),
    )

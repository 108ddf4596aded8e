"""The inverter app's apps.yaml arguments, validated with messages that name the bad value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import time
from typing import Any

from apsystems.common.args import CREDENTIAL_KEYS, PUBLISH_KEYS, Credentials, check_keys, parse_credentials

KEYS = CREDENTIAL_KEYS | PUBLISH_KEYS | {"detail_time", "batch_time", "batch_every", "scan_button", "refresh_button"}
LABEL = "inverter app"
SCAN_EVENT = "apsystems_scan_inverters"  # the meters app scans too, a little later
REFRESH_EVENT = "apsystems_refresh_inverters"
DEFAULT_DETAIL_TIME = time(12, 30)
DEFAULT_BATCH_TIME = time(23, 0)
DEFAULT_BATCH_EVERY_S = 3600
BATCH_EVERY_LIMITS = (900, 86_400)  # the ECU uploads every 15 minutes: faster repeats the same data
BUTTON_DOMAINS = ("input_button", "button")


@dataclass(frozen=True)
class InvertersConfig(Credentials):
    detail_time: time  # in the system's local time
    batch_time: time  # in the system's local time
    batch_every_s: int  # 0: no batch polls besides the daily one
    scan_button: str | None
    refresh_button: str | None

    def __repr__(self) -> str:  # the App Secret must never reach a log line
        return (
            f"InvertersConfig(sid={self.sid!r}, base_url={self.base_url!r}, detail_time={self.detail_time},"
            f" batch_time={self.batch_time}, batch_every_s={self.batch_every_s})"
        )


def parse_time_of_day(key: str, value: Any, default: time) -> time:
    """``"HH:MM"`` or ``"HH:MM:SS"``. An unquoted ``12:30:00`` reaches us as the int 45000
    (YAML 1.1 reads it as base 60), so seconds since midnight are accepted too."""
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 86_400:
        return time(value // 3600, value // 60 % 60, value % 60)
    if isinstance(value, time):
        return value
    text = str(value).strip()
    parts = text.split(":")
    try:
        if len(parts) not in (2, 3):
            raise ValueError(text)
        numbers = [int(p) for p in parts]
        return time(numbers[0], numbers[1], numbers[2] if len(numbers) == 3 else 0)
    except ValueError:
        raise ValueError(f'{key} {value!r} must be a time of day like "12:30:00" (quoted)') from None


def _button(args: Mapping[str, Any], key: str) -> str | None:
    value = args.get(key)
    if value is None or value == "":
        return None
    text = str(value).strip()
    domain, _, name = text.partition(".")
    if domain not in BUTTON_DOMAINS or not name:
        raise ValueError(f"{key} {value!r} must be an entity id like input_button.apsystems_{key.partition('_')[0]}")
    return text


def parse_inverters_args(args: Mapping[str, Any]) -> InvertersConfig:
    """Validate the arguments; raises ValueError naming the first bad key and what is allowed."""
    check_keys(args, KEYS, LABEL)
    credentials = parse_credentials(args, LABEL)
    every = args.get("batch_every", DEFAULT_BATCH_EVERY_S)
    low, high = BATCH_EVERY_LIMITS
    if isinstance(every, bool) or not isinstance(every, int) or not (every == 0 or low <= every <= high):
        raise ValueError(f"batch_every {every!r} must be 0 (off) or a number of seconds from {low} to {high}")
    return InvertersConfig(
        **asdict(credentials),
        detail_time=parse_time_of_day("detail_time", args.get("detail_time"), DEFAULT_DETAIL_TIME),
        batch_time=parse_time_of_day("batch_time", args.get("batch_time"), DEFAULT_BATCH_TIME),
        batch_every_s=every,
        scan_button=_button(args, "scan_button"),
        refresh_button=_button(args, "refresh_button"),
    )

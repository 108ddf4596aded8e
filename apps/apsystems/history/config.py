"""The history app's apps.yaml arguments, validated with messages that name the bad value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from apsystems.common.args import CREDENTIAL_KEYS, PUBLISH_KEYS, Credentials, check_keys, parse_credentials

LABEL = "history app"
DEFAULT_HISTORY_DAYS = 30
HISTORY_DAYS_LIMITS = (1, 90)  # older hourly data may no longer be kept by the cloud (1001)
KEYS = CREDENTIAL_KEYS | PUBLISH_KEYS | {"history_days", "history_since", "ha_url", "ha_token"}


@dataclass(frozen=True)
class HistoryConfig(Credentials):
    history_days: int
    history_since: date | None
    ha_url: str | None  # None: the HASS plugin's
    ha_token: str | None  # None: the HASS plugin's (never shown: it is a secret)

    def __repr__(self) -> str:  # the App Secret and the HA token must never reach a log line
        return (
            f"HistoryConfig(sid={self.sid!r}, history_days={self.history_days}, history_since={self.history_since},"
            f" ha_url={self.ha_url!r}, ha_token={'set' if self.ha_token else 'plugin'})"
        )


def parse_history_args(args: Mapping[str, Any], today: date) -> HistoryConfig:
    """Validate the arguments; raises ValueError naming the first bad key and what is allowed."""
    check_keys(args, KEYS, LABEL)
    credentials = parse_credentials(args, LABEL)
    days = args.get("history_days", DEFAULT_HISTORY_DAYS)
    low, high = HISTORY_DAYS_LIMITS
    if isinstance(days, bool) or not isinstance(days, int) or not low <= days <= high:
        raise ValueError(f"history_days {days!r} must be a whole number of days from {low} to {high}")
    since = _since(args.get("history_since"), today)
    url = args.get("ha_url")
    if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
        raise ValueError(f"ha_url {url!r} must start with http:// or https:// (Home Assistant's address)")
    token = args.get("ha_token")
    if token is not None and (not isinstance(token, str) or not token.strip()):
        raise ValueError("ha_token must be a text: write `ha_token: !secret ha_admin_token` in the history app")
    return HistoryConfig(
        **asdict(credentials),
        history_days=days,
        history_since=since,
        ha_url=url,
        ha_token=token.strip() if isinstance(token, str) else None,
    )


def _since(value: object, today: date) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):
        since = value
    else:
        try:
            since = date.fromisoformat(str(value))
        except ValueError:
            raise ValueError(f"history_since {value!r} must be a date like 2024-05-01") from None
    if since >= today:
        raise ValueError(f"history_since {since} must be a day before today")
    return since

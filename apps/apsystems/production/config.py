"""The production app's apps.yaml arguments, validated with messages that name the bad value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apsystems.api.client import DEFAULT_BASE_URL
from apsystems.budget.config import APPDAEMON_KEYS

POLL_SOURCES = ("auto", "ecu", "system")
KEYS = frozenset({"app_id", "app_secret", "sid", "base_url", "poll_source", "budget", "state_dir", "storage_prefix"})
DEFAULT_BUDGET_APP = "apsystems_budget"


@dataclass(frozen=True)
class ProductionConfig:
    app_id: str
    app_secret: str
    sid: str
    base_url: str
    poll_source: str
    budget: str

    def __repr__(self) -> str:  # the App Secret must never reach a log line
        return f"ProductionConfig(sid={self.sid!r}, base_url={self.base_url!r}, poll_source={self.poll_source!r})"


def parse_production_args(args: Mapping[str, Any]) -> ProductionConfig:
    """Validate the arguments; raises ValueError naming the first bad key and what is allowed."""
    unknown = sorted(set(args) - KEYS - APPDAEMON_KEYS)
    if unknown:
        raise ValueError(
            f"unknown argument(s) {', '.join(unknown)}; the production app accepts {', '.join(sorted(KEYS))}"
        )
    for key, secret in (("app_id", "aps_app_id"), ("app_secret", "aps_app_secret"), ("sid", "aps_sid")):
        value = args.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{key} is missing: add `{key}: !secret {secret}` to the production app in apps.yaml")
    source = str(args.get("poll_source", "auto")).strip().lower()
    if source not in POLL_SOURCES:
        raise ValueError(f"poll_source {args.get('poll_source')!r} must be one of {', '.join(POLL_SOURCES)}")
    base_url = str(args.get("base_url") or DEFAULT_BASE_URL)
    if not base_url.startswith(("https://", "http://")):
        raise ValueError(f"base_url {base_url!r} must start with https://")
    return ProductionConfig(
        app_id=str(args["app_id"]).strip(),
        app_secret=str(args["app_secret"]).strip(),
        sid=str(args["sid"]).strip(),
        base_url=base_url,
        poll_source=source,
        budget=str(args.get("budget") or DEFAULT_BUDGET_APP),
    )

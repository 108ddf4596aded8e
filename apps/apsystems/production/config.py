"""The production app's apps.yaml arguments, validated with messages that name the bad value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from apsystems.common.args import CREDENTIAL_KEYS, PUBLISH_KEYS, Credentials, check_keys, parse_credentials

POLL_SOURCES = ("auto", "ecu", "system")
KEYS = CREDENTIAL_KEYS | PUBLISH_KEYS | {"poll_source", "storage_prefix"}
LABEL = "production app"


@dataclass(frozen=True)
class ProductionConfig(Credentials):
    poll_source: str

    def __repr__(self) -> str:  # the App Secret must never reach a log line
        return f"ProductionConfig(sid={self.sid!r}, base_url={self.base_url!r}, poll_source={self.poll_source!r})"


def parse_production_args(args: Mapping[str, Any]) -> ProductionConfig:
    """Validate the arguments; raises ValueError naming the first bad key and what is allowed."""
    check_keys(args, KEYS, LABEL)
    credentials = parse_credentials(args, LABEL)
    source = str(args.get("poll_source", "auto")).strip().lower()
    if source not in POLL_SOURCES:
        raise ValueError(f"poll_source {args.get('poll_source')!r} must be one of {', '.join(POLL_SOURCES)}")
    return ProductionConfig(**asdict(credentials), poll_source=source)

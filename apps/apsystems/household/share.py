"""The contract between the meters app and the Charge HQ forwarder (like ``production.share``).

The meters app publishes, into AppDaemon's persistent user namespace, each Charge HQ field it
can fill, already in Charge HQ's unit and sign, with the instant the cloud measured it; a
field whose last read failed or gave no sound value carries the reason instead, so the
forwarder pushes an ``error`` and never a 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

METER_FIELDS = ("production", "consumption", "net_import", "imported_kwh", "exported_kwh")
STORAGE_FIELDS = ("battery_discharge", "battery_soc")


def household_entity(sid: str) -> str:
    """The user-namespace entity that carries a system's meter and battery readings."""
    return f"apsystems.household_{sid.lower()}"


@dataclass(frozen=True)
class HouseholdShare:
    """Charge HQ source name -> value (kW, kWh, SoC fraction), its measurement time, or why not."""

    sid: str
    values: Mapping[str, float] = field(default_factory=dict)
    measured_at: Mapping[str, str] = field(default_factory=dict)
    problems: Mapping[str, str] = field(default_factory=dict)
    poll_interval_s: float = 0.0

    def to_state(self) -> tuple[str, dict[str, Any]]:
        return (
            str(len(self.values)),
            {
                "sid": self.sid,
                "values": dict(self.values),
                "measured_at": dict(self.measured_at),
                "problems": dict(self.problems),
                "poll_interval_s": self.poll_interval_s,
            },
        )

    @classmethod
    def from_attributes(cls, attributes: Mapping[str, Any]) -> HouseholdShare | None:
        """Read it back; None when malformed (the forwarder reports it)."""
        try:
            values = {str(k): float(v) for k, v in dict(attributes["values"]).items() if not isinstance(v, bool)}
            measured = {str(k): str(v) for k, v in dict(attributes["measured_at"]).items()}
            problems = {str(k): str(v) for k, v in dict(attributes.get("problems") or {}).items()}
            interval = float(attributes["poll_interval_s"])
            return cls(str(attributes["sid"]), values, measured, problems, interval)
        except (KeyError, TypeError, ValueError):
            return None

    def measured(self, name: str) -> datetime | None:
        raw = self.measured_at.get(name)
        try:
            moment = datetime.fromisoformat(raw) if raw else None
        except ValueError:
            return None
        return moment if moment is not None and moment.tzinfo is not None else None

"""The contract between the production app and its consumers (the Charge HQ forwarder).

The production app publishes its latest system power into AppDaemon's persistent user
namespace; consumers read it there rather than reaching into the app object, so either
side can restart on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

NAMESPACE = "apsystems"


def production_entity(sid: str) -> str:
    """The user-namespace entity that carries a system's latest production."""
    return f"apsystems.production_{sid.lower()}"


@dataclass(frozen=True)
class ProductionShare:
    """Latest production in kW, when the ECU measured it, and how fresh it can be expected to be."""

    sid: str
    power_kw: float
    measured_at: datetime  # aware
    poll_interval_s: float
    window_open: bool
    time_zone: str | None

    def to_state(self) -> tuple[str, dict[str, Any]]:
        """``(state, attributes)`` for ``set_state`` in the user namespace."""
        return (
            f"{self.power_kw:.3f}",
            {
                "sid": self.sid,
                "power_kw": self.power_kw,
                "measured_at": self.measured_at.isoformat(),
                "poll_interval_s": self.poll_interval_s,
                "window_open": self.window_open,
                "time_zone": self.time_zone,
            },
        )

    @classmethod
    def from_attributes(cls, attributes: dict[str, Any]) -> ProductionShare | None:
        """Read it back; None when anything is missing or malformed (the consumer reports why)."""
        try:
            measured_at = datetime.fromisoformat(str(attributes["measured_at"]))
            power = attributes["power_kw"]
            interval = attributes["poll_interval_s"]
            if measured_at.tzinfo is None or isinstance(power, bool) or not isinstance(power, (int, float)):
                return None
            if isinstance(interval, bool) or not isinstance(interval, (int, float)):
                return None
            return cls(
                sid=str(attributes["sid"]),
                power_kw=float(power),
                measured_at=measured_at,
                poll_interval_s=float(interval),
                window_open=bool(attributes.get("window_open", True)),
                time_zone=attributes.get("time_zone"),
            )
        except (KeyError, TypeError, ValueError):
            return None

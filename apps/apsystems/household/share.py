"""The contract between the meters app and the Charge HQ forwarder (like ``production.share``).

The meters app publishes, into AppDaemon's persistent user namespace, each Charge HQ field it
can fill, already in Charge HQ's unit and sign, with the instant the cloud measured it; a
field whose last read failed or gave no sound value carries the reason instead, so the
forwarder pushes an ``error`` and never a 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from apsystems.household.store import DeviceRecord

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


def build_share(
    sid: str, records: Iterable[DeviceRecord], failed: Mapping[str, str], poll_interval_s: float
) -> HouseholdShare:
    """The share from the devices' last states; ``failed`` maps an eid to why its last read failed.

    Several meters or batteries add up (SoC is their mean); the oldest measurement time wins.
    """
    values: dict[str, float] = {}
    measured: dict[str, str] = {}
    problems: dict[str, str] = {}
    socs: list[float] = []
    for record in records:
        names = METER_FIELDS if record.kind == "meter" else STORAGE_FIELDS
        reason = failed.get(record.eid)
        if reason is None and (not record.states or record.measured_at is None):
            reason = f"{record.kind} {record.eid} has not been read yet"
        if reason is not None:
            problems.update({name: reason for name in names if name not in problems})
            continue
        try:
            fields = _fields(record.kind, record.states)
        except (KeyError, TypeError, ValueError):
            problems.update(dict.fromkeys(names, f"{record.kind} {record.eid}: incomplete states"))
            continue
        for name, value in fields.items():
            if name == "battery_soc":
                socs.append(value)
            else:
                values[name] = values.get(name, 0.0) + value
            assert record.measured_at is not None
            measured[name] = min(measured.get(name, record.measured_at), record.measured_at)
    if socs:
        values["battery_soc"] = sum(socs) / len(socs)
    for name in problems:
        values.pop(name, None)
        measured.pop(name, None)
    return HouseholdShare(sid, values, measured, problems, poll_interval_s)


def _fields(kind: str, states: Mapping[str, Any]) -> dict[str, float]:
    """Charge HQ's fields from a device's published states (W -> kW, % -> fraction)."""

    def num(key: str) -> float:
        return float(states[key])

    if kind == "meter":
        return {
            "production": num("production_power") / 1000.0,
            "consumption": num("consumption_power") / 1000.0,
            "net_import": num("grid_power") / 1000.0,
            "imported_kwh": num("imported_lifetime"),
            "exported_kwh": num("exported_lifetime"),
        }
    return {
        "battery_discharge": (num("discharge_power") - num("charge_power")) / 1000.0,
        "battery_soc": num("soc") / 100.0,
    }

"""Building the meters app's share for Charge HQ from the devices' last states."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from apsystems.household.share import METER_FIELDS, STORAGE_FIELDS, HouseholdShare
from apsystems.household.store import DeviceRecord


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

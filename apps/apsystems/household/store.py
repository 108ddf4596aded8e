"""The meters and batteries of one system and what they last said, kept on disk.

Discovery costs calls (the meter list, one summary per device to start the lifetime
counters), and the lifetime counters must survive restarts, so both live in one JSON file
next to the site file. Last states are kept too: Home Assistant forgets ``set_state``
entities when it restarts, and they are republished at start without a call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from apsystems.common.json_file import read_json_object, write_json_atomic
from apsystems.household.lifetime import LifetimeCounter
from apsystems.household.readings import METER_ENERGY_KEYS, STORAGE_ENERGY_KEYS
from apsystems.inverters.site_store import SiteInfo

METER_TYPE = 1
STORAGE_TYPE = 2


@dataclass
class DeviceRecord:
    """One meter or battery: its kind, model, lifetime counter and last published states."""

    eid: str
    kind: str  # "meter" or "storage"
    model: str | None
    counter: LifetimeCounter
    states: dict[str, Any] = field(default_factory=dict)
    measured_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "model": self.model,
            "counter": self.counter.to_json(),
            "states": self.states,
            "measured_at": self.measured_at,
        }


def energy_keys(kind: str) -> tuple[str, ...]:
    return METER_ENERGY_KEYS if kind == "meter" else STORAGE_ENERGY_KEYS


def found_devices(site: SiteInfo | None, meter_ids: Iterable[str]) -> dict[str, tuple[str, str | None]]:
    """eid -> (kind, model): meters from the meter list and ECUs of type 1, batteries from type 2."""
    found: dict[str, tuple[str, str | None]] = {}
    for eid in meter_ids:
        found[str(eid)] = ("meter", None)
    for device in site.devices if site else ():
        if device.ecu_type == METER_TYPE:
            found.setdefault(device.ecu.eid, ("meter", None))
        elif device.ecu_type == STORAGE_TYPE:
            found[device.ecu.eid] = ("storage", device.model)
    return found


class HouseholdStore:
    """``household_<sid>.json``: discovered devices, counters, last states, the last read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.devices: dict[str, DeviceRecord] = {}
        self.discovered = False
        self.last_read_at: datetime | None = None
        self._load()

    def meters(self) -> list[DeviceRecord]:
        return [d for d in self.devices.values() if d.kind == "meter"]

    def storages(self) -> list[DeviceRecord]:
        return [d for d in self.devices.values() if d.kind == "storage"]

    def adopt(self, found: Mapping[str, tuple[str, str | None]]) -> tuple[list[str], list[str]]:
        """Take what discovery found as the truth; returns (added eids, removed eids)."""
        added = [eid for eid in found if eid not in self.devices]
        removed = [eid for eid in self.devices if eid not in found]
        for eid in removed:
            del self.devices[eid]
        for eid, (kind, model) in found.items():
            record = self.devices.get(eid)
            if record is None or record.kind != kind:
                self.devices[eid] = DeviceRecord(eid, kind, model, LifetimeCounter(energy_keys(kind)))
            else:
                record.model = model
        self.discovered = True
        return added, removed

    def save(self) -> None:
        write_json_atomic(
            self.path,
            {
                "discovered": self.discovered,
                "last_read_at": self.last_read_at.isoformat() if self.last_read_at else None,
                "devices": {eid: d.to_json() for eid, d in self.devices.items()},
            },
        )

    def _load(self) -> None:
        data = read_json_object(self.path, {"discovered": bool, "last_read_at": str, "devices": dict})
        if data is None:
            return
        self.discovered = bool(data.get("discovered"))
        try:
            raw = data.get("last_read_at")
            self.last_read_at = datetime.fromisoformat(raw) if isinstance(raw, str) else None
        except ValueError:
            self.last_read_at = None
        for eid, saved in (data.get("devices") or {}).items():
            if not isinstance(saved, dict) or saved.get("kind") not in ("meter", "storage"):
                continue
            kind = str(saved["kind"])
            model = saved.get("model") if isinstance(saved.get("model"), str) else None
            states = saved.get("states") if isinstance(saved.get("states"), dict) else {}
            measured = saved.get("measured_at") if isinstance(saved.get("measured_at"), str) else None
            counter = LifetimeCounter.from_json(energy_keys(kind), saved.get("counter"))
            self.devices[str(eid)] = DeviceRecord(str(eid), kind, model, counter, dict(states or {}), measured)

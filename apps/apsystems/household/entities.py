"""Meter and battery entities, described once, and the states a reading gives them.

Ids are part of the interface: ``sensor.apsystems_meter_<eid>_<key>`` and
``sensor.apsystems_storage_<eid>_<key>``. Lifetime energies are ``total_increasing`` kWh
sensors, which is what Home Assistant's Energy dashboard accepts as grid and battery sources.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apsystems.common.entities import Device, DeviceKind, Entity
from apsystems.household.readings import MeterReading, StorageReading


@dataclass(frozen=True)
class Kind:
    """One sensor of a meter or battery: key, label, unit, device class, state class, decimals."""

    key: str
    label: str
    unit: str | None
    device_class: str | None
    state_class: str | None
    decimals: int


def _power(key: str, label: str) -> Kind:
    return Kind(key, label, "W", "power", "measurement", 1)


def _energy(key: str, label: str) -> Kind:
    return Kind(key, label, "kWh", "energy", "total_increasing", 3)


METER_KINDS: tuple[Kind, ...] = (
    _power("consumption_power", "consumption power"),
    _power("grid_power", "grid power (import positive)"),
    _power("production_power", "production power"),
    *(_energy(f"{k}_today", f"{k} today") for k in ("consumed", "imported", "exported")),
    *(_energy(f"{k}_lifetime", f"{k} lifetime") for k in ("consumed", "imported", "exported")),
)
STORAGE_KINDS: tuple[Kind, ...] = (
    Kind("soc", "state of charge", "%", "battery", "measurement", 0),
    _power("charge_power", "charge power"),
    _power("discharge_power", "discharge power"),
    Kind("mode", "mode", None, None, None, 0),
    *(_energy(f"{k}_today", f"{k} today") for k in ("charged", "discharged")),
    *(_energy(f"{k}_lifetime", f"{k} lifetime") for k in ("charged", "discharged")),
)
# storage energy keys in the cloud's answers -> the word in entity ids
STORAGE_WORDS = {"charge": "charged", "discharge": "discharged"}


def meter_device(eid: str) -> Device:
    return Device(DeviceKind.METER, eid, f"APsystems meter {eid}")


def storage_device(eid: str, model: str | None = None) -> Device:
    return Device(DeviceKind.STORAGE, eid, f"APsystems {model or 'battery'} {eid}", model)


def _entities(prefix: str, device: Device, kinds: tuple[Kind, ...]) -> dict[str, Entity]:
    return {
        k.key: Entity(
            f"{prefix}_{k.key}",
            f"{device.name} {k.label}",
            device,
            unit=k.unit,
            device_class=k.device_class,
            state_class=k.state_class,
        )
        for k in kinds
    }


def meter_entities(eid: str) -> dict[str, Entity]:
    return _entities(f"sensor.apsystems_meter_{eid.strip().lower()}", meter_device(eid), METER_KINDS)


def storage_entities(eid: str, model: str | None = None) -> dict[str, Entity]:
    return _entities(f"sensor.apsystems_storage_{eid.strip().lower()}", storage_device(eid, model), STORAGE_KINDS)


def _states(
    kinds: tuple[Kind, ...],
    instant: Mapping[str, float],
    today: Mapping[str, float],
    lifetime: Mapping[str, float],
    words: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Instant values, then each energy as ``<word>_today`` and ``<word>_lifetime``, rounded as its kind says.

    ``words`` renames the cloud's energy keys where the entity ids use another word.
    """
    values = dict(instant)
    for suffix, energies in (("today", today), ("lifetime", lifetime)):
        values.update({f"{(words or {}).get(k, k)}_{suffix}": v for k, v in energies.items()})
    places = {k.key: k.decimals for k in kinds}
    return {key: round(value, places[key]) for key, value in values.items()}


def meter_states(reading: MeterReading, lifetime: Mapping[str, float]) -> dict[str, Any]:
    """State per meter entity key; lifetime values come from the meter's ``LifetimeCounter``."""
    instant = {
        "consumption_power": reading.consumption_w,
        "grid_power": reading.grid_w,
        "production_power": reading.production_w,
    }
    return _states(METER_KINDS, instant, reading.today_kwh, lifetime)


def storage_states(reading: StorageReading, lifetime: Mapping[str, float]) -> dict[str, Any]:
    """State per storage entity key; ``mode`` is the known name or the raw value."""
    instant = {"soc": reading.soc_percent, "charge_power": reading.charge_w, "discharge_power": reading.discharge_w}
    states = _states(STORAGE_KINDS, instant, reading.today_kwh, lifetime, STORAGE_WORDS)
    states["mode"] = reading.mode_name
    return states

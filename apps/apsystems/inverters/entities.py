"""Per-inverter entities: ids, names, units and device classes, and what each publishes.

Entity ids are part of the interface (DESIGN.md): ``sensor.apsystems_inverter_<uid>_<key>``
with the uid lower-cased. Which values a sensor shows comes from ``inverters.telemetry``;
this module turns them into ``(state, attributes)`` pairs ready for ``set_state``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from typing import Any

from apsystems.common.entities import Device, DeviceKind, Entity, ecu_device, system_device
from apsystems.inverters.telemetry import (
    NOMINAL_EFFICIENCY,
    Latest,
    PowerView,
    SourceData,
    attribute_size,
    fit_series,
    freshest,
    power_view,
)

MAX_CHANNELS = 4
UNKNOWN = "unknown"

# key -> (label, unit, device_class, decimals); channel keys get "_chN" / "channel N".
_CHANNEL_KINDS: tuple[tuple[str, str, str, str, int], ...] = (
    ("dc_power", "DC power", "W", "power", 1),
    ("dc_voltage", "DC voltage", "V", "voltage", 1),
    ("dc_current", "DC current", "A", "current", 2),
)
_INVERTER_KINDS: tuple[tuple[str, str, str, str, int], ...] = (
    ("ac_voltage", "AC voltage", "V", "voltage", 1),
    ("frequency", "grid frequency", "Hz", "frequency", 2),
    ("temperature", "temperature", "°C", "temperature", 1),
)


@dataclass(frozen=True)
class EntitySpec:
    """One sensor of one inverter: its entity, and how its value is read and rounded."""

    key: str  # "power", "dc_power_ch1", "ac_voltage", …
    entity: Entity
    decimals: int
    channel: int | None = None

    @property
    def entity_id(self) -> str:
        return self.entity.entity_id

    @property
    def friendly_name(self) -> str:
        return self.entity.name

    def base_attributes(self) -> dict[str, Any]:
        return self.entity.attributes()


def inverter_device(uid: str, model: str | None, ecu_id: str | None = None, sid: str | None = None) -> Device:
    """An inverter; it belongs to its ECU when the ECU is known (the MQTT device chain)."""
    via = ecu_device(ecu_id, sid) if ecu_id else None
    return Device(DeviceKind.INVERTER, uid, inverter_label(uid, model), model, via)


def _sensor(entity_id: str, name: str, unit: str, device_class: str, device: Device) -> Entity:
    return Entity(entity_id, name, device, unit=unit, device_class=device_class, state_class="measurement")


def entity_prefix(uid: str) -> str:
    return f"sensor.apsystems_inverter_{uid.strip().lower()}"


def inverter_label(uid: str, model: str | None) -> str:
    """How friendly names name an inverter: model and uid, so two DS3s never look alike."""
    return f"APsystems {model or 'inverter'} {uid}"


def entity_specs(
    uid: str, model: str | None, channels: int, ecu_id: str | None = None, sid: str | None = None
) -> list[EntitySpec]:
    """Every sensor of an inverter with ``channels`` DC inputs (1 to 4), power first."""
    channels = max(1, min(MAX_CHANNELS, channels))
    prefix = entity_prefix(uid)
    device = inverter_device(uid, model, ecu_id, sid)
    label = device.name
    specs = [EntitySpec("power", _sensor(f"{prefix}_power", f"{label} power", "W", "power", device), 1)]
    for kind, name, unit, device_class, decimals in _CHANNEL_KINDS:
        for n in range(1, channels + 1):
            key = f"{kind}_ch{n}"
            entity = _sensor(f"{prefix}_{key}", f"{label} {name} channel {n}", unit, device_class, device)
            specs.append(EntitySpec(key, entity, decimals, n))
    for kind, name, unit, device_class, decimals in _INVERTER_KINDS:
        entity = _sensor(f"{prefix}_{kind}", f"{label} {name}", unit, device_class, device)
        specs.append(EntitySpec(kind, entity, decimals))
    return specs


def scan_button(sid: str) -> Entity:
    """``button.apsystems_<sid>_scan_inverters``: what the ``apsystems_scan_inverters`` event does."""
    device = system_device(sid)
    return Entity(
        f"button.apsystems_{sid.lower()}_scan_inverters", f"{device.name} scan inverters", device, icon="mdi:magnify"
    )


def refresh_button(sid: str) -> Entity:
    """``button.apsystems_<sid>_refresh_inverters``: what the ``apsystems_refresh_inverters`` event does."""
    device = system_device(sid)
    return Entity(
        f"button.apsystems_{sid.lower()}_refresh_inverters",
        f"{device.name} refresh inverters",
        device,
        icon="mdi:refresh",
    )


def ecu_entity(eid: str, sid: str) -> Entity:
    """``sensor.apsystems_ecu_<eid>_inverters``: how many inverters report through the ECU.

    It also puts the ECU's device (and its link to the system) into Home Assistant with
    ``publish: mqtt``: a device exists there only through an entity that describes it.
    """
    device = ecu_device(eid, sid)
    return Entity(
        f"sensor.apsystems_ecu_{eid.strip().lower()}_inverters",
        f"{device.name} inverters",
        device,
        unit="inverters",
        state_class="measurement",
        icon="mdi:router-wireless",
    )


def entity_ids(uid: str, model: str | None, channels: int) -> list[str]:
    return [spec.entity_id for spec in entity_specs(uid, model, channels)]


def channel_count(model_channels: int, *data: SourceData | None) -> int:
    """The model's channels, or more when the data shows more (an unknown model reads as 2)."""
    seen = [d.channels for d in data if d is not None]
    return max(1, min(MAX_CHANNELS, max([model_channels, *seen])))


@dataclass(frozen=True)
class InverterIdentity:
    uid: str
    model: str | None
    ecu_id: str | None
    channels: int


def _rounded(value: float, decimals: int) -> float:
    return round(value, decimals)


def _data_time(day: date, label: str | None, tz: tzinfo) -> str | None:
    if label is None:
        return None
    try:
        hours, minutes = (int(part) for part in label.split(":", 1))
        return datetime.combine(day, time(hours % 24, minutes), tzinfo=tz).isoformat()
    except ValueError:
        return None


def inverter_states(
    who: InverterIdentity,
    detail: SourceData | None,
    batch: SourceData | None,
    tz: tzinfo,
) -> dict[str, tuple[Any, dict[str, Any]]]:
    """``entity_id -> (state, attributes)`` for every sensor of one inverter.

    Power values (the ``power`` sensor, the DC power sensors, peaks and the day's series) come
    from the fresher of detail and batch; DC voltage and current, AC voltage, frequency and
    temperature only exist in detail. Without any data a sensor's state is ``unknown``.
    """
    specs = entity_specs(who.uid, who.model, who.channels)
    fresh = freshest(detail, batch)
    view = power_view(fresh) if fresh is not None else None
    out: dict[str, tuple[Any, dict[str, Any]]] = {}
    for spec in specs:
        attributes = spec.base_attributes()
        if spec.key == "power":
            out[spec.entity_id] = _power_state(spec, who, view, tz, attributes)
            continue
        reading: Latest | None
        day: date | None
        if spec.key.startswith("dc_power_ch") and spec.channel is not None:
            reading = view.dc_latest.get(spec.channel) if view else None
            day = view.day if view else None
        else:
            reading = detail.readings.get(spec.key) if detail else None
            day = detail.day if detail else None
            if spec.key == "ac_voltage" and detail is not None:
                for phase in (2, 3):
                    extra = detail.readings.get(f"ac_voltage_l{phase}")
                    if extra is not None:
                        attributes[f"phase_l{phase}_v"] = _rounded(extra.value, spec.decimals)
        state: Any = UNKNOWN
        if reading is not None and day is not None:
            state = _rounded(reading.value, spec.decimals)
            attributes["data_time"] = _data_time(day, reading.label, tz)
        out[spec.entity_id] = (state, attributes)
    return out


def _power_state(
    spec: EntitySpec, who: InverterIdentity, view: PowerView | None, tz: tzinfo, attributes: dict[str, Any]
) -> tuple[Any, dict[str, Any]]:
    channels = range(1, who.channels + 1)
    attributes.update(
        {
            "icon": "mdi:solar-power",
            "uid": who.uid,
            "inverter_type": who.model,
            "ecu_id": who.ecu_id,
        }
    )
    if view is None:
        for n in channels:
            attributes[f"dc_channel{n}_power_w"] = None
            attributes[f"dc_channel{n}_peak_w"] = None
        attributes["ac_power_peak_w"] = None
        attributes["hourly_times"] = []
        attributes["hourly_ac_power"] = []
        for n in channels:
            attributes[f"hourly_dc_p{n}"] = []
        return UNKNOWN, attributes
    for n in channels:
        latest = view.dc_latest.get(n)
        peak = view.dc_peak.get(n)
        attributes[f"dc_channel{n}_power_w"] = None if latest is None else _rounded(latest.value, 1)
        attributes[f"dc_channel{n}_peak_w"] = None if peak is None else _rounded(peak, 1)
    attributes["ac_power_peak_w"] = None if view.ac_peak is None else _rounded(view.ac_peak, 1)
    attributes["source"] = view.source
    attributes["ac_estimated"] = view.ac_estimated
    if view.ac_estimated:
        attributes["ac_efficiency"] = NOMINAL_EFFICIENCY
    attributes["date"] = view.day.isoformat()
    attributes["data_time"] = _data_time(view.day, view.ac_latest.label if view.ac_latest else None, tz)
    series: dict[str, tuple[float | None, ...]] = {"hourly_ac_power": view.ac_series}
    for n in channels:
        series[f"hourly_dc_p{n}"] = view.dc_series.get(n, ())
    attributes = fit_series(attributes, view.times, series)
    state: Any = UNKNOWN if view.ac_latest is None else _rounded(view.ac_latest.value, spec.decimals)
    return state, attributes


def attribute_sizes(states: Mapping[str, tuple[Any, Mapping[str, Any]]]) -> dict[str, int]:
    """Bytes of each entity's attributes as JSON (what HA's recorder limits to 16 KiB)."""
    return {entity_id: attribute_size(attrs) for entity_id, (_, attrs) in states.items()}

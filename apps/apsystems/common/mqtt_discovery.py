"""MQTT discovery messages for the entity model: what Home Assistant's MQTT integration reads.

Pure functions (no AppDaemon, no broker), so every topic and payload is unit-tested. An entity
``sensor.apsystems_abc_power`` is announced on ``<prefix>/sensor/apsystems/apsystems_abc_power/config``
(retained) with ``unique_id`` and ``default_entity_id`` equal to its entity id, so a user who
switches from ``set_state`` keeps the same ids; ``object_id`` is sent too for Home Assistant
releases before 2025.10 (later ones drop it silently). Every topic is derived from the entity id
alone, so an entity can be removed (an empty retained config) after a restart without knowing
what was announced before.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apsystems.common.entities import Device, DeviceKind, Entity

DEFAULT_DISCOVERY_PREFIX = "homeassistant"
NODE_ID = "apsystems"
STATE_BASE = "apsystems"
PRESS_PAYLOAD = "PRESS"
# HA's MQTT sensor reads this payload as "no value" (unknown) rather than as a bad number.
NO_VALUE_PAYLOAD = "None"
MAX_ATTRIBUTES_BYTES = 16384  # HA's recorder drops larger attributes
ORIGIN = {"name": "apsystems-chargehq (AppDaemon)"}
# Attributes that are part of the config in MQTT discovery, never of the JSON attributes.
DESCRIPTIVE_KEYS = frozenset({"friendly_name", "unit_of_measurement", "device_class", "state_class", "icon"})
_MANUFACTURER = {
    DeviceKind.SYSTEM: "APsystems",
    DeviceKind.ECU: "APsystems",
    DeviceKind.INVERTER: "APsystems",
    DeviceKind.CHARGEHQ: "Charge HQ",
}


@dataclass(frozen=True)
class Availability:
    """AppDaemon's MQTT plugin will/birth topic and payloads: entities go unavailable with AppDaemon."""

    topic: str
    online: str = "online"
    offline: str = "offline"


@dataclass(frozen=True)
class Topics:
    """Where one entity's config, state, attributes and (for buttons) presses go."""

    config: str
    state: str
    attributes: str
    command: str


def split_entity_id(entity_id: str) -> tuple[str, str]:
    """``("sensor", "apsystems_abc_power")``; ValueError for anything that is not ``domain.object``."""
    domain, dot, object_id = entity_id.partition(".")
    if not dot or not domain or not object_id or not object_id.replace("_", "").isalnum():
        raise ValueError(f"entity id {entity_id!r} is not of the form domain.object_id")
    return domain, object_id


def topics(entity_id: str, discovery_prefix: str = DEFAULT_DISCOVERY_PREFIX) -> Topics:
    domain, object_id = split_entity_id(entity_id)
    base = f"{STATE_BASE}/{object_id}"
    return Topics(
        config=f"{discovery_prefix}/{domain}/{NODE_ID}/{object_id}/config",
        state=f"{base}/state",
        attributes=f"{base}/attributes",
        command=f"{base}/press",
    )


def device_identifier(device: Device) -> str:
    """``apsystems_<sid>``, ``apsystems_ecu_<eid>``, ``apsystems_inverter_<uid>``, ``chargehq_<id>``."""
    ident = device.identifier.strip().lower()
    match device.kind:
        case DeviceKind.SYSTEM:
            return f"apsystems_{ident}"
        case DeviceKind.ECU:
            return f"apsystems_ecu_{ident}"
        case DeviceKind.INVERTER:
            return f"apsystems_inverter_{ident}"
        case DeviceKind.CHARGEHQ:
            return f"chargehq_{ident}"
    raise ValueError(f"unknown device kind {device.kind!r}")


def device_block(device: Device) -> dict[str, Any]:
    """The ``device`` of a discovery config: identifiers, name, maker, model, serial, parent."""
    block: dict[str, Any] = {
        "identifiers": [device_identifier(device)],
        "name": device.name,
        "manufacturer": _MANUFACTURER[device.kind],
    }
    if device.model:
        block["model"] = device.model
    if device.kind in (DeviceKind.INVERTER, DeviceKind.ECU):
        block["serial_number"] = device.identifier
    if device.via is not None:
        block["via_device"] = device_identifier(device.via)
    return block


def entity_name(entity: Entity) -> str:
    """The name without the device's name: Home Assistant shows ``<device> <name>`` for MQTT entities
    (and warns when the name repeats the device's), so the friendly name stays what it is today."""
    prefix = f"{entity.device.name} "
    if entity.name.startswith(prefix) and len(entity.name) > len(prefix):
        return entity.name[len(prefix) :]
    return entity.name


def config_payload(
    entity: Entity,
    availability: Availability | None,
    discovery_prefix: str = DEFAULT_DISCOVERY_PREFIX,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The retained discovery config of ``entity``; ``extra`` may carry an ``icon`` the state chose."""
    domain, object_id = split_entity_id(entity.entity_id)
    where = topics(entity.entity_id, discovery_prefix)
    config: dict[str, Any] = {
        "name": entity_name(entity),
        "unique_id": entity.entity_id,
        "default_entity_id": entity.entity_id,
        "object_id": object_id,
        "device": device_block(entity.device),
        "origin": ORIGIN,
    }
    if availability is not None:
        config["availability_topic"] = availability.topic
        config["payload_available"] = availability.online
        config["payload_not_available"] = availability.offline
    if domain == "button":
        config["command_topic"] = where.command
        config["payload_press"] = PRESS_PAYLOAD
    else:
        config["state_topic"] = where.state
        config["json_attributes_topic"] = where.attributes
    icon = entity.icon or (extra or {}).get("icon")
    for key, value in (
        ("unit_of_measurement", entity.unit),
        ("device_class", entity.device_class),
        ("state_class", entity.state_class),
        ("icon", icon),
    ):
        if value is not None:
            config[key] = value
    return config


def state_payload(state: Any) -> str:
    """The retained state message; no value (``None``, ``unknown``) is HA's "None" payload."""
    if state is None or state in ("unknown", ""):
        return NO_VALUE_PAYLOAD
    if isinstance(state, bool):
        return "on" if state else "off"
    return str(state)


def attributes_payload(attributes: Mapping[str, Any] | None) -> str:
    """The JSON attributes without the descriptive keys (those are in the config).

    Raises ValueError above 16 KiB: Home Assistant's recorder would drop them.
    """
    body = {k: v for k, v in (attributes or {}).items() if k not in DESCRIPTIVE_KEYS}
    text = json.dumps(body, default=str, ensure_ascii=False, separators=(",", ":"))
    size = len(text.encode("utf-8"))
    if size > MAX_ATTRIBUTES_BYTES:
        raise ValueError(f"attributes of {size} bytes exceed Home Assistant's {MAX_ATTRIBUTES_BYTES}-byte limit")
    return text


@dataclass(frozen=True)
class Message:
    topic: str
    payload: str
    retain: bool = True


def entity_messages(
    entity: Entity,
    state: Any,
    attributes: Mapping[str, Any] | None,
    availability: Availability | None,
    discovery_prefix: str = DEFAULT_DISCOVERY_PREFIX,
) -> list[Message]:
    """Config, attributes, state of a sensor (in that order: HA reads the config first)."""
    where = topics(entity.entity_id, discovery_prefix)
    config = config_payload(entity, availability, discovery_prefix, attributes)
    return [
        Message(where.config, json.dumps(config, separators=(",", ":"), ensure_ascii=False)),
        Message(where.attributes, attributes_payload(attributes)),
        Message(where.state, state_payload(state)),
    ]


def button_messages(
    entity: Entity, availability: Availability | None, discovery_prefix: str = DEFAULT_DISCOVERY_PREFIX
) -> list[Message]:
    config = config_payload(entity, availability, discovery_prefix)
    return [Message(topics(entity.entity_id, discovery_prefix).config, json.dumps(config, separators=(",", ":")))]


def removal_messages(entity_id: str, discovery_prefix: str = DEFAULT_DISCOVERY_PREFIX) -> list[Message]:
    """Empty retained payloads: HA removes the entity (and a device left without entities),
    and the broker forgets its retained state and attributes."""
    where = topics(entity_id, discovery_prefix)
    return [Message(where.config, ""), Message(where.state, ""), Message(where.attributes, "")]

"""The entity model: every entity described once, and the one interface apps publish through.

An ``Entity`` carries what Home Assistant needs to show it (id, name, unit, device class,
state class, icon) and the device it belongs to (the system, an ECU, an inverter or the
Charge HQ forwarder). Apps hand an entity, its state and its extra attributes to a
``Publisher``; ``apsystems.ha.publisher.SetStatePublisher`` is today's implementation
(``set_state``), and an MQTT discovery publisher can follow without a change in the apps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol


class DeviceKind(str, Enum):
    SYSTEM = "system"
    ECU = "ecu"
    INVERTER = "inverter"
    METER = "meter"
    STORAGE = "storage"
    CHARGEHQ = "chargehq"


@dataclass(frozen=True)
class Device:
    """What an entity belongs to; ``identifier`` is the sid, eid or uid as the API gives it."""

    kind: DeviceKind
    identifier: str
    name: str
    model: str | None = None
    via: Device | None = None  # the device this one reaches Home Assistant through (ECU -> system)


@dataclass(frozen=True)
class Entity:
    """One Home Assistant entity, described once."""

    entity_id: str
    name: str
    device: Device
    unit: str | None = None
    device_class: str | None = None
    state_class: str | None = None
    icon: str | None = None

    def attributes(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The descriptive attributes (``friendly_name``, unit, classes, icon) followed by ``extra``."""
        out: dict[str, Any] = {"friendly_name": self.name}
        for key, value in (
            ("unit_of_measurement", self.unit),
            ("device_class", self.device_class),
            ("state_class", self.state_class),
            ("icon", self.icon),
        ):
            if value is not None:
                out[key] = value
        if extra:
            out.update(extra)
        return out


class Publisher(Protocol):
    """Where apps put entity states; one implementation per way of reaching Home Assistant."""

    def button(self, entity: Entity, on_press: Callable[[], None]) -> None:
        """Offer a button (``button.*``) that calls ``on_press`` when pressed, where the way allows it."""

    def publish(self, entity: Entity, state: Any, attributes: Mapping[str, Any] | None = None) -> None:
        """Set ``entity`` to ``state`` with its descriptive attributes and ``attributes``."""

    def remove(self, entity_id: str) -> None:
        """Forget an entity that no longer exists (an inverter removed from the system)."""


SYSTEM_KINDS = {1: "PV", 2: "Storage", 3: "PV and storage"}  # the system details' ``type``


def system_model(system_type: int | None, capacity_kw: float | None) -> str | None:
    """The system device's model as the device page shows it: kind and size from the system details."""
    kind = SYSTEM_KINDS.get(system_type) if system_type is not None else None
    if kind is None and capacity_kw is None:
        return None
    name = f"{kind} system" if kind else "System"
    return f"{name} {capacity_kw:g} kW" if capacity_kw is not None and capacity_kw > 0 else name


def system_device(sid: str, model: str | None = None) -> Device:
    """The system; ``model`` (see ``system_model``) once the system details are known."""
    return Device(DeviceKind.SYSTEM, sid, f"APsystems {sid}", model)


def ecu_device(eid: str, sid: str | None) -> Device:
    """An ECU; it belongs to its system when the system is known."""
    return Device(DeviceKind.ECU, eid, f"APsystems ECU {eid}", "ECU", system_device(sid) if sid else None)


def chargehq_device(app_slug: str) -> Device:
    """A Charge HQ forwarder app (one device per forwarder app)."""
    return Device(DeviceKind.CHARGEHQ, app_slug, "Charge HQ", "Push API forwarder")

"""The system's production entities, described once (ids are a public interface: DESIGN.md)."""

from __future__ import annotations

from apsystems.common.entities import Entity, system_device

ENERGY_KEYS = {
    "total_energy": "lifetime energy",
    "today_energy": "energy today",
    "month_energy": "energy this month",
    "year_energy": "energy this year",
}


def system_prefix(sid: str) -> str:
    return f"sensor.apsystems_{sid.lower()}"


def energy_entities(sid: str, model: str | None = None) -> dict[str, Entity]:
    """``total_energy``, ``today_energy``, ``month_energy``, ``year_energy``: kWh for the Energy dashboard."""
    device = system_device(sid, model)
    return {
        key: Entity(
            f"{system_prefix(sid)}_{key}",
            f"{device.name} {label}",
            device,
            unit="kWh",
            device_class="energy",
            state_class="total_increasing",
            icon="mdi:solar-power",
        )
        for key, label in ENERGY_KEYS.items()
    }


def power_entity(sid: str, model: str | None = None) -> Entity:
    device = system_device(sid, model)
    return Entity(
        f"{system_prefix(sid)}_power",
        f"{device.name} power",
        device,
        unit="W",
        device_class="power",
        state_class="measurement",
        icon="mdi:solar-power",
    )


def api_calls_entity(sid: str) -> Entity:
    """The budget's sensor; it belongs to the system whose quota it counts."""
    device = system_device(sid)
    return Entity(
        f"{system_prefix(sid)}_api_calls", f"{device.name} API calls this month", device, unit="calls", icon="mdi:api"
    )


def check_button(sid: str, model: str | None = None) -> Entity:
    """``button.apsystems_<sid>_check`` (``publish: mqtt``): what the ``apsystems_check`` event does."""
    device = system_device(sid, model)
    return Entity(
        f"button.apsystems_{sid.lower()}_check", f"{device.name} check credentials", device, icon="mdi:shield-check"
    )

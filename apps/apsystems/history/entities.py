"""The history's sensor, described once (its id is a public interface)."""

from __future__ import annotations

from apsystems.common.entities import Entity, system_device
from apsystems.production.entities import system_prefix


def history_entity(sid: str) -> Entity:
    """``sensor.apsystems_<sid>_history``: complete, importing or error, with the progress as attributes."""
    device = system_device(sid)
    return Entity(f"{system_prefix(sid)}_history", f"{device.name} energy history", device, icon="mdi:chart-bar")

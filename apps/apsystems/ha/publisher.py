"""The ``set_state`` publisher: entities as AppDaemon's ``set_state`` creates them in Home Assistant."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from appdaemon.plugins.hass.hassapi import Hass

from apsystems.common.entities import Entity
from apsystems.ha.support import publish_state


class SetStatePublisher:
    """Publishes through ``publish_state`` (with its AppDaemon 4.5.13 body-cleaning workaround)."""

    def __init__(self, app: Hass) -> None:
        self._app = app

    def publish(self, entity: Entity, state: Any, attributes: Mapping[str, Any] | None = None) -> None:
        publish_state(self._app, entity.entity_id, state=state, attributes=entity.attributes(attributes))

    def remove(self, entity_id: str) -> None:
        try:
            self._app.remove_entity(entity_id)
        except Exception as exc:  # HA may not know it any more (it forgets set_state entities)
            self._app.log(f"Could not remove {entity_id}: {exc!r}", level="DEBUG")

"""The ``set_state`` publisher: entities as AppDaemon's ``set_state`` creates them in Home Assistant."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from appdaemon.plugins.hass.hassapi import Hass

from apsystems.common.args import PublishSettings, parse_publish
from apsystems.common.entities import Entity, Publisher
from apsystems.ha.support import publish_state


class SetStatePublisher:
    """Publishes through ``publish_state`` (with its AppDaemon 4.5.13 body-cleaning workaround)."""

    def __init__(self, app: Hass) -> None:
        self._app = app

    def publish(self, entity: Entity, state: Any, attributes: Mapping[str, Any] | None = None) -> None:
        publish_state(self._app, entity.entity_id, state=state, attributes=entity.attributes(attributes))

    def button(self, entity: Entity, on_press: Callable[[], None]) -> None:
        """``set_state`` cannot create buttons; the events and ``scan_button``/``refresh_button`` remain."""

    def remove(self, entity_id: str) -> None:
        try:
            self._app.remove_entity(entity_id)
        except Exception as exc:  # HA may not know it any more (it forgets set_state entities)
            self._app.log(f"Could not remove {entity_id}: {exc!r}", level="DEBUG")


def publisher_for(app: Hass, app_label: str) -> Publisher:
    """The publisher the app's ``publish``, ``mqtt_namespace`` and ``discovery_prefix`` ask for."""
    return make_publisher(app, parse_publish(app.args, app_label))


def make_publisher(app: Hass, settings: PublishSettings) -> Publisher:
    """The publisher ``publish:`` asks for; ValueError when ``mqtt`` has no MQTT plugin to go through."""
    if settings.mqtt:
        from apsystems.ha.mqtt_publisher import MqttPublisher  # noqa: PLC0415 - only with publish: mqtt

        return MqttPublisher(app, settings)
    return SetStatePublisher(app)

"""The MQTT discovery publisher: real Home Assistant devices, unique ids and buttons.

A second implementation of the ``Publisher`` interface (``apsystems.common.entities``), chosen
with ``publish: mqtt``. It publishes through AppDaemon's MQTT plugin (the ``mqtt/publish``
service that ``mqtt_publish`` calls, always retained) in the namespace ``mqtt_namespace``, so
Home Assistant keeps every value across its restarts without an API call. Availability follows
the plugin's will/birth topic, so the entities go unavailable when AppDaemon does.

Nothing is lost while the broker is away: the last messages of every entity stay here, one log
line says the broker is unreachable, and everything is published again when the plugin
reconnects (its ``Connected`` event) and when Home Assistant announces itself on
``<discovery_prefix>/status`` (``online``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from appdaemon.plugins.hass.hassapi import Hass

from apsystems.common.args import PublishSettings
from apsystems.common.entities import Entity
from apsystems.common.json_file import read_json_object, write_json_atomic
from apsystems.common.mqtt_discovery import (
    PRESS_PAYLOAD,
    Availability,
    Message,
    button_messages,
    entity_messages,
    removal_messages,
    topics,
)
from apsystems.ha.support import state_dir

MQTT_EVENT = "MQTT_MESSAGE"
ANNOUNCED_FILE = "mqtt_announced_{app}.json"
HA_ONLINE = "online"


class MqttPublisher:
    """Retained discovery configs, states and attributes on the broker of AppDaemon's MQTT plugin."""

    def __init__(self, app: Hass, settings: PublishSettings) -> None:
        self._app = app
        self._namespace = settings.mqtt_namespace
        self._prefix = settings.discovery_prefix
        self._lock = threading.RLock()
        self._messages: dict[str, list[Message]] = {}  # entity id -> its last messages, published again on reconnect
        self._removals: dict[str, list[Message]] = {}  # removals the broker has not seen yet
        self._presses: dict[str, Callable[[], None]] = {}  # command topic -> action
        self._outage_logged = False
        self._announced_path = state_dir(app, app.args) / ANNOUNCED_FILE.format(app=app.name)
        saved = read_json_object(self._announced_path) or {}
        self._announced: set[str] = {str(e) for e in saved.get("entities", []) if isinstance(e, str)}
        self._save_pending = False
        plugin = self._plugin()
        if plugin is None or not hasattr(plugin, "mqtt_connected"):
            raise ValueError(
                f"publish: mqtt needs AppDaemon's MQTT plugin in namespace {self._namespace!r}: add it under"
                " plugins in appdaemon.yaml (type: mqtt, namespace: mqtt) or set mqtt_namespace to its namespace"
            )
        self._availability = _availability(plugin)
        app.listen_event(self._on_connected, MQTT_EVENT, namespace=self._namespace, state="Connected", topic=None)
        app.listen_event(self._on_ha_status, MQTT_EVENT, namespace=self._namespace, topic=f"{self._prefix}/status")
        self._subscribe(f"{self._prefix}/status")

    # ---- the Publisher interface -----------------------------------------------------------

    def publish(self, entity: Entity, state: Any, attributes: Mapping[str, Any] | None = None) -> None:
        extra = dict(attributes or {})
        try:
            messages = entity_messages(entity, state, extra, self._availability, self._prefix)
        except ValueError as exc:  # attributes over 16 KiB: the value still counts more than the details
            self._app.log(f"{entity.entity_id}: {exc}; publishing it without attributes", level="WARNING")
            messages = entity_messages(entity, state, {}, self._availability, self._prefix)
        with self._lock:
            previous = self._messages.get(entity.entity_id)
            self._messages[entity.entity_id] = messages
            self._removals.pop(entity.entity_id, None)
            config_changed = previous is None or previous[0] != messages[0]
            if config_changed:
                self._first_announcement(entity.entity_id)
            self._send(messages if config_changed else messages[1:])

    def remove(self, entity_id: str) -> None:
        try:
            messages = removal_messages(entity_id, self._prefix)
        except ValueError as exc:
            self._app.log(f"Cannot remove {entity_id} from MQTT discovery: {exc}", level="WARNING")
            return
        with self._lock:
            self._messages.pop(entity_id, None)
            self._removals[entity_id] = messages
            if self._send(messages):
                self._removals.pop(entity_id, None)

    def _first_announcement(self, entity_id: str) -> None:
        """Before an entity id is announced over MQTT for the first time, drop the state that
        ``set_state`` left in Home Assistant under that id: otherwise Home Assistant gives the
        MQTT entity ``<id>_2`` (the id is taken) and a switch from ``set_state`` would change ids."""
        if entity_id in self._announced:
            return
        try:
            if self._app.entity_exists(entity_id):
                self._app.remove_entity(entity_id)
                self._app.log(f"Replaced the set_state entity {entity_id} by its MQTT discovery entity")
        except Exception as exc:  # Home Assistant unreachable: it forgets set_state entities when it restarts
            self._app.log(f"Could not remove the set_state entity {entity_id}: {exc!r}", level="DEBUG")
        self._announced.add(entity_id)
        if not self._save_pending:  # one write for a whole round of announcements
            self._save_pending = True
            self._app.run_in(self._save_announced, 1)

    def _save_announced(self, **_kwargs: Any) -> None:
        with self._lock:
            self._save_pending = False
            entities = sorted(self._announced)
        try:
            write_json_atomic(self._announced_path, {"entities": entities})
        except OSError as exc:
            self._app.log(f"Cannot write {self._announced_path}: {exc}", level="WARNING")

    def button(self, entity: Entity, on_press: Callable[[], None]) -> None:
        command = topics(entity.entity_id, self._prefix).command
        with self._lock:
            known = command in self._presses
            self._presses[command] = on_press
            self._messages[entity.entity_id] = button_messages(entity, self._availability, self._prefix)
            if not known:
                self._first_announcement(entity.entity_id)
            self._send(self._messages[entity.entity_id])
        if not known:
            self._app.listen_event(self._on_press, MQTT_EVENT, namespace=self._namespace, topic=command)
            self._subscribe(command)

    # ---- the broker ------------------------------------------------------------------------

    def _plugin(self) -> Any:
        try:
            return self._app.AD.plugins.get_plugin_object(self._namespace)
        except Exception:  # an unknown namespace: reported when publishing
            return None

    def _connected(self) -> bool:
        plugin = self._plugin()
        return bool(plugin is not None and getattr(plugin, "mqtt_connected", False))

    def _send(self, messages: list[Message]) -> bool:
        """Publish ``messages`` (retained); False, and one log line per outage, when the broker is away."""
        if not self._connected():
            if not self._outage_logged:
                self._outage_logged = True
                self._app.log(
                    f"The MQTT broker of namespace {self._namespace!r} is not reachable; keeping every value and"
                    " publishing it again when AppDaemon's MQTT plugin reconnects",
                    level="WARNING",
                )
            return False
        try:
            for message in messages:
                self._app.call_service(
                    "mqtt/publish",
                    namespace=self._namespace,
                    topic=message.topic,
                    payload=message.payload,
                    retain=message.retain,
                )
        except Exception as exc:  # the plugin went away between the check and the call
            if not self._outage_logged:
                self._outage_logged = True
                self._app.log(
                    f"Could not publish to the MQTT broker ({type(exc).__name__}); will retry on reconnect",
                    level="WARNING",
                )
            return False
        return True

    def _subscribe(self, topic: str) -> None:
        """Subscribe when the plugin's ``client_topics`` do not already bring ``topic``.

        The plugin adds what it subscribes to its ``client_topics`` and subscribes them again
        when it reconnects; with ``client_topics: NONE`` only these few topics reach AppDaemon.
        """
        client_topics = getattr(getattr(self._plugin(), "config", None), "client_topics", None) or []
        if any(_covers(str(sub), topic) for sub in client_topics):
            return
        if not self._connected():
            return  # _on_connected subscribes
        try:
            self._app.call_service("mqtt/subscribe", namespace=self._namespace, topic=topic)
        except Exception as exc:
            self._app.log(f"Could not subscribe to {topic}: {type(exc).__name__}", level="WARNING")

    def republish(self) -> None:
        """Every removal not yet seen, then every entity's config, attributes and state again."""
        with self._lock:
            for entity_id, messages in list(self._removals.items()):
                if not self._send(messages):
                    return
                self._removals.pop(entity_id, None)
            for messages in list(self._messages.values()):
                if not self._send(messages):
                    return
            count = len(self._messages)
        if self._outage_logged:
            self._outage_logged = False
            self._app.log(f"The MQTT broker is back: published {count} entities again")

    # ---- events ----------------------------------------------------------------------------

    def _on_connected(self, event_type: str, data: Any, **_kwargs: Any) -> None:
        self._subscribe(f"{self._prefix}/status")
        for command in list(self._presses):
            self._subscribe(command)
        self.republish()

    def _on_ha_status(self, event_type: str, data: Any, **_kwargs: Any) -> None:
        if isinstance(data, dict) and str(data.get("payload", "")).strip() == HA_ONLINE:
            self.republish()

    def _on_press(self, event_type: str, data: Any, **_kwargs: Any) -> None:
        if not isinstance(data, dict) or str(data.get("payload", "")).strip() != PRESS_PAYLOAD:
            return
        action = self._presses.get(str(data.get("topic")))
        if action is not None:
            action()


def _availability(plugin: Any) -> Availability | None:
    """The plugin's birth/will topic and payloads; None when it has no will (no availability then)."""
    config: Any = getattr(plugin, "config", None)
    topic = getattr(config, "will_topic", None)
    if not topic or getattr(config, "birth_topic", None) != topic:
        return None
    return Availability(topic, str(config.birth_payload), str(config.will_payload))


def _covers(subscription: str, topic: str) -> bool:
    from paho.mqtt.client import topic_matches_sub  # noqa: PLC0415 - AppDaemon's MQTT dependency

    return bool(topic_matches_sub(subscription, topic))

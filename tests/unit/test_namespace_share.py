"""NamespaceShare: the namespace is made on start, shares go to it, a failing share is logged once.

A stand-in app (the narrowest case: AppDaemon's own behaviour is covered in tests/appdaemon).
"""

from __future__ import annotations

from typing import Any, cast

from appdaemon.plugins.hass.hassapi import Hass

from apsystems.ha.support import NamespaceShare


class StandInApp:
    """Records what NamespaceShare asks of AppDaemon; ``set_state`` fails while ``broken``."""

    def __init__(self, *, namespace_exists: bool) -> None:
        self.exists = namespace_exists
        self.added: list[str] = []
        self.states: list[tuple[str, dict[str, Any]]] = []
        self.logs: list[tuple[str, str]] = []
        self.broken = False

    def namespace_exists(self, namespace: str) -> bool:
        return self.exists

    def add_namespace(self, namespace: str, **_kwargs: Any) -> None:
        self.added.append(namespace)

    def set_state(self, entity_id: str, **kwargs: Any) -> None:
        if self.broken:
            raise RuntimeError("namespace apsystems does not exist")
        self.states.append((entity_id, kwargs))

    def log(self, message: str, level: str = "INFO") -> None:
        self.logs.append((level, message))


def share_for(app: StandInApp) -> NamespaceShare:
    return NamespaceShare(cast(Hass, app), "apsystems", "production")


def test_the_namespace_is_created_once_on_start_and_shares_land_in_it() -> None:
    app = StandInApp(namespace_exists=False)
    share = share_for(app)
    assert app.added == ["apsystems"]
    share.put("sensor.apsystems_az1_production", "1.5", {"unit": "kW"})
    [(entity_id, kwargs)] = app.states
    assert entity_id == "sensor.apsystems_az1_production"
    assert kwargs["state"] == "1.5"
    assert kwargs["attributes"] == {"unit": "kW"}
    assert kwargs["namespace"] == "apsystems"
    declared = StandInApp(namespace_exists=True)
    share_for(declared)
    assert declared.added == []  # appdaemon.yaml declares it: left as it is


def test_a_failing_share_is_logged_once_and_does_not_raise() -> None:
    app = StandInApp(namespace_exists=True)
    share = share_for(app)
    app.broken = True
    share.put("sensor.x", "1", {})
    share.put("sensor.x", "2", {})
    warnings = [message for level, message in app.logs if level == "WARNING"]
    assert len(warnings) == 1
    assert warnings[0].startswith("Cannot share production with other apps (namespace apsystems does not exist;")
    app.broken = False
    share.put("sensor.x", "3", {})
    assert [kwargs["state"] for _, kwargs in app.states] == ["3"]

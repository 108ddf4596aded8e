"""Small AppDaemon helpers shared by the apps: where state lives, and notifications.

This is the only module besides the ``*_app`` modules that touches AppDaemon's API; it
keeps the apps themselves short.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from appdaemon.plugins.hass.hassapi import Hass

NOTIFY_RETRIES = 5
NOTIFY_RETRY_DELAY_S = 10


def state_dir(app: Hass, args: dict[str, Any]) -> Path:
    """Where an app keeps its files: ``state_dir`` from apps.yaml, else next to appdaemon.yaml."""
    configured = args.get("state_dir")
    if configured:
        return Path(str(configured)).expanduser()
    return Path(app.config_dir) / "apsystems_state"


class Notifier:
    """Persistent notifications that survive AppDaemon's start-up race.

    AppDaemon 4.5.13 may start apps before it knows HA's services, so a failed call is
    retried a few times instead of being lost. Each id is created once per raise and
    dismissed once per recovery.
    """

    def __init__(self, app: Hass) -> None:
        self._app = app

    def create(self, notification_id: str, title: str, message: str) -> None:
        self._call("persistent_notification/create", 0, notification_id=notification_id, title=title, message=message)

    def dismiss(self, notification_id: str) -> None:
        self._call("persistent_notification/dismiss", 0, notification_id=notification_id)

    def _call(self, service: str, attempt: int, **data: Any) -> None:
        try:
            result = self._app.call_service(service, **data)
            failed = isinstance(result, dict) and result.get("success") is False
        except Exception as exc:  # AppDaemon raises when HA's services are not known yet
            failed = True
            result = {"error": type(exc).__name__}
        if not failed:
            return
        if attempt + 1 >= NOTIFY_RETRIES:
            self._app.log(f"Could not call {service} for {data.get('notification_id')}: {result}", level="WARNING")
            return
        self._app.run_in(self._retry, NOTIFY_RETRY_DELAY_S, service=service, attempt=attempt + 1, data=data)

    def _retry(self, **kwargs: Any) -> None:
        self._call(kwargs["service"], kwargs["attempt"], **kwargs["data"])

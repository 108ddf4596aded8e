"""Small AppDaemon helpers shared by the apps: where state lives, notifications, publishing, logs.

Part of ``apsystems.ha``, the only package below the ``*_app`` modules that touches
AppDaemon's API; it keeps the apps themselves short.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from appdaemon.plugins.hass.hassapi import Hass

NOTIFY_RETRIES = 5
NOTIFY_RETRY_DELAY_S = 10
PUBLISH_TIMEOUT_S = 15


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


def publish_state(app: Hass, entity_id: str, *, state: Any, attributes: Mapping[str, Any]) -> None:
    """``set_state(entity_id, state, attributes, replace=True, check_existence=False)``, arriving intact.

    AppDaemon 4.5.12 and 4.5.13 clean the JSON body of every REST call to Home Assistant:
    ``0``, ``0.0``, ``False`` and ``None`` vanish wherever they are (the state, attribute values,
    items of lists: 24 hourly values ``[0.0, …, 1.2, …]`` arrive as the non-zero ones only) and
    ``True`` becomes the string ``"true"`` (AppDaemon issues #2464 and #2531, fixed by PR #2594
    after 4.5.13). Home Assistant then answers a zero state with 400 "No state specified".
    When the installed AppDaemon does that and the entity lives in Home Assistant, the state is
    posted through the HASS plugin's own HTTP session (same URL, same credentials) with the body
    as given; the ``state_changed`` event brings it back into AppDaemon as usual. Otherwise, and
    whenever that path is not available, this is plain ``set_state``.
    """
    body_attributes = dict(attributes)
    if _appdaemon_mangles_bodies() and _post_exact(app, entity_id, state, body_attributes):
        return
    app.set_state(entity_id, state=state, attributes=body_attributes, replace=True, check_existence=False)


@functools.cache
def _appdaemon_mangles_bodies() -> bool:
    try:
        from appdaemon import utils as ad_utils  # noqa: PLC0415 - probed once, only when publishing

        probe: dict[str, Any] = {"zero": 0, "none": None, "false": False, "true": True, "list": [0.0, 1.0]}
        return bool(ad_utils.clean_http_kwargs(dict(probe)) != probe)
    except Exception:  # the helper is gone in a fixed release
        return False


def _post_exact(app: Hass, entity_id: str, state: Any, attributes: dict[str, Any]) -> bool:
    """POST /api/states/<entity_id> with the plugin's session; False when that path is not available."""
    try:
        plugin: Any = app.AD.plugins.get_plugin_object(app.namespace)
        session = plugin.session
        base_url = str(plugin.config.ha_url).rstrip("/")
        loop = app.AD.loop
    except Exception:  # no HASS plugin in this namespace (tests, the demo), or other internals
        return False
    if session is None or type(plugin).__name__ != "HassPlugin":
        return False
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass  # an app thread, as expected: it may wait for the event loop
    else:
        return False  # on the event loop itself (an async app): waiting here would deadlock
    body = json.loads(json.dumps({"state": state, "attributes": attributes}, default=str))
    future = asyncio.run_coroutine_threadsafe(_post(session, f"{base_url}/api/states/{entity_id}", body), loop)
    try:
        future.result(timeout=PUBLISH_TIMEOUT_S)
    except Exception as exc:  # HA restarting, a timeout, a 4xx: like set_state, log and carry on
        future.cancel()
        app.log(f"Could not publish {entity_id} to Home Assistant: {type(exc).__name__}: {exc}", level="WARNING")
    return True


async def _post(session: Any, url: str, body: dict[str, Any]) -> None:
    async with session.post(url, json=body) as response:
        response.raise_for_status()


def app_logger(app: Hass) -> Callable[[str, str], None]:
    """A ``(message, level)`` log function that writes to the app's AppDaemon log at the app's level."""

    def log(message: str, level: str) -> None:
        app.log(message, level=level)

    return log


def for_system(data: Any, sid: str) -> bool:
    """Whether an event is for system ``sid``: one without ``sid`` is for every system."""
    wanted = data.get("sid") if isinstance(data, dict) else None
    return wanted is None or str(wanted).strip().lower() == sid.lower()


IDLE_STATES = (None, "unknown", "unavailable")


def pressed(old: Any, new: Any) -> bool:
    """Whether an ``input_button``'s state change is a press: a press changes the button's
    timestamp; HA coming back (from unavailable) is no press."""
    return new not in IDLE_STATES and old not in ("unavailable", new)


LIBRARY_LOGGER = "apsystems"


class _AppLogHandler(logging.Handler):
    """Hands the library's log records (client, ledger, logic) to an app's AppDaemon log."""

    def __init__(self, app: Hass, level: int) -> None:
        super().__init__(level)
        self._app = app

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + logging.Formatter().formatException(record.exc_info)
            self._app.log(message, level=record.levelname)
        except Exception:  # a log line must never break a callback
            self.handleError(record)


def forward_library_logs(app: Hass) -> None:
    """Make the records of ``apsystems.*`` modules reach ``app``'s AppDaemon log at the app's level.

    Module loggers otherwise reach only stdout; with ``log_level: DEBUG`` the client's request
    lines then appear in the app's log as the README promises. Call again on re-initialize;
    ``stop_library_logs`` in ``terminate``.
    """
    stop_library_logs(app)
    try:
        level = int(app.logger.getEffectiveLevel())
    except Exception:  # no AppDaemon logger (tests with stand-ins)
        level = logging.INFO
    handler = _AppLogHandler(app, level)
    library = logging.getLogger(LIBRARY_LOGGER)
    library.addHandler(handler)
    handlers = [h for h in library.handlers if isinstance(h, _AppLogHandler)]
    library.setLevel(min(h.level for h in handlers))
    app.__dict__["_library_log_handler"] = handler


def stop_library_logs(app: Hass) -> None:
    handler = app.__dict__.pop("_library_log_handler", None)
    library = logging.getLogger(LIBRARY_LOGGER)
    if handler is not None:
        library.removeHandler(handler)
    remaining = [h.level for h in library.handlers if isinstance(h, _AppLogHandler)]
    library.setLevel(min(remaining) if remaining else logging.NOTSET)


def stop_app(app: Hass, *parts: str) -> None:
    """What ``terminate`` does in an app that calls the API: the library's log records no longer
    sent to it, then its ``parts`` (attribute names; default its client) closed. Safe after a
    failed ``initialize()``, which leaves them unset."""
    stop_library_logs(app)
    for name in parts or ("client",):
        part = getattr(app, name, None)
        if part is not None:
            part.close()


class CloudApp(Hass):
    """An app that calls the API: AppDaemon's clock as a typed ``datetime``, and one ``terminate``
    (``stop_app`` with its client)."""

    def terminate(self) -> None:
        stop_app(self)

    def _now(self) -> datetime:
        now: datetime = self.get_now()
        return now


_warned_once: set[str] = set()
_warned_once_lock = threading.Lock()


def warn_once(app: Hass, message: str) -> None:
    """Log ``message`` as a warning once per AppDaemon process, whichever app sees it first."""
    with _warned_once_lock:
        if message in _warned_once:
            return
        _warned_once.add(message)
    app.log(message, level="WARNING")


def log_version(app: Hass) -> None:
    """One line at start-up that says which release runs, for support questions and updates."""
    from apsystems import __version__  # noqa: PLC0415 - the package root imports nothing else

    app.log(f"apsystems-chargehq {__version__} (AppDaemon {app.get_ad_version()})")


def ensure_user_namespace(app: Hass, namespace: str) -> None:
    """Create the persistent user namespace the apps share, unless appdaemon.yaml already declares it.

    Created at run time, it needs no edit of appdaemon.yaml, and it is persisted even on
    AppDaemon 4.5.13, whose yaml-declared ``writeback``-only namespaces are not (issue #2533).
    A restart reopens the same file, so the shared values survive it.
    """
    try:
        if app.namespace_exists(namespace):
            return
        app.add_namespace(namespace, writeback="safe", persist=True)
    except Exception as exc:  # an AppDaemon without add_namespace, or a file it cannot open
        warn_once(app, f"Could not create the user namespace {namespace!r}: {type(exc).__name__}: {exc}")
        return
    app.log(f"Created the persistent user namespace {namespace!r} (no appdaemon.yaml entry needed)")


def share_with_apps(app: Hass, entity_id: str, state: str, attributes: Mapping[str, Any], namespace: str) -> str | None:
    """Put what one app shares with others into the persistent user ``namespace``.

    Returns None, or why it failed (the namespace could not be created at start-up, see
    ``ensure_user_namespace``) for the app to log once.
    """
    try:
        app.set_state(
            entity_id,
            state=state,
            attributes=dict(attributes),
            namespace=namespace,
            replace=True,
            check_existence=False,
        )
    except Exception as exc:
        return f"{exc}; the user namespace '{namespace}' could not be created (see the start-up log)"
    return None


class NamespaceShare:
    """One app's values for the other apps in the persistent user ``namespace``, created on start.

    A failing share is logged once, as ``Cannot share <what> with other apps``; the app goes
    on publishing its own entities.
    """

    def __init__(self, app: Hass, namespace: str, what: str) -> None:
        self._app = app
        self._namespace = namespace
        self._what = what
        self._warned = False
        ensure_user_namespace(app, namespace)

    def put(self, entity_id: str, state: str, attributes: Mapping[str, Any]) -> None:
        problem = share_with_apps(self._app, entity_id, state, attributes, self._namespace)
        if problem is not None and not self._warned:
            self._warned = True
            self._app.log(f"Cannot share {self._what} with other apps ({problem})", level="WARNING")

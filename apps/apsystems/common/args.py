"""The apps.yaml arguments every app shares, parsed once.

AppDaemon puts its own keys into every app's args; the credentials, the system id, the
API's address, the state folder and the budget app's name mean the same in every APsystems
app. Every message names the apps.yaml key and the value (never a secret's value) and says
what to write instead.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from apsystems.api.client import DEFAULT_BASE_URL

DEFAULT_BUDGET_APP = "apsystems_budget"
# Keys AppDaemon 4.5 puts into an app's args itself; they are not ours to reject.
APPDAEMON_KEYS = frozenset(
    {
        "name",
        "module",
        "class",
        "config_path",
        "priority",
        "dependencies",
        "global_dependencies",
        "log",
        "log_level",
        "disable",
        "plugin",
        "pin_app",
        "pin_thread",
        "use_dictionary_unpacking",
    }
)
CREDENTIAL_KEYS = frozenset({"app_id", "app_secret", "sid", "base_url", "budget", "state_dir"})
SECRET_KEYS = frozenset({"app_secret"})
# What the API really returns as a system id: letters and digits.
_SID = re.compile(r"^[A-Za-z0-9]{1,64}$")


@dataclass(frozen=True)
class Credentials:
    """What an app needs to call the API through its budget. ``app_secret`` is kept out of ``repr``."""

    app_id: str
    app_secret: str
    sid: str
    base_url: str
    budget: str

    def __repr__(self) -> str:
        return f"Credentials(sid={self.sid!r}, base_url={self.base_url!r}, budget={self.budget!r})"


def check_keys(args: Mapping[str, Any], accepted: Collection[str], app_label: str) -> None:
    """ValueError naming every key that is neither ours nor AppDaemon's."""
    unknown = sorted(set(args) - set(accepted) - APPDAEMON_KEYS)
    if unknown:
        raise ValueError(
            f"unknown argument(s) {', '.join(unknown)}; the {app_label} accepts {', '.join(sorted(accepted))}"
        )


def required_text(args: Mapping[str, Any], key: str, secret: str, app_label: str) -> str:
    """A non-empty string; the message shows the `!secret` line to add (and never a secret's value)."""
    value = args.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError(f"{key} is missing: add `{key}: !secret {secret}` to the {app_label} in apps.yaml")
    if not isinstance(value, str):
        shown = type(value).__name__ if key in SECRET_KEYS else repr(value)
        raise ValueError(f"{key} {shown} must be a text: write `{key}: !secret {secret}` in the {app_label}")
    return value.strip()


def system_id(args: Mapping[str, Any], app_label: str) -> str:
    """The ``sid``: letters and digits, as the EMA app shows it (entity ids and file names are built from it)."""
    sid = required_text(args, "sid", "aps_sid", app_label)
    if not _SID.match(sid):
        raise ValueError(
            f"sid {sid!r} of the {app_label} must be the system id from the EMA app: letters and digits only"
            " (e.g. AZ12649A3DFF)"
        )
    return sid


def base_url(args: Mapping[str, Any]) -> str:
    url = str(args.get("base_url") or DEFAULT_BASE_URL)
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"base_url {url!r} must start with https://")
    return url


def parse_credentials(args: Mapping[str, Any], app_label: str) -> Credentials:
    """``app_id``, ``app_secret``, ``sid``, ``base_url`` and ``budget`` of an app that calls the API."""
    return Credentials(
        app_id=required_text(args, "app_id", "aps_app_id", app_label),
        app_secret=required_text(args, "app_secret", "aps_app_secret", app_label),
        sid=system_id(args, app_label),
        base_url=base_url(args),
        budget=str(args.get("budget") or DEFAULT_BUDGET_APP),
    )


PUBLISH_KEYS = frozenset({"publish", "mqtt_namespace", "discovery_prefix"})
PUBLISH_MODES = ("set_state", "mqtt")
DEFAULT_MQTT_NAMESPACE = "mqtt"
DEFAULT_DISCOVERY_PREFIX = "homeassistant"
_TOPIC_LEVEL = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")


@dataclass(frozen=True)
class PublishSettings:
    """How an app reaches Home Assistant: ``set_state`` (default) or MQTT discovery."""

    mode: str = "set_state"
    mqtt_namespace: str = DEFAULT_MQTT_NAMESPACE
    discovery_prefix: str = DEFAULT_DISCOVERY_PREFIX

    @property
    def mqtt(self) -> bool:
        return self.mode == "mqtt"


def parse_publish(args: Mapping[str, Any], app_label: str) -> PublishSettings:
    """``publish: set_state|mqtt``, ``mqtt_namespace`` and ``discovery_prefix`` (same in every app)."""
    raw_mode = args.get("publish")
    mode = "set_state" if raw_mode is None else str(raw_mode).strip().lower()
    if mode not in PUBLISH_MODES:
        raise ValueError(
            f"publish {raw_mode!r} of the {app_label} must be set_state (entities through AppDaemon's"
            " set_state, the default) or mqtt (MQTT discovery through AppDaemon's MQTT plugin)"
        )
    namespace = str(args.get("mqtt_namespace") or DEFAULT_MQTT_NAMESPACE).strip()
    prefix = str(args.get("discovery_prefix") or DEFAULT_DISCOVERY_PREFIX).strip().strip("/")
    if not _TOPIC_LEVEL.match(prefix):
        raise ValueError(
            f"discovery_prefix {args.get('discovery_prefix')!r} of the {app_label} must be an MQTT topic without"
            " wildcards, as in Home Assistant's MQTT settings (default homeassistant)"
        )
    if not namespace:
        raise ValueError(f"mqtt_namespace of the {app_label} must name the namespace of AppDaemon's MQTT plugin")
    return PublishSettings(mode, namespace, prefix)
